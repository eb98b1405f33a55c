/**
 * `unet watch` as a real process (node dist/src/cli/main.js) on real folders: SIGKILL in the middle of a batch and
 * a restart (every input gets exactly one output, nothing is processed twice by the ledger or by the log), SIGTERM
 * (exit 0, in-flight images finished, no temporary files), --failed-dir and plain log lines, usage errors, and the
 * TTY status line (in-process, with a fake terminal).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { runWatch, type WatchArgs } from '../src/cli/commands/watch.js';
import { LOCK_FILE } from '../src/watch/ledger.js';
import { ledgerLines, listTree, png, processedCounts, tempDir, tempFiles, waitFor } from './watch.helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MODEL = path.join(ROOT, 'test', 'fixtures', 'models', 'unet_t_c1_b4_d3');

/** Newest modification time of the TypeScript sources under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  // Build when the binary is missing or older than a source (emits even if unrelated files have type errors).
  if (existsSync(BIN) && statSync(BIN).mtimeMs > newestSource(path.join(ROOT, 'src'))) return;
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  expect(existsSync(BIN)).toBe(true);
}, 300_000);

interface Live {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Start `unet watch …` and collect its JSON lines. */
function watch(args: string[]): Live {
  const child = spawn(process.execPath, [BIN, 'watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, stderr: () => err, exit };
}

const okLines = (l: Live): Record<string, unknown>[] => l.lines.filter((x) => x.status === 'ok');

async function inputs(dir: string, n: number, size = 96): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const imgs = await Promise.all([0, 1, 2].map((s) => png(size, size, s + 20)));
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `img${String(i).padStart(3, '0')}.png`;
    writeFileSync(path.join(dir, name), imgs[i % 3]!);
    names.push(name);
  }
  return names;
}

describe('unet watch (process)', () => {
  it('SIGKILL in the middle of a batch, then a restart: every input has exactly one output, none is processed twice', async () => {
    const root = tempDir();
    const input = path.join(root, 'in');
    const outDir = path.join(root, 'out');
    const names = await inputs(input, 60);
    const args = [input, '-o', outDir, '-m', MODEL, '--settle', '200', '--json'];

    const first = watch(args);
    await waitFor(() => okLines(first).length >= 8, '8 results of the first run', 60_000);
    first.child.kill('SIGKILL');
    expect(await first.exit).toBe(null);
    const firstOk = okLines(first).length;
    expect(firstOk).toBeLessThan(60); // really killed mid-batch
    expect(existsSync(path.join(outDir, LOCK_FILE))).toBe(true); // left behind by the killed process

    const second = watch(args);
    await waitFor(() => second.lines.some((x) => 'watching' in x), 'the restart', 30_000);
    await waitFor(() => processedCounts(outDir).size === 60 && listTree(outDir).filter((f) => f.endsWith('.mask.png')).length === 60, 'all 60', 60_000);
    await new Promise((r) => setTimeout(r, 400));
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);

    // By the ledger: one processing per input.
    const counts = processedCounts(outDir);
    expect([...counts.keys()].sort()).toEqual(names);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // By the log: no input reported twice across the two runs.
    const logged = [...okLines(first), ...okLines(second)].map((x) => path.basename(String(x.input)));
    expect(new Set(logged).size).toBe(logged.length);
    expect(logged.length).toBeGreaterThanOrEqual(60 - 2); // at most the in-flight images of the kill went unlogged
    // Outputs: exactly one per input, no temporary files, and the lock is gone.
    expect(listTree(outDir).filter((f) => f.endsWith('.mask.png')).sort()).toEqual(names.map((n) => n.replace('.png', '.mask.png')));
    expect(tempFiles(outDir)).toEqual([]);
    expect(existsSync(path.join(outDir, LOCK_FILE))).toBe(false);
    const summary = second.lines.find((x) => 'summary' in x)!.summary as Record<string, number>;
    expect(summary.ok + firstOk).toBeGreaterThanOrEqual(58);
  }, 120_000);

  it('SIGTERM: stops accepting, finishes the images in flight, flushes the ledger, exit 0, no temporary files', async () => {
    const root = tempDir();
    const input = path.join(root, 'in');
    const outDir = path.join(root, 'out');
    await inputs(input, 40);
    const live = watch([input, '-o', outDir, '-m', MODEL, '--settle', '200', '--json']);
    await waitFor(() => okLines(live).length >= 3, '3 results', 60_000);
    live.child.kill('SIGTERM');
    expect(await live.exit).toBe(0);
    const summary = live.lines.at(-1)!.summary as Record<string, unknown>;
    expect(summary).toMatchObject({ signal: 'SIGTERM', failed: 0 });
    expect(summary.ok).toBe(okLines(live).length);
    expect(summary.ok).toBeLessThan(40);
    expect(tempFiles(outDir)).toEqual([]);
    expect(existsSync(path.join(outDir, LOCK_FILE))).toBe(false);
    // Every committed record has its outputs, and every output has a record.
    const recs = ledgerLines(outDir);
    expect(recs).toHaveLength(summary.ok as number);
    for (const r of recs) for (const o of r.outputs!) expect(existsSync(path.join(outDir, o))).toBe(true);
    expect(listTree(outDir).filter((f) => f.endsWith('.mask.png'))).toHaveLength(recs.length);
  }, 90_000);

  it('plain log lines; a corrupt file is reported and moved to --failed-dir with its reason; new files keep coming', async () => {
    const root = tempDir();
    const input = path.join(root, 'in');
    mkdirSync(input);
    writeFileSync(path.join(input, 'good.png'), await png(30, 20));
    const live = watch([input, '-o', path.join(root, 'out'), '-m', MODEL, '--settle', '200', '--failed-dir', path.join(root, 'failed'), '--output', 'mask,prob']);
    await waitFor(() => live.stderr().includes('ok      '), 'the first result', 30_000);
    writeFileSync(path.join(input, 'corrupt.jpg'), Buffer.from('not a JPEG at all'));
    await waitFor(() => live.stderr().includes('failed  '), 'the failure', 30_000);
    live.child.kill('SIGINT');
    expect(await live.exit).toBe(0);
    const err = live.stderr();
    expect(err).toMatch(/^Watching .*in → .*out \(Ctrl-C to stop\)$/m);
    expect(err).toMatch(/^ok {6}.*good\.png \(30×20, coverage/m);
    expect(err).toMatch(/^failed {2}.*corrupt\.jpg: .*image/m);
    expect(err).toMatch(/^Stopped: 1 ok, 1 failed, 0 unchanged in [\d.]+ s$/m);
    expect(listTree(path.join(root, 'out')).filter((f) => !f.startsWith('.'))).toEqual(['good.mask.png', 'good.prob.png']);
    expect(existsSync(path.join(input, 'corrupt.jpg'))).toBe(false);
    expect(readFileSync(path.join(root, 'failed', 'corrupt.jpg.error.txt'), 'utf8')).toMatch(/image/);
  }, 60_000);

  it.each([
    [['nope', '-o', 'out'], /cannot watch nope: .*expected inputDir to be an existing folder/],
    [['.', '-o', 'out', '--settle', '-1'], /Expected --settle to be an integer number of ms in \[0, 600000\] but received -1/],
    [['.', '-o', 'out', '--output', 'heatmap'], /Expected --output to be a comma-separated list of mask, prob, classes, overlay, cutout but received "heatmap"/],
    [['.', '-o', '.'], /Expected a folder that is not the watched folder .* for outDir/],
    [['.'], /Missing required argument: o|out-dir/],
  ])('usage error %j: exit 2', (args, re) => {
    const cwd = tempDir();
    const r = spawnSync(process.execPath, [BIN, 'watch', ...args, '-m', MODEL], { cwd, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(re);
  }, 60_000);
});

describe('unet watch on a terminal', () => {
  it('draws a status line on stderr, prints failures above it, and stops on the signal hook with exit 0', async () => {
    const root = tempDir();
    const input = path.join(root, 'in');
    mkdirSync(input);
    writeFileSync(path.join(input, 'a.png'), await png());
    writeFileSync(path.join(input, 'b.jpg'), 'broken');
    const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    const stdout = new PassThrough();
    let err = '';
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    let stop: ((sig: string) => void) | null = null;
    const args = {
      inputDir: 'in', outDir: 'out', recursive: false, ignoreExisting: false, settle: 150, poll: false, model: MODEL, workers: 1,
      output: ['mask'], resize: 'model', padMode: 'reflect', maxPixels: 1e8, probBits: 8, precision: 'fast', overlayFormat: 'jpg', json: false, quiet: false,
    } as WatchArgs;
    const done = runWatch(args, { stdout, stderr, cwd: root, onStop: (s) => ((stop = s), () => undefined) });
    await waitFor(() => err.includes('watching: 1 ok, 1 failed'), 'the status line', 30_000);
    stop!('SIGINT');
    expect(await done).toBe(0);
    expect(err).toMatch(/\r\x1b\[2Kwatching: \d+ ok, \d+ failed, \d+ unchanged, \d+ queued, \d+ in flight/);
    expect(err).toContain('\r\x1b[2Kwatching: 1 ok, 1 failed, 0 unchanged, 0 queued, 0 in flight');
    expect(err).toMatch(/failed {2}in\/b\.jpg: /);
    expect(err).not.toMatch(/^ok /m); // successes only move the status line
    expect(err).toMatch(/Stopped: 1 ok, 1 failed, 0 unchanged/);
  }, 60_000);
});
