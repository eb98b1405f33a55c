/**
 * The reference backend: plain TypeScript kernels, O(output · kernel), no allocation per element. The oracle
 * that every faster backend is tested against.
 */
import type { Backend } from '../backend.js';
import { conv2dReference, convTranspose2dReference } from './conv.js';
import { activationReference, binaryReference, channelAffineReference, concatReference, softmaxReference } from './elementwise.js';
import { avgPool2dReference, maxPool2dReference } from './pool.js';
import { interpolateReference, padReference } from './resize.js';

export { conv2dReference, convTranspose2dReference, sourceIndex } from './conv.js';
export { avgPool2dReference, maxPool2dReference } from './pool.js';
export { activationReference, binaryReference, channelAffineReference, concatReference, softmaxReference } from './elementwise.js';
export { interpolateReference, padReference } from './resize.js';

export const referenceBackend: Backend = Object.freeze({
  name: 'reference',
  conv2d: conv2dReference,
  convTranspose2d: convTranspose2dReference,
  maxPool2d: maxPool2dReference,
  avgPool2d: avgPool2dReference,
  channelAffine: channelAffineReference,
  softmax: softmaxReference,
  activation: activationReference,
  binary: binaryReference,
  concat: concatReference,
  pad: padReference,
  interpolate: interpolateReference,
});
