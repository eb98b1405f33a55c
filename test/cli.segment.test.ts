/**
 * `unet segment` end to end through the built binary (node dist/src/cli/main.js) on a generated tree: nested
 * folders, PNG/JPEG/WebP/TIFF, grayscale, RGBA, 16-bit, EXIF-rotated, corrupt/truncated/empty/non-image and
 * oversized files; exit codes, mirrored tree, --json lines, skip/overwrite, atomic writes, SIGINT and SIGKILL.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../src/pipeline/png.js';
import { encodePicture, encodeTiff16, pictureRgb } from './pipeline.helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MODEL = path.join(ROOT, 'test', 'fixtures', 'models', 'unet_t_c1_b4_d3');
let work: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function unet(args: string[], cwd = work): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

/** Input tree: name -> expected (width, height) after EXIF, or null for files that must fail. */
const expected: Record<string, [number, number] | null> = {};

beforeAll(async () => {
  // Build once (emits even if unrelated files have type errors; the binary must exist afterwards).
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  expect(existsSync(BIN)).toBe(true);

  work = mkdtempSync(path.join(tmpdir(), 'unet-cli-'));
  const tree = path.join(work, 'tree');
  const put = async (rel: string, data: Buffer | Promise<Buffer>, size: [number, number] | null): Promise<void> => {
    const file = path.join(tree, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, await data);
    expected[rel] = size;
  };
  const raw = (w: number, h: number) => sharp(pictureRgb(w, h), { raw: { width: w, height: h, channels: 3 } });
  await put('a.png', encodePicture(64, 48, 'png'), [64, 48]);
  await put('gray.png', raw(33, 27).toColourspace('b-w').png().toBuffer(), [33, 27]);
  await put('rgba.png', raw(40, 30).ensureAlpha(0.5).png().toBuffer(), [40, 30]);
  await put('rotated.jpg', raw(40, 24).jpeg().withMetadata({ orientation: 6 }).toBuffer(), [24, 40]);
  await put('nested/deep/c.webp', encodePicture(50, 35, 'webp'), [50, 35]);
  await put('nested/d.tif', encodePicture(45, 37, 'tiff'), [45, 37]);
  const d16 = new Uint16Array(31 * 29).map((_, i) => (i * 997) % 65536);
  await put('nested/e16.tif', encodeTiff16(31, 29, d16), [31, 29]);
  await put('nested/f16.png', encodePng({ width: 31, height: 29, color: 'gray', bitDepth: 16, data: d16 }), [31, 29]);
  const png = await encodePicture(64, 64, 'png');
  await put('bad/truncated.png', png.subarray(0, png.length >> 1), null);
  await put('bad/empty.png', Buffer.alloc(0), null);
  await put('bad/notes.jpg', Buffer.from('these are notes, not a JPEG\n'), null);
  await put('bad/corrupt.png', Buffer.concat([png.subarray(0, 40), Buffer.alloc(200, 0x5a)]), null);
  await put('bad/huge.png', encodePicture(120, 90, 'png'), null); // above --max-pixels 10000
  writeFileSync(path.join(tree, 'README.txt'), 'not an image extension: never an input of a folder\n');
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const ALL = 'mask,prob,classes,overlay,cutout';

describe('unet segment on a mixed tree', () => {
  let first: Run;
  let lines: Record<string, unknown>[];

  beforeAll(() => {
    first = unet(['segment', 'tree', '-r', '-o', 'out', '--model', MODEL, '--output', ALL, '--max-pixels', '10000', '--json']);
    lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  });

  it('exits 1 and names exactly the bad files with their reasons', () => {
    expect(first.code).toBe(1);
    const failed = lines.filter((l) => l.status === 'failed').map((l) => path.relative(path.join(work, 'tree'), l.input as string)).sort();
    expect(failed).toEqual(Object.keys(expected).filter((k) => expected[k] === null).sort());
    const reason = (name: string): string => lines.find((l) => (l.input as string).endsWith(name))!.reason as string;
    expect(reason('empty.png')).toMatch(/empty \(0 bytes\)/);
    expect(reason('notes.jpg')).toMatch(/not a readable image/);
    expect(reason('truncated.png')).toMatch(/corrupt or truncated|not a readable image/);
    expect(reason('huge.png')).toMatch(/120×90 = 10,800 pixels, more than the limit of 10,000.*--max-pixels/);
  });

  it('--json prints one parseable line per input and a summary line', () => {
    const items = lines.filter((l) => 'status' in l);
    expect(items).toHaveLength(Object.keys(expected).length);
    const summary = lines.at(-1)!.summary as Record<string, number>;
    expect(summary).toMatchObject({ total: 13, ok: 8, skipped: 0, failed: 5 });
    expect(summary.imagesPerSecond).toBeGreaterThan(0);
  });

  it('mirrors the tree and writes every output at the input size (after EXIF)', async () => {
    for (const [rel, size] of Object.entries(expected)) {
      if (!size) continue;
      const stem = rel.replace(/\.[^.]+$/, '');
      for (const kind of ALL.split(',')) {
        const file = path.join(work, 'out', `${stem}.${kind}.${kind === 'overlay' ? 'jpg' : 'png'}`);
        const meta = await sharp(file).metadata();
        expect([rel, kind, meta.width, meta.height]).toEqual([rel, kind, size[0], size[1]]);
      }
    }
    expect(existsSync(path.join(work, 'out', 'nested', 'deep', 'c.mask.png'))).toBe(true);
  });

  it('formats: mask 8-bit gray 0/255, classes indexed, overlay JPEG, cutout RGBA with the mask as alpha', async () => {
    const out = path.join(work, 'out');
    expect(await sharp(path.join(out, 'a.mask.png')).metadata()).toMatchObject({ channels: 1, depth: 'uchar' });
    const mask = await sharp(path.join(out, 'a.mask.png')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(new Set(mask.data).size).toBeLessThanOrEqual(2);
    expect([...new Set(mask.data)].every((v) => v === 0 || v === 255)).toBe(true);
    expect((await sharp(path.join(out, 'a.classes.png')).metadata()).isPalette).toBe(true);
    expect((await sharp(path.join(out, 'a.overlay.jpg')).metadata()).format).toBe('jpeg');
    const cut = await sharp(path.join(out, 'a.cutout.png')).raw().toBuffer({ resolveWithObject: true });
    expect(cut.info.channels).toBe(4);
    for (let i = 0; i < mask.data.length; i++) expect(cut.data[4 * i + 3]).toBe(mask.data[i]);
    // An image with its own alpha (0.5 here) keeps it: the cutout is transparent where either says so.
    const rgbaMask = await sharp(path.join(out, 'rgba.mask.png')).extractChannel(0).raw().toBuffer();
    const rgbaCut = await sharp(path.join(out, 'rgba.cutout.png')).raw().toBuffer({ resolveWithObject: true });
    expect(rgbaCut.info.channels).toBe(4);
    const ownAlpha = await sharp(path.join(work, 'tree', 'rgba.png')).extractChannel(3).raw().toBuffer();
    expect(ownAlpha[0]).toBeGreaterThan(100);
    expect(ownAlpha[0]).toBeLessThan(150);
    for (let i = 0; i < rgbaMask.length; i++) expect(rgbaCut.data[4 * i + 3]).toBe(rgbaMask[i] ? ownAlpha[i] : 0);
  });

  it('--overlay-format png names the overlay <stem>.overlay.png', async () => {
    const r = unet(['segment', 'tree/a.png', '-o', 'ovl', '--model', MODEL, '--output', 'overlay', '--overlay-format', 'png']);
    expect(r.code).toBe(0);
    expect((await sharp(path.join(work, 'ovl', 'a.overlay.png')).metadata()).format).toBe('png');
  });

  it('leaves no temporary files', () => {
    expect(listFiles(path.join(work, 'out')).filter((f) => f.includes('.unet-tmp-'))).toEqual([]);
  });

  it('a rerun skips what exists and recomputes only with --overwrite', () => {
    const again = unet(['segment', 'tree', '-r', '-o', 'out', '--model', MODEL, '--output', ALL, '--max-pixels', '10000', '--json']);
    const summary = JSON.parse(again.stdout.trim().split('\n').at(-1)!).summary;
    expect(summary).toMatchObject({ ok: 0, skipped: 8, failed: 5 });
    const before = statSync(path.join(work, 'out', 'a.mask.png')).mtimeMs;
    const forced = unet(['segment', 'tree/a.png', '-o', 'out', '--model', MODEL, '--overwrite', '--json']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout.trim().split('\n').at(-1)!).summary).toMatchObject({ ok: 1, skipped: 0 });
    expect(statSync(path.join(work, 'out', 'a.mask.png')).mtimeMs).toBeGreaterThanOrEqual(before);
  });
});

describe('unet segment options and usage', () => {
  it('without --recursive a folder gives only its own images; plain log lines and a summary on stderr; exit 0', () => {
    const r = unet(['segment', 'tree', '-o', 'flat', '--model', MODEL]);
    expect(r.code).toBe(0);
    expect(listFiles(path.join(work, 'flat'))).toEqual(['a.mask.png', 'gray.mask.png', 'rgba.mask.png', 'rotated.mask.png']);
    expect(r.stderr).toMatch(/^ok {6}tree\/a\.png \(64×48, coverage [\d.]+%, [\d.]+ s\)$/m);
    expect(r.stderr).toMatch(/4 ok, 0 skipped, 0 failed of 4 in [\d.]+ s \([\d.]+ images\/s\)/);
  });

  it('globs: "tree/**/*16.*" matches below the static prefix; --prob-bits 16 writes 16-bit probabilities', async () => {
    const r = unet(['segment', 'tree/**/*16.*', '-o', 'glob', '--model', MODEL, '--output', 'prob', '--prob-bits', '16']);
    expect(r.code).toBe(0);
    expect(listFiles(path.join(work, 'glob'))).toEqual(['nested/e16.prob.png', 'nested/f16.prob.png']);
    const meta = await sharp(path.join(work, 'glob', 'nested', 'f16.prob.png')).metadata();
    expect(meta.depth).toBe('ushort');
  });

  it('--precision exact runs the direct convolutions (exit 0); --precision foo is a usage error (exit 2)', () => {
    const ok = unet(['segment', 'tree/a.png', '-o', 'exact', '--model', MODEL, '--precision', 'exact']);
    expect(ok.code).toBe(0);
    expect(listFiles(path.join(work, 'exact'))).toEqual(['a.mask.png']);
    const bad = unet(['segment', 'tree/a.png', '-o', 'foo', '--model', MODEL, '--precision', 'foo']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Invalid values:[\s\S]*precision[\s\S]*"foo"[\s\S]*"exact", "fast"/);
    expect(existsSync(path.join(work, 'foo'))).toBe(false);
  });

  it.skipIf(!existsSync(path.join(ROOT, 'weights', 'model.json')))('without --model the embedded model is found from any working directory', async () => {
    const sample = path.join(ROOT, 'samples', 'nuclei-dim-16bit.tif');
    const r = unet(['segment', sample, '-o', 'default-model', '--json']);
    expect(r.code).toBe(0);
    const item = JSON.parse(r.stdout.trim().split('\n')[0]!);
    expect(item).toMatchObject({ status: 'ok', width: 500, height: 416 });
    expect(item.coverage).toBeGreaterThan(0.01);
    expect(item.coverage).toBeLessThan(0.5);
  });

  it('a file named explicitly that does not exist fails alone (exit 1)', () => {
    const r = unet(['segment', 'tree/a.png', 'tree/missing.png', '-o', 'miss', '--model', MODEL]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed {2}.*missing\.png: no such file or folder/);
    expect(existsSync(path.join(work, 'miss', 'a.mask.png'))).toBe(true);
  });

  it.each([
    [['segment', 'tree', '-o', 'tree'], /would put outputs next to the input/],
    [['segment', 'tree', '-o', 'x', '--output', 'mask,heatmap'], /Expected --output to be a comma-separated list of mask, prob, classes, overlay, cutout but received "heatmap"/],
    [['segment', 'tree', '-o', 'x', '--threshold', '1.2'], /Expected --threshold in \(0, 1\) but received 1\.2/],
    [['segment', 'tree', '-o', 'x', '--tile', '8'], /Expected --tile to be 0 \(off\) or an integer in \[16, 8192\] but received 8/],
    [['segment', 'tree', '-o', 'x', '--resize', 'fit', '--scale', '2'], /--scale needs --resize scale/],
    [['segment', 'tree'], /Missing required argument: out-dir/],
    [['segment', 'tree', '-o', 'x', '--nope'], /Unknown argument: nope/],
    [['segment', 'tree', '-o', 'x', '--model', 'no/such/model'], /cannot load the model: .*no\/such\/model/],
    [[], /Give a command/],
  ])('usage error %j -> exit 2 with a message', (args, re) => {
    const r = unet(args.map((a) => (a === '__MODEL__' ? MODEL : a)));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
  });

  it('--help lists every output kind from the table and examples; exit 0', () => {
    const r = unet(['segment', '--help']);
    expect(r.code).toBe(0);
    for (const k of ['mask', 'prob', 'classes', 'overlay', 'cutout']) expect(r.stdout).toMatch(new RegExp(`^\\s+${k}\\s`, 'm'));
    expect(r.stdout).toMatch(/Examples:/);
    expect(r.stdout).toMatch(/--max-pixels/);
    expect(r.stdout).toMatch(/--prob-bits\s+bits of the prob output/);
    const words = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+'));
    expect(r.stdout).toMatch(words('--precision numeric mode of the engine. fast: Winograd for 3×3 convolutions, within ~1e-5 relative of exact'));
    expect(r.stdout).toMatch(words('images in flight at once (default: workers + 1; unet watch: workers)'));
  });
});

describe('interruptions', () => {
  const makeBatch = async (dir: string, n: number): Promise<void> => {
    mkdirSync(dir, { recursive: true });
    const buf = await encodePicture(384, 384, 'png');
    for (let i = 0; i < n; i++) writeFileSync(path.join(dir, `img${String(i).padStart(2, '0')}.png`), buf);
  };

  const allOutputsDecode = async (dir: string): Promise<number> => {
    let n = 0;
    for (const f of listFiles(dir)) {
      if (f.includes('.unet-tmp-')) continue;
      const img = await sharp(path.join(dir, f)).raw().toBuffer({ resolveWithObject: true });
      expect(img.info.width).toBe(384);
      n++;
    }
    return n;
  };

  const waitFor = async (cond: () => boolean, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('SIGKILL mid-batch leaves no partial file under a final name; a rerun completes the rest and cleans temp files', async () => {
    const input = path.join(work, 'kill-in');
    const out = path.join(work, 'kill-out');
    await makeBatch(input, 24);
    const child = spawn(process.execPath, [BIN, 'segment', input, '-o', out, '--model', MODEL, '--output', 'mask,prob,cutout'], { stdio: 'ignore' });
    await waitFor(() => listFiles(out).some((f) => f.endsWith('.cutout.png')), 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const done = await allOutputsDecode(out);
    expect(done).toBeLessThan(24 * 3);
    const rerun = unet(['segment', input, '-o', out, '--model', MODEL, '--output', 'mask,prob,cutout', '--json']);
    expect(rerun.code).toBe(0);
    expect(await allOutputsDecode(out)).toBe(24 * 3);
    expect(listFiles(out).filter((f) => f.includes('.unet-tmp-'))).toEqual([]);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s stops cleanly: exit 130, a summary, no temp files, every written output complete', async (signal) => {
    const input = path.join(work, `${signal}-in`);
    const out = path.join(work, `${signal}-out`);
    await makeBatch(input, 24);
    const child = spawn(process.execPath, [BIN, 'segment', input, '-o', out, '--model', MODEL], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => listFiles(out).length > 0, 60_000);
    child.kill(signal);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(stderr).toMatch(/Interrupted: \d+ ok/);
    expect(listFiles(out).filter((f) => f.includes('.unet-tmp-'))).toEqual([]);
    expect(await allOutputsDecode(out)).toBeLessThan(24);
  });
});

