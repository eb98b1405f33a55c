/**
 * Loader and typed calls of the WebAssembly SIMD kernels (sources in ./wasm, built by tools/build-wasm.mjs).
 *
 * ## Builds
 * `build/kernels-relaxed.wasm` uses `f32x4.relaxed_madd` (one fused multiply-add); `build/kernels-simd.wasm` is
 * plain SIMD128. {@link relaxedSimdSupported} validates a tiny relaxed-SIMD module (after enabling
 * `--experimental-wasm-relaxed-simd`, which Node 20 needs; the flag is process-wide, so worker threads see it
 * too) and {@link compileKernels} picks the build. `UNET_WASM_SIMD=plain` forces the plain build.
 *
 * ## Memory layout
 * Every module imports ONE shared `env.memory` (`shared: true`, maximum 4 GiB) owned by {@link KernelMemory}:
 *   [0, 64 KiB)    reserved: the modules' static data (Math.exp/log tables; re-written identically by every
 *                  instantiation, so workers may instantiate at any time)
 *   [64 KiB, …)    64-byte aligned blocks from the JS allocator: tensors (NCHW f32), packed weights, per-thread
 *                  scratch. There is no wasm heap (`--runtime stub`); kernels only touch what they are given.
 *
 * ## Calling convention
 * All pointers are byte offsets into the shared memory, all tensors contiguous NCHW float32. The conv kernels
 * (`conv2d`, `depthwiseConv2d`, `convTranspose2d`) take ONE argument, the offset of a parameter block of 48 i32
 * words (the `P_*` indices below; P_SLOPE holds f32 bits) that lives in the calling thread's scratch. They
 * compute one image: output channels [P_CO_START, P_CO_END) × output rows [P_ROW_START, P_ROW_END), writing only
 * there, so threads can split a layer into disjoint blocks on the same memory. Each thread passes its own
 * scratch (P_SCRATCH): a block of up to 16 im2col B panels (K×8 floats each, ≤ ~256 KiB in all; stride-1
 * panels hold kH input row segments per channel instead), offset tables, the 4×8 tile, or the depthwise kernel's ring of padded rows (sizes: `conv2dScratchBytes` & co; the JS side
 * never needs more than those functions say). As plain data for workers: {@link conv2dDescriptor} /
 * {@link convTranspose2dDescriptor} → {@link KernelInstance.run} on the worker's own instance and scratch.
 * Pool/elementwise kernels take plain arguments (offsets, sizes, a plane/row range).
 *
 * ## Packed weights (packed once, see ./pack.ts)
 * conv2d:      [g][cb][k][4]  cb = block of 4 output channels of group g (zero-padded), k = ci·kH·kW + ky·kW + kx
 * depthwise:   the PyTorch layout [Cout][1][kH][kW] unchanged
 * convT:       [g][rb][ci][4] rb = block of 4 GEMM rows r = co·kH·kW + ky·kW + kx of group g (zero-padded)
 *
 * ## Microkernel (for reuse, e.g. by a Winograd path)
 * `gemmPanels(a, b, c, mBlocks, nBlocks, K, ldc)`: C = A·B over A panels K×4 (stride K·16 B) and B panels K×8
 * (stride K·32 B), C row-major with ldc bytes per row; whole 4×8 tiles are stored. The inline `mk4x8` in
 * wasm/gemm.ts is the same tile with a fused bias + activation epilogue.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import './webassembly-types.js';
import type { Conv2dGeometry, ConvTranspose2dGeometry } from '../ops/geometry.js';
import { KernelMemory } from './memory.js';

export { KernelMemory, RESERVED_BYTES, MAX_PAGES, PAGE_BYTES } from './memory.js';

// Parameter block word indices (mirror of wasm/conv.ts and wasm/conv_transpose.ts).
export const P_IN_C = 0, P_IN_H = 1, P_IN_W = 2, P_OUT_C = 3, P_OUT_H = 4, P_OUT_W = 5, P_K_H = 6, P_K_W = 7;
export const P_S_H = 8, P_S_W = 9, P_D_H = 10, P_D_W = 11, P_GROUPS = 12, P_IPG = 13, P_OPG = 14;
export const P_PAD_T = 15, P_PAD_L = 16, P_MODE = 17, P_X = 18, P_W = 19, P_BIAS = 20, P_OUT = 21, P_ACT = 22;
export const P_SLOPE = 23, P_CO_START = 24, P_CO_END = 25, P_ROW_START = 26, P_ROW_END = 27, P_SCRATCH = 28;
export const P_PAD_B = 29, P_PAD_R = 30;
/** JS-side words (the kernels ignore them): images [P_BATCH_START, P_BATCH_END) and bytes per input/output image. */
export const P_BATCH_START = 31, P_BATCH_END = 32, P_X_IMAGE = 33, P_OUT_IMAGE = 34;
/** Winograd kernel only: panels of 8 tiles transformed per block (see ./winograd.ts). */
export const P_BLOCK_PANELS = 40;
/** Rows kernel only (`conv2dRows`): output pixels per strip (see {@link rowsKernelStrip}). */
export const P_STRIP = 41;
/**
 * Winograd kernel only: a fused 2×2 stride-2 max pool of the output (offset, 0 = none; pooled rows and columns;
 * bytes per pooled image, a JS-side word like P_X_IMAGE).
 */
export const P_POOL = 42, P_POOL_H = 43, P_POOL_W = 44, P_POOL_IMAGE = 45;
/** Words in a parameter block (a multiple of 16 keeps the scratch after it 64-byte aligned). */
export const PARAM_WORDS = 48;

/** Fused epilogue activations; the numbers are the kernels' ABI. */
export const ACTIVATIONS = Object.freeze({ none: 0, relu: 1, leakyRelu: 2, sigmoid: 3, tanh: 4 } as const);
export type EpilogueActivation = keyof typeof ACTIVATIONS;
const PAD_MODES = Object.freeze({ zeros: 0, reflect: 1, replicate: 2, circular: 3 } as const);

/** Bias + activation applied while the results are still in registers. */
export interface Epilogue {
  readonly activation: EpilogueActivation;
  /** leakyRelu slope for x < 0. */
  readonly slope?: number;
}

/** A block of one layer's output: channels [coStart, coEnd) × rows [rowStart, rowEnd) of images [n0, n1). */
export interface WorkRange {
  readonly coStart: number;
  readonly coEnd: number;
  readonly rowStart: number;
  readonly rowEnd: number;
  readonly batchStart?: number;
  readonly batchEnd?: number;
}

/** The raw exports of a kernel module (all offsets in bytes). */
export interface KernelExports {
  conv2d(params: number): void;
  depthwiseConv2d(params: number): void;
  conv2dRows(params: number): void;
  convTranspose2d(params: number): void;
  winogradConv2d(params: number): void;
  gemmPanels(a: number, b: number, c: number, mBlocks: number, nBlocks: number, K: number, ldc: number): void;
  maxPool2d(x: number, out: number, planes: number, inH: number, inW: number, outH: number, outW: number, kH: number, kW: number,
    sH: number, sW: number, dH: number, dW: number, padT: number, padL: number, rowStart: number, rowEnd: number): void;
  avgPool2d(x: number, out: number, planes: number, inH: number, inW: number, outH: number, outW: number, kH: number, kW: number,
    sH: number, sW: number, padT: number, padL: number, countIncludePad: number, divisorOverride: number, rowStart: number, rowEnd: number): void;
  activation(x: number, out: number, n: number, act: number, slope: number): void;
  binary(op: number, a: number, b: number, out: number, d0: number, d1: number, d2: number, d3: number,
    a0: number, a1: number, a2: number, a3: number, b0: number, b1: number, b2: number, b3: number): void;
  channelAffine(x: number, scale: number, shift: number, out: number, batch: number, channels: number, spatial: number): void;
  softmax(x: number, out: number, batch: number, channels: number, spatial: number): void;
  gather2d(x: number, out: number, planes: number, inH: number, inW: number, outH: number, outW: number,
    rowIdx: number, colIdx: number, fill: number, runStart: number, runLen: number, runSrc: number): void;
  bilinear(x: number, out: number, planes: number, inH: number, inW: number, outH: number, outW: number,
    y0: number, y1: number, ly0: number, ly1: number, x0: number, x1: number, lx0: number, lx1: number): void;
}

// (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

let relaxedSupport: boolean | undefined;

/** True when this engine validates relaxed-SIMD modules (enabling V8's flag first on Node 20). */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupport !== undefined) return relaxedSupport;
  if (!WebAssembly.validate(RELAXED_PROBE)) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // Engines without the flag simply keep the plain build.
    }
  }
  const ok = WebAssembly.validate(RELAXED_PROBE);
  relaxedSupport = ok;
  return ok;
}

/** Directory holding the built .wasm files: `<package root>/build`, found from this file's location. */
export function wasmDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'build');
    if (existsSync(path.join(candidate, 'kernels-simd.wasm'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('unet-pipeline: build/kernels-simd.wasm not found; run `npm run build:wasm`');
}

const compiled = new Map<boolean, WebAssembly.Module>();

/**
 * The compiled kernel module (cached). `relaxed` defaults to relaxed SIMD when supported and not disabled by
 * `UNET_WASM_SIMD=plain`. Modules can be posted to worker threads and instantiated there.
 */
export function compileKernels(relaxed?: boolean): WebAssembly.Module {
  const want = relaxed ?? (process.env.UNET_WASM_SIMD !== 'plain' && relaxedSimdSupported());
  const useRelaxed = want && relaxedSimdSupported();
  let m = compiled.get(useRelaxed);
  if (m === undefined) {
    m = new WebAssembly.Module(readFileSync(path.join(wasmDir(), useRelaxed ? 'kernels-relaxed.wasm' : 'kernels-simd.wasm')));
    compiled.set(useRelaxed, m);
  }
  return m;
}

/** True when `m` is the relaxed-SIMD build. */
export function isRelaxedModule(m: WebAssembly.Module): boolean {
  return compiled.get(true) === m;
}

/** B panels the general conv2d kernel builds per block (mirror of panelsPerBlock in wasm/conv.ts). */
export function convPanelsPerBlock(g: Conv2dGeometry): number {
  const K = g.inPerGroup * g.kernelH * g.kernelW;
  return Math.max(1, Math.min(16, Math.floor(262144 / (K * 32))));
}

/** Scratch bytes the general conv2d kernel needs (parameter block, tile, tables and B panels of one block). */
export function conv2dScratchBytes(g: Conv2dGeometry): number {
  const kk = g.kernelH * g.kernelW;
  const P = convPanelsPerBlock(g);
  // + the row-panel B row offsets (K i32) after the panels, and 64-byte alignment of each part.
  return PARAM_WORDS * 4 + 512 + P * (kk * 36 + g.inPerGroup * kk * 32) + g.inPerGroup * kk * 4 + 64;
}

/** Scratch bytes of the depthwise kernel: a ring of (kH-1)·dH + 1 padded input rows and their tags. */
export function depthwiseScratchBytes(g: Conv2dGeometry): number {
  const rowLen = (g.pad.left + g.inW + g.pad.right + (g.kernelW - 1) * g.dilationW + 4 * g.strideW + 8 + 3) & ~3;
  const ring = (g.kernelH - 1) * g.dilationH + 1;
  return PARAM_WORDS * 4 + 64 + Math.ceil(((ring + g.kernelH) * 4) / 64) * 64 + ring * rowLen * 4;
}

/** Scratch bytes of the convTranspose2d kernel (tile, pixel tables, a block of P Cin×8 B panels). */
export function convTranspose2dScratchBytes(g: ConvTranspose2dGeometry): number {
  const P = Math.max(1, Math.min(16, Math.floor(262144 / (g.inPerGroup * 32))));
  return PARAM_WORDS * 4 + 256 + P * 64 + P * g.inPerGroup * 32;
}

/** Taps per output pixel (Cin·kH·kW) up to which the rows kernel beats the general one (measured, see conv2dRows). */
const ROWS_KERNEL_MAX_TAPS = 64;
/** The rows kernel's padded rows of one strip stay within this many bytes (L1). */
const ROWS_KERNEL_ROW_BYTES = 24 * 1024;

/**
 * True when conv2d takes the rows kernel (`conv2dRows` in wasm/conv.ts): stride 1, one group, at most 64 taps
 * per output pixel (Cin·kH·kW: a network's first conv on 1–7 channels, a 1×1 head on up to 64 channels).
 */
export function usesRowsKernel(g: Conv2dGeometry): boolean {
  return g.strideH === 1 && g.strideW === 1 && g.groups === 1 && !usesDepthwise(g) &&
    g.inChannels * g.kernelH * g.kernelW <= ROWS_KERNEL_MAX_TAPS;
}

/** Output pixels per strip of the rows kernel: a multiple of 8 whose Cin·kH padded rows fit the L1 budget. */
export function rowsKernelStrip(g: Conv2dGeometry): number {
  const whole = Math.ceil(g.outW / 8) * 8;
  const fit = Math.floor((ROWS_KERNEL_ROW_BYTES / (g.inChannels * g.kernelH * 4) - (g.kernelW - 1) * g.dilationW - 3) / 8) * 8;
  return Math.max(8, Math.min(whole, fit));
}

/** Scratch bytes of the rows kernel (parameter block, tile, row offsets, the padded rows of one strip). */
export function conv2dRowsScratchBytes(g: Conv2dGeometry): number {
  const rowLen = (rowsKernelStrip(g) + (g.kernelW - 1) * g.dilationW + 3) & ~3;
  return PARAM_WORDS * 4 + 128 + g.inChannels * g.kernelH * g.kernelW * 4 + 64 + g.inChannels * g.kernelH * rowLen * 4;
}

/**
 * The direct (non-Winograd) conv2d kernel for a geometry and its scratch bytes: depthwise, rows or the general
 * kernel. The one place this is decided.
 */
export function directConv2dKernel(g: Conv2dGeometry): { kernel: 'conv2d' | 'conv2dRows' | 'depthwiseConv2d'; scratchBytes: number } {
  if (usesDepthwise(g)) return { kernel: 'depthwiseConv2d', scratchBytes: depthwiseScratchBytes(g) };
  if (usesRowsKernel(g)) return { kernel: 'conv2dRows', scratchBytes: conv2dRowsScratchBytes(g) };
  return { kernel: 'conv2d', scratchBytes: conv2dScratchBytes(g) };
}

/** True when conv2d takes the depthwise kernel (one input channel per group, fewer than 4 outputs each). */
export function usesDepthwise(g: Conv2dGeometry): boolean {
  return g.inPerGroup === 1 && g.outPerGroup < 4;
}

/**
 * One instance of the kernel module over a shared memory, with its own scratch region (one per thread).
 * The main thread's instance can grow its scratch through the allocator; a worker's instance gets a fixed
 * region (`scratch`) from the main thread.
 */
export class KernelInstance {
  readonly exports: KernelExports;
  readonly relaxed: boolean;
  private scratchOff: number;
  private scratchBytes: number;
  private view: Int32Array | null = null;

  /**
   * @param module a module from {@link compileKernels}
   * @param memory the shared memory; with a {@link KernelMemory} the scratch grows on demand
   * @param scratch a fixed scratch region (worker threads), or omitted to allocate from `memory`
   */
  constructor(
    module: WebAssembly.Module,
    readonly memory: KernelMemory | WebAssembly.Memory,
    scratch?: { offset: number; bytes: number },
  ) {
    const mem = memory instanceof KernelMemory ? memory.memory : memory;
    this.exports = new WebAssembly.Instance(module, { env: { memory: mem } }).exports as unknown as KernelExports;
    this.relaxed = isRelaxedModule(module);
    if (scratch !== undefined) {
      this.scratchOff = scratch.offset;
      this.scratchBytes = scratch.bytes;
    } else if (memory instanceof KernelMemory) {
      this.scratchBytes = 256 * 1024;
      this.scratchOff = memory.alloc(this.scratchBytes);
    } else {
      throw new Error('KernelInstance: a fixed scratch region is required with a bare WebAssembly.Memory');
    }
  }

  private get wasmMemory(): WebAssembly.Memory {
    return this.memory instanceof KernelMemory ? this.memory.memory : this.memory;
  }

  /** Make sure the scratch holds `bytes`; returns its offset. */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (!(this.memory instanceof KernelMemory)) {
        throw new RangeError(`kernels: scratch of ${this.scratchBytes} bytes is smaller than the ${bytes} this layer needs`);
      }
      this.memory.free(this.scratchOff);
      this.scratchBytes = Math.ceil(bytes / 65536) * 65536;
      this.scratchOff = this.memory.alloc(this.scratchBytes);
    }
    return this.scratchOff;
  }

  /** The parameter block view at `base` (kept while the buffer and place stay the same: no allocation per call). */
  private paramView(base: number): Int32Array {
    const buffer = this.wasmMemory.buffer;
    let v = this.view;
    if (v === null || v.buffer !== buffer || v.byteOffset !== base) v = this.view = new Int32Array(buffer, base, PARAM_WORDS);
    return v;
  }

  /**
   * Run a kernel descriptor (from {@link conv2dDescriptor} / {@link convTranspose2dDescriptor}) with this
   * instance's scratch: the block is copied into the scratch head, P_SCRATCH pointed past it, and the kernel
   * called once per image of [P_BATCH_START, P_BATCH_END). A descriptor planned with offsets relative to an arena
   * (the session's plans) names those words in `arenaWords`; `arena` is added to them first.
   */
  run(d: KernelDescriptor, arena = 0, arenaWords: readonly number[] = NO_WORDS): void {
    const base = this.scratch(d.scratchBytes);
    const words = this.paramView(base);
    words.set(d.params);
    for (let i = 0; i < arenaWords.length; i++) words[arenaWords[i]!] += arena;
    words[P_SCRATCH] = base + PARAM_WORDS * 4;
    const fn = this.exports[d.kernel];
    const x0 = words[P_X]!, o0 = words[P_OUT]!;
    const xStride = words[P_X_IMAGE]!, oStride = words[P_OUT_IMAGE]!;
    const pool0 = words[P_POOL]!, poolStride = words[P_POOL_IMAGE]!;
    for (let n = words[P_BATCH_START]!, n1 = words[P_BATCH_END]!; n < n1; n++) {
      words[P_X] = x0 + n * xStride;
      words[P_OUT] = o0 + n * oStride;
      if (pool0 !== 0) words[P_POOL] = pool0 + n * poolStride;
      fn(base);
    }
  }

  /**
   * conv2d over offsets: x [N, Cin, H, W], packed weights (./pack.ts), bias [Cout] (0 = none), out [N, Cout, oH, oW].
   * Computes the `range` block (default: everything) with the fused epilogue.
   */
  conv2d(g: Conv2dGeometry, xOff: number, wOff: number, biasOff: number, outOff: number, ep: Epilogue = NO_EPILOGUE, range?: WorkRange): void {
    this.run(conv2dDescriptor(g, xOff, wOff, biasOff, outOff, ep, range));
  }

  /** convTranspose2d over offsets: x [N, Cin, H, W], packed weights (./pack.ts), bias [Cout] (0 = none). */
  convTranspose2d(g: ConvTranspose2dGeometry, xOff: number, wOff: number, biasOff: number, outOff: number, ep: Epilogue = NO_EPILOGUE, range?: WorkRange): void {
    this.run(convTranspose2dDescriptor(g, xOff, wOff, biasOff, outOff, ep, range));
  }
}

/**
 * A kernel call as plain data (postable to a worker): which kernel, its parameter block and the scratch it
 * needs. P_SCRATCH is left 0; the running instance fills in its own.
 */
export interface KernelDescriptor {
  readonly kernel: 'conv2d' | 'conv2dRows' | 'depthwiseConv2d' | 'convTranspose2d' | 'winogradConv2d';
  readonly params: Int32Array;
  readonly scratchBytes: number;
}

function block(ep: Epilogue, range: WorkRange | undefined, outChannels: number, outH: number, batch: number): { words: Int32Array } {
  const words = new Int32Array(PARAM_WORDS);
  words[P_ACT] = ACTIVATIONS[ep.activation];
  new Float32Array(words.buffer)[P_SLOPE] = ep.slope ?? 0;
  words[P_CO_START] = range?.coStart ?? 0;
  words[P_CO_END] = range?.coEnd ?? outChannels;
  words[P_ROW_START] = range?.rowStart ?? 0;
  words[P_ROW_END] = range?.rowEnd ?? outH;
  words[P_BATCH_START] = range?.batchStart ?? 0;
  words[P_BATCH_END] = range?.batchEnd ?? batch;
  return { words };
}

/** The descriptor of a conv2d block (see {@link KernelInstance.run}); offsets are of image 0. */
export function conv2dDescriptor(g: Conv2dGeometry, xOff: number, wOff: number, biasOff: number, outOff: number, ep: Epilogue = NO_EPILOGUE, range?: WorkRange): KernelDescriptor {
  const { words } = block(ep, range, g.outChannels, g.outH, g.batch);
  words[P_IN_C] = g.inChannels; words[P_IN_H] = g.inH; words[P_IN_W] = g.inW;
  words[P_OUT_C] = g.outChannels; words[P_OUT_H] = g.outH; words[P_OUT_W] = g.outW;
  words[P_K_H] = g.kernelH; words[P_K_W] = g.kernelW; words[P_S_H] = g.strideH; words[P_S_W] = g.strideW;
  words[P_D_H] = g.dilationH; words[P_D_W] = g.dilationW; words[P_GROUPS] = g.groups;
  words[P_IPG] = g.inPerGroup; words[P_OPG] = g.outPerGroup;
  words[P_PAD_T] = g.pad.top; words[P_PAD_L] = g.pad.left; words[P_PAD_B] = g.pad.bottom; words[P_PAD_R] = g.pad.right;
  words[P_MODE] = PAD_MODES[g.paddingMode];
  words[P_X] = xOff; words[P_W] = wOff; words[P_BIAS] = biasOff; words[P_OUT] = outOff;
  words[P_X_IMAGE] = g.inChannels * g.inH * g.inW * 4;
  words[P_OUT_IMAGE] = g.outChannels * g.outH * g.outW * 4;
  words[P_STRIP] = rowsKernelStrip(g);
  return { ...directConv2dKernel(g), params: words };
}

/** The descriptor of a convTranspose2d block (see {@link KernelInstance.run}); offsets are of image 0. */
export function convTranspose2dDescriptor(g: ConvTranspose2dGeometry, xOff: number, wOff: number, biasOff: number, outOff: number, ep: Epilogue = NO_EPILOGUE, range?: WorkRange): KernelDescriptor {
  const { words } = block(ep, range, g.outChannels, g.outH, g.batch);
  words[P_IN_C] = g.inChannels; words[P_IN_H] = g.inH; words[P_IN_W] = g.inW;
  words[P_OUT_C] = g.outChannels; words[P_OUT_H] = g.outH; words[P_OUT_W] = g.outW;
  words[P_K_H] = g.kernelH; words[P_K_W] = g.kernelW; words[P_S_H] = g.strideH; words[P_S_W] = g.strideW;
  words[P_D_H] = g.dilationH; words[P_D_W] = g.dilationW; words[P_GROUPS] = g.groups;
  words[P_IPG] = g.inPerGroup; words[P_OPG] = g.outPerGroup;
  words[P_PAD_T] = g.padH; words[P_PAD_L] = g.padW;
  words[P_X] = xOff; words[P_W] = wOff; words[P_BIAS] = biasOff; words[P_OUT] = outOff;
  words[P_X_IMAGE] = g.inChannels * g.inH * g.inW * 4;
  words[P_OUT_IMAGE] = g.outChannels * g.outH * g.outW * 4;
  return { kernel: 'convTranspose2d', params: words, scratchBytes: convTranspose2dScratchBytes(g) };
}

const NO_EPILOGUE: Epilogue = Object.freeze({ activation: 'none' });
const NO_WORDS: readonly number[] = Object.freeze([]);
