/**
 * `watchFolder(inputDir, options)`: segment every image that appears in a folder, exactly once, across restarts.
 *
 *   chokidar (add/change, after the file's size has been stable for `settleMs`) → queue of PATHS (deduplicated)
 *   → when a slot is free: stat, compare with the ledger, read, hash → pipeline.segment → outputs (temp names)
 *   → ledger record (fsync, the commit point) → rename outputs → move the input (--done-dir / --failed-dir)
 *
 * Only paths wait in the queue; a file's bytes are read when a slot is free, so a burst of thousands of files
 * holds at most `concurrency` images in memory. The ledger ({@link Ledger}) decides what is new or changed.
 */
import { EventEmitter } from 'node:events';
import { copyFile, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import { ErrorCode, UnetError, invalidParameter, invalidType, isUnetError } from '../errors.js';
import { toOptions } from '../ops/params.js';
import { createPipeline, type Pipeline } from '../pipeline/pipeline.js';
import type { PipelineOptions } from '../pipeline/options.js';
import { cleanStaleTempFiles, encodeOutput, isTempName, outputFileName, tempNameFor, writeFileAtomic } from '../pipeline/writers.js';
import { IMAGE_EXTENSIONS, hasImageExtension } from '../cli/inputs.js';
import type { ItemReport } from '../cli/progress.js';
import { Ledger, contentHash, lockFolder, type LedgerOpenInfo, type LedgerRecord } from './ledger.js';

/** Options of {@link watchFolder}: the pipeline's options plus where outputs go and how the folder is watched. */
export interface WatchOptions extends PipelineOptions {
  /** Output folder (required; created if missing). Input subfolders are mirrored under it. */
  outDir: string;
  /** Watch subfolders too. Default false. */
  recursive?: boolean;
  /** Leave files present at start alone (they are still processed when they change). Default false. */
  ignoreExisting?: boolean;
  /** Move inputs here after success (mirroring subfolders). Default: leave them. */
  doneDir?: string | null;
  /** Move inputs here after failure, with `<name>.error.txt` next to each giving the reason. Default: leave them. */
  failedDir?: string | null;
  /** Images in flight at once (>= 1). Default: the pipeline's workers. */
  concurrency?: number;
  /** A file is taken once its size has not changed for this many ms (a copy in progress is waited for). Default 1000. */
  settleMs?: number;
  /** How often a settling file is checked, in ms. Default 100. */
  pollMs?: number;
  /** Poll the file system instead of native events (network shares, some containers). Default false. */
  usePolling?: boolean;
  /** Run on this pipeline instead of creating one (it is not closed by close(); its options then decide outputs). */
  pipeline?: Pipeline;
}

/** Options after validation and defaults. */
export interface FilledWatchOptions {
  readonly inputDir: string;
  readonly outDir: string;
  readonly recursive: boolean;
  readonly ignoreExisting: boolean;
  readonly doneDir: string | null;
  readonly failedDir: string | null;
  readonly concurrency: number | null;
  readonly settleMs: number;
  readonly pollMs: number;
  readonly usePolling: boolean;
}

/** The result of one processed input. */
export interface WatchEvent extends Omit<ItemReport, 'status'> {
  /** Absolute path of the input (where it was when processed). */
  readonly input: string;
  /** Path relative to the watched folder, `/` separators. */
  readonly rel: string;
  readonly status: 'ok' | 'failed';
  /** Where the input was moved (--done-dir / --failed-dir). */
  readonly movedTo?: string;
}

/** Counters of a watcher. */
export interface WatchStats {
  readonly ok: number;
  readonly failed: number;
  /** Inputs found unchanged in the ledger (not processed again). */
  readonly unchanged: number;
  readonly queued: number;
  readonly inFlight: number;
}

/**
 * A running folder watcher. Events: `'result'` ({@link WatchEvent}, one per processed input), `'unchanged'`
 * (absolute path; an input the ledger already has), `'error'` (non-fatal: watcher or ledger problems), `'idle'`
 * (queue empty, nothing in flight), `'close'`. Iterating it yields the results until it is closed.
 */
export interface FolderWatcher extends AsyncIterable<WatchEvent> {
  readonly options: FilledWatchOptions;
  /** What the ledger held at start. */
  readonly ledgerInfo: LedgerOpenInfo;
  stats(): WatchStats;
  /** Resolves when nothing is queued or in flight (files still being written are not counted). */
  idle(): Promise<void>;
  /** Stop accepting files, finish the images in flight, flush the ledger, release the folder. Idempotent. */
  close(): Promise<void>;
  on(event: 'result', listener: (e: WatchEvent) => void): this;
  on(event: 'unchanged', listener: (input: string) => void): this;
  on(event: 'error', listener: (e: Error) => void): this;
  on(event: 'idle' | 'close', listener: () => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, listener: (...args: any[]) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  once(event: string, listener: (...args: any[]) => void): this;
}

const WHERE = 'watchFolder';
const WATCH_KEYS = ['outDir', 'recursive', 'ignoreExisting', 'doneDir', 'failedDir', 'concurrency', 'settleMs', 'pollMs', 'usePolling', 'pipeline'] as const;

/**
 * Validate and fill the watch-specific options (the pipeline's are validated by createPipeline).
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for a wrong type
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for values out of range or folders that overlap wrongly
 */
export function resolveWatchOptions(inputDir: unknown, options: unknown): FilledWatchOptions {
  if (typeof inputDir !== 'string' || inputDir.length === 0) throw invalidType(WHERE, 'inputDir', 'a folder path', inputDir);
  const o = toOptions(WHERE, options as WatchOptions | null | undefined);
  if (typeof o.outDir !== 'string' || o.outDir.length === 0) throw invalidType(WHERE, 'outDir', 'an output folder path', o.outDir);
  const bool = (name: string, v: unknown): boolean => {
    if (v === undefined) return false;
    if (typeof v !== 'boolean') throw invalidType(WHERE, name, 'a boolean', v);
    return v;
  };
  const dir = (name: string, v: unknown): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.length === 0) throw invalidType(WHERE, name, 'a folder path or null', v);
    return path.resolve(v);
  };
  const int = (name: string, v: unknown, min: number, max: number, d: number): number => {
    if (v === undefined) return d;
    if (typeof v !== 'number' || Number.isNaN(v)) throw invalidType(WHERE, name, `an integer in [${min}, ${max}]`, v);
    if (!Number.isInteger(v) || v < min || v > max) throw invalidParameter(WHERE, name, `an integer in [${min}, ${max}]`, v);
    return v;
  };
  const input = path.resolve(inputDir);
  const outDir = path.resolve(o.outDir);
  const doneDir = dir('doneDir', o.doneDir);
  const failedDir = dir('failedDir', o.failedDir);
  for (const [name, d] of [['outDir', outDir], ['doneDir', doneDir], ['failedDir', failedDir]] as const) {
    if (d === null) continue;
    if (d === input || isInside(input, d)) {
      throw invalidParameter(WHERE, name, `a folder that is not the watched folder ${input} nor one of its parents`, d);
    }
  }
  if (doneDir !== null && doneDir === outDir) throw invalidParameter(WHERE, 'doneDir', `a folder other than outDir (${outDir})`, doneDir);
  if (failedDir !== null && failedDir === outDir) throw invalidParameter(WHERE, 'failedDir', `a folder other than outDir (${outDir})`, failedDir);
  if (o.pipeline !== undefined && (typeof o.pipeline !== 'object' || o.pipeline === null || typeof o.pipeline.segment !== 'function')) {
    throw invalidType(WHERE, 'pipeline', 'a Pipeline from createPipeline()', o.pipeline);
  }
  return Object.freeze({
    inputDir: input,
    outDir,
    recursive: bool('recursive', o.recursive),
    ignoreExisting: bool('ignoreExisting', o.ignoreExisting),
    doneDir,
    failedDir,
    concurrency: o.concurrency === undefined ? null : int('concurrency', o.concurrency, 1, 1024, 1),
    settleMs: int('settleMs', o.settleMs, 0, 600_000, 1000),
    pollMs: int('pollMs', o.pollMs, 10, 60_000, 100),
    usePolling: bool('usePolling', o.usePolling),
  });
}

/**
 * Watch `inputDir` and segment every image that appears or changes, writing the same outputs as `unet segment`
 * under `options.outDir`. Resolves once the model is loaded and the watcher is running.
 * @throws {TypeError|RangeError} for invalid options (ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE)
 * @throws {UnetError} ERR_IO when the input folder is missing or the output folder is in use by another watcher;
 *   ERR_MODEL_FORMAT / ERR_IO when the model cannot be loaded
 */
export async function watchFolder(inputDir: string, options: WatchOptions): Promise<FolderWatcher> {
  const filled = resolveWatchOptions(inputDir, options);
  const st = await stat(filled.inputDir).catch(() => null);
  if (!st?.isDirectory()) {
    throw new UnetError(ErrorCode.IO, `${WHERE}: expected inputDir to be an existing folder but received ${filled.inputDir}${st ? ' (not a folder)' : ' (missing)'}`);
  }
  const pipelineOptions: PipelineOptions = {};
  for (const [k, v] of Object.entries(options)) {
    if (!(WATCH_KEYS as readonly string[]).includes(k)) (pipelineOptions as Record<string, unknown>)[k] = v;
  }
  await mkdir(filled.outDir, { recursive: true }).catch((e: unknown) => {
    throw new UnetError(ErrorCode.IO, `${filled.outDir}: cannot create the output folder (${(e as NodeJS.ErrnoException).code})`, { cause: e });
  });
  const unlock = await lockFolder(filled.outDir);
  let ledger: Ledger | null = null;
  let pipeline: Pipeline | null = null;
  try {
    const opened = await Ledger.open(filled.outDir);
    ledger = opened.ledger;
    pipeline = options.pipeline ?? (await createPipeline(pipelineOptions));
    const w = new Watcher(filled, pipeline, options.pipeline === undefined, ledger, opened.info, unlock);
    await w.start();
    return w;
  } catch (e) {
    if (options.pipeline === undefined) await pipeline?.close();
    await ledger?.close();
    await unlock();
    throw e;
  }
}

function isInside(child: string, dir: string): boolean {
  return child.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

function toPosix(rel: string): string {
  return rel.split(path.sep).join('/');
}

class Watcher extends EventEmitter implements FolderWatcher {
  private fsw: FSWatcher | null = null;
  /** Paths waiting for a slot, in arrival order (a Map keeps order and deduplicates). */
  private readonly queue = new Map<string, true>();
  /** Paths being processed, and those that changed meanwhile (checked again afterwards). */
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  /** Image paths seen in the folder (for stem collisions `a.png` / `a.jpg`). */
  private readonly known = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly cleanedDirs = new Set<string>();
  private readonly concurrency: number;
  private counts = { ok: 0, failed: 0, unchanged: 0 };
  private stopping = false;
  private closing: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly options: FilledWatchOptions,
    private readonly pipeline: Pipeline,
    private readonly ownsPipeline: boolean,
    private readonly ledger: Ledger,
    readonly ledgerInfo: LedgerOpenInfo,
    private readonly unlock: () => Promise<void>,
  ) {
    super();
    this.concurrency = options.concurrency ?? pipeline.options.workers;
  }

  async start(): Promise<void> {
    const o = this.options;
    const excluded = [o.outDir, o.doneDir, o.failedDir].filter((d): d is string => d !== null);
    this.fsw = chokidarWatch(o.inputDir, {
      ignoreInitial: o.ignoreExisting,
      ...(o.recursive ? {} : { depth: 0 }),
      awaitWriteFinish: o.settleMs > 0 ? { stabilityThreshold: o.settleMs, pollInterval: o.pollMs } : false,
      usePolling: o.usePolling,
      interval: o.pollMs,
      ignorePermissionErrors: true,
      ignored: (p: string, stats?: { isFile(): boolean }) => {
        const abs = path.resolve(p);
        if (abs === o.inputDir) return false;
        if (excluded.some((d) => abs === d || isInside(abs, d))) return true;
        const base = path.basename(abs);
        if (base.startsWith('.') || isTempName(base)) return true;
        return stats?.isFile() === true && !hasImageExtension(abs);
      },
    });
    this.fsw.on('add', (p: string) => this.enqueue(path.resolve(p)));
    this.fsw.on('change', (p: string) => this.enqueue(path.resolve(p)));
    this.fsw.on('unlink', (p: string) => {
      const abs = path.resolve(p);
      this.queue.delete(abs);
      this.known.delete(abs);
    });
    this.fsw.on('error', (e: unknown) => this.report(e));
    await new Promise<void>((resolve) => this.fsw!.once('ready', () => resolve()));
  }

  stats(): WatchStats {
    return { ...this.counts, queued: this.queue.size, inFlight: this.running.size };
  }

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    const buffered: WatchEvent[] = [];
    let wake: (() => void) | null = null;
    let ended = this.stopping;
    const onResult = (e: WatchEvent): void => {
      buffered.push(e);
      wake?.();
    };
    const onClose = (): void => {
      ended = true;
      wake?.();
    };
    this.on('result', onResult);
    this.on('close', onClose);
    try {
      for (;;) {
        if (buffered.length > 0) {
          yield buffered.shift()!;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.off('result', onResult);
      this.off('close', onClose);
    }
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && this.running.size === 0;
  }

  private enqueue(abs: string): void {
    if (this.stopping || !hasImageExtension(abs)) return;
    this.known.add(abs);
    if (this.running.has(abs)) {
      this.again.add(abs);
      return;
    }
    this.queue.set(abs, true);
    this.pump();
  }

  /** Start queued paths while slots are free. */
  private pump(): void {
    while (!this.stopping && this.running.size < this.concurrency && this.queue.size > 0) {
      const abs = this.queue.keys().next().value as string;
      this.queue.delete(abs);
      this.running.add(abs);
      const task = this.processOne(abs)
        .catch((e: unknown) => this.report(e))
        .finally(() => {
          this.running.delete(abs);
          this.tasks.delete(task);
          if (this.again.delete(abs)) this.enqueue(abs);
          this.pump();
          if (this.isIdle()) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
            this.emit('idle');
          }
        });
      this.tasks.add(task);
    }
  }

  /** Non-fatal problems go to 'error' listeners; without any, to a process warning (never an uncaught throw). */
  private report(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(err.message, { code: isUnetError(err) ? err.code : 'ERR_WATCH' });
  }

  /** The output files an input gets under the current options. */
  private outputsFor(abs: string): string[] {
    const { dir, stem } = this.plan(abs);
    const po = this.pipeline.options;
    return po.outputs.map((kind) => path.join(dir, outputFileName(stem, kind, po.overlayFormat)));
  }

  /**
   * True if a record still stands for `abs`: a failure (not retried until the file changes), or a success whose
   * outputs under the current options all exist (an output deleted since, or a kind added, is produced again).
   */
  private async stillDone(rec: LedgerRecord, abs: string): Promise<boolean> {
    if (rec.status === 'failed') return true;
    for (const out of this.outputsFor(abs)) {
      if (!(await stat(out).then((s) => s.isFile(), () => false))) return false;
    }
    return true;
  }

  private async processOne(abs: string): Promise<void> {
    const o = this.options;
    const rel = toPosix(path.relative(o.inputDir, abs));
    const st = await stat(abs).catch(() => null);
    if (!st?.isFile()) return; // gone (moved or deleted) before its turn
    const prev = this.ledger.get(rel);
    const same = (r: LedgerRecord): Promise<boolean> => this.stillDone(r, abs);
    // Unchanged size and time: trusted without reading, unless the path was emptied by a move since (a new file).
    if (prev && prev.moveTo === undefined && prev.size === st.size && prev.mtimeMs === st.mtimeMs && (await same(prev))) {
      this.counts.unchanged++;
      this.emit('unchanged', abs);
      return;
    }
    const data = await readFile(abs).catch(() => null);
    if (!data) return;
    const st2 = await stat(abs).catch(() => null);
    // Still being written: the watcher reports it again once it has settled.
    if (!st2 || st2.size !== data.length || st2.mtimeMs !== st.mtimeMs) return;
    const hash = contentHash(data);
    if (prev && prev.hash === hash && prev.size === data.length && (await same(prev))) {
      // Same bytes (touched, or put back after a move): nothing to compute; record the new time (`at` stays the
      // time it was processed), move it again.
      const rec: LedgerRecord = { ...prev, mtimeMs: st.mtimeMs, pending: [] };
      await this.ledger.append(rec);
      this.counts.unchanged++;
      this.emit('unchanged', abs);
      if (prev.moveTo !== undefined) await this.moveInput(abs, rel, prev.moveTo, prev.status === 'failed' ? prev.reason ?? 'failed' : null);
      return;
    }

    const t0 = performance.now();
    const base = { path: rel, size: data.length, mtimeMs: st.mtimeMs, hash };
    let event: WatchEvent;
    let writing = false;
    try {
      const r = await this.pipeline.segment(data, { name: abs });
      writing = true;
      const { dir, stem } = this.plan(abs);
      await mkdir(dir, { recursive: true }).catch((e: unknown) => {
        throw new UnetError(ErrorCode.IO, `${dir}: cannot create the output folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
      });
      if (!this.cleanedDirs.has(dir)) {
        this.cleanedDirs.add(dir);
        await cleanStaleTempFiles(dir);
      }
      const po = this.pipeline.options;
      const pending: [string, string][] = [];
      try {
        for (const kind of po.outputs) {
          const bytes = await encodeOutput(kind, r, {
            probBits: po.probBits,
            overlayFormat: po.overlayFormat,
            overlayOpacity: po.overlayOpacity,
            output: this.pipeline.meta.output,
            classes: this.pipeline.classes,
          });
          const final = path.join(dir, outputFileName(stem, kind, po.overlayFormat));
          const tmp = tempNameFor(final);
          pending.push([tmp, final]);
          await writeDurable(tmp, bytes);
        }
        const outRel = (f: string): string => toPosix(path.relative(o.outDir, f));
        // The commit point: once this record is durable the image counts as done (see ledger.ts).
        await this.ledger.append({
          ...base,
          status: 'ok',
          outputs: pending.map(([, f]) => outRel(f)),
          pending: pending.map(([t, f]) => [outRel(t), outRel(f)] as const),
          ...(o.doneDir !== null ? { moveTo: o.doneDir } : {}),
          at: new Date().toISOString(),
        });
      } catch (e) {
        for (const [tmp] of pending) await unlink(tmp).catch(() => undefined);
        throw e;
      }
      for (const [tmp, final] of pending) await rename(tmp, final);
      const movedTo = o.doneDir !== null ? await this.moveInput(abs, rel, o.doneDir, null) : undefined;
      this.counts.ok++;
      event = {
        input: abs,
        rel,
        status: 'ok',
        outputs: pending.map(([, f]) => f),
        ...(movedTo ? { movedTo } : {}),
        width: r.width,
        height: r.height,
        coverage: r.stats.coverage,
        perClassPixels: r.stats.perClassPixels,
        tiles: r.network.tiles,
        ms: performance.now() - t0,
      };
    } catch (e) {
      if (isUnetError(e) && e.code === ErrorCode.CLOSED) throw e;
      const reason = reasonOf(e);
      const code = isUnetError(e) ? e.code : undefined;
      if (writing) {
        // The output folder or the ledger failed, not the input: nothing is recorded, so a restart (or a change of
        // the file) tries it again, and the input stays where it is.
        this.counts.failed++;
        this.emit('result', { input: abs, rel, status: 'failed', reason, ...(code ? { code } : {}), ms: performance.now() - t0 });
        return;
      }
      await this.ledger.append({
        ...base,
        status: 'failed',
        reason,
        ...(code ? { code } : {}),
        ...(o.failedDir !== null ? { moveTo: o.failedDir } : {}),
        at: new Date().toISOString(),
      });
      const movedTo = o.failedDir !== null ? await this.moveInput(abs, rel, o.failedDir, reason) : undefined;
      this.counts.failed++;
      event = { input: abs, rel, status: 'failed', reason, ...(code ? { code } : {}), ...(movedTo ? { movedTo } : {}), ms: performance.now() - t0 };
    }
    this.emit('result', event);
  }

  /** Output folder and stem of an input: its subfolder mirrored; the full name as stem if `a.png` meets `a.jpg`. */
  private plan(abs: string): { dir: string; stem: string } {
    const o = this.options;
    const rel = path.relative(o.inputDir, abs);
    const dir = path.join(o.outDir, path.dirname(rel));
    const ext = path.extname(abs);
    const stemOf = (f: string): string => path.basename(f, path.extname(f));
    const stem = stemOf(abs);
    const parent = path.dirname(abs);
    for (const e of IMAGE_EXTENSIONS) {
      for (const cand of [e, e.toUpperCase()]) {
        if (cand === ext) continue;
        if (this.known.has(path.join(parent, stem + cand))) return { dir, stem: path.basename(abs) };
      }
    }
    return { dir, stem };
  }

  /**
   * Move an input to `dest/<rel>` (another name if taken); with a reason, write `<name>.error.txt` beside it.
   * A failed move is reported as an 'error' event and the input stays.
   */
  private async moveInput(abs: string, rel: string, dest: string, reason: string | null): Promise<string | undefined> {
    let target = path.join(dest, rel);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      const ext = path.extname(target);
      const stemPath = target.slice(0, target.length - ext.length);
      for (let n = 1; await exists(target); n++) target = `${stemPath}-${n}${ext}`;
      try {
        await rename(abs, target);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        await copyFile(abs, target);
        await unlink(abs);
      }
      if (reason !== null) await writeFileAtomic(`${target}.error.txt`, Buffer.from(`${abs}\n${reason}\n`, 'utf8'));
      return target;
    } catch (e) {
      this.report(new UnetError(ErrorCode.IO, `${abs}: cannot move the input to ${target} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e }));
      return undefined;
    }
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.queue.clear();
    await this.fsw?.close();
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    await this.ledger.close();
    if (this.ownsPipeline) await this.pipeline.close();
    await this.unlock();
    for (const w of this.idleWaiters) w();
    this.idleWaiters = [];
    this.emit('close');
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Write `data` to a new file and fsync it (the caller renames it into place later). */
async function writeDurable(file: string, data: Uint8Array): Promise<void> {
  try {
    const fh = await open(file, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new UnetError(ErrorCode.IO, `${file}: cannot write the output (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
}

function reasonOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // Messages start with the input's path; reports already name it.
  return e.message.replace(/^[^:]*\/[^:]*: /, '');
}
