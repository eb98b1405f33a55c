/**
 * Entry of the kernel module. Built twice by tools/build-wasm.mjs: `RELAXED=1` (relaxed-SIMD FMA) and
 * `RELAXED=0` (plain SIMD128). The module imports a shared `env.memory`, has no runtime heap (`--runtime stub`,
 * all allocation happens in JS, src/kernels/memory.ts); its only static data (Math.exp/log tables, a few KiB at
 * byte 1024) lies in the allocator's reserved first 64 KiB.
 */
export { conv2d, conv2dRows, depthwiseConv2d } from './conv';
export { convTranspose2d } from './conv_transpose';
export { gemmPanels } from './gemm';
export { maxPool2d, avgPool2d } from './pool';
export { activation, binary, channelAffine, softmax, gather2d, bilinear } from './elementwise';
export { winogradConv2d } from './winograd';
