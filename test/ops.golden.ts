/**
 * The PyTorch golden suite (fixtures from tools/gen_op_fixtures.py, torch 1.13) as a reusable function, so every
 * backend runs the same cases: `runGoldenSuite('reference')`, `runGoldenSuite('wasm', { setup })`.
 * Outputs must match within atol 1e-4 + rtol 1e-4·|expected|; cases PyTorch refused must throw our error code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';
import { isUnetError } from '../src/errors.js';

interface Ref { o: number; s: number[] }
type Input = Ref | Ref[] | { scalar: number } | null;

export interface GoldenCase {
  name: string;
  op: string;
  inputs: Record<string, Input>;
  options: Record<string, unknown>;
  pads?: number[];
  output?: Ref;
  error?: string;
  code?: string;
}

export interface GoldenIndex {
  torch: string;
  seed: number;
  floats: number;
  cases: GoldenCase[];
}

const dir = fileURLToPath(new URL('./fixtures/ops/', import.meta.url));

/** The parsed index and the float32 blob of every tensor. */
export function loadGolden(): { index: GoldenIndex; blob: Float32Array } {
  const index = JSON.parse(readFileSync(dir + 'golden.json', 'utf8')) as GoldenIndex;
  const bytes = readFileSync(dir + 'golden.f32');
  const blob = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { index, blob };
}

export const ATOL = 1e-4;
export const RTOL = 1e-4;

function tensorOf(blob: Float32Array, r: Ref): Tensor {
  const n = r.s.reduce((a, b) => a * b, 1);
  return new Tensor(r.s, blob.slice(r.o, r.o + n));
}

/** Call our op for one golden case. */
export function runCase(c: GoldenCase, blob: Float32Array, backend: string): Tensor {
  const t = (name: string): Tensor | null => {
    const v = c.inputs[name];
    return v === null || v === undefined ? null : tensorOf(blob, v as Ref);
  };
  const opts = { ...c.options, backend } as never;
  switch (c.op) {
    case 'conv2d':
      return ops.conv2d(t('x')!, t('weight')!, t('bias'), opts);
    case 'convTranspose2d':
      return ops.convTranspose2d(t('x')!, t('weight')!, t('bias'), opts);
    case 'maxPool2d':
      return ops.maxPool2d(t('x')!, opts);
    case 'avgPool2d':
      return ops.avgPool2d(t('x')!, opts);
    case 'batchNorm2d':
      return ops.batchNorm2d(t('x')!, t('runningMean')!, t('runningVar')!, t('weight'), t('bias'), opts);
    case 'relu':
      return ops.relu(t('x')!, opts);
    case 'leakyRelu':
      return ops.leakyRelu(t('x')!, opts);
    case 'sigmoid':
      return ops.sigmoid(t('x')!, opts);
    case 'tanh':
      return ops.tanh(t('x')!, opts);
    case 'softmax':
      return ops.softmax(t('x')!, opts);
    case 'concat':
      return ops.concat((c.inputs.tensors as Ref[]).map((r) => tensorOf(blob, r)), opts);
    case 'pad':
      return ops.pad(t('x')!, c.pads!, opts);
    case 'add':
    case 'mul': {
      const b = c.inputs.b as Ref | { scalar: number };
      const bv = 'scalar' in b ? b.scalar : tensorOf(blob, b);
      return c.op === 'add' ? ops.add(t('a')!, bv, opts) : ops.mul(t('a')!, bv, opts);
    }
    case 'interpolate':
      return ops.interpolate(t('x')!, opts);
    default:
      throw new Error(`golden case with unknown op ${c.op}`);
  }
}

/** Largest |got - want| and the largest relative error over elements with |want| >= 1e-3. */
export function compare(got: Float32Array, want: Float32Array): { maxAbs: number; maxRel: number; worst: number } {
  let maxAbs = 0;
  let maxRel = 0;
  let worst = 0; // largest |err| / (atol + rtol·|want|); <= 1 passes
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    const err = Number.isNaN(w) ? (Number.isNaN(g) ? 0 : Infinity) : Math.abs(g - w);
    maxAbs = Math.max(maxAbs, err);
    if (Math.abs(w) >= 1e-3) maxRel = Math.max(maxRel, err / Math.abs(w));
    worst = Math.max(worst, err / (ATOL + RTOL * Math.abs(w)));
  }
  return { maxAbs, maxRel, worst };
}

export interface GoldenSuiteOptions {
  /** Runs before the cases (e.g. load and register the backend). */
  setup?: () => void | Promise<void>;
  /** Only run the cases this returns true for (e.g. ops a backend does not implement yet). */
  filter?: (c: GoldenCase) => boolean;
}

/** Define one vitest `it` per golden case, run through the named backend. */
export function runGoldenSuite(backend: string, options: GoldenSuiteOptions = {}): void {
  const { index, blob } = loadGolden();
  const cases = index.cases.filter(options.filter ?? (() => true));
  const stats = { maxAbs: 0, maxRel: 0, compared: 0, refused: 0 };
  describe(`golden cases from PyTorch ${index.torch} (backend ${backend})`, () => {
    if (options.setup) beforeAll(options.setup);
    afterAll(() => {
      console.log(
        `golden[${backend}]: ${stats.compared} outputs compared, ${stats.refused} refusals; ` +
          `max abs error ${stats.maxAbs.toExponential(2)}, max rel error ${stats.maxRel.toExponential(2)}`,
      );
    });
    it('has at least 400 cases covering every op', () => {
      expect(index.cases.length).toBeGreaterThanOrEqual(400);
      const ops = new Set(index.cases.map((c) => c.op));
      for (const op of ['conv2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d', 'batchNorm2d', 'relu', 'leakyRelu', 'sigmoid', 'tanh', 'softmax', 'concat', 'pad', 'add', 'mul', 'interpolate']) {
        expect(ops.has(op), op).toBe(true);
      }
    });
    for (const c of cases) {
      if (c.error !== undefined) {
        it(`${c.name} throws ${c.code} (torch: ${c.error.slice(0, 80)})`, () => {
          let thrown: unknown;
          try {
            runCase(c, blob, backend);
          } catch (e) {
            thrown = e;
          }
          expect(thrown, 'expected a refusal').toBeDefined();
          expect(isUnetError(thrown), String(thrown)).toBe(true);
          expect((thrown as { code: string }).code).toBe(c.code);
          expect((thrown as Error).message).toMatch(new RegExp(`^${c.op}: `));
          stats.refused++;
        });
      } else {
        it(c.name, () => {
          const want = tensorOf(blob, c.output!);
          const got = runCase(c, blob, backend);
          expect(got.shape).toEqual(want.shape);
          const r = compare(got.data, want.data);
          stats.maxAbs = Math.max(stats.maxAbs, r.maxAbs);
          stats.maxRel = Math.max(stats.maxRel, r.maxRel);
          stats.compared++;
          expect(r.worst, `max abs ${r.maxAbs}, max rel ${r.maxRel}`).toBeLessThanOrEqual(1);
        });
      }
    }
  });
}
