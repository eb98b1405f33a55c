/**
 * Entry of the kernel module. Built twice by tools/build-wasm.mjs: `RELAXED=1` (relaxed-SIMD FMA) and
 * `RELAXED=0` (plain SIMD128). The module imports a shared `env.memory`, has no runtime heap (`--runtime stub`,
 * all allocation happens in JS, src/kernels/memory.ts); its only static data (Math.exp/log tables, a few KiB at
 * byte 1024) lies in the allocator's reserved first 64 KiB.
 */
export { gemmPanels } from './gemm';
export { maxPool2d, avgPool2d } from './pool';
export { activation, binary, channelAffine, softmax, gather2d, bilinear } from './elementwise';
export { winogradConv2d } from './winograd';

import { activateOutput, conv2dBody, conv2dRowsBody, depthwiseConv2dBody } from './conv';
import { convTranspose2dBody } from './conv_transpose';
import { ACT_LEAKY, ACT_NONE, ACT_RELU } from './simd';

// The conv kernels' entry points. Each body exists once per cheap activation, with the activation a constant
// folded into its stores; sigmoid and tanh (whose scalar calls would make V8 spill the hot loops) run the
// ACT_NONE copy and then a pass over the block the call stored (activateOutput).
const K_CONV2D = 0, K_ROWS = 1, K_DEPTHWISE = 2, K_TRANSPOSE = 3;
const P_ACT = 22;

/** General conv2d (wasm/conv.ts `conv2dBody`). */
export function conv2d(p: usize): void {
  withActivation(p, K_CONV2D);
}

/** Stride-1 conv2d with few taps per pixel (wasm/conv.ts `conv2dRowsBody`). */
export function conv2dRows(p: usize): void {
  withActivation(p, K_ROWS);
}

/** Depthwise conv2d (wasm/conv.ts `depthwiseConv2dBody`). */
export function depthwiseConv2d(p: usize): void {
  withActivation(p, K_DEPTHWISE);
}

/** convTranspose2d (wasm/conv_transpose.ts `convTranspose2dBody`). */
export function convTranspose2d(p: usize): void {
  withActivation(p, K_TRANSPOSE);
}

// @ts-ignore: decorator
@inline function withActivation(p: usize, kernel: i32): void {
  const act = load<i32>(p + (<usize>P_ACT << 2));
  if (act == ACT_RELU) body(p, kernel, ACT_RELU);
  else if (act == ACT_LEAKY) body(p, kernel, ACT_LEAKY);
  else {
    body(p, kernel, ACT_NONE);
    if (act != ACT_NONE) activateOutput(p, act);
  }
}

// @ts-ignore: decorator
@inline function body(p: usize, kernel: i32, act: i32): void {
  if (kernel == K_CONV2D) conv2dBody(p, act);
  else if (kernel == K_ROWS) conv2dRowsBody(p, act);
  else if (kernel == K_DEPTHWISE) depthwiseConv2dBody(p, act);
  else convTranspose2dBody(p, act);
}
