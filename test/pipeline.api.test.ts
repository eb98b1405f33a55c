/**
 * createPipeline / segment / segmentMany: sizes, pre-processing, post-processing at full resolution, tiling,
 * batch safety, abort and close, and the options' validation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './runtime.helpers.js';
import sharp from 'sharp';
import { createPipeline, type SegmentInput } from '../src/pipeline/pipeline.js';
import { DEFAULT_PIPELINE_OPTIONS, resolvePipelineOptions } from '../src/pipeline/options.js';
import { decodeImage } from '../src/pipeline/image.js';
import { toNetworkPlanes } from '../src/pipeline/preprocess.js';
import { planAxis } from '../src/pipeline/tiling.js';
import { postprocess } from '../src/pipeline/postprocess.js';
import { encodePng } from '../src/pipeline/png.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGraph } from '../src/graph/execute.js';
import { loadModel } from '../src/models/load.js';
import { interpolate } from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';
import { encodePicture, encodeTiff16, pictureRgb, tinyUnet } from './pipeline.helpers.js';

// The engine is the pooled session, whose workers run from the compiled package.
beforeAll(() => ensureBuilt(), 300_000);

const model = tinyUnet();
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'models');

describe('options are resolved once, with one defaults table', () => {
  it('no options -> the defaults (embedded model path, mask only, 100 MP guard)', () => {
    const o = resolvePipelineOptions();
    expect(o).toEqual(DEFAULT_PIPELINE_OPTIONS);
    expect(o.model).toMatch(/weights$/);
    expect(o.outputs).toEqual(['mask']);
    expect(o.maxPixels).toBe(100_000_000);
    expect([o.precision, o.probBits]).toEqual(['fast', 8]);
    expect(Object.isFrozen(o)).toBe(true);
  });
  it('outputs are deduplicated and put in table order', () => {
    expect(resolvePipelineOptions({ outputs: ['cutout', 'mask', 'cutout', 'prob'] }).outputs).toEqual(['mask', 'prob', 'cutout']);
  });
  it.each([
    [{ threshold: 1.5 }, RangeError, /Expected a number in \(0, 1\) for threshold but received 1\.5/],
    [{ threshold: '0.5' }, TypeError, /threshold/],
    [{ workers: 0 }, RangeError, /Expected an integer in \[1, 256\] for workers but received 0/],
    [{ outputs: ['mask', 'heatmap'] }, RangeError, /Expected one of 'mask', 'prob', 'classes', 'overlay', 'cutout' for outputs\[1\] but received "heatmap"/],
    [{ outputs: [] }, TypeError, /outputs/],
    [{ resize: 'stretch' }, RangeError, /Expected one of 'model', 'native', 'fit', 'scale' for resize/],
    [{ tile: 8 }, RangeError, /\[16, 8192\] for tile but received 8/],
    [{ tile: 64, tileOverlap: 32 }, RangeError, /< tile\/2 \(32\) for tileOverlap but received 32/],
    [{ probBits: 12 }, RangeError, /Expected 8 or 16 .* for probBits but received 12/],
    [{ precision: 'fastest' }, RangeError, /Expected one of 'exact', 'fast' for precision but received "fastest"/],
    [{ precision: 16 }, RangeError, /Expected one of 'exact', 'fast' \(the bit depth of the prob output is probBits\) for precision but received 16/],
    [{ scale: 0 }, RangeError, /Expected a number in \(0, 8\] for scale but received 0/],
    [{ maxPixels: -1 }, RangeError, /maxPixels/],
    [{ model: 42 }, TypeError, /model/],
  ])('%j is refused', (opts, cls, re) => {
    let err: unknown;
    try {
      resolvePipelineOptions(opts as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(re);
    expect((err as { code: string }).code).toMatch(/^ERR_INVALID_ARG_(TYPE|VALUE)$/);
  });
});

describe('segment', () => {
  it('mask at the input size equals σ(runGraph(normalized input)) > threshold when no resize or padding is needed', async () => {
    const png = await encodePicture(40, 32, 'png');
    const img = await decodeImage(png, { maxPixels: 1e9 });
    const planes = toNetworkPlanes(img, model.meta.input, 'x');
    const logits = Object.values(runGraph(model, new Tensor([1, 1, 32, 40], planes.data)))[0]!;
    // Threshold at the median probability so both classes occur (the weights are untrained).
    const sorted = Array.from(logits.data, (z) => 1 / (1 + Math.exp(-z))).sort((a, b) => a - b);
    const threshold = sorted[sorted.length >> 1]!;
    const p = await createPipeline({ model, outputs: ['mask', 'prob'], threshold, precision: 'exact' });
    const r = await p.segment(png);
    expect([r.width, r.height]).toEqual([40, 32]);
    let mismatches = 0;
    let fg = 0;
    for (let i = 0; i < 40 * 32; i++) {
      const prob = 1 / (1 + Math.exp(-logits.data[i]!));
      expect(r.probabilities![i]).toBeCloseTo(prob, 6);
      if (Math.abs(prob - threshold) > 1e-5 && (prob > threshold ? 255 : 0) !== r.mask[i]) mismatches++;
      if (r.mask[i] === 255) fg++;
    }
    expect(mismatches).toBe(0);
    expect([...new Set(r.mask)].sort()).toEqual([0, 255]); // both classes present: the check is not vacuous
    expect(r.stats.perClassPixels).toEqual([40 * 32 - fg, fg]);
    expect(r.stats.coverage).toBeCloseTo(fg / (40 * 32), 12);
    expect(r.network).toEqual({ height: 32, width: 40, tiles: 1 });
    expect(r.timings.total).toBeGreaterThan(0);
    await p.close();
  });

  it("precision 'fast' (the default) gives the probabilities of 'exact' within 1e-4, not bit for bit", async () => {
    const png = await encodePicture(64, 64, 'png');
    const exact = await createPipeline({ model, outputs: ['prob'], precision: 'exact' });
    const fast = await createPipeline({ model, outputs: ['prob'] });
    try {
      expect(fast.options.precision).toBe('fast');
      const a = (await exact.segment(png)).probabilities!;
      const b = (await fast.segment(png)).probabilities!;
      let max = 0;
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
      expect(max).toBeLessThan(1e-4);
      expect(max).toBeGreaterThan(0); // the option reaches the engine: Winograd rounds differently
    } finally {
      await exact.close();
      await fast.close();
    }
  });

  it('odd sizes are padded to the stride and cropped back (37×45 -> mask 37×45)', async () => {
    const p = await createPipeline({ model });
    const r = await p.segment(await encodePicture(45, 37, 'png'));
    expect([r.width, r.height, r.mask.length]).toEqual([45, 37, 45 * 37]);
    await p.close();
  });

  it('EXIF orientation is applied: a 30×20 JPEG tagged orientation 6 gives a 20×30 mask', async () => {
    const jpg = await sharp(pictureRgb(30, 20), { raw: { width: 30, height: 20, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const p = await createPipeline({ model });
    const r = await p.segment(jpg);
    expect([r.width, r.height]).toEqual([20, 30]);
    await p.close();
  });

  it('RGB -> gray by luminance 0.299/0.587/0.114, then (v - mean) / std', () => {
    const img = { width: 2, height: 1, channels: 3 as const, hasAlpha: false, bitDepth: 8 as const, data: Uint8Array.of(255, 0, 0, 10, 200, 30), format: 'raw' };
    const planes = toNetworkPlanes(img, model.meta.input, 'x');
    expect(planes.data[0]).toBeCloseTo((0.299 - 0.5) / 0.25, 6);
    expect(planes.data[1]).toBeCloseTo(((0.299 * 10 + 0.587 * 200 + 0.114 * 30) / 255 - 0.5) / 0.25, 6);
  });

  it('gray -> RGB by replication, alpha dropped (gray+alpha into a 3-channel model)', () => {
    const rgbModel = tinyUnet({ inChannels: 3 });
    const img = { width: 1, height: 1, channels: 2 as const, hasAlpha: true, bitDepth: 8 as const, data: Uint8Array.of(51, 7), format: 'raw' };
    const planes = toNetworkPlanes(img, rgbModel.meta.input, 'x');
    expect(Array.from(planes.data)).toEqual(Array(3).fill(Math.fround((0.2 - 0.5) / 0.25)));
  });

  it('16-bit PNG keeps its precision (values 1 apart in 16 bits stay apart)', async () => {
    const data = new Uint16Array(16 * 16);
    for (let i = 0; i < data.length; i++) data[i] = 30000 + i;
    const png = encodePng({ width: 16, height: 16, color: 'gray', bitDepth: 16, data });
    const img = await decodeImage(png, { maxPixels: 1e9 });
    expect(img.bitDepth).toBe(16);
    expect(Array.from(img.data)).toEqual(Array.from(data));
    const tif = encodeTiff16(16, 16, data);
    const fromTif = await decodeImage(tif, { maxPixels: 1e9 });
    expect(fromTif.bitDepth).toBe(16);
    expect(Array.from(fromTif.data)).toEqual(Array.from(data));
    const p = await createPipeline({ model, outputs: ['prob'] });
    expect((await p.segment(png)).probabilities!.length).toBe(256);
    await p.close();
  });

  it("'scale' runs the network at the scaled size and returns the full-size mask", async () => {
    const p = await createPipeline({ model, resize: 'scale', scale: 0.5 });
    const r = await p.segment(await encodePicture(64, 48, 'png'));
    expect(r.network).toMatchObject({ width: 32, height: 24 });
    expect([r.width, r.height]).toEqual([64, 48]);
    await p.close();
  });

  it("'fit' runs the network at the model's size and returns the full-size mask", async () => {
    const p = await createPipeline({ model, resize: 'fit', size: [32, 32] });
    const r = await p.segment(await encodePicture(70, 50, 'webp'));
    expect(r.network).toMatchObject({ width: 32, height: 32 });
    expect([r.width, r.height]).toEqual([70, 50]);
    await p.close();
  });

  it('a graph with a fixed input size (ONNX export at 37×45) gets every image fitted to it, untiled', async () => {
    const fixed = await loadModel(path.join(FIXTURES, 'unet_t_c1_b4_d3', 'model.onnx'));
    const p = await createPipeline({ model: fixed });
    const r = await p.segment(await encodePicture(90, 61, 'png'));
    expect(r.network).toEqual({ height: 37, width: 45, tiles: 1 });
    expect([r.width, r.height]).toEqual([90, 61]);
    await p.close();
  });

  it("'fit' without a size is refused with a reason", async () => {
    const p = await createPipeline({ model, resize: 'fit' });
    await expect(p.segment(await encodePicture(8, 8, 'png'))).rejects.toThrow(/'fit' resize policy needs a size/);
    await p.close();
  });

  it.each([
    ['empty', Buffer.alloc(0), /empty \(0 bytes\)/],
    ['not an image', Buffer.from('just some text, not pixels'), /not a readable image/],
  ])('%s input -> ERR_IMAGE with the reason', async (_n, buf, re) => {
    const p = await createPipeline({ model });
    await expect(p.segment(buf, { name: 'in.png' })).rejects.toMatchObject({ code: 'ERR_IMAGE', message: expect.stringMatching(re) });
    await p.close();
  });

  it('truncated PNG -> ERR_IMAGE', async () => {
    const png = await encodePicture(64, 64, 'png');
    const p = await createPipeline({ model });
    await expect(p.segment(png.subarray(0, Math.floor(png.length / 2)))).rejects.toMatchObject({ code: 'ERR_IMAGE' });
    await p.close();
  });

  it('an image above maxPixels is refused before decoding, saying how to raise the limit', async () => {
    const p = await createPipeline({ model, maxPixels: 1000 });
    await expect(p.segment(await encodePicture(40, 30, 'png'), { name: 'big.png' })).rejects.toMatchObject({
      code: 'ERR_IMAGE',
      message: expect.stringMatching(/big\.png: image is 40×30 = 1,200 pixels, more than the limit of 1,000.*--max-pixels/),
    });
    await p.close();
  });

  it('a missing file -> ERR_IO naming it', async () => {
    const p = await createPipeline({ model });
    await expect(p.segment('/nonexistent/dir/a.png')).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringMatching(/a\.png.*ENOENT/) });
    await p.close();
  });

  it('an aborted signal -> ERR_ABORTED; after close() -> ERR_CLOSED', async () => {
    const p = await createPipeline({ model });
    const png = await encodePicture(16, 16, 'png');
    await expect(p.segment(png, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await p.close();
    await expect(p.segment(png)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('post-processing at full resolution', () => {
  it('logits are upsampled bilinearly (PyTorch align_corners=False) before the sigmoid', () => {
    const logits = Tensor.from([1, 1, 2, 3], [-4, 0, 4, 2, -2, 6]);
    const up = interpolate(logits, { size: [5, 7], mode: 'bilinear', alignCorners: false });
    const r = postprocess({ channels: 1, height: 2, width: 3, data: logits.data, tiles: 1 }, 5, 7, {
      activation: 'sigmoid',
      threshold: 0.5,
      keepProbabilities: true,
      keepClasses: true,
    });
    for (let i = 0; i < 35; i++) {
      expect(r.probabilities![i]).toBeCloseTo(1 / (1 + Math.exp(-up.data[i]!)), 6);
      expect(r.mask[i]).toBe(up.data[i]! > 0 ? 255 : 0);
      expect(r.classes![i]).toBe(up.data[i]! > 0 ? 1 : 0);
    }
  });

  it('softmax models: argmax over classes, prob = 1 - p(background), per-class counts', () => {
    // 3 classes on a 1×3 map: winners 0, 1, 2
    const data = Float32Array.of(5, 0, 0, 0, 5, 0, 0, 0, 5);
    const r = postprocess({ channels: 3, height: 1, width: 3, data, tiles: 1 }, 1, 3, {
      activation: 'softmax',
      threshold: 0.5,
      keepProbabilities: true,
      keepClasses: true,
    });
    expect(Array.from(r.classes!)).toEqual([0, 1, 2]);
    expect(Array.from(r.mask)).toEqual([0, 255, 255]);
    expect(r.perClassPixels).toEqual([1, 1, 1]);
    const p0 = Math.exp(5) / (Math.exp(5) + 2);
    expect(r.probabilities![0]).toBeCloseTo(1 - p0, 6);
    expect(r.coverage).toBeCloseTo(2 / 3, 12);
  });
});

describe('tiling', () => {
  it('tiles cover the axis, have the tile size, overlap by at least the overlap, and weights ramp', () => {
    const spans = planAxis(1000, 256, 32, 16);
    expect(spans[0]!.start).toBe(0);
    expect(spans.at(-1)!.start + spans.at(-1)!.size).toBe(1000);
    for (let i = 1; i < spans.length; i++) expect(spans[i - 1]!.start + 256 - spans[i]!.start).toBeGreaterThanOrEqual(32);
    expect(spans.every((s) => s.size === 256 && s.padded === 256)).toBe(true);
    const mid = spans[1]!.weights;
    expect(mid[0]).toBeCloseTo(0.5 / 32, 6);
    expect(mid[128]).toBe(1);
    expect(spans[0]!.weights[0]).toBe(1); // the image border keeps weight 1
  });

  it('a small axis is one span padded up to the stride', () => {
    expect(planAxis(37, 256, 32, 16)).toMatchObject([{ start: 0, size: 37, padded: 48 }]);
  });

  it('tiled and untiled probabilities agree closely (200×150, tile 64, overlap 24)', async () => {
    const png = await encodePicture(200, 150, 'png', 3);
    const whole = await createPipeline({ model, outputs: ['prob'], tile: false });
    const tiled = await createPipeline({ model, outputs: ['prob'], tile: 64, tileOverlap: 24 });
    const a = await whole.segment(png);
    const b = await tiled.segment(png);
    expect(a.network.tiles).toBe(1);
    expect(b.network.tiles).toBeGreaterThan(6);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < a.probabilities!.length; i++) {
      const d = Math.abs(a.probabilities![i]! - b.probabilities![i]!);
      max = Math.max(max, d);
      sum += d;
    }
    expect(sum / a.probabilities!.length).toBeLessThan(2e-3);
    expect(max).toBeLessThan(0.05);
    await whole.close();
    await tiled.close();
  });
});

describe('segmentMany', () => {
  const inputs = async (): Promise<Buffer[]> => Promise.all([10, 20, 30, 40].map((s, i) => encodePicture(s + 8, s, 'png', i + 1)));

  it('ordered: results come in input order; a bad input fails alone', async () => {
    const bufs = await inputs();
    const items: SegmentInput[] = [bufs[0]!, { input: Buffer.from('garbage'), name: 'bad.png' }, bufs[1]!, bufs[2]!, bufs[3]!];
    const p = await createPipeline({ model });
    const got = [];
    for await (const it of p.segmentMany(items, { ordered: true, concurrency: 2 })) got.push(it);
    expect(got.map((g) => g.index)).toEqual([0, 1, 2, 3, 4]);
    expect(got[1]!.error).toMatchObject({ code: 'ERR_IMAGE' });
    expect(got[1]!.name).toBe('bad.png');
    expect(got.filter((g) => g.result).map((g) => g.result!.height)).toEqual([10, 20, 30, 40]);
    await p.close();
  });

  it('unordered: every input is yielded once', async () => {
    const bufs = await inputs();
    const p = await createPipeline({ model });
    const got = [];
    for await (const it of p.segmentMany(bufs, { concurrency: 3 })) got.push(it.index);
    expect(got.sort()).toEqual([0, 1, 2, 3]);
    await p.close();
  });

  it('bounded: never pulls more than `concurrency` inputs ahead of what it yielded', async () => {
    const buf = await encodePicture(16, 16, 'png');
    let pulled = 0;
    let yielded = 0;
    let maxAhead = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 12; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - yielded);
        yield buf;
      }
    }
    const p = await createPipeline({ model });
    for await (const _ of p.segmentMany(source(), { concurrency: 2, ordered: true })) yielded++;
    expect(yielded).toBe(12);
    expect(maxAhead).toBeLessThanOrEqual(3);
    await p.close();
  });

  it('a source that blocks (a watcher with nothing new) does not hold back finished results; abort still ends it', async () => {
    const buf = await encodePicture(16, 16, 'png');
    const controller = new AbortController();
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => (release = resolve));
    async function* source(): AsyncGenerator<Buffer> {
      yield buf;
      yield buf;
      await blocked; // nothing new arrives until the test says so
      yield buf;
    }
    const p = await createPipeline({ model });
    const got: number[] = [];
    const run = async (): Promise<void> => {
      for await (const it of p.segmentMany(source(), { concurrency: 4, signal: controller.signal })) {
        got.push(it.index);
        if (got.length === 2) controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(got.sort()).toEqual([0, 1]);
    release();
    await p.close();
  });

  it('abort: stops pulling, discards in-flight work, throws ERR_ABORTED', async () => {
    const buf = await encodePicture(16, 16, 'png');
    const controller = new AbortController();
    let pulled = 0;
    function* endless(): Generator<Buffer> {
      for (;;) {
        pulled++;
        yield buf;
      }
    }
    const p = await createPipeline({ model });
    let seen = 0;
    const run = async (): Promise<void> => {
      for await (const _ of p.segmentMany(endless(), { concurrency: 2, signal: controller.signal })) {
        if (++seen === 3) controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(seen).toBe(3);
    expect(pulled).toBeLessThanOrEqual(6);
    await p.close();
  });
});
