/**
 * Per-layer summary of a graph for a given input shape: output shape, parameters and FLOPs of every node.
 *
 * Counting rules (stated once, used by `unet inspect`):
 * - parameters: elements of the initializers a node reads, each initializer counted once, BatchNorm running
 *   statistics excluded (PyTorch's `sum(p.numel() for p in model.parameters())`);
 * - FLOPs: 2 per multiply-accumulate for conv2d / convTranspose2d (+1 per output for a bias, +1 for a fused
 *   activation); kH·kW per output for pooling; 2 per element for batchNorm; 4 per output for bilinear resize;
 *   1 per output element for every other op; 0 for identity.
 */
import { shapeSize } from '../tensor/tensor.js';
import type { Graph } from './ir.js';
import { inferShapes, topologicalOrder } from './graph.js';

/** One row of the summary. */
export interface LayerSummary {
  readonly name: string;
  readonly op: string;
  readonly outputShape: number[];
  readonly params: number;
  readonly flops: number;
}

/** The whole summary. */
export interface GraphSummary {
  readonly inputShape: number[];
  readonly layers: LayerSummary[];
  readonly totalParams: number;
  readonly totalFlops: number;
  /** Sum of all initializer elements (parameters and buffers). */
  readonly totalWeights: number;
  /** Largest single activation, in elements. */
  readonly peakActivation: number;
}

/**
 * Summarize `graph` for one input shape (single-input graphs) or shapes by input name.
 * @throws the shape-inference errors of {@link inferShapes}
 */
export function summarizeGraph(graph: Graph, input: readonly number[] | Record<string, readonly number[]>): GraphSummary {
  const shapes = inferShapes(graph, input);
  const counted = new Set<string>();
  const layers: LayerSummary[] = [];
  let totalParams = 0;
  let totalFlops = 0;
  let peak = 0;
  for (const n of topologicalOrder(graph)) {
    const out = shapes.get(n.outputs[0]!)!;
    const outSize = shapeSize(out);
    peak = Math.max(peak, outSize);
    let params = 0;
    n.inputs.forEach((i, k) => {
      const t = graph.initializers.get(i);
      if (!t || counted.has(i)) return;
      counted.add(i);
      if (n.op === 'batchNorm' && k >= 3) return; // running statistics are buffers, not parameters
      params += t.size;
    });
    let flops: number;
    switch (n.op) {
      case 'conv2d': {
        const w = shapes.get(n.inputs[1]!)!;
        flops = 2 * outSize * w[1]! * w[2]! * w[3]! + (n.inputs.length > 2 ? outSize : 0) + (n.attrs.activation.kind !== 'none' ? outSize : 0);
        break;
      }
      case 'convTranspose2d': {
        const x = shapes.get(n.inputs[0]!)!;
        const w = shapes.get(n.inputs[1]!)!;
        flops = 2 * shapeSize(x) * w[1]! * w[2]! * w[3]! + (n.inputs.length > 2 ? outSize : 0) + (n.attrs.activation.kind !== 'none' ? outSize : 0);
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d':
        flops = outSize * n.attrs.kernelSize[0] * n.attrs.kernelSize[1];
        break;
      case 'globalAvgPool':
        flops = shapeSize(shapes.get(n.inputs[0]!)!);
        break;
      case 'batchNorm':
        flops = 2 * outSize;
        break;
      case 'resize':
        flops = n.attrs.mode === 'bilinear' ? 4 * outSize : outSize;
        break;
      case 'identity':
        flops = 0;
        break;
      default:
        flops = outSize;
    }
    totalParams += params;
    totalFlops += flops;
    layers.push({ name: n.name, op: n.op, outputShape: out, params, flops });
  }
  let totalWeights = 0;
  for (const t of graph.initializers.values()) totalWeights += t.size;
  const inputShape = Array.isArray(input) ? [...(input as readonly number[])] : [...Object.values(input)[0]!];
  return { inputShape, layers, totalParams, totalFlops, totalWeights, peakActivation: peak };
}
