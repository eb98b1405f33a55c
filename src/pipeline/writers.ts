/**
 * Encoding the outputs of one image and writing them atomically.
 *
 * Every file is first written under a temporary name in the destination folder (`.<name>.unet-tmp-<pid>-<n>`),
 * then renamed over the final name, so a crash or a SIGKILL never leaves a partial file under a final name. The
 * temporary names are recognizable: {@link cleanStaleTempFiles} removes those left by dead processes.
 */
import { open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ErrorCode, UnetError } from '../errors.js';
import type { ModelOutputMeta } from '../models/model.js';
import type { DecodedImage } from './image.js';
import { encodePng } from './png.js';
import { OUTPUT_KINDS, type OutputKind, type OverlayFormat, type ProbBits } from './options.js';

/** What the encoders read from a segmentation result. */
export interface EncodableResult {
  readonly width: number;
  readonly height: number;
  readonly mask: Uint8Array;
  readonly probabilities?: Float32Array;
  readonly classes?: Uint8Array;
  /** The decoded input, needed by 'overlay' and 'cutout'. */
  readonly image?: DecodedImage;
}

/** Encoding settings. */
export interface EncodeOptions {
  /** Bit depth of the prob output. */
  readonly probBits: ProbBits;
  readonly overlayFormat: OverlayFormat;
  readonly overlayOpacity: number;
  readonly output: ModelOutputMeta;
  /** Number of classes of the model (palette length). */
  readonly classes: number;
}

/** File extension of an output kind under the given overlay format. */
export function outputExtension(kind: OutputKind, overlayFormat: OverlayFormat): string {
  return kind === 'overlay' ? overlayFormat : OUTPUT_KINDS[kind].ext;
}

/** `<stem>.<kind>.<ext>` */
export function outputFileName(stem: string, kind: OutputKind, overlayFormat: OverlayFormat): string {
  return `${stem}.${kind}.${outputExtension(kind, overlayFormat)}`;
}

/** A distinct colour per class: the model's palette, else black + a fixed set of saturated colours. */
export function classPalette(output: ModelOutputMeta, classes: number): [number, number, number][] {
  const n = Math.max(2, classes);
  const base: [number, number, number][] = [
    [0, 0, 0], [255, 64, 64], [64, 200, 64], [64, 96, 255], [255, 200, 0], [200, 64, 255], [0, 210, 210], [255, 128, 0],
  ];
  const pal: [number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    const m = output.palette?.[i];
    if (m) pal.push([m[0], m[1], m[2]]);
    else if (i < base.length) pal.push(base[i]!);
    else pal.push([(i * 73) % 256, (i * 151) % 256, (i * 199) % 256]);
  }
  return pal;
}

/**
 * Encode one output kind.
 * @throws {UnetError} ERR_INVALID_ARG_VALUE if the result lacks what the kind needs (library misuse)
 */
export async function encodeOutput(kind: OutputKind, r: EncodableResult, o: EncodeOptions): Promise<Buffer> {
  const { width, height } = r;
  switch (kind) {
    case 'mask':
      return encodePng({ width, height, color: 'gray', bitDepth: 8, data: r.mask });
    case 'prob': {
      const p = need(r.probabilities, kind, 'probabilities');
      if (o.probBits === 16) {
        const d = new Uint16Array(p.length);
        for (let i = 0; i < p.length; i++) d[i] = Math.round(p[i]! * 65535);
        return encodePng({ width, height, color: 'gray', bitDepth: 16, data: d });
      }
      const d = new Uint8Array(p.length);
      for (let i = 0; i < p.length; i++) d[i] = Math.round(p[i]! * 255);
      return encodePng({ width, height, color: 'gray', bitDepth: 8, data: d });
    }
    case 'classes': {
      const c = need(r.classes, kind, 'classes');
      return encodePng({ width, height, color: 'indexed', bitDepth: 8, data: c, palette: classPalette(o.output, o.classes) });
    }
    case 'overlay': {
      const img = need(r.image, kind, 'image');
      const pal = classPalette(o.output, o.classes);
      const rgb = toRgb8(img);
      const a = o.overlayOpacity;
      const n = width * height;
      for (let i = 0; i < n; i++) {
        const k = r.classes ? r.classes[i]! : r.mask[i]! ? 1 : 0;
        if (k === 0) continue;
        const col = pal[k]!;
        for (let ch = 0; ch < 3; ch++) rgb[3 * i + ch] = Math.round(rgb[3 * i + ch]! * (1 - a) + col[ch]! * a);
      }
      const s = sharp(rgb, { raw: { width, height, channels: 3 } });
      return o.overlayFormat === 'png' ? s.png().toBuffer() : s.jpeg({ quality: 90 }).toBuffer();
    }
    case 'cutout': {
      const img = need(r.image, kind, 'image');
      const rgb = toRgb8(img);
      const n = width * height;
      const rgba = Buffer.alloc(4 * n);
      const alphaScale = img.bitDepth === 16 ? 1 / 65535 : 1 / 255;
      for (let i = 0; i < n; i++) {
        rgba[4 * i] = rgb[3 * i]!;
        rgba[4 * i + 1] = rgb[3 * i + 1]!;
        rgba[4 * i + 2] = rgb[3 * i + 2]!;
        // The image's own alpha is kept: the cutout is transparent where either says so.
        const own = img.hasAlpha ? img.data[i * img.channels + img.channels - 1]! * alphaScale : 1;
        rgba[4 * i + 3] = Math.round(r.mask[i]! * own);
      }
      return sharp(rgba, { raw: { width, height, channels: 4 } }).png().toBuffer();
    }
  }
}

function need<T>(v: T | undefined, kind: OutputKind, field: string): T {
  if (v === undefined) {
    throw new UnetError(ErrorCode.INVALID_ARG_VALUE, `encodeOutput: the '${kind}' output needs result.${field}; request '${kind}' in the pipeline's outputs`);
  }
  return v;
}

/** 8-bit interleaved RGB of a decoded image (gray replicated, 16-bit reduced, alpha dropped). */
function toRgb8(img: DecodedImage): Buffer {
  const n = img.width * img.height;
  const out = Buffer.alloc(3 * n);
  const c = img.channels;
  const shift = img.bitDepth === 16 ? 257 : 1;
  const d = img.data;
  for (let i = 0; i < n; i++) {
    if (c >= 3) {
      out[3 * i] = Math.round(d[i * c]! / shift);
      out[3 * i + 1] = Math.round(d[i * c + 1]! / shift);
      out[3 * i + 2] = Math.round(d[i * c + 2]! / shift);
    } else {
      const v = Math.round(d[i * c]! / shift);
      out[3 * i] = v;
      out[3 * i + 1] = v;
      out[3 * i + 2] = v;
    }
  }
  return out;
}

/** Marker in temporary file names. */
export const TEMP_MARKER = '.unet-tmp-';
let tempCounter = 0;

/** The temporary name used while writing `file`. */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}${TEMP_MARKER}${process.pid}-${++tempCounter}`);
}

/**
 * Write `data` to `file` atomically: temp file in the same folder, fsync, rename.
 * @throws {UnetError} ERR_IO naming the file
 */
export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  const tmp = tempNameFor(file);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw new UnetError(ErrorCode.IO, `${file}: cannot write the output (${code})`, { cause: e });
  }
}

/** True if `name` is a temporary output name ({@link tempNameFor}). */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARKER);
}

/**
 * Remove temporary outputs in `dir` left by processes that are no longer running (a crash or SIGKILL).
 * Temp files of live processes are left alone. Returns the removed paths.
 */
export async function cleanStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isTempName(name)) continue;
    const m = /\.unet-tmp-(\d+)-\d+$/.exec(name);
    const pid = m ? Number(m[1]) : NaN;
    if (pid === process.pid || (Number.isFinite(pid) && isAlive(pid))) continue;
    const full = path.join(dir, name);
    await unlink(full).then(() => removed.push(full), () => undefined);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
