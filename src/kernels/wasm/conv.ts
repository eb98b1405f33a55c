/**
 * conv2d kernels. Every kernel reads its arguments from a parameter block of i32 words at `p` (the layout is
 * documented once, in src/kernels/index.ts, `P_*` constants) and computes the output channels
 * [coStart, coEnd) × output rows [rowStart, rowEnd) of ONE image, so threads can split a layer on shared memory.
 * No kernel validates anything: the op layer did.
 */
import { mk4x8, mk4x8At } from './gemm';
import { activate, activateRange, biasOf, blockBias, madd, sourceIndex } from './simd';

// Parameter block word indices (mirror of src/kernels/index.ts).
const P_IN_C = 0, P_IN_H = 1, P_IN_W = 2, P_OUT_C = 3, P_OUT_H = 4, P_OUT_W = 5, P_K_H = 6, P_K_W = 7;
const P_S_H = 8, P_S_W = 9, P_D_H = 10, P_D_W = 11, P_GROUPS = 12, P_IPG = 13, P_OPG = 14;
const P_PAD_T = 15, P_PAD_L = 16, P_MODE = 17, P_X = 18, P_W = 19, P_BIAS = 20, P_OUT = 21, P_ACT = 22;
const P_SLOPE = 23, P_CO_START = 24, P_CO_END = 25, P_ROW_START = 26, P_ROW_END = 27, P_SCRATCH = 28;
const P_PAD_B = 29, P_PAD_R = 30, P_STRIP = 41;

// @ts-ignore: decorator
@inline function word(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/**
 * Apply `act` to the block a conv kernel stored: output channels [P_CO_START, P_CO_END) × rows [P_ROW_START,
 * P_ROW_END). The kernels fold the cheap activations into their stores (one specialised copy each); sigmoid and
 * tanh, whose scalar calls would make V8 spill the hot loops, store pre-activation values and take this pass.
 */
export function activateOutput(p: usize, act: i32): void {
  const outH = word(p, P_OUT_H), outW = word(p, P_OUT_W), out = <usize>word(p, P_OUT);
  const coStart = word(p, P_CO_START), coEnd = word(p, P_CO_END);
  const rowStart = word(p, P_ROW_START), rowEnd = min(word(p, P_ROW_END), outH);
  const slope = f32x4.splat(load<f32>(p + (<usize>P_SLOPE << 2)));
  if (rowStart >= rowEnd) return;
  const outHW = <usize>(outH * outW);
  for (let co = coStart; co < coEnd; co++) {
    activateRange(out + ((<usize>co * outHW + <usize>(rowStart * outW)) << 2), (rowEnd - rowStart) * outW, act, slope);
  }
}

// @ts-ignore: decorator
@inline function align64(v: usize): usize {
  return (v + 63) & ~(<usize>63);
}

/** B panels built together per block: as many as fit in ~256 KiB (L2), at most 16 (see convPanelsPerBlock in JS). */
// @ts-ignore: decorator
@inline function panelsPerBlock(K: i32): i32 {
  return max(1, min(16, 262144 / (K * 32)));
}

/**
 * General conv2d (any groups, stride, dilation, padding mode): im2col fused into 8-pixel panels (K×8 floats in
 * the thread's scratch; never the whole matrix), then the 4×8 microkernel over the packed weights with bias and
 * activation fused into the store.
 *
 * Panels are built P at a time (P = panelsPerBlock(K)), input channel by input channel: consecutive panels read
 * neighbouring bytes of the same input rows, instead of one panel walking all Cin planes (plane strides are
 * often powers of two, which map every plane's row to the same cache set). Then each panel meets every channel
 * block while it is hot in L1.
 *
 * Stride-1 panels whose 8 pixels lie in one output row are row panels: per input channel, the kH input row
 * segments of 8 + (kW-1)·dW floats (padded to RL, a multiple of 4) that the 8 pixels read, with the padding mode
 * applied while copying. The kW taps of a kernel row are overlapping windows of one segment, so a 3×3 panel
 * copies 3 rows of 12 floats per channel instead of 9 taps of 8, and the microkernel finds B row k at a fixed
 * byte offset (the rowOffs table, computed once per call). Other panels (stride ≠ 1, a row break inside the 8
 * pixels, RL > 8·kW) are K×8 im2col panels: interior ones copied with vector loads, the rest through per-panel
 * offset tables.
 *
 * Packed weights: for group g, channel block cb (4 channels of the group, zero-padded), A[k][4] with
 * k = ci·kH·kW + ky·kW + kx; blocks laid out [g][cb], each K·16 bytes.
 *
 * Scratch: tile (128 B) | iy/ix bases (64 B) | per-panel kind (64 B: input base ≥ 0 for an interior im2col
 * panel, -1 table, -2 row panel built element by element, -3 - base for an interior row panel) | flags
 * [P][KK] i32 (row panels: row sources iy·inW or -1) | offset tables [P][KK][8] i32 (row panels: column sources)
 * | B panels [P][K][8] f32 | row offsets [K] i32, each part 64-byte aligned.
 */
// @ts-ignore: decorator
@inline export function conv2dBody(p: usize, act: i32): void {
  const inH = word(p, P_IN_H), inW = word(p, P_IN_W);
  const outW = word(p, P_OUT_W), outH = word(p, P_OUT_H);
  const kH = word(p, P_K_H), kW = word(p, P_K_W);
  const sH = word(p, P_S_H), sW = word(p, P_S_W), dH = word(p, P_D_H), dW = word(p, P_D_W);
  const ipg = word(p, P_IPG), opg = word(p, P_OPG);
  const padT = word(p, P_PAD_T), padL = word(p, P_PAD_L), mode = word(p, P_MODE);
  const x = <usize>word(p, P_X), w = <usize>word(p, P_W), bias = <usize>word(p, P_BIAS), out = <usize>word(p, P_OUT);
  const slope1 = load<f32>(p + (<usize>P_SLOPE << 2));
  const slope = f32x4.splat(slope1);
  const coStart = word(p, P_CO_START), coEnd = word(p, P_CO_END);
  const rowStart = word(p, P_ROW_START), rowEnd = word(p, P_ROW_END);
  const scratch = <usize>word(p, P_SCRATCH);

  const KK = kH * kW;
  const K = ipg * KK;
  const P = panelsPerBlock(K);
  const inHW = <usize>(inH * inW);
  const outHW = <usize>(outH * outW);
  const nCB = (opg + 3) >> 2;
  const panelBytes = <usize>K << 5;
  const tableBytes = <usize>KK << 5;
  // Row panels (stride 1): per input channel, kH input row segments of rowNeed floats (RL with padding) cover
  // the kW taps of the 8 pixels; used when they take no more room than the K×8 panel.
  const rowNeed = 8 + (kW - 1) * dW;
  const RL = (rowNeed + 3) & ~3;
  const rowBytes = <usize>RL << 2;
  const rowPanels = sW == 1 && RL <= 8 * kW;
  const rowStep = <usize>(dH * inW) << 2;

  const tile = scratch;
  const bases = scratch + 128;
  const pbase = scratch + 192;
  const flags = scratch + 256;
  const tables = align64(flags + (<usize>(P * KK) << 2));
  const panels = align64(tables + <usize>P * tableBytes);
  // Row-panel B row offsets, k = (ci·kH + ky)·kW + kx → (ci·kH + ky)·rowBytes + kx·dW·4 (after the panels).
  const rowOffs = panels + <usize>P * panelBytes;
  if (rowPanels) {
    let k = 0;
    for (let r = 0; r < ipg * kH; r++) {
      for (let kx = 0; kx < kW; kx++) {
        store<i32>(rowOffs + (<usize>k << 2), r * <i32>rowBytes + kx * dW * 4);
        k++;
      }
    }
  }

  const q0 = rowStart * outW;
  const q1 = rowEnd * outW;
  const gFirst = coStart / opg;
  const gLast = (coEnd - 1) / opg;
  for (let g = gFirst; g <= gLast; g++) {
    const gCo0 = g * opg;
    const lo = max(coStart, gCo0) - gCo0;
    const hi = min(coEnd, gCo0 + opg) - gCo0;
    const cbFirst = lo >> 2;
    const cbLast = (hi - 1) >> 2;
    const xg = x + (<usize>(g * ipg) * inHW << 2);
    const wg = w + (<usize>(g * nCB) * <usize>K << 4);
    for (let qb = q0; qb < q1; qb += 8 * P) {
      const nP = min(P, (q1 - qb + 7) >> 3);
      // Per panel: interior (whole receptive field inside the input, 8 pixels in one row, stride 1 or 2: tap kk
      // of pixel j reads x[iy0 + ky·dH][ix0 + j·sW + kx·dW]) or an offset table with padding applied.
      for (let pi = 0; pi < nP; pi++) {
        const q = qb + pi * 8;
        const np = min(8, q1 - q);
        const oy0 = q / outW;
        const ox0 = q - oy0 * outW;
        const iy0 = oy0 * sH - padT;
        const ix0 = ox0 * sW - padL;
        const tp = tables + <usize>pi * tableBytes;
        const fp = flags + (<usize>(pi * KK) << 2);
        if (rowPanels && ox0 + 8 <= outW) {
          // Row panel (all 8 pixels in one output row). Inside the input (every row segment of RL floats):
          // pbase = -3 - (iy0·inW + ix0), copied with vectors. Otherwise pbase = -2 with row sources iy·inW in
          // fp[ky] and column sources in tp[t] (-1 = zero), the padding mode applied element by element.
          const inside = ix0 >= 0 && ix0 + RL <= inW && iy0 >= 0 && iy0 + (kH - 1) * dH < inH;
          store<i32>(pbase + (<usize>pi << 2), inside ? -3 - (iy0 * inW + ix0) : -2);
          if (!inside) {
            for (let ky = 0; ky < kH; ky++) {
              const iy = sourceIndex(iy0 + ky * dH, inH, mode);
              store<i32>(fp + (<usize>ky << 2), iy < 0 ? -1 : iy * inW);
            }
            for (let t = 0; t < rowNeed; t++) store<i32>(tp + (<usize>t << 2), sourceIndex(ix0 + t, inW, mode));
          }
          continue;
        }
        const interior = np == 8 && ox0 + 8 <= outW && sW <= 2 && iy0 >= 0 && iy0 + (kH - 1) * dH < inH &&
          ix0 >= 0 && ix0 + 7 * sW + (kW - 1) * dW < inW;
        store<i32>(pbase + (<usize>pi << 2), interior ? iy0 * inW + ix0 : -1);
        if (interior) continue;
        // Pixel bases (tails repeat the last pixel; its results are never stored).
        for (let j = 0; j < 8; j++) {
          const qq = q + min(j, np - 1);
          const oy = qq / outW;
          const ox = qq - oy * outW;
          store<i32>(bases + (<usize>j << 2), oy * sH - padT);
          store<i32>(bases + (<usize>j << 2), ox * sW - padL, 32);
        }
        // Offset table: input offset of each (kernel tap, pixel), -1 for a zero; contiguous runs flagged.
        for (let ky = 0; ky < kH; ky++) {
          for (let kx = 0; kx < kW; kx++) {
            const kk = ky * kW + kx;
            const t = tp + (<usize>kk << 5);
            let contiguous = np == 8;
            let first = 0;
            for (let j = 0; j < 8; j++) {
              const iy = sourceIndex(load<i32>(bases + (<usize>j << 2)) + ky * dH, inH, mode);
              const ix = sourceIndex(load<i32>(bases + (<usize>j << 2), 32) + kx * dW, inW, mode);
              const off = iy < 0 || ix < 0 ? -1 : iy * inW + ix;
              store<i32>(t + (<usize>j << 2), off);
              if (j == 0) first = off;
              if (off < 0 || off != first + j) contiguous = false;
            }
            store<i32>(fp + (<usize>kk << 2), contiguous ? first : -1);
          }
        }
      }
      // Fused im2col, input channel by input channel across the block's panels: B_p[ci·KK + kk][j].
      for (let ci = 0; ci < ipg; ci++) {
        const xc = xg + (<usize>ci * inHW << 2);
        for (let pi = 0; pi < nP; pi++) {
          const base = load<i32>(pbase + (<usize>pi << 2));
          if (base <= -3) {
            let dst = panels + <usize>pi * panelBytes + <usize>(ci * kH) * rowBytes;
            let src = xc + (<usize>(-3 - base) << 2);
            for (let ky = 0; ky < kH; ky++) {
              if (RL == 12) {
                v128.store(dst, v128.load(src));
                v128.store(dst, v128.load(src, 16), 16);
                v128.store(dst, v128.load(src, 32), 32);
              } else {
                for (let t: usize = 0; t < rowBytes; t += 16) v128.store(dst + t, v128.load(src + t));
              }
              src += rowStep;
              dst += rowBytes;
            }
            continue;
          }
          if (base == -2) {
            let dst = panels + <usize>pi * panelBytes + <usize>(ci * kH) * rowBytes;
            const fp = flags + (<usize>(pi * KK) << 2);
            for (let ky = 0; ky < kH; ky++) {
              const ro = load<i32>(fp + (<usize>ky << 2));
              if (ro < 0) {
                const z = f32x4.splat(0);
                for (let t: usize = 0; t < rowBytes; t += 16) v128.store(dst + t, z);
              } else {
                const xr = xc + (<usize>ro << 2);
                const tp = tables + <usize>pi * tableBytes;
                for (let t = 0; t < rowNeed; t++) {
                  const c = load<i32>(tp + (<usize>t << 2));
                  store<f32>(dst + (<usize>t << 2), c < 0 ? <f32>0 : load<f32>(xr + (<usize>c << 2)));
                }
              }
              dst += rowBytes;
            }
            continue;
          }
          let dst = panels + <usize>pi * panelBytes + (<usize>(ci * KK) << 5);
          if (base >= 0) {
            const xb = xc + (<usize>base << 2);
            for (let ky = 0; ky < kH; ky++) {
              const xr = xb + (<usize>(ky * dH * inW) << 2);
              if (sW == 1) {
                for (let kx = 0; kx < kW; kx++) {
                  const src = xr + (<usize>(kx * dW) << 2);
                  v128.store(dst, v128.load(src));
                  v128.store(dst, v128.load(src, 16), 16);
                  dst += 32;
                }
              } else {
                for (let kx = 0; kx < kW; kx++) {
                  const src = xr + (<usize>(kx * dW) << 2);
                  const v0 = v128.load(src), v1 = v128.load(src, 16), v2 = v128.load(src, 32);
                  // The last pixel sits at +14 floats; +15 may be past the row (and the buffer): load it alone.
                  const v3 = f32x4.replace_lane(v128.load64_zero(src + 48), 2, load<f32>(src, 56));
                  v128.store(dst, v128.shuffle<f32>(v0, v1, 0, 2, 4, 6));
                  v128.store(dst, v128.shuffle<f32>(v2, v3, 0, 2, 4, 6), 16);
                  dst += 32;
                }
              }
            }
          } else {
            const tp = tables + <usize>pi * tableBytes;
            const fp = flags + (<usize>(pi * KK) << 2);
            for (let kk = 0; kk < KK; kk++) {
              const f = load<i32>(fp + (<usize>kk << 2));
              if (f >= 0) {
                const src = xc + (<usize>f << 2);
                v128.store(dst, v128.load(src));
                v128.store(dst, v128.load(src, 16), 16);
              } else {
                const t = tp + (<usize>kk << 5);
                for (let j = 0; j < 8; j++) {
                  const off = load<i32>(t + (<usize>j << 2));
                  store<f32>(dst + (<usize>j << 2), off < 0 ? <f32>0 : load<f32>(xc + (<usize>off << 2)));
                }
              }
              dst += 32;
            }
          }
        }
      }
      // Microkernel: each panel against every channel block of the range.
      for (let pi = 0; pi < nP; pi++) {
        const q = qb + pi * 8;
        const np = min(8, q1 - q);
        const panel = panels + <usize>pi * panelBytes;
        const rowKind = load<i32>(pbase + (<usize>pi << 2)) <= -2;
        for (let cb = cbFirst; cb <= cbLast; cb++) {
          const c0 = cb << 2;
          const rFirst = max(lo - c0, 0);
          const rEnd = min(hi - c0, 4);
          const co = gCo0 + c0;
          const b0 = blockBias(bias, co, 0, rEnd), b1 = blockBias(bias, co, 1, rEnd);
          const b2 = blockBias(bias, co, 2, rEnd), b3 = blockBias(bias, co, 3, rEnd);
          const a = wg + (<usize>cb * <usize>K << 4);
          const direct = np == 8 && rFirst == 0 && rEnd == 4;
          const dst = direct ? out + ((<usize>co * outHW + <usize>q) << 2) : tile;
          const ldc = direct ? outHW << 2 : 32;
          if (!rowKind) {
            mk4x8(a, panel, 32, K, dst, ldc, b0, b1, b2, b3, act, slope);
          } else {
            mk4x8At(a, panel, rowOffs, K, dst, ldc, b0, b1, b2, b3, act, slope);
          }
          if (!direct) storeTileRows(tile, out + ((<usize>co * outHW + <usize>q) << 2), outHW << 2, rFirst, rEnd, np);
        }
      }
    }
  }
}

/**
 * Depthwise-style conv2d (one input channel per group, any channel multiplier): weights unpacked
 * [Cout][1][kH][kW]. For each output row the kH input rows are copied once into padded rows in scratch (padding
 * mode applied there), then each 4-pixel output vector accumulates kH·kW FMAs from the padded rows.
 *
 * Scratch: R = (kH-1)·dH + 1 row tags and kH row pointers (a 64-byte aligned block), then a ring of R padded rows of `rowLen` floats,
 * rowLen = align4(padL + inW + padR + (kW-1)·dW + 4·sW + 8).
 */
// @ts-ignore: decorator
@inline export function depthwiseConv2dBody(p: usize, act: i32): void {
  const inH = word(p, P_IN_H), inW = word(p, P_IN_W);
  const outW = word(p, P_OUT_W), outH = word(p, P_OUT_H);
  const kH = word(p, P_K_H), kW = word(p, P_K_W);
  const sH = word(p, P_S_H), sW = word(p, P_S_W), dH = word(p, P_D_H), dW = word(p, P_D_W);
  const opg = word(p, P_OPG);
  const padT = word(p, P_PAD_T), padL = word(p, P_PAD_L), mode = word(p, P_MODE);
  const padR = word(p, P_PAD_R);
  const x = <usize>word(p, P_X), w = <usize>word(p, P_W), bias = <usize>word(p, P_BIAS), out = <usize>word(p, P_OUT);
  const slope1 = load<f32>(p + (<usize>P_SLOPE << 2));
  const slope = f32x4.splat(slope1);
  const coStart = word(p, P_CO_START), coEnd = word(p, P_CO_END);
  const rowStart = word(p, P_ROW_START), rowEnd = word(p, P_ROW_END);
  const scratch = <usize>word(p, P_SCRATCH);

  const KK = kH * kW;
  const inHW = <usize>(inH * inW);
  const outHW = <usize>(outH * outW);
  const rowLen = (padL + inW + padR + (kW - 1) * dW + 4 * sW + 8 + 3) & ~3;
  const rowBytes = <usize>rowLen << 2;
  const validEnd = padL + inW + padR;
  const outW4 = outW & ~3;

  // Ring of padded rows: padded row pr (input row pr - padT) lives in slot pr % R, R = (kH-1)·dH + 1, so each
  // input row is padded once per channel however many output rows read it.
  const R = (kH - 1) * dH + 1;
  const tags = scratch;
  const ptrs = scratch + (<usize>R << 2);
  const rows = scratch + ((<usize>((R + kH) << 2) + 63) & ~(<usize>63));
  for (let co = coStart; co < coEnd; co++) {
    const xc = x + (<usize>(co / opg) * inHW << 2);
    const wc = w + (<usize>(co * KK) << 2);
    const b = biasOf(bias, co);
    const vb = f32x4.splat(b);
    const oc = out + (<usize>co * outHW << 2);
    for (let i = 0; i < R; i++) store<i32>(tags + (<usize>i << 2), -1);
    for (let oy = rowStart; oy < rowEnd; oy++) {
      // Padded input rows for this output row (built on first use).
      for (let ky = 0; ky < kH; ky++) {
        const pr = oy * sH + ky * dH;
        const slot = pr % R;
        const row = rows + <usize>slot * rowBytes;
        store<u32>(ptrs + (<usize>ky << 2), <u32>row);
        if (load<i32>(tags + (<usize>slot << 2)) == pr) continue;
        store<i32>(tags + (<usize>slot << 2), pr);
        const iy = sourceIndex(pr - padT, inH, mode);
        if (iy < 0) {
          const z = f32x4.splat(0);
          for (let j: usize = 0; j < rowBytes; j += 16) v128.store(row + j, z);
          continue;
        }
        const xr = xc + (<usize>(iy * inW) << 2);
        for (let j = 0; j < padL; j++) {
          const ix = sourceIndex(j - padL, inW, mode);
          store<f32>(row + (<usize>j << 2), ix < 0 ? <f32>0 : load<f32>(xr + (<usize>ix << 2)));
        }
        copyFloats(row + (<usize>padL << 2), xr, inW);
        for (let j = padL + inW; j < rowLen; j++) {
          const ix = j < validEnd ? sourceIndex(j - padL, inW, mode) : -1;
          store<f32>(row + (<usize>j << 2), ix < 0 ? <f32>0 : load<f32>(xr + (<usize>ix << 2)));
        }
      }
      const orow = oc + (<usize>(oy * outW) << 2);
      const step = <usize>(sW << 4);
      let ox = 0;
      // 16 pixels at a time: four independent accumulator chains hide the FMA latency.
      for (; ox + 16 <= outW; ox += 16) {
        let acc0 = vb, acc1 = vb, acc2 = vb, acc3 = vb;
        for (let ky = 0; ky < kH; ky++) {
          const row = <usize>load<u32>(ptrs + (<usize>ky << 2));
          const wr = wc + (<usize>(ky * kW) << 2);
          for (let kx = 0; kx < kW; kx++) {
            const src = row + (<usize>(ox * sW + kx * dW) << 2);
            const wv = v128.load32_splat(wr + (<usize>kx << 2));
            acc0 = madd(wv, loadStrided(src, sW), acc0);
            acc1 = madd(wv, loadStrided(src + step, sW), acc1);
            acc2 = madd(wv, loadStrided(src + 2 * step, sW), acc2);
            acc3 = madd(wv, loadStrided(src + 3 * step, sW), acc3);
          }
        }
        const o = orow + (<usize>ox << 2);
        v128.store(o, activate(acc0, act, slope));
        v128.store(o, activate(acc1, act, slope), 16);
        v128.store(o, activate(acc2, act, slope), 32);
        v128.store(o, activate(acc3, act, slope), 48);
      }
      for (; ox < outW; ox += 4) {
        let acc = vb;
        for (let ky = 0; ky < kH; ky++) {
          const row = <usize>load<u32>(ptrs + (<usize>ky << 2));
          const wr = wc + (<usize>(ky * kW) << 2);
          for (let kx = 0; kx < kW; kx++) {
            const src = row + (<usize>(ox * sW + kx * dW) << 2);
            acc = madd(v128.load32_splat(wr + (<usize>kx << 2)), loadStrided(src, sW), acc);
          }
        }
        acc = activate(acc, act, slope);
        const o = orow + (<usize>ox << 2);
        if (ox < outW4) {
          v128.store(o, acc);
        } else {
          store<f32>(o, f32x4.extract_lane(acc, 0));
          if (ox + 1 < outW) store<f32>(o, f32x4.extract_lane(acc, 1), 4);
          if (ox + 2 < outW) store<f32>(o, f32x4.extract_lane(acc, 2), 8);
        }
      }
    }
  }
}

/** Four floats at src, src + s, src + 2s, src + 3s (s in elements). */
// @ts-ignore: decorator
@inline function loadStrided(src: usize, s: i32): v128 {
  if (s == 1) return v128.load(src);
  if (s == 2) return v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
  const st = <usize>s << 2;
  let v = f32x4.splat(load<f32>(src));
  v = f32x4.replace_lane(v, 1, load<f32>(src + st));
  v = f32x4.replace_lane(v, 2, load<f32>(src + 2 * st));
  return f32x4.replace_lane(v, 3, load<f32>(src + 3 * st));
}

/** Copy n floats (vector body, scalar tail); memory.copy on shared memory is a slow runtime call in V8. */
// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

/**
 * Rows r ∈ [rFirst, rEnd) of a 4×8 tile (32-byte rows at `tile`) to `dst` + r·ldc, the first `np` pixels of each:
 * the partial channel blocks and pixel tails of the conv kernels.
 */
// @ts-ignore: decorator
@inline function storeTileRows(tile: usize, dst: usize, ldc: usize, rFirst: i32, rEnd: i32, np: i32): void {
  for (let r = rFirst; r < rEnd; r++) {
    const o = dst + <usize>r * ldc;
    const t = tile + (<usize>r << 5);
    if (np == 8) {
      v128.store(o, v128.load(t));
      v128.store(o, v128.load(t, 16), 16);
    } else {
      for (let j = 0; j < np; j++) store<f32>(o + (<usize>j << 2), load<f32>(t + (<usize>j << 2)));
    }
  }
}

/**
 * Stride-1, one-group conv2d with few taps per pixel (src/kernels/index.ts `usesRowsKernel` decides: a network's
 * first conv on 1–7 channels, a 1×1 head). The output row is cut into strips of S pixels (S a multiple of 8,
 * from P_STRIP: `rowsKernelStrip` in JS keeps the strip's rows within L1); for each strip the Cin·kH
 * input row segments it reads are copied once into padded rows in scratch (padding mode applied there), and the
 * 4×8 microkernel reads B straight from them: B row k = (ci·kH + ky)·kW + kx lies at byte offset
 * (ci·kH + ky)·rowBytes + kx·dW·4 from the 8 pixels' first column. No per-panel im2col or bookkeeping: for so few
 * taps, building panels costs more than the multiply-adds (3→16 @256²: 2.5 ms vs 3.9 ms).
 *
 * Same packed weights as conv2d. Scratch: tile (128 B) | row offsets [K] i32 | Cin·kH padded rows of rowLen
 * floats, rowLen = align4(S + (kW-1)·dW), 64-byte aligned.
 */
// @ts-ignore: decorator
@inline export function conv2dRowsBody(p: usize, act: i32): void {
  const cin = word(p, P_IN_C), inH = word(p, P_IN_H), inW = word(p, P_IN_W);
  const outW = word(p, P_OUT_W), outH = word(p, P_OUT_H);
  const kH = word(p, P_K_H), kW = word(p, P_K_W);
  const dH = word(p, P_D_H), dW = word(p, P_D_W);
  const padT = word(p, P_PAD_T), padL = word(p, P_PAD_L), padR = word(p, P_PAD_R), mode = word(p, P_MODE);
  const x = <usize>word(p, P_X), w = <usize>word(p, P_W), bias = <usize>word(p, P_BIAS), out = <usize>word(p, P_OUT);
  const slope = f32x4.splat(load<f32>(p + (<usize>P_SLOPE << 2)));
  const coStart = word(p, P_CO_START), coEnd = word(p, P_CO_END);
  const rowStart = word(p, P_ROW_START), rowEnd = word(p, P_ROW_END);
  const S = word(p, P_STRIP);
  const scratch = <usize>word(p, P_SCRATCH);

  const K = cin * kH * kW;
  const inHW = <usize>(inH * inW);
  const outHW = <usize>(outH * outW);
  const rowLen = (S + (kW - 1) * dW + 3) & ~3;
  const rowBytes = <usize>rowLen << 2;
  const validEnd = padL + inW + padR;
  const tile = scratch;
  const offs = scratch + 128;
  const rows = align64(offs + (<usize>K << 2));
  // A 1×1 conv without padding (a network's head) on rows of whole 8-pixel groups reads B straight from the input
  // planes (row k = channel k): no copies, and no read past a row's end.
  const inPlace = kH == 1 && kW == 1 && padL == 0 && padR == 0 && padT == 0 && outH == inH && (outW & 7) == 0;
  const copyChannels = inPlace ? 0 : cin;
  let k = 0;
  for (let r = 0; r < cin * kH; r++) {
    for (let kx = 0; kx < kW; kx++) {
      store<i32>(offs + (<usize>k << 2), inPlace ? r * <i32>(inHW << 2) : r * <i32>rowBytes + kx * dW * 4);
      k++;
    }
  }
  const cbFirst = coStart >> 2, cbLast = (coEnd - 1) >> 2;
  const zero = f32x4.splat(0);
  for (let oy = rowStart; oy < rowEnd; oy++) {
    const orow = <usize>(oy * outW);
    for (let s0 = 0; s0 < outW; s0 += S) {
      // Padded rows of the strip: row (ci·kH + ky), column j holds padded column s0 + j of input row
      // oy - padT + ky·dH (input column s0 + j - padL); columns [jLo, jHi) lie inside the input.
      const jLo = min(rowLen, max(0, padL - s0)), jHi = max(jLo, min(rowLen, padL + inW - s0));
      for (let ci = 0; ci < copyChannels; ci++) {
        const xc = x + (<usize>ci * inHW << 2);
        for (let ky = 0; ky < kH; ky++) {
          const row = rows + <usize>(ci * kH + ky) * rowBytes;
          const iy = sourceIndex(oy - padT + ky * dH, inH, mode);
          if (iy < 0) {
            for (let j: usize = 0; j < rowBytes; j += 16) v128.store(row + j, zero);
            continue;
          }
          const xr = xc + (<usize>(iy * inW) << 2);
          for (let j = 0; j < jLo; j++) {
            const ix = s0 + j < validEnd ? sourceIndex(s0 + j - padL, inW, mode) : -1;
            store<f32>(row + (<usize>j << 2), ix < 0 ? <f32>0 : load<f32>(xr + (<usize>ix << 2)));
          }
          copyFloats(row + (<usize>jLo << 2), xr + (<usize>(s0 + jLo - padL) << 2), jHi - jLo);
          for (let j = jHi; j < rowLen; j++) {
            const ix = s0 + j < validEnd ? sourceIndex(s0 + j - padL, inW, mode) : -1;
            store<f32>(row + (<usize>j << 2), ix < 0 ? <f32>0 : load<f32>(xr + (<usize>ix << 2)));
          }
        }
      }
      const s1 = min(outW, s0 + S);
      for (let cb = cbFirst; cb <= cbLast; cb++) {
        const c0 = cb << 2;
        const rFirst = max(coStart - c0, 0);
        const rEnd = min(coEnd - c0, 4);
        const b0 = blockBias(bias, c0, 0, rEnd), b1 = blockBias(bias, c0, 1, rEnd);
        const b2 = blockBias(bias, c0, 2, rEnd), b3 = blockBias(bias, c0, 3, rEnd);
        const a = w + (<usize>cb * <usize>K << 4);
        const full = rFirst == 0 && rEnd == 4;
        const oc = out + ((<usize>c0 * outHW + orow) << 2);
        for (let ox = s0; ox < s1; ox += 8) {
          const np = min(8, s1 - ox);
          const b = inPlace ? x + (<usize>(orow + ox) << 2) : rows + (<usize>(ox - s0) << 2);
          if (full && np == 8) {
            mk4x8At(a, b, offs, K, oc + (<usize>ox << 2), outHW << 2, b0, b1, b2, b3, act, slope);
          } else {
            mk4x8At(a, b, offs, K, tile, 32, b0, b1, b2, b3, act, slope);
            storeTileRows(tile, oc + (<usize>ox << 2), outHW << 2, rFirst, rEnd, np);
          }
        }
      }
    }
  }
}
