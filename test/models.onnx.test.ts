import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../src/graph/execute.js';
import type { Model } from '../src/models/model.js';
import { loadModel } from '../src/models/load.js';
import { loadOnnx } from '../src/models/onnx/index.js';
import { createSession } from '../src/runtime/session.js';
import { Tensor } from '../src/tensor/tensor.js';

const MODELS = join(import.meta.dirname, 'fixtures', 'models');

function readF32(path: string, shape: number[]): Tensor {
  const b = readFileSync(path);
  return new Tensor(shape, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

/** Run a model on x, re-specializing it first when its graph was imported for another shape. */
function run(model: Model, x: Tensor): Record<string, Tensor> {
  const declared = model.graph.inputs[0]!.shape;
  const fits = declared.length === x.shape.length && declared.every((d, i) => d === null || d === x.shape[i]);
  return runGraph(!fits && model.specialize ? model.specialize(x.shape) : model, x);
}

interface MilesialSpec {
  name: string;
  dir: string;
  onnx: { file: string; opset: number; dynamicAxes: boolean };
  input: { file: string; shape: number[] };
  output: { file: string; shape: number[]; maxAbs: number };
}
const milesial = JSON.parse(readFileSync(join(MODELS, 'index.json'), 'utf8')) as { models: MilesialSpec[] };

describe('loadOnnx: milesial U-Nets exported by torch.onnx match PyTorch', () => {
  for (const spec of milesial.models) {
    const label = `${spec.name} opset ${spec.onnx.opset} ${spec.onnx.dynamicAxes ? 'dynamic axes' : 'fixed size'}`;
    it(`${label}: output within 1e-4·max|y| of PyTorch`, async () => {
      const model = await loadOnnx(join(MODELS, spec.dir, spec.onnx.file));
      expect(model.source.format).toBe('onnx');
      const x = readF32(join(MODELS, spec.dir, spec.input.file), spec.input.shape);
      const want = readF32(join(MODELS, spec.dir, spec.output.file), spec.output.shape);
      const out = Object.values(run(model, x))[0]!;
      expect(out.shape).toEqual(spec.output.shape);
      expect(maxAbsDiff(out, want)).toBeLessThanOrEqual(1e-4 * spec.output.maxAbs);
    });
  }
});

const IMPORT = join(import.meta.dirname, 'fixtures', 'import');
interface ImportCase {
  input: { file: string; shape: number[] };
  outputs: { file: string; shape: number[]; maxAbs: number }[];
}
interface ImportSpec {
  name: string;
  file: string;
  opset: number;
  dynamicAxes: boolean;
  cases: ImportCase[];
}
const imports = JSON.parse(readFileSync(join(IMPORT, 'index.json'), 'utf8')) as { models: ImportSpec[] };

describe('loadOnnx: U²-Net RSU blocks and an ISNet-like model match PyTorch on every output', () => {
  for (const spec of imports.models) {
    for (const [k, c] of spec.cases.entries()) {
      it(`${spec.file} case ${k} x=${JSON.stringify(c.input.shape)}: ${c.outputs.length} outputs within 1e-4·max|y|`, async () => {
        const model = await loadOnnx(join(IMPORT, spec.file));
        expect(model.graph.outputs).toHaveLength(c.outputs.length);
        const x = readF32(join(IMPORT, c.input.file), c.input.shape);
        const outs = run(model, x);
        c.outputs.forEach((o, j) => {
          const got = outs[model.graph.outputs[j]!]!;
          expect(got.shape).toEqual(o.shape);
          expect(maxAbsDiff(got, readF32(join(IMPORT, o.file), o.shape))).toBeLessThanOrEqual(1e-4 * o.maxAbs);
        });
      });
    }
  }
});

describe('imported models on the worker pool', () => {
  it('isnet_like.opset17.onnx via loadModel + createSession: both input sizes (re-specialized), every output', async () => {
    const spec = imports.models.find((m) => m.file === 'isnet_like.opset17.onnx')!;
    const session = await createSession(await loadModel(join(IMPORT, spec.file)), { workers: 2 });
    try {
      expect(session.outputNames).toHaveLength(2);
      for (const c of spec.cases) {
        const outs = await session.runOutputs(readF32(join(IMPORT, c.input.file), c.input.shape));
        c.outputs.forEach((o, j) => {
          expect(maxAbsDiff(outs[session.outputNames[j]!]!, readF32(join(IMPORT, o.file), o.shape))).toBeLessThanOrEqual(1e-4 * o.maxAbs);
        });
      }
    } finally {
      await session.close();
    }
  });
});

describe('metadata of imported models', () => {
  it('a model exported at a fixed H×W asks the pipeline to resize to it; a dynamic one does not', async () => {
    const fixed = await loadOnnx(join(IMPORT, 'u2net_rsu.opset17.onnx'));
    expect(fixed.meta.input).toMatchObject({ channels: 3, resize: 'fit', size: [45, 37] });
    expect(fixed.meta.output.activation).toBe('sigmoid');
    const dynamic = await loadOnnx(join(IMPORT, 'isnet_like.opset17.onnx'));
    expect(dynamic.meta.input).toMatchObject({ channels: 3, resize: 'native', size: null });
    expect(dynamic.graph.inputs[0]!.shape).toEqual([null, 3, 512, 512]);
  });
});
