/**
 * Pipeline options: the public `PipelineOptions` (everything optional), one defaults constant, and the resolved,
 * validated, frozen `FilledPipelineOptions` built once by {@link resolvePipelineOptions} (STYLE rule 4).
 *
 * The frozen tables below (output kinds, resize policies, pad modes, prob bit depths, precisions) are the single source for
 * validation, the CLI's `choices` and the help text (STYLE rule 5).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { invalidParameter, invalidType } from '../errors.js';
import { toChoice, toOptions } from '../ops/params.js';
import type { Model } from '../models/model.js';

/** An output the pipeline can write for each image. */
export type OutputKind = 'mask' | 'prob' | 'classes' | 'overlay' | 'cutout';

/** One row of the output table: file suffix and a line of help. */
export interface OutputKindInfo {
  readonly kind: OutputKind;
  /** File name is `<stem>.<kind>.<ext>`. */
  readonly ext: 'png' | 'jpg';
  readonly help: string;
}

/** The one table of output kinds: drives validation, CLI choices, help text and file names. */
export const OUTPUT_KINDS: Readonly<Record<OutputKind, OutputKindInfo>> = Object.freeze({
  mask: Object.freeze({ kind: 'mask', ext: 'png', help: '8-bit grayscale PNG, 0 = background, 255 = foreground' }),
  prob: Object.freeze({ kind: 'prob', ext: 'png', help: 'foreground probability as an 8- or 16-bit grayscale PNG (see --prob-bits)' }),
  classes: Object.freeze({ kind: 'classes', ext: 'png', help: "indexed (palette) PNG of the class of each pixel, with the model's palette" }),
  overlay: Object.freeze({ kind: 'overlay', ext: 'jpg', help: 'the image blended with the coloured mask (JPEG; PNG with --overlay-format png)' }),
  cutout: Object.freeze({ kind: 'cutout', ext: 'png', help: 'RGBA PNG of the image with the mask as alpha' }),
} as const satisfies Record<OutputKind, OutputKindInfo>);

/** Output kinds in table order. */
export const OUTPUT_KIND_NAMES: readonly OutputKind[] = Object.freeze(Object.keys(OUTPUT_KINDS) as OutputKind[]);

/** How an image is brought to the network's input size. 'model' uses the policy in the model's metadata. */
export type ResizeMode = 'model' | 'native' | 'fit' | 'scale';
export const RESIZE_MODES: readonly ResizeMode[] = Object.freeze(['model', 'native', 'fit', 'scale']);

/** Padding of the 'native' policy up to a multiple of the network's stride. */
export type PadMode = 'reflect' | 'zeros';
export const PAD_MODES: readonly PadMode[] = Object.freeze(['reflect', 'zeros']);

/** Bit depth of the probability output. */
export type ProbBits = 8 | 16;
export const PROB_BITS: readonly ProbBits[] = Object.freeze([8, 16]);

/**
 * Numeric mode of the engine: 'fast' runs the eligible 3×3 convolutions on Winograd F(4×4, 3×3) (within ~1e-5
 * relative of 'exact'); 'exact' uses the direct convolution everywhere.
 */
export type Precision = 'exact' | 'fast';
export const PRECISIONS: readonly Precision[] = Object.freeze(['exact', 'fast']);

/** Encoding of the overlay output. */
export type OverlayFormat = 'jpg' | 'png';
export const OVERLAY_FORMATS: readonly OverlayFormat[] = Object.freeze(['jpg', 'png']);

/** Where the embedded default model lives: `weights/` at the package root, independent of the cwd. */
export const DEFAULT_MODEL_PATH: string = (() => {
  // This module is <root>/src/pipeline/options.ts, or <root>/dist/src/pipeline/options.js once built.
  let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  if (path.basename(root) === 'dist') root = path.dirname(root);
  return path.join(root, 'weights');
})();

/** Public options of {@link createPipeline}; every field is optional. */
export interface PipelineOptions {
  /** A loaded Model, or a path to a model folder / model.json / .pth / .onnx. Default: the embedded model. */
  model?: Model | string;
  /** Worker threads of the engine (>= 1). Default 1. */
  workers?: number;
  /** Probability threshold of the binary mask in (0, 1); default: the model's (usually 0.5). */
  threshold?: number | null;
  /** Which outputs to compute. `mask` is always computed; this decides whether probabilities/classes are kept. */
  outputs?: readonly OutputKind[];
  /** Resize policy; 'model' (default) uses the model's metadata. */
  resize?: ResizeMode;
  /** Scale factor of the 'scale' policy (0 < f <= 8). Default 1. */
  scale?: number;
  /** Network input [h, w] of the 'fit' policy; default the model's `input.size`. */
  size?: readonly [number, number] | null;
  /** Padding of the 'native' policy. Default 'reflect'. */
  padMode?: PadMode;
  /** Tile edge in pixels (multiple of the model's stride), `false` to never tile, null for the model's. */
  tile?: number | false | null;
  /** Overlap between tiles in pixels; null for the model's. */
  tileOverlap?: number | null;
  /** Refuse images with more pixels than this (decompression-bomb guard). Default 100 000 000. */
  maxPixels?: number;
  /** Bit depth of the probability output: 8 or 16. Default 8. */
  probBits?: ProbBits;
  /** Numeric mode of the engine: 'fast' (default, Winograd for 3×3 convs) or 'exact' (direct convs only). */
  precision?: Precision;
  /** Encoding of the overlay output. Default 'jpg'. */
  overlayFormat?: OverlayFormat;
  /** Opacity of the coloured mask in the overlay, in [0, 1]. Default 0.5. */
  overlayOpacity?: number;
}

/** Options after validation and defaults; what the rest of the pipeline reads. */
export interface FilledPipelineOptions {
  readonly model: Model | string;
  readonly workers: number;
  readonly threshold: number | null;
  readonly outputs: readonly OutputKind[];
  readonly resize: ResizeMode;
  readonly scale: number;
  readonly size: readonly [number, number] | null;
  readonly padMode: PadMode;
  readonly tile: number | false | null;
  readonly tileOverlap: number | null;
  readonly maxPixels: number;
  readonly probBits: ProbBits;
  readonly precision: Precision;
  readonly overlayFormat: OverlayFormat;
  readonly overlayOpacity: number;
}

/** The one defaults constant. */
export const DEFAULT_PIPELINE_OPTIONS: FilledPipelineOptions = Object.freeze({
  model: DEFAULT_MODEL_PATH,
  workers: availableParallelism(),
  threshold: null,
  outputs: Object.freeze(['mask'] as OutputKind[]),
  resize: 'model',
  scale: 1,
  size: null,
  padMode: 'reflect',
  tile: null,
  tileOverlap: null,
  maxPixels: 100_000_000,
  probBits: 8,
  precision: 'fast',
  overlayFormat: 'jpg',
  overlayOpacity: 0.5,
});

const WHERE = 'createPipeline';

/**
 * Validate `options` and fill in defaults, once.
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for a wrong type
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for a value out of range or not in its table
 */
export function resolvePipelineOptions(options?: PipelineOptions | null): FilledPipelineOptions {
  const o = toOptions(WHERE, options);
  const d = DEFAULT_PIPELINE_OPTIONS;

  let model: Model | string = d.model;
  if (o.model !== undefined && o.model !== null) {
    if (typeof o.model === 'string') {
      if (o.model.length === 0) throw invalidParameter(WHERE, 'model', 'a non-empty path or a Model', o.model);
      model = o.model;
    } else if (typeof o.model === 'object' && 'graph' in o.model && 'meta' in o.model) {
      model = o.model;
    } else {
      throw invalidType(WHERE, 'model', 'a path or a Model from loadModel()', o.model);
    }
  }

  const workers = o.workers === undefined ? d.workers : int('workers', o.workers, 1, 256);

  let threshold: number | null = d.threshold;
  if (o.threshold !== undefined && o.threshold !== null) {
    threshold = num('threshold', o.threshold);
    if (!(threshold > 0 && threshold < 1)) throw invalidParameter(WHERE, 'threshold', 'a number in (0, 1)', threshold);
  }

  let outputs = d.outputs;
  if (o.outputs !== undefined) {
    if (!Array.isArray(o.outputs) || o.outputs.length === 0) {
      throw invalidType(WHERE, 'outputs', `a non-empty array of ${OUTPUT_KIND_NAMES.join(', ')}`, o.outputs);
    }
    const seen = new Set<OutputKind>();
    for (let i = 0; i < o.outputs.length; i++) seen.add(toChoice(WHERE, `outputs[${i}]`, o.outputs[i], OUTPUT_KIND_NAMES));
    outputs = Object.freeze(OUTPUT_KIND_NAMES.filter((k) => seen.has(k)));
  }

  const resize = o.resize === undefined ? d.resize : toChoice(WHERE, 'resize', o.resize, RESIZE_MODES);
  let scale = d.scale;
  if (o.scale !== undefined) {
    scale = num('scale', o.scale);
    if (!(scale > 0 && scale <= 8)) throw invalidParameter(WHERE, 'scale', 'a number in (0, 8]', scale);
  }
  let size: readonly [number, number] | null = d.size;
  if (o.size !== undefined && o.size !== null) {
    if (!Array.isArray(o.size) || o.size.length !== 2) throw invalidType(WHERE, 'size', 'an [h, w] pair of integers >= 1', o.size);
    size = Object.freeze([int('size[0]', o.size[0], 1, 65536), int('size[1]', o.size[1], 1, 65536)] as [number, number]);
  }
  const padMode = o.padMode === undefined ? d.padMode : toChoice(WHERE, 'padMode', o.padMode, PAD_MODES);

  let tile: number | false | null = d.tile;
  if (o.tile === false) tile = false;
  else if (o.tile !== undefined && o.tile !== null) tile = int('tile', o.tile, 16, 8192);
  const tileOverlap = o.tileOverlap === undefined || o.tileOverlap === null ? d.tileOverlap : int('tileOverlap', o.tileOverlap, 0, 4096);
  if (typeof tile === 'number' && tileOverlap !== null && tileOverlap * 2 >= tile) {
    throw invalidParameter(WHERE, 'tileOverlap', `an integer < tile/2 (${tile / 2})`, tileOverlap);
  }

  const maxPixels = o.maxPixels === undefined ? d.maxPixels : int('maxPixels', o.maxPixels, 1, Number.MAX_SAFE_INTEGER);
  let probBits = d.probBits;
  if (o.probBits !== undefined) {
    if (o.probBits !== 8 && o.probBits !== 16) throw invalidParameter(WHERE, 'probBits', '8 or 16 (bits of the probability output)', o.probBits);
    probBits = o.probBits;
  }
  let precision = d.precision;
  if (o.precision !== undefined) {
    const v: unknown = o.precision;
    if (!(PRECISIONS as readonly unknown[]).includes(v)) {
      // 8 and 16 were once the prob bit depth under this name: point at its new one.
      const hint = v === 8 || v === 16 ? ' (the bit depth of the prob output is probBits)' : '';
      throw invalidParameter(WHERE, 'precision', `one of ${PRECISIONS.map((p) => `'${p}'`).join(', ')}${hint}`, v);
    }
    precision = v as Precision;
  }
  const overlayFormat = o.overlayFormat === undefined ? d.overlayFormat : toChoice(WHERE, 'overlayFormat', o.overlayFormat, OVERLAY_FORMATS);
  let overlayOpacity = d.overlayOpacity;
  if (o.overlayOpacity !== undefined) {
    overlayOpacity = num('overlayOpacity', o.overlayOpacity);
    if (!(overlayOpacity >= 0 && overlayOpacity <= 1)) throw invalidParameter(WHERE, 'overlayOpacity', 'a number in [0, 1]', overlayOpacity);
  }

  return Object.freeze({
    model,
    workers,
    threshold,
    outputs,
    resize,
    scale,
    size,
    padMode,
    tile,
    tileOverlap,
    maxPixels,
    probBits,
    precision,
    overlayFormat,
    overlayOpacity,
  });
}

function num(name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw invalidType(WHERE, name, 'a number', v);
  return v;
}

function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw invalidType(WHERE, name, `an integer in [${min}, ${max}]`, v);
  if (!Number.isInteger(v) || v < min || v > max) throw invalidParameter(WHERE, name, `an integer in [${min}, ${max}]`, v);
  return v;
}
