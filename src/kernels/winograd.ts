/**
 * Winograd F(4×4, 3×3) convolution: the weight transform (once, at load), the calling convention of the wasm
 * kernel (./wasm/winograd.ts) and the per-layer choice between Winograd and the direct conv.
 *
 * Applies to 3×3 kernels with stride 1, dilation 1, groups 1 and zeros padding (any pads, symmetric or not, any
 * H, W, Cin, Cout, any batch). It does 2.25× fewer multiplications than the direct conv, at the price of a
 * larger rounding error: about 20–40× the direct conv's (worst ~3e-4 of the output's magnitude on random
 * layers); `precision: 'exact'` keeps the direct conv. A NaN or ±Inf input can spread to every output of the 4×4
 * tiles whose 6×6 input window contains it (the direct conv poisons only the outputs whose 3×3 window does).
 *
 * Calling convention: the same as {@link KernelInstance.conv2d} (geometry + offsets + epilogue + work range), with
 * the weights transformed by {@link packWinogradWeights} instead of the direct conv's packing; worker threads get
 * the same block as plain data from {@link winogradConv2dDescriptor} and run it with `KernelInstance.run`. Output rows are
 * produced in tile rows of {@link WINOGRAD_TILE}; row ranges at multiples of it avoid recomputing a tile row on
 * both sides of a split.
 */
import type { Conv2dGeometry } from '../ops/geometry.js';
import {
  conv2dDescriptor, PARAM_WORDS, P_BLOCK_PANELS, P_POOL, P_POOL_H, P_POOL_IMAGE, P_POOL_W, usesRowsKernel, type Epilogue, type KernelDescriptor, type KernelInstance, type WorkRange,
} from './index.js';

/** Output tile edge: each Winograd tile produces 4×4 output pixels. */
export const WINOGRAD_TILE = 4;

/** Convolution algorithms the kernels offer for a conv2d layer. */
export type ConvAlgorithm = 'winograd' | 'direct';

/** 'fast' allows Winograd where it is faster; 'exact' always takes the direct conv (direct-conv rounding). */
export type ConvPrecision = 'fast' | 'exact';

/** Options of {@link chooseConvAlgorithm}. */
export interface ConvAlgorithmOptions {
  /** Default 'fast'. */
  readonly precision?: ConvPrecision;
}

// G of F(4, 3) for the points 0, ±1, ±2, ∞ (6×3), applied in f64: U = G g Gᵀ.
const G: readonly (readonly [number, number, number])[] = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

/** True when the Winograd kernel computes this conv (3×3, stride 1, dilation 1, groups 1, zeros padding). */
export function supportsWinograd(g: Conv2dGeometry): boolean {
  return g.kernelH === 3 && g.kernelW === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 &&
    g.dilationW === 1 && g.groups === 1 && g.paddingMode === 'zeros';
}

/** Floats of the transformed weights U[36][ceil(Cout/4)][Cin][4]. */
export function packedWinogradFloats(g: Conv2dGeometry): number {
  return 36 * Math.ceil(g.outChannels / 4) * g.inChannels * 4;
}

/**
 * Transform w [Cout, Cin, 3, 3] into dst as U[ξ][cb][ci][4] (ξ = 6·row + column of G g Gᵀ, cb = block of 4 output
 * channels, zero-padded). Computed in f64 and rounded once. Only for geometries where {@link supportsWinograd}.
 */
export function packWinogradWeights(g: Conv2dGeometry, w: Float32Array, dst: Float32Array): void {
  const cin = g.inChannels, cout = g.outChannels;
  const nCB = Math.ceil(cout / 4);
  const plane = nCB * cin * 4;
  dst.fill(0, 0, 36 * plane);
  const t = new Float64Array(18); // G g: 6×3
  for (let co = 0; co < cout; co++) {
    const cb = co >> 2, r = co & 3;
    for (let ci = 0; ci < cin; ci++) {
      const k = (co * cin + ci) * 9;
      for (let i = 0; i < 6; i++) {
        const gi = G[i]!;
        for (let j = 0; j < 3; j++) t[i * 3 + j] = gi[0] * w[k + j]! + gi[1] * w[k + 3 + j]! + gi[2] * w[k + 6 + j]!;
      }
      const o = (cb * cin + ci) * 4 + r;
      for (let i = 0; i < 6; i++) {
        const t0 = t[i * 3]!, t1 = t[i * 3 + 1]!, t2 = t[i * 3 + 2]!;
        for (let j = 0; j < 6; j++) {
          const gj = G[j]!;
          dst[(i * 6 + j) * plane + o] = t0 * gj[0] + t1 * gj[1] + t2 * gj[2];
        }
      }
    }
  }
}

/** L2 budget for one block's V and M (the machine's L2 is 512 KiB per core; leave room for U and the input). */
const BLOCK_BUDGET_BYTES = 320 * 1024;

/**
 * Panels (of 8 tiles) transformed per block: as many as keep V and M within the L2 budget, 1 to 4; but 4 when the
 * transformed weights exceed 4 MiB (≥ 256→256), which every block streams from memory once: there, fewer blocks
 * win (512→512 @32²: 1 panel 53–69 ms, 4 panels 35–46 ms) although V and M spill to L3.
 */
export function winogradBlockPanels(g: Conv2dGeometry): number {
  if (packedWinogradFloats(g) * 4 > 4 * 1024 * 1024) return 4;
  const perPanel = 36 * (g.inChannels + Math.ceil(g.outChannels / 4) * 4) * 32;
  return Math.max(1, Math.min(4, Math.floor(BLOCK_BUDGET_BYTES / perPanel)));
}

/**
 * Scratch bytes of the Winograd kernel for `blockPanels` panels per block, parameter block included (like
 * `conv2dScratchBytes`): V (36 planes), M and the transforms' rows.
 */
export function winogradScratchBytes(g: Conv2dGeometry, blockPanels = winogradBlockPanels(g)): number {
  const coutPad = Math.ceil(g.outChannels / 4) * 4;
  return PARAM_WORDS * 4 + 8192 + blockPanels * g.inChannels * 36 * 32 + blockPanels * coutPad * 36 * 32;
}

/**
 * The descriptor of a Winograd conv2d block, for {@link KernelInstance.run} on any thread (plain data, like
 * `conv2dDescriptor`): x [N, Cin, H, W], transformed weights from {@link packWinogradWeights}, bias [Cout]
 * (0 = none), out [N, Cout, oH, oW]; computes the `range` block (default: everything) with the fused epilogue.
 * The kernels never validate: use only where {@link supportsWinograd} holds.
 */
export function winogradConv2dDescriptor(
  g: Conv2dGeometry, xOff: number, uOff: number, biasOff: number, outOff: number,
  ep: Epilogue = NO_EPILOGUE, range?: WorkRange, blockPanels = winogradBlockPanels(g), pool?: WinogradPool,
): KernelDescriptor {
  const { params } = conv2dDescriptor(g, xOff, uOff, biasOff, outOff, ep, range);
  params[P_BLOCK_PANELS] = blockPanels;
  if (pool !== undefined) {
    params[P_POOL] = pool.offset;
    params[P_POOL_H] = pool.h;
    params[P_POOL_W] = pool.w;
    params[P_POOL_IMAGE] = g.outChannels * pool.h * pool.w * 4;
  }
  return { kernel: 'winogradConv2d', params, scratchBytes: winogradScratchBytes(g, blockPanels) };
}

/** Run {@link winogradConv2dDescriptor}'s block on `k`'s thread (the calling convention of `KernelInstance.conv2d`). */
export function winogradConv2d(
  k: KernelInstance, g: Conv2dGeometry, xOff: number, uOff: number, biasOff: number, outOff: number,
  ep: Epilogue = NO_EPILOGUE, range?: WorkRange, blockPanels = winogradBlockPanels(g), pool?: WinogradPool,
): void {
  k.run(winogradConv2dDescriptor(g, xOff, uOff, biasOff, outOff, ep, range, blockPanels, pool));
}

/**
 * A 2×2 stride-2 max pool (no padding, floor mode) of the conv's output, written by the output transform next to
 * the output itself: out [N, Cout, h, w] at `offset`, h = ⌊oH/2⌋, w = ⌊oW/2⌋. Row ranges must start on even rows
 * (the plan's are multiples of {@link WINOGRAD_TILE}). Bit-identical to the separate max pool kernel.
 */
export interface WinogradPool {
  readonly offset: number;
  readonly h: number;
  readonly w: number;
}

const NO_EPILOGUE: Epilogue = Object.freeze({ activation: 'none' });

/**
 * Cost model, in ns on one core, fitted to single-thread measurements of both kernels (Zen 3, relaxed FMA) over
 * 3→16 … 512→512 channels and 4² … 256² maps: Winograd's GEMMs run at ~30 GFLOPS including their share of
 * streaming U, its input and output transforms cost ~25 and ~20 ns per tile and channel, and it computes whole
 * panels of 8 tiles (2 quads of 4; maps of 1–2 tiles waste most of them); the direct conv runs at ~40 GFLOPS plus
 * ~1.4 ns per output pixel, input channel and tap for its fused im2col. The model picked the faster kernel on every
 * measured layer (e.g. Winograd 1.2× faster at 256→256 @8², direct 1.9× faster at 512→512 @4²).
 */
const WINOGRAD_GEMM_NS_PER_FLOP = 1 / 30;
const INPUT_NS_PER_TILE_CHANNEL = 25;
const OUTPUT_NS_PER_TILE_CHANNEL = 20;
const DIRECT_NS_PER_FLOP = 1 / 40;
const DIRECT_IM2COL_NS_PER_TAP = 1.4;

/** Estimated single-thread time (ns) of the Winograd kernel, counting the padded tiles it really computes. */
export function winogradCostNs(g: Conv2dGeometry): number {
  const coutPad = Math.ceil(g.outChannels / 4) * 4;
  const quads = Math.ceil(g.outH / 4) * Math.ceil(g.outW / 16);
  const tiles = Math.ceil(quads / 2) * 8 * g.batch;
  return tiles * (72 * g.inChannels * coutPad * WINOGRAD_GEMM_NS_PER_FLOP +
    g.inChannels * INPUT_NS_PER_TILE_CHANNEL + g.outChannels * OUTPUT_NS_PER_TILE_CHANNEL);
}

/** Estimated single-thread time (ns) of the direct conv. */
export function directCostNs(g: Conv2dGeometry): number {
  const coutPad = Math.ceil(g.outPerGroup / 4) * 4 * g.groups;
  const taps = g.batch * g.outH * g.outW * g.inPerGroup * g.kernelH * g.kernelW;
  return taps * (2 * coutPad * DIRECT_NS_PER_FLOP + DIRECT_IM2COL_NS_PER_TAP);
}

/**
 * The algorithm for one conv2d layer: 'winograd' where the kernel applies ({@link supportsWinograd}), precision
 * allows it and the cost model predicts it faster (it loses on few channels, where the transforms dominate, and
 * on tiny maps, where most of a panel's 8 tiles are padding and the transformed weights dominate); 'direct'
 * otherwise. The one place this is decided.
 */
export function chooseConvAlgorithm(g: Conv2dGeometry, options: ConvAlgorithmOptions = {}): ConvAlgorithm {
  if (options.precision === 'exact' || !supportsWinograd(g)) return 'direct';
  // Few input channels (≤ 7 for 3×3): the direct rows kernel, whose cost the model above does not describe, beats
  // Winograd, whose GEMMs have K = Cin (3→16 @256²: 2.5 vs 4.6 ms).
  if (usesRowsKernel(g)) return 'direct';
  return winogradCostNs(g) < directCostNs(g) ? 'winograd' : 'direct';
}
