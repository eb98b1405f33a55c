/**
 * Tiling: run the network on overlapping tiles of an image and blend the logits, so an image of any size runs in
 * bounded memory (one tile's activations at a time) without seams.
 *
 * Along each axis the tiles have the tile size (a multiple of the network's stride) and start at evenly spread
 * positions, so neighbours overlap by at least the requested overlap. Inside each tile the blending weight ramps
 * linearly from ~0 at a side that has a neighbour to 1 after `overlap` pixels (image borders keep weight 1); the
 * weight of a pixel in a tile is wy·wx, and the sum over tiles factorizes into Sy(y)·Sx(x) because the tiles form a
 * grid, so normalization needs two 1-D arrays instead of a full-size weight image. An image no larger than the
 * tile is a single "tile" padded (reflect or zeros) up to a multiple of the stride, and the logits are cropped back.
 */
import { Tensor } from '../tensor/tensor.js';
import { ErrorCode, UnetError, formatShape } from '../errors.js';
import { reflectIndex, type PlaneSource } from './preprocess.js';
import type { PadMode } from './options.js';

/** One tile along one axis. */
export interface Span {
  /** First pixel of the tile in the image. */
  readonly start: number;
  /** Pixels of the image the tile covers. */
  readonly size: number;
  /** Network input extent (size padded up to a multiple of the stride). */
  readonly padded: number;
  /** Blending weight of each of the `size` pixels. */
  readonly weights: Float32Array;
}

/**
 * Tiles along an axis of `length` pixels.
 * @param tile tile extent (a multiple of `multiple`), or 0 to never tile
 */
export function planAxis(length: number, tile: number, overlap: number, multiple: number): Span[] {
  if (tile <= 0 || length <= tile) {
    return [{ start: 0, size: length, padded: Math.ceil(length / multiple) * multiple, weights: new Float32Array(length).fill(1) }];
  }
  const step = tile - overlap;
  const count = Math.ceil((length - overlap) / step);
  const spans: Span[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.round((i * (length - tile)) / (count - 1));
    const w = new Float32Array(tile);
    const ramp = Math.max(1, overlap);
    for (let x = 0; x < tile; x++) {
      let v = 1;
      if (i > 0) v = Math.min(v, (x + 0.5) / ramp);
      if (i < count - 1) v = Math.min(v, (tile - x - 0.5) / ramp);
      w[x] = v;
    }
    spans.push({ start, size: tile, padded: tile, weights: w });
  }
  return spans;
}

/** Runs the network on one NCHW tensor. */
export type RunTensor = (x: Tensor) => Promise<Tensor>;

/** Result of {@link runTiled}: logits at the planes' resolution. */
export interface Logits {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
  readonly tiles: number;
}

/**
 * Run `planes` through `run` tile by tile and blend the logits.
 * @param check called between tiles (abort checks)
 */
export async function runTiled(
  planes: PlaneSource,
  run: RunTensor,
  opts: { tile: number; overlap: number; multiple: number; padMode: PadMode; name: string; check?: () => void },
): Promise<Logits> {
  const { height: H, width: W } = planes;
  const rows = planAxis(H, opts.tile, opts.overlap, opts.multiple);
  const cols = planAxis(W, opts.tile, opts.overlap, opts.multiple);
  const single = rows.length === 1 && cols.length === 1;
  const sy = new Float32Array(H);
  const sx = new Float32Array(W);
  for (const r of rows) for (let i = 0; i < r.size; i++) sy[r.start + i]! += r.weights[i]!;
  for (const c of cols) for (let i = 0; i < c.size; i++) sx[c.start + i]! += c.weights[i]!;

  let acc: Float32Array | null = null;
  let K = 0;
  let tiles = 0;
  for (const r of rows) {
    for (const c of cols) {
      opts.check?.();
      const x = extractTile(planes, r, c, opts.padMode);
      const y = await run(x);
      tiles++;
      if (y.rank !== 4 || y.shape[0] !== 1 || y.shape[2]! < r.size || y.shape[3]! < c.size) {
        throw new UnetError(
          ErrorCode.SHAPE_MISMATCH,
          `${opts.name}: the model returned ${formatShape(y.shape)} for an input of ${formatShape(x.shape)}; expected [1, classes, ${r.padded}, ${c.padded}]`,
        );
      }
      const k = y.shape[1]!;
      const th = y.shape[2]!;
      const tw = y.shape[3]!;
      if (acc === null) {
        K = k;
        if (single) {
          // One tile covering the image: crop the padding, no blending.
          if (th === H && tw === W) return { channels: K, height: H, width: W, data: y.data.slice(), tiles };
          const out = new Float32Array(K * H * W);
          for (let ch = 0; ch < K; ch++) {
            for (let yy = 0; yy < H; yy++) {
              const s = (ch * th + yy) * tw;
              out.set(y.data.subarray(s, s + W), (ch * H + yy) * W);
            }
          }
          return { channels: K, height: H, width: W, data: out, tiles };
        }
        acc = new Float32Array(K * H * W);
      }
      for (let ch = 0; ch < K; ch++) {
        for (let yy = 0; yy < r.size; yy++) {
          const wy = r.weights[yy]!;
          const src = (ch * th + yy) * tw;
          const dst = (ch * H + r.start + yy) * W + c.start;
          for (let xx = 0; xx < c.size; xx++) acc[dst + xx]! += wy * c.weights[xx]! * y.data[src + xx]!;
        }
      }
    }
  }
  const out = acc!;
  for (let ch = 0; ch < K; ch++) {
    for (let yy = 0; yy < H; yy++) {
      const row = (ch * H + yy) * W;
      const iy = 1 / sy[yy]!;
      for (let xx = 0; xx < W; xx++) out[row + xx] = (out[row + xx]! * iy) / sx[xx]!;
    }
  }
  return { channels: K, height: H, width: W, data: out, tiles };
}

/** Copy one tile (padded to the network's multiple) into a [1, C, padded, padded] tensor. */
function extractTile(p: PlaneSource, r: Span, c: Span, padMode: PadMode): Tensor {
  const th = r.padded;
  const tw = c.padded;
  const t = new Tensor([1, p.channels, th, tw]);
  const out = t.data;
  for (let ch = 0; ch < p.channels; ch++) {
    for (let y = 0; y < th; y++) {
      const o = (ch * th + y) * tw;
      if (y >= r.size && padMode === 'zeros') continue; // already zero
      if (y >= r.size) {
        // Reflected row: copy the (already padded) row it mirrors.
        const from = (ch * th + reflectIndex(y, r.size)) * tw;
        out.copyWithin(o, from, from + tw);
        continue;
      }
      p.row(ch, r.start + y, c.start, c.size, out, o);
      if (tw > c.size && padMode === 'reflect') {
        for (let x = c.size; x < tw; x++) out[o + x] = out[o + reflectIndex(x, c.size)]!;
      }
    }
  }
  return t;
}
