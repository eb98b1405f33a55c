/**
 * convTranspose2d as a GEMM (Cin → Cout·kH·kW per input pixel) followed by a col2im scatter into the output.
 * Same parameter block as conv2d (src/kernels/index.ts), with P_PAD_T/P_PAD_L holding the transposed conv's own
 * padding (padH, padW). The range is output channels [coStart, coEnd) × output rows [rowStart, rowEnd); only input
 * rows that can reach those output rows are multiplied.
 *
 * Packed weights: for group g, row block rb (4 GEMM rows, zero-padded), A[ci][4] with GEMM row
 * r = co_local·kH·kW + ky·kW + kx; blocks laid out [g][rb], each ipg·16 bytes.
 *
 * Scratch: tile (128 B) | iy/ix of the 8 pixels of each panel (P·64 B) | P B panels (P·ipg·32 B),
 * P = min(16, 256 KiB / (ipg·32)).
 */
import { activateOutput } from './conv';
import { mk4x8, UP2_BOTTOM, UP2_TOP } from './gemm';
import { ACT_NONE, activate1, biasOf } from './simd';

const P_IN_H = 1, P_IN_W = 2, P_OUT_H = 4, P_OUT_W = 5, P_K_H = 6, P_K_W = 7;
const P_S_H = 8, P_S_W = 9, P_D_H = 10, P_D_W = 11, P_IPG = 13, P_OPG = 14;
const P_PAD_T = 15, P_PAD_L = 16, P_X = 18, P_W = 19, P_BIAS = 20, P_OUT = 21, P_ACT = 22;
const P_SLOPE = 23, P_CO_START = 24, P_CO_END = 25, P_ROW_START = 26, P_ROW_END = 27, P_SCRATCH = 28;

// @ts-ignore: decorator
@inline function word(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline export function convTranspose2dBody(p: usize, act: i32): void {
  const inH = word(p, P_IN_H), inW = word(p, P_IN_W);
  const outW = word(p, P_OUT_W), outH = word(p, P_OUT_H);
  const kH = word(p, P_K_H), kW = word(p, P_K_W);
  const sH = word(p, P_S_H), sW = word(p, P_S_W), dH = word(p, P_D_H), dW = word(p, P_D_W);
  const ipg = word(p, P_IPG), opg = word(p, P_OPG);
  const padH = word(p, P_PAD_T), padW = word(p, P_PAD_L);
  const x = <usize>word(p, P_X), w = <usize>word(p, P_W), bias = <usize>word(p, P_BIAS), out = <usize>word(p, P_OUT);
  const slope1 = load<f32>(p + (<usize>P_SLOPE << 2));
  const slope = f32x4.splat(slope1);
  const coStart = word(p, P_CO_START), coEnd = word(p, P_CO_END);
  const rowStart = word(p, P_ROW_START), rowEnd = word(p, P_ROW_END);
  const scratch = <usize>word(p, P_SCRATCH);

  const KK = kH * kW;
  const M = opg * KK;
  const nRB = (M + 3) >> 2;
  const inHW = <usize>(inH * inW);
  const outHW = <usize>(outH * outW);
  // B panels built P at a time, input channel by input channel (see conv2d: power-of-two plane strides).
  const P = max(1, min(16, 262144 / (ipg * 32)));
  const panelBytes = <usize>ipg << 5;
  const tile = scratch;
  const pix = scratch + 128;
  const panels = scratch + 128 + (<usize>P << 6);
  const zero = f32x4.splat(0);

  // Kernel == stride without dilation overlap-free: every output pixel gets at most one product, so the GEMM
  // result is stored with the bias and activation fused; pixels no input reaches get act(bias).
  const direct = kH == sH && kW == sW && dH == 1 && dW == 1;

  // Bias fill of the range (the scatter accumulates onto it), or act(bias) of uncovered pixels (direct).
  const coverH = inH * sH - padH;
  const coverW = inW * sW - padW;
  for (let co = coStart; co < coEnd; co++) {
    const b = biasOf(bias, co);
    const oc = out + (<usize>co * outHW << 2);
    if (direct) {
      const v = activate1(b, act, slope1);
      for (let oy = rowStart; oy < rowEnd; oy++) {
        const o = oc + (<usize>(oy * outW) << 2);
        const from = oy < coverH ? max(coverW, 0) : 0;
        for (let ox = from; ox < outW; ox++) store<f32>(o + (<usize>ox << 2), v);
      }
    } else {
      const vb = f32x4.splat(b);
      const o = oc + (<usize>(rowStart * outW) << 2);
      const n = (rowEnd - rowStart) * outW;
      const n4 = n & ~3;
      for (let i = 0; i < n4; i += 4) v128.store(o + (<usize>i << 2), vb);
      for (let i = n4; i < n; i++) store<f32>(o + (<usize>i << 2), b);
    }
  }

  // Input rows that reach [rowStart, rowEnd): iy·sH - padH + ky·dH in range for some ky.
  let iyLo = rowStart + padH - (kH - 1) * dH;
  iyLo = iyLo <= 0 ? 0 : (iyLo + sH - 1) / sH;
  const iyHi = min(inH, (rowEnd - 1 + padH) / sH + 1);
  if (iyLo >= iyHi) {
    return;
  }
  const q0 = iyLo * inW;
  const q1 = iyHi * inW;
  const gFirst = coStart / opg;
  const gLast = (coEnd - 1) / opg;
  for (let g = gFirst; g <= gLast; g++) {
    const gCo0 = g * opg;
    const lo = max(coStart, gCo0) - gCo0;
    const hi = min(coEnd, gCo0 + opg) - gCo0;
    const rbFirst = (lo * KK) >> 2;
    const rbLast = (hi * KK - 1) >> 2;
    const xg = x + (<usize>(g * ipg) * inHW << 2);
    const wg = w + (<usize>(g * nRB) * <usize>ipg << 4);
    for (let qb = q0; qb < q1; qb += 8 * P) {
      const nP = min(P, (q1 - qb + 7) >> 3);
      // B panels of the block, input channel by input channel: B_p[ci][j] = x[ci][q_p + j].
      for (let ci = 0; ci < ipg; ci++) {
        const src0 = xg + ((<usize>ci * inHW + <usize>qb) << 2);
        let dst = panels + (<usize>ci << 5);
        for (let pi = 0; pi < nP; pi++) {
          const src = src0 + (<usize>pi << 5);
          const np = min(8, q1 - qb - pi * 8);
          if (np == 8) {
            v128.store(dst, v128.load(src));
            v128.store(dst, v128.load(src, 16), 16);
          } else {
            v128.store(dst, zero);
            v128.store(dst, zero, 16);
            for (let j = 0; j < np; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
          }
          dst += panelBytes;
        }
      }
      // Pixel tables of the block's panels: iy (8 i32) then ix (8 i32) per panel; tails repeat the last pixel.
      for (let pi = 0; pi < nP; pi++) {
        const q = qb + pi * 8;
        const np = min(8, q1 - q);
        const pp = pix + (<usize>pi << 6);
        for (let j = 0; j < 8; j++) {
          const qq = q + min(j, np - 1);
          const iy = qq / inW;
          store<i32>(pp + (<usize>j << 2), iy);
          store<i32>(pp + (<usize>j << 2), qq - iy * inW, 32);
        }
      }
      // Each row block of weights (hot in L1) against every panel of the block (hot in L2): the weights stream
      // once per block instead of once per panel.
      for (let rb = rbFirst; rb <= rbLast; rb++) {
        const a = wg + (<usize>rb * <usize>ipg << 4);
        for (let pi = 0; pi < nP; pi++) {
          const q = qb + pi * 8;
          const panel = panels + <usize>pi * panelBytes;
          const np = min(8, q1 - q);
          const pp = pix + (<usize>pi << 6);
          // The U-Net up-convolution: 2×2 stride 2, no padding, 8 pixels in one input row, one output channel
          // per row block: the kernel stores 16 contiguous outputs per output row itself.
          if (direct && kH == 2 && kW == 2 && padH == 0 && padW == 0 && np == 8 && load<i32>(pp) == load<i32>(pp, 28)) {
            const co = gCo0 + rb;
            const iy = load<i32>(pp);
            const b = biasOf(bias, co);
            const o = out + ((<usize>co * outHW + <usize>(2 * iy * outW + 2 * load<i32>(pp, 32))) << 2);
            const rows = (2 * iy >= rowStart ? UP2_TOP : 0) | (2 * iy + 1 < rowEnd ? UP2_BOTTOM : 0);
            mk4x8(a, panel, 32, ipg, o, <usize>outW << 2, b, b, b, b, act, slope, rows);
            continue;
          }
          mk4x8(a, panel, 32, ipg, tile, 32, 0, 0, 0, 0, ACT_NONE, slope);
          for (let i = 0; i < 4; i++) {
            const r = rb * 4 + i;
            const coL = r / KK;
            if (coL < lo || coL >= hi) continue;
            const kk = r - coL * KK;
            const ky = kk / kW;
            const kx = kk - ky * kW;
            const co = gCo0 + coL;
            const oc = out + (<usize>co * outHW << 2);
            const b: f32 = direct ? biasOf(bias, co) : 0;
            const t = tile + (<usize>i << 5);
            for (let j = 0; j < np; j++) {
              const oy = load<i32>(pp + (<usize>j << 2)) * sH - padH + ky * dH;
              if (oy < rowStart || oy >= rowEnd) continue;
              const ox = load<i32>(pp + (<usize>j << 2), 32) * sW - padW + kx * dW;
              if (<u32>ox >= <u32>outW) continue;
              const o = oc + (<usize>(oy * outW + ox) << 2);
              const v = load<f32>(t + (<usize>j << 2));
              if (direct) store<f32>(o, activate1(v + b, act, slope1));
              else store<f32>(o, load<f32>(o) + v);
            }
          }
        }
      }
    }
  }

  // Activation after accumulation (the direct path fused it).
  if (!direct && act != ACT_NONE) activateOutput(p, act);
}
