/**
 * THE place for output sizes and pads of convolution, transposed convolution and pooling.
 *
 * Every op computes one plain geometry object here (tfjs's computeConv2DInfo, but from one options object) and
 * every kernel — reference, wasm, worker — only reads it. The formulas (DESIGN.md, PyTorch docs):
 *   conv   o = floor((i + pBefore + pAfter - d(k-1) - 1) / s) + 1
 *   convT  o = (i-1)s - 2p + d(k-1) + outputPadding + 1
 *   pool   as conv with symmetric p, or with ceil instead of floor, where the last window must start inside the
 *          input or the left padding: if ceil and (o-1)s >= i + p then o -= 1 (PyTorch pooling_output_shape)
 *   'same' total pad d(k-1) at stride 1, top/left = floor(total/2), the odd extra on the bottom/right (PyTorch)
 *   'valid' no padding.
 * Validation of shapes against each other happens in the op layer; these functions assume normalized params and
 * throw only for results PyTorch refuses (output size < 1).
 */
import { outputTooSmall, formatShape } from '../errors.js';
import type { NormalizedPadding, Pair, PaddingMode } from './params.js';

/** Padding on the four sides of a spatial map. */
export interface Pads {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** Everything a conv2d kernel needs; shared by reference, wasm and worker code paths. */
export interface Conv2dGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outChannels: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly groups: number;
  /** inChannels / groups */
  readonly inPerGroup: number;
  /** outChannels / groups */
  readonly outPerGroup: number;
  readonly pad: Pads;
  readonly paddingMode: PaddingMode;
}

/** Everything a convTranspose2d kernel needs. */
export interface ConvTranspose2dGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outChannels: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly groups: number;
  readonly inPerGroup: number;
  readonly outPerGroup: number;
  /** The transposed conv's own `padding` (removed from each side of the full output). */
  readonly padH: number;
  readonly padW: number;
  readonly outputPaddingH: number;
  readonly outputPaddingW: number;
  /**
   * Pads of the equivalent stride-1 direct convolution over the zero-inserted input (the seed's identity):
   * top/left = d(k-1) - p, bottom/right = d(k-1) - p + outputPadding. May be negative (cropping).
   */
  readonly equivalentPad: Pads;
}

/** Everything a max/avg pool kernel needs (a conv with C→C, no weights). */
export interface Pool2dGeometry {
  readonly batch: number;
  readonly channels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  /** top/left = user padding; bottom/right = how far the last window reaches past the input (>= 0). */
  readonly pad: Pads;
  readonly ceilMode: boolean;
}

/** Output length of a convolution along one axis (floor rule). */
export function convOutSize(i: number, k: number, s: number, d: number, padBefore: number, padAfter: number): number {
  return Math.floor((i + padBefore + padAfter - d * (k - 1) - 1) / s) + 1;
}

/** Output length of a transposed convolution along one axis. */
export function convTransposeOutSize(i: number, k: number, s: number, d: number, p: number, outputPadding: number): number {
  return (i - 1) * s - 2 * p + d * (k - 1) + outputPadding + 1;
}

/** Output length of pooling along one axis, PyTorch's pooling_output_shape (ceil rule included). */
export function poolOutSize(i: number, k: number, s: number, d: number, p: number, ceilMode: boolean): number {
  const span = i + 2 * p - d * (k - 1) - 1;
  let o = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // The last pooling window must start inside the input or the left padding.
  if (ceilMode && (o - 1) * s >= i + p) o -= 1;
  return o;
}

/** 'same' padding along one axis: [before, after], the odd extra after (PyTorch). */
export function samePads(k: number, d: number): [number, number] {
  const total = d * (k - 1);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

export interface Conv2dGeometryInput {
  /** [N, C, H, W] */
  readonly x: readonly number[];
  /** [Cout, Cin/groups, kH, kW] */
  readonly w: readonly number[];
  readonly stride: Pair;
  readonly dilation: Pair;
  readonly padding: NormalizedPadding;
  readonly groups: number;
  readonly paddingMode: PaddingMode;
}

/**
 * @param where op (and node) name for messages
 * @throws {RangeError} ERR_OUTPUT_SIZE when an output size would be < 1
 */
export function conv2dGeometry(where: string, p: Conv2dGeometryInput): Conv2dGeometry {
  const [batch, inChannels, inH, inW] = p.x as [number, number, number, number];
  const [outChannels, , kernelH, kernelW] = p.w as [number, number, number, number];
  const [strideH, strideW] = p.stride;
  const [dilationH, dilationW] = p.dilation;
  let top: number, bottom: number, left: number, right: number;
  if (p.padding.kind === 'same') {
    [top, bottom] = samePads(kernelH, dilationH);
    [left, right] = samePads(kernelW, dilationW);
  } else if (p.padding.kind === 'valid') {
    top = bottom = left = right = 0;
  } else {
    top = bottom = p.padding.h;
    left = right = p.padding.w;
  }
  const outH = convOutSize(inH, kernelH, strideH, dilationH, top, bottom);
  const outW = convOutSize(inW, kernelW, strideW, dilationW, left, right);
  if (outH < 1 || outW < 1) {
    throw outputTooSmall(
      where,
      `output size is too small: input ${formatShape(p.x)} padded to (${inH + top + bottom}, ${inW + left + right}) ` +
        `is smaller than the dilated kernel (${dilationH * (kernelH - 1) + 1}, ${dilationW * (kernelW - 1) + 1}); ` +
        `computed output (${outH}, ${outW})`,
    );
  }
  return {
    batch, inChannels, inH, inW, outChannels, outH, outW, kernelH, kernelW, strideH, strideW, dilationH, dilationW,
    groups: p.groups,
    inPerGroup: inChannels / p.groups,
    outPerGroup: outChannels / p.groups,
    pad: { top, bottom, left, right },
    paddingMode: p.paddingMode,
  };
}

export interface ConvTranspose2dGeometryInput {
  /** [N, Cin, H, W] */
  readonly x: readonly number[];
  /** [Cin, Cout/groups, kH, kW] */
  readonly w: readonly number[];
  readonly stride: Pair;
  readonly padding: Pair;
  readonly outputPadding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
}

/** @throws {RangeError} ERR_OUTPUT_SIZE when an output size would be < 1 */
export function convTranspose2dGeometry(where: string, p: ConvTranspose2dGeometryInput): ConvTranspose2dGeometry {
  const [batch, inChannels, inH, inW] = p.x as [number, number, number, number];
  const [, outPerGroup, kernelH, kernelW] = p.w as [number, number, number, number];
  const [strideH, strideW] = p.stride;
  const [padH, padW] = p.padding;
  const [outputPaddingH, outputPaddingW] = p.outputPadding;
  const [dilationH, dilationW] = p.dilation;
  const outH = convTransposeOutSize(inH, kernelH, strideH, dilationH, padH, outputPaddingH);
  const outW = convTransposeOutSize(inW, kernelW, strideW, dilationW, padW, outputPaddingW);
  if (outH < 1 || outW < 1) {
    throw outputTooSmall(where, `output size is too small: input ${formatShape(p.x)} gives (${outH}, ${outW})`);
  }
  const eh = dilationH * (kernelH - 1) - padH;
  const ew = dilationW * (kernelW - 1) - padW;
  return {
    batch, inChannels, inH, inW,
    outChannels: outPerGroup * p.groups,
    outH, outW, kernelH, kernelW, strideH, strideW, dilationH, dilationW,
    groups: p.groups,
    inPerGroup: inChannels / p.groups,
    outPerGroup,
    padH, padW, outputPaddingH, outputPaddingW,
    equivalentPad: { top: eh, bottom: eh + outputPaddingH, left: ew, right: ew + outputPaddingW },
  };
}

export interface Pool2dGeometryInput {
  /** [N, C, H, W] */
  readonly x: readonly number[];
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;
}

/** @throws {RangeError} ERR_OUTPUT_SIZE when an output size would be < 1 */
export function pool2dGeometry(where: string, p: Pool2dGeometryInput): Pool2dGeometry {
  const [batch, channels, inH, inW] = p.x as [number, number, number, number];
  const [kernelH, kernelW] = p.kernel;
  const [strideH, strideW] = p.stride;
  const [padH, padW] = p.padding;
  const [dilationH, dilationW] = p.dilation;
  const outH = poolOutSize(inH, kernelH, strideH, dilationH, padH, p.ceilMode);
  const outW = poolOutSize(inW, kernelW, strideW, dilationW, padW, p.ceilMode);
  if (outH < 1 || outW < 1) {
    throw outputTooSmall(
      where,
      `output size is too small: input ${formatShape(p.x)} with kernel (${kernelH}, ${kernelW}), ` +
        `padding (${padH}, ${padW}) and dilation (${dilationH}, ${dilationW}) gives (${outH}, ${outW})`,
    );
  }
  const bottom = Math.max(0, (outH - 1) * strideH + dilationH * (kernelH - 1) + 1 - inH - padH);
  const right = Math.max(0, (outW - 1) * strideW + dilationW * (kernelW - 1) + 1 - inW - padW);
  return {
    batch, channels, inH, inW, outH, outW, kernelH, kernelW, strideH, strideW, dilationH, dilationW,
    pad: { top: padH, bottom, left: padW, right },
    ceilMode: p.ceilMode,
  };
}

/** Per-channel ops over NCHW (batchNorm2d, softmax over dim 1): `spatial` = H·W. */
export interface ChannelGeometry {
  readonly batch: number;
  readonly channels: number;
  /** Elements per channel plane (H·W; 1 for a rank-2 [N, C] tensor). */
  readonly spatial: number;
}

/** Border handling of `pad` (F.pad's modes). */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * F.pad on the last two dimensions. Every leading dimension is folded into `planes`. Pads may be negative
 * (crop). Output coordinate (oy, ox) reads input (oy - pad.top, ox - pad.left), mapped by `mode` when outside.
 */
export interface PadGeometry {
  /** Product of all dimensions before the last two. */
  readonly planes: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly pad: Pads;
  readonly mode: PadMode;
  /** Fill value for 'constant'. */
  readonly value: number;
}

/** Resampling mode of `interpolate`. */
export type InterpolateMode = 'nearest' | 'bilinear';

/**
 * F.interpolate on the last two dimensions (leading dimensions folded into `planes`).
 * `scaleH`/`scaleW` are PyTorch's source-per-destination ratios, already rounded to float32 the way torch 1.13
 * computes them (area_pixel_compute_scale): nearest and bilinear without alignCorners use 1/scaleFactor when a
 * scale factor was given, else in/out; bilinear with alignCorners uses (in-1)/(out-1) (0 when out = 1).
 */
export interface InterpolateGeometry {
  readonly planes: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean;
  readonly scaleH: number;
  readonly scaleW: number;
}

/** Elementwise binary op kind. */
export type BinaryOp = 'add' | 'mul';

/**
 * Broadcast binary op over a rank-4 output (lower ranks are left-padded with 1s). A stride of 0 broadcasts that
 * dimension; a scalar operand is a length-1 array with all strides 0.
 */
export interface BinaryGeometry {
  readonly op: BinaryOp;
  /** Output shape, exactly 4 entries. */
  readonly shape: readonly [number, number, number, number];
  readonly aStrides: readonly [number, number, number, number];
  readonly bStrides: readonly [number, number, number, number];
}

/** Elementwise activation kind. */
export type ActivationKind = 'relu' | 'leakyRelu' | 'sigmoid' | 'tanh';

/** Elementwise activation over `size` elements. */
export interface ActivationParams {
  readonly kind: ActivationKind;
  readonly size: number;
  /** leakyRelu's slope for x < 0 (ignored by the others). */
  readonly negativeSlope: number;
}

/** Concatenation along dim 1 of NCHW-like tensors that agree on every other dimension. */
export interface ConcatGeometry {
  readonly batch: number;
  /** Channels of each input, in order. */
  readonly channels: readonly number[];
  readonly outChannels: number;
  /** Product of the dimensions after dim 1. */
  readonly spatial: number;
}

/**
 * PyTorch's source-per-destination ratio of one axis (area_pixel_compute_scale, torch 1.13), rounded to float32 as
 * torch computes it: (in-1)/(out-1) for bilinear with alignCorners (0 when out = 1), else 1/scaleFactor when a
 * factor was given (recompute_scale_factor unset), else in/out.
 */
export function interpolateScale(inSize: number, outSize: number, mode: InterpolateMode, alignCorners: boolean, scaleFactor: number | null): number {
  if (mode === 'bilinear' && alignCorners) return outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0;
  return scaleFactor !== null ? Math.fround(1 / scaleFactor) : Math.fround(inSize / outSize);
}

export interface InterpolateGeometryInput {
  /** [N, C, H, W] */
  readonly x: readonly number[];
  /** Output [h, w] when given as a size; null when scaleFactor decides it. */
  readonly size: Pair | null;
  /** [h, w] factors (positive); null when size is given. */
  readonly scaleFactor: readonly [number, number] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean;
}

/**
 * Output size floor(in · scaleFactor) (or the given size) and the sampling ratios of F.interpolate.
 * @throws {RangeError} ERR_OUTPUT_SIZE when a scale factor gives an output size < 1
 */
export function interpolateGeometry(where: string, p: InterpolateGeometryInput): InterpolateGeometry {
  const [n, c, inH, inW] = p.x as [number, number, number, number];
  const f = p.scaleFactor;
  const [outH, outW] = p.size !== null ? p.size : [Math.floor(inH * f![0]), Math.floor(inW * f![1])];
  if (outH < 1 || outW < 1) {
    throw outputTooSmall(
      where,
      `expected output sizes > 0 but input (H: ${inH}, W: ${inW}) × scaleFactor [${f!.join(', ')}] gives (H: ${outH}, W: ${outW})`,
    );
  }
  return {
    planes: n * c, inH, inW, outH, outW, mode: p.mode, alignCorners: p.alignCorners,
    scaleH: interpolateScale(inH, outH, p.mode, p.alignCorners, f && f[0]),
    scaleW: interpolateScale(inW, outW, p.mode, p.alignCorners, f && f[1]),
  };
}

export interface PadGeometryInput {
  /** Full input shape; pads apply to the last `pads.length / 2` dims (1 or 2). */
  readonly x: readonly number[];
  /** [left, right] or [left, right, top, bottom]; negative values crop. */
  readonly pads: readonly number[];
  readonly mode: PadMode;
  readonly value: number;
}

/** Sizes of F.pad: out = in + before + after on each padded dim; leading dims folded into `planes`. */
export function padGeometry(p: PadGeometryInput): PadGeometry & { readonly outShape: number[] } {
  const rank = p.x.length;
  const two = p.pads.length === 4;
  const [left, right] = [p.pads[0]!, p.pads[1]!];
  const [top, bottom] = two ? [p.pads[2]!, p.pads[3]!] : [0, 0];
  const inW = p.x[rank - 1]!;
  const inH = two ? p.x[rank - 2]! : 1;
  const outH = inH + top + bottom;
  const outW = inW + left + right;
  const lead = p.x.slice(0, rank - (two ? 2 : 1));
  return {
    planes: lead.reduce((a, b) => a * b, 1),
    inH, inW, outH, outW,
    pad: { top, bottom, left, right },
    mode: p.mode,
    value: p.value,
    outShape: two ? [...lead, outH, outW] : [...lead, outW],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Index maps of pad and interpolate: which input index feeds each output index. Shared by the reference kernels,
// the wasm backend and the session's plan, so every path reads the same (PyTorch 1.13) arithmetic.

/**
 * F.pad source index along one axis; -1 for the constant fill. Constant, reflect and replicate map output index j
 * to input index j - before (reflecting about / clamping to the input's edges). Circular follows PyTorch's
 * _pad_circular: negative pads crop first, then the cropped tensor is wrapped, so the copy comes from the kept part.
 */
export function padSource(j: number, before: number, after: number, size: number, mode: PadGeometry['mode']): number {
  const i = j - before;
  if (mode === 'circular') {
    const lo = Math.max(-before, 0);
    const len = size + Math.min(before, 0) + Math.min(after, 0);
    const k = (((j - Math.max(before, 0)) % len) + len) % len;
    return lo + k;
  }
  if (i >= 0 && i < size) return i;
  if (mode === 'constant') return -1;
  if (mode === 'replicate') return i < 0 ? 0 : size - 1;
  return i < 0 ? -i : 2 * (size - 1) - i; // reflect: the op layer guarantees pad < size
}

/** torch 1.13 nearest_idx: identity, halving, or min(floor(dst·scale), in-1) in float32. */
export function nearestIndex(dst: number, inSize: number, outSize: number, scale: number): number {
  if (outSize === inSize) return dst;
  if (outSize === 2 * inSize) return dst >> 1;
  return Math.min(Math.floor(Math.fround(dst * scale)), inSize - 1);
}

/** Bilinear source indices and weights of one axis. */
export interface LinearAxisTable {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly l0: Float32Array;
  readonly l1: Float32Array;
}

/** Per-axis bilinear tables as torch's compute_source_index_and_lambda (float32 arithmetic). */
export function linearAxis(inSize: number, outSize: number, scale: number, alignCorners: boolean): LinearAxisTable {
  const f32 = Math.fround;
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize), l1 = new Float32Array(outSize);
  for (let d = 0; d < outSize; d++) {
    if (outSize === inSize) {
      i0[d] = i1[d] = d;
      l0[d] = 1;
      l1[d] = 0;
      continue;
    }
    const real = alignCorners ? f32(scale * d) : Math.max(f32(f32(scale * f32(d + 0.5)) - 0.5), 0);
    const a = Math.floor(real);
    i0[d] = a;
    i1[d] = a < inSize - 1 ? a + 1 : a;
    const lambda1 = f32(real - a);
    l1[d] = lambda1;
    l0[d] = f32(1 - lambda1);
  }
  return { i0, i1, l0, l1 };
}
