/**
 * Input expansion of `unet segment`: files, folders (flat or recursive), globs, exclusions, and output planning.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandInputs, globToRegExp, planOutputs } from '../src/cli/inputs.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'unet-inputs-'));
  for (const f of ['a.png', 'a.jpg', 'b.TIF', 'notes.txt', '.hidden.png', '.x.mask.png.unet-tmp-1-1', 'sub/c.webp', 'sub/deep/d.png', 'out/e.png']) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), 'x');
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rels = (files: { rel: string }[]): string[] => files.map((f) => f.rel.split(path.sep).join('/'));

describe('globToRegExp', () => {
  it.each([
    ['*.png', 'a.png', true],
    ['*.png', 'sub/a.png', false],
    ['**/*.png', 'a.png', true],
    ['**/*.png', 'sub/deep/a.png', true],
    ['sub/*.{png,webp}', 'sub/c.webp', true],
    ['img?.jpg', 'img1.jpg', true],
    ['img[0-4].jpg', 'img7.jpg', false],
    ['img[!0-4].jpg', 'img7.jpg', true],
    ['a+b.png', 'a+b.png', true],
  ])('%s ~ %s -> %s', (glob, file, match) => {
    expect(globToRegExp(glob).test(file)).toBe(match);
  });
});

describe('expandInputs', () => {
  it('a folder gives its image files only (by extension, case-insensitive), no hidden or temp files', async () => {
    const r = await expandInputs([root], { recursive: false, exclude: [] });
    expect(rels(r.files)).toEqual(['a.jpg', 'a.png', 'b.TIF']);
    expect(r.missing).toEqual([]);
  });

  it('--recursive walks the tree, never entering the excluded output folder', async () => {
    const r = await expandInputs([root], { recursive: true, exclude: [path.join(root, 'out')] });
    expect(rels(r.files)).toEqual(['a.jpg', 'a.png', 'b.TIF', 'sub/c.webp', 'sub/deep/d.png']);
  });

  it('globs match below their static prefix; duplicates are dropped', async () => {
    const r = await expandInputs([path.join(root, 'sub', '**', '*.png'), path.join(root, 'sub', 'deep', 'd.png')], { recursive: false, exclude: [] });
    expect(r.files.map((f) => f.path)).toEqual([path.join(root, 'sub', 'deep', 'd.png')]);
    expect(rels(r.files)).toEqual(['deep/d.png']);
  });

  it('an explicit file is always an input; missing paths and empty matches are reported', async () => {
    const r = await expandInputs([path.join(root, 'notes.txt'), path.join(root, 'nope.png'), path.join(root, '*.gif')], { recursive: false, exclude: [] });
    expect(rels(r.files)).toEqual(['notes.txt']);
    expect(r.missing.map((m) => m.reason)).toEqual(['no such file or folder', 'the pattern matched no files']);
  });
});

describe('planOutputs', () => {
  it('mirrors relative folders; stems that collide in one folder keep their extension', async () => {
    const { files } = await expandInputs([root], { recursive: true, exclude: [path.join(root, 'out')] });
    const plan = planOutputs(files, '/o');
    const byRel = Object.fromEntries(plan.map((p) => [p.input.rel.split(path.sep).join('/'), [p.dir, p.stem]]));
    expect(byRel['a.png']).toEqual(['/o', 'a.png']);
    expect(byRel['a.jpg']).toEqual(['/o', 'a.jpg']);
    expect(byRel['b.TIF']).toEqual(['/o', 'b']);
    expect(byRel['sub/deep/d.png']).toEqual([path.join('/o', 'sub', 'deep'), 'd']);
  });
});
