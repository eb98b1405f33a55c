/**
 * Pre-processing: decoded pixels → planar float32 in the network's channels, normalized from the model's metadata,
 * then resized ('fit', 'scale') or left at native resolution. Padding to a multiple of the network's stride is done
 * per tile (see tiling.ts).
 *
 * Pixel mapping (native model format): samples to [0, 1] (8-bit / 255, 16-bit / 65535), RGB → gray by luminance
 * 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), gray → RGB by replication, alpha dropped, then (v - mean[c]) / std[c].
 */
import { ErrorCode, UnetError } from '../errors.js';
import type { ModelInputMeta } from '../models/model.js';
import type { DecodedImage } from './image.js';

/** A planar (CHW) float image. */
export interface Planes {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** `channels * height * width` values, channel-major. */
  readonly data: Float32Array;
}

/**
 * Convert a decoded image to normalized planes with the model's channel count.
 * @throws {UnetError} ERR_IMAGE if the model wants a channel count other than 1 or 3
 */
export function toNetworkPlanes(img: DecodedImage, input: ModelInputMeta, name: string): Planes {
  const { width, height, channels: ic } = img;
  const n = width * height;
  const oc = input.channels;
  if (oc !== 1 && oc !== 3) {
    throw new UnetError(ErrorCode.IMAGE, `${name}: the model expects ${oc} input channels; images give 1 (gray) or 3 (RGB)`);
  }
  const out = new Float32Array(oc * n);
  const scale = 1 / (img.bitDepth === 16 ? 65535 : 255);
  const src = img.data;
  const colour = ic >= 3;
  const toGray = oc === 1 && (input.colorMode === 'grayscale' || colour);
  for (let i = 0, s = 0; i < n; i++, s += ic) {
    if (oc === 1) {
      out[i] = colour && toGray ? (0.299 * src[s]! + 0.587 * src[s + 1]! + 0.114 * src[s + 2]!) * scale : src[s]! * scale;
    } else if (colour) {
      out[i] = src[s]! * scale;
      out[n + i] = src[s + 1]! * scale;
      out[2 * n + i] = src[s + 2]! * scale;
    } else {
      const v = src[s]! * scale;
      out[i] = v;
      out[n + i] = v;
      out[2 * n + i] = v;
    }
  }
  for (let c = 0; c < oc; c++) {
    const mean = input.mean[c] ?? input.mean[0] ?? 0;
    const inv = 1 / (input.std[c] ?? input.std[0] ?? 1);
    const plane = out.subarray(c * n, (c + 1) * n);
    for (let i = 0; i < n; i++) plane[i] = (plane[i]! - mean) * inv;
  }
  return { channels: oc, height, width, data: out };
}

/**
 * Resample planes to `outH × outW` with a separable triangle (bilinear) filter, half-pixel centres. When
 * shrinking, the filter widens to the scale factor (antialiasing, as PIL's bilinear resize), so large photos
 * brought to a small network size do not alias.
 */
export function resizePlanes(p: Planes, outH: number, outW: number): Planes {
  if (outH === p.height && outW === p.width) return p;
  const tmp = new Float32Array(p.channels * p.height * outW);
  const out = new Float32Array(p.channels * outH * outW);
  const wx = filterTaps(p.width, outW);
  const wy = filterTaps(p.height, outH);
  for (let c = 0; c < p.channels; c++) {
    const src = p.data.subarray(c * p.height * p.width, (c + 1) * p.height * p.width);
    const mid = tmp.subarray(c * p.height * outW, (c + 1) * p.height * outW);
    for (let y = 0; y < p.height; y++) {
      const row = y * p.width;
      for (let x = 0; x < outW; x++) {
        const t = wx[x]!;
        let acc = 0;
        for (let k = 0; k < t.weights.length; k++) acc += t.weights[k]! * src[row + t.start + k]!;
        mid[y * outW + x] = acc;
      }
    }
    const dst = out.subarray(c * outH * outW, (c + 1) * outH * outW);
    for (let y = 0; y < outH; y++) {
      const t = wy[y]!;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let k = 0; k < t.weights.length; k++) acc += t.weights[k]! * mid[(t.start + k) * outW + x]!;
        dst[y * outW + x] = acc;
      }
    }
  }
  return { channels: p.channels, height: outH, width: outW, data: out };
}

interface Taps {
  start: number;
  weights: Float32Array;
}

function filterTaps(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const taps: Taps[] = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize - 1, Math.ceil(centre + support));
    const w: number[] = [];
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const v = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      w.push(v);
      sum += v;
    }
    if (sum === 0) {
      // Degenerate (1-pixel input): take the nearest sample.
      const i = Math.min(inSize - 1, Math.max(0, Math.floor(centre)));
      taps.push({ start: i, weights: Float32Array.of(1) });
      continue;
    }
    taps.push({ start: lo, weights: Float32Array.from(w, (v) => v / sum) });
  }
  return taps;
}

/** Index of `i` reflected into [0, n) (PyTorch 'reflect': the edge sample is not repeated), folding as often as needed. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}
