/**
 * `unet segment <files|dirs|globs…> -o <dir>`: segment images into full-resolution masks (and other outputs).
 *
 * Exit codes: 0 all inputs ok (or skipped), 1 some inputs failed, 2 usage error, 130 interrupted.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Argv } from 'yargs';
import { isUnetError } from '../../errors.js';
import { createPipeline, type Pipeline, type SegmentManyItem } from '../../pipeline/pipeline.js';
import {
  DEFAULT_PIPELINE_OPTIONS,
  OUTPUT_KINDS,
  OUTPUT_KIND_NAMES,
  OVERLAY_FORMATS,
  PAD_MODES,
  PRECISIONS,
  PROB_BITS,
  RESIZE_MODES,
  type OutputKind,
  type OverlayFormat,
  type PadMode,
  type PipelineOptions,
  type Precision,
  type ProbBits,
  type ResizeMode,
} from '../../pipeline/options.js';
import { cleanStaleTempFiles, encodeOutput, outputFileName, writeFileAtomic } from '../../pipeline/writers.js';
import { expandInputs, planOutputs, type PlannedOutput } from '../inputs.js';
import { Reporter, type ReporterStreams } from '../progress.js';
import { EXIT, UsageError } from '../errors.js';

export const command = 'segment <inputs..>';
export const describe = 'Segment images (files, folders or globs) into full-resolution masks';

/** Parsed pipeline options, shared by `unet segment` and `unet watch` ({@link pipelineOptions}). */
export interface PipelineArgs {
  model?: string;
  workers: number;
  threshold?: number;
  output: OutputKind[];
  resize: ResizeMode;
  scale?: number;
  padMode: PadMode;
  tile?: number;
  tileOverlap?: number;
  maxPixels: number;
  probBits: ProbBits;
  precision: Precision;
  overlayFormat: OverlayFormat;
  concurrency?: number;
  json: boolean;
  quiet: boolean;
}

/** Parsed arguments of `unet segment`. */
export interface SegmentArgs extends PipelineArgs {
  inputs: string[];
  outDir: string;
  recursive: boolean;
  overwrite: boolean;
}

/** Split `--output mask,prob --output cutout` into kinds. */
function splitList(v: unknown): string[] {
  const items = Array.isArray(v) ? v : [v];
  return items.flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * The options shared by every command that runs the pipeline (`unet segment`, `unet watch`): one definition, so
 * both commands accept the same models, outputs and settings with the same defaults and help.
 */
export function pipelineOptions<T>(y: Argv<T>): Argv<T & PipelineArgs> {
  const kinds = OUTPUT_KIND_NAMES.map((k) => `  ${k.padEnd(8)} ${OUTPUT_KINDS[k].help}`).join('\n');
  return y
    .option('model', { alias: 'm', describe: 'model folder, model.json, .pth or .onnx (default: the embedded model)', type: 'string' })
    .option('workers', { alias: 'w', describe: 'worker threads of the engine', type: 'number', default: DEFAULT_PIPELINE_OPTIONS.workers })
    .option('threshold', { alias: 't', describe: "probability threshold of the mask, in (0, 1) (default: the model's)", type: 'number' })
    .option('output', {
      describe: `outputs to write, comma-separated:\n${kinds}`,
      type: 'string',
      array: true,
      default: ['mask'],
      coerce: splitList,
    })
    .option('resize', { describe: "resize policy ('model' = the model's choice)", choices: RESIZE_MODES, default: DEFAULT_PIPELINE_OPTIONS.resize })
    .option('scale', { describe: "scale factor of --resize scale (implies it), in (0, 8]", type: 'number' })
    .option('pad-mode', { describe: 'padding of --resize native up to the stride', choices: PAD_MODES, default: DEFAULT_PIPELINE_OPTIONS.padMode })
    .option('tile', { describe: "tile size in pixels for large images, 0 to never tile (default: the model's)", type: 'number' })
    .option('tile-overlap', { describe: "overlap between tiles in pixels (default: the model's)", type: 'number' })
    .option('max-pixels', {
      describe: 'refuse images with more pixels than this (decompression-bomb guard)',
      type: 'number',
      default: DEFAULT_PIPELINE_OPTIONS.maxPixels,
    })
    .option('prob-bits', { describe: 'bits of the prob output', choices: PROB_BITS, default: DEFAULT_PIPELINE_OPTIONS.probBits, coerce: Number })
    .option('precision', {
      describe: 'numeric mode of the engine. fast: Winograd for 3×3 convolutions, within ~1e-5 relative of exact; exact: direct convolution everywhere',
      choices: PRECISIONS,
      default: DEFAULT_PIPELINE_OPTIONS.precision,
    })
    .option('overlay-format', { describe: 'encoding of the overlay output', choices: OVERLAY_FORMATS, default: DEFAULT_PIPELINE_OPTIONS.overlayFormat })
    .option('concurrency', { describe: 'images in flight at once (default: workers + 1; unet watch: workers)', type: 'number' })
    .option('json', { describe: 'print one JSON object per image on stdout, then a summary line', type: 'boolean', default: false })
    .option('quiet', { alias: 'q', describe: 'print only failures and the summary', type: 'boolean', default: false }) as unknown as Argv<T & PipelineArgs>;
}

export function builder(y: Argv): Argv<SegmentArgs> {
  return pipelineOptions(
    y
      .positional('inputs', { describe: 'image files, folders or quoted globs ("photos/**/*.jpg")', type: 'string', array: true })
      .option('out-dir', { alias: 'o', describe: 'output folder (created if missing; input folders are mirrored)', type: 'string', demandOption: true })
      .option('recursive', { alias: 'r', describe: 'descend into subfolders of folder inputs', type: 'boolean', default: false })
      .option('overwrite', { describe: 'recompute images whose outputs already exist', type: 'boolean', default: false }),
  )
    .check((argv) => {
      check(argv as unknown as SegmentArgs);
      return true;
    })
    .example('$0 segment samples -o masks', 'segment the images of a folder into masks/<stem>.mask.png')
    .example('$0 segment "photos/**/*.jpg" -o out --output mask,overlay', 'masks and overlays for a glob')
    .example('$0 segment data -r -o out --output prob --prob-bits 16', 'mirror a tree, 16-bit probabilities')
    .example('$0 segment big.tif -o out --tile 512 --max-pixels 300000000', 'a very large image, tiled') as unknown as Argv<SegmentArgs>;
}

/**
 * Cross-option rules of `unet segment` (pure).
 * @throws {UsageError} naming the option, what was expected and what was received
 */
export function check(
  a: Pick<SegmentArgs, 'output' | 'workers' | 'threshold' | 'resize' | 'scale' | 'tile' | 'tileOverlap' | 'maxPixels' | 'concurrency' | 'inputs'> &
    Partial<Pick<SegmentArgs, 'precision'>> & { outDir?: string },
): true {
  if (!a.inputs || a.inputs.length === 0) throw new UsageError('Give at least one input file, folder or glob');
  if (a.outDir !== undefined && String(a.outDir).trim() === '') throw new UsageError('--out-dir must not be empty');
  return checkPipelineArgs(a);
}

/**
 * Cross-option rules of the shared pipeline options ({@link pipelineOptions}; pure).
 * @throws {UsageError} naming the option, what was expected and what was received
 */
export function checkPipelineArgs(
  a: Pick<PipelineArgs, 'output' | 'workers' | 'threshold' | 'resize' | 'scale' | 'tile' | 'tileOverlap' | 'maxPixels' | 'concurrency'> &
    Partial<Pick<PipelineArgs, 'precision'>>,
): true {
  for (const k of a.output) {
    if (!(OUTPUT_KIND_NAMES as readonly string[]).includes(k)) {
      throw new UsageError(`Expected --output to be a comma-separated list of ${OUTPUT_KIND_NAMES.join(', ')} but received "${k}"`);
    }
  }
  if (a.output.length === 0) throw new UsageError(`Expected at least one --output kind of ${OUTPUT_KIND_NAMES.join(', ')}`);
  if (!Number.isInteger(a.workers) || a.workers < 1) throw new UsageError(`Expected --workers to be an integer >= 1 but received ${a.workers}`);
  if (a.threshold !== undefined && !(a.threshold > 0 && a.threshold < 1)) {
    throw new UsageError(`Expected --threshold in (0, 1) but received ${a.threshold}`);
  }
  if (a.scale !== undefined) {
    if (!(a.scale > 0 && a.scale <= 8)) throw new UsageError(`Expected --scale in (0, 8] but received ${a.scale}`);
    if (a.resize !== 'scale' && a.resize !== 'model') throw new UsageError(`--scale needs --resize scale but received --resize ${a.resize}`);
  }
  if (a.tile !== undefined && !(a.tile === 0 || (Number.isInteger(a.tile) && a.tile >= 16 && a.tile <= 8192))) {
    throw new UsageError(`Expected --tile to be 0 (off) or an integer in [16, 8192] but received ${a.tile}`);
  }
  if (a.tileOverlap !== undefined) {
    if (!Number.isInteger(a.tileOverlap) || a.tileOverlap < 0) throw new UsageError(`Expected --tile-overlap to be an integer >= 0 but received ${a.tileOverlap}`);
    if (a.tile !== undefined && a.tile > 0 && a.tileOverlap * 2 >= a.tile) {
      throw new UsageError(`Expected --tile-overlap < tile/2 (${a.tile / 2}) but received ${a.tileOverlap}`);
    }
  }
  if (!Number.isInteger(a.maxPixels) || a.maxPixels < 1) throw new UsageError(`Expected --max-pixels to be an integer >= 1 but received ${a.maxPixels}`);
  if (a.concurrency !== undefined && (!Number.isInteger(a.concurrency) || a.concurrency < 1)) {
    throw new UsageError(`Expected --concurrency to be an integer >= 1 but received ${a.concurrency}`);
  }
  if (a.precision !== undefined && !(PRECISIONS as readonly string[]).includes(a.precision)) {
    throw new UsageError(`Expected --precision to be one of ${PRECISIONS.join(', ')} but received ${a.precision}`);
  }
  return true;
}

/** The {@link createPipeline} options of parsed pipeline arguments (relative model paths against `cwd`). */
export function toPipelineOptions(a: PipelineArgs, cwd: string): PipelineOptions {
  return {
    ...(a.model !== undefined ? { model: path.resolve(cwd, a.model) } : {}),
    workers: a.workers,
    threshold: a.threshold ?? null,
    outputs: a.output,
    resize: a.scale !== undefined && a.resize === 'model' ? 'scale' : a.resize,
    ...(a.scale !== undefined ? { scale: a.scale } : {}),
    padMode: a.padMode,
    tile: a.tile === undefined ? null : a.tile === 0 ? false : a.tile,
    tileOverlap: a.tileOverlap ?? null,
    maxPixels: a.maxPixels,
    probBits: a.probBits,
    precision: a.precision,
    overlayFormat: a.overlayFormat,
  };
}

/** The process-level hooks the command uses (replaced in tests). */
export interface SegmentIo extends ReporterStreams {
  readonly cwd: string;
  /** Registers SIGINT/SIGTERM handling; returns a function that removes it. */
  readonly onInterrupt: (abort: () => void) => () => void;
}

function processIo(): SegmentIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    onInterrupt(abort) {
      let count = 0;
      const handler = (sig: NodeJS.Signals): void => {
        count++;
        if (count > 1) process.exit(130); // second Ctrl-C: leave now; temp files are cleaned on the next run
        process.stderr.write(`\n${sig}: finishing the images in flight, no partial files are left (again to quit now)\n`);
        abort();
      };
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

export async function handler(argv: SegmentArgs): Promise<void> {
  process.exitCode = await runSegment(argv, processIo());
}

/**
 * Run `unet segment` with parsed arguments; returns the exit code.
 * @throws {UsageError} when the output folder would collide with inputs
 */
export async function runSegment(a: SegmentArgs, io: SegmentIo): Promise<number> {
  const outDir = path.resolve(io.cwd, a.outDir);
  const outStat = await stat(outDir).catch(() => null);
  if (outStat && !outStat.isDirectory()) throw new UsageError(`--out-dir ${a.outDir} exists and is not a folder`);

  const { files, missing } = await expandInputs(
    a.inputs.map((p) => path.resolve(io.cwd, p)),
    { recursive: a.recursive, exclude: [outDir] },
  );
  const plan = planOutputs(files, outDir);
  // Never write next to (or over) an input: the output folder may not hold inputs directly.
  const inputSet = new Set(files.map((f) => f.path));
  for (const p of plan) {
    if (p.dir === path.dirname(p.input.path)) {
      throw new UsageError(
        `--out-dir ${a.outDir} would put outputs next to the input ${path.relative(io.cwd, p.input.path) || p.input.path}; choose another output folder`,
      );
    }
    for (const kind of a.output) {
      const out = path.join(p.dir, outputFileName(p.stem, kind, a.overlayFormat));
      if (inputSet.has(out)) throw new UsageError(`the output ${out} would overwrite an input; choose another --out-dir`);
    }
  }

  const reporter = new Reporter(files.length + missing.length, { json: a.json, quiet: a.quiet, cwd: io.cwd }, io);
  for (const m of missing) reporter.item({ input: m.arg, status: 'failed', reason: m.reason, code: 'ERR_IO' });

  // Skip images whose outputs all exist (a rerun completes what is missing).
  const todo: PlannedOutput[] = [];
  const wanted = new Map<PlannedOutput, OutputKind[]>();
  const cleaned = new Set<string>();
  for (const p of plan) {
    if (!cleaned.has(p.dir)) {
      cleaned.add(p.dir);
      await cleanStaleTempFiles(p.dir);
    }
    const kinds: OutputKind[] = [];
    for (const kind of a.output) {
      const out = path.join(p.dir, outputFileName(p.stem, kind, a.overlayFormat));
      if (a.overwrite || !(await stat(out).then((s) => s.isFile(), () => false))) kinds.push(kind);
    }
    if (kinds.length === 0) reporter.item({ input: p.input.path, status: 'skipped', outputs: a.output.map((k) => path.join(p.dir, outputFileName(p.stem, k, a.overlayFormat))) });
    else {
      todo.push(p);
      wanted.set(p, kinds);
    }
  }

  const controller = new AbortController();
  const removeInterrupt = io.onInterrupt(() => controller.abort());
  let interrupted = false;
  let pipeline: Pipeline | null = null;
  try {
    if (todo.length > 0) {
      try {
        pipeline = await createPipeline(toPipelineOptions(a, io.cwd));
      } catch (e) {
        throw new UsageError(`cannot load the model: ${e instanceof Error ? e.message : String(e)}`);
      }
      const byPath = new Map(todo.map((p) => [p.input.path, p]));
      const items = pipeline.segmentMany(
        todo.map((p) => ({ input: p.input.path, name: p.input.path })),
        { concurrency: a.concurrency ?? a.workers + 1, signal: controller.signal },
      );
      try {
        for await (const item of items) {
          const p = byPath.get(item.name)!;
          await finishItem(pipeline, item, p, wanted.get(p)!, a, reporter, controller.signal);
        }
      } catch (e) {
        if (!controller.signal.aborted) throw e;
      }
      interrupted = controller.signal.aborted;
    }
  } finally {
    removeInterrupt();
    await pipeline?.close();
  }
  const summary = reporter.finish(interrupted);
  if (interrupted) return EXIT.INTERRUPTED;
  return summary.failed > 0 ? EXIT.FAILED : EXIT.OK;
}

async function finishItem(
  pipeline: Pipeline,
  item: SegmentManyItem,
  p: PlannedOutput,
  kinds: readonly OutputKind[],
  a: SegmentArgs,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<void> {
  if (item.error) {
    reporter.item({ input: p.input.path, status: 'failed', reason: reasonOf(item.error), ...(isUnetError(item.error) ? { code: item.error.code } : {}) });
    return;
  }
  const r = item.result;
  const written: string[] = [];
  try {
    await mkdir(p.dir, { recursive: true });
    for (const kind of kinds) {
      if (signal.aborted) return;
      const data = await encodeOutput(kind, r, {
        probBits: a.probBits,
        overlayFormat: a.overlayFormat,
        overlayOpacity: DEFAULT_PIPELINE_OPTIONS.overlayOpacity,
        output: pipeline.meta.output,
        classes: pipeline.classes,
      });
      const file = path.join(p.dir, outputFileName(p.stem, kind, a.overlayFormat));
      await writeFileAtomic(file, data);
      written.push(file);
    }
  } catch (e) {
    reporter.item({ input: p.input.path, status: 'failed', reason: reasonOf(e), ...(isUnetError(e) ? { code: e.code } : {}) });
    return;
  }
  reporter.item({
    input: p.input.path,
    status: 'ok',
    outputs: written,
    width: r.width,
    height: r.height,
    coverage: r.stats.coverage,
    perClassPixels: r.stats.perClassPixels,
    tiles: r.network.tiles,
    ms: r.timings.total,
  });
}

function reasonOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // Messages start with the input's path; the report already names it.
  return e.message.replace(/^[^:]*\/[^:]*: /, '');
}
