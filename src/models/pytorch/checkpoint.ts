/**
 * Read a `torch.save` checkpoint (zip format) into plain values: nested Maps/arrays with tensors as float32
 * {@link Tensor}s (float16/bfloat16/float64 are converted; integer tensors too, exactly up to 2^53).
 *
 * Archive layout (torch/serialization.py `_save`): `<root>/data.pkl` (the pickle), `<root>/data/<key>` (one raw
 * little-endian storage per key), `<root>/byteorder` (since 1.13; 'little' or 'big'), `<root>/version`.
 */
import { endianness } from 'node:os';
import { modelFormatError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { halfToFloat } from '../safetensors.js';
import { ZipArchive } from './zip.js';
import { DTYPE_SIZE, isTensorRef, PyTuple, torchPersistentId, unpickle, type StorageRef, type TensorRef } from './unpickler.js';

/** Python's pickle magic at the start of pre-1.6 (legacy) torch.save files. */
const LEGACY_MAGIC = 0x80;

/**
 * Parse a checkpoint.
 * @param buf file contents
 * @param file path for messages
 * @returns the unpickled object with every tensor materialized as a float32 Tensor
 * @throws {UnetError} ERR_UNSAFE_PICKLE for a global outside the allow-list, ERR_MODEL_FORMAT for anything malformed
 */
export function readTorchCheckpoint(buf: Buffer, file: string): unknown {
  if (!ZipArchive.looksLikeZip(buf)) {
    if (buf.length > 0 && buf[0] === LEGACY_MAGIC) {
      throw modelFormatError(file, 'expected the zip format of torch.save (PyTorch >= 1.6) but received the legacy format; re-save it with torch.save(state_dict, path) in a current PyTorch');
    }
    throw modelFormatError(file, 'expected a PyTorch checkpoint (a zip archive written by torch.save) but the file does not start with a zip header');
  }
  const zip = new ZipArchive(buf, file);
  const pkl = zip.names().find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pkl === undefined) throw modelFormatError(file, 'expected <archive>/data.pkl in the torch.save archive but found none');
  const root = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const byteorder = zip.entries.has(`${root}byteorder`) ? zip.read(`${root}byteorder`).toString('latin1').trim() : 'little';
  if (byteorder !== 'little') throw modelFormatError(file, `expected byteorder "little" but received "${byteorder}"`);

  const storages = new Map<string, Buffer>();
  const storageBytes = (s: StorageRef): Buffer => {
    let b = storages.get(s.key);
    if (b === undefined) {
      b = zip.read(`${root}data/${s.key}`);
      storages.set(s.key, b);
    }
    if (b.length < s.numel * DTYPE_SIZE[s.dtype]) {
      throw modelFormatError(file, `storage ${s.key}: expected ${s.numel} ${s.dtype} elements (${s.numel * DTYPE_SIZE[s.dtype]} bytes) but the entry has ${b.length} bytes`);
    }
    return b;
  };
  const obj = unpickle(zip.read(pkl), (pid) => torchPersistentId(pid, file), file);
  return materialize(obj, (t) => toTensor(t, storageBytes(t.storage), file), file);
}

/** Deeper nesting than any checkpoint has; bounds the recursion below on hostile input. */
const MAX_DEPTH = 200;

function materialize(v: unknown, convert: (t: TensorRef) => Tensor, file: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw modelFormatError(file, `the pickled object is nested more than ${MAX_DEPTH} levels deep`);
  if (isTensorRef(v)) return convert(v);
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) out.set(k, materialize(x, convert, file, depth + 1));
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => materialize(x, convert, file, depth + 1));
  if (v instanceof PyTuple) return new PyTuple(v.items.map((x) => materialize(x, convert, file, depth + 1)));
  return v;
}

/** Copy a strided view (offset + strides, in elements) of a storage into a contiguous float32 tensor. */
function toTensor(t: TensorRef, bytes: Buffer, file: string): Tensor {
  const { shape, stride, offset, storage } = t;
  let size = 1;
  let maxIndex = offset;
  for (let i = 0; i < shape.length; i++) {
    size *= shape[i]!;
    if (shape[i]! > 0) maxIndex += (shape[i]! - 1) * stride[i]!;
  }
  if (size > 0 && maxIndex >= storage.numel) {
    throw modelFormatError(file, `tensor view [${shape.join(',')}] (offset ${offset}, stride [${stride.join(',')}]) reaches element ${maxIndex} of a storage of ${storage.numel}`);
  }
  const out = new Float32Array(size);
  if (storage.dtype === 'float32' && LITTLE_ENDIAN && isContiguous(shape, stride)) {
    // The common case (every weight of a float32 state_dict): one byte copy.
    new Uint8Array(out.buffer).set(bytes.subarray(offset * 4, (offset + size) * 4));
    return new Tensor(shape, out);
  }
  const read = elementReader(storage.dtype, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < size; i++) {
    out[i] = read(src);
    // Odometer over the view's index, moving `src` by the strides.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= idx[d]! * stride[d]!;
      idx[d] = 0;
    }
  }
  return new Tensor(shape, out);
}

const LITTLE_ENDIAN = endianness() === 'LE';

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

function elementReader(dtype: StorageRef['dtype'], v: DataView): (i: number) => number {
  switch (dtype) {
    case 'float32':
      return (i) => v.getFloat32(i * 4, true);
    case 'float64':
      return (i) => v.getFloat64(i * 8, true);
    case 'float16':
      return (i) => halfToFloat(v.getUint16(i * 2, true));
    case 'bfloat16': {
      const f = new DataView(new ArrayBuffer(4));
      return (i) => {
        f.setUint32(0, v.getUint16(i * 2, true) << 16);
        return f.getFloat32(0);
      };
    }
    case 'int64':
      return (i) => Number(v.getBigInt64(i * 8, true));
    case 'int32':
      return (i) => v.getInt32(i * 4, true);
    case 'int16':
      return (i) => v.getInt16(i * 2, true);
    case 'int8':
      return (i) => v.getInt8(i);
    case 'uint8':
    case 'bool':
      return (i) => v.getUint8(i);
  }
}
