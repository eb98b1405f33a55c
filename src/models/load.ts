/**
 * `loadModel(path)`: one entry point for every model format, chosen by content (the extension only breaks ties):
 *   folder                       → its model.json (native)
 *   "PK\x03\x04" (zip)           → PyTorch checkpoint (torch.save ≥ 1.6)
 *   pickle protocol 2+ (0x80 nn) → PyTorch legacy checkpoint (the PyTorch reader explains what it supports)
 *   "{" (JSON)                   → native model.json
 *   u64 length + "{" (safetensors) → native weights: the model.json next to it that names this file, or else a
 *                                  milesial U-Net inferred from the tensor names
 *   anything else starting with a protobuf field tag of ModelProto (or named .onnx) → ONNX
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { ErrorCode, UnetError, invalidType, modelFormatError } from '../errors.js';
import type { Model, UnetArchitecture } from './model.js';
import { defaultMeta } from './model.js';
import { loadNative } from './native.js';
import { readSafetensors } from './safetensors.js';
import { buildUnet } from './unet.js';

/** Formats `loadModel` recognizes. */
export type DetectedFormat = 'native' | 'safetensors' | 'pytorch' | 'onnx';

/**
 * Detect a model file's format from its first bytes (and, for protobuf, its extension as a tie-breaker).
 * @throws {UnetError} ERR_MODEL_FORMAT when the content matches no supported format
 */
export async function detectModelFormat(path: string): Promise<DetectedFormat> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    throw new UnetError(ErrorCode.IO, `${path}: cannot read the model (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  if (s.isDirectory()) return 'native';
  const head = Buffer.alloc(16);
  const fh = await open(path, 'r');
  let n: number;
  try {
    ({ bytesRead: n } = await fh.read(head, 0, 16, 0));
  } finally {
    await fh.close();
  }
  const b = head.subarray(0, n);
  if (n >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'pytorch';
  if (n >= 2 && b[0] === 0x80 && b[1]! >= 2 && b[1]! <= 5) return 'pytorch';
  const firstChar = b.toString('latin1').trimStart()[0];
  if (firstChar === '{') return 'native';
  if (n >= 9 && b[8] === 0x7b /* { */ && b.readBigUInt64LE(0) <= BigInt(s.size - 8)) return 'safetensors';
  // ModelProto fields are numbered 1..20 with wire types 0 (varint) or 2 (bytes): ir_version (0x08) comes first
  // in files written by onnx; other writers may start with another field.
  const tag = b[0];
  const ext = extname(path).toLowerCase();
  if (tag !== undefined && (tag === 0x08 || ext === '.onnx') && ((tag & 7) === 0 || (tag & 7) === 2) && tag >> 3 >= 1 && tag >> 3 <= 20) return 'onnx';
  throw modelFormatError(
    path,
    `Expected a model folder, model.json, .safetensors, a PyTorch checkpoint (.pth, zip) or an ONNX file but the content ` +
      `starts with ${[...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ') || 'nothing (empty file)'}`,
  );
}

/**
 * Load a model: a native folder or model.json, a bare .safetensors of a milesial U-Net, a PyTorch .pth/.pt
 * checkpoint of a milesial U-Net, or an ONNX file. The format is detected from the content.
 * @throws {TypeError} ERR_INVALID_ARG_TYPE when `path` is not a non-empty string
 * @throws {UnetError} ERR_IO (unreadable), ERR_MODEL_FORMAT (malformed or unrecognized), ERR_UNSAFE_PICKLE,
 *   ERR_UNSUPPORTED_OP (an ONNX operator the engine lacks)
 */
export async function loadModel(path: string): Promise<Model> {
  if (typeof path !== 'string' || path.length === 0) throw invalidType('loadModel', 'path', 'a path to a model file or folder', path);
  switch (await detectModelFormat(path)) {
    case 'native':
      return loadNative(path);
    case 'safetensors':
      return loadBareSafetensors(path);
    case 'pytorch': {
      const { loadPytorch } = (await importFormat('./pytorch/index.js', 'PyTorch', path)) as { loadPytorch(p: string): Promise<Model> };
      return loadPytorch(path);
    }
    case 'onnx': {
      const { loadOnnx } = (await importFormat('./onnx/index.js', 'ONNX', path)) as { loadOnnx(p: string): Promise<Model> };
      return loadOnnx(path);
    }
  }
}

/** Import a format module lazily (keeps start-up light); a missing reader is reported as unsupported. */
async function importFormat(specifier: string, label: string, path: string): Promise<Record<string, unknown>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new UnetError(ErrorCode.UNSUPPORTED_OP, `${path}: ${label} models are not supported by this build`, { cause: e });
    }
    throw e;
  }
  const fn = label === 'ONNX' ? 'loadOnnx' : 'loadPytorch';
  if (typeof mod[fn] !== 'function') throw new UnetError(ErrorCode.UNSUPPORTED_OP, `${path}: ${label} models are not supported by this build`);
  return mod;
}

/** A .safetensors without a path to its model.json: use a sibling model.json that names it, else infer the U-Net. */
async function loadBareSafetensors(path: string): Promise<Model> {
  const dir = dirname(path);
  let siblings: string[] = [];
  try {
    siblings = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  } catch {
    // unreadable folder: fall through to inference
  }
  for (const f of siblings) {
    try {
      const doc = JSON.parse(await readFile(join(dir, f), 'utf8')) as { format?: unknown; weights?: unknown };
      if (doc.format === 'unet-pipeline/model' && (doc.weights ?? 'model.safetensors') === basename(path)) return loadNative(join(dir, f));
    } catch {
      // not a model.json: ignore
    }
  }
  const { tensors } = await readSafetensors(path);
  const { inferUnetArchitecture } = (await importFormat('./pytorch/index.js', 'PyTorch', path)) as {
    inferUnetArchitecture(w: ReadonlyMap<string, unknown>, file: string): UnetArchitecture;
  };
  const architecture = inferUnetArchitecture(tensors, path);
  const graph = buildUnet(architecture, { weights: tensors, source: path });
  const meta = { ...defaultMeta(architecture.inChannels, architecture.classes, basename(path).replace(/\.[^.]*$/, '')), provenance: { format: 'safetensors', file: path } };
  return { graph, architecture, meta, source: { format: 'native', path } };
}
