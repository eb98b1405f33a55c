/**
 * Entry of the kernel module. Built twice by tools/build-wasm.mjs: `RELAXED=1` (relaxed-SIMD FMA) and
 * `RELAXED=0` (plain SIMD128). The module imports a shared `env.memory`, has no runtime heap (`--runtime stub`,
 * all allocation happens in JS, src/kernels/memory.ts) and no data segments.
 */
export { conv2d, depthwiseConv2d } from './conv';
export { convTranspose2d } from './conv_transpose';
export { gemmPanels } from './gemm';
export { maxPool2d, avgPool2d } from './pool';
export { activation, binary, channelAffine, softmax, gather2d, bilinear } from './elementwise';
export { winogradConv2d } from './winograd';
