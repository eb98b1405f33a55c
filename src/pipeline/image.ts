/**
 * Decoding with sharp: EXIF orientation applied, colour spaces other than gray/sRGB converted to sRGB, 8- and
 * 16-bit samples kept as they are (16-bit PNG/TIFF keep their precision). Every failure is an `ERR_IMAGE` naming
 * the input and the reason.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { ErrorCode, UnetError } from '../errors.js';

/** A decoded image, interleaved, after EXIF orientation. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
  readonly channels: 1 | 2 | 3 | 4;
  readonly hasAlpha: boolean;
  readonly bitDepth: 8 | 16;
  /** Interleaved samples, `width * height * channels`. */
  readonly data: Uint8Array | Uint16Array;
  /** Container format as sharp reports it (png, jpeg, webp, tiff, …). */
  readonly format: string;
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** Refuse images with more pixels than this. */
  readonly maxPixels: number;
  /** Name used in messages (a path, or `<buffer>`). */
  readonly name?: string;
}

/** An `ERR_IMAGE` error naming the input. */
export function imageError(name: string, reason: string, cause?: unknown): UnetError {
  return new UnetError(ErrorCode.IMAGE, `${name}: ${reason}`, { cause });
}

/**
 * Read and decode an image file or buffer.
 * @throws {UnetError} ERR_IMAGE for empty, corrupt, truncated, non-image or oversized inputs; ERR_IO if the file
 *   cannot be read
 */
export async function decodeImage(input: string | Buffer | Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  const name = options.name ?? (typeof input === 'string' ? input : '<buffer>');
  let bytes: Buffer;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new UnetError(ErrorCode.IO, `${name}: cannot read the file (${code})`, { cause: e });
    }
  } else {
    bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  }
  if (bytes.length === 0) throw imageError(name, 'the file is empty (0 bytes)');

  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (e) {
    throw imageError(name, `not a readable image (${firstLine(e)})`, e);
  }
  const w = meta.autoOrient?.width ?? meta.width;
  const h = meta.autoOrient?.height ?? meta.height;
  if (!w || !h) throw imageError(name, 'the image has no pixel dimensions');
  if (w * h > options.maxPixels) {
    throw imageError(
      name,
      `image is ${w}×${h} = ${(w * h).toLocaleString('en-US')} pixels, more than the limit of ` +
        `${options.maxPixels.toLocaleString('en-US')} (a guard against decompression bombs); raise it with --max-pixels or the maxPixels option`,
    );
  }
  const is16 = meta.depth === 'ushort';
  const gray = meta.space === 'b-w' || meta.space === 'grey16';
  let pipeline = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'error', autoOrient: true });
  // Without an explicit colour space sharp's raw output is 8-bit sRGB; name it to keep gray and 16 bits.
  pipeline = pipeline.toColourspace(gray ? (is16 ? 'grey16' : 'b-w') : is16 ? 'rgb16' : 'srgb');
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await pipeline.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw imageError(name, `cannot decode the image, it may be corrupt or truncated (${firstLine(e)})`, e);
  }
  const channels = info.channels;
  if (channels < 1 || channels > 4) throw imageError(name, `unsupported number of channels: ${channels}`);
  let samples: Uint8Array | Uint16Array;
  if (is16) {
    const copy = new Uint16Array(data.length / 2);
    for (let i = 0; i < copy.length; i++) copy[i] = data.readUInt16LE(2 * i);
    samples = copy;
  } else {
    samples = new Uint8Array(data.buffer, data.byteOffset, data.length);
  }
  return {
    width: info.width,
    height: info.height,
    channels: channels as 1 | 2 | 3 | 4,
    hasAlpha: channels === 2 || channels === 4,
    bitDepth: is16 ? 16 : 8,
    data: samples,
    format: meta.format ?? 'unknown',
  };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}
