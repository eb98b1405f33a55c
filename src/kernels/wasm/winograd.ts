/**
 * Winograd F(4×4, 3×3) convolution for 3×3 kernels, stride 1, dilation 1, groups 1, zeros padding.
 *
 * Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A on 6×6 input tiles d producing 4×4 output tiles, interpolation points
 * 0, ±1, ±2, ∞ (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
 *
 *   Bᵀ = [4  0 -5  0 1 0]      Aᵀ = [1 1  1 1  1 0]
 *        [0 -4 -4  1 1 0]           [0 1 -1 2 -2 0]
 *        [0  4 -4 -1 1 0]           [0 1  1 4  4 0]
 *        [0 -2 -1  2 1 0]           [0 1 -1 8 -8 1]
 *        [0  2 -1 -2 1 0]
 *        [0  4  0 -5 0 1]
 *
 * The weight transform U = G g Gᵀ is done once at load, in f64, by src/kernels/winograd.ts.
 *
 * Layouts (f32; ξ = 6·row + column of the 6×6 transformed tile; a quad is 4 horizontally adjacent tiles of one
 * tile row and a panel 2 consecutive quads in row-major order, usually side by side in one tile row, on maps
 * narrower than 8 tiles from two tile rows; tiles past the right edge are computed but never stored):
 *   U[ξ][cb][Cin][4]            weights, cb = block of 4 output channels (zero-padded)
 *   V[pb][Cin][ξ][8]            transformed input of the block's panels pb (scratch), ξ innermost so that the
 *                               input transform writes 1152 contiguous bytes per channel and panel (the GEMM
 *                               reads B rows 1152 bytes apart instead; 3–7 % faster than ξ planes on 16–32
 *                               channels, equal on more)
 *   M[pb][CoutPad][ξ][8]        the 36 GEMM products (scratch), ξ innermost likewise for the output transform
 *                               (the GEMM stores 4×8 tiles with a 1152-byte row stride)
 *
 * The kernel walks the panels of the requested tile rows in blocks of `blockPanels` (chosen by the caller so that
 * V and M stay in L2): input transform (zero padding applied while reading) → 36 GEMMs on the 4×8 microkernel →
 * output transform with bias + activation, storing only output rows [rowStart, rowEnd) and channels
 * [coStart, coEnd); with P_POOL set it also writes the 2×2 stride-2 max pool of those rows (pairs of an even and
 * an odd row, so rowStart must be even). Rows of a tile row that straddles a range boundary are computed by both
 * neighbours (each stores its own), so row ranges that are multiples of 4 waste nothing.
 */
import { mk4x8 } from './gemm';
import { maxPool2d } from './pool';
import { activateOutput } from './conv';
import { ACT_LEAKY, ACT_NONE, ACT_RELU, ACT_SIGMOID, ACT_TANH, activate, biasOf, madd } from './simd';

// Parameter block word indices (mirror of src/kernels/index.ts; the winograd kernel reads only these).
const P_IN_C = 0, P_IN_H = 1, P_IN_W = 2, P_OUT_C = 3, P_OUT_H = 4, P_OUT_W = 5;
const P_PAD_T = 15, P_PAD_L = 16, P_X = 18, P_W = 19, P_BIAS = 20, P_OUT = 21, P_ACT = 22;
const P_SLOPE = 23, P_CO_START = 24, P_CO_END = 25, P_ROW_START = 26, P_ROW_END = 27, P_SCRATCH = 28;
const P_BLOCK_PANELS = 40, P_POOL = 42, P_POOL_H = 43, P_POOL_W = 44;

/** Quads (4 tiles) one input-transform strip covers at most: 8, 132 input columns. */
const STRIP_QUADS: i32 = 8;
/** Floats of a strip row: 16 per quad + 4, plus slack (a multiple of 4). */
const ROW_FLOATS: usize = 136;
/** Bytes between the vertical pass's 6 result rows (132 floats each). */
const T_ROW: usize = 528;
/** Bytes of the scratch head: padded row buffers, zero row, vertical-pass rows, column-pass results. */
const HEAD_BYTES: usize = 8192;
const ROWS_OFF: usize = 0; // 6 rows × 136 floats = 3264 B
const ZERO_OFF: usize = 3328; // 136 zero floats = 544 B
const T_OFF: usize = 3904; // 6 × 132 floats = 3168 B
const S_OFF: usize = 7104; // 4 × 6 vectors = 384 B
const EDGE_OFF: usize = 7552; // output transform's edge tiles: 2 rows of 16 floats + 8 pooled floats = 160 B
/** Bytes per ξ in V and M: 8 tiles of a panel. */
const XI_BYTES: usize = 32;

// @ts-ignore: decorator
@inline function word(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/**
 * Bᵀ·d over 6 rows (`r0`..`r5`) into the 6 rows of t (T_ROW bytes apart), for the bytes [o0, o1) of the rows: the
 * vertical half of the input transform for one channel of one strip.
 */
// @ts-ignore: decorator
@inline function verticalPass(r0: usize, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, t: usize, o0: usize, o1: usize): void {
  const four = f32x4.splat(4), m4 = f32x4.splat(-4), m5 = f32x4.splat(-5), two = f32x4.splat(2);
  for (let o = o0; o < o1; o += 16) {
    const d0 = v128.load(r0 + o), d1 = v128.load(r1 + o), d2 = v128.load(r2 + o);
    const d3 = v128.load(r3 + o), d4 = v128.load(r4 + o), d5 = v128.load(r5 + o);
    const a = madd(m4, d2, d4); // d4 - 4 d2
    const b = madd(m4, d1, d3); // d3 - 4 d1
    const c = f32x4.sub(d4, d2);
    const e = f32x4.mul(two, f32x4.sub(d3, d1));
    v128.store(t + o, madd(four, d0, madd(m5, d2, d4)));
    v128.store(t + o, f32x4.add(a, b), T_ROW);
    v128.store(t + o, f32x4.sub(a, b), 2 * T_ROW);
    v128.store(t + o, f32x4.add(c, e), 3 * T_ROW);
    v128.store(t + o, f32x4.sub(c, e), 4 * T_ROW);
    v128.store(t + o, madd(four, d1, madd(m5, d3, d5)), 5 * T_ROW);
  }
}

/**
 * Horizontal half of the input transform for one t row and 4 tiles: the 4×4 transposes turn columns
 * 4j+k (j = tile) into vectors over tiles, then Bᵀ along k; the six results go to the six ξ planes of this row.
 */
// @ts-ignore: decorator
@inline function horizontalPass(src: usize, dst: usize, stride: usize): void {
  const v0 = v128.load(src), v1 = v128.load(src, 16), v2 = v128.load(src, 32);
  const v3 = v128.load(src, 48), v4 = v128.load(src, 64);
  const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
  const x0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5);
  const x1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
  const x2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5);
  const x3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
  const u0 = v128.shuffle<f32>(v1, v2, 0, 4, 1, 5);
  const u2 = v128.shuffle<f32>(v3, v4, 0, 4, 1, 5);
  const x4 = v128.shuffle<f32>(u0, u2, 0, 1, 4, 5);
  const x5 = v128.shuffle<f32>(u0, u2, 2, 3, 6, 7);
  const four = f32x4.splat(4), m4 = f32x4.splat(-4), m5 = f32x4.splat(-5), two = f32x4.splat(2);
  const a = madd(m4, x2, x4);
  const b = madd(m4, x1, x3);
  const c = f32x4.sub(x4, x2);
  const e = f32x4.mul(two, f32x4.sub(x3, x1));
  v128.store(dst, madd(four, x0, madd(m5, x2, x4)));
  v128.store(dst + stride, f32x4.add(a, b));
  v128.store(dst + 2 * stride, f32x4.sub(a, b));
  v128.store(dst + 3 * stride, f32x4.add(c, e));
  v128.store(dst + 4 * stride, f32x4.sub(c, e));
  v128.store(dst + 5 * stride, madd(four, x1, madd(m5, x3, x5)));
}

/**
 * Input transform of one channel for a strip of `nq` side-by-side quads of one tile row (1 ≤ nq ≤ STRIP_QUADS:
 * 16·nq + 4 columns, 4·nq tiles): 6 rows from input row iy0 and column ix0, zero padding applied while reading.
 * Column vectors [vLo, vHi) lie inside the input row and are read in place; the edge vectors around them are
 * copied with their padding into the row buffers. Quad k of the strip is quad u0 + k of the block: it goes to
 * panel (u0 + k) / 2, lanes [0, 4) or [4, 8), of V at `v` (V[panel][Cin][ξ][8], channel `ci` of `cin`). One strip
 * per run of quads, rather than per panel, keeps the per-strip set-up off the critical loop.
 */
function stripTransform(
  xc: usize, iy0: i32, ix0: i32, nq: i32, inH: i32, inW: i32, rows: usize, zero: usize, t: usize,
  v: usize, cin: i32, ci: i32, u0: i32,
): void {
  const nVec = (nq << 2) + 1;
  const nCols = nVec << 2;
  const vLo = min(nVec, ix0 >= 0 ? 0 : (3 - ix0) >> 2);
  const vHi = max(vLo, min(nVec, (inW - ix0) >> 2));
  const oLo = <usize>vLo << 4, oHi = <usize>vHi << 4, oEnd = <usize>nVec << 4;
  // Per row: the input row (column ix0 at offset 0) and its padded edge copy, or the zero row for both.
  let r0: usize = zero, r1: usize = zero, r2: usize = zero, r3: usize = zero, r4: usize = zero, r5: usize = zero;
  let e0: usize = zero, e1: usize = zero, e2: usize = zero, e3: usize = zero, e4: usize = zero, e5: usize = zero;
  for (let r = 0; r < 6; r++) {
    const iy = iy0 + r;
    if (<u32>iy >= <u32>inH) continue;
    const src = xc + (<usize>(iy * inW + ix0) << 2);
    const edge = rows + <usize>r * ROW_FLOATS * 4;
    for (let c = 0; c < nCols; c++) {
      if (c == (vLo << 2)) c = vHi << 2;
      if (c >= nCols) break;
      store<f32>(edge + (<usize>c << 2), <u32>(ix0 + c) < <u32>inW ? load<f32>(src + (<usize>c << 2)) : 0);
    }
    if (r == 0) { r0 = src; e0 = edge; }
    else if (r == 1) { r1 = src; e1 = edge; }
    else if (r == 2) { r2 = src; e2 = edge; }
    else if (r == 3) { r3 = src; e3 = edge; }
    else if (r == 4) { r4 = src; e4 = edge; }
    else { r5 = src; e5 = edge; }
  }
  if (oLo > 0) verticalPass(e0, e1, e2, e3, e4, e5, t, 0, oLo);
  verticalPass(r0, r1, r2, r3, r4, r5, t, oLo, oHi);
  if (oHi < oEnd) verticalPass(e0, e1, e2, e3, e4, e5, t, oHi, oEnd);
  for (let k = 0; k < nq; k++) {
    const u = u0 + k;
    const d = v + <usize>((u >> 1) * cin + ci) * 1152 + (<usize>(u & 1) << 4);
    const src = t + (<usize>k << 6);
    // Six rows in straight-line code: one address computation per quad (each pass ends in stores, so V8 cannot
    // hoist the next row's loads above them and spill).
    horizontalPass(src, d, XI_BYTES);
    horizontalPass(src + T_ROW, d + 6 * XI_BYTES, XI_BYTES);
    horizontalPass(src + 2 * T_ROW, d + 12 * XI_BYTES, XI_BYTES);
    horizontalPass(src + 3 * T_ROW, d + 18 * XI_BYTES, XI_BYTES);
    horizontalPass(src + 4 * T_ROW, d + 24 * XI_BYTES, XI_BYTES);
    horizontalPass(src + 5 * T_ROW, d + 30 * XI_BYTES, XI_BYTES);
  }
}

/**
 * Winograd F(4×4, 3×3) conv2d of one image (see the file comment). `p` is a conv parameter block; its
 * P_W word points at the transformed weights U, P_BLOCK_PANELS (≥ 1) gives the panels transformed per block; the
 * scratch at P_SCRATCH must hold `winogradScratchBytes` (src/kernels/winograd.ts) for the same block size.
 */
export function winogradConv2d(p: usize): void {
  const blockPanels = word(p, P_BLOCK_PANELS);
  const cin = word(p, P_IN_C), inH = word(p, P_IN_H), inW = word(p, P_IN_W);
  const cout = word(p, P_OUT_C), outH = word(p, P_OUT_H), outW = word(p, P_OUT_W);
  const padT = word(p, P_PAD_T), padL = word(p, P_PAD_L);
  const x = <usize>word(p, P_X), u = <usize>word(p, P_W), bias = <usize>word(p, P_BIAS), out = <usize>word(p, P_OUT);
  const act = word(p, P_ACT);
  const slope = f32x4.splat(load<f32>(p + (<usize>P_SLOPE << 2)));
  const coStart = word(p, P_CO_START), coEnd = word(p, P_CO_END);
  const rowStart = word(p, P_ROW_START), rowEnd = min(word(p, P_ROW_END), outH);
  const scratch = <usize>word(p, P_SCRATCH);
  const pool = <usize>word(p, P_POOL);
  const poolH = word(p, P_POOL_H), poolW = word(p, P_POOL_W);
  const poolHW = <usize>(poolH * poolW);
  if (rowStart >= rowEnd || coStart >= coEnd) return;

  const nCB = (cout + 3) >> 2;
  const coutPad = <usize>(nCB << 2);
  const cb0 = coStart >> 2, cb1 = (coEnd + 3) >> 2;
  const P = <usize>blockPanels;
  const rows = scratch + ROWS_OFF, zero = scratch + ZERO_OFF, t = scratch + T_OFF, s = scratch + S_OFF, edge = scratch + EDGE_OFF;
  const V = scratch + HEAD_BYTES;
  const M = V + P * <usize>cin * 1152;
  const uPlane = <usize>nCB * <usize>cin << 4;
  const vPanel = <usize>cin * 1152, mPanel = coutPad * 1152;
  const inHW = <usize>(inH * inW);
  const outHW = <usize>(outH * outW);
  const zv = f32x4.splat(0);
  for (let o: usize = 0; o < ROW_FLOATS * 4; o += 16) v128.store(zero + o, zv);

  const tilesW = (outW + 3) >> 2;
  // Quads: 4 horizontally adjacent tiles of one tile row. A panel is 2 consecutive quads in row-major order over
  // the requested tile rows, so maps narrower than 8 tiles fill their panels from two tile rows.
  const quadsPerRow = (tilesW + 3) >> 2;
  const ty0 = rowStart >> 2, ty1 = (rowEnd + 3) >> 2;
  const quads = (ty1 - ty0) * quadsPerRow;
  const panel1 = (quads + 1) >> 1;

  for (let pBase = 0; pBase < panel1; pBase += blockPanels) {
    const np = min(blockPanels, panel1 - pBase);

    // 1. Input transform of the block's quads into V, one strip per run of quads in one tile row.
    const qFirst = pBase << 1, qEnd = min((pBase + np) << 1, quads);
    for (let ci = 0; ci < cin; ci++) {
      const xc = x + (<usize>ci * inHW << 2);
      for (let q = qFirst; q < qEnd;) {
        const tr = q / quadsPerRow, qr = q - tr * quadsPerRow;
        const nq = min(STRIP_QUADS, min(qEnd - q, quadsPerRow - qr));
        stripTransform(xc, ((ty0 + tr) << 2) - padT, (qr << 4) - padL, nq, inH, inW, rows, zero, t, V, cin, ci, q - qFirst);
        q += nq;
      }
      if (((qEnd - qFirst) & 1) != 0) {
        // The last panel has no second quad: keep its lanes finite (zeros) for the GEMM.
        const vc = V + <usize>(((qEnd - qFirst) >> 1) * cin + ci) * 1152;
        for (let xi: usize = 0; xi < 36; xi++) v128.store(vc + (xi << 5), zv, 16);
      }
    }

    // 2. 36 GEMMs: M[pb][co][ξ][8] = Σ_ci U[ξ][co][ci] · V[pb][ci][ξ][8].
    for (let xi: usize = 0; xi < 36; xi++) {
      const uX = u + xi * uPlane;
      const vX = V + (xi << 5);
      const mX = M + (xi << 5);
      for (let cb = cb0; cb < cb1; cb++) {
        const a = uX + (<usize>(cb * cin) << 4);
        // Pointers stepped per panel (V8 does not strength-reduce the products).
        let vp = vX, mp = mX + (<usize>(cb << 2)) * 1152;
        const vEnd = vX + <usize>np * vPanel;
        for (; vp < vEnd; vp += vPanel) {
          mk4x8(a, vp, 1152, cin, mp, 1152, 0, 0, 0, 0, 0, zv);
          mp += mPanel;
        }
      }
    }

    // 3. Output transform with bias + activation, storing rows [rowStart, rowEnd), channels [coStart, coEnd). One
    // copy of the transform per cheap activation, each with its activation constant-folded (a runtime switch at
    // every store made V8 spill the row pass around the inlined sigmoid/tanh calls); sigmoid and tanh store the
    // pre-activation values and apply the activation in a pass at the end of the call.
    if (act == ACT_RELU) {
      outputStage(M, s, edge, out, bias, pool, poolH, poolW, outW, outHW, coStart, coEnd, coutPad, np, pBase, quads, quadsPerRow, ty0, rowStart, rowEnd, ACT_RELU, slope);
    } else if (act == ACT_LEAKY) {
      outputStage(M, s, edge, out, bias, pool, poolH, poolW, outW, outHW, coStart, coEnd, coutPad, np, pBase, quads, quadsPerRow, ty0, rowStart, rowEnd, ACT_LEAKY, slope);
    } else if (act == ACT_NONE) {
      outputStage(M, s, edge, out, bias, pool, poolH, poolW, outW, outHW, coStart, coEnd, coutPad, np, pBase, quads, quadsPerRow, ty0, rowStart, rowEnd, ACT_NONE, slope);
    } else {
      outputStage(M, s, edge, out, bias, 0, poolH, poolW, outW, outHW, coStart, coEnd, coutPad, np, pBase, quads, quadsPerRow, ty0, rowStart, rowEnd, ACT_NONE, slope);
    }
  }
  if (act == ACT_SIGMOID || act == ACT_TANH) {
    // The rows this call stored, then their pool (pooled rows whose two rows both lie in the range).
    activateOutput(p, act);
    const py0 = (rowStart + 1) >> 1, py1 = min(rowEnd >> 1, poolH);
    if (pool != 0 && py0 < py1) {
      for (let co = coStart; co < coEnd; co++) {
        maxPool2d(out + (<usize>co * outHW << 2), pool + (<usize>co * poolHW << 2), 1, outH, outW, poolH, poolW, 2, 2, 2, 2, 1, 1, 0, 0, py0, py1);
      }
    }
  }
}

/**
 * Step 3 of {@link winogradConv2d} for the block of `np` panels starting at panel `pBase`: the output transform of
 * M with bias and activation `act` (a constant at every call site, so each copy has its activation folded in) and
 * the fused max pool.
 */
// @ts-ignore: decorator
@inline function outputStage(
  M: usize, s: usize, edge: usize, out: usize, bias: usize, pool: usize, poolH: i32, poolW: i32, outW: i32, outHW: usize,
  coStart: i32, coEnd: i32, coutPad: usize, np: i32, pBase: i32, quads: i32, quadsPerRow: i32, ty0: i32,
  rowStart: i32, rowEnd: i32, act: i32, slope: v128,
): void {
  const poolHW = <usize>(poolH * poolW);
  for (let co = coStart; co < coEnd; co++) {
    const bv = f32x4.splat(biasOf(bias, co));
    const oc = out + (<usize>co * outHW << 2);
    const pc = pool + (<usize>co * poolHW << 2);
    for (let pb = 0; pb < np; pb++) {
      for (let h = 0; h < 2; h++) {
        const q = ((pBase + pb) << 1) + h;
        if (q >= quads) break;
        const ty = ty0 + q / quadsPerRow;
        const oxBase = (q % quadsPerRow) << 4;
        const oyFirst = max(ty << 2, rowStart), oyEnd = min((ty << 2) + 4, rowEnd);
        const m = M + (<usize>pb * coutPad + <usize>co) * 1152 + (<usize>h << 4);
        // Column pass (Aᵀ over the 6 rows of each column), kept in s[i][c]; straight-line code (the stores keep
        // V8 from hoisting the six columns' loads together).
        columnPass(m, s);
        columnPass(m + 32, s + 16);
        columnPass(m + 64, s + 32);
        columnPass(m + 96, s + 48);
        columnPass(m + 128, s + 64);
        columnPass(m + 160, s + 80);
        if (oyEnd - oyFirst == 4 && oxBase + 16 <= outW && (pool == 0 || ((oyFirst >> 1) + 2 <= poolH && (oxBase >> 1) + 8 <= poolW))) {
          // A whole tile row of full width: four row passes, then the pool of the stored rows (two pooled rows).
          const rowBytes = <usize>outW << 2;
          const d0 = oc + (<usize>(oyFirst * outW + oxBase) << 2);
          rowPass(s, d0, bv, act, slope);
          rowPass(s + 96, d0 + rowBytes, bv, act, slope);
          rowPass(s + 192, d0 + 2 * rowBytes, bv, act, slope);
          rowPass(s + 288, d0 + 3 * rowBytes, bv, act, slope);
          if (pool != 0) {
            const pd = pc + (<usize>((oyFirst >> 1) * poolW + (oxBase >> 1)) << 2);
            poolRowPair(d0, d0 + rowBytes, pd);
            poolRowPair(d0 + 2 * rowBytes, d0 + 3 * rowBytes, pd + (<usize>poolW << 2));
          }
          continue;
        }
        // Edge tile rows (cut by the block's rows or by the map's right edge): each row pass goes to a 64-byte tile
        // in scratch (even rows at `edge`, odd rows at edge + 64, so a pooled pair is read back from there), then
        // the pixels inside the map are copied out.
        for (let oy = oyFirst; oy < oyEnd; oy++) {
          const tl = edge + (<usize>(oy & 1) << 6);
          rowPass(s + <usize>(oy - (ty << 2)) * 96, tl, bv, act, slope);
          const dst = oc + (<usize>(oy * outW + oxBase) << 2);
          storePartial(dst, v128.load(tl), outW - oxBase);
          storePartial(dst + 16, v128.load(tl, 16), outW - oxBase - 4);
          storePartial(dst + 32, v128.load(tl, 32), outW - oxBase - 8);
          storePartial(dst + 48, v128.load(tl, 48), outW - oxBase - 12);
          if (pool != 0 && (oy & 1) == 1 && oy > oyFirst && (oy >> 1) < poolH) {
            // 8 pooled pixels of pooled row oy/2, the first poolW - px of them inside the pooled map.
            const px = oxBase >> 1;
            const pd = pc + (<usize>((oy >> 1) * poolW + px) << 2);
            poolRowPair(edge, edge + 64, edge + 128);
            storePartial(pd, v128.load(edge, 128), poolW - px);
            storePartial(pd + 16, v128.load(edge, 144), poolW - px - 4);
          }
        }
      }
    }
  }
}

/** Aᵀ over the 6 rows (192 bytes apart) of one M column at `mc`: four vectors to `sc` + 0, 96, 192, 288. */
// @ts-ignore: decorator
@inline function columnPass(mc: usize, sc: usize): void {
  const two = f32x4.splat(2), four = f32x4.splat(4), eight = f32x4.splat(8);
  const m0 = v128.load(mc), m1 = v128.load(mc, 192), m2 = v128.load(mc, 384);
  const m3 = v128.load(mc, 576), m4 = v128.load(mc, 768), m5 = v128.load(mc, 960);
  const a = f32x4.add(m1, m2), b = f32x4.sub(m1, m2), c3 = f32x4.add(m3, m4), d = f32x4.sub(m3, m4);
  v128.store(sc, f32x4.add(f32x4.add(m0, a), c3));
  v128.store(sc, madd(two, d, b), 96);
  v128.store(sc, madd(four, c3, a), 192);
  v128.store(sc, madd(eight, d, f32x4.add(b, m5)), 288);
}

/**
 * Row pass of one s row (`si`: 6 vectors) with bias and activation, transposed so each tile's 4 pixels are one
 * vector: the quad's 16 outputs of that row to `dst` (whole width).
 */
// @ts-ignore: decorator
@inline function rowPass(si: usize, dst: usize, bv: v128, act: i32, slope: v128): void {
  const two = f32x4.splat(2), four = f32x4.splat(4), eight = f32x4.splat(8);
  const s0 = v128.load(si), s1 = v128.load(si, 16), s2 = v128.load(si, 32);
  const s3 = v128.load(si, 48), s4 = v128.load(si, 64), s5 = v128.load(si, 80);
  const a = f32x4.add(s1, s2), b = f32x4.sub(s1, s2), c3 = f32x4.add(s3, s4), d = f32x4.sub(s3, s4);
  const y0 = activate(f32x4.add(f32x4.add(f32x4.add(s0, a), c3), bv), act, slope);
  const y1 = activate(madd(two, d, f32x4.add(b, bv)), act, slope);
  const y2 = activate(madd(four, c3, f32x4.add(a, bv)), act, slope);
  const y3 = activate(madd(eight, d, f32x4.add(f32x4.add(b, s5), bv)), act, slope);
  const t0 = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(dst, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(dst, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
}

/** 2×2 stride-2 max pool of 16 pixels of an even row `e` and the odd row `o` below it: 8 pixels to `pd`. */
// @ts-ignore: decorator
@inline function poolRowPair(e: usize, o: usize, pd: usize): void {
  const m0 = f32x4.max(v128.load(e), v128.load(o)), m1 = f32x4.max(v128.load(e, 16), v128.load(o, 16));
  const m2 = f32x4.max(v128.load(e, 32), v128.load(o, 32)), m3 = f32x4.max(v128.load(e, 48), v128.load(o, 48));
  v128.store(pd, f32x4.max(v128.shuffle<f32>(m0, m1, 0, 2, 4, 6), v128.shuffle<f32>(m0, m1, 1, 3, 5, 7)));
  v128.store(pd, f32x4.max(v128.shuffle<f32>(m2, m3, 0, 2, 4, 6), v128.shuffle<f32>(m2, m3, 1, 3, 5, 7)), 16);
}

/** Store the first `n` lanes of `v` (n ≤ 0: nothing, n ≥ 4: all). */
// @ts-ignore: decorator
@inline function storePartial(dst: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(dst, v);
  } else if (n > 0) {
    store<f32>(dst, f32x4.extract_lane(v, 0));
    if (n > 1) store<f32>(dst, f32x4.extract_lane(v, 1), 4);
    if (n > 2) store<f32>(dst, f32x4.extract_lane(v, 2), 8);
  }
}
