/**
 * Decode an .onnx file with the generated ONNX schema (`onnx-proto`, on the project's protobufjs) into plain data
 * the importer reads: nodes with attributes as JS values, initializers as {@link OnnxTensor}s, opsets by domain.
 *
 * Nothing here interprets operators; it only checks what the format itself requires (a graph, typed tensors whose
 * data matches their dims) and refuses what the engine cannot load (external data, string/complex tensors).
 */
import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';
import { modelFormatError, ErrorCode, UnetError } from '../../errors.js';
import { halfToFloat } from '../safetensors.js';

const { onnx } = onnxProto;
const LITTLE_ENDIAN = endianness() === 'LE';
type Long = { toNumber(): number };

/** Element type of a constant. Floating types are held as float32, integer and bool types as exact numbers. */
export type OnnxDtype = 'float' | 'int';

/** A constant tensor (an initializer, a Constant node's value, or a folded shape computation). */
export interface OnnxTensor {
  readonly dims: number[];
  readonly dtype: OnnxDtype;
  /** Float32Array for 'float', Float64Array (exact integers, int64 beyond 2^53 rounded) for 'int'. */
  readonly data: Float32Array | Float64Array;
}

/** An attribute value, decoded. */
export type OnnxAttribute = number | string | number[] | string[] | OnnxTensor | { readonly graph: true };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  /** '' marks an omitted optional input. */
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attrs: ReadonlyMap<string, OnnxAttribute>;
}

/** A graph input: name and dims (a number, or null for a symbolic/unknown dimension). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly dims: (number | null)[] | null;
}

export interface OnnxGraphData {
  readonly name: string;
  readonly nodes: OnnxNode[];
  /** Inputs that are not initializers. */
  readonly inputs: OnnxValueInfo[];
  readonly outputs: string[];
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
}

export interface OnnxModelData {
  readonly file: string;
  readonly irVersion: number;
  /** Opset version by domain ('' = ai.onnx). */
  readonly opsets: ReadonlyMap<string, number>;
  readonly producer: string;
  readonly graph: OnnxGraphData;
}

/**
 * Decode a model.
 * @param buf the .onnx file contents
 * @param file path for messages
 * @throws {UnetError} ERR_MODEL_FORMAT for truncated or malformed files, external data or unsupported tensor types
 */
export function readOnnx(buf: Uint8Array, file: string): OnnxModelData {
  let m: InstanceType<typeof onnx.ModelProto>;
  try {
    m = onnx.ModelProto.decode(buf);
  } catch (cause) {
    throw modelFormatError(file, `expected an ONNX ModelProto but decoding failed (${(cause as Error).message}); the file is truncated or not ONNX`, cause);
  }
  if (!m.graph) throw modelFormatError(file, 'expected an ONNX model with a graph but the file has none (truncated or not ONNX)');
  const opsets = new Map<string, number>();
  for (const o of m.opsetImport) opsets.set(o.domain ?? '', num(o.version));
  if (!opsets.has('') && !opsets.has('ai.onnx')) throw modelFormatError(file, 'expected an opset_import for the default ONNX domain but found none');
  if (opsets.has('ai.onnx') && !opsets.has('')) opsets.set('', opsets.get('ai.onnx')!);
  const g = m.graph;
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', toTensor(t, file, `initializer "${t.name}"`));
  const inputs: OnnxValueInfo[] = [];
  for (const vi of g.input ?? []) {
    const name = vi.name ?? '';
    if (initializers.has(name)) continue;
    const shape = vi.type?.tensorType?.shape;
    const dims = shape ? (shape.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && num(d.dimValue) > 0 ? num(d.dimValue) : null)) : null;
    inputs.push({ name, dims });
  }
  const nodes: OnnxNode[] = (g.node ?? []).map((n, i) => {
    const name = n.name && n.name.length > 0 ? n.name : `${n.opType}_${i}`;
    const attrs = new Map<string, OnnxAttribute>();
    for (const a of n.attribute ?? []) attrs.set(a.name ?? '', toAttribute(a, file, `${n.opType}[${name}]`));
    return { name, opType: n.opType ?? '', domain: n.domain ?? '', inputs: (n.input ?? []).slice(), outputs: (n.output ?? []).slice(), attrs };
  });
  return {
    file,
    irVersion: num(m.irVersion),
    opsets,
    producer: `${m.producerName ?? ''} ${m.producerVersion ?? ''}`.trim(),
    graph: { name: g.name ?? '', nodes, inputs, outputs: (g.output ?? []).map((o) => o.name ?? ''), initializers },
  };
}

function num(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

function toAttribute(a: onnxProto.onnx.IAttributeProto, file: string, where: string): OnnxAttribute {
  switch (a.type) {
    case A.FLOAT:
      return a.f ?? 0;
    case A.INT:
      return num(a.i);
    case A.STRING:
      return Buffer.from(a.s ?? new Uint8Array()).toString('utf8');
    case A.FLOATS:
      return (a.floats ?? []).slice();
    case A.INTS:
      return (a.ints ?? []).map(num);
    case A.STRINGS:
      return (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8'));
    case A.TENSOR:
      return toTensor(a.t!, file, `${where} attribute "${a.name}"`);
    case A.GRAPH:
    case A.GRAPHS:
      return { graph: true };
    default:
      throw modelFormatError(file, `${where}: attribute "${a.name}" has unsupported type ${a.type}`);
  }
}

/**
 * Convert a TensorProto. Data comes from `raw_data` (little-endian) or the typed repeated fields; float16 is
 * carried in int32_data as bit patterns (onnx.proto3 comments).
 */
export function toTensor(t: InstanceType<typeof onnx.TensorProto> | onnxProto.onnx.ITensorProto, file: string, what: string): OnnxTensor {
  const dims = (t.dims ?? []).map(num);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw modelFormatError(file, `${what}: invalid dims [${dims.join(',')}]`);
  const size = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData && t.externalData.length > 0)) {
    const loc = t.externalData?.find((e) => e.key === 'location')?.value ?? '?';
    throw new UnetError(
      ErrorCode.MODEL_FORMAT,
      `${file}: ${what} stores its data in an external file ("${loc}"); external data is not supported — re-export the model with its weights inside the .onnx (onnx.save(model, path, save_as_external_data=False))`,
    );
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const dtype = t.dataType ?? 0;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  // Checked before anything is allocated, so dims that promise more than the file holds cannot exhaust memory.
  const needRaw = (bytes: number): void => {
    if (raw && raw.length !== size * bytes) {
      throw modelFormatError(file, `${what}: expected ${size * bytes} bytes of data for dims [${dims.join(',')}] but received ${raw.length}`);
    }
    if (!raw) {
      const listed = Math.max(t.floatData?.length ?? 0, t.int32Data?.length ?? 0, t.int64Data?.length ?? 0, t.doubleData?.length ?? 0, t.uint64Data?.length ?? 0);
      if (listed !== size) throw modelFormatError(file, `${what}: expected ${size} values for dims [${dims.join(',')}] but received ${listed}`);
    }
  };
  const fromList = (list: ArrayLike<number | Long> | null | undefined): number[] => {
    const arr = Array.from(list ?? [], (v) => num(v as number | Long));
    if (arr.length !== size) throw modelFormatError(file, `${what}: expected ${size} values for dims [${dims.join(',')}] but received ${arr.length}`);
    return arr;
  };
  switch (dtype) {
    case T.FLOAT: {
      needRaw(4);
      const d = new Float32Array(size);
      if (raw && LITTLE_ENDIAN) new Uint8Array(d.buffer).set(raw);
      else if (view) for (let i = 0; i < size; i++) d[i] = view.getFloat32(i * 4, true);
      else d.set(fromList(t.floatData));
      return { dims, dtype: 'float', data: d };
    }
    case T.DOUBLE: {
      needRaw(8);
      const d = new Float32Array(size);
      if (view) for (let i = 0; i < size; i++) d[i] = view.getFloat64(i * 8, true);
      else d.set(fromList(t.doubleData));
      return { dims, dtype: 'float', data: d };
    }
    case T.FLOAT16:
    case T.BFLOAT16: {
      needRaw(2);
      const bits = view ? Array.from({ length: size }, (_, i) => view.getUint16(i * 2, true)) : fromList(t.int32Data);
      const d = new Float32Array(size);
      const f = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < size; i++) {
        if (dtype === T.FLOAT16) d[i] = halfToFloat(bits[i]!);
        else {
          f.setUint32(0, bits[i]! << 16);
          d[i] = f.getFloat32(0);
        }
      }
      return { dims, dtype: 'float', data: d };
    }
    case T.INT64:
    case T.UINT64: {
      needRaw(8);
      const d = new Float64Array(size);
      if (view) for (let i = 0; i < size; i++) d[i] = Number(dtype === T.INT64 ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true));
      else d.set(fromList(dtype === T.INT64 ? t.int64Data : t.uint64Data));
      return { dims, dtype: 'int', data: d };
    }
    case T.INT32:
    case T.INT16:
    case T.INT8:
    case T.UINT16:
    case T.UINT8:
    case T.BOOL:
    case T.UINT32: {
      const bytes = dtype === T.INT32 || dtype === T.UINT32 ? 4 : dtype === T.INT16 || dtype === T.UINT16 ? 2 : 1;
      needRaw(bytes);
      const d = new Float64Array(size);
      if (view) {
        for (let i = 0; i < size; i++) {
          const o = i * bytes;
          d[i] =
            dtype === T.INT32 ? view.getInt32(o, true)
            : dtype === T.UINT32 ? view.getUint32(o, true)
            : dtype === T.INT16 ? view.getInt16(o, true)
            : dtype === T.UINT16 ? view.getUint16(o, true)
            : dtype === T.INT8 ? view.getInt8(o)
            : view.getUint8(o);
        }
      } else d.set(fromList(dtype === T.UINT32 ? t.uint64Data : t.int32Data));
      return { dims, dtype: 'int', data: d };
    }
    default:
      throw modelFormatError(file, `${what}: expected a numeric tensor type but received data type ${dtype} (${T[dtype] ?? 'unknown'})`);
  }
}

/** ONNX type codes of the Cast `to` attribute that are floating point. */
export function isFloatType(code: number): boolean {
  return code === T.FLOAT || code === T.DOUBLE || code === T.FLOAT16 || code === T.BFLOAT16;
}
