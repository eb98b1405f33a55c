import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { runGraph } from '../src/graph/execute.js';
import { optimizeGraph } from '../src/graph/passes.js';
import { wasmBackend } from '../src/kernels/backend.js';
import { loadModel } from '../src/models/load.js';
import { registerBackend } from '../src/ops/backend.js';
import { Tensor } from '../src/tensor/tensor.js';

const ROOT = 'test/fixtures/models';
const index = JSON.parse(readFileSync(`${ROOT}/index.json`, 'utf8')) as { models: { name: string; dir: string; input: { shape: number[] }; output: { maxAbs: number } }[] };
const f32 = (p: string) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe('whole networks on the wasm backend match PyTorch (unfolded and folded graphs)', () => {
  registerBackend(wasmBackend);
  for (const m of index.models) {
    test(`${m.name} x=[${m.input.shape}] within 1e-4 of max|y|`, async () => {
      const model = await loadModel(`${ROOT}/${m.dir}`);
      const x = new Tensor(m.input.shape, f32(`${ROOT}/${m.dir}/input.f32`));
      const ref = f32(`${ROOT}/${m.dir}/output.f32`);
      for (const g of [model.graph, optimizeGraph(model.graph)]) {
        const y = runGraph(g, x, { backend: 'wasm' }).output!;
        let e = 0;
        for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(ref[i]! - y.data[i]!));
        expect(e / m.output.maxAbs).toBeLessThan(1e-4);
      }
    });
  }
});
