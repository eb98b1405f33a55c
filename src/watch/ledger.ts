/**
 * The ledger of a watched folder: which inputs were processed, with what content and what result. It is what makes
 * `unet watch` process every image exactly once across restarts, including after a crash or SIGKILL.
 *
 * Format: JSON lines in `<outDir>/.unet-watch.jsonl`, one record per processed (or re-verified) input; the last
 * record of a path wins. Every append is fsync'ed before the outputs it names become visible, so the ledger is the
 * commit point of an image:
 *
 *   outputs written under temporary names (fsync) → record appended (fsync) → temporaries renamed to final names
 *
 * A crash before the append leaves only temporaries (removed on the next start) and the image is processed again;
 * a crash after it is completed on the next start by renaming the temporaries the record lists ("roll forward").
 * A crash during the append leaves a torn last line, which is dropped (and truncated away) on open.
 *
 * When the file holds many superseded records it is compacted into a snapshot with temp + rename.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, UnetError } from '../errors.js';
import { writeFileAtomic } from '../pipeline/writers.js';

/** File name of the ledger inside the output folder (hidden: never an input). */
export const LEDGER_FILE = '.unet-watch.jsonl';
/** File name of the lock that keeps two watchers off one output folder. */
export const LOCK_FILE = '.unet-watch.lock';

/** Outcome of one input. */
export type LedgerStatus = 'ok' | 'failed';

/** One line of the ledger. */
export interface LedgerRecord {
  /** Path of the input relative to the watched folder, with `/` separators. */
  readonly path: string;
  /** Size in bytes and modification time of the input when it was read. */
  readonly size: number;
  readonly mtimeMs: number;
  /** SHA-256 of the input's bytes, hex. */
  readonly hash: string;
  readonly status: LedgerStatus;
  /** Outputs, relative to the output folder (status 'ok'). */
  readonly outputs?: readonly string[];
  /** [temporary, final] output names relative to the output folder, renamed once this record is durable. */
  readonly pending?: readonly (readonly [string, string])[];
  /** Why the input failed, and the error code (status 'failed'). */
  readonly reason?: string;
  readonly code?: string;
  /** Folder the input is moved to after this record (--done-dir / --failed-dir), absolute. */
  readonly moveTo?: string;
  /** ISO time of the record. */
  readonly at: string;
}

/** SHA-256 of `data` as hex. */
export function contentHash(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What {@link Ledger.open} found. */
export interface LedgerOpenInfo {
  /** Records read (lines), and distinct inputs. */
  readonly lines: number;
  readonly entries: number;
  /** True if a torn last line (a crash during an append) was dropped. */
  readonly tornTail: boolean;
  /** Unreadable lines in the middle of the file (skipped). */
  readonly badLines: number;
  /** Outputs completed by renaming temporaries of committed records. */
  readonly rolledForward: number;
  /** True if the file was rewritten with one line per input (it held more than 1000 lines, mostly superseded). */
  readonly compacted: boolean;
}

/**
 * Append-only, fsync'ed record of processed inputs.
 */
export class Ledger {
  private readonly records = new Map<string, LedgerRecord>();
  private lines = 0;
  private fh: FileHandle | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    /** The output folder holding the ledger. */
    readonly dir: string,
  ) {}

  /** Path of the ledger file. */
  get file(): string {
    return path.join(this.dir, LEDGER_FILE);
  }

  /** Distinct inputs recorded. */
  get size(): number {
    return this.records.size;
  }

  /**
   * Open (or create) the ledger of `dir`, drop a torn tail, and complete outputs of committed records.
   * @throws {UnetError} ERR_IO when the file cannot be read or written
   */
  static async open(dir: string): Promise<{ ledger: Ledger; info: LedgerOpenInfo }> {
    const ledger = new Ledger(dir);
    const file = ledger.file;
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(file, 'cannot read the ledger', e);
    }
    let tornTail = false;
    let badLines = 0;
    let good = text;
    if (text.length > 0 && !text.endsWith('\n')) {
      // A crash during an append: the last line is incomplete. Drop it; it committed nothing.
      tornTail = true;
      good = text.slice(0, text.lastIndexOf('\n') + 1);
    }
    for (const line of good.split('\n')) {
      if (line.trim() === '') continue;
      const rec = parseRecord(line);
      if (!rec) {
        badLines++;
        continue;
      }
      ledger.records.set(rec.path, rec);
      ledger.lines++;
    }
    try {
      ledger.fh = await open(file, 'a+');
      if (tornTail) {
        await ledger.fh.truncate(Buffer.byteLength(good, 'utf8'));
        await ledger.fh.sync();
      }
    } catch (e) {
      throw ioError(file, 'cannot open the ledger for writing', e);
    }
    let rolledForward = 0;
    for (const rec of ledger.records.values()) {
      for (const [tmp, final] of rec.pending ?? []) {
        const t = path.join(dir, tmp);
        if (!existsSync(t)) continue;
        await rename(t, path.join(dir, final)).then(() => rolledForward++, () => undefined);
      }
    }
    const lines = ledger.lines;
    const compacted = lines > 1000 && lines > 2 * ledger.records.size;
    if (compacted) await ledger.compact();
    return { ledger, info: { lines, entries: ledger.records.size, tornTail, badLines, rolledForward, compacted } };
  }

  /** The latest record of an input (path relative to the watched folder, `/` separators). */
  get(rel: string): LedgerRecord | undefined {
    return this.records.get(rel);
  }

  /** Every current record (latest per input). */
  entries(): IterableIterator<LedgerRecord> {
    return this.records.values();
  }

  /**
   * Append a record and fsync it; resolves once it is durable. Appends are serialized.
   * @throws {UnetError} ERR_IO when the write fails; ERR_CLOSED after close()
   */
  append(rec: LedgerRecord): Promise<void> {
    if (this.closed) return Promise.reject(new UnetError(ErrorCode.CLOSED, `${this.file}: the ledger is closed`));
    const line = JSON.stringify(rec) + '\n';
    const p = this.chain.then(async () => {
      const fh = this.fh!;
      try {
        await fh.appendFile(line, 'utf8');
        await fh.datasync();
      } catch (e) {
        throw ioError(this.file, 'cannot append to the ledger', e);
      }
      this.records.set(rec.path, rec);
      this.lines++;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * Rewrite the ledger with only the latest record of each input (temp + rename, so a crash keeps either the old
   * or the new file).
   */
  async compact(): Promise<void> {
    await this.chain;
    const text = [...this.records.values()].map((r) => JSON.stringify(r) + '\n').join('');
    await writeFileAtomic(this.file, Buffer.from(text, 'utf8'));
    await this.fh?.close();
    this.fh = await open(this.file, 'a+');
    this.lines = this.records.size;
  }

  /** Wait for pending appends and close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    await this.fh?.close();
    this.fh = null;
  }
}

function parseRecord(line: string): LedgerRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (typeof r.path !== 'string' || typeof r.size !== 'number' || typeof r.mtimeMs !== 'number' || typeof r.hash !== 'string') return null;
  if (r.status !== 'ok' && r.status !== 'failed') return null;
  return r as unknown as LedgerRecord;
}

function ioError(file: string, what: string, e: unknown): UnetError {
  const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
  return new UnetError(ErrorCode.IO, `${file}: ${what} (${code})`, { cause: e });
}

/**
 * Take the output folder's lock (a file holding our pid). A lock of a process that is no longer running is taken
 * over. Returns a function that releases it.
 * @throws {UnetError} ERR_IO when another live process holds the lock
 */
export async function lockFolder(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, LOCK_FILE);
  if (heldLocks.has(file)) {
    throw new UnetError(ErrorCode.IO, `${dir}: expected an output folder no other watcher is using but this process (${process.pid}) already watches into it`);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      heldLocks.add(file);
      return async () => {
        heldLocks.delete(file);
        await unlink(file).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(file, 'cannot create the lock file', e);
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new UnetError(ErrorCode.IO, `${dir}: expected an output folder no other watcher is using but process ${pid} holds ${LOCK_FILE}`);
    }
    await unlink(file).catch(() => undefined); // stale: its process is gone
  }
  throw new UnetError(ErrorCode.IO, `${file}: cannot take the lock`);
}

/** Lock files held by this process (a second watcher in the same process is refused too). */
const heldLocks = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
