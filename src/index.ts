/**
 * unet-pipeline: public exports only.
 */
export * from './errors.js';
export { Tensor, shapeSize, contiguousStrides } from './tensor/tensor.js';
export * from './ops/geometry.js';
export type { IntOrPair, Pair, Conv2dPadding, PaddingMode } from './ops/params.js';
export {
  conv2d, convTranspose2d, maxPool2d, avgPool2d, batchNorm2d, relu, leakyRelu, sigmoid, tanh, softmax, concat, pad, add, mul,
  interpolate, PAD_MODES, INTERPOLATE_MODES,
} from './ops/functional.js';
export type {
  BackendOption, Conv2dOptions, ConvTranspose2dOptions, MaxPool2dOptions, AvgPool2dOptions, BatchNorm2dOptions,
  LeakyReluOptions, PadOptions, InterpolateOptions,
} from './ops/functional.js';
export { registerBackend, setBackend, getBackend, listBackends } from './ops/backend.js';
export type { Backend } from './ops/backend.js';
export { referenceBackend } from './ops/reference/index.js';
