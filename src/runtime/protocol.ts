/**
 * The thread protocol of the pooled session: plain data only (no classes, no functions), so every value here can
 * be posted to a worker with the structured clone and read there without the main thread's objects.
 *
 * A run is described by a {@link Plan} (the steps of one image, computed once per input shape) and a
 * {@link RunTask} per participating thread. Buffers are byte offsets into the ONE shared `WebAssembly.Memory`:
 * activations are relative to the arena of the lane running the image ({@link Ref} with `a: 1`), weights,
 * biases and index tables are absolute (`a: 0`), written once when the plan is made.
 *
 * ## Work claiming and the barrier (per lane, in shared memory)
 * The lane's control block is an Int32Array at `RunTask.control`:
 *   [CTRL_ABORT]          non-zero once the main thread aborted the run (a worker died); waiting threads leave
 *   [CTRL_STEPS + 2s]     next block of step s to claim (Atomics.add)
 *   [CTRL_STEPS + 2s + 1] blocks of step s finished (Atomics.add); the thread finishing the last one notifies
 * Every participant walks the steps in order: it claims blocks of step s until none are left, then waits until all
 * blocks of step s are finished (`RunTask.spin` polls, then Atomics.wait) before it reads step s's output in step
 * s+1. Claiming is dynamic, so any number of participants (one for whole-image batch tasks, all workers for one
 * image) give the same result, and a participant that starts late simply finds the early steps done.
 */
import type { Conv2dGeometry, ConvTranspose2dGeometry, Pool2dGeometry } from '../ops/geometry.js';
import type { GraphNode } from '../graph/ir.js';
import type { KernelDescriptor } from '../kernels/index.js';

/** Index of the abort flag in a lane's control block. */
export const CTRL_ABORT = 0;
/** First per-step counter in a lane's control block. */
export const CTRL_STEPS = 16;
/** Int32 words of a control block for a plan of `steps` steps. */
export function controlWords(steps: number): number {
  return CTRL_STEPS + 2 * steps;
}

/** A buffer: byte offset `o`, relative to the lane's arena when `a` is 1, absolute when 0. */
export interface Ref {
  readonly a: 0 | 1;
  readonly o: number;
}

/** A block range [start, end) along the step's split axis. */
export type Ranges = readonly number[];

/**
 * How a convolution is computed; the executor dispatches on it. 'direct' is the im2col-panel kernel (weights in
 * 4-channel panels), 'winograd' the F(4×4, 3×3) kernel (weights transformed once; row blocks on multiples of 4).
 */
export type ConvAlgorithm = 'direct' | 'winograd';

/** Output channels or output rows: the axis a heavy layer is split along. */
export type SplitAxis = 'channels' | 'rows';

/**
 * One block of a conv step, planned once: the kernel call's parameter block (./kernels/index.ts layout) with
 * buffer offsets relative to the lane's arena in the words `arenaWords` (the executor adds the arena), so a run
 * computes no geometry and allocates nothing per layer.
 */
export interface KernelBlock extends KernelDescriptor {
  readonly arenaWords: readonly number[];
}

interface StepBase {
  /** Node name (for messages and profiling). */
  readonly node: string;
  /** Block boundaries along `axis`: block b is [ranges[b], ranges[b+1]). */
  readonly ranges: Ranges;
}

/** conv2d on one image: x [Cin, H, W] → out [Cout, oH, oW], fused bias + activation. */
export interface ConvStep extends StepBase {
  readonly kind: 'conv2d';
  readonly algorithm: ConvAlgorithm;
  readonly g: Conv2dGeometry;
  readonly axis: SplitAxis;
  readonly x: Ref;
  readonly out: Ref;
  /** Packed (or Winograd-transformed) weights and bias (0 = none), absolute. */
  readonly w: number;
  readonly bias: number;
  readonly act: 'none' | 'relu' | 'leakyRelu' | 'sigmoid';
  readonly slope: number;
  /**
   * A fused 2×2 stride-2 max pool of the output (Winograd only; row blocks on even rows): its output
   * [Cout, poolH, poolW], or null.
   */
  readonly pool: { readonly out: Ref; readonly h: number; readonly w: number } | null;
  /** The kernel call of each block (same order as `ranges`). */
  readonly blocks: readonly KernelBlock[];
}

/** convTranspose2d on one image. */
export interface ConvTransposeStep extends StepBase {
  readonly kind: 'convTranspose2d';
  readonly g: ConvTranspose2dGeometry;
  readonly axis: SplitAxis;
  readonly x: Ref;
  readonly out: Ref;
  readonly w: number;
  readonly bias: number;
  readonly act: 'none' | 'relu' | 'leakyRelu' | 'sigmoid';
  readonly slope: number;
  /** The kernel call of each block (same order as `ranges`). */
  readonly blocks: readonly KernelBlock[];
}

/** max/avg pooling, split by planes (channels). */
export interface PoolStep extends StepBase {
  readonly kind: 'maxPool2d' | 'avgPool2d';
  readonly g: Pool2dGeometry;
  readonly x: Ref;
  readonly out: Ref;
  readonly countIncludePad: number;
  readonly divisorOverride: number;
}

/** Byte copies (concat pieces, identity); one block per piece. */
export interface CopyStep extends StepBase {
  readonly kind: 'copy';
  readonly src: readonly Ref[];
  readonly dst: readonly Ref[];
  readonly bytes: readonly number[];
}

/** Index-table gather over planes (pad, centerPad, nearest resize), split by planes. */
export interface GatherStep extends StepBase {
  readonly kind: 'gather';
  readonly x: Ref;
  readonly out: Ref;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  /** Absolute offsets of the Int32 row and column tables. */
  readonly rows: number;
  readonly cols: number;
  readonly fill: number;
  readonly runStart: number;
  readonly runLen: number;
  readonly runSrc: number;
}

/** Bilinear resize over planes (PyTorch coordinate arithmetic in the tables), split by planes. */
export interface BilinearStep extends StepBase {
  readonly kind: 'bilinear';
  readonly x: Ref;
  readonly out: Ref;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  /** Absolute offsets of y0, y1, ly0, ly1, x0, x1, lx0, lx1. */
  readonly tables: readonly number[];
}

/** Elementwise activation, split by element ranges (multiples of 16). */
export interface ActivationStep extends StepBase {
  readonly kind: 'activation';
  readonly x: Ref;
  readonly out: Ref;
  readonly act: number;
  readonly slope: number;
}

/** Per-channel affine map (unfolded BatchNorm), split by channels. */
export interface AffineStep extends StepBase {
  readonly kind: 'affine';
  readonly x: Ref;
  readonly out: Ref;
  readonly scale: number;
  readonly shift: number;
  readonly spatial: number;
}

/** Softmax over channels of one image (one block). */
export interface SoftmaxStep extends StepBase {
  readonly kind: 'softmax';
  readonly x: Ref;
  readonly out: Ref;
  readonly batch: number;
  readonly channels: number;
  readonly spatial: number;
}

/**
 * Any other node, run by the single-thread executor's own code on views of the shared memory (one block):
 * ops that are rare in segmentation networks (clip, globalAvgPool, sub/div, ONNX resize modes, softmax over
 * other axes).
 */
export interface NodeStep extends StepBase {
  readonly kind: 'node';
  readonly graphNode: GraphNode;
  readonly inputs: readonly { readonly ref: Ref; readonly shape: readonly number[] }[];
  readonly out: Ref;
  readonly outShape: readonly number[];
}

/** One entry of a plan. */
export type Step =
  | ConvStep
  | ConvTransposeStep
  | PoolStep
  | CopyStep
  | GatherStep
  | BilinearStep
  | ActivationStep
  | AffineStep
  | SoftmaxStep
  | NodeStep;

/** The static program of one image shape: steps in topological order over one arena. */
export interface Plan {
  /** Cache key (the input shape the plan was made for). */
  readonly id: string;
  readonly steps: readonly Step[];
  /** Bytes of one lane's arena (the planned activation peak of one image). */
  readonly arenaBytes: number;
  /** Scratch bytes each participant needs. */
  readonly scratchBytes: number;
}

/**
 * Where a plan lives: the main thread serializes each plan once (`v8.serialize`) into the shared memory, and
 * every task names it by `id` with its bytes' place. A worker deserializes a plan the first time it sees its id
 * and keeps it, so a run posts a few numbers instead of the whole step list (~0.4 ms of structured clone per
 * participant for a base-16 U-Net).
 */
export interface PlanRef {
  /** Unique within the session (never reused, even after the plan's bytes are freed). */
  readonly id: number;
  /** Absolute offset of the serialized plan. */
  readonly offset: number;
  readonly bytes: number;
}

/**
 * Barrier polls before sleeping when the pool has no more workers than the machine has cores: ~1.5 ms at ~15 ns
 * a poll. On a VM a thread that slept in Atomics.wait wakes 0.1 ms or more after the notify, and the blocks of one
 * layer often end a few hundred µs apart, so sleeping at once cost every barrier that wait (2 workers, base-16
 * U-Net @256²: median single-image time 60.4–63.1 ms against 62.8–66.2 ms with SPIN_SHORT, five interleaved runs).
 */
export const SPIN_LONG = 100_000;
/** Barrier polls when the pool has more workers than cores (~60 µs): a spinning thread would take the core of the one it waits for. */
export const SPIN_SHORT = 4_000;

/** What a worker receives for one run (or one image of a batch). */
export interface RunTask {
  readonly plan: PlanRef;
  /** Absolute offset of the lane's arena. */
  readonly arena: number;
  /** Absolute offset of the lane's control block (Int32, {@link controlWords}). */
  readonly control: number;
  /** This participant's scratch region. */
  readonly scratch: number;
  readonly scratchBytes: number;
  /** Bytes the shared memory must have (the worker checks its view covers them). */
  readonly memoryBytes: number;
  /**
   * Atomics.load polls a participant makes at a barrier before it sleeps in Atomics.wait (see {@link SPIN_LONG},
   * {@link SPIN_SHORT}).
   */
  readonly spin: number;
  /** Test hook: the worker calls `process.exit(1)` when it reaches this step. -1 = never. */
  readonly exitAtStep: number;
  /**
   * Profiling: absolute offset of a Float64Array of `steps + 1` entries in the shared memory (0 or absent = off).
   * The participant given it writes `performance.now()` at its start and after each step's barrier, so entry
   * s+1 minus entry s is the wall time of step s (all of its blocks, on every participant).
   */
  readonly profile?: number;
}
