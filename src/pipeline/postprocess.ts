/**
 * Post-processing at full resolution: the logits (network resolution) are upsampled bilinearly to the original
 * image size FIRST (PyTorch `interpolate(mode='bilinear', align_corners=False)` coordinates), then the activation
 * (sigmoid / softmax) and the threshold / argmax are applied per output pixel, so mask edges are smooth instead of
 * blocky. Works one output row at a time, so only the requested full-size outputs are allocated.
 */
import type { ModelOutputMeta } from '../models/model.js';
import type { Logits } from './tiling.js';

/** What to keep besides the mask. */
export interface PostprocessOptions {
  readonly activation: ModelOutputMeta['activation'];
  /** Probability threshold (sigmoid models). */
  readonly threshold: number;
  readonly keepProbabilities: boolean;
  readonly keepClasses: boolean;
}

/** Full-resolution outputs. */
export interface Postprocessed {
  /** 0 / 255 per pixel. */
  readonly mask: Uint8Array;
  /** Foreground probability per pixel (sigmoid: σ(z); softmax: 1 − p(class 0)). */
  readonly probabilities?: Float32Array;
  /** Class index per pixel (sigmoid: 0 / 1). */
  readonly classes?: Uint8Array;
  /** Pixels per class (sigmoid: [background, foreground]). */
  readonly perClassPixels: number[];
  /** Fraction of foreground pixels. */
  readonly coverage: number;
}

interface AxisMap {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

/** Half-pixel source coordinates (align_corners=False), clamped at 0 like PyTorch. */
function axisMap(inSize: number, outSize: number): AxisMap {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const a = Math.min(Math.floor(src), inSize - 1);
    i0[o] = a;
    i1[o] = Math.min(a + 1, inSize - 1);
    f[o] = src - a;
  }
  return { i0, i1, f };
}

/**
 * Upsample `logits` to `height × width` and apply the activation and decision.
 */
export function postprocess(logits: Logits, height: number, width: number, opts: PostprocessOptions): Postprocessed {
  const K = logits.channels;
  const h = logits.height;
  const w = logits.width;
  const n = height * width;
  const mask = new Uint8Array(n);
  const probabilities = opts.keepProbabilities ? new Float32Array(n) : undefined;
  const classes = opts.keepClasses ? new Uint8Array(n) : undefined;
  const counts = new Float64Array(opts.activation === 'sigmoid' ? 2 : K);
  const ym = axisMap(h, height);
  const xm = axisMap(w, width);
  const same = h === height && w === width;
  const row = new Float32Array(K * width);
  const plane = h * w;
  const data = logits.data;
  const thresh = opts.threshold;
  const exps = new Float64Array(K);

  for (let y = 0; y < height; y++) {
    // 1. one full-resolution row of logits per class
    if (same) {
      for (let k = 0; k < K; k++) row.set(data.subarray(k * plane + y * w, k * plane + (y + 1) * w), k * width);
    } else {
      const r0 = ym.i0[y]! * w;
      const r1 = ym.i1[y]! * w;
      const fy = ym.f[y]!;
      for (let k = 0; k < K; k++) {
        const base = k * plane;
        for (let x = 0; x < width; x++) {
          const c0 = xm.i0[x]!;
          const c1 = xm.i1[x]!;
          const fx = xm.f[x]!;
          const top = data[base + r0 + c0]! + (data[base + r0 + c1]! - data[base + r0 + c0]!) * fx;
          const bot = data[base + r1 + c0]! + (data[base + r1 + c1]! - data[base + r1 + c0]!) * fx;
          row[k * width + x] = top + (bot - top) * fy;
        }
      }
    }
    // 2. activation and decision
    const o = y * width;
    if (opts.activation === 'sigmoid') {
      for (let x = 0; x < width; x++) {
        const p = 1 / (1 + Math.exp(-row[x]!));
        const fg = p > thresh ? 1 : 0;
        mask[o + x] = fg * 255;
        counts[fg]!++;
        if (probabilities) probabilities[o + x] = p;
        if (classes) classes[o + x] = fg;
      }
    } else {
      for (let x = 0; x < width; x++) {
        let best = 0;
        let max = row[x]!;
        for (let k = 1; k < K; k++) {
          const v = row[k * width + x]!;
          if (v > max) {
            max = v;
            best = k;
          }
        }
        mask[o + x] = best === 0 ? 0 : 255;
        counts[best]!++;
        if (classes) classes[o + x] = best;
        if (probabilities) {
          let sum = 0;
          for (let k = 0; k < K; k++) sum += exps[k] = Math.exp(row[k * width + x]! - max);
          probabilities[o + x] = 1 - exps[0]! / sum;
        }
      }
    }
  }
  const perClassPixels = Array.from(counts);
  const background = perClassPixels[0] ?? 0;
  return { mask, probabilities, classes, perClassPixels, coverage: n === 0 ? 0 : (n - background) / n };
}
