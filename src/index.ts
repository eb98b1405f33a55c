/**
 * unet-pipeline: public exports only.
 */
export * from './errors.js';
export { Tensor, shapeSize, contiguousStrides } from './tensor/tensor.js';
export * from './ops/geometry.js';
export type { IntOrPair, Pair, Conv2dPadding, PaddingMode } from './ops/params.js';
