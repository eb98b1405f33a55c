/**
 * Reporting of a batch: a progress bar on a TTY (done/total, images/s, ETA), plain log lines otherwise, or one
 * JSON object per image with `--json` (and a final `{"summary": …}` line).
 */
import path from 'node:path';

/** Outcome of one input. */
export type ItemStatus = 'ok' | 'skipped' | 'failed';

/** One line of the report. */
export interface ItemReport {
  readonly input: string;
  readonly status: ItemStatus;
  readonly outputs?: readonly string[];
  readonly width?: number;
  readonly height?: number;
  readonly coverage?: number;
  readonly perClassPixels?: readonly number[];
  readonly tiles?: number;
  readonly ms?: number;
  readonly reason?: string;
  readonly code?: string;
}

/** Totals at the end of a batch. */
export interface Summary {
  readonly total: number;
  readonly ok: number;
  readonly skipped: number;
  readonly failed: number;
  readonly failures: readonly { readonly input: string; readonly reason: string; readonly code?: string }[];
  readonly wallSeconds: number;
  readonly imagesPerSecond: number;
  readonly interrupted: boolean;
}

/** Where reports go. */
export interface ReporterStreams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** Collects item reports, prints them in the chosen style and builds the summary. */
export class Reporter {
  private ok = 0;
  private skipped = 0;
  private failed = 0;
  private processed = 0;
  private readonly failures: { input: string; reason: string; code?: string }[] = [];
  private readonly started = performance.now();
  private barShown = false;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly mode: { json: boolean; quiet: boolean; cwd: string },
    private readonly io: ReporterStreams,
  ) {
    this.tty = !mode.json && !mode.quiet && io.stderr.isTTY === true;
  }

  /** Record and print one item. */
  item(r: ItemReport): void {
    if (r.status === 'ok') this.ok++;
    else if (r.status === 'skipped') this.skipped++;
    else {
      this.failed++;
      this.failures.push({ input: this.show(r.input), reason: r.reason ?? 'unknown error', ...(r.code ? { code: r.code } : {}) });
    }
    if (r.status !== 'skipped') this.processed++;
    if (this.mode.json) {
      this.io.stdout.write(JSON.stringify({ ...r, input: r.input }) + '\n');
      return;
    }
    if (this.tty) {
      if (r.status === 'failed') this.line(`failed  ${this.show(r.input)}: ${r.reason}`);
      this.bar();
      return;
    }
    if (this.mode.quiet && r.status !== 'failed') return;
    if (r.status === 'ok') {
      const cov = r.coverage === undefined ? '' : `, coverage ${(r.coverage * 100).toFixed(1)}%`;
      this.line(`ok      ${this.show(r.input)} (${r.width}×${r.height}${cov}, ${((r.ms ?? 0) / 1000).toFixed(2)} s)`);
    } else if (r.status === 'skipped') {
      this.line(`skipped ${this.show(r.input)} (outputs exist; --overwrite to redo)`);
    } else {
      this.line(`failed  ${this.show(r.input)}: ${r.reason}`);
    }
  }

  /** A free-form message (stderr; a JSON line with --json). */
  message(text: string): void {
    if (this.mode.json) this.io.stdout.write(JSON.stringify({ message: text }) + '\n');
    else this.line(text);
  }

  /** Print and return the summary. */
  finish(interrupted: boolean): Summary {
    const wallSeconds = (performance.now() - this.started) / 1000;
    const s: Summary = {
      total: this.total,
      ok: this.ok,
      skipped: this.skipped,
      failed: this.failed,
      failures: this.failures,
      wallSeconds,
      imagesPerSecond: wallSeconds > 0 ? this.processed / wallSeconds : 0,
      interrupted,
    };
    if (this.mode.json) {
      this.io.stdout.write(JSON.stringify({ summary: s }) + '\n');
      return s;
    }
    this.clearBar();
    const parts = [`${s.ok} ok`, `${s.skipped} skipped`, `${s.failed} failed`];
    this.io.stderr.write(
      `${interrupted ? 'Interrupted: ' : ''}${parts.join(', ')} of ${s.total} in ${wallSeconds.toFixed(2)} s (${s.imagesPerSecond.toFixed(2)} images/s)\n`,
    );
    if (s.failures.length > 0) {
      this.io.stderr.write('Failed:\n');
      for (const f of s.failures) this.io.stderr.write(`  ${f.input}: ${f.reason}\n`);
    }
    return s;
  }

  private show(p: string): string {
    const rel = path.relative(this.mode.cwd, p);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
  }

  private line(text: string): void {
    this.clearBar();
    this.io.stderr.write(text + '\n');
  }

  private clearBar(): void {
    if (this.barShown) {
      this.io.stderr.write('\r\x1b[2K');
      this.barShown = false;
    }
  }

  private bar(): void {
    const done = this.ok + this.skipped + this.failed;
    const secs = (performance.now() - this.started) / 1000;
    const rate = secs > 0 ? this.processed / secs : 0;
    const left = this.total - done;
    const eta = rate > 0 ? left / rate : NaN;
    const width = Math.max(10, Math.min(40, (this.io.stderr.columns ?? 80) - 50));
    const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total}  ${rate.toFixed(2)} img/s  ETA ${formatEta(eta)}`;
    this.io.stderr.write('\r\x1b[2K' + text);
    this.barShown = true;
  }
}

function formatEta(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.round(s % 60);
  return `${m}:${String(sec).padStart(2, '0')}`;
}
