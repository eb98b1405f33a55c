/**
 * Output encoders and atomic writes: the PNG encoder round-trips through sharp (8/16-bit gray, indexed with the
 * model's palette), output names follow the kind table, temp files are recognizable and only dead runs' are removed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng } from '../src/pipeline/png.js';
import { classPalette, cleanStaleTempFiles, encodeOutput, isTempName, outputFileName, tempNameFor, writeFileAtomic } from '../src/pipeline/writers.js';
import { defaultMeta } from '../src/models/model.js';

const dir = mkdtempSync(path.join(tmpdir(), 'unet-writers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PNG encoder', () => {
  it('8-bit gray round-trips (odd width, rows that favour both filters)', async () => {
    const w = 37;
    const h = 9;
    const data = new Uint8Array(w * h).map((_, i) => (Math.floor(i / w) < 4 ? (i * 7) % 256 : 255 * ((i % w) & 1)));
    const img = await sharp(encodePng({ width: w, height: h, color: 'gray', bitDepth: 8, data })).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([img.info.width, img.info.height]).toEqual([w, h]);
    expect(Array.from(img.data)).toEqual(Array.from(data));
  });

  it('16-bit gray round-trips exactly', async () => {
    const data = new Uint16Array(20 * 3).map((_, i) => (i * 4099) % 65536);
    const png = encodePng({ width: 20, height: 3, color: 'gray', bitDepth: 16, data });
    const { data: raw } = await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    expect(Array.from({ length: 60 }, (_, i) => raw.readUInt16LE(2 * i))).toEqual(Array.from(data));
  });

  it('indexed: palette entries and indices as written', async () => {
    const palette: [number, number, number][] = [[0, 0, 0], [255, 64, 64], [10, 200, 30]];
    const data = Uint8Array.of(0, 1, 2, 2, 1, 0);
    const png = encodePng({ width: 3, height: 2, color: 'indexed', bitDepth: 8, data, palette });
    expect((await sharp(png).metadata()).isPalette).toBe(true);
    const { data: rgb } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(rgb)).toEqual(Array.from(data).flatMap((k) => palette[k]!));
  });
});

describe('encodeOutput', () => {
  const meta = defaultMeta(1, 1).output;
  const base = { width: 2, height: 1, mask: Uint8Array.of(0, 255) };
  const opts = { probBits: 8 as const, overlayFormat: 'jpg' as const, overlayOpacity: 0.5, output: meta, classes: 1 };

  it('prob: 8-bit rounds p·255, 16-bit p·65535', async () => {
    const r = { ...base, probabilities: Float32Array.of(0.25, 1) };
    const p8 = await sharp(await encodeOutput('prob', r, opts)).extractChannel(0).raw().toBuffer();
    expect(Array.from(p8)).toEqual([64, 255]);
    const p16 = await encodeOutput('prob', r, { ...opts, probBits: 16 });
    expect((await sharp(p16).metadata()).depth).toBe('ushort');
  });

  it('a kind without its data is refused with the reason', async () => {
    await expect(encodeOutput('prob', base, opts)).rejects.toThrow(/'prob' output needs result\.probabilities/);
    await expect(encodeOutput('cutout', base, opts)).rejects.toThrow(/'cutout' output needs result\.image/);
  });

  it('default palette when the model has none: black background, distinct colours', () => {
    const pal = classPalette({ ...meta, palette: null }, 3);
    expect(pal[0]).toEqual([0, 0, 0]);
    expect(new Set(pal.map((c) => c.join(','))).size).toBe(3);
  });
});

describe('names and atomic writes', () => {
  it('<stem>.<kind>.<ext>; overlay follows its format', () => {
    expect(outputFileName('cells', 'mask', 'jpg')).toBe('cells.mask.png');
    expect(outputFileName('cells', 'overlay', 'jpg')).toBe('cells.overlay.jpg');
    expect(outputFileName('cells', 'overlay', 'png')).toBe('cells.overlay.png');
  });

  it('writeFileAtomic leaves only the final file', async () => {
    const f = path.join(dir, 'a.mask.png');
    await writeFileAtomic(f, Buffer.from('complete'));
    expect(readFileSync(f, 'utf8')).toBe('complete');
    expect(readdirSync(dir).filter(isTempName)).toEqual([]);
  });

  it('a failed write names the file (ERR_IO) and leaves no temp file', async () => {
    await expect(writeFileAtomic(path.join(dir, 'no', 'such', 'x.png'), Buffer.from('x'))).rejects.toMatchObject({
      code: 'ERR_IO',
      message: expect.stringMatching(/x\.png: cannot write the output \(ENOENT\)/),
    });
  });

  it('cleanStaleTempFiles removes temp files of dead processes only', async () => {
    const mine = tempNameFor(path.join(dir, 'b.mask.png'));
    const dead = path.join(dir, '.c.mask.png.unet-tmp-999999999-1');
    writeFileSync(mine, 'in progress');
    writeFileSync(dead, 'partial');
    writeFileSync(path.join(dir, 'keep.png'), 'final');
    const removed = await cleanStaleTempFiles(dir);
    expect(removed).toEqual([dead]);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(path.join(dir, 'keep.png'))).toBe(true);
    expect(isTempName(path.basename(mine))).toBe(true);
    expect(isTempName('c.mask.png')).toBe(false);
  });
});
