/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors, format section):
 *   8 bytes   N, little-endian u64: length of the header
 *   N bytes   UTF-8 JSON: { "<name>": { "dtype", "shape", "data_offsets": [begin, end] }, "__metadata__"?: {str: str} }
 *   rest      the byte buffer; offsets are relative to its start, tensors are little-endian and row-major
 * The reader treats the file as hostile: every length, offset and count is checked against the file before any
 * allocation, the byte buffer must be covered exactly (no overlaps, no holes), and every failure is an
 * ERR_MODEL_FORMAT error naming the file. Tensors are converted to float32 (F16 and BF16 exactly, F64 rounded,
 * integers converted).
 */
import { open, readFile, writeFile, rename } from 'node:fs/promises';
import { ErrorCode, UnetError, formatShape, modelFormatError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Bytes per element of each dtype the reader understands. */
export const DTYPE_SIZES: Readonly<Record<string, number>> = Object.freeze({
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
});

/** Element types the writer can produce. */
export type WriteDtype = 'F32' | 'F16';

/** A parsed safetensors file. */
export interface SafetensorsContents {
  /** Every tensor, converted to float32, in header order. */
  readonly tensors: Map<string, Tensor>;
  /** The stored dtype of each tensor. */
  readonly dtypes: Map<string, string>;
  /** `__metadata__` (string → string), or an empty object. */
  readonly metadata: Record<string, string>;
}

/**
 * Parse safetensors bytes.
 * @param file name used in error messages
 * @throws {UnetError} ERR_MODEL_FORMAT for any malformed, truncated or inconsistent content
 */
export function parseSafetensors(bytes: Uint8Array, file = 'safetensors'): SafetensorsContents {
  const fail = (msg: string, cause?: unknown) => modelFormatError(file, `invalid safetensors file: ${msg}`, cause);
  if (bytes.length < 8) throw fail(`expected at least 8 bytes (header length) but the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) throw fail(`header length ${headerLen} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const n = Number(headerLen);
  if (8 + n > bytes.length) throw fail(`header length ${n} is larger than the ${bytes.length - 8} bytes after it (truncated file?)`);
  if (n < 2) throw fail(`header length ${n} is too small for a JSON object`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw fail(`the header is not valid UTF-8 JSON (${(e as Error).message})`, e);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw fail(`__metadata__.${k} must be a string but is ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail(`${where}: expected an object {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES)) {
      throw fail(`${where}: expected dtype one of ${Object.keys(DTYPE_SIZES).join(', ')} but received ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || shape.length > 16 || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
      throw fail(`${where}: expected shape to be an array of non-negative integers but received ${JSON.stringify(shape)?.slice(0, 80)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
      throw fail(`${where}: expected data_offsets [begin, end] of non-negative integers but received ${JSON.stringify(offsets)?.slice(0, 80)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) throw fail(`${where}: data_offsets [${begin}, ${end}] reach past the ${dataLen}-byte data buffer (truncated file?)`);
    let count = 1;
    let capped = false;
    for (const d of shape as number[]) {
      count *= d;
      if (count > dataLen) {
        capped = !(shape as number[]).includes(0); // no tensor can hold more elements than the file has bytes
        break;
      }
    }
    const expected = count * DTYPE_SIZES[dtype]!;
    if (capped || expected !== end - begin) {
      throw fail(`${where}: ${dtype} shape ${formatShape(shape as number[])} needs ${capped ? 'more than ' : ''}${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The buffer must be covered exactly: sorted by offset, each tensor starts where the previous one ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) throw fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (ending at ${pos})`);
    if (e.begin > pos) throw fail(`bytes ${pos}..${e.begin} of the data buffer belong to no tensor`);
    pos = e.end;
  }
  if (pos !== dataLen) throw fail(`the data buffer has ${dataLen} bytes but the tensors cover ${pos}`);

  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, string>();
  for (const e of entries) {
    tensors.set(e.name, new Tensor(e.shape, decode(view, dataStart + e.begin, e.end - e.begin, e.dtype)));
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, dtypes, metadata };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decode(view: DataView, at: number, bytes: number, dtype: string): Float32Array {
  const n = bytes / DTYPE_SIZES[dtype]!;
  const out = dtype === 'F32' && LITTLE_ENDIAN_HOST ? new Float32Array(0) : new Float32Array(n);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) {
        // One aligned copy of the bytes (the file's offsets need not be 4-aligned).
        const start = view.byteOffset + at;
        return new Float32Array(view.buffer.slice(start, start + bytes));
      }
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(at + 2 * i, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(at + 2 * i, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(at + 8 * i, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i, true);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = view.getInt8(at + i);
      break;
    default: // U8, BOOL
      for (let i = 0; i < n; i++) out[i] = view.getUint8(at + i);
  }
  return out;
}

/** IEEE 754 binary16 → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → IEEE 754 binary16 bits, round to nearest even (overflow to ±Infinity). */
export function floatToHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/**
 * Read and parse a safetensors file.
 * @throws {UnetError} ERR_MODEL_FORMAT (malformed), ERR_IO (unreadable)
 */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new UnetError(ErrorCode.IO, `${path}: cannot read the weights file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return parseSafetensors(bytes, path);
}

/** Read only the header of a safetensors file (names, dtypes, shapes) without loading the data. */
export async function readSafetensorsHeader(path: string): Promise<Record<string, unknown>> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    const n = head.readBigUInt64LE(0);
    if (size < 8 || n > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) throw modelFormatError(path, `invalid safetensors file: header length ${n} does not fit the ${size}-byte file`);
    const buf = Buffer.alloc(Number(n));
    await fh.read(buf, 0, buf.length, 8);
    try {
      return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw modelFormatError(path, `invalid safetensors file: the header is not valid JSON`, e);
    }
  } finally {
    await fh.close();
  }
}

/** Options of {@link serializeSafetensors}. */
export interface SafetensorsWriteOptions {
  /** Stored element type; default 'F32'. */
  dtype?: WriteDtype;
  metadata?: Record<string, string>;
}

/** Encode tensors as safetensors bytes (header padded with spaces to a multiple of 8, tensors in the given order). */
export function serializeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, options: SafetensorsWriteOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  const size = DTYPE_SIZES[dtype]!;
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const [name, t] of list) {
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.size * size] };
    offset += t.size * size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hbytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hbytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let at = 8 + hbytes.length;
  for (const [, t] of list) {
    if (dtype === 'F32' && LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else if (dtype === 'F32') {
      for (let i = 0; i < t.size; i++) view.setFloat32(at + 4 * i, t.data[i]!, true);
    } else {
      for (let i = 0; i < t.size; i++) view.setUint16(at + 2 * i, floatToHalf(t.data[i]!), true);
    }
    at += t.size * size;
  }
  return out;
}

/** Write a safetensors file atomically (temporary file + rename). */
export async function writeSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, options: SafetensorsWriteOptions = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, serializeSafetensors(tensors, options));
  await rename(tmp, path);
}
