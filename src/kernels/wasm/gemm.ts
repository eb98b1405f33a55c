/**
 * The GEMM microkernel: a 4×8 register tile (8 v128 accumulators, 2 B vectors, 1 broadcast A value), which fits
 * V8's ~15 usable vector registers on x64. Larger tiles (6×8, 4×16) spill and run 2–2.5× slower.
 *
 * Panels (all f32, 16-byte aligned):
 *   A panel: K rows of 4 values   a[k*4 + r]   (4 output rows, e.g. 4 output channels, weights packed once)
 *   B panel: K rows of 8 values   b[k*8 + j]   (8 output columns, e.g. 8 pixels of a fused im2col panel; mk4x8
 *            takes the rows' byte stride, 32 for a packed panel)
 *   C tile:  c[r*ldc + j] = act(Σ_k a[k*4+r]·b[k*8+j] + bias_r)   (ldc in bytes), or with `up2` the two
 *            interleaved output rows of a 2×2 stride-2 up-convolution
 */
import { activate, madd } from './simd';

/** `up2` bits of {@link mk4x8}: store the 2×2/2 up-convolution's first / second output row. */
export const UP2_TOP: i32 = 1, UP2_BOTTOM: i32 = 2;

// Inlined into the drivers: measured slightly faster than a separate function (35 vs 32 GFLOPS on 64→64 @128²).
// @ts-ignore: decorator
@inline export function mk4x8(
  a: usize, b: usize, bStride: usize, K: i32, dst: usize, ldc: usize,
  bias0: f32, bias1: f32, bias2: f32, bias3: f32, act: i32, slope: v128, up2: i32 = 0,
): void {
  let c00 = f32x4.splat(bias0), c01 = c00;
  let c10 = f32x4.splat(bias1), c11 = c10;
  let c20 = f32x4.splat(bias2), c21 = c20;
  let c30 = f32x4.splat(bias3), c31 = c30;
  // The B pointer is the loop variable (no separate counter: one add and compare fewer per step).
  const bEnd = b + <usize>K * bStride;
  for (; b < bEnd; b += bStride) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    a += 16;
  }
  if (up2 != 0) {
    // 2×2 stride-2 up-convolution (src/kernels/wasm/conv_transpose.ts): rows are the taps (0,0), (0,1), (1,0),
    // (1,1) of one output channel and columns 8 pixels of one input row, so output row 2·iy (at `dst`) takes
    // taps (0,·) interleaved and row 2·iy + 1 (at dst + ldc) taps (1,·): 16 contiguous floats each. Bit 0 of
    // `up2` stores the first row, bit 1 the second (whether each is in the caller's range).
    if ((up2 & UP2_TOP) != 0) {
      v128.store(dst, activate(v128.shuffle<f32>(c00, c10, 0, 4, 1, 5), act, slope));
      v128.store(dst, activate(v128.shuffle<f32>(c00, c10, 2, 6, 3, 7), act, slope), 16);
      v128.store(dst, activate(v128.shuffle<f32>(c01, c11, 0, 4, 1, 5), act, slope), 32);
      v128.store(dst, activate(v128.shuffle<f32>(c01, c11, 2, 6, 3, 7), act, slope), 48);
    }
    if ((up2 & UP2_BOTTOM) != 0) {
      dst += ldc;
      v128.store(dst, activate(v128.shuffle<f32>(c20, c30, 0, 4, 1, 5), act, slope));
      v128.store(dst, activate(v128.shuffle<f32>(c20, c30, 2, 6, 3, 7), act, slope), 16);
      v128.store(dst, activate(v128.shuffle<f32>(c21, c31, 0, 4, 1, 5), act, slope), 32);
      v128.store(dst, activate(v128.shuffle<f32>(c21, c31, 2, 6, 3, 7), act, slope), 48);
    }
    return;
  }
  v128.store(dst, activate(c00, act, slope));
  v128.store(dst, activate(c01, act, slope), 16);
  dst += ldc;
  v128.store(dst, activate(c10, act, slope));
  v128.store(dst, activate(c11, act, slope), 16);
  dst += ldc;
  v128.store(dst, activate(c20, act, slope));
  v128.store(dst, activate(c21, act, slope), 16);
  dst += ldc;
  v128.store(dst, activate(c30, act, slope));
  v128.store(dst, activate(c31, act, slope), 16);
}

/**
 * The same 4×8 tile over a row panel (stride-1 conv): B row k is the 8 floats at b + offs[k] (offs: K i32 byte
 * offsets). In a row panel the kW taps of a kernel row are overlapping windows of ONE input row segment, which
 * the panel holds once instead of kW shifted copies. One flat loop: V8 keeps it free of spills (a nested ky/kx
 * loop gets unrolled and scheduled into spills).
 */
// @ts-ignore: decorator
@inline export function mk4x8At(
  a: usize, b: usize, offs: usize, K: i32, dst: usize, ldc: usize,
  bias0: f32, bias1: f32, bias2: f32, bias3: f32, act: i32, slope: v128,
): void {
  let c00 = f32x4.splat(bias0), c01 = c00;
  let c10 = f32x4.splat(bias1), c11 = c10;
  let c20 = f32x4.splat(bias2), c21 = c20;
  let c30 = f32x4.splat(bias3), c31 = c30;
  const end = offs + (<usize>K << 2);
  for (; offs < end; offs += 4) {
    const bb = b + <usize>load<i32>(offs);
    const b0 = v128.load(bb);
    const b1 = v128.load(bb, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    a += 16;
  }
  v128.store(dst, activate(c00, act, slope));
  v128.store(dst, activate(c01, act, slope), 16);
  dst += ldc;
  v128.store(dst, activate(c10, act, slope));
  v128.store(dst, activate(c11, act, slope), 16);
  dst += ldc;
  v128.store(dst, activate(c20, act, slope));
  v128.store(dst, activate(c21, act, slope), 16);
  dst += ldc;
  v128.store(dst, activate(c30, act, slope));
  v128.store(dst, activate(c31, act, slope), 16);
}

/**
 * Reusable GEMM over packed panels: C[mBlocks·4][nBlocks·8] = A·B with no epilogue.
 * a: mBlocks A panels of K×4 (stride K·16 bytes); b: nBlocks B panels of K×8 (stride K·32 bytes);
 * c: row-major, ldc bytes per row. Rows/columns beyond the caller's real sizes are computed and stored, so c
 * must have room for whole tiles.
 */
export function gemmPanels(a: usize, b: usize, c: usize, mBlocks: i32, nBlocks: i32, K: i32, ldc: i32): void {
  const slope = f32x4.splat(0);
  const aStride = <usize>K << 4;
  const bStride = <usize>K << 5;
  for (let n = 0; n < nBlocks; n++) {
    const bp = b + <usize>n * bStride;
    for (let m = 0; m < mBlocks; m++) {
      mk4x8(a + <usize>m * aStride, bp, 32, K, c + <usize>(m * 4) * <usize>ldc + (<usize>n << 5), <usize>ldc, 0, 0, 0, 0, 0, slope);
    }
  }
}
