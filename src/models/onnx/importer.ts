/**
 * Import a decoded ONNX graph into the graph IR, specialized for given input shapes.
 *
 * Exporters compute sizes at run time with small shape sub-graphs (Shape → Gather → Mul → Cast → Concat → Resize
 * sizes or Pad pads). With the input shapes known, every such value is a constant: the importer walks the graph in
 * topological order, evaluates nodes whose inputs are all constants (and Shape of any value whose shape it knows),
 * and emits IR nodes only for the tensors computed at run time. A graph whose constants never depended on a
 * run-time shape stays valid for any input size (its dynamic input dimensions stay `null`); otherwise it is
 * specialized, and {@link importOnnx} can simply be called again for another shape.
 *
 * Operator semantics follow ONNX Operators.md; each op's attributes are mapped to the IR's normalized form here,
 * and ONNX names are translated to ours in the frozen tables below (one place).
 */
import { ErrorCode, UnetError, formatShape, shapeMismatch } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import type {
  CoordinateMode, Graph, GraphNode, NearestRounding, PadMode, Pads, ResizeAttrs, ResizeMode, ValueInfo,
} from '../../graph/ir.js';
import { conv2dAttrs, convTranspose2dAttrs } from '../../graph/ir.js';
import { graphError, inferNode } from '../../graph/graph.js';
import { isFloatType, type OnnxAttribute, type OnnxModelData, type OnnxNode, type OnnxTensor } from './reader.js';

/** ONNX Pad `mode` → our pad modes (the one mapping table). */
export const ONNX_PAD_MODES: Readonly<Record<string, PadMode>> = Object.freeze({
  constant: 'constant',
  reflect: 'reflect',
  edge: 'replicate',
  wrap: 'circular',
});

/** ONNX Resize `coordinate_transformation_mode` → ours. */
export const ONNX_COORDINATE_MODES: Readonly<Record<string, CoordinateMode>> = Object.freeze({
  half_pixel: 'halfPixel',
  pytorch_half_pixel: 'pytorchHalfPixel',
  align_corners: 'alignCorners',
  asymmetric: 'asymmetric',
});

/** ONNX Resize `nearest_mode` → ours. */
export const ONNX_NEAREST_MODES: Readonly<Record<string, NearestRounding>> = Object.freeze({
  round_prefer_floor: 'roundPreferFloor',
  round_prefer_ceil: 'roundPreferCeil',
  floor: 'floor',
  ceil: 'ceil',
});

/** ONNX Resize/Upsample `mode` → ours. */
export const ONNX_RESIZE_MODES: Readonly<Record<string, ResizeMode>> = Object.freeze({
  nearest: 'nearest',
  linear: 'bilinear',
  bilinear: 'bilinear',
});

/** Every operator the importer understands (default domain). */
export const SUPPORTED_ONNX_OPS: readonly string[] = Object.freeze([
  // network ops
  'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization', 'Relu', 'LeakyRelu',
  'Sigmoid', 'Softmax', 'Clip', 'Tanh', 'Concat', 'Add', 'Sub', 'Mul', 'Div', 'Pad', 'Resize', 'Upsample',
  'Constant', 'Identity', 'Cast', 'Dropout',
  // shape computations (folded to constants)
  'Shape', 'Gather', 'Slice', 'Unsqueeze', 'Squeeze', 'Floor', 'Ceil', 'ConstantOfShape', 'Reshape', 'Range',
  'Expand', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Pow', 'Min', 'Max', 'Equal', 'Less', 'Greater', 'Where', 'Not',
  'ReduceProd', 'Flatten', 'Transpose',
]);

/** Input shapes by input name, or one shape for a single-input graph. */
export type OnnxInputShapes = Record<string, readonly number[]> | readonly number[];

/** What {@link importOnnx} returns. */
export interface OnnxImport {
  readonly graph: Graph;
  /** True when some constant was computed from a run-time shape: the graph is only valid for `inputShapes`. */
  readonly sizeDependent: boolean;
  /** The concrete input shapes the import used. */
  readonly inputShapes: Record<string, number[]>;
  /** Shapes of the graph outputs for those inputs. */
  readonly outputShapes: Record<string, number[]>;
}

function unsupported(node: OnnxNode, opset: number, why: string): UnetError {
  return new UnetError(ErrorCode.UNSUPPORTED_OP, `onnx: ${node.opType}[${node.name}] (opset ${opset}): ${why}`);
}

/** Refuse ops the importer does not know, before anything else (op type, node name, opset). */
export function checkSupportedOps(m: OnnxModelData): void {
  const opset = m.opsets.get('') ?? 0;
  for (const n of m.graph.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      throw unsupported(n, m.opsets.get(n.domain) ?? 0, `operators of domain "${n.domain}" are not supported`);
    }
    if (!SUPPORTED_ONNX_OPS.includes(n.opType)) {
      throw unsupported(n, opset, 'unsupported operator (see SUPPORTED_ONNX_OPS for the supported ones)');
    }
  }
}

/**
 * Order ONNX nodes so producers come first.
 * @throws {UnetError} ERR_GRAPH for a node reading a value nothing produces, a value produced twice, or a cycle
 */
export function orderOnnxNodes(m: OnnxModelData): OnnxNode[] {
  const g = m.graph;
  const available = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  const producer = new Map<string, OnnxNode>();
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (producer.has(o) || available.has(o)) throw graphError(`onnx value '${o}' is written by ${n.opType}[${n.name}] and by another node or input`);
      producer.set(o, n);
    }
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !available.has(i) && !producer.has(i)) {
        throw graphError(`${n.opType}[${n.name}] reads '${i}', which no node produces and is neither a graph input nor an initializer`);
      }
    }
  }
  for (const o of g.outputs) {
    if (!available.has(o) && !producer.has(o)) throw graphError(`graph output '${o}' is produced by no node`);
  }
  const pending = new Map<OnnxNode, number>();
  const readers = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    const deps = new Set(n.inputs.filter((i) => producer.has(i)));
    pending.set(n, deps.size);
    for (const d of deps) {
      const l = readers.get(d) ?? [];
      l.push(n);
      readers.set(d, l);
    }
  }
  const ready = g.nodes.filter((n) => pending.get(n) === 0);
  const order: OnnxNode[] = [];
  while (ready.length > 0) {
    const n = ready.shift()!;
    order.push(n);
    for (const o of n.outputs) {
      for (const r of readers.get(o) ?? []) {
        const left = pending.get(r)! - 1;
        pending.set(r, left);
        if (left === 0) ready.push(r);
      }
    }
  }
  if (order.length !== g.nodes.length) {
    const stuck = g.nodes.filter((n) => pending.get(n)! > 0).map((n) => `${n.opType}[${n.name}]`);
    throw graphError(`the ONNX graph has a cycle through ${stuck.slice(0, 6).join(', ')}${stuck.length > 6 ? ', …' : ''}`);
  }
  return order;
}

/**
 * Resolve the input shapes to import with: given shapes, else the declared ones (a dynamic batch becomes 1).
 * @throws {RangeError} ERR_SHAPE_MISMATCH when a given shape contradicts the declared one or a dimension is unknown
 */
export function resolveInputShapes(m: OnnxModelData, given?: OnnxInputShapes): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const inputs = m.graph.inputs;
  const byName: Record<string, readonly number[]> | undefined =
    given === undefined ? undefined
    : Array.isArray(given) ? (inputs.length === 1 ? { [inputs[0]!.name]: given as readonly number[] } : undefined)
    : (given as Record<string, readonly number[]>);
  if (Array.isArray(given) && inputs.length !== 1) {
    throw shapeMismatch('onnx', `the model has ${inputs.length} inputs; give input shapes by name`);
  }
  for (const vi of inputs) {
    const s = byName?.[vi.name];
    if (s !== undefined) {
      if (vi.dims && (vi.dims.length !== s.length || vi.dims.some((d, i) => d !== null && d !== s[i]))) {
        throw shapeMismatch(`onnx input[${vi.name}]`, `expected a shape like [${vi.dims.map((d) => d ?? '?').join(',')}] but received ${formatShape(s)}`);
      }
      out[vi.name] = s.slice();
      continue;
    }
    if (!vi.dims) throw shapeMismatch(`onnx input[${vi.name}]`, 'the model declares no shape for this input; give one');
    const dims = vi.dims.map((d, i) => (d === null && i === 0 ? 1 : d));
    if (dims.some((d) => d === null)) {
      throw shapeMismatch(`onnx input[${vi.name}]`, `has dynamic dimensions [${vi.dims.map((d) => d ?? '?').join(',')}]; give the input shape to specialize the graph`);
    }
    out[vi.name] = dims as number[];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Constants

const intT = (dims: number[], values: ArrayLike<number>): OnnxTensor => ({ dims, dtype: 'int', data: Float64Array.from(values) });
const floatT = (dims: number[], values: ArrayLike<number>): OnnxTensor => ({ dims, dtype: 'float', data: Float32Array.from(values) });
const sizeOf = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Folded constants are shape computations: anything this large comes from a broken or hostile file. */
const MAX_FOLDED_ELEMENTS = 1 << 24;

function withData(dtype: OnnxTensor['dtype'], dims: number[], values: ArrayLike<number>): OnnxTensor {
  return dtype === 'int' ? intT(dims, values) : floatT(dims, values);
}

function checkFoldedSize(dims: readonly number[], fail: (why: string) => never): number {
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail(`invalid shape ${formatShape(dims)}`);
  const n = sizeOf(dims);
  if (n > MAX_FOLDED_ELEMENTS) fail(`a constant of shape ${formatShape(dims)} (${n} elements) is too large to fold`);
  return n;
}

/** NumPy-broadcast elementwise evaluation of constants. */
function broadcastEval(ts: OnnxTensor[], fn: (...v: number[]) => number, dtype: OnnxTensor['dtype']): OnnxTensor {
  const rank = Math.max(...ts.map((t) => t.dims.length));
  const dims = new Array<number>(rank).fill(1);
  for (const t of ts) {
    t.dims.forEach((d, i) => {
      const k = rank - t.dims.length + i;
      if (dims[k] === 1) dims[k] = d;
      else if (d !== 1 && d !== dims[k]) throw shapeMismatch('onnx', `constant shapes ${ts.map((x) => formatShape(x.dims)).join(' and ')} do not broadcast`);
    });
  }
  const size = sizeOf(dims);
  const strides = ts.map((t) => {
    const s = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = t.dims.length - 1; i >= 0; i--) {
      s[rank - t.dims.length + i] = t.dims[i] === 1 ? 0 : acc;
      acc *= t.dims[i]!;
    }
    return s;
  });
  const out = new Array<number>(size);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < size; i++) {
    const args = ts.map((t, k) => {
      let o = 0;
      for (let d = 0; d < rank; d++) o += idx[d]! * strides[k]![d]!;
      return t.data[o]!;
    });
    out[i] = fn(...args);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) break;
      idx[d] = 0;
    }
  }
  return withData(dtype, dims, out);
}

/** Gather along `axis` (indices may be negative). */
function gather(data: OnnxTensor, indices: OnnxTensor, axis: number): OnnxTensor {
  const outer = sizeOf(data.dims.slice(0, axis));
  const n = data.dims[axis]!;
  const inner = sizeOf(data.dims.slice(axis + 1));
  const idx = Array.from(indices.data, (i) => (i < 0 ? i + n : i));
  if (idx.some((i) => i < 0 || i >= n)) throw shapeMismatch('onnx Gather', `index out of range for axis of size ${n}`);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (const i of idx) for (let k = 0; k < inner; k++) out.push(data.data[(o * n + i) * inner + k]!);
  return withData(data.dtype, [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)], out);
}

/** Slice with starts/ends/axes/steps (ONNX clamping rules). */
function slice(data: OnnxTensor, starts: number[], ends: number[], axes: number[], steps: number[]): OnnxTensor {
  const rank = data.dims.length;
  const st = data.dims.map(() => 0);
  const en = data.dims.slice();
  const sp = data.dims.map(() => 1);
  axes.forEach((a0, k) => {
    const a = a0 < 0 ? a0 + rank : a0;
    const dim = data.dims[a]!;
    const step = steps[k] ?? 1;
    let s = starts[k]!;
    let e = ends[k]!;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
    }
    st[a] = s;
    en[a] = e;
    sp[a] = step;
  });
  const outDims = data.dims.map((_, a) => Math.max(0, Math.ceil((en[a]! - st[a]!) / sp[a]!)));
  const inStrides = data.dims.map((_, a) => sizeOf(data.dims.slice(a + 1)));
  const out: number[] = [];
  const total = sizeOf(outDims);
  const idx = outDims.map(() => 0);
  for (let i = 0; i < total; i++) {
    let o = 0;
    for (let a = 0; a < rank; a++) o += (st[a]! + idx[a]! * sp[a]!) * inStrides[a]!;
    out.push(data.data[o]!);
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a]! < outDims[a]!) break;
      idx[a] = 0;
    }
  }
  return withData(data.dtype, outDims, out);
}

// ---------------------------------------------------------------------------------------------------------------
// The importer

interface Ctx {
  readonly m: OnnxModelData;
  readonly opset: number;
  readonly consts: Map<string, OnnxTensor>;
  /** Shapes of values computed at run time. */
  readonly shapes: Map<string, number[]>;
  /** Values that are another value under a new name (Identity, Dropout, float Cast). */
  readonly aliases: Map<string, string>;
  /**
   * Run-time values that are a transposition of another (`perm` as in ONNX Transpose). They exist only as
   * bookkeeping: exporters wrap a softmax over a non-last axis as Transpose → Softmax(last) → Transpose (opset < 13),
   * which imports as one softmax over the original axis. Any other reader of a permuted value is refused.
   */
  readonly permuted: Map<string, { readonly source: string; readonly perm: number[] }>;
  readonly nodes: GraphNode[];
  readonly initializers: Map<string, Tensor>;
  readonly nodeNames: Set<string>;
  sizeDependent: boolean;
}

/**
 * Import a decoded model for the given input shapes.
 * @param inputShapes concrete input shapes (default: the declared ones, batch 1 if dynamic)
 * @throws {UnetError} ERR_UNSUPPORTED_OP (op type, node name, opset), ERR_GRAPH (cycle, missing input),
 *   ERR_MODEL_FORMAT; {RangeError} ERR_SHAPE_MISMATCH for shapes that do not fit
 */
export function importOnnx(m: OnnxModelData, inputShapes?: OnnxInputShapes): OnnxImport {
  checkSupportedOps(m);
  const order = orderOnnxNodes(m);
  const shapes = resolveInputShapes(m, inputShapes);
  const ctx: Ctx = {
    m,
    opset: m.opsets.get('') ?? 1,
    consts: new Map(m.graph.initializers),
    shapes: new Map(Object.entries(shapes).map(([k, v]) => [k, v.slice()])),
    aliases: new Map(),
    permuted: new Map(),
    nodes: [],
    initializers: new Map(),
    nodeNames: new Set(),
    sizeDependent: false,
  };
  for (const n of order) importNode(ctx, n);

  const outputs: string[] = [];
  for (const o of m.graph.outputs) {
    if (ctx.permuted.has(resolve(ctx, o))) {
      throw new UnetError(ErrorCode.UNSUPPORTED_OP, `onnx: graph output '${o}' is a transposed run-time tensor; transposes are only supported around Softmax`);
    }
    const src = resolve(ctx, o);
    if (src !== o || ctx.consts.has(o)) {
      // An output that is an alias or a constant still needs a node that writes it under its own name.
      const input = ctx.consts.has(src) ? useConst(ctx, src) : src;
      emit(ctx, { op: 'identity', name: uniqueName(ctx, `${o}.identity`), inputs: [input], outputs: [o], attrs: {} });
    }
    outputs.push(o);
  }
  const inputs: ValueInfo[] = m.graph.inputs.map((vi) => ({
    name: vi.name,
    shape: ctx.sizeDependent || !vi.dims ? shapes[vi.name]!.slice() : vi.dims.map((d, i) => (d === null ? null : shapes[vi.name]![i]!)),
  }));
  const outputShapes = Object.fromEntries(outputs.map((o) => [o, (ctx.shapes.get(o) ?? ctx.initializers.get(o)?.shape ?? []).slice()]));
  return { graph: { inputs, outputs, nodes: ctx.nodes, initializers: ctx.initializers }, sizeDependent: ctx.sizeDependent, inputShapes: shapes, outputShapes };
}

function resolve(ctx: Ctx, name: string): string {
  let n = name;
  while (ctx.aliases.has(n)) n = ctx.aliases.get(n)!;
  return n;
}

function uniqueName(ctx: Ctx, base: string): string {
  let name = base || 'node';
  for (let k = 1; ctx.nodeNames.has(name); k++) name = `${base}_${k}`;
  ctx.nodeNames.add(name);
  return name;
}

/** Register a constant as a graph initializer (float32) and return its name. */
function useConst(ctx: Ctx, name: string): string {
  if (!ctx.initializers.has(name)) {
    const t = ctx.consts.get(name)!;
    ctx.initializers.set(name, new Tensor(t.dims, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data)));
  }
  return name;
}

/** Append an IR node and record its output shape. */
function emit(ctx: Ctx, node: GraphNode): void {
  const ins = node.inputs.map((i) => ctx.shapes.get(i) ?? ctx.initializers.get(i)!.shape);
  const outs = inferNode(node, ins);
  node.outputs.forEach((o, k) => ctx.shapes.set(o, outs[k]!));
  ctx.nodes.push(node);
}

function importNode(ctx: Ctx, n: OnnxNode): void {
  const where = `${n.opType}[${n.name}]`;
  const inName = (k: number): string => (n.inputs[k] === undefined || n.inputs[k] === '' ? '' : resolve(ctx, n.inputs[k]!));
  const has = (k: number): boolean => inName(k) !== '';
  const isConst = (k: number): boolean => has(k) && ctx.consts.has(inName(k));
  const constAt = (k: number, what: string): OnnxTensor => {
    if (!isConst(k)) throw unsupported(n, ctx.opset, `expected input ${k} (${what}) to be a constant or computable from shapes`);
    return ctx.consts.get(inName(k))!;
  };
  const shapeAt = (k: number): number[] => {
    const name = inName(k);
    const c = ctx.consts.get(name);
    if (c) return c.dims.slice();
    const s = ctx.shapes.get(name);
    if (!s) throw graphError(`${where} reads '${name}' before it is computed`);
    return s;
  };
  /** The IR input name for input k: runtime values as they are, constants as initializers. */
  const irInput = (k: number): string => (isConst(k) ? useConst(ctx, inName(k)) : inName(k));
  const out = n.outputs[0]!;
  const setConst = (t: OnnxTensor, k = 0): void => {
    ctx.consts.set(n.outputs[k]!, t);
  };
  const alias = (k: number): void => {
    ctx.aliases.set(out, inName(k));
  };
  const allConst = n.inputs.every((i) => i === '' || ctx.consts.has(resolve(ctx, i)));
  const attr = n.attrs;
  if (n.opType !== 'Transpose' && n.opType !== 'Softmax' && n.opType !== 'Shape') {
    for (let k = 0; k < n.inputs.length; k++) {
      if (has(k) && ctx.permuted.has(inName(k))) {
        throw unsupported(n, ctx.opset, `reads '${inName(k)}', a transposed run-time tensor; transposes of run-time tensors are only supported around Softmax`);
      }
    }
  }
  const aInt = (name: string, dflt: number): number => {
    const v = attr.get(name);
    return typeof v === 'number' ? v : dflt;
  };
  const aFloat = aInt;
  const aInts = (name: string): number[] | null => {
    const v = attr.get(name);
    return Array.isArray(v) ? (v as number[]) : null;
  };
  const aStr = (name: string, dflt: string): string => {
    const v = attr.get(name);
    return typeof v === 'string' ? v : dflt;
  };
  const usedOutputs = (): number => n.outputs.filter((o) => o !== '').length;
  const fail = (why: string): never => {
    throw unsupported(n, ctx.opset, why);
  };
  const ints = (t: OnnxTensor): number[] => Array.from(t.data);
  const emitNode = (node: Omit<GraphNode, 'name'> & { name?: string }): void => {
    emit(ctx, { ...node, name: uniqueName(ctx, n.name) } as GraphNode);
  };

  switch (n.opType) {
    // ----- constants and shape computations --------------------------------------------------------------------
    case 'Constant': {
      const v = attr.get('value') ?? attr.get('value_float') ?? attr.get('value_floats') ?? attr.get('value_int') ?? attr.get('value_ints');
      if (v === undefined) fail('expected a value, value_float(s) or value_int(s) attribute');
      if (typeof v === 'object' && !Array.isArray(v) && 'dims' in (v as object)) setConst(v as OnnxTensor);
      else if (attr.has('value_float')) setConst(floatT([], [v as number]));
      else if (attr.has('value_floats')) setConst(floatT([(v as number[]).length], v as number[]));
      else if (attr.has('value_int')) setConst(intT([], [v as number]));
      else setConst(intT([(v as number[]).length], v as number[]));
      return;
    }
    case 'Shape': {
      const s = shapeAt(0);
      if (!isConst(0)) ctx.sizeDependent = true;
      const rank = s.length;
      let start = aInt('start', 0);
      let end = aInt('end', rank);
      if (start < 0) start += rank;
      if (end < 0) end += rank;
      start = Math.min(Math.max(start, 0), rank);
      end = Math.min(Math.max(end, 0), rank);
      const dims = s.slice(start, Math.max(start, end));
      setConst(intT([dims.length], dims));
      return;
    }
    case 'Identity':
    case 'Dropout':
      if (n.opType === 'Dropout' && n.outputs.length > 1 && n.outputs[1] !== '') fail('the mask output is not supported');
      if (isConst(0)) setConst(constAt(0, 'input'));
      else alias(0);
      return;
    case 'Cast': {
      const to = aInt('to', 1);
      if (isConst(0)) {
        const c = constAt(0, 'input');
        setConst(isFloatType(to) ? floatT(c.dims, c.data) : intT(c.dims, Array.from(c.data, Math.trunc)));
      } else if (isFloatType(to)) alias(0);
      else fail(`casting a run-time tensor to non-float type ${to} is not supported`);
      return;
    }
    case 'Gather': {
      const data = constAt(0, 'data');
      const idx = constAt(1, 'indices');
      const rank = data.dims.length;
      let axis = aInt('axis', 0);
      if (axis < 0) axis += rank;
      setConst(gather(data, idx, axis));
      return;
    }
    case 'Slice': {
      const data = constAt(0, 'data');
      let starts: number[], ends: number[], axes: number[], steps: number[];
      if (ctx.opset < 10) {
        starts = aInts('starts') ?? [];
        ends = aInts('ends') ?? [];
        axes = aInts('axes') ?? starts.map((_, i) => i);
        steps = starts.map(() => 1);
      } else {
        starts = ints(constAt(1, 'starts'));
        ends = ints(constAt(2, 'ends'));
        axes = has(3) ? ints(constAt(3, 'axes')) : starts.map((_, i) => i);
        steps = has(4) ? ints(constAt(4, 'steps')) : starts.map(() => 1);
      }
      if (steps.some((s) => s === 0)) fail('slice step 0');
      setConst(slice(data, starts, ends, axes, steps));
      return;
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const data = constAt(0, 'data');
      const axesIn = ctx.opset >= 13 ? (has(1) ? ints(constAt(1, 'axes')) : null) : aInts('axes');
      let dims = data.dims.slice();
      if (n.opType === 'Unsqueeze') {
        const outRank = dims.length + (axesIn ?? []).length;
        const axes = (axesIn ?? []).map((a) => (a < 0 ? a + outRank : a)).sort((a, b) => a - b);
        for (const a of axes) dims.splice(a, 0, 1);
      } else {
        const axes = axesIn === null ? dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : axesIn.map((a) => (a < 0 ? a + dims.length : a));
        dims = dims.filter((_, i) => !axes.includes(i));
      }
      setConst(withData(data.dtype, dims, data.data));
      return;
    }
    case 'Reshape':
    case 'Flatten': {
      if (!isConst(0)) {
        // A reshape of a run-time tensor to its own shape is a no-op (exporters emit those); anything else is not.
        const s = shapeAt(0);
        const target = n.opType === 'Reshape' ? ints(constAt(1, 'shape')).map((d, i) => (d === 0 ? s[i]! : d)) : null;
        if (target && target.length === s.length && target.every((d, i) => d === s[i] || (d === -1 && target.filter((x) => x === -1).length === 1))) {
          alias(0);
          return;
        }
        fail(`reshaping a run-time tensor ${formatShape(s)} is not supported`);
      }
      const data = constAt(0, 'data');
      let dims: number[];
      if (n.opType === 'Flatten') {
        let axis = aInt('axis', 1);
        if (axis < 0) axis += data.dims.length;
        dims = [sizeOf(data.dims.slice(0, axis)), sizeOf(data.dims.slice(axis))];
      } else {
        const allowZero = aInt('allowzero', 0) === 1;
        dims = ints(constAt(1, 'shape')).map((d, i) => (d === 0 && !allowZero ? data.dims[i]! : d));
        const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        dims = dims.map((d) => (d === -1 ? sizeOf(data.dims) / known : d));
      }
      if (sizeOf(dims) !== sizeOf(data.dims)) fail(`cannot reshape ${formatShape(data.dims)} to ${formatShape(dims)}`);
      setConst(withData(data.dtype, dims, data.data));
      return;
    }
    case 'Transpose': {
      if (!isConst(0)) {
        const x = shapeAt(0);
        const perm = aInts('perm') ?? x.map((_, i) => x.length - 1 - i);
        const inner = ctx.permuted.get(inName(0));
        // Compose with an earlier transposition: out[i] = inner.source[inner.perm[perm[i]]].
        const source = inner ? inner.source : inName(0);
        const total = inner ? perm.map((p) => inner.perm[p]!) : perm;
        ctx.shapes.set(out, perm.map((p) => x[p]!));
        if (total.every((p, i) => p === i)) ctx.aliases.set(out, source);
        else ctx.permuted.set(out, { source, perm: total });
        return;
      }
      const data = constAt(0, 'data');
      const rank = data.dims.length;
      const perm = aInts('perm') ?? data.dims.map((_, i) => rank - 1 - i);
      const dims = perm.map((p) => data.dims[p]!);
      const inStrides = data.dims.map((_, a) => sizeOf(data.dims.slice(a + 1)));
      const values: number[] = [];
      const idx = dims.map(() => 0);
      for (let i = 0; i < sizeOf(dims); i++) {
        let o = 0;
        for (let a = 0; a < rank; a++) o += idx[a]! * inStrides[perm[a]!]!;
        values.push(data.data[o]!);
        for (let a = rank - 1; a >= 0; a--) {
          if (++idx[a]! < dims[a]!) break;
          idx[a] = 0;
        }
      }
      setConst(withData(data.dtype, dims, values));
      return;
    }
    case 'ConstantOfShape': {
      const dims = ints(constAt(0, 'shape'));
      checkFoldedSize(dims, fail);
      const v = attr.get('value') as OnnxTensor | undefined;
      const fill = v ? v.data[0]! : 0;
      setConst(withData(v ? v.dtype : 'float', dims, new Array<number>(sizeOf(dims)).fill(fill)));
      return;
    }
    case 'Range': {
      const [s, l, d] = [0, 1, 2].map((k) => constAt(k, ['start', 'limit', 'delta'][k]!).data[0]!);
      const count = Math.max(Math.ceil((l! - s!) / d!), 0);
      checkFoldedSize([count], fail);
      setConst(withData(constAt(0, 'start').dtype, [count], Array.from({ length: count }, (_, i) => s! + i * d!)));
      return;
    }
    case 'Expand': {
      const data = constAt(0, 'input');
      const shape = ints(constAt(1, 'shape'));
      checkFoldedSize(shape, fail);
      setConst(broadcastEval([data, withData(data.dtype, shape, new Array<number>(sizeOf(shape)).fill(0))], (a) => a, data.dtype));
      return;
    }
    case 'ReduceProd': {
      const data = constAt(0, 'data');
      if (aInts('axes') !== null || has(1)) fail('only the full reduction (no axes) is supported');
      setConst(withData(data.dtype, aInt('keepdims', 1) ? data.dims.map(() => 1) : [], [Array.from(data.data).reduce((a, b) => a * b, 1)]));
      return;
    }
    case 'Floor':
    case 'Ceil':
    case 'Neg':
    case 'Abs':
    case 'Sqrt':
    case 'Reciprocal':
    case 'Not': {
      const c = constAt(0, 'input');
      const f: Record<string, (v: number) => number> = {
        Floor: Math.floor, Ceil: Math.ceil, Neg: (v) => -v, Abs: Math.abs, Sqrt: Math.sqrt, Reciprocal: (v) => 1 / v, Not: (v) => (v ? 0 : 1),
      };
      setConst(withData(c.dtype, c.dims, Array.from(c.data, f[n.opType]!)));
      return;
    }
    case 'Pow':
    case 'Min':
    case 'Max':
    case 'Equal':
    case 'Less':
    case 'Greater':
    case 'Where': {
      if (!allConst) fail('only supported on constants (shape computations)');
      const ts = n.inputs.map((_, k) => constAt(k, `input ${k}`));
      const fns: Record<string, (...v: number[]) => number> = {
        Pow: (a, b) => a! ** b!,
        Min: (...v) => Math.min(...v),
        Max: (...v) => Math.max(...v),
        Equal: (a, b) => (a === b ? 1 : 0),
        Less: (a, b) => (a! < b! ? 1 : 0),
        Greater: (a, b) => (a! > b! ? 1 : 0),
        Where: (c, a, b) => (c ? a! : b!),
      };
      const dtype = ['Equal', 'Less', 'Greater'].includes(n.opType) ? 'int' : n.opType === 'Where' ? ts[1]!.dtype : ts[0]!.dtype;
      setConst(broadcastEval(ts, fns[n.opType]!, dtype));
      return;
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      if (allConst) {
        const a = constAt(0, 'A');
        const b = constAt(1, 'B');
        const dtype = a.dtype === 'int' && b.dtype === 'int' ? 'int' : 'float';
        const fns: Record<string, (x: number, y: number) => number> = {
          Add: (x, y) => x + y,
          Sub: (x, y) => x - y,
          Mul: (x, y) => x * y,
          // ONNX integer Div truncates toward zero (C semantics).
          Div: dtype === 'int' ? (x, y) => Math.trunc(x / y) : (x, y) => x / y,
        };
        setConst(broadcastEval([a, b], fns[n.opType]!, dtype));
        return;
      }
      const op = n.opType.toLowerCase() as 'add' | 'sub' | 'mul' | 'div';
      emitNode({ op, inputs: [irInput(0), irInput(1)], outputs: [out], attrs: {} });
      return;
    }
    case 'Concat': {
      const rank = shapeAt(0).length;
      let axis = aInt('axis', 0);
      if (axis < 0) axis += rank;
      const parts = n.inputs.map((_, k) => k).filter((k) => has(k));
      if (allConst) {
        const ts = parts.map((k) => constAt(k, `input ${k}`));
        const outer = sizeOf(ts[0]!.dims.slice(0, axis));
        const dims = ts[0]!.dims.slice();
        dims[axis] = ts.reduce((acc, t) => acc + t.dims[axis]!, 0);
        const data: number[] = [];
        for (let o = 0; o < outer; o++) {
          for (const t of ts) {
            const chunk = sizeOf(t.dims.slice(axis));
            for (let i = 0; i < chunk; i++) data.push(t.data[o * chunk + i]!);
          }
        }
        setConst(withData(ts.every((t) => t.dtype === 'int') ? 'int' : 'float', dims, data));
        return;
      }
      emitNode({ op: 'concat', inputs: parts.map(irInput), outputs: [out], attrs: { axis } });
      return;
    }

    // ----- network ops -----------------------------------------------------------------------------------------
    case 'Conv': {
      const w = constAt(1, 'weight');
      if (w.dims.length !== 4) fail(`only 2-d convolutions are supported (weight ${formatShape(w.dims)})`);
      const x = shapeAt(0);
      const stride = pair(aInts('strides'), 1);
      const dilation = pair(aInts('dilations'), 1);
      const k: [number, number] = [w.dims[2]!, w.dims[3]!];
      const pads = convPads(aStr('auto_pad', 'NOTSET'), aInts('pads'), [x[2]!, x[3]!], k, stride, dilation, fail);
      if (sameDependsOnSize(aStr('auto_pad', 'NOTSET'), stride)) ctx.sizeDependent = true;
      emitNode({
        op: 'conv2d',
        inputs: has(2) ? [irInput(0), irInput(1), irInput(2)] : [irInput(0), irInput(1)],
        outputs: [out],
        attrs: conv2dAttrs({ stride, dilation, pads, groups: aInt('group', 1) }),
      });
      return;
    }
    case 'ConvTranspose': {
      const w = constAt(1, 'weight');
      if (w.dims.length !== 4) fail(`only 2-d transposed convolutions are supported (weight ${formatShape(w.dims)})`);
      const x = shapeAt(0);
      const stride = pair(aInts('strides'), 1);
      const dilation = pair(aInts('dilations'), 1);
      const outPad = pair(aInts('output_padding'), 0);
      const autoPad = aStr('auto_pad', 'NOTSET');
      const outputShape = aInts('output_shape');
      const pads = aInts('pads') ?? [0, 0, 0, 0];
      const begin = [pads[0]!, pads[1]!];
      const end = [pads[2]!, pads[3]!];
      for (let a = 0; a < 2; a++) {
        const i = x[2 + a]!;
        const kk = w.dims[2 + a]!;
        const full = stride[a]! * (i - 1) + outPad[a]! + (kk - 1) * dilation[a]! + 1;
        let target: number | null = null;
        if (outputShape) {
          // A fixed output size: the pads computed from it hold for this input size only.
          target = outputShape[outputShape.length - 2 + a]!;
          ctx.sizeDependent = true;
        }
        else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') target = i * stride[a]!;
        if (target !== null) {
          const total = full - target;
          // ConvTranspose spec (Operators.md; onnxruntime agrees): SAME_UPPER puts the odd pad at the end,
          // SAME_LOWER and NOTSET (with output_shape) at the start.
          const head = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
          begin[a] = head;
          end[a] = total - head;
        }
      }
      // Ours: out = (i-1)s - 2p + d(k-1) + outputPadding + 1, i.e. p = begin and outputPadding = op + begin - end.
      // When that is negative (more pad at the end), run the full transposed conv and crop with a pad node.
      if (begin.some((b) => b < 0) || end.some((e) => e < 0)) fail(`negative pads [${begin.join(',')},${end.join(',')}] are not supported`);
      const irOutPad: [number, number] = [outPad[0]! + begin[0]! - end[0]!, outPad[1]! + begin[1]! - end[1]!];
      const symmetric = irOutPad[0] >= 0 && irOutPad[1] >= 0;
      const inputs = has(2) ? [irInput(0), irInput(1), irInput(2)] : [irInput(0), irInput(1)];
      if (symmetric) {
        emitNode({
          op: 'convTranspose2d',
          inputs,
          outputs: [out],
          attrs: convTranspose2dAttrs({ stride, dilation, padding: [begin[0]!, begin[1]!], outputPadding: irOutPad, groups: aInt('group', 1) }),
        });
        return;
      }
      const full = `${out}.uncropped`;
      emitNode({
        op: 'convTranspose2d',
        inputs,
        outputs: [full],
        attrs: convTranspose2dAttrs({ stride, dilation, padding: [0, 0], outputPadding: [outPad[0]!, outPad[1]!], groups: aInt('group', 1) }),
      });
      emit(ctx, {
        op: 'pad',
        name: uniqueName(ctx, `${n.name}.crop`),
        inputs: [full],
        outputs: [out],
        attrs: { pads: { top: -begin[0]!, left: -begin[1]!, bottom: -end[0]!, right: -end[1]! }, mode: 'constant', value: 0 },
      });
      return;
    }
    case 'MaxPool':
    case 'AveragePool': {
      if (usedOutputs() > 1) fail('the Indices output is not supported');
      const x = shapeAt(0);
      if (x.length !== 4) fail(`only 2-d pooling is supported (input ${formatShape(x)})`);
      const kernel = pair(aInts('kernel_shape'), 1);
      const stride = pair(aInts('strides'), 1);
      const dilation = pair(aInts('dilations'), 1);
      const p = convPads(aStr('auto_pad', 'NOTSET'), aInts('pads'), [x[2]!, x[3]!], kernel, stride, dilation, fail);
      if (sameDependsOnSize(aStr('auto_pad', 'NOTSET'), stride)) ctx.sizeDependent = true;
      if (p.top !== p.bottom || p.left !== p.right) fail(`asymmetric pads (${p.top}, ${p.left}, ${p.bottom}, ${p.right}) are not supported for pooling`);
      const ceilMode = aInt('ceil_mode', 0) === 1;
      if (n.opType === 'MaxPool') {
        emitNode({ op: 'maxPool2d', inputs: [irInput(0)], outputs: [out], attrs: { kernelSize: kernel, stride, padding: [p.top, p.left], dilation, ceilMode } });
      } else {
        if (dilation[0] !== 1 || dilation[1] !== 1) fail('dilated average pooling is not supported');
        emitNode({
          op: 'avgPool2d',
          inputs: [irInput(0)],
          outputs: [out],
          attrs: { kernelSize: kernel, stride, padding: [p.top, p.left], ceilMode, countIncludePad: aInt('count_include_pad', 0) === 1, divisorOverride: null },
        });
      }
      return;
    }
    case 'GlobalAveragePool':
      emitNode({ op: 'globalAvgPool', inputs: [irInput(0)], outputs: [out], attrs: {} });
      return;
    case 'BatchNormalization':
      if (aInt('training_mode', 0) !== 0 || usedOutputs() > 1) fail('training mode (running statistics outputs) is not supported');
      emitNode({ op: 'batchNorm', inputs: [0, 1, 2, 3, 4].map(irInput), outputs: [out], attrs: { eps: aFloat('epsilon', 1e-5) } });
      return;
    case 'Relu':
    case 'Sigmoid':
    case 'Tanh':
      emitNode({ op: n.opType.toLowerCase() as 'relu' | 'sigmoid' | 'tanh', inputs: [irInput(0)], outputs: [out], attrs: {} });
      return;
    case 'LeakyRelu':
      emitNode({ op: 'leakyRelu', inputs: [irInput(0)], outputs: [out], attrs: { slope: aFloat('alpha', 0.01) } });
      return;
    case 'Softmax': {
      const x = shapeAt(0);
      let axis = aInt('axis', ctx.opset >= 13 ? -1 : 1);
      if (axis < 0) axis += x.length;
      // Before opset 13, Softmax works on the input flattened to 2-d at `axis`: that is a softmax along `axis`
      // only when every later dimension is 1 (or `axis` is the last one).
      if (ctx.opset < 13 && x.slice(axis + 1).some((d) => d !== 1)) {
        fail(`opset ${ctx.opset} Softmax over the flattened dimensions ${formatShape(x.slice(axis))} is not supported`);
      }
      const p = ctx.permuted.get(inName(0));
      if (p) {
        // Softmax of a transposed tensor = the transposition of a softmax over the source's matching axis.
        const inner = `${out}.untransposed`;
        emitNode({ op: 'softmax', inputs: [p.source], outputs: [inner], attrs: { axis: p.perm[axis]! } });
        ctx.shapes.set(out, x.slice());
        ctx.permuted.set(out, { source: inner, perm: p.perm });
        return;
      }
      emitNode({ op: 'softmax', inputs: [irInput(0)], outputs: [out], attrs: { axis } });
      return;
    }
    case 'Clip': {
      let min = -Infinity;
      let max = Infinity;
      if (ctx.opset < 11) {
        min = aFloat('min', -Infinity);
        max = aFloat('max', Infinity);
      } else {
        if (has(1)) min = constAt(1, 'min').data[0]!;
        if (has(2)) max = constAt(2, 'max').data[0]!;
      }
      emitNode({ op: 'clip', inputs: [irInput(0)], outputs: [out], attrs: { min, max } });
      return;
    }
    case 'Pad': {
      const x = shapeAt(0);
      const rank = x.length;
      const modeName = aStr('mode', 'constant');
      const mode = ONNX_PAD_MODES[modeName];
      if (!mode) fail(`pad mode "${modeName}" is not supported; expected one of ${Object.keys(ONNX_PAD_MODES).join(', ')}`);
      let pads: number[];
      let value = 0;
      if (ctx.opset < 11) {
        pads = aInts('pads') ?? aInts('paddings') ?? [];
        value = aFloat('value', 0);
      } else {
        pads = ints(constAt(1, 'pads'));
        if (has(2)) value = constAt(2, 'constant_value').data[0]!;
        if (has(3)) {
          // opset 18 axes: pads only for the listed axes.
          const axes = ints(constAt(3, 'axes')).map((a) => (a < 0 ? a + rank : a));
          const full = new Array<number>(2 * rank).fill(0);
          axes.forEach((a, i) => {
            full[a] = pads[i]!;
            full[a + rank] = pads[i + axes.length]!;
          });
          pads = full;
        }
      }
      if (pads.length !== 2 * rank) fail(`expected ${2 * rank} pads for a rank-${rank} input but received ${pads.length}`);
      for (let a = 0; a < rank - 2; a++) if (pads[a] !== 0 || pads[a + rank] !== 0) fail('padding of dimensions other than the last two is not supported');
      const p: Pads = { top: pads[rank - 2]!, left: pads[rank - 1]!, bottom: pads[2 * rank - 2]!, right: pads[2 * rank - 1]! };
      if (p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0) {
        alias(0);
        return;
      }
      emitNode({ op: 'pad', inputs: [irInput(0)], outputs: [out], attrs: { pads: p, mode: mode!, value } });
      return;
    }
    case 'Resize':
    case 'Upsample': {
      const x = shapeAt(0);
      if (x.length !== 4) fail(`only 4-d (NCHW) inputs are supported (input ${formatShape(x)})`);
      const modeName = aStr('mode', 'nearest');
      const mode = ONNX_RESIZE_MODES[modeName];
      if (!mode) fail(`mode "${modeName}" is not supported; expected nearest or linear`);
      let coordinateMode: CoordinateMode;
      let nearestRounding: NearestRounding;
      let scales: number[] | null = null;
      let sizes: number[] | null = null;
      if (n.opType === 'Upsample' || ctx.opset < 11) {
        // Upsample and Resize-10: output = floor(input · scale), x_in = x_out / scale, nearest takes the floor.
        coordinateMode = 'asymmetric';
        nearestRounding = 'floor';
        // Upsample-7 carries the scales as an attribute; Upsample-9 and Resize-10 as input 1.
        scales = n.opType === 'Upsample' && ctx.opset < 9 ? aInts('scales') : Array.from(constAt(1, 'scales').data);
      } else {
        const ctm = aStr('coordinate_transformation_mode', 'half_pixel');
        const cm = ONNX_COORDINATE_MODES[ctm];
        if (!cm) fail(`coordinate_transformation_mode "${ctm}" is not supported; expected one of ${Object.keys(ONNX_COORDINATE_MODES).join(', ')}`);
        coordinateMode = cm!;
        const nm = aStr('nearest_mode', 'round_prefer_floor');
        const nr = ONNX_NEAREST_MODES[nm];
        if (!nr) fail(`nearest_mode "${nm}" is not supported`);
        nearestRounding = nr!;
        if (aInt('antialias', 0) !== 0) fail('antialias is not supported');
        if (aStr('keep_aspect_ratio_policy', 'stretch') !== 'stretch') fail('keep_aspect_ratio_policy other than stretch is not supported');
        if (aInts('axes') !== null) fail('the axes attribute is not supported');
        if (has(3)) sizes = ints(constAt(3, 'sizes'));
        else if (has(2) && constAt(2, 'scales').data.length > 0) scales = Array.from(constAt(2, 'scales').data);
        else fail('expected scales or sizes');
      }
      let target: ResizeAttrs['target'];
      if (sizes) {
        if (sizes.length !== 4 || sizes[0] !== x[0] || sizes[1] !== x[1]) fail(`only H and W can be resized (input ${formatShape(x)}, sizes ${formatShape(sizes)})`);
        target = { kind: 'size', size: [sizes[2]!, sizes[3]!] };
      } else {
        if (!scales || scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1) fail(`only H and W can be scaled (scales [${scales?.join(', ')}])`);
        target = { kind: 'scale', scale: [scales![2]!, scales![3]!] };
      }
      emitNode({ op: 'resize', inputs: [irInput(0)], outputs: [out], attrs: { mode: mode!, coordinateMode, nearestRounding, target } });
      return;
    }
    default:
      fail('unsupported operator');
  }
}

function pair(v: number[] | null, dflt: number): [number, number] {
  if (!v || v.length === 0) return [dflt, dflt];
  return [v[0]!, v[1] ?? v[0]!];
}

/** SAME padding with a stride > 1 depends on the input size modulo the stride. */
function sameDependsOnSize(autoPad: string, stride: [number, number]): boolean {
  return (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') && (stride[0] > 1 || stride[1] > 1);
}

/** Pads of a conv/pool from `auto_pad` and `pads` ([top, left, bottom, right]); ONNX Conv/MaxPool spec. */
function convPads(
  autoPad: string,
  pads: number[] | null,
  input: [number, number],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
  fail: (why: string) => never,
): Pads {
  if (autoPad === 'NOTSET') {
    const p = pads ?? [0, 0, 0, 0];
    if (p.length !== 4) fail(`expected 4 pads for a 2-d op but received ${p.length}`);
    return { top: p[0]!, left: p[1]!, bottom: p[2]!, right: p[3]! };
  }
  if (autoPad === 'VALID') return { top: 0, left: 0, bottom: 0, right: 0 };
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') fail(`auto_pad "${autoPad}" is not supported`);
  const side = (a: 0 | 1): [number, number] => {
    const out = Math.ceil(input[a] / stride[a]);
    const total = Math.max((out - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 - input[a], 0);
    const small = Math.floor(total / 2);
    // SAME_UPPER puts the odd extra at the end (as PyTorch 'same'), SAME_LOWER at the beginning.
    return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
  };
  const [top, bottom] = side(0);
  const [left, right] = side(1);
  return { top, bottom, left, right };
}
