/** Reference pad and interpolate kernels over the last two dimensions. */
import { linearAxis, nearestIndex, padSource, type InterpolateGeometry, type PadGeometry } from '../geometry.js';

export function padReference(g: PadGeometry, x: Float32Array, out: Float32Array): void {
  const { inH, inW, outH, outW, pad, mode, value } = g;
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * inH * inW;
    for (let oy = 0; oy < outH; oy++) {
      const iy = padSource(oy, pad.top, pad.bottom, inH, mode);
      for (let ox = 0; ox < outW; ox++) {
        const ix = padSource(ox, pad.left, pad.right, inW, mode);
        out[o++] = iy < 0 || ix < 0 ? value : x[base + iy * inW + ix]!;
      }
    }
  }
}

export function interpolateReference(g: InterpolateGeometry, x: Float32Array, out: Float32Array): void {
  const { inH, inW, outH, outW } = g;
  const inPlane = inH * inW;
  if (g.mode === 'nearest') {
    // Per-axis index tables, built once per call.
    const ys = new Int32Array(outH);
    const xs = new Int32Array(outW);
    for (let d = 0; d < outH; d++) ys[d] = nearestIndex(d, inH, outH, g.scaleH);
    for (let d = 0; d < outW; d++) xs[d] = nearestIndex(d, inW, outW, g.scaleW);
    let o = 0;
    for (let p = 0; p < g.planes; p++) {
      const base = p * inPlane;
      for (let oy = 0; oy < outH; oy++) {
        const row = base + ys[oy]! * inW;
        for (let ox = 0; ox < outW; ox++) out[o++] = x[row + xs[ox]!]!;
      }
    }
    return;
  }
  const { i0: y0, i1: y1, l0: ly0, l1: ly1 } = linearAxis(inH, outH, g.scaleH, g.alignCorners);
  const { i0: x0, i1: x1, l0: lx0, l1: lx1 } = linearAxis(inW, outW, g.scaleW, g.alignCorners);
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      const r0 = base + y0[oy]! * inW;
      const r1 = base + y1[oy]! * inW;
      const a = ly0[oy]!;
      const b = ly1[oy]!;
      for (let ox = 0; ox < outW; ox++) {
        const c0 = x0[ox]!;
        const c1 = x1[ox]!;
        const top = x[r0 + c0]! * lx0[ox]! + x[r0 + c1]! * lx1[ox]!;
        const bottom = x[r1 + c0]! * lx0[ox]! + x[r1 + c1]! * lx1[ox]!;
        out[o++] = a * top + b * bottom;
      }
    }
  }
}
