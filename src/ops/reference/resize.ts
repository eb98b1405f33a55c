/** Reference pad and interpolate kernels over the last two dimensions. */
import type { InterpolateGeometry, PadGeometry } from '../geometry.js';

const f32 = Math.fround;

/**
 * F.pad. Constant, reflect and replicate map output index j to input index j - before in the input's own
 * coordinates (reflecting about / clamping to the input's edges). Circular follows PyTorch's _pad_circular:
 * negative pads crop first, then the cropped tensor is wrapped, so the copy comes from the kept part.
 * Returns -1 for a constant fill.
 */
function padSource(j: number, before: number, after: number, size: number, mode: PadGeometry['mode']): number {
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

/** torch 1.13 nearest_idx: identity, halving, or min(floor(dst·scale), in-1) in float32. */
function nearestIndex(dst: number, inSize: number, outSize: number, scale: number): number {
  if (outSize === inSize) return dst;
  if (outSize === 2 * inSize) return dst >> 1;
  return Math.min(Math.floor(f32(dst * scale)), inSize - 1);
}

/** Fill index0/index1/lambda0/lambda1 of one axis as torch's compute_source_index_and_lambda (float32). */
function linearAxis(
  inSize: number,
  outSize: number,
  scale: number,
  alignCorners: boolean,
  i0: Int32Array,
  i1: Int32Array,
  l0: Float64Array,
  l1: Float64Array,
): void {
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
  const y0 = new Int32Array(outH), y1 = new Int32Array(outH), ly0 = new Float64Array(outH), ly1 = new Float64Array(outH);
  const x0 = new Int32Array(outW), x1 = new Int32Array(outW), lx0 = new Float64Array(outW), lx1 = new Float64Array(outW);
  linearAxis(inH, outH, g.scaleH, g.alignCorners, y0, y1, ly0, ly1);
  linearAxis(inW, outW, g.scaleW, g.alignCorners, x0, x1, lx0, lx1);
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
