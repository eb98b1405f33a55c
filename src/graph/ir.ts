/**
 * The graph IR: plain data that every executor (the single-thread oracle in `execute.ts`, the pooled session) reads.
 *
 * - A node is `{ op, name, inputs, outputs, attrs }`: one variant per op, attributes already normalized (pairs are
 *   `[h, w]`, pads are explicit on four sides), so executors never re-validate user parameters.
 * - Values are referenced by name. A name is produced by exactly one node output, or is a graph input, or is an
 *   initializer (a weight, held in `Graph.initializers`). Weights are therefore inputs of nodes, referenced by the
 *   same names as in the weight file (milesial state_dict keys for U-Nets, ONNX initializer names for imports).
 * - Optional inputs (a conv without bias) are simply absent from `inputs` (the list is shorter).
 * - `SerializedGraph` (nodes + graph inputs/outputs, no tensors) is what `model.json` stores under `"graph"`; the
 *   initializers live in the safetensors file next to it.
 *
 * Layouts follow PyTorch: activations NCHW, conv weight [Cout, Cin/groups, kH, kW], transposed conv weight
 * [Cin, Cout/groups, kH, kW], batch-norm parameters [C].
 */
import type { Pads } from '../ops/geometry.js';
import type { Tensor } from '../tensor/tensor.js';

export type { Pads } from '../ops/geometry.js';

/** `[h, w]` pair. */
export type Pair2 = [number, number];

/** Activation applied in a conv's epilogue (after bias). */
export type FusedActivation =
  | { readonly kind: 'none' }
  | { readonly kind: 'relu' }
  | { readonly kind: 'leakyRelu'; readonly slope: number }
  | { readonly kind: 'sigmoid' };

/** Border handling of a convolution's padding (PyTorch `padding_mode`). */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

/** Border handling of an explicit pad node (F.pad modes). */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Interpolation of a resize node. */
export type ResizeMode = 'nearest' | 'bilinear';

/**
 * How an output pixel maps to an input coordinate (ONNX Resize `coordinate_transformation_mode`):
 * - `alignCorners`: x_in = x_out · (in-1)/(out-1) (PyTorch align_corners=True)
 * - `halfPixel`: x_in = (x_out + 0.5)/scale - 0.5
 * - `pytorchHalfPixel`: as halfPixel but 0 when out = 1 (PyTorch bilinear align_corners=False)
 * - `asymmetric`: x_in = x_out/scale (PyTorch 'nearest')
 */
export type CoordinateMode = 'alignCorners' | 'halfPixel' | 'pytorchHalfPixel' | 'asymmetric';

/** Rounding of the source coordinate in nearest mode (ONNX `nearest_mode`; PyTorch 'nearest' is `floor`). */
export type NearestRounding = 'floor' | 'ceil' | 'roundPreferFloor' | 'roundPreferCeil';

/** Frozen tables (validation, the graph JSON reader and help text read them). */
export const RESIZE_MODES: readonly ResizeMode[] = Object.freeze(['nearest', 'bilinear']);
export const COORDINATE_MODES: readonly CoordinateMode[] = Object.freeze(['alignCorners', 'halfPixel', 'pytorchHalfPixel', 'asymmetric']);
export const NEAREST_ROUNDINGS: readonly NearestRounding[] = Object.freeze(['floor', 'ceil', 'roundPreferFloor', 'roundPreferCeil']);
export const PAD_MODES: readonly PadMode[] = Object.freeze(['constant', 'reflect', 'replicate', 'circular']);
export const CONV_PADDING_MODES: readonly ConvPaddingMode[] = Object.freeze(['zeros', 'reflect', 'replicate', 'circular']);

interface NodeBase<Op extends string, A> {
  readonly op: Op;
  /** Unique node name, used in every message (`conv2d[down1.maxpool_conv.1.double_conv.0]`). */
  readonly name: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attrs: A;
}

export interface Conv2dAttrs {
  readonly stride: Pair2;
  /** Explicit padding on four sides (PyTorch 'same' and ONNX SAME_UPPER/pads are resolved to this). */
  readonly pads: Pads;
  readonly dilation: Pair2;
  readonly groups: number;
  readonly paddingMode: ConvPaddingMode;
  /** Applied after the bias (fused epilogue). */
  readonly activation: FusedActivation;
}
/** inputs: [x, weight [Cout, Cin/g, kH, kW], bias [Cout]?] */
export type Conv2dNode = NodeBase<'conv2d', Conv2dAttrs>;

export interface ConvTranspose2dAttrs {
  readonly stride: Pair2;
  /** PyTorch `padding` (symmetric per axis). */
  readonly padding: Pair2;
  readonly outputPadding: Pair2;
  readonly dilation: Pair2;
  readonly groups: number;
  readonly activation: FusedActivation;
}
/** inputs: [x, weight [Cin, Cout/g, kH, kW], bias [Cout]?] */
export type ConvTranspose2dNode = NodeBase<'convTranspose2d', ConvTranspose2dAttrs>;

export interface MaxPool2dAttrs {
  readonly kernelSize: Pair2;
  readonly stride: Pair2;
  readonly padding: Pair2;
  readonly dilation: Pair2;
  readonly ceilMode: boolean;
}
export type MaxPool2dNode = NodeBase<'maxPool2d', MaxPool2dAttrs>;

export interface AvgPool2dAttrs {
  readonly kernelSize: Pair2;
  readonly stride: Pair2;
  readonly padding: Pair2;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;
}
export type AvgPool2dNode = NodeBase<'avgPool2d', AvgPool2dAttrs>;

/** Mean over H and W, output [N, C, 1, 1]. */
export type GlobalAvgPoolNode = NodeBase<'globalAvgPool', Record<string, never>>;

/** inputs: [x, weight, bias, runningMean, runningVar] (all [C]); inference mode. */
export type BatchNormNode = NodeBase<'batchNorm', { readonly eps: number }>;

export type ReluNode = NodeBase<'relu', Record<string, never>>;
export type LeakyReluNode = NodeBase<'leakyRelu', { readonly slope: number }>;
export type SigmoidNode = NodeBase<'sigmoid', Record<string, never>>;
export type TanhNode = NodeBase<'tanh', Record<string, never>>;
/** min/max may be -Infinity/Infinity (stored as null in JSON). */
export type ClipNode = NodeBase<'clip', { readonly min: number; readonly max: number }>;
export type IdentityNode = NodeBase<'identity', Record<string, never>>;
/** Softmax along `axis` (negative counts from the end). */
export type SoftmaxNode = NodeBase<'softmax', { readonly axis: number }>;
/** Concatenate all inputs along `axis` (negative counts from the end). */
export type ConcatNode = NodeBase<'concat', { readonly axis: number }>;

export interface PadAttrs {
  /** Amounts on the spatial sides; negative values crop (as F.pad does). */
  readonly pads: Pads;
  readonly mode: PadMode;
  /** Fill value of 'constant' mode. */
  readonly value: number;
}
export type PadNode = NodeBase<'pad', PadAttrs>;

/**
 * Pad (or crop) the first input to the spatial size of the second, centred as milesial's U-Net does:
 * dy = ref.H - x.H, top = floor(dy/2), bottom = dy - top (likewise for W), i.e.
 * `F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])`. inputs: [x, reference]. Zero fill.
 */
export type CenterPadNode = NodeBase<'centerPad', { readonly value: number }>;

/** Elementwise binary ops with NumPy broadcasting (per-channel [1,C,1,1] / [C,1,1] and scalar [] constants). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
export const BINARY_OPS: readonly BinaryOp[] = Object.freeze(['add', 'sub', 'mul', 'div']);
export type BinaryNode = NodeBase<BinaryOp, Record<string, never>>;

export interface ResizeAttrs {
  readonly mode: ResizeMode;
  readonly coordinateMode: CoordinateMode;
  /** Only read in nearest mode. */
  readonly nearestRounding: NearestRounding;
  /**
   * Target spatial size:
   * - `{ kind: 'size', size: [h, w] }` a fixed size;
   * - `{ kind: 'scale', scale: [sh, sw] }` out = floor(in · scale), coordinates mapped with this scale
   *   (PyTorch scale_factor without recompute_scale_factor);
   * - `{ kind: 'like' }` the size of the second input's H and W (inputs: [x, reference]).
   */
  readonly target: { readonly kind: 'size'; readonly size: Pair2 } | { readonly kind: 'scale'; readonly scale: [number, number] } | { readonly kind: 'like' };
}
/** inputs: [x] or [x, reference] (target kind 'like'). */
export type ResizeNode = NodeBase<'resize', ResizeAttrs>;

/** Every node variant. */
export type GraphNode =
  | Conv2dNode
  | ConvTranspose2dNode
  | MaxPool2dNode
  | AvgPool2dNode
  | GlobalAvgPoolNode
  | BatchNormNode
  | ReluNode
  | LeakyReluNode
  | SigmoidNode
  | TanhNode
  | ClipNode
  | IdentityNode
  | SoftmaxNode
  | ConcatNode
  | PadNode
  | CenterPadNode
  | BinaryNode
  | ResizeNode;

/** Op names, one per node variant. */
export type OpName = GraphNode['op'];

/** The one table of op names (graph JSON reader and `inspect` use it). */
export const OP_NAMES: readonly OpName[] = Object.freeze([
  'conv2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d', 'globalAvgPool', 'batchNorm', 'relu', 'leakyRelu',
  'sigmoid', 'tanh', 'clip', 'identity', 'softmax', 'concat', 'pad', 'centerPad', 'add', 'sub', 'mul', 'div', 'resize',
] as const);

/** The node variant of one op. */
export type NodeOf<O extends OpName> = Extract<GraphNode, { op: O }>;

/** A graph input: its name and shape; `null` for dimensions chosen at run time (batch, H, W). */
export interface ValueInfo {
  readonly name: string;
  readonly shape: (number | null)[];
}

/** The tensor-free part of a graph: what `model.json` stores under `"graph"`. */
export interface SerializedGraph {
  readonly inputs: ValueInfo[];
  /** Names of the values the graph returns, in order. */
  readonly outputs: string[];
  /** Nodes, in any order (executors use `topologicalOrder`). */
  readonly nodes: GraphNode[];
}

/** A graph with its weights. */
export interface Graph extends SerializedGraph {
  /** Weights and constants by name (float32). */
  readonly initializers: Map<string, Tensor>;
}

/** No activation. */
export const NO_ACTIVATION: FusedActivation = Object.freeze({ kind: 'none' });

/** Symmetric pads from an `[h, w]` pair. */
export function symmetricPads(h: number, w: number): Pads {
  return { top: h, bottom: h, left: w, right: w };
}

/** Default conv2d attributes (PyTorch nn.Conv2d defaults with padding 0). */
export function conv2dAttrs(a: Partial<Conv2dAttrs> = {}): Conv2dAttrs {
  return {
    stride: a.stride ?? [1, 1],
    pads: a.pads ?? symmetricPads(0, 0),
    dilation: a.dilation ?? [1, 1],
    groups: a.groups ?? 1,
    paddingMode: a.paddingMode ?? 'zeros',
    activation: a.activation ?? NO_ACTIVATION,
  };
}

/** Default convTranspose2d attributes (PyTorch nn.ConvTranspose2d defaults). */
export function convTranspose2dAttrs(a: Partial<ConvTranspose2dAttrs> = {}): ConvTranspose2dAttrs {
  return {
    stride: a.stride ?? [1, 1],
    padding: a.padding ?? [0, 0],
    outputPadding: a.outputPadding ?? [0, 0],
    dilation: a.dilation ?? [1, 1],
    groups: a.groups ?? 1,
    activation: a.activation ?? NO_ACTIVATION,
  };
}

/** Create an empty graph. */
export function emptyGraph(): Graph {
  return { inputs: [], outputs: [], nodes: [], initializers: new Map() };
}

/** `op[name]`, the prefix of every message about a node. */
export function nodeLabel(node: Pick<GraphNode, 'op' | 'name'>): string {
  return `${node.op}[${node.name}]`;
}
