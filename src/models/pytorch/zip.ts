/**
 * A minimal reader of the zip archives `torch.save` writes (PyTorch >= 1.6, `_use_new_zipfile_serialization`).
 *
 * It parses the end-of-central-directory record (zip64 included) and the central directory, and inflates entries
 * that are stored (method 0, what torch writes) or deflated (method 8, what re-zipping tools write) with node's
 * zlib. Every offset and length is checked against the buffer before it is read, so truncated or hostile files
 * give ERR_MODEL_FORMAT instead of reading out of bounds. Layout: PKWARE APPNOTE.TXT §4.3.
 */
import { inflateRawSync } from 'node:zlib';
import { modelFormatError } from '../../errors.js';

/** One file of the archive. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Offset of the entry's local file header. */
  readonly localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/** A zip archive held in memory. */
export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;

  /**
   * @param buf the whole file
   * @param file path or description for messages
   * @throws {UnetError} ERR_MODEL_FORMAT when the archive is malformed or truncated
   */
  constructor(
    private readonly buf: Buffer,
    private readonly file: string,
  ) {
    this.entries = readCentralDirectory(buf, file);
  }

  /** Names of all entries, in directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** True when the buffer starts like a zip archive (a local file header). */
  static looksLikeZip(buf: Buffer): boolean {
    return buf.length >= 4 && buf.readUInt32LE(0) === LOCAL_SIG;
  }

  /**
   * The uncompressed bytes of one entry (a view of the file for stored entries).
   * @throws {UnetError} ERR_MODEL_FORMAT when the entry is missing, truncated or uses an unsupported method
   */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (e === undefined) throw modelFormatError(this.file, `zip archive has no entry "${name}"`);
    const buf = this.buf;
    const at = e.localHeaderOffset;
    if (at + 30 > buf.length || buf.readUInt32LE(at) !== LOCAL_SIG) {
      throw modelFormatError(this.file, `zip entry "${name}": expected a local file header at offset ${at} but the file is truncated or corrupt`);
    }
    const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
    const end = start + e.compressedSize;
    if (end > buf.length) {
      throw modelFormatError(this.file, `zip entry "${name}" is truncated: expected ${e.compressedSize} bytes at offset ${start} but the file has ${buf.length} bytes`);
    }
    const raw = buf.subarray(start, end);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      // Deflate cannot expand more than ~1032:1: a larger declared size is a lie (or a zip bomb).
      if (e.size > e.compressedSize * 1032 + 1024) {
        throw modelFormatError(this.file, `zip entry "${name}" declares ${e.size} bytes from ${e.compressedSize} compressed bytes, more than deflate can produce`);
      }
      let out: Buffer;
      try {
        out = inflateRawSync(raw, { maxOutputLength: Math.max(e.size, 1) });
      } catch (cause) {
        throw modelFormatError(this.file, `zip entry "${name}": deflate data is corrupt`, cause);
      }
      if (out.length !== e.size) {
        throw modelFormatError(this.file, `zip entry "${name}": expected ${e.size} bytes after inflating but received ${out.length}`);
      }
      return out;
    }
    throw modelFormatError(this.file, `zip entry "${name}": expected compression method 0 (stored) or 8 (deflate) but received ${e.method}`);
  }
}

function readCentralDirectory(buf: Buffer, file: string): Map<string, ZipEntry> {
  // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw modelFormatError(file, 'expected a zip archive (torch.save format) but found no end-of-central-directory record: the file is truncated or not a zip');
  }
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== ZIP64_LOCATOR_SIG) throw modelFormatError(file, 'zip64 archive without a zip64 locator');
    const z = safeNumber(buf.readBigUInt64LE(loc + 8), file);
    if (z + 56 > buf.length || buf.readUInt32LE(z) !== ZIP64_EOCD_SIG) throw modelFormatError(file, 'zip64 end-of-central-directory record is missing or truncated');
    count = safeNumber(buf.readBigUInt64LE(z + 32), file);
    cdSize = safeNumber(buf.readBigUInt64LE(z + 40), file);
    cdOffset = safeNumber(buf.readBigUInt64LE(z + 48), file);
  }
  if (cdOffset + cdSize > buf.length) {
    throw modelFormatError(file, `zip central directory is truncated: expected ${cdSize} bytes at offset ${cdOffset} but the file has ${buf.length} bytes`);
  }
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL_SIG) {
      throw modelFormatError(file, `zip central directory entry ${i} is corrupt (offset ${p})`);
    }
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localHeaderOffset = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen > buf.length) throw modelFormatError(file, `zip central directory entry ${i} is truncated`);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information (header id 1): the 0xffffffff fields, in order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 1) {
        let q = x + 4;
        const next = (): number => {
          if (q + 8 > x + 4 + len) throw modelFormatError(file, `zip64 extra field of "${name}" is truncated`);
          const v = safeNumber(buf.readBigUInt64LE(q), file);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function safeNumber(v: bigint, file: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw modelFormatError(file, `zip offset ${v} is out of range`);
  return Number(v);
}
