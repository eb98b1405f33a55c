/**
 * The kernel seam. Functional ops validate their arguments, compute one geometry object (src/ops/geometry.ts)
 * and then call a kernel through a `Backend`. Kernels never validate: they may assume that every array is a
 * contiguous NCHW buffer of exactly the size the geometry implies, that `out` does not alias an input, and that
 * every value in the geometry is consistent. A backend may overwrite all of `out` (it is not pre-zeroed).
 *
 * The plain-TypeScript reference backend is always registered as `'reference'` and is the default until another
 * backend (e.g. `'wasm'`) registers itself and calls {@link setBackend}. Each functional op also takes a
 * `backend` option to pick one per call.
 */
import { invalidParameter, invalidType } from '../errors.js';
import type {
  ActivationParams,
  BinaryGeometry,
  ChannelGeometry,
  ConcatGeometry,
  Conv2dGeometry,
  ConvTranspose2dGeometry,
  InterpolateGeometry,
  PadGeometry,
  Pool2dGeometry,
} from './geometry.js';
import { referenceBackend } from './reference/index.js';

/** A set of kernels. Every method writes its whole result into `out`. */
export interface Backend {
  readonly name: string;
  /** x [N, Cin, H, W], w [Cout, Cin/groups, kH, kW], bias [Cout] or null, out [N, Cout, oH, oW]; all paddingModes. */
  conv2d(g: Conv2dGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array): void;
  /** x [N, Cin, H, W], w [Cin, Cout/groups, kH, kW], bias [Cout] or null, out [N, Cout, oH, oW]. */
  convTranspose2d(g: ConvTranspose2dGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array): void;
  /** Max over each window; padded positions never win (PyTorch pads max pooling with -inf). */
  maxPool2d(g: Pool2dGeometry, x: Float32Array, out: Float32Array): void;
  /**
   * Mean over each window. The divisor is `divisorOverride` when non-zero; otherwise the window clipped to the
   * padded input (countIncludePad) or to the input itself (not countIncludePad), as PyTorch's AvgPool2d.
   */
  avgPool2d(g: Pool2dGeometry, x: Float32Array, out: Float32Array, countIncludePad: boolean, divisorOverride: number): void;
  /** out[n, c, i] = x[n, c, i] · scale[c] + shift[c] (batch norm in eval mode, folded by the op layer). */
  channelAffine(g: ChannelGeometry, x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array): void;
  /** Softmax over dim 1 (channels) at every (n, spatial position), max-subtracted. */
  softmax(g: ChannelGeometry, x: Float32Array, out: Float32Array): void;
  /** relu / leakyRelu / sigmoid / tanh over `p.size` elements. */
  activation(p: ActivationParams, x: Float32Array, out: Float32Array): void;
  /** out = a (op) b with broadcasting strides. */
  binary(g: BinaryGeometry, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** Concatenate along dim 1. */
  concat(g: ConcatGeometry, inputs: readonly Float32Array[], out: Float32Array): void;
  /** F.pad over the last two dims (constant, reflect, replicate, circular; negative pads crop). */
  pad(g: PadGeometry, x: Float32Array, out: Float32Array): void;
  /** F.interpolate (nearest / bilinear) over the last two dims. */
  interpolate(g: InterpolateGeometry, x: Float32Array, out: Float32Array): void;
}

const registry = new Map<string, Backend>([[referenceBackend.name, referenceBackend]]);
let current: Backend = referenceBackend;

/**
 * Add (or replace) a backend under `b.name`. Does not make it the default; call {@link setBackend} for that.
 * @throws {TypeError} ERR_INVALID_ARG_TYPE if `b` has no string name
 */
export function registerBackend(b: Backend): void {
  if (typeof b !== 'object' || b === null || typeof b.name !== 'string' || b.name.length === 0) {
    throw invalidType('registerBackend', 'backend', 'an object with a non-empty string name', b);
  }
  registry.set(b.name, b);
  if (current.name === b.name) current = b;
}

/**
 * Make a registered backend the default for every op called without a `backend` option.
 * @throws {RangeError} ERR_INVALID_ARG_VALUE if no backend has that name
 */
export function setBackend(name: string): void {
  current = getBackend(name);
}

/**
 * The backend registered as `name`, or the current default when `name` is omitted.
 * @throws {RangeError} ERR_INVALID_ARG_VALUE if no backend has that name
 */
export function getBackend(name?: string): Backend {
  if (name === undefined) return current;
  if (typeof name !== 'string') throw invalidType('getBackend', 'backend', 'a backend name string', name);
  const b = registry.get(name);
  if (b === undefined) {
    throw invalidParameter('getBackend', 'backend', `a registered backend (${listBackends().map((n) => `'${n}'`).join(', ')})`, name);
  }
  return b;
}

/** Names of all registered backends, in registration order. */
export function listBackends(): string[] {
  return [...registry.keys()];
}
