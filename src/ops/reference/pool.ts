/** Reference pooling kernels (PyTorch's CPU semantics, one window per output element). */
import type { Pool2dGeometry } from '../geometry.js';

/** Max over each dilated window; positions outside the input are skipped (PyTorch pads with -inf); NaN wins. */
export function maxPool2dReference(g: Pool2dGeometry, x: Float32Array, out: Float32Array): void {
  const { inH, inW, outH, outW, kernelH, kernelW, strideH, strideW, dilationH, dilationW } = g;
  const planes = g.batch * g.channels;
  const inPlane = inH * inW;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let best = -Infinity;
        for (let ky = 0; ky < kernelH; ky++) {
          const iy = oy * strideH - g.pad.top + ky * dilationH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kernelW; kx++) {
            const ix = ox * strideW - g.pad.left + kx * dilationW;
            if (ix < 0 || ix >= inW) continue;
            const v = x[base + iy * inW + ix]!;
            if (v > best || Number.isNaN(v)) best = v;
            if (Number.isNaN(best)) break;
          }
        }
        out[o++] = best;
      }
    }
  }
}

/**
 * Mean over each window (no dilation, as torch.nn.functional.avg_pool2d). The divisor follows PyTorch's
 * AvgPool2d: the window clipped to the padded input (input + padding on both sides; with ceilMode the window may
 * run further and that part never counts) when countIncludePad, else the window clipped to the input;
 * `divisorOverride` (non-zero) replaces both.
 */
export function avgPool2dReference(
  g: Pool2dGeometry,
  x: Float32Array,
  out: Float32Array,
  countIncludePad: boolean,
  divisorOverride: number,
): void {
  const { inH, inW, outH, outW, kernelH, kernelW, strideH, strideW } = g;
  const padH = g.pad.top;
  const padW = g.pad.left;
  const planes = g.batch * g.channels;
  const inPlane = inH * inW;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padH;
      const y1 = Math.min(y0 + kernelH, inH + padH);
      const ys = Math.max(y0, 0);
      const ye = Math.min(y1, inH);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padW;
        const x1 = Math.min(x0 + kernelW, inW + padW);
        const xs = Math.max(x0, 0);
        const xe = Math.min(x1, inW);
        if (ys >= ye || xs >= xe) {
          out[o++] = 0;
          continue;
        }
        let sum = 0;
        for (let iy = ys; iy < ye; iy++) {
          for (let ix = xs; ix < xe; ix++) sum += x[base + iy * inW + ix]!;
        }
        const divisor = divisorOverride !== 0 ? divisorOverride : countIncludePad ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
        out[o++] = sum / divisor;
      }
    }
  }
}
