/**
 * The pooled session: with precision 'exact', outputs equal the single-thread executor bit for bit (same kernels,
 * same order of operations per output element) on one and two workers, for single images (layers split into blocks) and
 * batches (whole images per worker); the memory plan; refusals; a worker that dies mid-run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/models/load.js';
import { loadOnnx } from '../src/models/onnx/index.js';
import type { Session } from '../src/runtime/session.js';
import { createSession, injectWorkerExit, resolveSessionOptions } from '../src/runtime/session.js';
import { splitRange } from '../src/runtime/plan.js';
import { Tensor } from '../src/tensor/tensor.js';
import { ensureBuilt, firstDifference, input, oracle, readF32, relError, unetModel } from './runtime.helpers.js';

beforeAll(() => ensureBuilt(), 300_000);

const MODELS = join(import.meta.dirname, 'fixtures', 'models');
const IMPORT = join(import.meta.dirname, 'fixtures', 'import');

interface ModelFixture {
  name: string;
  dir: string;
  input: { file: string; shape: number[] };
  output: { file: string; shape: number[]; maxAbs: number };
}
const models = (JSON.parse(readFileSync(join(MODELS, 'index.json'), 'utf8')) as { models: ModelFixture[] }).models;

function expectIdentical(got: Tensor, want: Tensor): void {
  expect(got.shape).toEqual(want.shape);
  expect(firstDifference(got.data, want.data)).toBe(-1);
}

describe('splitRange: even blocks with boundaries on a quantum', () => {
  it('n=10 blocks=3 → [0,3,7,10]; quantum 4 on 10 channels → [0,4,8,10]; never more blocks than units', () => {
    expect(splitRange(10, 3)).toEqual([0, 3, 7, 10]);
    expect(splitRange(10, 3, 4)).toEqual([0, 4, 8, 10]);
    expect(splitRange(2, 8)).toEqual([0, 1, 2]);
    expect(splitRange(5, 1)).toEqual([0, 5]);
  });
});

describe.each([1, 2])('workers=%i: the session equals the single-thread executor exactly', (workers) => {
  const transpose = unetModel({ inChannels: 3, classes: 2, base: 8, depth: 3, upMode: 'transpose' });
  const bilinear = unetModel({ inChannels: 1, classes: 3, base: 6, depth: 3, upMode: 'bilinear' }, 7);
  let st: Session;
  let sb: Session;
  beforeAll(async () => {
    st = await createSession(transpose, { workers, precision: 'exact' });
    sb = await createSession(bilinear, { workers, precision: 'exact' });
  });
  afterAll(async () => {
    await st.close();
    await sb.close();
  });

  it('transpose U-Net base 8 depth 3, x=[1,3,64,64] (one image, layers split across workers)', async () => {
    const x = input([1, 3, 64, 64]);
    expectIdentical(await st.run(x), oracle(transpose, x).output!);
  });

  it('transpose U-Net, x=[5,3,40,56] (batch: whole images per worker, the odd last image split across workers)', async () => {
    const x = input([5, 3, 40, 56], 1);
    expectIdentical(await st.run(x), oracle(transpose, x).output!);
  });

  it('bilinear U-Net with odd sizes (centerPad pads), x=[1,1,37,45] and x=[3,1,37,45]', async () => {
    for (const n of [1, 3]) {
      const x = input([n, 1, 37, 45], n);
      expectIdentical(await sb.run(x), oracle(bilinear, x).output!);
    }
  });

  it('concurrent runs of different shapes are queued and each returns its own result', async () => {
    const xs = [input([1, 3, 32, 32], 2), input([2, 3, 48, 32], 3), input([1, 3, 64, 64], 4)];
    const ys = await Promise.all(xs.map((x) => st.run(x)));
    ys.forEach((y, i) => expectIdentical(y, oracle(transpose, xs[i]!).output!));
  });
});

describe('PyTorch fixtures through the session (2 workers)', () => {
  for (const m of models) {
    it(`${m.name} (model.json + safetensors), x=[${m.input.shape}]: equals the executor exactly and PyTorch within 1e-4·max|y|`, async () => {
      const model = await loadModel(join(MODELS, m.dir));
      const x = readF32(join(MODELS, m.dir, m.input.file), m.input.shape);
      const s = await createSession(model, { workers: 2, precision: 'exact' });
      try {
        const y = await s.run(x);
        expectIdentical(y, oracle(model, x).output!);
        expect(relError(y.data, readF32(join(MODELS, m.dir, m.output.file), m.output.shape).data)).toBeLessThan(1e-4);
      } finally {
        await s.close();
      }
    });
  }

  it('createSession(path) loads the model itself (unet_t_c1_b4_d3 folder)', async () => {
    const m = models[0]!;
    const s = await createSession(join(MODELS, m.dir), { workers: 1, precision: 'exact' });
    try {
      const x = readF32(join(MODELS, m.dir, m.input.file), m.input.shape);
      expectIdentical(await s.run(x), oracle(await loadModel(join(MODELS, m.dir)), x).output!);
    } finally {
      await s.close();
    }
  });

  interface ImportSpec {
    name: string;
    file: string;
    cases: { input: { file: string; shape: number[] }; outputs: { file: string; shape: number[]; maxAbs: number }[] }[];
  }
  const imports = (JSON.parse(readFileSync(join(IMPORT, 'index.json'), 'utf8')) as { models: ImportSpec[] }).models;
  for (const spec of imports.filter((s) => s.file.includes('opset17'))) {
    it(`${spec.file}: runOutputs gives every output by name, equal to the executor and PyTorch (1e-4·max|y|)`, async () => {
      const model = await loadOnnx(join(IMPORT, spec.file));
      const s = await createSession(model, { workers: 2, precision: 'exact' });
      try {
        for (const c of spec.cases) {
          const x = readF32(join(IMPORT, c.input.file), c.input.shape);
          const got = await s.runOutputs(x);
          const want = oracle(model, x);
          expect(Object.keys(got)).toEqual(model.graph.outputs);
          model.graph.outputs.forEach((name, k) => {
            expectIdentical(got[name]!, want[name]!);
            const torch = readF32(join(IMPORT, c.outputs[k]!.file), c.outputs[k]!.shape);
            expect(relError(got[name]!.data, torch.data)).toBeLessThan(1e-4);
          });
        }
      } finally {
        await s.close();
      }
    });
  }
});

describe("precision 'fast': Winograd F(4×4,3×3) for the 3×3 convs", () => {
  it('fixtures: within 1e-4·max|y| of PyTorch; 1 and 2 workers bit-identical (row blocks on whole tile rows)', async () => {
    for (const m of models) {
      const model = await loadModel(join(MODELS, m.dir));
      const x = readF32(join(MODELS, m.dir, m.input.file), m.input.shape);
      const torch = readF32(join(MODELS, m.dir, m.output.file), m.output.shape);
      const ys: Tensor[] = [];
      for (const workers of [1, 2]) {
        const s = await createSession(model, { workers, precision: 'fast' });
        try {
          ys.push(await s.run(x));
        } finally {
          await s.close();
        }
      }
      expect(relError(ys[0]!.data, torch.data)).toBeLessThan(1e-4);
      expectIdentical(ys[1]!, ys[0]!);
    }
  });

  it('U-Net base 8 depth 3, x=[1,3,64,64]: differs from the exact run only by rounding (< 1e-4·max|y|)', async () => {
    const model = unetModel({ inChannels: 3, classes: 2, base: 8, depth: 3, upMode: 'transpose' });
    const x = input([1, 3, 64, 64]);
    const s = await createSession(model, { workers: 2, precision: 'fast' });
    try {
      const y = await s.run(x);
      const exact = oracle(model, x).output!;
      expect(relError(y.data, exact.data)).toBeLessThan(1e-4);
      expect(firstDifference(y.data, exact.data)).not.toBe(-1);
    } finally {
      await s.close();
    }
  });

  it("is the default: a session without `precision` runs 'fast', within 2e-4·max|y| of the exact executor (fixture)", async () => {
    expect(resolveSessionOptions({}).precision).toBe('fast');
    const m = models[0]!;
    const model = await loadModel(join(MODELS, m.dir));
    const x = readF32(join(MODELS, m.dir, m.input.file), m.input.shape);
    const s = await createSession(model, { workers: 1 });
    try {
      expect(relError((await s.run(x)).data, oracle(model, x).output!.data)).toBeLessThan(2e-4);
    } finally {
      await s.close();
    }
  });

  it("precision 'fastest' → ERR_INVALID_ARG_VALUE listing 'exact', 'fast'", () => {
    expect(() => resolveSessionOptions({ precision: 'fastest' as 'fast' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/one of 'exact', 'fast' for options\.precision/) }),
    );
  });
});

describe('memory plan', () => {
  let s: Session;
  const model = unetModel({ inChannels: 3, classes: 2, base: 8, depth: 4, upMode: 'transpose' });
  beforeAll(async () => {
    s = await createSession(model, { workers: 2 });
  });
  afterAll(async () => s.close());

  it('plans one image per lane; reuse keeps the peak well under the sum of all activations', () => {
    const p = s.plan([4, 3, 128, 128]);
    expect(p.inputShape).toEqual([1, 3, 128, 128]);
    expect(p.lanes).toBe(2);
    // Largest single activation: base 8 × 128² floats, plus the skip tensors held until their concat.
    expect(p.arenaBytes).toBeGreaterThanOrEqual(2 * 8 * 128 * 128 * 4);
    expect(p.arenaBytes).toBeLessThan(p.unplannedBytes / 2);
    expect(p.sharedBytes).toBe(p.constantBytes + 2 * p.arenaBytes + 2 * p.scratchBytes);
  });

  it('is cached per shape and scales with the image area', () => {
    const a = s.plan([1, 3, 64, 64]);
    expect(a.lanes).toBe(1);
    expect(s.plan([7, 3, 64, 64]).arenaBytes).toBe(a.arenaBytes);
    expect(s.plan([1, 3, 128, 128]).arenaBytes).toBe(4 * a.arenaBytes);
  });
});

describe('refusals (before any work)', () => {
  let s: Session;
  beforeAll(async () => {
    s = await createSession(unetModel({ inChannels: 3, classes: 1, base: 4, depth: 2, upMode: 'transpose' }), { workers: 1 });
  });
  afterAll(async () => s.close());

  it('x=[3,32,32] (rank 3) → ERR_SHAPE_MISMATCH naming expected rank 4 and the received shape', async () => {
    await expect(s.run(new Tensor([3, 32, 32]))).rejects.toMatchObject({
      code: 'ERR_SHAPE_MISMATCH', message: expect.stringMatching(/expected an input of rank 4 \[N, 3, H, W\] but received \[3,32,32\]/),
    });
  });

  it('x=[1,4,32,32] (4 channels for a 3-channel model) → ERR_SHAPE_MISMATCH', async () => {
    await expect(s.run(new Tensor([1, 4, 32, 32]))).rejects.toMatchObject({
      code: 'ERR_SHAPE_MISMATCH', message: expect.stringMatching(/expected 3 input channels .* but received \[1,4,32,32\]/),
    });
  });

  it('a Float32Array instead of a Tensor → ERR_INVALID_ARG_TYPE', async () => {
    await expect(s.run(new Float32Array(3) as unknown as Tensor)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('x=[1,3,40000,40000] (activations beyond 4 GiB) → ERR_INPUT_TOO_LARGE pointing at tiling, nothing allocated', async () => {
    const before = s.plan([1, 3, 32, 32]).sharedBytes;
    const big = { shape: [1, 3, 40000, 40000], data: new Float32Array(0) };
    Object.setPrototypeOf(big, Tensor.prototype);
    await expect(s.run(big as Tensor)).rejects.toMatchObject({ code: 'ERR_INPUT_TOO_LARGE', message: expect.stringMatching(/tiles/) });
    expect(() => s.plan([1, 3, 20000, 20000])).toThrow(expect.objectContaining({ code: 'ERR_INPUT_TOO_LARGE' }));
    expect(s.plan([1, 3, 32, 32]).sharedBytes).toBe(before);
  });

  it('options: workers 0, 1.5, "2" and blocksPerWorker 0 → ERR_INVALID_ARG_VALUE naming the option', () => {
    for (const workers of [0, 1.5, '2']) {
      expect(() => resolveSessionOptions({ workers: workers as number })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/options\.workers/) }),
      );
    }
    expect(() => resolveSessionOptions({ blocksPerWorker: 0 })).toThrow(expect.objectContaining({ message: expect.stringMatching(/blocksPerWorker/) }));
    expect(resolveSessionOptions({}).workers).toBeGreaterThanOrEqual(1);
  });

  it('close() while a run is in flight lets it finish, then refuses new runs', async () => {
    const model = unetModel({ inChannels: 3, classes: 1, base: 4, depth: 2, upMode: 'transpose' });
    const t = await createSession(model, { workers: 2, precision: 'exact' });
    const x = input([2, 3, 32, 32]);
    const pending = t.run(x);
    const closing = t.close();
    expectIdentical(await pending, oracle(model, x).output!);
    await closing;
    await expect(t.run(x)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('after close() → ERR_CLOSED', async () => {
    const t = await createSession(unetModel({ inChannels: 3, classes: 1, base: 4, depth: 2, upMode: 'transpose' }), { workers: 1 });
    await t.close();
    await expect(t.run(input([1, 3, 16, 16]))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('a worker that dies mid-run', () => {
  const model = unetModel({ inChannels: 3, classes: 2, base: 8, depth: 3, upMode: 'transpose' });
  let s: Session;
  beforeAll(async () => {
    s = await createSession(model, { workers: 2, precision: 'exact' });
  });
  afterAll(async () => s.close());

  it('one image (all workers on it): the run rejects with ERR_WORKER, the next run succeeds', async () => {
    const x = input([1, 3, 64, 64]);
    injectWorkerExit(s, 4);
    await expect(s.run(x)).rejects.toMatchObject({ code: 'ERR_WORKER', message: expect.stringMatching(/worker failed/) });
    expectIdentical(await s.run(x), oracle(model, x).output!);
  });

  it('a batch (whole images per worker): the run rejects with ERR_WORKER, the next run succeeds', async () => {
    const x = input([4, 3, 32, 32], 5);
    injectWorkerExit(s, 2);
    await expect(s.run(x)).rejects.toMatchObject({ code: 'ERR_WORKER' });
    expectIdentical(await s.run(x), oracle(model, x).output!);
  });
});
