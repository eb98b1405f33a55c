import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { runGraph } from '../src/graph/execute.js';
import { inferShapes } from '../src/graph/graph.js';
import { loadModel } from '../src/models/load.js';
import { readSafetensors } from '../src/models/safetensors.js';
import { buildUnet, resolveUnetConfig, unetWeightShapes } from '../src/models/unet.js';
import { Tensor } from '../src/tensor/tensor.js';

const ROOT = 'test/fixtures/models';
interface FixtureEntry {
  name: string;
  dir: string;
  architecture: { inChannels: number; classes: number; base: number; depth: number; upMode: 'transpose' | 'bilinear' };
  input: { file: string; shape: number[] };
  output: { file: string; shape: number[]; maxAbs: number };
}
const index = JSON.parse(readFileSync(`${ROOT}/index.json`, 'utf8')) as { models: FixtureEntry[] };

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** max |a - b| relative to max |b|. */
function relError(a: Float32Array, b: Float32Array): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return e / m;
}

describe('U-Net builder vs PyTorch (milesial structure, randomized BN statistics)', () => {
  for (const m of index.models) {
    const a = m.architecture;
    test(`${m.name}: up=${a.upMode} in=${a.inChannels} classes=${a.classes} base=${a.base} depth=${a.depth} x=[${m.input.shape}] matches within 1e-4 of max|y|`, async () => {
      const model = await loadModel(`${ROOT}/${m.dir}`);
      expect(model.architecture).toEqual({ type: 'unet', ...a });
      const x = new Tensor(m.input.shape, f32(`${ROOT}/${m.dir}/${m.input.file}`));
      const y = runGraph(model, x).output!;
      expect(y.shape).toEqual(m.output.shape);
      const err = relError(y.data, f32(`${ROOT}/${m.dir}/${m.output.file}`));
      expect(err).toBeLessThan(1e-4);
    });
  }
});

describe('weight names are milesial state_dict keys', () => {
  for (const m of index.models) {
    test(`${m.name}: unetWeightShapes == safetensors keys without num_batches_tracked, with the same shapes`, async () => {
      const { tensors } = await readSafetensors(`${ROOT}/${m.dir}/model.safetensors`);
      const expected = new Map([...tensors].filter(([k]) => !k.endsWith('num_batches_tracked')).map(([k, t]) => [k, t.shape]));
      expect(new Map(unetWeightShapes(m.architecture))).toEqual(expected);
    });
  }

  test('milesial original (depth 4, base 64, transpose) has the published key set and 31,037,698 parameters (3 in, 2 classes)', () => {
    const shapes = unetWeightShapes({ inChannels: 3, classes: 2 });
    expect(shapes.get('inc.double_conv.0.weight')).toEqual([64, 3, 3, 3]);
    expect(shapes.get('down4.maxpool_conv.1.double_conv.3.weight')).toEqual([1024, 1024, 3, 3]);
    expect(shapes.get('up1.up.weight')).toEqual([1024, 512, 2, 2]);
    expect(shapes.get('up4.conv.double_conv.0.weight')).toEqual([64, 128, 3, 3]);
    expect(shapes.get('outc.conv.bias')).toEqual([2]);
    let params = 0;
    for (const [k, s] of shapes) if (!/running_(mean|var)$/.test(k)) params += s.reduce((p, d) => p * d, 1);
    expect(params).toBe(31_037_698);
  });

  test('milesial bilinear (factor 2): down4 has 512 channels, up1 DoubleConv(1024, 256, mid 512), 17,263,042 parameters', () => {
    const shapes = unetWeightShapes({ inChannels: 3, classes: 2, upMode: 'bilinear' });
    expect(shapes.get('down4.maxpool_conv.1.double_conv.3.weight')).toEqual([512, 512, 3, 3]);
    expect(shapes.get('up1.conv.double_conv.0.weight')).toEqual([512, 1024, 3, 3]);
    expect(shapes.get('up1.conv.double_conv.3.weight')).toEqual([256, 512, 3, 3]);
    expect(shapes.has('up1.up.weight')).toBe(false);
    let params = 0;
    for (const [k, s] of shapes) if (!/running_(mean|var)$/.test(k)) params += s.reduce((p, d) => p * d, 1);
    expect(params).toBe(17_263_042);
  });
});

describe('any input size works as in PyTorch', () => {
  for (const upMode of ['transpose', 'bilinear'] as const) {
    for (const [h, w] of [[250, 313], [16, 16], [17, 31], [64, 33]] as const) {
      test(`upMode=${upMode} depth=4 x=[2,1,${h},${w}] → output [2,2,${h},${w}]`, () => {
        const g = buildUnet({ inChannels: 1, classes: 2, base: 8, depth: 4, upMode });
        const shapes = inferShapes(g, [2, 1, h, w]);
        expect(shapes.get('output')).toEqual([2, 2, h, w]);
      });
    }
  }

  test('a randomly initialized depth-2 U-Net runs on x=[1,3,13,11] and is deterministic for a seed', () => {
    const x = new Tensor([1, 3, 13, 11], Float32Array.from({ length: 3 * 13 * 11 }, (_, i) => Math.sin(i)));
    const a = runGraph(buildUnet({ inChannels: 3, classes: 1, base: 4, depth: 2, upMode: 'bilinear' }, { seed: 7 }), x).output!;
    const b = runGraph(buildUnet({ inChannels: 3, classes: 1, base: 4, depth: 2, upMode: 'bilinear' }, { seed: 7 }), x).output!;
    expect(a.shape).toEqual([1, 1, 13, 11]);
    expect(a.data).toEqual(b.data);
    expect(a.data.some((v) => v !== 0)).toBe(true);
  });

  test('input smaller than 2^depth is refused naming the pooling node', () => {
    const g = buildUnet({ inChannels: 1, classes: 1, base: 4, depth: 3 });
    expect(() => inferShapes(g, [1, 1, 6, 40])).toThrow(/maxPool2d\[down3\.maxpool_conv\.0\]: output size is too small/);
  });

  test('input with the wrong channel count is refused naming the input and both shapes', () => {
    const g = buildUnet({ inChannels: 3, classes: 1, base: 4, depth: 2 });
    expect(() => inferShapes(g, [1, 1, 32, 32])).toThrow(/input\[input\]: expected a shape like \[\?,3,\?,\?\] but received \[1,1,32,32\]/);
  });
});

describe('configuration and weight validation', () => {
  test('defaults are milesial: base 64, depth 4, transpose', () => {
    expect(resolveUnetConfig({ inChannels: 3, classes: 1 })).toEqual({ type: 'unet', inChannels: 3, classes: 1, base: 64, depth: 4, upMode: 'transpose' });
  });
  test.each([
    [{ inChannels: 0, classes: 1 }, /Expected an integer in 1\.\.4096 for inChannels but received 0/],
    [{ inChannels: 1, classes: 1.5 }, /Expected an integer in 1\.\.4096 for classes but received 1\.5/],
    [{ inChannels: 1, classes: 1, depth: 9 }, /Expected an integer in 1\.\.8 for depth but received 9/],
    [{ inChannels: 1, classes: 1, upMode: 'nearest' }, /Expected 'transpose' or 'bilinear' for upMode but received "nearest"/],
    [{ inChannels: 1, classes: 1, base: 5, upMode: 'bilinear' }, /Expected an even number in 'bilinear' mode/],
  ])('refuses %j', (cfg, re) => {
    expect(() => resolveUnetConfig(cfg as never)).toThrow(re);
  });
  test('a string where a number belongs is a TypeError with ERR_INVALID_ARG_TYPE', () => {
    expect(() => resolveUnetConfig({ inChannels: '3' as never, classes: 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'UnetTypeError' }));
  });

  test('weights of the wrong shape, missing or unknown are refused with ERR_MODEL_FORMAT naming the key', async () => {
    const { tensors } = await readSafetensors(`${ROOT}/unet_t_c3_b6_d2/model.safetensors`);
    const cfg = { inChannels: 1, classes: 3, base: 6, depth: 2, upMode: 'transpose' } as const;
    const wrong = new Map(tensors);
    wrong.set('outc.conv.weight', new Tensor([3, 6, 3, 3]));
    expect(() => buildUnet(cfg, { weights: wrong, source: 'w.safetensors' })).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_FORMAT', message: "w.safetensors: weight 'outc.conv.weight': expected shape [3,6,1,1] but received [3,6,3,3]" }),
    );
    const missing = new Map(tensors);
    missing.delete('up1.up.bias');
    expect(() => buildUnet(cfg, { weights: missing })).toThrow(/missing 1 U-Net weight\(s\): up1\.up\.bias/);
    const extra = new Map(tensors);
    extra.set('up9.up.weight', new Tensor([1]));
    expect(() => buildUnet(cfg, { weights: extra })).toThrow(/unexpected weight\(s\) for this U-Net architecture: up9\.up\.weight \(check depth, base and upMode\)/);
  });
});

describe('every fixture format loads through loadModel and matches PyTorch', () => {
  for (const m of index.models) {
    for (const file of ['model.pth', 'model.onnx', 'model.safetensors', 'model.json']) {
      test(`${m.name}/${file} x=[${m.input.shape}] within 1e-4 of max|y|`, async () => {
        const model = await loadModel(`${ROOT}/${m.dir}/${file}`);
        const x = new Tensor(m.input.shape, f32(`${ROOT}/${m.dir}/${m.input.file}`));
        const y = runGraph(model, x)[model.graph.outputs[0]!]!;
        expect(y.shape).toEqual(m.output.shape);
        expect(relError(y.data, f32(`${ROOT}/${m.dir}/${m.output.file}`))).toBeLessThan(1e-4);
      });
    }
  }
});
