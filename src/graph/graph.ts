/**
 * Graph structure checks, topological order and shape inference.
 *
 * The graph is validated here, once (STYLE rule 2): executors and kernels assume a graph that passed
 * `topologicalOrder` and `inferShapes`.
 */
import { ErrorCode, UnetError, formatShape, shapeMismatch, outputTooSmall } from '../errors.js';
import { convOutSize, convTransposeOutSize, poolOutSize } from '../ops/geometry.js';
import type { Graph, GraphNode, SerializedGraph } from './ir.js';
import { nodeLabel } from './ir.js';

/** An `ERR_GRAPH` error (not a DAG, missing value, duplicate names). */
export function graphError(message: string): UnetError {
  return new UnetError(ErrorCode.GRAPH, `graph: ${message}`);
}

/**
 * The nodes in an order where every node comes after the producers of its inputs (Kahn's algorithm, stable: ties
 * keep the order of `graph.nodes`).
 * @param initializers names of weights/constants (values no node produces)
 * @throws {UnetError} ERR_GRAPH naming the nodes of a cycle, a node reading a value nothing produces, a value
 *   produced twice, a duplicate node name, or a graph output nothing produces
 */
export function topologicalOrder(graph: SerializedGraph, initializers: Iterable<string> = (graph as Partial<Graph>).initializers?.keys() ?? []): GraphNode[] {
  const available = new Set<string>(initializers);
  for (const i of graph.inputs) available.add(i.name);
  const producer = new Map<string, GraphNode>();
  const names = new Set<string>();
  for (const n of graph.nodes) {
    if (names.has(n.name)) throw graphError(`two nodes are named '${n.name}'`);
    names.add(n.name);
    for (const o of n.outputs) {
      const prev = producer.get(o);
      if (prev) throw graphError(`value '${o}' is produced by both ${nodeLabel(prev)} and ${nodeLabel(n)}`);
      if (available.has(o)) throw graphError(`${nodeLabel(n)} writes '${o}', which is a graph input or an initializer`);
      producer.set(o, n);
    }
  }
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!available.has(i) && !producer.has(i)) {
        throw graphError(`${nodeLabel(n)} reads '${i}', which no node produces and is neither a graph input nor an initializer`);
      }
    }
  }
  for (const o of graph.outputs) {
    if (!available.has(o) && !producer.has(o)) throw graphError(`graph output '${o}' is produced by no node`);
  }
  // Kahn: count unresolved inputs per node.
  const pending = new Map<GraphNode, number>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    let count = 0;
    for (const i of new Set(n.inputs)) {
      if (producer.has(i)) {
        count++;
        let list = consumers.get(i);
        if (!list) consumers.set(i, (list = []));
        list.push(n);
      }
    }
    pending.set(n, count);
  }
  const position = new Map(graph.nodes.map((n, i) => [n, i] as const));
  // Stable: always take the earliest ready node in the original order (a binary min-heap of positions, so
  // hostile graphs with many independent nodes stay O(n log n)).
  const ready = new MinHeap();
  graph.nodes.forEach((n, i) => pending.get(n) === 0 && ready.push(i));
  const order: GraphNode[] = [];
  while (ready.size > 0) {
    const n = graph.nodes[ready.pop()]!;
    order.push(n);
    for (const o of n.outputs) {
      for (const c of consumers.get(o) ?? []) {
        const left = pending.get(c)! - 1;
        pending.set(c, left);
        if (left === 0) ready.push(position.get(c)!);
      }
    }
  }
  if (order.length < graph.nodes.length) {
    const cycle = findCycle(graph.nodes.filter((n) => pending.get(n)! > 0), producer);
    throw graphError(`the graph has a cycle through ${cycle.map(nodeLabel).join(' → ')}`);
  }
  return order;
}

/** A binary min-heap of integers. */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= a.length) break;
        if (c + 1 < a.length && a[c + 1]! < a[c]!) c++;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/** One cycle among `remaining` (nodes Kahn could not order), in dependency order. */
function findCycle(remaining: GraphNode[], producer: Map<string, GraphNode>): GraphNode[] {
  const inRemaining = new Set(remaining);
  const state = new Map<GraphNode, 1 | 2>();
  const stack: GraphNode[] = [];
  const visit = (n: GraphNode): GraphNode[] | null => {
    state.set(n, 1);
    stack.push(n);
    for (const i of n.inputs) {
      const p = producer.get(i);
      if (!p || !inRemaining.has(p)) continue;
      if (state.get(p) === 1) {
        // Data-flow order, starting from the node listed first.
        const cycle = stack.slice(stack.indexOf(p)).reverse();
        const first = cycle.reduce((best, c, k) => (remaining.indexOf(c) < remaining.indexOf(cycle[best]!) ? k : best), 0);
        return [...cycle.slice(first), ...cycle.slice(0, first)];
      }
      if (state.get(p) === undefined) {
        const found = visit(p);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of remaining) {
    if (state.get(n) === undefined) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return remaining;
}

/** Map each value to the nodes reading it (graph outputs count as a reader `null`). */
export function consumersOf(graph: SerializedGraph): Map<string, (GraphNode | null)[]> {
  const m = new Map<string, (GraphNode | null)[]>();
  const add = (v: string, n: GraphNode | null) => {
    let l = m.get(v);
    if (!l) m.set(v, (l = []));
    l.push(n);
  };
  for (const n of graph.nodes) for (const i of n.inputs) add(i, n);
  for (const o of graph.outputs) add(o, null);
  return m;
}

/** Resolve `axis` (negative from the end) against a rank. */
export function normalizeAxis(where: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw shapeMismatch(where, `axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** NumPy broadcasting of two shapes, or null if they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Shapes of every value for given input shapes (initializers included), in topological order.
 * @param inputShapes by graph input name, or one shape for a single-input graph
 * @throws {RangeError} ERR_SHAPE_MISMATCH naming the node and both shapes; ERR_OUTPUT_SIZE when a layer's output
 *   would be empty
 * @throws {UnetError} ERR_GRAPH for structural problems (see {@link topologicalOrder})
 */
export function inferShapes(graph: Graph, inputShapes: Record<string, readonly number[]> | readonly number[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const [k, t] of graph.initializers) shapes.set(k, t.shape.slice());
  let byName: Record<string, readonly number[]>;
  if (Array.isArray(inputShapes)) {
    if (graph.inputs.length !== 1) throw graphError(`the graph has ${graph.inputs.length} inputs; pass shapes by input name`);
    byName = { [graph.inputs[0]!.name]: inputShapes as readonly number[] };
  } else {
    byName = inputShapes as Record<string, readonly number[]>;
  }
  for (const vi of graph.inputs) {
    const s = byName[vi.name];
    if (!s) throw graphError(`no shape given for graph input '${vi.name}'`);
    if (s.length !== vi.shape.length || vi.shape.some((d, i) => d !== null && d !== s[i])) {
      throw shapeMismatch(`input[${vi.name}]`, `expected a shape like ${fmtDims(vi.shape)} but received ${formatShape(s)}`);
    }
    shapes.set(vi.name, s.slice());
  }
  for (const node of topologicalOrder(graph)) {
    const ins = node.inputs.map((i) => shapes.get(i)!);
    const outs = inferNode(node, ins);
    node.outputs.forEach((o, k) => shapes.set(o, outs[k]!));
  }
  return shapes;
}

function fmtDims(d: readonly (number | null)[]): string {
  return `[${d.map((x) => (x === null ? '?' : String(x))).join(',')}]`;
}

function need4d(where: string, what: string, s: readonly number[]): void {
  if (s.length !== 4) throw shapeMismatch(where, `expected a 4-d ${what} (NCHW) but received ${formatShape(s)}`);
}

/** Output shapes of one node from its input shapes. */
export function inferNode(node: GraphNode, ins: readonly (readonly number[])[]): number[][] {
  const where = nodeLabel(node);
  const x = ins[0]!;
  switch (node.op) {
    case 'conv2d': {
      const w = ins[1]!;
      need4d(where, 'input', x);
      if (w.length !== 4) throw shapeMismatch(where, `expected a 4-d weight [Cout, Cin/groups, kH, kW] but received ${formatShape(w)}`);
      const g = node.attrs.groups;
      if (x[1] !== w[1]! * g) {
        throw shapeMismatch(where, `input has ${x[1]} channels but weight expects ${w[1]}×groups(${g}) (x=${formatShape(x)}, w=${formatShape(w)})`);
      }
      if (w[0]! % g !== 0) throw shapeMismatch(where, `weight has ${w[0]} output channels, not divisible by groups(${g}) (w=${formatShape(w)})`);
      checkBias(where, ins[2], w[0]!, w);
      const { pads, stride, dilation } = node.attrs;
      const oh = convOutSize(x[2]!, w[2]!, stride[0], dilation[0], pads.top, pads.bottom);
      const ow = convOutSize(x[3]!, w[3]!, stride[1], dilation[1], pads.left, pads.right);
      if (oh < 1 || ow < 1) {
        throw outputTooSmall(where, `output size is too small: input ${formatShape(x)} with weight ${formatShape(w)} gives (${oh}, ${ow})`);
      }
      return [[x[0]!, w[0]!, oh, ow]];
    }
    case 'convTranspose2d': {
      const w = ins[1]!;
      need4d(where, 'input', x);
      if (w.length !== 4) throw shapeMismatch(where, `expected a 4-d weight [Cin, Cout/groups, kH, kW] but received ${formatShape(w)}`);
      const g = node.attrs.groups;
      if (x[1] !== w[0]) {
        throw shapeMismatch(where, `input has ${x[1]} channels but weight expects ${w[0]} (x=${formatShape(x)}, w=${formatShape(w)})`);
      }
      const cout = w[1]! * g;
      checkBias(where, ins[2], cout, w);
      const { stride, padding, outputPadding, dilation } = node.attrs;
      const oh = convTransposeOutSize(x[2]!, w[2]!, stride[0], dilation[0], padding[0], outputPadding[0]);
      const ow = convTransposeOutSize(x[3]!, w[3]!, stride[1], dilation[1], padding[1], outputPadding[1]);
      if (oh < 1 || ow < 1) throw outputTooSmall(where, `output size is too small: input ${formatShape(x)} gives (${oh}, ${ow})`);
      return [[x[0]!, cout, oh, ow]];
    }
    case 'maxPool2d':
    case 'avgPool2d': {
      need4d(where, 'input', x);
      const a = node.attrs;
      const dil = node.op === 'maxPool2d' ? node.attrs.dilation : ([1, 1] as [number, number]);
      const oh = poolOutSize(x[2]!, a.kernelSize[0], a.stride[0], dil[0], a.padding[0], a.ceilMode);
      const ow = poolOutSize(x[3]!, a.kernelSize[1], a.stride[1], dil[1], a.padding[1], a.ceilMode);
      if (oh < 1 || ow < 1) {
        throw outputTooSmall(where, `output size is too small: input ${formatShape(x)} with kernel (${a.kernelSize.join(', ')}) gives (${oh}, ${ow})`);
      }
      return [[x[0]!, x[1]!, oh, ow]];
    }
    case 'globalAvgPool':
      need4d(where, 'input', x);
      return [[x[0]!, x[1]!, 1, 1]];
    case 'batchNorm': {
      if (x.length < 2) throw shapeMismatch(where, `expected an input with a channel axis but received ${formatShape(x)}`);
      const names = ['weight', 'bias', 'runningMean', 'runningVar'];
      for (let k = 1; k <= 4; k++) {
        const p = ins[k]!;
        if (p.length !== 1 || p[0] !== x[1]) {
          throw shapeMismatch(where, `input has ${x[1]} channels but ${names[k - 1]} has shape ${formatShape(p)} (x=${formatShape(x)})`);
        }
      }
      return [x.slice()];
    }
    case 'relu':
    case 'leakyRelu':
    case 'sigmoid':
    case 'tanh':
    case 'clip':
    case 'identity':
      return [x.slice()];
    case 'softmax':
      normalizeAxis(where, node.attrs.axis, x.length);
      return [x.slice()];
    case 'concat': {
      const axis = normalizeAxis(where, node.attrs.axis, x.length);
      const out = x.slice();
      for (let k = 1; k < ins.length; k++) {
        const s = ins[k]!;
        if (s.length !== x.length || s.some((d, i) => i !== axis && d !== x[i])) {
          throw shapeMismatch(where, `input ${k} has shape ${formatShape(s)} but input 0 has ${formatShape(x)}; all dimensions except axis ${axis} must match`);
        }
        out[axis]! += s[axis]!;
      }
      return [out];
    }
    case 'pad': {
      need4d(where, 'input', x);
      const p = node.attrs.pads;
      const oh = x[2]! + p.top + p.bottom;
      const ow = x[3]! + p.left + p.right;
      if (oh < 1 || ow < 1) throw outputTooSmall(where, `padding (${p.top}, ${p.bottom}, ${p.left}, ${p.right}) leaves nothing of input ${formatShape(x)}`);
      if (node.attrs.mode === 'reflect' && (Math.max(p.top, p.bottom) >= x[2]! || Math.max(p.left, p.right) >= x[3]!)) {
        throw shapeMismatch(where, `reflect padding (${p.top}, ${p.bottom}, ${p.left}, ${p.right}) must be smaller than the input size (x=${formatShape(x)})`);
      }
      return [[x[0]!, x[1]!, oh, ow]];
    }
    case 'centerPad': {
      need4d(where, 'input', x);
      const r = ins[1]!;
      if (!r || r.length !== 4) throw shapeMismatch(where, `expected a 4-d reference input but received ${r ? formatShape(r) : 'none'}`);
      return [[x[0]!, x[1]!, r[2]!, r[3]!]];
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'div': {
      const b = ins[1]!;
      const out = broadcastShapes(x, b);
      if (!out) throw shapeMismatch(where, `shapes ${formatShape(x)} and ${formatShape(b)} do not broadcast`);
      return [out];
    }
    case 'resize': {
      need4d(where, 'input', x);
      const t = node.attrs.target;
      let oh: number, ow: number;
      if (t.kind === 'size') [oh, ow] = t.size;
      else if (t.kind === 'scale') [oh, ow] = [Math.floor(x[2]! * t.scale[0]), Math.floor(x[3]! * t.scale[1])];
      else {
        const r = ins[1];
        if (!r || r.length < 2) throw shapeMismatch(where, `expected a reference input with at least 2 dimensions for the target size but received ${r ? formatShape(r) : 'none'}`);
        [oh, ow] = [r[r.length - 2]!, r[r.length - 1]!];
      }
      if (oh < 1 || ow < 1) throw outputTooSmall(where, `target size (${oh}, ${ow}) of input ${formatShape(x)} is empty`);
      return [[x[0]!, x[1]!, oh, ow]];
    }
  }
}

function checkBias(where: string, b: readonly number[] | undefined, cout: number, w: readonly number[]): void {
  if (b && (b.length !== 1 || b[0] !== cout)) {
    throw shapeMismatch(where, `weight has ${cout} output channels but bias has shape ${formatShape(b)} (w=${formatShape(w)})`);
  }
}
