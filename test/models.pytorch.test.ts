import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTorchCheckpoint } from '../src/models/pytorch/checkpoint.js';
import { loadPytorch } from '../src/models/pytorch/index.js';
import { runGraph } from '../src/graph/execute.js';
import { Tensor } from '../src/tensor/tensor.js';

const MODELS = join(import.meta.dirname, 'fixtures', 'models');

describe('torch.save checkpoint reader', () => {
  it('reads a plain state_dict: OrderedDict of float32 tensors with their shapes', () => {
    const f = join(MODELS, 'unet_t_c1_b4_d3', 'model.pth');
    const sd = readTorchCheckpoint(readFileSync(f), f) as Map<string, unknown>;
    expect(sd).toBeInstanceOf(Map);
    const w = sd.get('inc.double_conv.0.weight') as Tensor;
    expect(w).toBeInstanceOf(Tensor);
    expect(w.shape).toEqual([4, 3, 3, 3]);
    expect((sd.get('inc.double_conv.1.num_batches_tracked') as Tensor).data[0]).toBe(7);
  });

  it('reads a {"model_state_dict": …, "epoch": 3} checkpoint', () => {
    const f = join(MODELS, 'unet_b_c3_b8_d2', 'model.pth');
    const ck = readTorchCheckpoint(readFileSync(f), f) as Map<string, unknown>;
    expect(ck.get('epoch')).toBe(3);
    expect(ck.get('model_state_dict')).toBeInstanceOf(Map);
  });

  it('keeps mask_values as a plain list', () => {
    const f = join(MODELS, 'unet_t_c3_b6_d2', 'model.pth');
    const ck = readTorchCheckpoint(readFileSync(f), f) as Map<string, unknown>;
    expect(ck.get('mask_values')).toEqual([0, 1, 2]);
  });
});

interface FixtureSpec {
  name: string;
  dir: string;
  architecture: Record<string, unknown>;
  pth: { file: string; variant: string };
  input: { file: string; shape: number[] };
  output: { file: string; shape: number[]; maxAbs: number };
}

function readF32(path: string, shape: number[]): Tensor {
  const b = readFileSync(path);
  return new Tensor(shape, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

const index = JSON.parse(readFileSync(join(MODELS, 'index.json'), 'utf8')) as { models: FixtureSpec[] };

describe('loadPytorch: milesial U-Net checkpoints run like PyTorch', () => {
  for (const spec of index.models) {
    it(`${spec.name} (${spec.pth.variant}): architecture inferred, output within 1e-4·max|y| of PyTorch`, async () => {
      const model = await loadPytorch(join(MODELS, spec.dir, spec.pth.file));
      expect(model.architecture).toEqual(spec.architecture);
      expect(model.source.format).toBe('pytorch');
      const x = readF32(join(MODELS, spec.dir, spec.input.file), spec.input.shape);
      const want = readF32(join(MODELS, spec.dir, spec.output.file), spec.output.shape);
      const out = Object.values(runGraph(model, x))[0]!;
      expect(out.shape).toEqual(spec.output.shape);
      expect(maxAbsDiff(out, want)).toBeLessThanOrEqual(1e-4 * spec.output.maxAbs);
      if (spec.pth.variant === 'mask_values') expect(model.meta.output.classValues).toEqual([0, 1, 2]);
    });
  }
});

describe('storage dtypes and views', () => {
  const IMPORT = join(import.meta.dirname, 'fixtures', 'import');
  const expected = (JSON.parse(readFileSync(join(IMPORT, 'index.json'), 'utf8')) as { tensors: Record<string, { shape: number[]; values: number[] }> }).tensors;
  const f = join(IMPORT, 'tensors.pth');
  const sd = readTorchCheckpoint(readFileSync(f), f) as Map<string, Tensor>;
  for (const [name, why] of [
    ['view', 'offset 10, strides (8, 2) into a shared storage'],
    ['transposed', 'non-contiguous strides (1, 4)'],
    ['half', 'float16, subnormal and max included'],
    ['double', 'float64 converted to float32'],
    ['base', 'the storage the view shares'],
    ['count', 'int64 scalar'],
  ] as const) {
    it(`${name}: ${why}`, () => {
      const t = sd.get(name)!;
      expect(t.shape).toEqual(expected[name]!.shape);
      expect(Array.from(t.data)).toEqual(Array.from(Float32Array.from(expected[name]!.values)));
    });
  }
});

describe('a float16 U-Net inside {"state_dict": …} with "module." keys and RGB mask_values', () => {
  const IMPORT = join(import.meta.dirname, 'fixtures', 'import');
  const spec = (JSON.parse(readFileSync(join(IMPORT, 'index.json'), 'utf8')) as { halfUnet: FixtureSpec & { file: string; maskValues: number[][] } }).halfUnet;

  it('loads, keeps the RGB mask values in provenance and matches PyTorch (float16 weights → float32)', async () => {
    const model = await loadPytorch(join(IMPORT, spec.file));
    expect(model.architecture).toEqual(spec.architecture);
    expect(model.meta.provenance['maskValues']).toEqual(spec.maskValues);
    expect(model.meta.output.classValues).toBeNull();
    const x = readF32(join(IMPORT, spec.input.file), spec.input.shape);
    const want = readF32(join(IMPORT, spec.output.file), spec.output.shape);
    const out = Object.values(runGraph(model, x))[0]!;
    expect(maxAbsDiff(out, want)).toBeLessThanOrEqual(1e-4 * spec.output.maxAbs);
  });
});
