/**
 * Elementwise, per-channel and data-movement kernels over offsets in the shared memory. Element counts are in
 * floats; callers split work by offsetting the pointers.
 */
import { ACT_NONE, activate, activate1, madd } from './simd';

/** out[i] = act(x[i]) for i < n (act numbering: see simd.ts). */
export function activation(x: usize, out: usize, n: i32, act: i32, slope: f32): void {
  const vs = f32x4.splat(slope);
  const n4 = n & ~3;
  let i = 0;
  if (act == ACT_NONE) {
    memory.copy(out, x, <usize>n << 2);
    return;
  }
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, activate(v128.load(x + o), act, vs));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, activate1(load<f32>(x + o), act, slope));
  }
}

/**
 * out = a (op) b over a rank-4 output shape with element strides (0 broadcasts). op 0 = add, 1 = mul.
 * The innermost dimension is vectorised when both operands are contiguous or one of them is broadcast.
 */
export function binary(
  op: i32, a: usize, b: usize, out: usize, d0: i32, d1: i32, d2: i32, d3: i32,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32,
): void {
  let o = out;
  const n4 = d3 & ~3;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        const pa = a + (<usize>(i0 * a0 + i1 * a1 + i2 * a2) << 2);
        const pb = b + (<usize>(i0 * b0 + i1 * b1 + i2 * b2) << 2);
        let i = 0;
        if ((a3 == 1 || a3 == 0) && (b3 == 1 || b3 == 0)) {
          for (; i < n4; i += 4) {
            const va = a3 == 1 ? v128.load(pa + (<usize>i << 2)) : v128.load32_splat(pa);
            const vb = b3 == 1 ? v128.load(pb + (<usize>i << 2)) : v128.load32_splat(pb);
            v128.store(o + (<usize>i << 2), op == 0 ? f32x4.add(va, vb) : f32x4.mul(va, vb));
          }
        }
        for (; i < d3; i++) {
          const va = load<f32>(pa + (<usize>(i * a3) << 2));
          const vb = load<f32>(pb + (<usize>(i * b3) << 2));
          store<f32>(o + (<usize>i << 2), op == 0 ? va + vb : va * vb);
        }
        o += <usize>d3 << 2;
      }
    }
  }
}

/** out[n, c, i] = x[n, c, i]·scale[c] + shift[c] for `planes` planes starting at channel c0 of a C-channel tensor. */
export function channelAffine(x: usize, scale: usize, shift: usize, out: usize, batch: i32, channels: i32, spatial: i32): void {
  const s4 = spatial & ~3;
  let off: usize = 0;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const vs = v128.load32_splat(scale + (<usize>c << 2));
      const vt = v128.load32_splat(shift + (<usize>c << 2));
      const s = load<f32>(scale + (<usize>c << 2));
      const t = load<f32>(shift + (<usize>c << 2));
      let i = 0;
      for (; i < s4; i += 4) {
        const o = off + (<usize>i << 2);
        v128.store(out + o, madd(v128.load(x + o), vs, vt));
      }
      for (; i < spatial; i++) {
        const o = off + (<usize>i << 2);
        store<f32>(out + o, load<f32>(x + o) * s + t);
      }
      off += <usize>spatial << 2;
    }
  }
}

/** Softmax over channels at every position (max-subtracted), vectorised over 4 positions at a time. */
export function softmax(x: usize, out: usize, batch: i32, channels: i32, spatial: i32): void {
  const plane = <usize>spatial << 2;
  for (let n = 0; n < batch; n++) {
    const xb = x + <usize>n * <usize>channels * plane;
    const ob = out + <usize>n * <usize>channels * plane;
    for (let s = 0; s < spatial; s++) {
      const so = <usize>s << 2;
      let m: f32 = -Infinity;
      for (let c = 0; c < channels; c++) m = max(m, load<f32>(xb + <usize>c * plane + so));
      let sum: f64 = 0;
      for (let c = 0; c < channels; c++) {
        const e = Math.exp(<f64>(load<f32>(xb + <usize>c * plane + so) - m));
        store<f32>(ob + <usize>c * plane + so, <f32>e);
        sum += e;
      }
      const inv = 1.0 / sum;
      for (let c = 0; c < channels; c++) {
        const o = ob + <usize>c * plane + so;
        store<f32>(o, <f32>(<f64>load<f32>(o) * inv));
      }
    }
  }
}

/**
 * Gather rows/columns through index tables (pad and nearest resize): for every plane and output row oy, source
 * row rowIdx[oy] (-1 = fill) and for every column colIdx[ox] (-1 = fill). A run of consecutive column indices
 * [runStart, runStart + runLen) mapping to [runSrc, …) is copied with memory.copy.
 */
export function gather2d(
  x: usize, out: usize, planes: i32, inH: i32, inW: i32, outH: i32, outW: i32,
  rowIdx: usize, colIdx: usize, fill: f32, runStart: i32, runLen: i32, runSrc: i32,
): void {
  const inHW = <usize>(inH * inW), outHW = <usize>(outH * outW);
  for (let pl = 0; pl < planes; pl++) {
    const xp = x + (<usize>pl * inHW << 2);
    const op = out + (<usize>pl * outHW << 2);
    for (let oy = 0; oy < outH; oy++) {
      const iy = load<i32>(rowIdx + (<usize>oy << 2));
      const orow = op + (<usize>(oy * outW) << 2);
      if (iy < 0) {
        const v = f32x4.splat(fill);
        const n4 = outW & ~3;
        for (let i = 0; i < n4; i += 4) v128.store(orow + (<usize>i << 2), v);
        for (let i = n4; i < outW; i++) store<f32>(orow + (<usize>i << 2), fill);
        continue;
      }
      const xr = xp + (<usize>(iy * inW) << 2);
      for (let ox = 0; ox < outW; ox++) {
        if (ox == runStart && runLen > 0) {
          memory.copy(orow + (<usize>ox << 2), xr + (<usize>runSrc << 2), <usize>runLen << 2);
          ox += runLen - 1;
          continue;
        }
        const ix = load<i32>(colIdx + (<usize>ox << 2));
        store<f32>(orow + (<usize>ox << 2), ix < 0 ? fill : load<f32>(xr + (<usize>ix << 2)));
      }
    }
  }
}

/**
 * Bilinear resize through per-axis tables: y0/y1 (i32) and ly0/ly1 (f32) of length outH, x0/x1 and lx0/lx1 of
 * length outW. out = ly0·(x[y0,x0]·lx0 + x[y0,x1]·lx1) + ly1·(x[y1,x0]·lx0 + x[y1,x1]·lx1).
 */
export function bilinear(
  x: usize, out: usize, planes: i32, inH: i32, inW: i32, outH: i32, outW: i32,
  y0: usize, y1: usize, ly0: usize, ly1: usize, x0: usize, x1: usize, lx0: usize, lx1: usize,
): void {
  const inHW = <usize>(inH * inW), outHW = <usize>(outH * outW);
  for (let pl = 0; pl < planes; pl++) {
    const xp = x + (<usize>pl * inHW << 2);
    const op = out + (<usize>pl * outHW << 2);
    for (let oy = 0; oy < outH; oy++) {
      const r0 = xp + (<usize>(load<i32>(y0 + (<usize>oy << 2)) * inW) << 2);
      const r1 = xp + (<usize>(load<i32>(y1 + (<usize>oy << 2)) * inW) << 2);
      const a = load<f32>(ly0 + (<usize>oy << 2));
      const b = load<f32>(ly1 + (<usize>oy << 2));
      const orow = op + (<usize>(oy * outW) << 2);
      const va = f32x4.splat(a), vb = f32x4.splat(b);
      let ox = 0;
      // Four outputs at a time: gathered corners, vector arithmetic (mul + add, the same rounding as the tail).
      for (; ox + 4 <= outW; ox += 4) {
        const o = <usize>ox << 2;
        const i0 = v128.load(x0 + o), i1 = v128.load(x1 + o);
        const top = f32x4.add(f32x4.mul(gather4(r0, i0), v128.load(lx0 + o)), f32x4.mul(gather4(r0, i1), v128.load(lx1 + o)));
        const bottom = f32x4.add(f32x4.mul(gather4(r1, i0), v128.load(lx0 + o)), f32x4.mul(gather4(r1, i1), v128.load(lx1 + o)));
        v128.store(orow + o, f32x4.add(f32x4.mul(va, top), f32x4.mul(vb, bottom)));
      }
      for (; ox < outW; ox++) {
        const o = <usize>ox << 2;
        const c0 = <usize>load<i32>(x0 + o) << 2;
        const c1 = <usize>load<i32>(x1 + o) << 2;
        const l0 = load<f32>(lx0 + o), l1 = load<f32>(lx1 + o);
        const top = load<f32>(r0 + c0) * l0 + load<f32>(r0 + c1) * l1;
        const bottom = load<f32>(r1 + c0) * l0 + load<f32>(r1 + c1) * l1;
        store<f32>(orow + o, a * top + b * bottom);
      }
    }
  }
}

/** row[idx[0]], …, row[idx[3]] (idx: four i32 element indices). */
// @ts-ignore: decorator
@inline function gather4(row: usize, idx: v128): v128 {
  let v = f32x4.splat(load<f32>(row + (<usize>i32x4.extract_lane(idx, 0) << 2)));
  v = f32x4.replace_lane(v, 1, load<f32>(row + (<usize>i32x4.extract_lane(idx, 1) << 2)));
  v = f32x4.replace_lane(v, 2, load<f32>(row + (<usize>i32x4.extract_lane(idx, 2) << 2)));
  return f32x4.replace_lane(v, 3, load<f32>(row + (<usize>i32x4.extract_lane(idx, 3) << 2)));
}
