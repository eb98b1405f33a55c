/** Reference elementwise, per-channel and data-movement kernels. */
import type { ActivationParams, BinaryGeometry, ChannelGeometry, ConcatGeometry } from '../geometry.js';

/** out[n, c, i] = x[n, c, i] · scale[c] + shift[c]. */
export function channelAffineReference(g: ChannelGeometry, x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array): void {
  let i = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.channels; c++) {
      const s = scale[c]!;
      const t = shift[c]!;
      const end = i + g.spatial;
      for (; i < end; i++) out[i] = x[i]! * s + t;
    }
  }
}

/** Softmax over the channel axis at every (n, position): exp(x - max) / sum. */
export function softmaxReference(g: ChannelGeometry, x: Float32Array, out: Float32Array): void {
  const { channels, spatial } = g;
  for (let n = 0; n < g.batch; n++) {
    const base = n * channels * spatial;
    for (let s = 0; s < spatial; s++) {
      let max = -Infinity;
      for (let c = 0; c < channels; c++) max = Math.max(max, x[base + c * spatial + s]!);
      let sum = 0;
      for (let c = 0; c < channels; c++) {
        const e = Math.exp(x[base + c * spatial + s]! - max);
        out[base + c * spatial + s] = e;
        sum += e;
      }
      for (let c = 0; c < channels; c++) out[base + c * spatial + s] = out[base + c * spatial + s]! / sum;
    }
  }
}

/** relu, leakyRelu, sigmoid, tanh. */
export function activationReference(p: ActivationParams, x: Float32Array, out: Float32Array): void {
  const n = p.size;
  switch (p.kind) {
    case 'relu':
      // x > 0 ? x : 0 keeps NaN as NaN, like torch.relu.
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v < 0 ? 0 : v;
      }
      return;
    case 'leakyRelu': {
      const a = p.negativeSlope;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v < 0 ? v * a : v;
      }
      return;
    }
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i]!));
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
  }
}

/** a (op) b over a rank-4 output with broadcasting strides (0 = broadcast). */
export function binaryReference(g: BinaryGeometry, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const [d0, d1, d2, d3] = g.shape;
  const [a0, a1, a2, a3] = g.aStrides;
  const [b0, b1, b2, b3] = g.bStrides;
  const add = g.op === 'add';
  let o = 0;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        let ai = i0 * a0 + i1 * a1 + i2 * a2;
        let bi = i0 * b0 + i1 * b1 + i2 * b2;
        for (let i3 = 0; i3 < d3; i3++) {
          out[o++] = add ? a[ai]! + b[bi]! : a[ai]! * b[bi]!;
          ai += a3;
          bi += b3;
        }
      }
    }
  }
}

/** Concatenate along dim 1. */
export function concatReference(g: ConcatGeometry, inputs: readonly Float32Array[], out: Float32Array): void {
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let k = 0; k < inputs.length; k++) {
      const len = g.channels[k]! * g.spatial;
      out.set(inputs[k]!.subarray(n * len, (n + 1) * len), o);
      o += len;
    }
  }
}
