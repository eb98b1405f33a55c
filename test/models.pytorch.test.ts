import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTorchCheckpoint } from '../src/models/pytorch/checkpoint.js';
import { ErrorCode } from '../src/errors.js';
import { inferUnetArchitecture, loadPytorch, unetFromCheckpoint } from '../src/models/pytorch/index.js';
import { unetWeightShapes } from '../src/models/unet.js';
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

describe('U-Net architecture from state_dict keys and shapes', () => {
  const stateDict = (config: Parameters<typeof unetWeightShapes>[0]): Map<string, Tensor> =>
    new Map([...unetWeightShapes(config)].map(([k, shape]) => [k, new Tensor(shape)]));

  for (const config of [
    { inChannels: 1, classes: 2, base: 4, depth: 3, upMode: 'bilinear' as const },
    { inChannels: 3, classes: 1, base: 6, depth: 5, upMode: 'transpose' as const },
    { inChannels: 4, classes: 7, base: 64, depth: 4, upMode: 'transpose' as const },
  ]) {
    it(`in=${config.inChannels} classes=${config.classes} base=${config.base} depth=${config.depth} up=${config.upMode}`, () => {
      expect(inferUnetArchitecture(stateDict(config), 'sd')).toEqual({ type: 'unet', ...config });
    });
  }

  it('a gap in the down blocks → ERR_MODEL_FORMAT naming the missing block', () => {
    const sd = stateDict({ inChannels: 1, classes: 1, base: 4, depth: 3 });
    for (const k of [...sd.keys()]) if (k.startsWith('down2.')) sd.delete(k);
    expect(() => inferUnetArchitecture(sd, 'gap.pth')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/down2 is missing/) }));
  });

  it('inc.double_conv.0.weight with a 5×5 kernel → ERR_MODEL_FORMAT with expected and received shapes', () => {
    const sd = stateDict({ inChannels: 1, classes: 1, base: 4, depth: 2 });
    sd.set('inc.double_conv.0.weight', new Tensor([4, 1, 5, 5]));
    expect(() => inferUnetArchitecture(sd, 'k5.pth')).toThrow(expect.objectContaining({ message: expect.stringMatching(/expected shape \[base, inChannels, 3, 3\] but received \[4,1,5,5\]/) }));
  });

  it('a weight of the wrong shape → ERR_MODEL_FORMAT naming it and what a U-Net needs', () => {
    const sd = stateDict({ inChannels: 1, classes: 1, base: 4, depth: 2 });
    sd.set('up1.conv.double_conv.0.weight', new Tensor([8, 16, 1, 1]));
    expect(() => unetFromCheckpoint(sd, 'bad.pth')).toThrow(
      expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/up1\.conv\.double_conv\.0\.weight.*expected a milesial U-Net state_dict/) }),
    );
  });

  it('a checkpoint holding a single tensor → ERR_MODEL_FORMAT', () => {
    expect(() => unetFromCheckpoint(new Tensor([2, 2]), 't.pth')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/single tensor \[2,2\]/) }));
  });
});
