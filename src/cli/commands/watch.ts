/**
 * `unet watch <inputDir> -o <outDir>`: segment every image that appears in a folder, exactly once, until stopped.
 *
 * Same outputs and pipeline options as `unet segment` (one definition: {@link pipelineOptions}). A ledger in the
 * output folder makes restarts (even after a crash) process only new or changed files.
 *
 * Exit codes: 0 stopped by SIGINT / SIGTERM after finishing the images in flight, 2 usage error (bad options,
 * missing input folder, model that cannot be loaded, output folder used by another watcher), 130 a second signal
 * (left at once; the ledger stays consistent).
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { isUnetError } from '../../errors.js';
import { watchFolder, type FolderWatcher, type WatchEvent } from '../../watch/watch.js';
import { Reporter, type ReporterStreams } from '../progress.js';
import { EXIT, UsageError } from '../errors.js';
import { checkPipelineArgs, pipelineOptions, toPipelineOptions, type PipelineArgs } from './segment.js';

export const command = 'watch <inputDir>';
export const describe = 'Watch a folder and segment every new or changed image, exactly once across restarts';

/** Parsed arguments of `unet watch`. */
export interface WatchArgs extends PipelineArgs {
  inputDir: string;
  outDir: string;
  recursive: boolean;
  ignoreExisting: boolean;
  doneDir?: string;
  failedDir?: string;
  settle: number;
  poll: boolean;
}

export function builder(y: Argv): Argv<WatchArgs> {
  return pipelineOptions(
    y
      .positional('inputDir', { describe: 'folder to watch', type: 'string' })
      .option('out-dir', { alias: 'o', describe: 'output folder (created if missing; subfolders are mirrored; holds the ledger)', type: 'string', demandOption: true })
      .option('recursive', { alias: 'r', describe: 'watch subfolders too', type: 'boolean', default: false })
      .option('ignore-existing', { describe: 'leave the files present at start alone (unless they change)', type: 'boolean', default: false })
      .option('done-dir', { describe: 'move inputs here after success', type: 'string' })
      .option('failed-dir', { describe: 'move inputs here after failure, with <name>.error.txt giving the reason', type: 'string' })
      .option('settle', { describe: 'ms a file size must stay unchanged before it is read (copies in progress are waited for)', type: 'number', default: 1000 })
      .option('poll', { describe: 'poll the file system instead of native events (network shares)', type: 'boolean', default: false }),
  )
    .check((argv) => {
      check(argv as unknown as WatchArgs);
      return true;
    })
    .example('$0 watch incoming -o masks', 'masks of every image dropped into incoming/')
    .example('$0 watch scans -r -o out --done-dir done --failed-dir failed --json', 'a tree, moving inputs when done, JSON lines')
    .example('$0 watch incoming -o out --ignore-existing --output mask,overlay', 'only images that arrive from now on') as unknown as Argv<WatchArgs>;
}

/**
 * Cross-option rules of `unet watch` (pure).
 * @throws {UsageError} naming the option, what was expected and what was received
 */
export function check(a: Pick<WatchArgs, 'inputDir' | 'outDir' | 'doneDir' | 'failedDir' | 'settle'> & Parameters<typeof checkPipelineArgs>[0]): true {
  if (typeof a.inputDir !== 'string' || a.inputDir.trim() === '') throw new UsageError('Give the folder to watch');
  if (a.outDir !== undefined && String(a.outDir).trim() === '') throw new UsageError('--out-dir must not be empty');
  for (const [name, v] of [['--done-dir', a.doneDir], ['--failed-dir', a.failedDir]] as const) {
    if (v !== undefined && String(v).trim() === '') throw new UsageError(`${name} must not be empty`);
  }
  if (!Number.isInteger(a.settle) || a.settle < 0 || a.settle > 600_000) {
    throw new UsageError(`Expected --settle to be an integer number of ms in [0, 600000] but received ${a.settle}`);
  }
  return checkPipelineArgs(a);
}

/** The process-level hooks the command uses (replaced in tests). */
export interface WatchIo extends ReporterStreams {
  readonly cwd: string;
  /**
   * Calls `stop` on the first SIGINT / SIGTERM; returns a function that removes the handlers. A second signal
   * leaves at once with exit code 130.
   */
  readonly onStop: (stop: (signal: string) => void) => () => void;
}

function processIo(): WatchIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    onStop(stop) {
      let count = 0;
      const handler = (sig: NodeJS.Signals): void => {
        if (++count > 1) process.exit(EXIT.INTERRUPTED); // the ledger is crash-safe; temporaries are removed next start
        stop(sig);
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

export async function handler(argv: WatchArgs): Promise<void> {
  process.exitCode = await runWatch(argv, processIo());
}

/**
 * Run `unet watch` until a stop signal; returns the exit code.
 * @throws {UsageError} when the watcher cannot start (folder, model, options, lock)
 */
export async function runWatch(a: WatchArgs, io: WatchIo): Promise<number> {
  const inputDir = path.resolve(io.cwd, a.inputDir);
  const resolve = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(io.cwd, p));
  const status = new StatusLine(io, a.json || a.quiet);
  // The TTY shows a status line and failures only; otherwise one line (or JSON object) per processed file.
  const reporter = new Reporter(0, { json: a.json, quiet: a.quiet || status.enabled, cwd: io.cwd }, { stdout: io.stdout, stderr: status.stream });

  let stopSignal: string | null = null;
  let wakeStop: (() => void) | null = null;
  const stopped = new Promise<void>((r) => (wakeStop = r));
  const removeStop = io.onStop((sig) => {
    stopSignal = sig;
    wakeStop?.();
  });
  let watcher: FolderWatcher;
  try {
    try {
      watcher = await watchFolder(inputDir, {
        ...toPipelineOptions(a, io.cwd),
        outDir: path.resolve(io.cwd, a.outDir),
        recursive: a.recursive,
        ignoreExisting: a.ignoreExisting,
        doneDir: resolve(a.doneDir) ?? null,
        failedDir: resolve(a.failedDir) ?? null,
        ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
        settleMs: a.settle,
        usePolling: a.poll,
      });
    } catch (e) {
      throw new UsageError(`cannot watch ${a.inputDir}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const t0 = performance.now();
    watcher.on('result', (e: WatchEvent) => {
      reporter.item({
        input: e.input,
        status: e.status,
        ...(e.outputs ? { outputs: e.outputs } : {}),
        ...(e.width !== undefined ? { width: e.width, height: e.height, coverage: e.coverage, perClassPixels: e.perClassPixels, tiles: e.tiles } : {}),
        ...(e.ms !== undefined ? { ms: e.ms } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        ...(e.code !== undefined ? { code: e.code } : {}),
        ...(e.movedTo !== undefined ? { movedTo: e.movedTo } : {}),
      } as Parameters<Reporter['item']>[0]);
      status.update(watcher);
    });
    watcher.on('unchanged', () => status.update(watcher));
    watcher.on('idle', () => status.update(watcher));
    watcher.on('error', (e: Error) => {
      const code = isUnetError(e) ? e.code : undefined;
      if (a.json) io.stdout.write(JSON.stringify({ error: e.message, ...(code ? { code } : {}) }) + '\n');
      else status.stream.write(`error   ${e.message}\n`);
    });
    const info = watcher.ledgerInfo;
    const ready = {
      watching: inputDir,
      outDir: watcher.options.outDir,
      ledger: { entries: info.entries, tornTail: info.tornTail, rolledForward: info.rolledForward },
    };
    if (a.json) io.stdout.write(JSON.stringify(ready) + '\n');
    else {
      const led = info.entries > 0 ? `; ledger: ${info.entries} known input${info.entries === 1 ? '' : 's'}${info.tornTail ? ', torn last line dropped' : ''}` : '';
      status.stream.write(`Watching ${show(io.cwd, inputDir)} → ${show(io.cwd, watcher.options.outDir)}${led} (Ctrl-C to stop)\n`);
    }
    status.update(watcher);
    await stopped;
    const left = watcher.stats();
    if (!a.json) status.stream.write(`${stopSignal}: finishing ${left.inFlight} image${left.inFlight === 1 ? '' : 's'} in flight (again to quit now)\n`);
    await watcher.close();
    const s = watcher.stats();
    const wallSeconds = (performance.now() - t0) / 1000;
    status.clear();
    if (a.json) {
      io.stdout.write(JSON.stringify({ summary: { ok: s.ok, failed: s.failed, unchanged: s.unchanged, wallSeconds, signal: stopSignal } }) + '\n');
    } else {
      io.stderr.write(`Stopped: ${s.ok} ok, ${s.failed} failed, ${s.unchanged} unchanged in ${wallSeconds.toFixed(1)} s\n`);
    }
    return EXIT.OK;
  } finally {
    removeStop();
  }
}

function show(cwd: string, p: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/**
 * The TTY status line (`watching: 12 ok, 1 failed, 30 unchanged, 4 queued, 2 in flight`), redrawn after every line
 * written through {@link StatusLine.stream}. Disabled (a plain pass-through) when stderr is not a TTY, or with
 * --json or --quiet.
 */
class StatusLine {
  readonly enabled: boolean;
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private shown = '';

  constructor(private readonly io: ReporterStreams, off: boolean) {
    this.enabled = !off && io.stderr.isTTY === true;
    const self = this;
    this.stream = this.enabled
      ? (Object.assign(Object.create(io.stderr) as NodeJS.WritableStream, {
          isTTY: false,
          write(chunk: string | Uint8Array): boolean {
            const line = self.shown;
            self.clear();
            const r = io.stderr.write(chunk);
            if (line) self.draw(line);
            return r;
          },
        }) as NodeJS.WritableStream & { isTTY?: boolean })
      : io.stderr;
  }

  update(w: FolderWatcher): void {
    if (!this.enabled) return;
    const s = w.stats();
    this.draw(`watching: ${s.ok} ok, ${s.failed} failed, ${s.unchanged} unchanged, ${s.queued} queued, ${s.inFlight} in flight`);
  }

  clear(): void {
    if (this.shown) this.io.stderr.write('\r\x1b[2K');
    this.shown = '';
  }

  private draw(text: string): void {
    this.io.stderr.write('\r\x1b[2K' + text);
    this.shown = text;
  }
}
