/**
 * Reference convolution kernels: direct loops over the output, one dot product per output element, accumulated
 * in float64 and rounded once. They are the oracle for every faster kernel, so they favour clarity.
 */
import type { Conv2dGeometry, ConvTranspose2dGeometry } from '../geometry.js';
import type { PaddingMode } from '../params.js';

/**
 * Map a padded coordinate to an input coordinate, or -1 for a zero.
 * PyTorch guarantees (and the op layer checks) reflect pad < size and circular pad <= size, so one reflection or
 * one wrap is enough.
 */
export function sourceIndex(i: number, size: number, mode: PaddingMode): number {
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case 'zeros':
      return -1;
    case 'reflect':
      return i < 0 ? -i : 2 * (size - 1) - i;
    case 'replicate':
      return i < 0 ? 0 : size - 1;
    case 'circular':
      return i < 0 ? i + size : i - size;
  }
}

/** conv2d: x [N, Cin, H, W], w [Cout, Cin/groups, kH, kW], out [N, Cout, oH, oW]. */
export function conv2dReference(g: Conv2dGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array): void {
  const { inH, inW, outH, outW, kernelH, kernelW, strideH, strideW, dilationH, dilationW, inPerGroup, outPerGroup } = g;
  const mode = g.paddingMode;
  const inPlane = inH * inW;
  const kPlane = kernelH * kernelW;
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oc = 0; oc < g.outChannels; oc++) {
      const group = Math.floor(oc / outPerGroup);
      const xGroup = (n * g.inChannels + group * inPerGroup) * inPlane;
      const wFilter = oc * inPerGroup * kPlane;
      const b = bias === null ? 0 : bias[oc]!;
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let acc = b;
          for (let ky = 0; ky < kernelH; ky++) {
            const iy = sourceIndex(oy * strideH - g.pad.top + ky * dilationH, inH, mode);
            if (iy < 0) continue;
            for (let kx = 0; kx < kernelW; kx++) {
              const ix = sourceIndex(ox * strideW - g.pad.left + kx * dilationW, inW, mode);
              if (ix < 0) continue;
              let xi = xGroup + iy * inW + ix;
              let wi = wFilter + ky * kernelW + kx;
              for (let ic = 0; ic < inPerGroup; ic++) {
                acc += x[xi]! * w[wi]!;
                xi += inPlane;
                wi += kPlane;
              }
            }
          }
          out[o++] = acc;
        }
      }
    }
  }
}

/**
 * convTranspose2d as a gather: output (oy, ox) receives x(iy, ix)·w(ky, kx) wherever oy = iy·s - p + ky·d.
 * x [N, Cin, H, W], w [Cin, Cout/groups, kH, kW], out [N, Cout, oH, oW].
 */
export function convTranspose2dReference(
  g: ConvTranspose2dGeometry,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  out: Float32Array,
): void {
  const { inH, inW, outH, outW, kernelH, kernelW, strideH, strideW, dilationH, dilationW, padH, padW, inPerGroup, outPerGroup } = g;
  const inPlane = inH * inW;
  const kPlane = kernelH * kernelW;
  // Weight stride between consecutive input channels: w[ic][ocg][ky][kx].
  const wIcStride = outPerGroup * kPlane;
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oc = 0; oc < g.outChannels; oc++) {
      const group = Math.floor(oc / outPerGroup);
      const ocg = oc - group * outPerGroup;
      const xGroup = (n * g.inChannels + group * inPerGroup) * inPlane;
      const wBase = group * inPerGroup * wIcStride + ocg * kPlane;
      const b = bias === null ? 0 : bias[oc]!;
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let acc = b;
          for (let ky = 0; ky < kernelH; ky++) {
            const ty = oy + padH - ky * dilationH;
            if (ty < 0 || ty % strideH !== 0) continue;
            const iy = ty / strideH;
            if (iy >= inH) continue;
            for (let kx = 0; kx < kernelW; kx++) {
              const tx = ox + padW - kx * dilationW;
              if (tx < 0 || tx % strideW !== 0) continue;
              const ix = tx / strideW;
              if (ix >= inW) continue;
              let xi = xGroup + iy * inW + ix;
              let wi = wBase + ky * kernelW + kx;
              for (let ic = 0; ic < inPerGroup; ic++) {
                acc += x[xi]! * w[wi]!;
                xi += inPlane;
                wi += wIcStride;
              }
            }
          }
          out[o++] = acc;
        }
      }
    }
  }
}
