/**
 * `createPipeline(options)`: images in, full-resolution masks out.
 *
 *   decode (sharp, EXIF) → planes in the model's channels, normalized → resize policy ('fit' / 'scale' / 'native')
 *   → tiles (padded to the stride, blended) → logits → bilinear to the ORIGINAL size → sigmoid/softmax → mask
 *
 * `segmentMany` runs several images at once with a bounded window: it pulls the next input only when a slot is
 * free, so an endless async iterable (a folder watcher) or a million paths never load ahead.
 */
import { ErrorCode, UnetError, invalidType } from '../errors.js';
import type { Model, ModelMeta } from '../models/model.js';
import { createEngine, loadEngineModel, type Engine } from './engine.js';
import { decodeImage, type DecodedImage } from './image.js';
import { resolvePipelineOptions, type FilledPipelineOptions, type OutputKind, type PipelineOptions } from './options.js';
import { postprocess } from './postprocess.js';
import { imageSource, materialize, planesSource, resizePlanes, type PlaneSource } from './preprocess.js';
import { runTiled } from './tiling.js';

/** Per-image statistics. */
export interface SegmentStats {
  /** Fraction of foreground pixels, in [0, 1]. */
  readonly coverage: number;
  /** Pixels per class (binary models: [background, foreground]). */
  readonly perClassPixels: number[];
}

/** Milliseconds spent in each stage of one image. */
export interface SegmentTimings {
  readonly decode: number;
  readonly preprocess: number;
  readonly inference: number;
  readonly postprocess: number;
  readonly total: number;
}

/** The result of one image, at the image's full resolution (after EXIF orientation). */
export interface SegmentResult {
  readonly width: number;
  readonly height: number;
  /** 0 / 255 per pixel, row-major. */
  readonly mask: Uint8Array;
  /** Foreground probability per pixel (when 'prob' is among the outputs). */
  readonly probabilities?: Float32Array;
  /** Class index per pixel (when 'classes' or 'overlay' is among the outputs). */
  readonly classes?: Uint8Array;
  /** The decoded image (when 'overlay' or 'cutout' is among the outputs). */
  readonly image?: DecodedImage;
  readonly stats: SegmentStats;
  readonly timings: SegmentTimings;
  /** Network input size used (after the resize policy), and the number of tiles run. */
  readonly network: { readonly height: number; readonly width: number; readonly tiles: number };
}

/** Per-call options of {@link Pipeline.segment}. */
export interface SegmentOptions {
  signal?: AbortSignal;
  /** Name used in error messages for Buffer inputs. */
  name?: string;
}

/** An input of segmentMany: a path, an encoded image, or either with a name. */
export type SegmentInput = string | Buffer | Uint8Array | { readonly input: string | Buffer | Uint8Array; readonly name?: string };

/** Options of {@link Pipeline.segmentMany}. */
export interface SegmentManyOptions {
  /** Images in flight at once (>= 1); default: the engine's workers + 1 (decode overlaps inference). */
  concurrency?: number;
  /** Yield in input order (true) or as they finish (false, default). */
  ordered?: boolean;
  signal?: AbortSignal;
}

/** One item of segmentMany: exactly one of `result` and `error` is set; a failed image never stops the batch. */
export type SegmentManyItem =
  | { readonly index: number; readonly name: string; readonly result: SegmentResult; readonly error?: undefined }
  | { readonly index: number; readonly name: string; readonly result?: undefined; readonly error: Error };

/** A running pipeline. */
export interface Pipeline {
  readonly options: FilledPipelineOptions;
  /** The model's metadata (input normalization, output activation, labels, palette). */
  readonly meta: ModelMeta;
  /** Output channels of the model. */
  readonly classes: number;
  segment(input: string | Buffer | Uint8Array, options?: SegmentOptions): Promise<SegmentResult>;
  segmentMany(inputs: Iterable<SegmentInput> | AsyncIterable<SegmentInput>, options?: SegmentManyOptions): AsyncGenerator<SegmentManyItem>;
  close(): Promise<void>;
}

/** An `ERR_ABORTED` error. */
export function abortError(what: string): UnetError {
  return new UnetError(ErrorCode.ABORTED, `${what}: aborted`);
}

/**
 * Create a pipeline: load the model (the embedded default unless `options.model` says otherwise) and start its
 * engine.
 * @throws {TypeError|RangeError} ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE for invalid options
 * @throws {UnetError} ERR_MODEL_FORMAT / ERR_IO when the model cannot be loaded
 */
export async function createPipeline(options?: PipelineOptions): Promise<Pipeline> {
  const opts = resolvePipelineOptions(options);
  const model: Model = typeof opts.model === 'string' ? await loadEngineModel(opts.model) : opts.model;
  const engine = await createEngine(model, { workers: opts.workers, precision: opts.precision });
  return new PipelineImpl(opts, model, engine);
}

class PipelineImpl implements Pipeline {
  readonly options: FilledPipelineOptions;
  readonly meta: ModelMeta;
  readonly classes: number;
  private readonly engine: Engine;
  private closed = false;
  private readonly want: ReadonlySet<OutputKind>;
  /** [h, w] when the graph only takes one input size (some ONNX exports): every image is fitted to it. */
  private readonly fixedSize: readonly [number, number] | null;

  constructor(opts: FilledPipelineOptions, model: Model, engine: Engine) {
    this.options = opts;
    this.meta = model.meta;
    this.engine = engine;
    this.want = new Set(opts.outputs);
    this.classes = engine.classes;
    const declared = model.graph.inputs[0]?.shape ?? [];
    const h = declared[2];
    const w = declared[3];
    this.fixedSize = !model.specialize && typeof h === 'number' && typeof w === 'number' ? [h, w] : null;
  }

  async segment(input: string | Buffer | Uint8Array, options: SegmentOptions = {}): Promise<SegmentResult> {
    if (this.closed) throw new UnetError(ErrorCode.CLOSED, 'pipeline.segment: the pipeline is closed');
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
      throw invalidType('pipeline.segment', 'input', 'a file path or a Buffer with an encoded image', input);
    }
    const name = options.name ?? (typeof input === 'string' ? input : '<buffer>');
    const signal = options.signal;
    const check = (): void => {
      if (signal?.aborted) throw abortError(name);
      if (this.closed) throw new UnetError(ErrorCode.CLOSED, `${name}: the pipeline was closed`);
    };
    check();
    const o = this.options;
    const meta = this.meta;
    const t0 = performance.now();
    const img = await decodeImage(input, { maxPixels: o.maxPixels, name });
    check();
    const t1 = performance.now();

    // Native resolution reads normalized rows straight from the decoded pixels, tile by tile; resize policies
    // materialize the (usually smaller) resampled planes.
    let planes: PlaneSource = imageSource(img, meta.input, name);
    const policy = this.fixedSize ? 'fixed' : o.resize === 'model' ? meta.input.resize : o.resize;
    if (this.fixedSize) {
      planes = planesSource(resizePlanes(materialize(planes), this.fixedSize[0], this.fixedSize[1]));
    } else if (policy === 'fit') {
      const size = o.size ?? meta.input.size;
      if (!size) {
        throw new UnetError(ErrorCode.INVALID_ARG_VALUE, `${name}: the 'fit' resize policy needs a size; the model has none, pass size [h, w]`);
      }
      planes = planesSource(resizePlanes(materialize(planes), size[0], size[1]));
    } else if (policy === 'scale' && o.scale !== 1) {
      const h = Math.max(1, Math.round(img.height * o.scale));
      const w = Math.max(1, Math.round(img.width * o.scale));
      planes = planesSource(resizePlanes(materialize(planes), h, w));
    }
    const t2 = performance.now();

    // A fixed-size network gets exactly its size: no stride padding, no tiles.
    const multiple = this.fixedSize ? 1 : Math.max(1, meta.input.multiple);
    let tile = this.fixedSize ? 0 : o.tile === null ? meta.input.tileSize : o.tile === false ? 0 : o.tile;
    if (tile > 0) tile = Math.max(multiple, Math.floor(tile / multiple) * multiple);
    const overlap = Math.min(o.tileOverlap ?? meta.input.tileOverlap, Math.floor(tile / 2) - 1);
    const logits = await runTiled(planes, (x) => this.engine.run(x), {
      tile,
      overlap: Math.max(0, overlap),
      multiple,
      padMode: o.padMode,
      name,
      check,
    });
    check();
    const t3 = performance.now();

    const post = postprocess(logits, img.height, img.width, {
      activation: meta.output.activation,
      threshold: o.threshold ?? meta.output.threshold,
      keepProbabilities: this.want.has('prob'),
      keepClasses: this.want.has('classes') || (this.want.has('overlay') && logits.channels > 1),
    });
    const t4 = performance.now();
    return {
      width: img.width,
      height: img.height,
      mask: post.mask,
      ...(post.probabilities ? { probabilities: post.probabilities } : {}),
      ...(post.classes ? { classes: post.classes } : {}),
      ...(this.want.has('overlay') || this.want.has('cutout') ? { image: img } : {}),
      stats: { coverage: post.coverage, perClassPixels: post.perClassPixels },
      timings: { decode: t1 - t0, preprocess: t2 - t1, inference: t3 - t2, postprocess: t4 - t3, total: t4 - t0 },
      network: { height: planes.height, width: planes.width, tiles: logits.tiles },
    };
  }

  async *segmentMany(
    inputs: Iterable<SegmentInput> | AsyncIterable<SegmentInput>,
    options: SegmentManyOptions = {},
  ): AsyncGenerator<SegmentManyItem> {
    if (this.closed) throw new UnetError(ErrorCode.CLOSED, 'pipeline.segmentMany: the pipeline is closed');
    const concurrency = options.concurrency ?? this.options.workers + 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw invalidType('pipeline.segmentMany', 'concurrency', 'an integer >= 1', concurrency);
    }
    const ordered = options.ordered ?? false;
    const signal = options.signal;
    const iterator: AsyncIterator<SegmentInput> | Iterator<SegmentInput> =
      Symbol.asyncIterator in inputs ? (inputs as AsyncIterable<SegmentInput>)[Symbol.asyncIterator]() : (inputs as Iterable<SegmentInput>)[Symbol.iterator]();
    const running = new Map<number, Promise<SegmentManyItem>>();
    const done = new Map<number, SegmentManyItem>();
    let nextIndex = 0;
    let nextToYield = 0;
    let exhausted = false;

    const start = (index: number, item: SegmentInput): void => {
      const src = typeof item === 'string' || item instanceof Uint8Array ? item : item.input;
      const name = typeof item === 'object' && !(item instanceof Uint8Array) && item.name ? item.name : typeof src === 'string' ? src : `<buffer #${index}>`;
      const p = this.segment(src, { signal, name }).then(
        (result): SegmentManyItem => ({ index, name, result }),
        (error: unknown): SegmentManyItem => ({ index, name, error: error instanceof Error ? error : new Error(String(error)) }),
      );
      running.set(index, p);
    };

    // The next input is pulled while images run, so a slow or endless source (a folder watcher) never holds back
    // results that are already finished; an abort wakes the loop even while it waits for an input.
    type Event = { kind: 'input'; r: IteratorResult<SegmentInput> } | { kind: 'item'; item: SegmentManyItem } | { kind: 'abort' };
    let pulling: Promise<Event> | null = null;
    const aborted: Promise<Event> = new Promise((resolve) => {
      if (signal?.aborted) resolve({ kind: 'abort' });
      else signal?.addEventListener('abort', () => resolve({ kind: 'abort' }), { once: true });
    });
    try {
      for (;;) {
        if (ordered && done.has(nextToYield)) {
          const item = done.get(nextToYield)!;
          done.delete(nextToYield++);
          yield item;
          continue;
        }
        // In ordered mode finished-but-unyielded items count against the window (bounded memory).
        const room = !exhausted && !signal?.aborted && (ordered ? nextIndex - nextToYield : running.size) < concurrency;
        if (room && pulling === null) pulling = Promise.resolve(iterator.next()).then((r): Event => ({ kind: 'input', r }));
        const waitInput = pulling !== null && !signal?.aborted;
        if (running.size === 0 && !waitInput) break;
        const events: Promise<Event>[] = [...running.values()].map((q) => q.then((item): Event => ({ kind: 'item', item })));
        if (waitInput) events.push(pulling!, aborted);
        const ev = await Promise.race(events);
        if (ev.kind === 'abort') continue; // stop pulling; in-flight images drain below
        if (ev.kind === 'input') {
          pulling = null;
          if (ev.r.done) exhausted = true;
          else if (!signal?.aborted) start(nextIndex++, ev.r.value);
          continue;
        }
        running.delete(ev.item.index);
        if (signal?.aborted) continue; // drain in-flight work, discard results
        if (ordered) done.set(ev.item.index, ev.item);
        else yield ev.item;
      }
      if (signal?.aborted) throw abortError('pipeline.segmentMany');
    } finally {
      if (running.size > 0) await Promise.allSettled(running.values());
      if (!exhausted) {
        const closing = Promise.resolve((iterator as AsyncIterator<SegmentInput>).return?.()).catch(() => undefined);
        if (pulling === null) await closing; // with a pull pending, an endless source might never let return() settle
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.close();
  }
}
