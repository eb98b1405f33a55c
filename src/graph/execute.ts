/**
 * The single-thread graph executor: runs a graph node by node on the kernels of a `Backend` (the plain-TS
 * reference kernels by default). It is the oracle the pooled session is tested against, so it favours clarity:
 * every node allocates its output, and values are dropped after their last reader.
 *
 * The graph is validated once up front (`inferShapes`: structure, shapes, output sizes); the loop below then only
 * computes geometry and calls kernels (STYLE rule 2).
 */
import { invalidParameter, invalidType } from '../errors.js';
import type { Backend } from '../ops/backend.js';
import { getBackend } from '../ops/backend.js';
import type { ActivationKind, Pads } from '../ops/geometry.js';
import { conv2dGeometry, convTranspose2dGeometry, interpolateScale, pool2dGeometry } from '../ops/geometry.js';
import { Tensor, shapeSize, contiguousStrides } from '../tensor/tensor.js';
import type { Model } from '../models/model.js';
import type { CoordinateMode, FusedActivation, Graph, GraphNode, NearestRounding, NodeOf, ResizeAttrs } from './ir.js';
import { nodeLabel } from './ir.js';
import { inferShapes, normalizeAxis, topologicalOrder } from './graph.js';

/** Options of {@link runGraph}. */
export interface RunGraphOptions {
  /** Kernel backend by name; default: the current default backend. */
  backend?: string;
  /** Extra values to return besides the graph outputs (intermediate activations, for layer-by-layer checks). */
  outputs?: readonly string[];
}

/** Graph inputs: one tensor (single-input graphs), tensors in `graph.inputs` order, or tensors by name. */
export type GraphInputs = Tensor | readonly Tensor[] | Record<string, Tensor>;

/**
 * Run a model (or a bare graph) on the given inputs.
 * @returns the graph outputs by name (in `graph.outputs` order), then the requested extra values
 * @throws {TypeError} ERR_INVALID_ARG_TYPE when an input is not a Tensor
 * @throws {RangeError} ERR_SHAPE_MISMATCH / ERR_OUTPUT_SIZE for inputs the graph cannot take (naming the node)
 * @throws {UnetError} ERR_GRAPH for a malformed graph
 */
export function runGraph(model: Model | Graph, inputs: GraphInputs, options: RunGraphOptions = {}): Record<string, Tensor> {
  let graph: Graph = 'graph' in model ? model.graph : model;
  const backend = getBackend(options.backend);
  let feeds = bindInputs(graph, inputs);
  if ('graph' in model && model.specialize && needsSpecialization(graph, feeds)) {
    // A graph imported for one input shape (sizes folded to constants): import it for this one.
    graph = specialized(model, feeds.get(graph.inputs[0]!.name)!.shape);
    feeds = bindInputs(graph, inputs);
  }
  const shapes = inferShapes(graph, Object.fromEntries([...feeds].map(([k, t]) => [k, t.shape])));
  const order = topologicalOrder(graph);

  // Reference counts so intermediate values are released after their last reader.
  const readers = new Map<string, number>();
  for (const n of order) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const extra = options.outputs ?? [];
  for (const name of extra) {
    if (!shapes.has(name)) throw invalidParameter('runGraph', 'outputs', 'names of values in the graph', { raw: JSON.stringify(name) });
  }
  const keep = new Set([...graph.outputs, ...extra]);

  const values = new Map<string, Tensor>(feeds);
  const get = (name: string): Tensor => values.get(name) ?? graph.initializers.get(name)!;
  for (const node of order) {
    const ins = node.inputs.map(get);
    const outShape = shapes.get(node.outputs[0]!)!;
    const out = runNode(backend, node, ins, outShape);
    values.set(node.outputs[0]!, out);
    for (const i of node.inputs) {
      const left = readers.get(i)! - 1;
      readers.set(i, left);
      if (left === 0 && !keep.has(i) && !feeds.has(i)) values.delete(i);
    }
  }
  const result: Record<string, Tensor> = {};
  for (const o of keep) result[o] = get(o);
  return result;
}

/** True when a concrete declared input dimension differs from the given tensor's. */
function needsSpecialization(graph: Graph, feeds: Map<string, Tensor>): boolean {
  return graph.inputs.some((vi) => {
    const t = feeds.get(vi.name)!;
    return vi.shape.length !== t.rank || vi.shape.some((d, i) => d !== null && d !== t.shape[i]);
  });
}

const specializations = new WeakMap<Model, Map<string, Graph>>();

/**
 * The graph of `model` for a single input of `shape`: the model's own graph, or for models imported for one input
 * shape (`model.specialize`), the graph specialized for this shape (remembered per model and shape).
 */
export function graphForShape(model: Model, shape: readonly number[]): Graph {
  const g = model.graph;
  const vi = g.inputs[0];
  if (!model.specialize || !vi || (vi.shape.length === shape.length && vi.shape.every((d, i) => d === null || d === shape[i]))) return g;
  return specialized(model, shape);
}

function specialized(model: Model, shape: readonly number[]): Graph {
  let byShape = specializations.get(model);
  if (!byShape) specializations.set(model, (byShape = new Map()));
  const key = shape.join('x');
  let g = byShape.get(key);
  if (!g) {
    g = model.specialize!(shape).graph;
    byShape.set(key, g);
  }
  return g;
}

function bindInputs(graph: Graph, inputs: GraphInputs): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  if (inputs instanceof Tensor) {
    if (graph.inputs.length !== 1) throw invalidParameter('runGraph', 'inputs', `${graph.inputs.length} tensors (the graph has several inputs)`, { raw: 'one tensor' });
    feeds.set(graph.inputs[0]!.name, inputs);
  } else if (Array.isArray(inputs)) {
    if (inputs.length !== graph.inputs.length) throw invalidParameter('runGraph', 'inputs', `${graph.inputs.length} tensor(s)`, { raw: `${inputs.length}` });
    graph.inputs.forEach((vi, k) => feeds.set(vi.name, inputs[k]!));
  } else if (typeof inputs === 'object' && inputs !== null) {
    for (const vi of graph.inputs) {
      const t = (inputs as Record<string, Tensor>)[vi.name];
      if (t === undefined) throw invalidType('runGraph', `inputs['${vi.name}']`, 'a Tensor (graph input)', t);
      feeds.set(vi.name, t);
    }
  } else {
    throw invalidType('runGraph', 'inputs', 'a Tensor, an array of Tensors or an object of Tensors by input name', inputs);
  }
  for (const [name, t] of feeds) if (!(t instanceof Tensor)) throw invalidType('runGraph', `inputs['${name}']`, 'a Tensor', t);
  return feeds;
}

const ACTIVATION_KIND: Record<Exclude<FusedActivation['kind'], 'none'>, ActivationKind> = {
  relu: 'relu',
  leakyRelu: 'leakyRelu',
  sigmoid: 'sigmoid',
};

function applyActivation(backend: Backend, act: FusedActivation, t: Tensor): Tensor {
  if (act.kind === 'none') return t;
  const out = new Tensor(t.shape);
  backend.activation({ kind: ACTIVATION_KIND[act.kind], size: t.size, negativeSlope: act.kind === 'leakyRelu' ? act.slope : 0 }, t.data, out.data);
  return out;
}

function isSymmetric(p: Pads): boolean {
  return p.top === p.bottom && p.left === p.right;
}

function padTensor(backend: Backend, x: Tensor, pad: Pads, mode: 'constant' | 'reflect' | 'replicate' | 'circular', value: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Tensor([n, c, h + pad.top + pad.bottom, w + pad.left + pad.right]);
  backend.pad({ planes: n * c, inH: h, inW: w, outH: out.shape[2]!, outW: out.shape[3]!, pad, mode, value }, x.data, out.data);
  return out;
}

/** Compute one node. `outShape` comes from shape inference. */
export function runNode(backend: Backend, node: GraphNode, ins: Tensor[], outShape: readonly number[]): Tensor {
  const where = nodeLabel(node);
  const x = ins[0]!;
  switch (node.op) {
    case 'conv2d': {
      const a = node.attrs;
      let input = x;
      let pads = a.pads;
      let mode = a.paddingMode;
      if (!isSymmetric(pads)) {
        // Asymmetric padding (ONNX pads, 'same' with an even kernel): pad explicitly, then a valid convolution.
        input = padTensor(backend, x, pads, mode === 'zeros' ? 'constant' : mode, 0);
        pads = { top: 0, bottom: 0, left: 0, right: 0 };
        mode = 'zeros';
      }
      const g = conv2dGeometry(where, {
        x: input.shape, w: ins[1]!.shape, stride: a.stride, dilation: a.dilation,
        padding: { kind: 'explicit', h: pads.top, w: pads.left }, groups: a.groups, paddingMode: mode,
      });
      const out = new Tensor(outShape);
      backend.conv2d(g, input.data, ins[1]!.data, ins[2]?.data ?? null, out.data);
      return applyActivation(backend, a.activation, out);
    }
    case 'convTranspose2d': {
      const a = node.attrs;
      const g = convTranspose2dGeometry(where, {
        x: x.shape, w: ins[1]!.shape, stride: a.stride, padding: a.padding, outputPadding: a.outputPadding,
        dilation: a.dilation, groups: a.groups,
      });
      const out = new Tensor(outShape);
      backend.convTranspose2d(g, x.data, ins[1]!.data, ins[2]?.data ?? null, out.data);
      return applyActivation(backend, a.activation, out);
    }
    case 'maxPool2d': {
      const a = node.attrs;
      const g = pool2dGeometry(where, { x: x.shape, kernel: a.kernelSize, stride: a.stride, padding: a.padding, dilation: a.dilation, ceilMode: a.ceilMode });
      const out = new Tensor(outShape);
      backend.maxPool2d(g, x.data, out.data);
      return out;
    }
    case 'avgPool2d': {
      const a = node.attrs;
      const g = pool2dGeometry(where, { x: x.shape, kernel: a.kernelSize, stride: a.stride, padding: a.padding, dilation: [1, 1], ceilMode: a.ceilMode });
      const out = new Tensor(outShape);
      backend.avgPool2d(g, x.data, out.data, a.countIncludePad, a.divisorOverride ?? 0);
      return out;
    }
    case 'globalAvgPool': {
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const out = new Tensor(outShape);
      const plane = h * w;
      for (let p = 0; p < n * c; p++) {
        let s = 0;
        for (let i = p * plane, e = i + plane; i < e; i++) s += x.data[i]!;
        out.data[p] = s / plane;
      }
      return out;
    }
    case 'batchNorm': {
      const { scale, shift } = batchNormAffine(ins[1]!.data, ins[2]!.data, ins[3]!.data, ins[4]!.data, node.attrs.eps);
      const out = new Tensor(outShape);
      backend.channelAffine({ batch: x.shape[0]!, channels: x.shape[1]!, spatial: shapeSize(x.shape.slice(2)) }, x.data, scale, shift, out.data);
      return out;
    }
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'leakyRelu': {
      const out = new Tensor(outShape);
      const slope = node.op === 'leakyRelu' ? node.attrs.slope : 0;
      backend.activation({ kind: node.op, size: x.size, negativeSlope: slope }, x.data, out.data);
      return out;
    }
    case 'clip': {
      const out = new Tensor(outShape);
      const { min, max } = node.attrs;
      for (let i = 0; i < x.size; i++) {
        const v = x.data[i]!;
        out.data[i] = v < min ? min : v > max ? max : v;
      }
      return out;
    }
    case 'identity':
      return new Tensor(outShape, x.data.slice());
    case 'softmax':
      return softmax(backend, node, x, outShape);
    case 'concat':
      return concat(node, ins, outShape);
    case 'pad':
      return padTensor(backend, x, node.attrs.pads, node.attrs.mode, node.attrs.value);
    case 'centerPad': {
      const dy = outShape[2]! - x.shape[2]!;
      const dx = outShape[3]! - x.shape[3]!;
      // milesial: F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]) (Python floor division)
      const top = Math.floor(dy / 2);
      const left = Math.floor(dx / 2);
      return padTensor(backend, x, { top, bottom: dy - top, left, right: dx - left }, 'constant', node.attrs.value);
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
      return binary(node.op, x, ins[1]!, outShape);
    case 'resize':
      return resize(backend, node.attrs, x, outShape);
  }
}

/** BatchNorm in eval mode as a per-channel affine map: scale = γ/√(var+eps), shift = β - mean·scale. */
export function batchNormAffine(
  gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array, eps: number,
): { scale: Float32Array; shift: Float32Array } {
  const c = gamma.length;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = gamma[i]! / Math.sqrt(variance[i]! + eps);
    scale[i] = s;
    shift[i] = beta[i]! - mean[i]! * s;
  }
  return { scale, shift };
}

function softmax(backend: Backend, node: NodeOf<'softmax'>, x: Tensor, outShape: readonly number[]): Tensor {
  const axis = normalizeAxis(nodeLabel(node), node.attrs.axis, x.rank);
  const out = new Tensor(outShape);
  const outer = shapeSize(x.shape.slice(0, axis));
  const len = x.shape[axis]!;
  const inner = shapeSize(x.shape.slice(axis + 1));
  if (axis === 1 || (axis === 0 && x.rank === 1)) {
    backend.softmax({ batch: outer, channels: len, spatial: inner }, x.data, out.data);
    return out;
  }
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let m = -Infinity;
      for (let k = 0; k < len; k++) m = Math.max(m, x.data[base + k * inner]!);
      let s = 0;
      for (let k = 0; k < len; k++) s += (out.data[base + k * inner] = Math.exp(x.data[base + k * inner]! - m));
      for (let k = 0; k < len; k++) out.data[base + k * inner]! /= s;
    }
  }
  return out;
}

function concat(node: NodeOf<'concat'>, ins: Tensor[], outShape: readonly number[]): Tensor {
  const axis = normalizeAxis(nodeLabel(node), node.attrs.axis, outShape.length);
  const out = new Tensor(outShape);
  const outer = shapeSize(outShape.slice(0, axis));
  const inner = shapeSize(outShape.slice(axis + 1));
  let o = 0;
  for (let b = 0; b < outer; b++) {
    for (const t of ins) {
      const len = t.shape[axis]! * inner;
      out.data.set(t.data.subarray(b * len, (b + 1) * len), o);
      o += len;
    }
  }
  return out;
}

function binary(op: 'add' | 'sub' | 'mul' | 'div', a: Tensor, b: Tensor, outShape: readonly number[]): Tensor {
  const out = new Tensor(outShape);
  const rank = outShape.length;
  // Broadcast strides (0 on broadcast dimensions), left-padded to the output rank.
  const bstr = (t: Tensor): number[] => {
    const s = contiguousStrides(t.shape);
    return outShape.map((_, i) => {
      const j = i - (rank - t.rank);
      return j < 0 || t.shape[j] === 1 ? 0 : s[j]!;
    });
  };
  const as = bstr(a);
  const bs = bstr(b);
  const idx = new Array<number>(rank).fill(0);
  const n = out.size;
  const f = op === 'add' ? (p: number, q: number) => p + q : op === 'sub' ? (p: number, q: number) => p - q : op === 'mul' ? (p: number, q: number) => p * q : (p: number, q: number) => p / q;
  let ai = 0;
  let bi = 0;
  for (let o = 0; o < n; o++) {
    out.data[o] = f(a.data[ai]!, b.data[bi]!);
    // Increment the multi-index (last dimension fastest), updating both source offsets.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      ai += as[d]!;
      bi += bs[d]!;
      if (idx[d]! < outShape[d]!) break;
      ai -= as[d]! * outShape[d]!;
      bi -= bs[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function resize(backend: Backend, a: ResizeAttrs, x: Tensor, outShape: readonly number[]): Tensor {
  const [n, c, inH, inW] = x.shape as [number, number, number, number];
  const [outH, outW] = [outShape[2]!, outShape[3]!];
  const out = new Tensor(outShape);
  const scales: [number, number] | null = a.target.kind === 'scale' ? a.target.scale : null;
  // PyTorch's own modes go through the backend's F.interpolate (torch's float32 index arithmetic).
  const torchNearest = a.mode === 'nearest' && a.coordinateMode === 'asymmetric' && a.nearestRounding === 'floor';
  const torchBilinear = a.mode === 'bilinear' && (a.coordinateMode === 'alignCorners' || a.coordinateMode === 'pytorchHalfPixel');
  if (torchNearest || torchBilinear) {
    const alignCorners = a.coordinateMode === 'alignCorners';
    const ratio = (i: number, o: number, s: number | undefined): number => interpolateScale(i, o, a.mode, alignCorners, s ?? null);
    backend.interpolate(
      {
        planes: n * c, inH, inW, outH, outW, mode: a.mode, alignCorners,
        scaleH: ratio(inH, outH, scales?.[0]), scaleW: ratio(inW, outW, scales?.[1]),
      },
      x.data,
      out.data,
    );
    return out;
  }
  // ONNX Resize for the remaining coordinate modes (Operators.md, Resize-13).
  const axis = (inSize: number, outSize: number, scale: number | undefined) => {
    const s = scale ?? outSize / inSize;
    const src = new Float64Array(outSize);
    for (let d = 0; d < outSize; d++) src[d] = sourceCoordinate(a.coordinateMode, d, inSize, outSize, s);
    return src;
  };
  const ys = axis(inH, outH, scales?.[0]);
  const xs = axis(inW, outW, scales?.[1]);
  const plane = inH * inW;
  let o = 0;
  if (a.mode === 'nearest') {
    const yi = Array.from(ys, (v) => clampIndex(roundNearest(v, a.nearestRounding), inH));
    const xi = Array.from(xs, (v) => clampIndex(roundNearest(v, a.nearestRounding), inW));
    for (let p = 0; p < n * c; p++) {
      for (let oy = 0; oy < outH; oy++) {
        const row = p * plane + yi[oy]! * inW;
        for (let ox = 0; ox < outW; ox++) out.data[o++] = x.data[row + xi[ox]!]!;
      }
    }
    return out;
  }
  for (let p = 0; p < n * c; p++) {
    for (let oy = 0; oy < outH; oy++) {
      const sy = Math.min(Math.max(ys[oy]!, 0), inH - 1);
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, inH - 1);
      const ly = sy - y0;
      for (let ox = 0; ox < outW; ox++) {
        const sx = Math.min(Math.max(xs[ox]!, 0), inW - 1);
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, inW - 1);
        const lx = sx - x0;
        const base = p * plane;
        const top = x.data[base + y0 * inW + x0]! * (1 - lx) + x.data[base + y0 * inW + x1]! * lx;
        const bottom = x.data[base + y1 * inW + x0]! * (1 - lx) + x.data[base + y1 * inW + x1]! * lx;
        out.data[o++] = top * (1 - ly) + bottom * ly;
      }
    }
  }
  return out;
}

/** Source coordinate of output index `d` (ONNX coordinate_transformation_mode). */
export function sourceCoordinate(mode: CoordinateMode, d: number, inSize: number, outSize: number, scale: number): number {
  switch (mode) {
    case 'alignCorners':
      return outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
    case 'asymmetric':
      return d / scale;
    case 'halfPixel':
      return (d + 0.5) / scale - 0.5;
    case 'pytorchHalfPixel':
      return outSize > 1 ? (d + 0.5) / scale - 0.5 : 0;
  }
}

function roundNearest(v: number, r: NearestRounding): number {
  switch (r) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'roundPreferFloor':
      return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v);
    case 'roundPreferCeil':
      return Math.round(v);
  }
}

function clampIndex(i: number, size: number): number {
  return i < 0 ? 0 : i >= size ? size - 1 : i;
}
