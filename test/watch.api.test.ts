/**
 * watchFolder: real folders, a real chokidar watcher and a tiny U-Net. What is processed (existing, new, renamed
 * in, slowly written, bursts), what is ignored, the outputs (identical to `unet segment`'s), the ledger across
 * restarts (unchanged, touched, changed, torn tail, crash between commit and rename), --done-dir/--failed-dir,
 * the lock, the async iterator and option validation.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline } from '../src/pipeline/pipeline.js';
import { encodeOutput, outputFileName } from '../src/pipeline/writers.js';
import { LEDGER_FILE, LOCK_FILE, Ledger, contentHash } from '../src/watch/ledger.js';
import { resolveWatchOptions, watchFolder, type FolderWatcher, type WatchEvent, type WatchOptions } from '../src/watch/watch.js';
import { tinyUnet } from './pipeline.helpers.js';
import { ledgerLines, listTree, png, processedCounts, tempDir, tempFiles, waitFor } from './watch.helpers.js';

const model = tinyUnet();
const open_: FolderWatcher[] = [];

async function start(input: string, options: Partial<WatchOptions> & { outDir: string }): Promise<{ w: FolderWatcher; events: WatchEvent[] }> {
  const w = await watchFolder(input, { model, settleMs: 250, pollMs: 50, ...options });
  open_.push(w);
  const events: WatchEvent[] = [];
  w.on('result', (e) => events.push(e));
  return { w, events };
}

afterEach(async () => {
  for (const w of open_.splice(0)) await w.close();
});

describe('watchFolder: what is processed', () => {
  it('files present at start, then new ones; outputs equal a direct segment + encode (the `unet segment` writer)', async () => {
    const root = tempDir();
    const input = path.join(root, 'in');
    const outDir = path.join(root, 'out');
    mkdirSync(input);
    writeFileSync(path.join(input, 'a.png'), await png(40, 30, 1));
    writeFileSync(path.join(input, 'b.png'), await png(33, 21, 2));
    const { w, events } = await start(input, { outDir });
    await waitFor(() => events.length === 2, 'the two existing files');
    writeFileSync(path.join(input, 'c.png'), await png(17, 19, 3));
    await waitFor(() => events.length === 3, 'the new file');
    await w.idle();
    expect(events.map((e) => e.rel).sort()).toEqual(['a.png', 'b.png', 'c.png']);
    expect(events.every((e) => e.status === 'ok')).toBe(true);
    expect(listTree(outDir)).toEqual([LEDGER_FILE, LOCK_FILE, 'a.mask.png', 'b.mask.png', 'c.mask.png']);

    const p = await createPipeline({ model });
    const r = await p.segment(path.join(input, 'b.png'));
    const bytes = await encodeOutput('mask', r, { probBits: 8, overlayFormat: 'jpg', overlayOpacity: 0.5, output: p.meta.output, classes: p.classes });
    await p.close();
    expect(Buffer.compare(readFileSync(path.join(outDir, outputFileName('b', 'mask', 'jpg'))), bytes)).toBe(0);
    const b = events.find((e) => e.rel === 'b.png')!;
    expect([b.width, b.height]).toEqual([33, 21]);
    expect(w.stats()).toMatchObject({ ok: 3, failed: 0, queued: 0, inFlight: 0 });
  });

  it('ignores hidden files, temporary outputs, non-image extensions and a nested output folder; a bad image with an image extension fails', async () => {
    const input = tempDir();
    const outDir = path.join(input, 'masks'); // nested on purpose
    writeFileSync(path.join(input, '.hidden.png'), await png());
    writeFileSync(path.join(input, '.x.mask.png.unet-tmp-1-1'), await png());
    writeFileSync(path.join(input, 'notes.txt'), 'not an image\n');
    writeFileSync(path.join(input, 'broken.jpg'), 'this is no JPEG\n');
    writeFileSync(path.join(input, 'ok.png'), await png());
    const { w, events } = await start(input, { outDir, recursive: true });
    await waitFor(() => events.length === 2, 'ok.png and broken.jpg');
    // Our own outputs appear inside the watched tree; none of them may come back as an input.
    await new Promise((r) => setTimeout(r, 600));
    await w.idle();
    expect(events.map((e) => [e.rel, e.status]).sort()).toEqual([['broken.jpg', 'failed'], ['ok.png', 'ok']]);
    const bad = events.find((e) => e.rel === 'broken.jpg')!;
    expect(bad.code).toBe('ERR_IMAGE');
    expect(bad.reason).toMatch(/image/);
    expect(listTree(outDir).filter((f) => !f.startsWith('.'))).toEqual(['ok.mask.png']);
  });

  it('a file written in chunks over 2 s is processed once, after it is complete', async () => {
    const input = tempDir();
    const outDir = tempDir();
    const { w, events } = await start(input, { outDir, settleMs: 600 });
    const data = await png(120, 90, 5);
    const fh = await open(path.join(input, 'slow.png'), 'w');
    const chunks = 10;
    const step = Math.ceil(data.length / chunks);
    for (let i = 0; i < chunks; i++) {
      await fh.write(data.subarray(i * step, (i + 1) * step));
      await fh.sync();
      await new Promise((r) => setTimeout(r, 200));
    }
    await fh.close();
    await waitFor(() => events.length >= 1, 'the slow file', 10_000);
    await new Promise((r) => setTimeout(r, 800)); // a second event would come within the settle time
    await w.idle();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ rel: 'slow.png', status: 'ok', width: 120, height: 90 });
    const rec = ledgerLines(outDir);
    expect(rec).toHaveLength(1);
    expect(rec[0]).toMatchObject({ path: 'slow.png', size: data.length, hash: contentHash(data), status: 'ok' });
  });

  it('a burst of 500 files is all processed, each once, with at most `concurrency` in flight', async () => {
    const input = tempDir();
    const outDir = tempDir();
    const { w, events } = await start(input, { outDir, concurrency: 2, settleMs: 200 });
    let maxInFlight = 0;
    w.on('result', () => (maxInFlight = Math.max(maxInFlight, w.stats().inFlight)));
    const imgs = await Promise.all([0, 1, 2, 3].map((s) => png(16, 16, s + 10)));
    await Promise.all(Array.from({ length: 500 }, (_, i) => writeFile(path.join(input, `f${String(i).padStart(3, '0')}.png`), imgs[i % 4]!)));
    await waitFor(() => events.length >= 500, '500 results', 60_000);
    await w.idle();
    expect(events).toHaveLength(500);
    expect(new Set(events.map((e) => e.rel)).size).toBe(500);
    expect(events.every((e) => e.status === 'ok')).toBe(true);
    expect(maxInFlight).toBeLessThanOrEqual(2);
    expect(listTree(outDir).filter((f) => f.endsWith('.mask.png'))).toHaveLength(500);
    expect([...processedCounts(outDir).values()].every((n) => n === 1)).toBe(true);
  }, 90_000);

  it('without `concurrency`, at most as many images are in flight as the pipeline has workers (workers: 1)', async () => {
    const input = tempDir();
    const outDir = tempDir();
    const { w, events } = await start(input, { outDir, settleMs: 200, workers: 1 });
    let maxInFlight = 0;
    w.on('result', () => (maxInFlight = Math.max(maxInFlight, w.stats().inFlight)));
    const img = await png(16, 16, 20);
    await Promise.all(Array.from({ length: 40 }, (_, i) => writeFile(path.join(input, `g${String(i).padStart(2, '0')}.png`), img)));
    await waitFor(() => events.length >= 40, '40 results', 60_000);
    await w.idle();
    expect(events).toHaveLength(40);
    expect(events.every((e) => e.status === 'ok')).toBe(true);
    expect(maxInFlight).toBe(1);
  }, 90_000);

  it('a file renamed into the folder is picked up', async () => {
    const root = tempDir();
    const input = path.join(root, 'in');
    const outside = path.join(root, 'staging');
    mkdirSync(input);
    mkdirSync(outside);
    const { events } = await start(input, { outDir: path.join(root, 'out') });
    writeFileSync(path.join(outside, 'moved.png'), await png(20, 20, 4));
    renameSync(path.join(outside, 'moved.png'), path.join(input, 'moved.png'));
    await waitFor(() => events.length === 1, 'the renamed file');
    expect(events[0]).toMatchObject({ rel: 'moved.png', status: 'ok' });
  });

  it('--recursive mirrors subfolders; without it subfolders are left alone', async () => {
    const input = tempDir();
    mkdirSync(path.join(input, 'sub', 'deep'), { recursive: true });
    writeFileSync(path.join(input, 'top.png'), await png());
    writeFileSync(path.join(input, 'sub', 'deep', 'x.png'), await png(20, 16, 2));
    const flat = await start(input, { outDir: tempDir() });
    await waitFor(() => flat.events.length === 1, 'top.png');
    await new Promise((r) => setTimeout(r, 500));
    expect(flat.events.map((e) => e.rel)).toEqual(['top.png']);
    await flat.w.close();

    const outDir = tempDir();
    const rec = await start(input, { outDir, recursive: true });
    await waitFor(() => rec.events.length === 2, 'both files');
    expect(rec.events.map((e) => e.rel).sort()).toEqual(['sub/deep/x.png', 'top.png']);
    expect(existsSync(path.join(outDir, 'sub', 'deep', 'x.mask.png'))).toBe(true);
  });

  it('--ignore-existing leaves files present at start alone', async () => {
    const input = tempDir();
    writeFileSync(path.join(input, 'old.png'), await png());
    const { events } = await start(input, { outDir: tempDir(), ignoreExisting: true });
    writeFileSync(path.join(input, 'new.png'), await png(18, 18, 3));
    await waitFor(() => events.length === 1, 'new.png');
    await new Promise((r) => setTimeout(r, 500));
    expect(events.map((e) => e.rel)).toEqual(['new.png']);
  });

  it('a file changed while watched is processed again; rewritten with the same bytes it is not', async () => {
    const input = tempDir();
    const outDir = tempDir();
    const { w, events } = await start(input, { outDir, ignoreExisting: true });
    let unchanged = 0;
    w.on('unchanged', () => unchanged++);
    const file = path.join(input, 'a.png');
    writeFileSync(file, await png(20, 20, 1));
    await waitFor(() => events.length === 1, 'the first version');
    writeFileSync(file, await png(28, 20, 2));
    await waitFor(() => events.length === 2, 'the changed version');
    expect(events[1]).toMatchObject({ rel: 'a.png', status: 'ok', width: 28 });
    writeFileSync(file, await png(28, 20, 2));
    await waitFor(() => unchanged === 1, 'the same bytes recognized');
    expect(events).toHaveLength(2);
    expect(Object.fromEntries(processedCounts(outDir))).toEqual({ 'a.png': 2 });
  });

  it('the async iterator yields each result and ends on close()', async () => {
    const input = tempDir();
    writeFileSync(path.join(input, 'one.png'), await png());
    writeFileSync(path.join(input, 'two.png'), await png(20, 20, 2));
    const { w } = await start(input, { outDir: tempDir() });
    const seen: string[] = [];
    for await (const e of w) {
      seen.push(e.rel);
      if (seen.length === 2) void w.close();
    }
    expect(seen.sort()).toEqual(['one.png', 'two.png']);
  });
});

describe('watchFolder: --done-dir and --failed-dir', () => {
  it('moves inputs after success, and failures with a .error.txt giving the reason', async () => {
    const root = tempDir();
    const input = path.join(root, 'in');
    mkdirSync(path.join(input, 'sub'), { recursive: true });
    writeFileSync(path.join(input, 'good.png'), await png());
    writeFileSync(path.join(input, 'sub', 'bad.png'), Buffer.concat([(await png()).subarray(0, 30), Buffer.alloc(100, 7)]));
    const doneDir = path.join(root, 'done');
    const failedDir = path.join(root, 'failed');
    const { events } = await start(input, { outDir: path.join(root, 'out'), recursive: true, doneDir, failedDir });
    await waitFor(() => events.length === 2, 'both files');
    const good = events.find((e) => e.rel === 'good.png')!;
    const bad = events.find((e) => e.rel === 'sub/bad.png')!;
    expect(good).toMatchObject({ status: 'ok', movedTo: path.join(doneDir, 'good.png') });
    expect(bad).toMatchObject({ status: 'failed', code: 'ERR_IMAGE', movedTo: path.join(failedDir, 'sub', 'bad.png') });
    expect(existsSync(path.join(input, 'good.png'))).toBe(false);
    expect(existsSync(path.join(input, 'sub', 'bad.png'))).toBe(false);
    expect(existsSync(path.join(doneDir, 'good.png'))).toBe(true);
    const why = readFileSync(path.join(failedDir, 'sub', 'bad.png.error.txt'), 'utf8');
    expect(why).toContain(path.join(input, 'sub', 'bad.png'));
    expect(why).toContain(bad.reason!);
    expect(existsSync(path.join(root, 'out', 'good.mask.png'))).toBe(true);
  });
});

describe('watchFolder: exactly once across restarts (the ledger)', () => {
  it('a restart skips unchanged and touched-but-identical files, and processes changed and new ones', async () => {
    const input = tempDir();
    const outDir = tempDir();
    for (const [n, s] of [['a', 1], ['b', 2], ['c', 3]] as const) writeFileSync(path.join(input, `${n}.png`), await png(20, 20, s));
    const first = await start(input, { outDir });
    await waitFor(() => first.events.length === 3, 'the first run');
    await first.w.close();

    writeFileSync(path.join(input, 'b.png'), await png(26, 20, 9)); // changed content
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(input, 'c.png'), later, later); // touched, same bytes
    writeFileSync(path.join(input, 'd.png'), await png(20, 20, 4)); // new
    const second = await start(input, { outDir });
    let unchanged = 0;
    second.w.on('unchanged', () => unchanged++);
    await waitFor(() => second.events.length === 2 && unchanged === 2, 'the second run');
    await second.w.idle();

    expect(second.w.ledgerInfo).toMatchObject({ entries: 3, tornTail: false });
    expect(second.events.map((e) => e.rel).sort()).toEqual(['b.png', 'd.png']);
    expect(second.events.find((e) => e.rel === 'b.png')!.width).toBe(26);
    expect(Object.fromEntries(processedCounts(outDir))).toEqual({ 'a.png': 1, 'b.png': 2, 'c.png': 1, 'd.png': 1 });
  });

  it('an output deleted since is produced again; a failed input is not retried until it changes', async () => {
    const input = tempDir();
    const outDir = tempDir();
    writeFileSync(path.join(input, 'a.png'), await png());
    writeFileSync(path.join(input, 'bad.png'), 'nope');
    const first = await start(input, { outDir });
    await waitFor(() => first.events.length === 2, 'the first run');
    await first.w.close();
    const { rmSync } = await import('node:fs');
    rmSync(path.join(outDir, 'a.mask.png'));
    const second = await start(input, { outDir });
    await waitFor(() => second.events.length === 1, 'the missing output');
    await new Promise((r) => setTimeout(r, 500));
    expect(second.events.map((e) => [e.rel, e.status])).toEqual([['a.png', 'ok']]);
    expect(existsSync(path.join(outDir, 'a.mask.png'))).toBe(true);
  });

  it('an output kind added since is produced at the restart (the skip rule of `unet segment`: all outputs exist)', async () => {
    const input = tempDir();
    const outDir = tempDir();
    writeFileSync(path.join(input, 'a.png'), await png());
    const first = await start(input, { outDir });
    await waitFor(() => first.events.length === 1, 'the first run');
    await first.w.close();
    const second = await start(input, { outDir, outputs: ['mask', 'prob'] });
    await waitFor(() => second.events.length === 1, 'the added kind');
    expect(second.events[0]!.outputs!.map((f) => path.basename(f))).toEqual(['a.mask.png', 'a.prob.png']);
    await second.w.close();
    const third = await start(input, { outDir, outputs: ['prob'] });
    let unchanged = 0;
    third.w.on('unchanged', () => unchanged++);
    await waitFor(() => unchanged === 1, 'nothing to do');
    expect(third.events).toHaveLength(0);
  });

  it('an output folder that cannot be written fails the image without a record: the next start tries it again', async () => {
    const input = tempDir();
    const outDir = tempDir();
    mkdirSync(path.join(input, 'sub'));
    writeFileSync(path.join(input, 'sub', 'x.png'), await png());
    writeFileSync(path.join(outDir, 'sub'), 'a file where the mirrored folder should be');
    const first = await start(input, { outDir, recursive: true, failedDir: path.join(tempDir(), 'failed') });
    await waitFor(() => first.events.length === 1, 'the failure');
    expect(first.events[0]).toMatchObject({ rel: 'sub/x.png', status: 'failed', code: 'ERR_IO' });
    expect(first.events[0]!.reason).toMatch(/cannot create the output folder \((EEXIST|ENOTDIR)\)/);
    expect(first.events[0]!.movedTo).toBeUndefined();
    expect(existsSync(path.join(input, 'sub', 'x.png'))).toBe(true);
    expect(ledgerLines(outDir)).toEqual([]);
    await first.w.close();
    const { rmSync } = await import('node:fs');
    rmSync(path.join(outDir, 'sub'));
    const second = await start(input, { outDir, recursive: true });
    await waitFor(() => second.events.length === 1, 'the retry');
    expect(second.events[0]).toMatchObject({ rel: 'sub/x.png', status: 'ok' });
  });

  it('a torn last line (crash during an append) is dropped and truncated; the record it held is redone', async () => {
    const input = tempDir();
    const outDir = tempDir();
    writeFileSync(path.join(input, 'a.png'), await png());
    writeFileSync(path.join(input, 'b.png'), await png(20, 20, 2));
    const first = await start(input, { outDir });
    await waitFor(() => first.events.length === 2, 'the first run');
    await first.w.close();
    const file = path.join(outDir, LEDGER_FILE);
    const text = readFileSync(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    const torn = lines[1]!.slice(0, Math.floor(lines[1]!.length / 2));
    writeFileSync(file, `${lines[0]}\n${torn}`);
    const lost = (JSON.parse(lines[1]!) as { path: string }).path;

    const second = await start(input, { outDir });
    await waitFor(() => second.events.length === 1, 'the lost record redone');
    expect(second.w.ledgerInfo).toMatchObject({ tornTail: true, entries: 1 });
    expect(second.events[0]!.rel).toBe(lost);
    await second.w.close();
    const after = readFileSync(file, 'utf8');
    expect(after.startsWith(`${lines[0]}\n{`)).toBe(true);
    expect(after.endsWith('\n')).toBe(true);
    expect(ledgerLines(outDir)).toHaveLength(2);
  });

  it('a crash between the commit and the renames is completed on start (roll forward), not processed again', async () => {
    const input = tempDir();
    const outDir = tempDir();
    const data = await png(20, 20, 6);
    writeFileSync(path.join(input, 'a.png'), data);
    const st = (await import('node:fs')).statSync(path.join(input, 'a.png'));
    const tmp = '.a.mask.png.unet-tmp-999999-1';
    writeFileSync(path.join(outDir, tmp), 'committed bytes');
    const { ledger } = await Ledger.open(outDir);
    await ledger.append({
      path: 'a.png', size: data.length, mtimeMs: st.mtimeMs, hash: contentHash(data), status: 'ok',
      outputs: ['a.mask.png'], pending: [[tmp, 'a.mask.png']], at: new Date().toISOString(),
    });
    await ledger.close();

    const { w, events } = await start(input, { outDir });
    let unchanged = 0;
    w.on('unchanged', () => unchanged++);
    expect(w.ledgerInfo.rolledForward).toBe(1);
    await waitFor(() => unchanged === 1, 'a.png found unchanged');
    expect(events).toHaveLength(0);
    expect(readFileSync(path.join(outDir, 'a.mask.png'), 'utf8')).toBe('committed bytes');
    expect(tempFiles(outDir)).toEqual([]);
  });

  it('a ledger of mostly superseded lines is compacted on open to one line per input (temp + rename)', async () => {
    const outDir = tempDir();
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) {
      lines.push(JSON.stringify({ path: `f${i % 10}.png`, size: i, mtimeMs: i, hash: 'h' + i, status: 'ok', outputs: [], at: String(i) }));
    }
    writeFileSync(path.join(outDir, LEDGER_FILE), lines.join('\n') + '\n');
    const { ledger, info } = await Ledger.open(outDir);
    expect(info).toMatchObject({ lines: 1500, entries: 10, tornTail: false, badLines: 0, compacted: true });
    expect(ledger.get('f3.png')).toMatchObject({ size: 1493, hash: 'h1493' });
    await ledger.append({ path: 'new.png', size: 1, mtimeMs: 1, hash: 'x', status: 'failed', reason: 'r', at: 'now' });
    await ledger.close();
    const after = ledgerLines(outDir);
    expect(after).toHaveLength(11);
    expect(after.find((r) => r.path === 'f3.png')).toMatchObject({ size: 1493 });
    expect(tempFiles(outDir)).toEqual([]);
  });

  it('two watchers cannot share an output folder; the lock is released by close()', async () => {
    const input = tempDir();
    const outDir = tempDir();
    const { w } = await start(input, { outDir });
    await expect(watchFolder(input, { model, outDir })).rejects.toMatchObject({
      code: 'ERR_IO',
      message: expect.stringMatching(new RegExp(`process ${process.pid}|no other watcher`)),
    });
    await w.close();
    const again = await start(input, { outDir });
    expect(again.w.stats().ok).toBe(0);
  });
});

describe('watchFolder: option validation', () => {
  const input = tempDir();
  it.each([
    [{}, TypeError, 'ERR_INVALID_ARG_TYPE', /Expected an output folder path for outDir but received undefined/],
    [{ outDir: input }, RangeError, 'ERR_INVALID_ARG_VALUE', /Expected a folder that is not the watched folder .* for outDir/],
    [{ outDir: 'x', doneDir: path.dirname(input) }, RangeError, 'ERR_INVALID_ARG_VALUE', /nor one of its parents for doneDir/],
    [{ outDir: 'x', failedDir: 'x' }, RangeError, 'ERR_INVALID_ARG_VALUE', /a folder other than outDir .* for failedDir/],
    [{ outDir: 'x', concurrency: 0 }, RangeError, 'ERR_INVALID_ARG_VALUE', /Expected an integer in \[1, 1024\] for concurrency but received 0/],
    [{ outDir: 'x', settleMs: -1 }, RangeError, 'ERR_INVALID_ARG_VALUE', /settleMs but received -1/],
    [{ outDir: 'x', recursive: 'yes' }, TypeError, 'ERR_INVALID_ARG_TYPE', /Expected a boolean for recursive but received "yes"/],
  ])('%j is refused', (o, cls, code, re) => {
    let err: unknown;
    try {
      resolveWatchOptions(input, o);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toMatch(re);
  });
  it('a missing input folder is ERR_IO naming it', async () => {
    const missing = path.join(input, 'nope');
    await expect(watchFolder(missing, { model, outDir: tempDir() })).rejects.toMatchObject({
      code: 'ERR_IO',
      message: expect.stringContaining(`expected inputDir to be an existing folder but received ${missing} (missing)`),
    });
  });
  it('defaults', () => {
    expect(resolveWatchOptions('in', { outDir: 'out' })).toEqual({
      inputDir: path.resolve('in'), outDir: path.resolve('out'), recursive: false, ignoreExisting: false, doneDir: null, failedDir: null,
      concurrency: null, settleMs: 1000, pollMs: 100, usePolling: false,
    });
  });
});
