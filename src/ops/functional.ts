/**
 * Functional ops with PyTorch semantics (torch.nn.functional, torch 1.13), synchronous, NCHW float32.
 *
 * Every op follows the same three steps: validate and normalize its options once (refusing exactly where PyTorch
 * refuses, with a stable error code), compute one geometry object (src/ops/geometry.ts), then call the kernel of
 * the selected backend (src/ops/backend.ts). Kernels never check anything.
 *
 * Options take a number or an `[h, w]` pair wherever PyTorch takes `int | tuple`; defaults are PyTorch's. Every
 * op accepts `backend` to pick a registered backend for that call (default: the current one, see setBackend).
 */
import { formatShape, invalidParameter, invalidType, outputTooSmall, shapeMismatch } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { getBackend, listBackends, type Backend } from './backend.js';
import {
  conv2dGeometry,
  convTranspose2dGeometry,
  interpolateGeometry,
  padGeometry,
  pool2dGeometry,
  type ActivationKind,
  type BinaryOp,
  type InterpolateMode,
  type PadMode,
} from './geometry.js';
import {
  PADDING_MODES,
  toBool,
  toChoice,
  toConvPadding,
  toInt,
  toOptions,
  toPair,
  type Conv2dPadding,
  type IntOrPair,
  type PaddingMode,
} from './params.js';
import { checkBackendName, checkFinite, checkNonEmpty, checkRank, checkTensor, checkVector } from './validate.js';

/** Option every functional op accepts. */
export interface BackendOption {
  /** Name of a registered backend ('reference', 'wasm', …) for this call; default: the current backend. */
  backend?: string;
}

export interface Conv2dOptions extends BackendOption {
  /** Default 1. */
  stride?: IntOrPair;
  /** Symmetric zero/mode padding, or 'same' (stride 1 only; odd extra on bottom/right) or 'valid'. Default 0. */
  padding?: Conv2dPadding;
  /** Default 1. */
  dilation?: IntOrPair;
  /** Default 1. Cin and Cout must both be divisible by it. */
  groups?: number;
  /** How the padding is filled (nn.Conv2d's padding_mode). Default 'zeros'. */
  paddingMode?: PaddingMode;
}

export interface ConvTranspose2dOptions extends BackendOption {
  /** Default 1. */
  stride?: IntOrPair;
  /** Removed from each side of the full output. Default 0. */
  padding?: IntOrPair;
  /** Added to the bottom/right of the output; must be < stride or < dilation. Default 0. */
  outputPadding?: IntOrPair;
  /** Default 1. */
  dilation?: IntOrPair;
  /** Default 1. */
  groups?: number;
}

export interface MaxPool2dOptions extends BackendOption {
  /** Required. */
  kernelSize: IntOrPair;
  /** Default: kernelSize. */
  stride?: IntOrPair | null;
  /** At most half the kernel size. Default 0. */
  padding?: IntOrPair;
  /** Default 1. */
  dilation?: IntOrPair;
  /** Round the output size up instead of down. Default false. */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions extends BackendOption {
  /** Required. */
  kernelSize: IntOrPair;
  /** Default: kernelSize. */
  stride?: IntOrPair | null;
  /** At most half the kernel size. Default 0. */
  padding?: IntOrPair;
  /** Default false. */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor. Default true. */
  countIncludePad?: boolean;
  /** A non-zero integer used as the divisor of every window. Default: none. */
  divisorOverride?: number | null;
}

export interface BatchNorm2dOptions extends BackendOption {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

export interface LeakyReluOptions extends BackendOption {
  /** Slope for x < 0. Default 0.01. */
  negativeSlope?: number;
}

export interface PadOptions extends BackendOption {
  /** Default 'constant'. */
  mode?: PadMode;
  /** Fill value of 'constant'. Default 0. */
  value?: number;
}

export interface InterpolateOptions extends BackendOption {
  /** Output [h, w] (or one number for both). Exactly one of size and scaleFactor. */
  size?: IntOrPair;
  /** Output = floor(input · scaleFactor); the factor itself drives the sampling (recompute_scale_factor unset). */
  scaleFactor?: number | readonly [number, number];
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  /** Bilinear only (PyTorch refuses it for nearest). Default false. */
  alignCorners?: boolean;
}

/** The one table of pad modes. */
export const PAD_MODES: readonly PadMode[] = Object.freeze(['constant', 'reflect', 'replicate', 'circular']);
/** The one table of interpolate modes. */
export const INTERPOLATE_MODES: readonly InterpolateMode[] = Object.freeze(['nearest', 'bilinear']);

function backendFor(where: string, name: unknown): Backend {
  const n = checkBackendName(where, name);
  if (n === undefined) return getBackend();
  if (!listBackends().includes(n)) {
    throw invalidParameter(where, 'backend', `a registered backend (${listBackends().map((b) => `'${b}'`).join(', ')})`, n);
  }
  return getBackend(n);
}

/** Accept CHW (unbatched, as torch) or NCHW; return the NCHW shape and whether to drop the batch afterwards. */
function asBatched(where: string, x: Tensor): { shape: number[]; unbatched: boolean } {
  checkRank(where, 'input', x, [3, 4], 'NCHW, or CHW without a batch');
  checkNonEmpty(where, 'input', x, x.rank - 3);
  return x.rank === 3 ? { shape: [1, ...x.shape], unbatched: true } : { shape: x.shape.slice(), unbatched: false };
}

function result(shape: number[], unbatched: boolean): Tensor {
  return new Tensor(unbatched ? shape.slice(1) : shape);
}

function optionalPair(where: string, name: string, value: unknown, fallback: IntOrPair, min: number): [number, number] {
  return toPair(where, name, value === undefined ? fallback : value, min);
}

/**
 * 2-D convolution (torch.nn.functional.conv2d, plus nn.Conv2d's paddingMode).
 *
 * @param x input [N, Cin, H, W] (or [Cin, H, W])
 * @param weight [Cout, Cin/groups, kH, kW]
 * @param bias [Cout] or null
 * @returns [N, Cout, oH, oW] with o = floor((i + 2p - d(k-1) - 1)/s) + 1
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for non-tensors and option values of the wrong type
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for out-of-range options ('same' with stride > 1, reflect padding >=
 *   input size, circular padding > input size, …); ERR_SHAPE_MISMATCH for ranks, channels vs groups, bias length;
 *   ERR_OUTPUT_SIZE when the output would be empty
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options?: Conv2dOptions): Tensor {
  const where = 'conv2d';
  checkTensor(where, 'input', x);
  checkTensor(where, 'weight', weight);
  const o = toOptions(where, options);
  const stride = optionalPair(where, 'stride', o.stride, 1, 1);
  const dilation = optionalPair(where, 'dilation', o.dilation, 1, 1);
  const padding = toConvPadding(where, o.padding === undefined ? 0 : o.padding);
  const groups = toInt(where, 'groups', o.groups === undefined ? 1 : o.groups, 1);
  const paddingMode = o.paddingMode === undefined ? 'zeros' : toChoice(where, 'paddingMode', o.paddingMode, PADDING_MODES);
  const backend = backendFor(where, o.backend);
  const { shape, unbatched } = asBatched(where, x);
  checkRank(where, 'weight', weight, [4], '[Cout, Cin/groups, kH, kW]');
  checkNonEmpty(where, 'weight', weight, 0);
  const [cout, cinPerGroup] = weight.shape as [number, number, number, number];
  const cin = shape[1]!;
  if (cout % groups !== 0) {
    throw shapeMismatch(where, `expected weight.shape[0] (out channels) divisible by groups=${groups} but received weight ${formatShape(weight.shape)}`);
  }
  if (cin !== cinPerGroup * groups) {
    throw shapeMismatch(
      where,
      `expected input with ${cinPerGroup * groups} channels (weight.shape[1]=${cinPerGroup} × groups=${groups}) but received ` +
        `input ${formatShape(x.shape)} with ${cin} channels (weight ${formatShape(weight.shape)})`,
    );
  }
  const b = bias === null || bias === undefined ? null : checkVector(where, 'bias', bias, cout);
  if (padding.kind === 'same' && (stride[0] !== 1 || stride[1] !== 1)) {
    throw invalidParameter(where, 'padding', "stride 1 with padding 'same' (PyTorch does not support 'same' for strided convolutions)", {
      raw: `'same' with stride [${stride.join(', ')}]`,
    });
  }
  const g = conv2dGeometry(where, { x: shape, w: weight.shape, stride, dilation, padding, groups, paddingMode });
  if (paddingMode === 'reflect' || paddingMode === 'circular') {
    // F.pad (which nn.Conv2d uses for these modes) refuses reflect pads >= size and circular pads > size.
    const limitH = paddingMode === 'reflect' ? g.inH - 1 : g.inH;
    const limitW = paddingMode === 'reflect' ? g.inW - 1 : g.inW;
    const { top, bottom, left, right } = g.pad;
    if (Math.max(top, bottom) > limitH || Math.max(left, right) > limitW) {
      throw invalidParameter(
        where,
        'padding',
        `${paddingMode} padding ${paddingMode === 'reflect' ? '<' : '<='} the input size (H=${g.inH}, W=${g.inW})`,
        { raw: `pads (top ${top}, bottom ${bottom}, left ${left}, right ${right}) for input ${formatShape(x.shape)}` },
      );
    }
  }
  const out = new Tensor([g.batch, g.outChannels, g.outH, g.outW]);
  backend.conv2d(g, x.data, weight.data, b, out.data);
  return unbatched ? out.reshape(out.shape.slice(1)) : out;
}

/**
 * 2-D transposed convolution (torch.nn.functional.conv_transpose2d).
 *
 * @param x input [N, Cin, H, W] (or [Cin, H, W])
 * @param weight [Cin, Cout/groups, kH, kW]
 * @param bias [Cout] or null
 * @returns [N, Cout, oH, oW] with o = (i-1)s - 2p + d(k-1) + outputPadding + 1
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for wrong types
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for out-of-range options (outputPadding >= max(stride, dilation));
 *   ERR_SHAPE_MISMATCH for ranks, channels, groups, bias length; ERR_OUTPUT_SIZE when the output would be empty
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null, options?: ConvTranspose2dOptions): Tensor {
  const where = 'convTranspose2d';
  checkTensor(where, 'input', x);
  checkTensor(where, 'weight', weight);
  const o = toOptions(where, options);
  const stride = optionalPair(where, 'stride', o.stride, 1, 1);
  const padding = optionalPair(where, 'padding', o.padding, 0, 0);
  const outputPadding = optionalPair(where, 'outputPadding', o.outputPadding, 0, 0);
  const dilation = optionalPair(where, 'dilation', o.dilation, 1, 1);
  const groups = toInt(where, 'groups', o.groups === undefined ? 1 : o.groups, 1);
  const backend = backendFor(where, o.backend);
  const { shape, unbatched } = asBatched(where, x);
  checkRank(where, 'weight', weight, [4], '[Cin, Cout/groups, kH, kW]');
  checkNonEmpty(where, 'weight', weight, 0);
  const [wIn, coutPerGroup] = weight.shape as [number, number, number, number];
  if (wIn % groups !== 0) {
    throw shapeMismatch(where, `expected weight.shape[0] (in channels) divisible by groups=${groups} but received weight ${formatShape(weight.shape)}`);
  }
  if (shape[1] !== wIn) {
    throw shapeMismatch(
      where,
      `expected input with ${wIn} channels (weight.shape[0]) but received input ${formatShape(x.shape)} with ${shape[1]} channels ` +
        `(weight ${formatShape(weight.shape)})`,
    );
  }
  for (let a = 0; a < 2; a++) {
    if (outputPadding[a]! >= stride[a]! && outputPadding[a]! >= dilation[a]!) {
      throw invalidParameter(where, 'outputPadding', `values smaller than stride or dilation (stride [${stride.join(', ')}], dilation [${dilation.join(', ')}])`, {
        raw: `[${outputPadding.join(', ')}]`,
      });
    }
  }
  const b = bias === null || bias === undefined ? null : checkVector(where, 'bias', bias, coutPerGroup * groups);
  const g = convTranspose2dGeometry(where, { x: shape, w: weight.shape, stride, padding, outputPadding, dilation, groups });
  const out = new Tensor([g.batch, g.outChannels, g.outH, g.outW]);
  backend.convTranspose2d(g, x.data, weight.data, b, out.data);
  return unbatched ? out.reshape(out.shape.slice(1)) : out;
}

function poolParams(where: string, o: Partial<MaxPool2dOptions & AvgPool2dOptions>, withDilation: boolean) {
  if (o.kernelSize === undefined) throw invalidType(where, 'kernelSize', 'an integer >= 1 or an [h, w] pair', undefined);
  const kernel = toPair(where, 'kernelSize', o.kernelSize, 1);
  const stride = o.stride === undefined || o.stride === null ? kernel : toPair(where, 'stride', o.stride, 1);
  const padding = optionalPair(where, 'padding', o.padding, 0, 0);
  const dilation: [number, number] = withDilation ? optionalPair(where, 'dilation', o.dilation, 1, 1) : [1, 1];
  const ceilMode = o.ceilMode === undefined ? false : toBool(where, 'ceilMode', o.ceilMode);
  // pool2d_shape_check: "pad should be smaller than or equal to half of kernel size".
  if (padding[0] > Math.floor(kernel[0] / 2) || padding[1] > Math.floor(kernel[1] / 2)) {
    throw invalidParameter(where, 'padding', `at most half the kernel size (kernelSize [${kernel.join(', ')}] allows [${kernel.map((k) => Math.floor(k / 2)).join(', ')}])`, {
      raw: `[${padding.join(', ')}]`,
    });
  }
  return { kernel, stride, padding, dilation, ceilMode };
}

/**
 * 2-D max pooling (torch.nn.functional.max_pool2d).
 * @param x [N, C, H, W] (or [C, H, W])
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for wrong types or a missing kernelSize
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for out-of-range options (padding > kernelSize/2);
 *   ERR_SHAPE_MISMATCH for a wrong rank; ERR_OUTPUT_SIZE when the output would be empty
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  const where = 'maxPool2d';
  checkTensor(where, 'input', x);
  const o = toOptions(where, options);
  const p = poolParams(where, o, true);
  const backend = backendFor(where, o.backend);
  const { shape, unbatched } = asBatched(where, x);
  const g = pool2dGeometry(where, { x: shape, ...p });
  const out = result([g.batch, g.channels, g.outH, g.outW], unbatched);
  backend.maxPool2d(g, x.data, out.data);
  return out;
}

/**
 * 2-D average pooling (torch.nn.functional.avg_pool2d).
 * @param x [N, C, H, W] (or [C, H, W])
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for wrong types or a missing kernelSize
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for out-of-range options (padding > kernelSize/2, divisorOverride 0);
 *   ERR_SHAPE_MISMATCH for a wrong rank; ERR_OUTPUT_SIZE when the output would be empty
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const where = 'avgPool2d';
  checkTensor(where, 'input', x);
  const o = toOptions(where, options);
  const p = poolParams(where, o, false);
  const countIncludePad = o.countIncludePad === undefined ? true : toBool(where, 'countIncludePad', o.countIncludePad);
  let divisor = 0;
  if (o.divisorOverride !== undefined && o.divisorOverride !== null) {
    const d = o.divisorOverride;
    if (typeof d !== 'number' || !Number.isFinite(d)) throw invalidType(where, 'divisorOverride', 'a non-zero integer', d);
    if (!Number.isInteger(d) || d === 0) throw invalidParameter(where, 'divisorOverride', 'a non-zero integer', d);
    divisor = d;
  }
  const backend = backendFor(where, o.backend);
  const { shape, unbatched } = asBatched(where, x);
  const g = pool2dGeometry(where, { x: shape, ...p });
  const out = result([g.batch, g.channels, g.outH, g.outW], unbatched);
  backend.avgPool2d(g, x.data, out.data, countIncludePad, divisor);
  return out;
}

/**
 * Batch normalization in eval mode (torch.nn.functional.batch_norm with training=False):
 * y = (x - mean) / sqrt(var + eps) · weight + bias, per channel (dim 1).
 * @param x [N, C, …] (rank >= 2)
 * @param runningMean, runningVar, weight, bias tensors of C elements; weight/bias may be null or omitted
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for wrong types
 * @throws {RangeError} ERR_SHAPE_MISMATCH for a rank < 2 or vectors without C elements
 */
export function batchNorm2d(
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options?: BatchNorm2dOptions,
): Tensor {
  const where = 'batchNorm2d';
  checkTensor(where, 'input', x);
  const o = toOptions(where, options);
  const eps = o.eps === undefined ? 1e-5 : checkFinite(where, 'eps', o.eps);
  const backend = backendFor(where, o.backend);
  checkRank(where, 'input', x, [2, 3, 4, 5], '[N, C, …]');
  const c = x.shape[1]!;
  const mean = checkVector(where, 'runningMean', runningMean, c);
  const variance = checkVector(where, 'runningVar', runningVar, c);
  const w = weight === null || weight === undefined ? null : checkVector(where, 'weight', weight, c);
  const b = bias === null || bias === undefined ? null : checkVector(where, 'bias', bias, c);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = (w === null ? 1 : w[i]!) / Math.sqrt(variance[i]! + eps);
    scale[i] = s;
    shift[i] = (b === null ? 0 : b[i]!) - mean[i]! * s;
  }
  const out = new Tensor(x.shape);
  backend.channelAffine({ batch: x.shape[0]!, channels: c, spatial: x.shape.slice(2).reduce((a, d) => a * d, 1) }, x.data, scale, shift, out.data);
  return out;
}

function activation(where: string, kind: ActivationKind, x: Tensor, options: (BackendOption & { negativeSlope?: number }) | undefined): Tensor {
  checkTensor(where, 'input', x);
  const o = toOptions(where, options);
  const negativeSlope = o.negativeSlope === undefined ? 0.01 : checkFinite(where, 'negativeSlope', o.negativeSlope);
  const backend = backendFor(where, o.backend);
  const out = new Tensor(x.shape);
  backend.activation({ kind, size: x.size, negativeSlope }, x.data, out.data);
  return out;
}

/** max(x, 0), elementwise, any shape. */
export function relu(x: Tensor, options?: BackendOption): Tensor {
  return activation('relu', 'relu', x, options);
}

/** x for x >= 0, negativeSlope·x otherwise (default slope 0.01), any shape. */
export function leakyRelu(x: Tensor, options?: LeakyReluOptions): Tensor {
  return activation('leakyRelu', 'leakyRelu', x, options);
}

/** 1 / (1 + exp(-x)), elementwise, any shape. */
export function sigmoid(x: Tensor, options?: BackendOption): Tensor {
  return activation('sigmoid', 'sigmoid', x, options);
}

/** tanh(x), elementwise, any shape. */
export function tanh(x: Tensor, options?: BackendOption): Tensor {
  return activation('tanh', 'tanh', x, options);
}

/**
 * Softmax over the channel dimension (dim 1) of an [N, C, …] tensor.
 * @throws {RangeError} ERR_SHAPE_MISMATCH for a rank < 2
 */
export function softmax(x: Tensor, options?: BackendOption): Tensor {
  const where = 'softmax';
  checkTensor(where, 'input', x);
  const o = toOptions(where, options);
  const backend = backendFor(where, o.backend);
  checkRank(where, 'input', x, [2, 3, 4, 5], '[N, C, …]; softmax runs over dim 1');
  const [n, c] = x.shape as [number, number];
  const out = new Tensor(x.shape);
  if (x.size > 0) backend.softmax({ batch: n, channels: c, spatial: x.size / (n * c) }, x.data, out.data);
  return out;
}

/**
 * Concatenate along dim 1 (channels). All tensors have the same rank (>= 2) and agree on every other dimension.
 * @throws {TypeError} ERR_INVALID_ARG_TYPE if `tensors` is not a non-empty array of Tensors
 * @throws {RangeError} ERR_SHAPE_MISMATCH for ranks or sizes that differ outside dim 1
 */
export function concat(list: readonly Tensor[], options?: BackendOption): Tensor {
  const where = 'concat';
  if (!Array.isArray(list) || list.length === 0) throw invalidType(where, 'tensors', 'a non-empty array of Tensors', list);
  const tensors: readonly Tensor[] = list;
  tensors.forEach((t, i) => checkTensor(where, `tensors[${i}]`, t));
  const o = toOptions(where, options);
  const backend = backendFor(where, o.backend);
  const first = tensors[0]!;
  checkRank(where, 'tensors[0]', first, [2, 3, 4, 5], '[N, C, …]');
  const channels: number[] = [];
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    const ok = t.rank === first.rank && t.shape.every((d, k) => k === 1 || d === first.shape[k]);
    if (!ok) {
      throw shapeMismatch(
        where,
        `expected tensors[${i}] to match tensors[0] ${formatShape(first.shape)} in every dimension except 1 but received ${formatShape(t.shape)}`,
      );
    }
    channels.push(t.shape[1]!);
  }
  const outChannels = channels.reduce((a, b) => a + b, 0);
  const shape = first.shape.slice();
  shape[1] = outChannels;
  const out = new Tensor(shape);
  const batch = first.shape[0]!;
  const spatial = first.shape.slice(2).reduce((a, b) => a * b, 1);
  backend.concat({ batch, channels, outChannels, spatial }, tensors.map((t) => t.data), out.data);
  return out;
}

/**
 * Pad (or crop, with negative amounts) the last two dimensions, as torch.nn.functional.pad with a 4-element pad
 * (a 2-element pad touches only the last dimension).
 * @param pads [left, right, top, bottom] or [left, right]
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for wrong types
 * @throws {RangeError} ERR_INVALID_ARG_VALUE where PyTorch refuses (reflect pad >= size, circular pad > size,
 *   non-constant modes on unsupported ranks, empty results); ERR_SHAPE_MISMATCH for a rank below the padded dims
 */
export function pad(x: Tensor, pads: readonly number[], options?: PadOptions): Tensor {
  const where = 'pad';
  checkTensor(where, 'input', x);
  if (!Array.isArray(pads) || (pads.length !== 2 && pads.length !== 4)) {
    throw invalidType(where, 'pads', 'an array [left, right, top, bottom] or [left, right] of integers', pads);
  }
  pads.forEach((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p)) throw invalidType(where, `pads[${i}]`, 'an integer', p);
  });
  const o = toOptions(where, options);
  const mode = o.mode === undefined ? 'constant' : toChoice(where, 'mode', o.mode, PAD_MODES);
  const value = o.value === undefined ? 0 : checkFinite(where, 'value', o.value);
  if (mode !== 'constant' && o.value !== undefined && o.value !== 0) {
    throw invalidParameter(where, 'value', `no fill value with mode '${mode}' (only 'constant' uses it)`, o.value);
  }
  const backend = backendFor(where, o.backend);
  const spatialDims = pads.length / 2;
  if (mode === 'constant') {
    checkRank(where, 'input', x, [1, 2, 3, 4, 5].filter((r) => r >= spatialDims), `at least ${spatialDims} dimensions`);
  } else {
    // F.pad's non-constant modes pad the trailing 1 or 2 dims of an unbatched or batched tensor only.
    checkRank(where, 'input', x, [spatialDims + 1, spatialDims + 2], `${spatialDims + 1}D or ${spatialDims + 2}D for ${spatialDims}-dim ${mode} padding`);
  }
  const g = padGeometry({ x: x.shape, pads, mode, value });
  const { inH, inW, outH, outW } = g;
  const { left, right, top, bottom } = g.pad;
  if (mode !== 'constant') checkNonEmpty(where, 'input', x, x.rank - spatialDims - 1);
  const check = (ok: boolean, expected: string) => {
    if (!ok) {
      throw invalidParameter(where, 'pads', expected, { raw: `[${pads.join(', ')}] for input ${formatShape(x.shape)} (mode '${mode}')` });
    }
  };
  if (mode === 'reflect') {
    check(left < inW && right < inW && (pads.length === 2 || (top < inH && bottom < inH)), 'reflect pads smaller than the padded dimension');
  } else if (mode === 'circular') {
    check(left <= inW && right <= inW && (pads.length === 2 || (top <= inH && bottom <= inH)), 'circular pads at most the padded dimension (no wrapping around more than once)');
  }
  check(outH >= 0 && outW >= 0, 'negative pads that leave a size >= 0');
  if (mode === 'circular') {
    // PyTorch crops first, then wraps the kept part; a wrap longer than that part reads unwritten memory there.
    const keptW = inW + Math.min(left, 0) + Math.min(right, 0);
    const keptH = inH + Math.min(top, 0) + Math.min(bottom, 0);
    check(Math.max(left, right) <= keptW && Math.max(top, bottom) <= keptH, 'circular pads at most the size left after negative pads crop');
  }
  const out = new Tensor(g.outShape);
  if (out.size > 0) backend.pad(g, x.data, out.data);
  return out;
}

function broadcast(where: string, a: Tensor, b: Tensor): { shape: number[]; aS: number[]; bS: number[] } {
  if (a.rank > 4 || b.rank > 4) {
    throw shapeMismatch(where, `expected operands of rank <= 4 but received ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const pad4 = (s: readonly number[]) => [...new Array<number>(4 - s.length).fill(1), ...s];
  const as = pad4(a.shape);
  const bs = pad4(b.shape);
  const shape: number[] = [];
  for (let i = 0; i < 4; i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x !== y && x !== 1 && y !== 1) {
      throw shapeMismatch(
        where,
        `expected shapes that broadcast (each dimension equal or 1) but received ${formatShape(a.shape)} and ${formatShape(b.shape)} ` +
          `(size ${x} vs ${y} at dimension ${i - (4 - Math.max(a.rank, b.rank))})`,
      );
    }
    shape.push(x === 1 ? y : x);
  }
  const strides = (s: number[]) => {
    const st = [0, 0, 0, 0];
    let acc = 1;
    for (let i = 3; i >= 0; i--) {
      st[i] = s[i] === 1 ? 0 : acc;
      acc *= s[i]!;
    }
    return st;
  };
  return { shape, aS: strides(as), bS: strides(bs) };
}

function binary(where: string, op: BinaryOp, a: Tensor, b: Tensor | number, options: BackendOption | undefined): Tensor {
  checkTensor(where, 'a', a);
  let bt: Tensor;
  if (typeof b === 'number') {
    bt = new Tensor([], Float32Array.of(b));
  } else {
    bt = checkTensor(where, 'b', b);
  }
  const o = toOptions(where, options);
  const backend = backendFor(where, o.backend);
  const { shape, aS, bS } = broadcast(where, a, bt);
  const rank = Math.max(a.rank, bt.rank);
  const out = new Tensor(shape.slice(4 - rank));
  if (out.size > 0) {
    backend.binary(
      { op, shape: shape as [number, number, number, number], aStrides: aS as [number, number, number, number], bStrides: bS as [number, number, number, number] },
      a.data,
      bt.data,
      out.data,
    );
  }
  return out;
}

/**
 * a + b with broadcasting (same shape, a scalar, a per-channel [1, C, 1, 1] tensor, …; ranks up to 4).
 * @throws {RangeError} ERR_SHAPE_MISMATCH for shapes that do not broadcast
 */
export function add(a: Tensor, b: Tensor | number, options?: BackendOption): Tensor {
  return binary('add', 'add', a, b, options);
}

/**
 * a · b with broadcasting (same shape, a scalar, a per-channel [1, C, 1, 1] tensor, …; ranks up to 4).
 * @throws {RangeError} ERR_SHAPE_MISMATCH for shapes that do not broadcast
 */
export function mul(a: Tensor, b: Tensor | number, options?: BackendOption): Tensor {
  return binary('mul', 'mul', a, b, options);
}

/**
 * Resize the spatial dims of an NCHW tensor (torch.nn.functional.interpolate, torch 1.13 semantics): 'nearest'
 * picks floor(dst · scale) with scale = in/out (or 1/scaleFactor when a factor is given); 'bilinear' samples at
 * (dst + 0.5)·scale - 0.5 (alignCorners false) or dst·(in-1)/(out-1) (alignCorners true).
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for wrong types or neither size nor scaleFactor
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for both size and scaleFactor, alignCorners with 'nearest', output
 *   sizes < 1; ERR_SHAPE_MISMATCH for a rank other than 4
 */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  const where = 'interpolate';
  checkTensor(where, 'input', x);
  const o = toOptions(where, options);
  const mode = o.mode === undefined ? 'nearest' : toChoice(where, 'mode', o.mode, INTERPOLATE_MODES);
  let alignCorners = false;
  if (o.alignCorners !== undefined && o.alignCorners !== null) {
    alignCorners = toBool(where, 'alignCorners', o.alignCorners);
    if (mode === 'nearest') {
      throw invalidParameter(where, 'alignCorners', "no alignCorners with mode 'nearest' (only interpolating modes such as 'bilinear' take it)", alignCorners);
    }
  }
  const hasSize = o.size !== undefined && o.size !== null;
  const hasScale = o.scaleFactor !== undefined && o.scaleFactor !== null;
  if (hasSize && hasScale) throw invalidParameter(where, 'size', 'only one of size and scaleFactor', { raw: 'both' });
  if (!hasSize && !hasScale) throw invalidType(where, 'size', 'one of size or scaleFactor to be defined', undefined);
  const backend = backendFor(where, o.backend);
  checkRank(where, 'input', x, [4], 'NCHW');
  checkNonEmpty(where, 'input', x, 1);
  let size: [number, number] | null = null;
  let factor: [number, number] | null = null;
  if (hasSize) {
    size = toPair(where, 'size', o.size, 1);
  } else {
    const sf = o.scaleFactor;
    const pair: unknown[] = Array.isArray(sf) ? sf : [sf, sf];
    if (pair.length !== 2) throw invalidType(where, 'scaleFactor', 'a positive number or an [h, w] pair', sf);
    pair.forEach((v, i) => {
      if (typeof v !== 'number') throw invalidType(where, `scaleFactor`, 'a positive number or an [h, w] pair', Array.isArray(sf) ? sf : v);
      if (!Number.isFinite(v) || v <= 0) throw invalidParameter(where, i === 0 ? 'scaleFactor' : 'scaleFactor[1]', 'a positive finite number', v);
    });
    factor = pair as [number, number];
  }
  const g = interpolateGeometry(where, { x: x.shape, size, scaleFactor: factor, mode, alignCorners });
  const out = new Tensor([x.shape[0]!, x.shape[1]!, g.outH, g.outW]);
  if (out.size > 0) backend.interpolate(g, x.data, out.data);
  return out;
}
