/**
 * The memory plan's fused concat (inputs written at their slots of the concat's output, so the concat copies
 * nothing) and the per-step profile: fusion changes no output bit and never needs more arena bytes; it is
 * refused where the pieces are not contiguous or not the concat's own; profiled runs time every step.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as inspect from '../src/cli/commands/inspect.js';
import { runInspect } from '../src/cli/commands/inspect.js';
import { UsageError } from '../src/cli/errors.js';
import { buildArgv } from '../src/cli/main.js';
import type { Graph } from '../src/graph/ir.js';
import { optimizeGraph } from '../src/graph/passes.js';
import { KernelMemory } from '../src/kernels/index.js';
import { loadModel } from '../src/models/load.js';
import type { Model } from '../src/models/model.js';
import type { PlanLayout } from '../src/runtime/plan.js';
import { buildPlan, ConstantStore } from '../src/runtime/plan.js';
import { formatProfile, profileSession, randomInput } from '../src/runtime/profile.js';
import type { CopyStep } from '../src/runtime/protocol.js';
import { createSession, resolveSessionOptions } from '../src/runtime/session.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { ensureBuilt, firstDifference, input, oracle, readF32, unetModel } from './runtime.helpers.js';

beforeAll(() => ensureBuilt(), 300_000);

const MODELS = join(import.meta.dirname, 'fixtures', 'models');
const fixtures = (JSON.parse(readFileSync(join(MODELS, 'index.json'), 'utf8')) as {
  models: { name: string; dir: string; input: { file: string; shape: number[] } }[];
}).models;

function expectIdentical(got: Tensor, want: Tensor): void {
  expect(got.shape).toEqual(want.shape);
  expect(firstDifference(got.data, want.data)).toBe(-1);
}

const memory = new KernelMemory();
const store = new ConstantStore(memory);
afterAll(() => store.free());

function plan(graph: Graph, shape: number[], fuseConcat: boolean): PlanLayout {
  return buildPlan(optimizeGraph(graph), shape, store, { participants: 1, blocksPerParticipant: 1, precision: 'exact', fuseConcat });
}

const copies = (l: PlanLayout): CopyStep[] => l.plan.steps.filter((s): s is CopyStep => s.kind === 'copy');

/** x [N,4,8,8] → relu a, relu b(a), relu c(a), then `tail` nodes; graph outputs `outputs`. */
function reluGraph(tail: Graph['nodes'], outputs: string[]): Graph {
  return {
    inputs: [{ name: 'x', shape: [null, 4, null, null] }],
    outputs,
    nodes: [
      { op: 'relu', name: 'a', inputs: ['x'], outputs: ['a'], attrs: {} },
      { op: 'relu', name: 'b', inputs: ['a'], outputs: ['b'], attrs: {} },
      { op: 'relu', name: 'c', inputs: ['a'], outputs: ['c'], attrs: {} },
      ...tail,
    ],
    initializers: new Map(),
  } as Graph;
}

describe('fused concat in the memory plan', () => {
  it('U-Net depth 3 at 64×64: the 3 decoder concats leave no step, the arena is not larger, steps are the same otherwise', () => {
    const m = unetModel({ inChannels: 3, classes: 2, base: 8, depth: 3, upMode: 'transpose' });
    const fused = plan(m.graph, [1, 3, 64, 64], true);
    const plain = plan(m.graph, [1, 3, 64, 64], false);
    expect(plain.fusedConcats).toBe(0);
    expect(copies(plain)).toHaveLength(3);
    expect(fused.fusedConcats).toBe(3);
    expect(fused.partlyFusedConcats).toBe(0);
    expect(copies(fused)).toHaveLength(0);
    expect(fused.plan.steps.length).toBe(plain.plan.steps.length - 3);
    expect(fused.stepInfo.map((s) => s.node)).toEqual(plain.stepInfo.filter((s) => s.kind !== 'copy').map((s) => s.node));
    expect(fused.plan.arenaBytes).toBeLessThanOrEqual(plain.plan.arenaBytes);
  });

  it('places the producers at their slots: out(b) = concat output, out(c) = concat output + 4·8·8·4 bytes', () => {
    const slot = 4 * 8 * 8 * 4;
    const g = reluGraph([{ op: 'concat', name: 'cat', inputs: ['b', 'c'], outputs: ['y'], attrs: { axis: 1 } }], ['y']);
    const l = plan(g, [1, 4, 8, 8], true);
    expect(l.fusedConcats).toBe(1);
    const out = (node: string) => (l.plan.steps.find((s) => s.node === node) as { out: { o: number } }).out.o;
    expect(out('b')).toBe(l.outputs[0]!.ref.o);
    expect(out('c')).toBe(l.outputs[0]!.ref.o + slot);
    // a is read by both b and c: it cannot sit inside the buffer they write.
    expect(out('a') + slot <= out('b') || out('a') >= out('c') + slot).toBe(true);
  });

  it('copies what it cannot place: the graph input, a value used twice in the concat, a value already in another concat', () => {
    const g = reluGraph([
      { op: 'concat', name: 'cat1', inputs: ['x', 'b', 'b', 'c'], outputs: ['y1'], attrs: { axis: 1 } },
      { op: 'concat', name: 'cat2', inputs: ['c', 'a'], outputs: ['y2'], attrs: { axis: 1 } },
    ], ['y1', 'y2']);
    const l = plan(g, [1, 4, 8, 8], true);
    const [c1, c2] = copies(l);
    // cat1 copies x and both b pieces (c is at its slot); cat2 copies c (taken by cat1), a is at its slot.
    expect(c1!.node).toBe('cat1');
    expect(c1!.src).toHaveLength(3);
    expect(c1!.dst.map((d) => d.o - l.outputs[0]!.ref.o)).toEqual([0, 1024, 2048]);
    expect(c2!.node).toBe('cat2');
    expect(c2!.src).toHaveLength(1);
    expect(l.partlyFusedConcats).toBe(2);
  });

  it('does not fuse when the pieces are not contiguous (2 images in one plan, concat over channels)', () => {
    const g = reluGraph([{ op: 'concat', name: 'cat', inputs: ['b', 'c'], outputs: ['y'], attrs: { axis: 1 } }], ['y']);
    const l = plan(g, [2, 4, 8, 8], true);
    expect(l.fusedConcats + l.partlyFusedConcats).toBe(0);
    expect(copies(l)).toHaveLength(1);
  });
});

describe('fused concat: outputs bit-identical to the unfused plan (2 workers)', () => {
  const cases: { name: string; model: () => Promise<Model> | Model; x: () => Tensor }[] = [
    ...fixtures.map((f) => ({
      name: `fixture ${f.name}`,
      model: () => loadModel(join(MODELS, f.dir)),
      x: () => readF32(join(MODELS, f.dir, f.input.file), f.input.shape),
    })),
    { name: 'transpose U-Net base 8 depth 4 at 37×45 (centerPad pads)', model: () => unetModel({ inChannels: 3, classes: 2, base: 8, depth: 4, upMode: 'transpose' }, 3), x: () => input([1, 3, 37, 45], 5) },
    { name: 'transpose U-Net base 8 depth 4 at 64×64 (centerPad is an alias)', model: () => unetModel({ inChannels: 3, classes: 2, base: 8, depth: 4, upMode: 'transpose' }, 3), x: () => input([1, 3, 64, 64], 6) },
    { name: 'bilinear U-Net base 6 depth 3 at 37×45', model: () => unetModel({ inChannels: 1, classes: 3, base: 6, depth: 3, upMode: 'bilinear' }, 7), x: () => input([1, 1, 37, 45], 7) },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const model = await c.model();
      const x = c.x();
      for (const precision of ['exact', 'fast'] as const) {
        const fused = await createSession(model, { workers: 2, precision });
        const plain = await createSession(model, { workers: 2, precision, fuseConcat: false });
        try {
          const pf = fused.plan(x.shape);
          const pp = plain.plan(x.shape);
          expect(pp.fusedConcats).toBe(0);
          expect(pf.fusedConcats + pf.partlyFusedConcats).toBeGreaterThan(0);
          expect(pf.arenaBytes).toBeLessThanOrEqual(pp.arenaBytes);
          expect(pf.steps).toBeLessThan(pp.steps);
          const yf = await fused.run(x);
          expectIdentical(yf, await plain.run(x));
          if (precision === 'exact') expectIdentical(yf, oracle(model, x)[model.graph.outputs[0]!]!);
        } finally {
          await fused.close();
          await plain.close();
        }
      }
    }, 120_000);
  }
});

describe('fused max pool (Winograd output transform writes the pool too): outputs bit-identical to the unfused plan', () => {
  const cases: { name: string; model: () => Model; x: Tensor; pools: number }[] = [
    { name: 'transpose U-Net base 16 depth 4, one image at 64×64', model: () => unetModel({ inChannels: 3, classes: 2, base: 16, depth: 4, upMode: 'transpose' }, 3), x: input([1, 3, 64, 64], 8), pools: 4 },
    { name: 'transpose U-Net base 16 depth 3, one image at 37×45 (odd maps: the last row and column are not pooled)', model: () => unetModel({ inChannels: 3, classes: 2, base: 16, depth: 3, upMode: 'transpose' }, 4), x: input([1, 3, 37, 45], 9), pools: 3 },
    { name: 'bilinear U-Net base 12 depth 3, a batch of 3 at 30×44', model: () => unetModel({ inChannels: 1, classes: 3, base: 12, depth: 3, upMode: 'bilinear' }, 5), x: input([3, 1, 30, 44], 10), pools: 3 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const model = c.model();
      for (const workers of [1, 2]) {
        const fused = await createSession(model, { workers });
        const plain = await createSession(model, { workers, fusePool: false });
        const exact = await createSession(model, { workers, precision: 'exact' });
        try {
          const pf = fused.plan(c.x.shape);
          const pp = plain.plan(c.x.shape);
          expect(pf.fusedPools).toBe(c.pools);
          expect(pp.fusedPools).toBe(0);
          expect(exact.plan(c.x.shape).fusedPools).toBe(0);
          expect(pf.steps).toBe(pp.steps - c.pools);
          expectIdentical(await fused.run(c.x), await plain.run(c.x));
        } finally {
          await fused.close();
          await plain.close();
          await exact.close();
        }
      }
    }, 120_000);
  }

  it('fusePool "yes" → ERR_INVALID_ARG_VALUE naming options.fusePool', () => {
    expect(() => resolveSessionOptions({ fusePool: 'yes' as unknown as boolean })).toThrow(/options\.fusePool/);
  });
});

describe('profiled runs', () => {
  it('lastProfile(): one entry per plan step with op, algorithm, shape, FLOPs and a non-negative time; null without `profile`', async () => {
    const model = unetModel({ inChannels: 3, classes: 2, base: 8, depth: 3, upMode: 'transpose' });
    const s = await createSession(model, { workers: 2, profile: true });
    const quiet = await createSession(model, { workers: 1 });
    try {
      const x = input([1, 3, 64, 64]);
      expect(s.lastProfile()).toBeNull();
      await s.run(x);
      const p = s.lastProfile()!;
      expect(p.steps).toHaveLength(s.plan(x.shape).steps);
      expect(p.participants).toBe(2);
      expect(p.fusedConcats).toBe(3);
      for (const st of p.steps) expect(st.ms).toBeGreaterThanOrEqual(0);
      expect(p.totalMs).toBeCloseTo(p.steps.reduce((a, st) => a + st.ms, 0), 6);
      const first = p.steps[0]!;
      expect(first).toMatchObject({ op: 'conv2d', kind: 'conv2d', outputShape: [1, 8, 64, 64], flops: 2 * 8 * 64 * 64 * 3 * 9 });
      expect(['direct', 'winograd']).toContain(first.algorithm);
      // The first up-sampling: 64 → 32 channels, 2×2 kernel, stride 2, from 8×8.
      const up = p.steps.find((st) => st.op === 'convTranspose2d')!;
      expect(up.outputShape).toEqual([1, 32, 16, 16]);
      expect(up.flops).toBe(2 * 64 * 8 * 8 * 32 * 2 * 2);
      await quiet.run(x);
      expect(quiet.lastProfile()).toBeNull();
    } finally {
      await s.close();
      await quiet.close();
    }
  }, 60_000);

  it('profileSession averages the timed runs; formatProfile prints every step, a totals line and the top 5', async () => {
    const model = unetModel({ inChannels: 3, classes: 2, base: 8, depth: 3, upMode: 'transpose' });
    const s = await createSession(model, { workers: 1, profile: true });
    try {
      const p = await profileSession(s, randomInput([1, 3, 32, 32]), { warmup: 1, iterations: 3 });
      expect(p.iterations).toBe(3);
      expect(p.steps.reduce((a, st) => a + st.share, 0)).toBeCloseTo(100, 6);
      expect(p.flops).toBe(p.steps.reduce((a, st) => a + st.flops, 0));
      const text = formatProfile(p);
      for (const st of p.steps) expect(text).toContain(st.node);
      expect(text).toMatch(/^total: \d+ steps/m);
      expect(text.split('top 5:\n')[1]!.trimEnd().split('\n')).toHaveLength(5);
      await expect(profileSession(s, randomInput([2, 3, 32, 32]))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    } finally {
      await s.close();
    }
    const plainSession = await createSession(model, { workers: 1 });
    try {
      await expect(profileSession(plainSession, randomInput([1, 3, 32, 32]), { warmup: 0, iterations: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    } finally {
      await plainSession.close();
    }
  }, 60_000);

  it('unet inspect --profile prints the layer table, then the profile of one image', async () => {
    let text = '';
    const r = await runInspect(
      { model: join(MODELS, 'unet_b_c3_b8_d2'), batch: 1, json: false, profile: true, workers: 1, precision: 'exact', iters: 2 },
      (t) => (text += t),
    );
    expect(r.profile!.steps.length).toBeGreaterThan(0);
    expect(text).toMatch(/^up1\.pad\s+centerPad\s+\[1, 16, 25, 31\]/m);
    expect(text).toMatch(/^profile: input \[1, 1, 50, 63\], 1 worker, mean of 2 runs after warm-up$/m);
    expect(text).toMatch(/^\s*0\s+inc\.double_conv\.0\s+conv2d\s+direct\s+\[1, 8, 50, 63\]\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
    await expect(async () => buildArgv(['inspect', 'm', '--profile', '--batch', '2'], [{ ...inspect, handler: () => undefined }]).parseAsync())
      .rejects.toThrow(UsageError);
  }, 60_000);

  it('rejects non-boolean profile / fuseConcat options', () => {
    expect(() => resolveSessionOptions({ profile: 'yes' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => resolveSessionOptions({ fuseConcat: 1 as never })).toThrow(/options\.fuseConcat/);
    expect(resolveSessionOptions({})).toMatchObject({ profile: false, fuseConcat: true });
  });
});
