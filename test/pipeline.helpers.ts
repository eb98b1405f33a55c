/**
 * Shared helpers of the pipeline and CLI tests: small deterministic U-Nets (no trained weights needed) and
 * images generated with sharp.
 */
import sharp from 'sharp';
import { buildUnet } from '../src/models/unet.js';
import { defaultMeta, type Model, type ModelMeta } from '../src/models/model.js';

/** A small milesial U-Net with deterministic weights. */
export function tinyUnet(opts: { inChannels?: number; classes?: number; base?: number; depth?: number; seed?: number; meta?: Partial<ModelMeta> } = {}): Model {
  const architecture = {
    type: 'unet' as const,
    inChannels: opts.inChannels ?? 1,
    classes: opts.classes ?? 1,
    base: opts.base ?? 4,
    depth: opts.depth ?? 2,
    upMode: 'transpose' as const,
  };
  const graph = buildUnet(architecture, { seed: opts.seed ?? 7 });
  const base = defaultMeta(architecture.inChannels, architecture.classes, 'tiny-unet');
  const meta: ModelMeta = {
    ...base,
    ...opts.meta,
    input: { ...base.input, multiple: 2 ** architecture.depth, mean: Array(architecture.inChannels).fill(0.5), std: Array(architecture.inChannels).fill(0.25), ...opts.meta?.input },
    output: { ...base.output, ...opts.meta?.output },
  };
  return { graph, architecture, meta, source: { format: 'builder', path: null } };
}

/** A deterministic test picture: blobs on a gradient, as raw RGB. */
export function pictureRgb(width: number, height: number, seed = 1): Buffer {
  const px = Buffer.alloc(width * height * 3);
  const blobs = Array.from({ length: 6 }, (_, i) => ({
    x: ((seed * 37 + i * 71) % 100) / 100 * width,
    y: ((seed * 53 + i * 29) % 100) / 100 * height,
    r: (0.08 + ((i * 13) % 10) / 100) * Math.min(width, height),
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 40 + (60 * x) / width;
      for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r ** 2) v = 220;
      const o = 3 * (y * width + x);
      px[o] = Math.min(255, v);
      px[o + 1] = Math.min(255, v * 0.8 + 20);
      px[o + 2] = Math.min(255, v * 0.6 + (y % 7) * 3);
    }
  }
  return px;
}

/** Encode the test picture in a given format. */
export async function encodePicture(width: number, height: number, format: 'png' | 'jpeg' | 'webp' | 'tiff', seed = 1): Promise<Buffer> {
  const s = sharp(pictureRgb(width, height, seed), { raw: { width, height, channels: 3 } });
  return s.toFormat(format).toBuffer();
}

/** A baseline uncompressed 16-bit grayscale TIFF (sharp's TIFF writer reduces to 8 bits). */
export function encodeTiff16(width: number, height: number, data: Uint16Array): Buffer {
  const entries: [number, number, number][] = [
    [256, 4, width], // ImageWidth
    [257, 4, height], // ImageLength
    [258, 3, 16], // BitsPerSample
    [259, 3, 1], // Compression: none
    [262, 3, 1], // PhotometricInterpretation: BlackIsZero
    [273, 4, 0], // StripOffsets (patched below)
    [277, 3, 1], // SamplesPerPixel
    [278, 4, height], // RowsPerStrip
    [279, 4, width * height * 2], // StripByteCounts
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const dataOffset = 8 + ifdSize;
  const buf = Buffer.alloc(dataOffset + width * height * 2);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const o = 10 + i * 12;
    buf.writeUInt16LE(tag, o);
    buf.writeUInt16LE(type, o + 2);
    buf.writeUInt32LE(1, o + 4);
    if (tag === 273) value = dataOffset;
    if (type === 3) buf.writeUInt16LE(value, o + 8);
    else buf.writeUInt32LE(value, o + 8);
  });
  for (let i = 0; i < data.length; i++) buf.writeUInt16LE(data[i]!, dataOffset + 2 * i);
  return buf;
}
