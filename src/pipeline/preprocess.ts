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
 * Rows of normalized network input, produced on demand: tiles read only the rows they need, so a large image at
 * native resolution never exists as a full float copy.
 */
export interface PlaneSource {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Write channel `c`, row `y`, columns [x0, x0 + n) into `out` starting at `offset`. */
  row(c: number, y: number, x0: number, n: number, out: Float32Array, offset: number): void;
}

/** A source over materialized planes. */
export function planesSource(p: Planes): PlaneSource {
  return {
    channels: p.channels,
    height: p.height,
    width: p.width,
    row(c, y, x0, n, out, offset) {
      const s = (c * p.height + y) * p.width + x0;
      out.set(p.data.subarray(s, s + n), offset);
    },
  };
}

/**
 * A lazy source over a decoded image in the model's channels, normalized.
 * @throws {UnetError} ERR_IMAGE if the model wants a channel count other than 1 or 3
 */
export function imageSource(img: DecodedImage, input: ModelInputMeta, name: string): PlaneSource {
  const { width, height, channels: ic } = img;
  const oc = input.channels;
  if (oc !== 1 && oc !== 3) {
    throw new UnetError(ErrorCode.IMAGE, `${name}: the model expects ${oc} input channels; images give 1 (gray) or 3 (RGB)`);
  }
  const scale = 1 / (img.bitDepth === 16 ? 65535 : 255);
  const colour = ic >= 3;
  const mean = Array.from({ length: oc }, (_, c) => input.mean[c] ?? input.mean[0] ?? 0);
  const inv = Array.from({ length: oc }, (_, c) => 1 / (input.std[c] ?? input.std[0] ?? 1));
  const src = img.data;
  return {
    channels: oc,
    height,
    width,
    row(c, y, x0, n, out, offset) {
      const m = mean[c]!;
      const k = inv[c]!;
      let s = (y * width + x0) * ic;
      for (let i = 0; i < n; i++, s += ic) {
        let v: number;
        if (oc === 1 && colour) v = 0.299 * src[s]! + 0.587 * src[s + 1]! + 0.114 * src[s + 2]!;
        else if (colour) v = src[s + c]!;
        else v = src[s]!; // gray (and its alpha skipped); replicated into every channel
        out[offset + i] = (v * scale - m) * k;
      }
    },
  };
}

/** Materialize a source as planes. */
export function materialize(src: PlaneSource): Planes {
  const data = new Float32Array(src.channels * src.height * src.width);
  for (let c = 0; c < src.channels; c++) {
    for (let y = 0; y < src.height; y++) src.row(c, y, 0, src.width, data, (c * src.height + y) * src.width);
  }
  return { channels: src.channels, height: src.height, width: src.width, data };
}

/**
 * Convert a decoded image to normalized planes with the model's channel count (see {@link imageSource}).
 * @throws {UnetError} ERR_IMAGE if the model wants a channel count other than 1 or 3
 */
export function toNetworkPlanes(img: DecodedImage, input: ModelInputMeta, name: string): Planes {
  return materialize(imageSource(img, input, name));
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
