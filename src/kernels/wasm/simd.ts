/**
 * SIMD helpers shared by every kernel.
 *
 * `RELAXED` is a compile-time integer constant given by the build (`asc --use RELAXED=1|0`): the same sources
 * produce a relaxed-SIMD build (fused `f32x4.relaxed_madd`) and a plain SIMD128 build (mul + add).
 */

/** Epilogue activations (the numbering is part of the kernel ABI, see src/kernels/index.ts). */
export const ACT_NONE: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_LEAKY: i32 = 2;
export const ACT_SIGMOID: i32 = 3;
export const ACT_TANH: i32 = 4;

/** a·b + c; fused (one rounding) in the relaxed build, mul then add in the plain one. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (RELAXED) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

// @ts-ignore: decorator
@inline export function sigmoid1(x: f32): f32 {
  return <f32>(1.0 / (1.0 + Math.exp(-<f64>x)));
}

// @ts-ignore: decorator
@inline export function tanh1(x: f32): f32 {
  return <f32>Math.tanh(<f64>x);
}

/**
 * Apply an activation to four lanes. relu keeps NaN (x < 0 ? 0 : x, which is exactly f32x4.pmax(x, 0): one
 * maxps on x64, where a compare and a select took four instructions); leaky: x < 0 ? x·slope : x.
 */
// @ts-ignore: decorator
@inline export function activate(v: v128, act: i32, slope: v128): v128 {
  if (act == ACT_NONE) return v;
  const zero = f32x4.splat(0);
  if (act == ACT_RELU) return f32x4.pmax(v, zero);
  if (act == ACT_LEAKY) return v128.bitselect(f32x4.mul(v, slope), v, f32x4.lt(v, zero));
  if (act == ACT_SIGMOID) {
    let r = f32x4.replace_lane(v, 0, sigmoid1(f32x4.extract_lane(v, 0)));
    r = f32x4.replace_lane(r, 1, sigmoid1(f32x4.extract_lane(v, 1)));
    r = f32x4.replace_lane(r, 2, sigmoid1(f32x4.extract_lane(v, 2)));
    return f32x4.replace_lane(r, 3, sigmoid1(f32x4.extract_lane(v, 3)));
  }
  let r = f32x4.replace_lane(v, 0, tanh1(f32x4.extract_lane(v, 0)));
  r = f32x4.replace_lane(r, 1, tanh1(f32x4.extract_lane(v, 1)));
  r = f32x4.replace_lane(r, 2, tanh1(f32x4.extract_lane(v, 2)));
  return f32x4.replace_lane(r, 3, tanh1(f32x4.extract_lane(v, 3)));
}

/** Bias of output channel c: 0 without a bias (offset 0). */
// @ts-ignore: decorator
@inline export function biasOf(bias: usize, c: i32): f32 {
  return bias != 0 ? load<f32>(bias + (<usize>c << 2)) : 0;
}

/** Bias of channel c + i of a 4-channel block with n channels in range: 0 for the rows past them (i ≥ n). */
// @ts-ignore: decorator
@inline export function blockBias(bias: usize, c: i32, i: i32, n: i32): f32 {
  return i < n ? biasOf(bias, c + i) : 0;
}

/** Apply `act` to n floats at p in place (vectors, then a scalar tail). */
export function activateRange(p: usize, n: i32, act: i32, slope: v128): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) v128.store(p + (<usize>i << 2), activate(v128.load(p + (<usize>i << 2)), act, slope));
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), activate1(load<f32>(p + (<usize>i << 2)), act, f32x4.extract_lane(slope, 0)));
}

/** Scalar version of {@link activate}. */
// @ts-ignore: decorator
@inline export function activate1(v: f32, act: i32, slope: f32): f32 {
  if (act == ACT_NONE) return v;
  if (act == ACT_RELU) return v < 0 ? 0 : v;
  if (act == ACT_LEAKY) return v < 0 ? v * slope : v;
  if (act == ACT_SIGMOID) return sigmoid1(v);
  return tanh1(v);
}

/** Map a padded coordinate to an input coordinate for conv padding modes; -1 means zero (mode 0). */
export const PAD_ZEROS: i32 = 0;
export const PAD_REFLECT: i32 = 1;
export const PAD_REPLICATE: i32 = 2;
export const PAD_CIRCULAR: i32 = 3;

// @ts-ignore: decorator
@inline export function sourceIndex(i: i32, n: i32, mode: i32): i32 {
  if (<u32>i < <u32>n) return i;
  if (mode == PAD_ZEROS) return -1;
  if (mode == PAD_REFLECT) return i < 0 ? -i : 2 * (n - 1) - i;
  if (mode == PAD_REPLICATE) return i < 0 ? 0 : n - 1;
  return i < 0 ? i + n : i - n;
}
