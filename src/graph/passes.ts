/**
 * Graph rewrites that keep outputs unchanged (up to float rounding):
 * - `foldBatchNorm`: conv → batchNorm becomes one conv with scaled weights and a shifted bias, when the conv's
 *   output is read by nothing else (and is not a graph output). Works for conv2d and convTranspose2d.
 *   y = (conv(x, w) + b - mean)·s + β with s = γ/√(var+eps)  ⇒  w' = w·s (per output channel), b' = (b - mean)·s + β.
 * - `fuseActivations`: conv → relu | leakyRelu | sigmoid becomes the conv with that activation in its epilogue
 *   (after the bias), under the same single-reader condition.
 * Passes never modify their input graph or its tensors; they return a new graph that shares unchanged tensors.
 */
import { Tensor } from '../tensor/tensor.js';
import type { Conv2dNode, ConvTranspose2dNode, FusedActivation, Graph, GraphNode } from './ir.js';
import { batchNormAffine } from './execute.js';
import { consumersOf, topologicalOrder } from './graph.js';

type ConvLike = Conv2dNode | ConvTranspose2dNode;

function isConv(n: GraphNode | null | undefined): n is ConvLike {
  return !!n && (n.op === 'conv2d' || n.op === 'convTranspose2d');
}

/** A unique initializer name derived from `base`. */
function freshName(inits: Map<string, Tensor>, base: string): string {
  if (!inits.has(base)) return base;
  for (let k = 2; ; k++) if (!inits.has(`${base}#${k}`)) return `${base}#${k}`;
}

/** The only reader of a node's output, or null if there are several (or the output is a graph output). */
function soleReader(consumers: Map<string, (GraphNode | null)[]>, value: string): GraphNode | null {
  const r = consumers.get(value);
  return r && r.length === 1 && r[0] !== null ? r[0]! : null;
}

/**
 * Fold every BatchNorm that directly follows a conv2d/convTranspose2d (whose output nothing else reads and whose
 * epilogue has no activation yet) into that conv.
 */
export function foldBatchNorm(graph: Graph): Graph {
  topologicalOrder(graph);
  const consumers = consumersOf(graph);
  const producer = new Map<string, GraphNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const inits = new Map(graph.initializers);
  const replaced = new Map<GraphNode, GraphNode | null>();
  for (const bn of graph.nodes) {
    if (bn.op !== 'batchNorm') continue;
    const conv = producer.get(bn.inputs[0]!);
    if (!isConv(conv) || replaced.has(conv) || conv.attrs.activation.kind !== 'none') continue;
    if (soleReader(consumers, conv.outputs[0]!) !== bn) continue;
    const params = bn.inputs.slice(1).map((n) => graph.initializers.get(n));
    const w = graph.initializers.get(conv.inputs[1]!);
    const b = conv.inputs[2] === undefined ? null : graph.initializers.get(conv.inputs[2]);
    if (params.some((p) => p === undefined) || w === undefined || b === undefined) continue; // computed params: leave as is
    const [gamma, beta, mean, variance] = params as Tensor[];
    const { scale, shift } = batchNormAffine(gamma!.data, beta!.data, mean!.data, variance!.data, bn.attrs.eps);
    const cout = scale.length;
    const nw = new Tensor(w.shape);
    const [d0, d1, kh, kw] = w.shape as [number, number, number, number];
    const plane = kh * kw;
    if (conv.op === 'conv2d') {
      // weight [Cout, Cin/g, kH, kW]: output channel = dim 0
      const per = d1 * plane;
      for (let co = 0; co < d0; co++) for (let i = co * per, e = i + per; i < e; i++) nw.data[i] = w.data[i]! * scale[co]!;
    } else {
      // weight [Cin, Cout/g, kH, kW]: output channel = group(ci)·(Cout/g) + j
      const inPerGroup = d0 / conv.attrs.groups;
      for (let ci = 0; ci < d0; ci++) {
        const g = Math.floor(ci / inPerGroup);
        for (let j = 0; j < d1; j++) {
          const s = scale[g * d1 + j]!;
          const at = (ci * d1 + j) * plane;
          for (let i = at; i < at + plane; i++) nw.data[i] = w.data[i]! * s;
        }
      }
    }
    const nb = new Tensor([cout]);
    for (let c = 0; c < cout; c++) nb.data[c] = (b ? b.data[c]! : 0) * scale[c]! + shift[c]!;
    const wName = freshName(inits, `${conv.name}.folded.weight`);
    inits.set(wName, nw);
    const bName = freshName(inits, `${conv.name}.folded.bias`);
    inits.set(bName, nb);
    replaced.set(conv, { ...conv, inputs: [conv.inputs[0]!, wName, bName], outputs: [bn.outputs[0]!] } as GraphNode);
    replaced.set(bn, null);
  }
  return rebuild(graph, replaced, inits);
}

const FUSABLE: Record<string, (n: GraphNode) => FusedActivation> = {
  relu: () => ({ kind: 'relu' }),
  sigmoid: () => ({ kind: 'sigmoid' }),
  leakyRelu: (n) => ({ kind: 'leakyRelu', slope: (n.attrs as { slope: number }).slope }),
};

/** Move a ReLU / LeakyReLU / Sigmoid that is the only reader of a conv's output into the conv's epilogue. */
export function fuseActivations(graph: Graph): Graph {
  topologicalOrder(graph);
  const consumers = consumersOf(graph);
  const replaced = new Map<GraphNode, GraphNode | null>();
  for (const conv of graph.nodes) {
    if (!isConv(conv) || conv.attrs.activation.kind !== 'none') continue;
    const act = soleReader(consumers, conv.outputs[0]!);
    if (!act || !(act.op in FUSABLE) || act.inputs[0] !== conv.outputs[0]) continue;
    replaced.set(conv, { ...conv, attrs: { ...conv.attrs, activation: FUSABLE[act.op]!(act) }, outputs: [act.outputs[0]!] } as GraphNode);
    replaced.set(act, null);
  }
  return rebuild(graph, replaced, new Map(graph.initializers));
}

/** Drop initializers no node reads any more. */
export function pruneInitializers(graph: Graph): Graph {
  const used = new Set<string>();
  for (const n of graph.nodes) for (const i of n.inputs) used.add(i);
  for (const o of graph.outputs) used.add(o);
  const inits = new Map([...graph.initializers].filter(([k]) => used.has(k)));
  return { ...graph, initializers: inits };
}

/** All passes, in order: BN folding, activation fusion, pruning of unused weights. */
export function optimizeGraph(graph: Graph): Graph {
  return pruneInitializers(fuseActivations(foldBatchNorm(graph)));
}

function rebuild(graph: Graph, replaced: Map<GraphNode, GraphNode | null>, inits: Map<string, Tensor>): Graph {
  const nodes: GraphNode[] = [];
  for (const n of graph.nodes) {
    const r = replaced.get(n);
    if (r === undefined) nodes.push(n);
    else if (r !== null) nodes.push(r);
  }
  return { inputs: graph.inputs, outputs: graph.outputs, nodes, initializers: inits };
}
