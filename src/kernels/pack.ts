/**
 * Weight packing into the panel layouts the kernels read (documented in ./index.ts). Done once per weight
 * tensor and geometry; the backend caches the result, the graph runtime packs at model load.
 */
import type { Conv2dGeometry, ConvTranspose2dGeometry } from '../ops/geometry.js';
import { usesDepthwise } from './index.js';

/** Floats of the packed conv2d weights. */
export function packedConv2dFloats(g: Conv2dGeometry): number {
  const kk = g.kernelH * g.kernelW;
  if (usesDepthwise(g)) return g.outChannels * g.inPerGroup * kk;
  return g.groups * Math.ceil(g.outPerGroup / 4) * g.inPerGroup * kk * 4;
}

/** Pack w [Cout, Cin/groups, kH, kW] into dst ([g][cb][k][4], or unchanged for the depthwise kernel). */
export function packConv2dWeights(g: Conv2dGeometry, w: Float32Array, dst: Float32Array): void {
  if (usesDepthwise(g)) {
    dst.set(w.subarray(0, packedConv2dFloats(g)));
    return;
  }
  const K = g.inPerGroup * g.kernelH * g.kernelW;
  const opg = g.outPerGroup;
  const nCB = Math.ceil(opg / 4);
  let o = 0;
  for (let gi = 0; gi < g.groups; gi++) {
    for (let cb = 0; cb < nCB; cb++) {
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < 4; r++) {
          const c = cb * 4 + r;
          dst[o++] = c < opg ? w[(gi * opg + c) * K + k]! : 0;
        }
      }
    }
  }
}

/** Floats of the packed convTranspose2d weights. */
export function packedConvTranspose2dFloats(g: ConvTranspose2dGeometry): number {
  const M = g.outPerGroup * g.kernelH * g.kernelW;
  return g.groups * Math.ceil(M / 4) * g.inPerGroup * 4;
}

/** Pack w [Cin, Cout/groups, kH, kW] into dst ([g][rb][ci][4], GEMM rows r = co·kH·kW + ky·kW + kx). */
export function packConvTranspose2dWeights(g: ConvTranspose2dGeometry, w: Float32Array, dst: Float32Array): void {
  const M = g.outPerGroup * g.kernelH * g.kernelW;
  const nRB = Math.ceil(M / 4);
  const ipg = g.inPerGroup;
  let o = 0;
  for (let gi = 0; gi < g.groups; gi++) {
    for (let rb = 0; rb < nRB; rb++) {
      for (let ci = 0; ci < ipg; ci++) {
        const row = (gi * ipg + ci) * M;
        for (let i = 0; i < 4; i++) {
          const r = rb * 4 + i;
          dst[o++] = r < M ? w[row + r]! : 0;
        }
      }
    }
  }
}
