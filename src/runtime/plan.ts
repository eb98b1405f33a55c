/**
 * The static memory plan and the step list of one input shape.
 *
 * - Steps follow the graph's topological order; every node becomes one step (an asymmetric-pad conv becomes a
 *   gather then a conv, exactly as the single-thread executor pads first). Identity-like nodes (identity, a
 *   centerPad that pads nothing) become aliases and cost nothing.
 * - Liveness: a value lives from the node that writes it to the last node that reads it (graph outputs to the
 *   end, the input from the start). Skip connections are therefore held until their concat and no longer.
 * - Offsets: values are placed largest first at the lowest 64-byte aligned offset that no value with an
 *   overlapping lifetime occupies (greedy interval packing). The arena size is the planned peak of one image.
 * - Fused concat: when a concat's pieces are contiguous in its output (everything before the concat axis is 1,
 *   e.g. channels of one image), an input written by a step of its own (not the graph input, not a weight, not
 *   another concat's buffer, not used twice in that concat or in an earlier fused concat) is placed directly at
 *   its slot of the concat's output: its producer writes there and the concat copies nothing for it. The
 *   concat's buffer then lives from its first member's producer to its last reader (readers of a member read it
 *   at its slot: the same bytes). A fused concat whose longer-held buffer would raise the arena above the
 *   unfused plan's is left unfused (longest-held first), so fusion never costs memory.
 * - Blocks: heavy layers are split into `participants × blocksPerParticipant` blocks along output rows (or
 *   output channels, in multiples of 4, when a map has too few rows); light layers by planes; small ones not at
 *   all. Blocks are claimed dynamically, so the same plan runs on one thread or on all of them.
 *
 * Weights are packed, and biases, BatchNorm affines and index tables written, into the shared memory once per
 * session through a {@link ConstantStore}; plans only hold their offsets.
 */
import { formatShape } from '../errors.js';
import { inferShapes, normalizeAxis, topologicalOrder } from '../graph/graph.js';
import { batchNormAffine } from '../graph/execute.js';
import type { Graph, GraphNode, NodeOf } from '../graph/ir.js';
import { nodeLabel } from '../graph/ir.js';
import {
  ACTIVATIONS, conv2dDescriptor, convTranspose2dDescriptor, convTranspose2dScratchBytes, directConv2dKernel, P_OUT, P_POOL, P_X, usesDepthwise,
} from '../kernels/index.js';
import type { KernelDescriptor, KernelMemory, WorkRange } from '../kernels/index.js';
import { linearAxis, nearestIndex, padSource } from '../kernels/backend.js';
import {
  chooseConvAlgorithm, packedWinogradFloats, packWinogradWeights, WINOGRAD_TILE, winogradConv2dDescriptor, winogradScratchBytes,
} from '../kernels/winograd.js';
import { packConv2dWeights, packConvTranspose2dWeights, packedConv2dFloats, packedConvTranspose2dFloats } from '../kernels/pack.js';
import type { Conv2dGeometry, ConvTranspose2dGeometry, Pads } from '../ops/geometry.js';
import { conv2dGeometry, convTranspose2dGeometry, pool2dGeometry } from '../ops/geometry.js';
import type { KernelBlock, Plan, Ref, Step, SplitAxis } from './protocol.js';

const ALIGN = 64;
/** Below this many multiply-adds a conv runs as one block (a split would cost more than it saves). */
const MIN_SPLIT_MACS = 1 << 20;
/** Below this many output elements a light layer runs as one block. */
const MIN_SPLIT_ELEMENTS = 1 << 16;

/** Weights and tables written once into the shared memory, cached by key. */
export class ConstantStore {
  private readonly cache = new Map<string, number>();
  private readonly ids = new WeakMap<Float32Array, number>();
  /** Bytes held. */
  bytes = 0;

  /**
   * A key for a weight array: by identity, so graphs that share a weight (re-specialized imports) share its
   * packing, and a different array under the same name never reuses another's bytes.
   */
  keyOf(data: Float32Array): string {
    let id = this.ids.get(data);
    if (id === undefined) {
      id = ++ConstantStore.counter;
      this.ids.set(data, id);
    }
    return `#${id}`;
  }
  private static counter = 0;

  constructor(readonly memory: KernelMemory) {}

  /** Offset of `floats` floats filled by `fill` under `key` (written on first use). */
  f32(key: string, floats: number, fill: (dst: Float32Array) => void): number {
    let off = this.cache.get(key);
    if (off === undefined) {
      off = this.memory.alloc(Math.max(floats, 1) * 4);
      this.bytes += Math.max(floats, 1) * 4;
      fill(this.memory.f32(off, floats));
      this.cache.set(key, off);
    }
    return off;
  }

  /** Offset of a copy of `data` under `key`. */
  array(key: string, data: Float32Array | Int32Array): number {
    let off = this.cache.get(key);
    if (off === undefined) {
      off = this.memory.alloc(Math.max(data.byteLength, 4));
      this.bytes += Math.max(data.byteLength, 4);
      new Uint8Array(this.memory.buffer, off, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.cache.set(key, off);
    }
    return off;
  }

  /** Release everything. */
  free(): void {
    for (const off of this.cache.values()) this.memory.free(off);
    this.cache.clear();
    this.bytes = 0;
  }
}

/** Options of {@link buildPlan}. */
export interface PlanOptions {
  /** Threads that may take part in one image. */
  readonly participants: number;
  /** Blocks per participant of a split layer (more blocks balance better, each costs a claim). */
  readonly blocksPerParticipant: number;
  /** 'exact': direct convs only (bit-identical to the single-thread executor); 'fast': Winograd where faster. */
  readonly precision: 'exact' | 'fast';
  /** Place concat inputs in their slots of the concat's output (default true); false keeps every concat a copy. */
  readonly fuseConcat?: boolean;
  /** Compute 2×2 stride-2 max pools in the output transform of the Winograd conv before them (default true). */
  readonly fusePool?: boolean;
}

/** What one plan step computes, for profiles (kept on the main thread; workers never receive it). */
export interface PlanStepInfo {
  /** Node name. */
  readonly node: string;
  /** The graph op (a conv's asymmetric padding shows as 'pad'). */
  readonly op: string;
  /** The step's kind (see ./protocol.ts). */
  readonly kind: Step['kind'];
  /** conv2d: 'direct', 'winograd' or 'depthwise'; convTranspose2d: 'direct'; otherwise null. */
  readonly algorithm: 'direct' | 'winograd' | 'depthwise' | null;
  /** Shape the step writes. */
  readonly outputShape: readonly number[];
  /** Floating-point operations of conv steps (2 per multiply-add); 0 for other steps. */
  readonly flops: number;
}

/** A plan plus where its input and outputs live in the arena. */
export interface PlanLayout {
  readonly plan: Plan;
  /** The input shape the plan runs (batch included). */
  readonly inputShape: readonly number[];
  readonly input: { readonly offset: number; readonly floats: number };
  /** Where each graph output lives: relative to the arena, or absolute (an output that is a weight). */
  readonly outputs: readonly { readonly name: string; readonly ref: Ref; readonly shape: readonly number[] }[];
  /** Arena bytes without the plan's reuse (sum of all values): what a naive executor would hold. */
  readonly unplannedBytes: number;
  /** One entry per plan step, same order. */
  readonly stepInfo: readonly PlanStepInfo[];
  /** Concats whose inputs were all placed in their slots (no step left). */
  readonly fusedConcats: number;
  /** Concats with some inputs placed in their slots (a copy step for the others). */
  readonly partlyFusedConcats: number;
  /** Max pools computed by the Winograd conv before them (no step). */
  readonly fusedPools: number;
}

interface Value {
  readonly name: string;
  readonly bytes: number;
  first: number;
  last: number;
  offset: number;
}

/** A concat whose output buffer holds some of its inputs at their slots. */
interface ConcatGroup {
  /** The concat's output value. */
  readonly out: string;
  /** Member value (a root) → byte offset of its slot in the output. */
  readonly members: ReadonlyMap<string, number>;
  /** Lifetime of the shared buffer. */
  readonly first: number;
  readonly last: number;
}

/** Greedy interval packing: largest first, lowest non-conflicting 64-byte aligned offset. Returns the peak. */
function pack(items: { readonly bytes: number; readonly first: number; readonly last: number; offset: number }[]): number {
  const placed: typeof items = [];
  let peak = 0;
  for (const v of items.slice().sort((a, b) => b.bytes - a.bytes || a.first - b.first)) {
    const busy = placed.filter((p) => p.first <= v.last && v.first <= p.last).sort((a, b) => a.offset - b.offset);
    let off = 0;
    for (const p of busy) {
      if (off + v.bytes <= p.offset) break;
      off = Math.max(off, p.offset + p.bytes);
    }
    v.offset = off;
    placed.push(v);
    peak = Math.max(peak, off + v.bytes);
  }
  return peak;
}

/** Even split of [0, n) into `blocks` ranges whose inner boundaries are multiples of `quantum`. */
export function splitRange(n: number, blocks: number, quantum = 1): number[] {
  const units = Math.ceil(n / quantum);
  const b = Math.max(1, Math.min(blocks, units));
  const r = [0];
  for (let i = 1; i < b; i++) r.push(Math.min(n, Math.round((units * i) / b) * quantum));
  r.push(n);
  return r;
}

/**
 * Build the plan of `inputShape` (batch included; the session plans one image and runs images on lanes).
 * Packs the weights it needs into `store` on first use.
 * @throws {RangeError} ERR_SHAPE_MISMATCH / ERR_OUTPUT_SIZE from shape inference, naming the node
 */
export function buildPlan(graph: Graph, inputShape: readonly number[], store: ConstantStore, options: PlanOptions): PlanLayout {
  const order = topologicalOrder(graph);
  const inputName = graph.inputs[0]!.name;
  const shapes = inferShapes(graph, { [inputName]: inputShape });
  const P = options.participants;
  const nBlocks = P <= 1 ? 1 : P * options.blocksPerParticipant;
  const inits = graph.initializers;

  // ---- values, aliases, liveness ------------------------------------------------------------------------------
  const alias = new Map<string, string>();
  const root = (name: string): string => {
    let r = name;
    while (alias.has(r)) r = alias.get(r)!;
    return r;
  };
  const values = new Map<string, Value>();
  const define = (name: string, shape: readonly number[], t: number): void => {
    values.set(name, { name, bytes: Math.max(ALIGN, Math.ceil((sizeOf(shape) * 4) / ALIGN) * ALIGN), first: t, last: t, offset: -1 });
  };
  const use = (name: string, t: number): void => {
    const v = values.get(root(name));
    if (v !== undefined) v.last = Math.max(v.last, t);
  };
  define(inputName, inputShape, -1);

  // Nodes that are pure aliases of their first input.
  const isAlias = (n: GraphNode): boolean => {
    if (n.op === 'identity') return true;
    if (n.op === 'centerPad') {
      const a = shapes.get(n.inputs[0]!)!;
      const o = shapes.get(n.outputs[0]!)!;
      return a[2] === o[2] && a[3] === o[3];
    }
    return false;
  };
  const needsPad = (n: GraphNode): boolean => n.op === 'conv2d' && !symmetric(n.attrs.pads);

  // Fused pools: a 2×2 stride-2 max pool (no padding, dilation or ceil mode) whose input a Winograd conv writes is
  // computed by that conv's output transform; the pool's output is born at the conv and the pool reads nothing.
  const poolOf = new Map<string, NodeOf<'maxPool2d'>>(); // conv node → its fused pool
  const fusedPoolAt = new Map<string, number>(); // pool node → order index of its conv
  if (options.fusePool !== false) {
    const producer = new Map<string, { node: GraphNode; t: number }>();
    order.forEach((node, t) => producer.set(node.outputs[0]!, { node, t }));
    for (const n of order) {
      if (n.op !== 'maxPool2d') continue;
      const a = n.attrs;
      const plain = a.kernelSize.every((k) => k === 2) && a.stride.every((s) => s === 2) && a.padding.every((p) => p === 0) &&
        a.dilation.every((d) => d === 1) && !a.ceilMode;
      const src = producer.get(n.inputs[0]!);
      if (!plain || src === undefined || src.node.op !== 'conv2d' || needsPad(src.node) || poolOf.has(src.node.name)) continue;
      const c = src.node;
      if (chooseConvAlgorithm(convGeometry(c, shapes.get(c.inputs[0]!)!, inits.get(c.inputs[1]!)!.shape), { precision: options.precision }) !== 'winograd') continue;
      poolOf.set(c.name, n);
      fusedPoolAt.set(n.name, src.t);
    }
  }

  order.forEach((n, t) => {
    const fusedAt = fusedPoolAt.get(n.name);
    if (fusedAt === undefined) for (const i of n.inputs) if (!inits.has(i)) use(i, t);
    if (isAlias(n) && !inits.has(n.inputs[0]!)) {
      alias.set(n.outputs[0]!, n.inputs[0]!);
      return;
    }
    if (needsPad(n)) {
      const x = shapes.get(n.inputs[0]!)!;
      const p = (n as NodeOf<'conv2d'>).attrs.pads;
      define(`${n.outputs[0]!}#pad`, [x[0]!, x[1]!, x[2]! + p.top + p.bottom, x[3]! + p.left + p.right], t);
    }
    define(n.outputs[0]!, shapes.get(n.outputs[0]!)!, fusedAt ?? t);
  });
  for (const o of graph.outputs) use(o, order.length);

  // ---- fused concats: inputs placed at their slots of the concat's output ----------------------------------------
  const candidates: ConcatGroup[] = [];
  if (options.fuseConcat !== false) {
    const taken = new Set<string>();
    for (const n of order) {
      if (n.op !== 'concat') continue;
      const outName = n.outputs[0]!;
      const outShape = shapes.get(outName)!;
      const axis = normalizeAxis(nodeLabel(n), n.attrs.axis, outShape.length);
      // Pieces are contiguous in the output only when nothing before the axis repeats them (N = 1 for channels).
      if (sizeOf(outShape.slice(0, axis)) !== 1) continue;
      const inner = sizeOf(outShape.slice(axis + 1));
      const roots = n.inputs.map((i) => (inits.has(i) ? null : root(i)));
      const members = new Map<string, number>();
      let off = 0;
      n.inputs.forEach((i, k) => {
        const r = roots[k] ?? null;
        const v = r === null ? undefined : values.get(r);
        const once = roots.indexOf(r) === roots.lastIndexOf(r);
        if (r !== null && v !== undefined && v.first >= 0 && once && !taken.has(r)) members.set(r, off);
        off += shapes.get(i)![axis]! * inner * 4;
      });
      if (members.size === 0) continue;
      const c = values.get(outName)!;
      let first = c.first;
      let last = c.last;
      for (const r of members.keys()) {
        taken.add(r);
        first = Math.min(first, values.get(r)!.first);
        last = Math.max(last, values.get(r)!.last);
      }
      taken.add(outName);
      candidates.push({ out: outName, members, first, last });
    }
  }

  // ---- offsets: largest first, lowest non-conflicting offset ------------------------------------------------------
  let unplanned = 0;
  for (const v of values.values()) unplanned += v.bytes;
  /** Pack with `groups` fused (each group one buffer); sets every value's offset; returns the arena bytes. */
  const place = (groups: readonly ConcatGroup[]): number => {
    const inGroup = new Set<string>();
    for (const g of groups) {
      inGroup.add(g.out);
      for (const r of g.members.keys()) inGroup.add(r);
    }
    const items: { bytes: number; first: number; last: number; offset: number; group?: ConcatGroup; value?: Value }[] = [];
    for (const v of values.values()) if (!inGroup.has(v.name)) items.push({ bytes: v.bytes, first: v.first, last: v.last, offset: -1, value: v });
    for (const g of groups) items.push({ bytes: values.get(g.out)!.bytes, first: g.first, last: g.last, offset: -1, group: g });
    const peak = pack(items);
    for (const it of items) {
      if (it.value !== undefined) it.value.offset = it.offset;
      if (it.group !== undefined) {
        values.get(it.group.out)!.offset = it.offset;
        for (const [r, slot] of it.group.members) values.get(r)!.offset = it.offset + slot;
      }
    }
    return peak;
  };
  let groups = candidates;
  let arenaBytes = place(groups);
  if (groups.length > 0) {
    const plainBytes = place([]);
    const held = (g: ConcatGroup): number => (g.last - g.first) * values.get(g.out)!.bytes;
    const byHold = groups.slice().sort((a, b) => held(b) - held(a));
    for (;;) {
      arenaBytes = place(groups);
      if (arenaBytes <= plainBytes) break;
      const drop = byHold.shift()!;
      groups = groups.filter((g) => g !== drop);
    }
  }
  const groupOf = new Map(groups.map((g) => [g.out, g]));
  const ref = (name: string): Ref => {
    const v = values.get(root(name));
    if (v !== undefined) return { a: 1, o: v.offset };
    const t = inits.get(name)!;
    return { a: 0, o: store.array(`init:${store.keyOf(t.data)}`, t.data) };
  };

  // ---- steps ----------------------------------------------------------------------------------------------------
  const steps: Step[] = [];
  const stepInfo: PlanStepInfo[] = [];
  let fusedConcats = 0;
  let partlyFusedConcats = 0;
  let fusedPools = 0;
  let scratchBytes = 64 * 1024;
  for (const node of order) {
    if (isAlias(node) && !inits.has(node.inputs[0]!)) continue;
    const where = nodeLabel(node);
    const outShape = shapes.get(node.outputs[0]!)!;
    const xShape = shapes.get(node.inputs[0]!)!;
    const out = ref(node.outputs[0]!);
    const firstStep = steps.length;
    switch (node.op) {
      case 'conv2d': {
        const a = node.attrs;
        let x = ref(node.inputs[0]!);
        let inShape = xShape;
        let pads = a.pads;
        let mode = a.paddingMode;
        if (!symmetric(pads)) {
          const padded = ref(`${node.outputs[0]!}#pad`);
          inShape = [xShape[0]!, xShape[1]!, xShape[2]! + pads.top + pads.bottom, xShape[3]! + pads.left + pads.right];
          steps.push(gatherStep(store, node.name, x, padded, xShape, inShape, pads, mode === 'zeros' ? 'constant' : mode, 0, nBlocks));
          x = padded;
          pads = { top: 0, bottom: 0, left: 0, right: 0 };
          mode = 'zeros';
        }
        const wT = inits.get(node.inputs[1]!)!;
        const g = convGeometry(node, inShape, wT.shape, pads, mode);
        const algorithm = chooseConvAlgorithm(g, { precision: options.precision });
        const fused = poolOf.get(node.name);
        const pooled = fused === undefined ? null : shapes.get(fused.outputs[0]!)!;
        const pool = pooled === null ? null : { out: ref(fused!.outputs[0]!), h: pooled[2]!, w: pooled[3]! };
        const w = algorithm === 'winograd'
          ? store.f32(`winograd:${store.keyOf(wT.data)}`, packedWinogradFloats(g), (dst) => packWinogradWeights(g, wT.data, dst))
          : store.f32(`conv:${store.keyOf(wT.data)}:${g.groups}:${usesDepthwise(g)}`, packedConv2dFloats(g), (dst) => packConv2dWeights(g, wT.data, dst));
        const bias = node.inputs[2] !== undefined ? store.array(`init:${store.keyOf(inits.get(node.inputs[2])!.data)}`, inits.get(node.inputs[2])!.data) : 0;
        scratchBytes = Math.max(scratchBytes, algorithm === 'winograd' ? winogradScratchBytes(g) : directConv2dKernel(g).scratchBytes);
        const macs = g.outChannels * g.outH * g.outW * g.inPerGroup * g.kernelH * g.kernelW * g.batch;
        const { axis, ranges } = convSplit(g, macs, nBlocks, P, algorithm === 'winograd' ? WINOGRAD_TILE : 1);
        const act = a.activation;
        const ep = { activation: act.kind, slope: act.kind === 'leakyRelu' ? act.slope : 0 };
        const blocks = planBlocks(ranges, axis, g.outChannels, g.outH, [x, out, pool?.out], (r) => algorithm === 'winograd'
          ? winogradConv2dDescriptor(g, x.o, w, bias, out.o, ep, r, undefined, pool === null ? undefined : { offset: pool.out.o, h: pool.h, w: pool.w })
          : conv2dDescriptor(g, x.o, w, bias, out.o, ep, r));
        steps.push({ kind: 'conv2d', algorithm, node: node.name, g, axis, ranges, x, out, w, bias, act: act.kind, slope: ep.slope, pool, blocks });
        break;
      }
      case 'convTranspose2d': {
        const a = node.attrs;
        const wT = inits.get(node.inputs[1]!)!;
        const g = convTranspose2dGeometry(where, {
          x: xShape, w: wT.shape, stride: a.stride, padding: a.padding, outputPadding: a.outputPadding, dilation: a.dilation, groups: a.groups,
        });
        const w = store.f32(`convT:${store.keyOf(wT.data)}:${g.groups}`, packedConvTranspose2dFloats(g), (dst) => packConvTranspose2dWeights(g, wT.data, dst));
        const bias = node.inputs[2] !== undefined ? store.array(`init:${store.keyOf(inits.get(node.inputs[2])!.data)}`, inits.get(node.inputs[2])!.data) : 0;
        scratchBytes = Math.max(scratchBytes, convTranspose2dScratchBytes(g));
        const macs = g.outChannels * g.outH * g.outW * g.inPerGroup * g.batch;
        const { axis, ranges } = convSplit(g, macs, nBlocks, P);
        const act = a.activation;
        const ep = { activation: act.kind, slope: act.kind === 'leakyRelu' ? act.slope : 0 };
        const x = ref(node.inputs[0]!);
        const blocks = planBlocks(ranges, axis, g.outChannels, g.outH, [x, out], (r) => convTranspose2dDescriptor(g, x.o, w, bias, out.o, ep, r));
        steps.push({ kind: 'convTranspose2d', node: node.name, g, axis, ranges, x, out, w, bias, act: act.kind, slope: ep.slope, blocks });
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        if (fusedPoolAt.has(node.name)) {
          fusedPools++;
          break;
        }
        const a = node.attrs;
        const g = pool2dGeometry(where, {
          x: xShape, kernel: a.kernelSize, stride: a.stride, padding: a.padding,
          dilation: node.op === 'maxPool2d' ? node.attrs.dilation : [1, 1], ceilMode: a.ceilMode,
        });
        const planes = g.batch * g.channels;
        const ranges = splitRange(planes, planes * g.outH * g.outW < MIN_SPLIT_ELEMENTS ? 1 : nBlocks);
        const avg = node.op === 'avgPool2d' ? node.attrs : null;
        steps.push({
          kind: node.op, node: node.name, g, ranges, x: ref(node.inputs[0]!), out,
          countIncludePad: avg?.countIncludePad ? 1 : 0, divisorOverride: avg?.divisorOverride ?? 0,
        });
        break;
      }
      case 'concat': {
        const axis = normalizeAxis(where, node.attrs.axis, outShape.length);
        const group = groupOf.get(node.outputs[0]!);
        if (group !== undefined) {
          // Fused: members are already at their slots; copy the others into theirs.
          const inner = sizeOf(outShape.slice(axis + 1));
          const src: Ref[] = [];
          const dst: Ref[] = [];
          const bytes: number[] = [];
          let o = 0;
          for (const i of node.inputs) {
            const len = shapes.get(i)![axis]! * inner * 4;
            if (inits.has(i) || !group.members.has(root(i))) {
              src.push(ref(i));
              dst.push({ a: out.a, o: out.o + o });
              bytes.push(len);
            }
            o += len;
          }
          if (src.length === 0) fusedConcats++;
          else {
            partlyFusedConcats++;
            steps.push({ kind: 'copy', node: node.name, ranges: splitRange(src.length, sizeOf(outShape) < MIN_SPLIT_ELEMENTS ? 1 : nBlocks), src, dst, bytes });
          }
          break;
        }
        const outer = sizeOf(outShape.slice(0, axis));
        const inner = sizeOf(outShape.slice(axis + 1));
        const src: Ref[] = [];
        const dst: Ref[] = [];
        const bytes: number[] = [];
        let o = out.o;
        for (let b = 0; b < outer; b++) {
          for (const i of node.inputs) {
            const len = shapes.get(i)![axis]! * inner * 4;
            const r = ref(i);
            src.push({ a: r.a, o: r.o + b * len });
            dst.push({ a: out.a, o });
            bytes.push(len);
            o += len;
          }
        }
        steps.push({ kind: 'copy', node: node.name, ranges: splitRange(src.length, sizeOf(outShape) < MIN_SPLIT_ELEMENTS ? 1 : nBlocks), src, dst, bytes });
        break;
      }
      case 'identity': {
        // An identity of a weight: copy it into the arena.
        const bytes = sizeOf(outShape) * 4;
        steps.push({ kind: 'copy', node: node.name, ranges: [0, 1], src: [ref(node.inputs[0]!)], dst: [out], bytes: [bytes] });
        break;
      }
      case 'pad':
        steps.push(gatherStep(store, node.name, ref(node.inputs[0]!), out, xShape, outShape, node.attrs.pads, node.attrs.mode, node.attrs.value, nBlocks));
        break;
      case 'centerPad': {
        const dy = outShape[2]! - xShape[2]!;
        const dx = outShape[3]! - xShape[3]!;
        const top = Math.floor(dy / 2);
        const left = Math.floor(dx / 2);
        steps.push(gatherStep(store, node.name, ref(node.inputs[0]!), out, xShape, outShape, { top, bottom: dy - top, left, right: dx - left }, 'constant', node.attrs.value, nBlocks));
        break;
      }
      case 'relu':
      case 'sigmoid':
      case 'tanh':
      case 'leakyRelu': {
        const n = sizeOf(outShape);
        steps.push({
          kind: 'activation', node: node.name, ranges: splitRange(n, n < MIN_SPLIT_ELEMENTS ? 1 : nBlocks, 16),
          x: ref(node.inputs[0]!), out, act: ACTIVATIONS[node.op], slope: node.op === 'leakyRelu' ? node.attrs.slope : 0,
        });
        break;
      }
      case 'batchNorm': {
        const [g, b, m, v] = node.inputs.slice(1).map((i) => inits.get(i)!.data) as [Float32Array, Float32Array, Float32Array, Float32Array];
        const { scale, shift } = batchNormAffine(g, b, m, v, node.attrs.eps);
        const spatial = sizeOf(xShape.slice(2));
        if (xShape[0] !== 1) {
          steps.push(nodeStep(node, shapes, ref, out, outShape));
          break;
        }
        steps.push({
          kind: 'affine', node: node.name, ranges: splitRange(xShape[1]!, sizeOf(xShape) < MIN_SPLIT_ELEMENTS ? 1 : nBlocks),
          x: ref(node.inputs[0]!), out, scale: store.array(`bn-scale:${store.keyOf(g)}`, scale), shift: store.array(`bn-shift:${store.keyOf(g)}`, shift), spatial,
        });
        break;
      }
      case 'softmax': {
        const axis = normalizeAxis(where, node.attrs.axis, xShape.length);
        if (axis === 1 || (axis === 0 && xShape.length === 1)) {
          steps.push({
            kind: 'softmax', node: node.name, ranges: [0, 1], x: ref(node.inputs[0]!), out,
            batch: sizeOf(xShape.slice(0, axis)), channels: xShape[axis]!, spatial: sizeOf(xShape.slice(axis + 1)),
          });
        } else {
          steps.push(nodeStep(node, shapes, ref, out, outShape));
        }
        break;
      }
      case 'resize': {
        const step = resizeStep(store, node, ref(node.inputs[0]!), out, xShape, outShape, nBlocks);
        steps.push(step ?? nodeStep(node, shapes, ref, out, outShape));
        break;
      }
      default:
        steps.push(nodeStep(node, shapes, ref, out, outShape));
    }
    for (let k = firstStep; k < steps.length; k++) stepInfo.push(describeStep(steps[k]!, node, xShape, outShape));
  }

  const inV = values.get(inputName)!;
  return {
    plan: { id: formatShape(inputShape), steps, arenaBytes, scratchBytes },
    inputShape: inputShape.slice(),
    input: { offset: inV.offset, floats: sizeOf(inputShape) },
    outputs: graph.outputs.map((name) => ({ name, ref: ref(name), shape: shapes.get(name)! })),
    unplannedBytes: unplanned,
    stepInfo,
    fusedConcats,
    partlyFusedConcats,
    fusedPools,
  };
}

/**
 * The kernel call of every block of a conv step: `describe(range)` with arena-relative offsets; the words of the
 * buffers in `refs` (x, out, pool: P_X, P_OUT, P_POOL) that lie in the arena are listed for the executor.
 */
function planBlocks(
  ranges: readonly number[], axis: SplitAxis, outChannels: number, outH: number, refs: readonly (Ref | undefined)[],
  describe: (range: WorkRange) => KernelDescriptor,
): KernelBlock[] {
  const words = [P_X, P_OUT, P_POOL];
  const arenaWords = words.filter((_, i) => refs[i]?.a === 1);
  const blocks: KernelBlock[] = [];
  for (let b = 0; b + 1 < ranges.length; b++) {
    const r0 = ranges[b]!, r1 = ranges[b + 1]!;
    const range: WorkRange = axis === 'rows'
      ? { coStart: 0, coEnd: outChannels, rowStart: r0, rowEnd: r1 }
      : { coStart: r0, coEnd: r1, rowStart: 0, rowEnd: outH };
    const d = describe(range);
    blocks.push({ kernel: d.kernel, params: d.params, scratchBytes: d.scratchBytes, arenaWords });
  }
  return blocks;
}

/**
 * The geometry of a conv2d node on input shape `x` with symmetric `pads` (default: the node's own; an
 * asymmetric-pad conv runs on its padded input with zero pads and zeros mode).
 */
function convGeometry(
  node: NodeOf<'conv2d'>, x: readonly number[], w: readonly number[], pads: Pads = node.attrs.pads, mode = node.attrs.paddingMode,
): Conv2dGeometry {
  const a = node.attrs;
  return conv2dGeometry(nodeLabel(node), {
    x, w, stride: a.stride, dilation: a.dilation, padding: { kind: 'explicit', h: pads.top, w: pads.left }, groups: a.groups,
    paddingMode: mode,
  });
}

/** The profile description of `step`, one of the steps of `node`. */
function describeStep(step: Step, node: GraphNode, xShape: readonly number[], outShape: readonly number[]): PlanStepInfo {
  switch (step.kind) {
    case 'conv2d': {
      const g = step.g;
      const flops = 2 * g.batch * g.outChannels * g.outH * g.outW * g.inPerGroup * g.kernelH * g.kernelW;
      const algorithm = step.algorithm === 'direct' && usesDepthwise(g) ? 'depthwise' : step.algorithm;
      return { node: step.node, op: node.op, kind: step.kind, algorithm, outputShape: [g.batch, g.outChannels, g.outH, g.outW], flops };
    }
    case 'convTranspose2d': {
      const g = step.g;
      const flops = 2 * g.batch * g.inChannels * g.inH * g.inW * g.outPerGroup * g.kernelH * g.kernelW;
      return { node: step.node, op: node.op, kind: step.kind, algorithm: 'direct', outputShape: [g.batch, g.outChannels, g.outH, g.outW], flops };
    }
    case 'gather':
      if (node.op === 'conv2d') {
        // The asymmetric padding of a conv, run before it.
        return { node: step.node, op: 'pad', kind: step.kind, algorithm: null, outputShape: [xShape[0]!, xShape[1]!, step.outH, step.outW], flops: 0 };
      }
      break;
    default:
      break;
  }
  return { node: step.node, op: node.op, kind: step.kind, algorithm: null, outputShape: outShape.slice(), flops: 0 };
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function symmetric(p: Pads): boolean {
  return p.top === p.bottom && p.left === p.right;
}

function convSplit(g: Conv2dGeometry | ConvTranspose2dGeometry, macs: number, nBlocks: number, P: number, rowQuantum = 1): { axis: SplitAxis; ranges: number[] } {
  if (nBlocks <= 1 || macs < MIN_SPLIT_MACS) return { axis: 'rows', ranges: [0, g.outH] };
  // Rows keep every block's im2col panels (Winograd: tile rows) disjoint; channels (multiples of the 4-channel
  // microkernel) are the fallback for maps with fewer rows than blocks.
  if (g.outH >= 2 * P * rowQuantum) return { axis: 'rows', ranges: splitRange(g.outH, nBlocks, rowQuantum) };
  return { axis: 'channels', ranges: splitRange(g.outChannels, nBlocks, 4) };
}

function gatherTablesStep(
  store: ConstantStore, node: string, key: string, x: Ref, out: Ref, xShape: readonly number[], outShape: readonly number[],
  rows: Int32Array, cols: Int32Array, fill: number, nBlocks: number,
): Step {
  // The longest run of consecutive source columns is copied with memory.copy (as the wasm backend does).
  let runStart = -1, runLen = 0;
  for (let j = 0; j < cols.length;) {
    if (cols[j]! < 0) { j++; continue; }
    let k = j + 1;
    while (k < cols.length && cols[k] === cols[k - 1]! + 1) k++;
    if (k - j > runLen) { runStart = j; runLen = k - j; }
    j = k;
  }
  const planes = sizeOf(xShape.slice(0, -2));
  return {
    kind: 'gather', node, ranges: splitRange(planes, sizeOf(outShape) < MIN_SPLIT_ELEMENTS ? 1 : nBlocks), x, out,
    inH: xShape[xShape.length - 2]!, inW: xShape[xShape.length - 1]!, outH: outShape[outShape.length - 2]!, outW: outShape[outShape.length - 1]!,
    rows: store.array(`${key}:rows`, rows), cols: store.array(`${key}:cols`, cols), fill,
    runStart, runLen, runSrc: runLen > 0 ? cols[runStart]! : 0,
  };
}

function gatherStep(
  store: ConstantStore, node: string, x: Ref, out: Ref, xShape: readonly number[], outShape: readonly number[],
  pad: Pads, mode: 'constant' | 'reflect' | 'replicate' | 'circular', value: number, nBlocks: number,
): Step {
  const inH = xShape[2]!, inW = xShape[3]!, outH = outShape[2]!, outW = outShape[3]!;
  const rows = new Int32Array(outH);
  const cols = new Int32Array(outW);
  for (let j = 0; j < outH; j++) rows[j] = padSource(j, pad.top, pad.bottom, inH, mode);
  for (let j = 0; j < outW; j++) cols[j] = padSource(j, pad.left, pad.right, inW, mode);
  const key = `pad:${inH}x${inW}:${pad.top},${pad.bottom},${pad.left},${pad.right}:${mode}`;
  return gatherTablesStep(store, node, key, x, out, xShape, outShape, rows, cols, mode === 'constant' ? value : 0, nBlocks);
}

const f32 = Math.fround;

/** PyTorch's own resize modes as kernel steps (the same tables as the wasm backend); null for ONNX-only modes. */
function resizeStep(store: ConstantStore, node: NodeOf<'resize'>, x: Ref, out: Ref, xShape: readonly number[], outShape: readonly number[], nBlocks: number): Step | null {
  const a = node.attrs;
  const torchNearest = a.mode === 'nearest' && a.coordinateMode === 'asymmetric' && a.nearestRounding === 'floor';
  const torchBilinear = a.mode === 'bilinear' && (a.coordinateMode === 'alignCorners' || a.coordinateMode === 'pytorchHalfPixel');
  if ((!torchNearest && !torchBilinear) || xShape.length !== 4) return null;
  const [inH, inW] = [xShape[2]!, xShape[3]!];
  const [outH, outW] = [outShape[2]!, outShape[3]!];
  const scales = a.target.kind === 'scale' ? a.target.scale : null;
  const alignCorners = a.coordinateMode === 'alignCorners';
  // The single-thread executor's ratio (torch's area_pixel_compute_scale in float32).
  const ratio = (i: number, o: number, s: number | undefined): number =>
    alignCorners ? (o > 1 ? f32((i - 1) / (o - 1)) : 0) : s !== undefined ? f32(1 / s) : f32(i / o);
  const scaleH = ratio(inH, outH, scales?.[0]);
  const scaleW = ratio(inW, outW, scales?.[1]);
  const key = `resize:${a.mode}:${inH}x${inW}->${outH}x${outW}:${scaleH},${scaleW}:${alignCorners}`;
  if (torchNearest) {
    const rows = new Int32Array(outH);
    const cols = new Int32Array(outW);
    for (let d = 0; d < outH; d++) rows[d] = nearestIndex(d, inH, outH, scaleH);
    for (let d = 0; d < outW; d++) cols[d] = nearestIndex(d, inW, outW, scaleW);
    return gatherTablesStep(store, node.name, key, x, out, xShape, outShape, rows, cols, 0, nBlocks);
  }
  const ty = linearAxis(inH, outH, scaleH, alignCorners);
  const tx = linearAxis(inW, outW, scaleW, alignCorners);
  const tables = ([['y0', ty.i0], ['y1', ty.i1], ['ly0', ty.l0], ['ly1', ty.l1], ['x0', tx.i0], ['x1', tx.i1], ['lx0', tx.l0], ['lx1', tx.l1]] as const)
    .map(([n, t]) => store.array(`${key}:${n}`, t));
  const planes = xShape[0]! * xShape[1]!;
  return {
    kind: 'bilinear', node: node.name, ranges: splitRange(planes, sizeOf(outShape) < MIN_SPLIT_ELEMENTS ? 1 : nBlocks),
    x, out, inH, inW, outH, outW, tables,
  };
}

function nodeStep(node: GraphNode, shapes: Map<string, number[]>, ref: (n: string) => Ref, out: Ref, outShape: readonly number[]): Step {
  return {
    kind: 'node', node: node.name, ranges: [0, 1], graphNode: node,
    inputs: node.inputs.map((i) => ({ ref: ref(i), shape: shapes.get(i)! })), out, outShape,
  };
}
