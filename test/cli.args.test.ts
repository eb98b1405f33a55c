/**
 * The command line as data: buildArgv(argv) parses without touching process.argv, and check() holds the
 * cross-option rules of `unet segment`.
 */
import { describe, expect, it } from 'vitest';
import { buildArgv, COMMANDS } from '../src/cli/main.js';
import * as segment from '../src/cli/commands/segment.js';
import { check, type SegmentArgs } from '../src/cli/commands/segment.js';
import { UsageError } from '../src/cli/errors.js';
import { DEFAULT_PIPELINE_OPTIONS } from '../src/pipeline/options.js';

/** Parse `unet segment …` with an inert handler that records the parsed arguments. */
async function parseSegment(args: string[]): Promise<SegmentArgs> {
  let seen: SegmentArgs | undefined;
  await buildArgv(['segment', ...args], [{ ...segment, handler: (a: never) => void (seen = a) }]).parseAsync();
  return seen!;
}

describe('buildArgv', () => {
  it('registers segment first, and inspect', () => {
    expect(COMMANDS[0]!.command).toBe('segment <inputs..>');
    expect(COMMANDS.map((c) => c.command)).toContain('inspect <model>');
  });

  it('segment: positionals, aliases and the comma-separated --output list', async () => {
    const a = await parseSegment(['a.png', 'dir', '-o', 'out', '-r', '-w', '2', '-t', '0.3', '--output', 'mask,prob', '--output', 'cutout']);
    expect(a.inputs).toEqual(['a.png', 'dir']);
    expect(a.outDir).toBe('out');
    expect(a.recursive).toBe(true);
    expect(a.workers).toBe(2);
    expect(a.threshold).toBe(0.3);
    expect(a.output).toEqual(['mask', 'prob', 'cutout']);
  });

  it('segment: defaults come from the pipeline defaults table', async () => {
    const a = await parseSegment(['a.png', '-o', 'out']);
    expect(a).toMatchObject({
      recursive: false,
      overwrite: false,
      json: false,
      output: ['mask'],
      workers: DEFAULT_PIPELINE_OPTIONS.workers,
      maxPixels: DEFAULT_PIPELINE_OPTIONS.maxPixels,
      probBits: DEFAULT_PIPELINE_OPTIONS.probBits,
      precision: DEFAULT_PIPELINE_OPTIONS.precision,
      resize: DEFAULT_PIPELINE_OPTIONS.resize,
      padMode: DEFAULT_PIPELINE_OPTIONS.padMode,
      overlayFormat: DEFAULT_PIPELINE_OPTIONS.overlayFormat,
    });
    expect(a.model).toBeUndefined();
  });

  it('segment: --prob-bits 16 and --tile 0 parse as numbers', async () => {
    const a = await parseSegment(['a.png', '-o', 'out', '--prob-bits', '16', '--tile', '0', '--max-pixels', '300000000']);
    expect([a.probBits, a.tile, a.maxPixels]).toEqual([16, 0, 300_000_000]);
  });

  it("segment: --precision takes the engine's numeric mode, 'fast' by default", async () => {
    expect((await parseSegment(['a.png', '-o', 'out'])).precision).toBe('fast');
    expect((await parseSegment(['a.png', '-o', 'out', '--precision', 'exact'])).precision).toBe('exact');
    expect(segment.toPipelineOptions(await parseSegment(['a.png', '-o', 'out', '--precision', 'exact', '--prob-bits', '16']), '/')).toMatchObject({
      precision: 'exact',
      probBits: 16,
    });
  });

  it.each([
    [['a.png'], /Missing required argument: out-dir/],
    [['a.png', '-o', 'o', '--resize', 'stretch'], /Invalid values:[\s\S]*resize/],
    [['a.png', '-o', 'o', '--prob-bits', '12'], /Invalid values:[\s\S]*prob-bits/],
    [['a.png', '-o', 'o', '--precision', 'foo'], /Invalid values:[\s\S]*precision/],
    [['a.png', '-o', 'o', '--precision', '16'], /Invalid values:[\s\S]*precision/],
    [['a.png', '-o', 'o', '--output', 'mask,nope'], /but received "nope"/],
    [['a.png', '-o', 'o', '--what'], /Unknown argument: what/],
  ])('segment %j -> UsageError', async (args, re) => {
    await expect(parseSegment(args)).rejects.toThrow(UsageError);
    await expect(parseSegment(args)).rejects.toThrow(re);
  });
});

describe('check (cross-option rules)', () => {
  const base = { inputs: ['x'], output: ['mask'], workers: 1, resize: 'model', maxPixels: 100 } as const;
  const ok = (o: object): true => check({ ...base, ...o } as never);

  it('accepts a valid combination', () => {
    expect(ok({ output: ['mask', 'overlay'], threshold: 0.4, tile: 512, tileOverlap: 64, scale: 0.5 })).toBe(true);
    expect(ok({ tile: 0 })).toBe(true);
  });

  it.each([
    [{ output: ['mask', 'nope'] }, /Expected --output to be a comma-separated list of mask, prob, classes, overlay, cutout but received "nope"/],
    [{ output: [] }, /at least one --output/],
    [{ workers: 0 }, /Expected --workers to be an integer >= 1 but received 0/],
    [{ workers: 1.5 }, /--workers/],
    [{ threshold: 0 }, /Expected --threshold in \(0, 1\) but received 0/],
    [{ threshold: 1 }, /--threshold/],
    [{ scale: 9 }, /Expected --scale in \(0, 8\] but received 9/],
    [{ scale: 2, resize: 'native' }, /--scale needs --resize scale but received --resize native/],
    [{ tile: 10 }, /Expected --tile to be 0 \(off\) or an integer in \[16, 8192\] but received 10/],
    [{ tileOverlap: -1 }, /Expected --tile-overlap to be an integer >= 0 but received -1/],
    [{ tile: 64, tileOverlap: 32 }, /Expected --tile-overlap < tile\/2 \(32\) but received 32/],
    [{ maxPixels: 0 }, /Expected --max-pixels to be an integer >= 1 but received 0/],
    [{ concurrency: 0 }, /Expected --concurrency to be an integer >= 1 but received 0/],
    [{ precision: 'foo' }, /Expected --precision to be one of exact, fast but received foo/],
    [{ inputs: [] }, /at least one input/],
    [{ outDir: ' ' }, /--out-dir must not be empty/],
  ])('%j is a usage error', (o, re) => {
    expect(() => ok(o)).toThrow(UsageError);
    expect(() => ok(o)).toThrow(re);
  });
});

