/**
 * A small PNG encoder for the outputs whose exact bytes matter: 8- and 16-bit grayscale (mask, prob) and indexed
 * colour with a given palette (classes). sharp's palette output quantizes colours itself, so it cannot write the
 * model's palette with class indices as pixel values; this writer follows the PNG specification (ISO/IEC 15948,
 * chunks IHDR, PLTE, IDAT, IEND; filter type per row chosen between None and Up).
 */
import { deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array, crc = 0xffffffff): number {
  for (let i = 0; i < buf.length; i++) crc = CRC_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  const crc = crc32(out.subarray(4, 8 + data.length)) ^ 0xffffffff;
  out.writeUInt32BE(crc >>> 0, 8 + data.length);
  return out;
}

/** Options of {@link encodePng}. */
export interface PngImage {
  width: number;
  height: number;
  /** 'gray' (1 sample per pixel) or 'indexed' (palette index per pixel). */
  color: 'gray' | 'indexed';
  /** 8 or 16 for gray; 8 for indexed. */
  bitDepth: 8 | 16;
  /** Row-major samples: Uint8Array for 8-bit, Uint16Array for 16-bit. */
  data: Uint8Array | Uint16Array;
  /** RGB entries for 'indexed' (at most 256). */
  palette?: readonly (readonly [number, number, number])[];
}

/** Encode a grayscale or indexed image as PNG bytes. Inputs are trusted (built by the pipeline). */
export function encodePng(img: PngImage): Buffer {
  const { width, height, bitDepth } = img;
  const bytesPerPixel = bitDepth === 16 ? 2 : 1;
  const stride = width * bytesPerPixel;
  const raw = Buffer.alloc((stride + 1) * height);
  const row = Buffer.alloc(stride);
  const prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    if (bitDepth === 16) {
      const src = img.data as Uint16Array;
      for (let x = 0, i = y * width; x < width; x++, i++) row.writeUInt16BE(src[i]!, 2 * x);
    } else {
      row.set((img.data as Uint8Array).subarray(y * width, (y + 1) * width));
    }
    // Filter Up when it leaves more zeros than None (cheap heuristic; masks are mostly runs of equal rows).
    let zerosNone = 0;
    let zerosUp = 0;
    for (let i = 0; i < stride; i++) {
      if (row[i] === 0) zerosNone++;
      if (row[i] === prev[i]) zerosUp++;
    }
    const o = y * (stride + 1);
    if (y > 0 && zerosUp > zerosNone) {
      raw[o] = 2;
      for (let i = 0; i < stride; i++) raw[o + 1 + i] = (row[i]! - prev[i]!) & 0xff;
    } else {
      raw[o] = 0;
      row.copy(raw, o + 1);
    }
    row.copy(prev);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = img.color === 'indexed' ? 3 : 0;
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const parts = [SIGNATURE, chunk('IHDR', ihdr)];
  if (img.color === 'indexed') {
    const pal = img.palette ?? [];
    const plte = Buffer.alloc(pal.length * 3);
    pal.forEach((c, i) => {
      plte[3 * i] = c[0];
      plte[3 * i + 1] = c[1];
      plte[3 * i + 2] = c[2];
    });
    parts.push(chunk('PLTE', plte));
  }
  parts.push(chunk('IDAT', deflateSync(raw, { level: 6 })), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
