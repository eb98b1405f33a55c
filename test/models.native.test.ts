import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runGraph } from '../src/graph/execute.js';
import type { Graph } from '../src/graph/ir.js';
import { optimizeGraph } from '../src/graph/passes.js';
import { detectModelFormat, loadModel } from '../src/models/load.js';
import type { Model } from '../src/models/model.js';
import { defaultMeta } from '../src/models/model.js';
import { parseModelJson, saveModel } from '../src/models/native.js';
import { buildUnet } from '../src/models/unet.js';
import { Tensor } from '../src/tensor/tensor.js';

const FIX = 'test/fixtures/models/unet_t_c1_b4_d3';
const tmp = () => mkdtempSync(join(tmpdir(), 'native-'));
const x = new Tensor([1, 3, 19, 23], Float32Array.from({ length: 3 * 19 * 23 }, (_, i) => Math.cos(i * 0.37)));

function maxDiff(a: Tensor, b: Tensor): number {
  let e = 0;
  for (let i = 0; i < a.size; i++) e = Math.max(e, Math.abs(a.data[i]! - b.data[i]!));
  return e;
}

function unetModel(): Model {
  const architecture = { type: 'unet', inChannels: 3, classes: 2, base: 4, depth: 2, upMode: 'transpose' } as const;
  const meta = { ...defaultMeta(3, 2, 'roundtrip'), description: 'test', provenance: { run: 1 } };
  return { graph: buildUnet(architecture, { seed: 5 }), architecture, meta, source: { format: 'builder', path: null } };
}

describe('save → load round trip', () => {
  test('architecture mode: model.json names the architecture, weights are milesial keys, outputs identical', async () => {
    const m = unetModel();
    const dir = tmp();
    const jsonPath = await saveModel(m, dir);
    const doc = JSON.parse(readFileSync(jsonPath, 'utf8'));
    expect(doc).toMatchObject({ format: 'unet-pipeline/model', formatVersion: 1, name: 'roundtrip', weights: 'model.safetensors', graph: null, architecture: m.architecture });
    const back = await loadModel(dir);
    expect(back.architecture).toEqual(m.architecture);
    expect(back.meta).toEqual(m.meta);
    expect(back.source).toEqual({ format: 'native', path: jsonPath });
    expect(maxDiff(runGraph(back, x).output!, runGraph(m, x).output!)).toBe(0);
  });

  test('graph mode: an optimized graph (folded weights, fused epilogues) is saved as a serialized graph and runs the same', async () => {
    const m = unetModel();
    const opt: Model = { ...m, graph: optimizeGraph(m.graph) };
    const dir = tmp();
    await saveModel(opt, dir);
    const doc = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(doc.architecture).toBeNull();
    expect(doc.graph.nodes.length).toBe(opt.graph.nodes.length);
    const back = await loadModel(join(dir, 'model.json'));
    expect(back.architecture).toBeNull();
    expect(maxDiff(runGraph(back, x).output!, runGraph(opt, x).output!)).toBe(0);
  });

  test('graph mode keeps clip bounds of ±Infinity (stored as null)', async () => {
    const graph: Graph = {
      inputs: [{ name: 'x', shape: [null, 1, null, null] }],
      outputs: ['y'],
      nodes: [{ op: 'clip', name: 'c', inputs: ['x'], outputs: ['y'], attrs: { min: 0, max: Infinity } }],
      initializers: new Map(),
    };
    const dir = tmp();
    await saveModel({ graph, architecture: null, meta: defaultMeta(1, 1), source: { format: 'builder', path: null } }, dir);
    const back = await loadModel(dir);
    expect(back.graph.nodes[0]!.attrs).toEqual({ min: 0, max: Infinity });
    expect(Array.from(runGraph(back, Tensor.from([1, 1, 1, 2], [-5, 1e30])).y!.data)).toEqual([0, Math.fround(1e30)]);
  });

  test('F16 weights load back within half precision', async () => {
    const m = unetModel();
    const dir = tmp();
    await saveModel(m, dir, { dtype: 'F16' });
    const back = await loadModel(dir);
    const ref = runGraph(m, x).output!;
    const maxAbs = ref.data.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
    expect(maxDiff(runGraph(back, x).output!, ref) / maxAbs).toBeLessThan(5e-3);
  });
});

describe('model.json validation (ERR_MODEL_FORMAT naming the file and the field)', () => {
  const base = () => JSON.parse(readFileSync(`${FIX}/model.json`, 'utf8'));
  const cases: [string, (d: Record<string, any>) => void, RegExp][] = [
    ['wrong format', (d) => (d.format = 'other'), /Expected "unet-pipeline\/model" for format but received "other"/],
    ['future formatVersion', (d) => (d.formatVersion = 2), /Expected 1 for formatVersion but received 2 of type number/],
    ['both architecture and graph', (d) => (d.graph = { inputs: [], outputs: [], nodes: [] }), /Expected exactly one of "architecture" and "graph" for architecture\/graph but received both/],
    ['neither architecture nor graph', (d) => (d.architecture = null), /received neither/],
    ['bad upMode', (d) => (d.architecture.upMode = 'up'), /Expected one of 'transpose', 'bilinear' for architecture.upMode but received "up"/],
    ['fractional depth', (d) => (d.architecture.depth = 2.5), /Expected an integer >= 1 for architecture.depth but received 2.5/],
    ['input channels differ from the architecture', (d) => (d.input.channels = 1), /Expected 3 \(architecture.inChannels\) for input.channels but received 1/],
    ['std of zero', (d) => (d.input.std = [0.25, 0, 0.25]), /Expected a positive number for input.std\[1\] but received 0/],
    ['mean of the wrong length', (d) => (d.input.mean = [0.5]), /Expected an array of 3 numbers for input.mean/],
    ['bad resize policy', (d) => (d.input.resize = 'stretch'), /for input.resize but received "stretch"/],
    ['palette out of range', (d) => (d.output.palette = [[0, 0, 300]]), /Expected an integer in 0\.\.255 for output.palette\[0\]\[2\] but received 300/],
    ['bad activation', (d) => (d.output.activation = 'relu'), /Expected one of 'sigmoid', 'softmax' for output.activation/],
  ];
  for (const [name, edit, re] of cases) {
    test(name, () => {
      const d = base();
      edit(d);
      expect(() => parseModelJson(d, 'm/model.json')).toThrow(expect.objectContaining({ code: 'ERR_MODEL_FORMAT', message: expect.stringMatching(/^m\/model\.json: /) }));
      expect(() => parseModelJson(d, 'm/model.json')).toThrow(re);
    });
  }

  test('graph nodes are validated: unknown op, wrong arity, bad attrs', () => {
    const g = (node: unknown) => ({ format: 'unet-pipeline/model', formatVersion: 1, graph: { inputs: [{ name: 'x', shape: [null, 1, null, null] }], outputs: ['y'], nodes: [node] } });
    expect(() => parseModelJson(g({ op: 'gelu', name: 'a', inputs: ['x'], outputs: ['y'] }))).toThrow(/Expected one of 'conv2d', .* for graph.nodes\[0\].op but received "gelu"/);
    expect(() => parseModelJson(g({ op: 'add', name: 'a', inputs: ['x'], outputs: ['y'], attrs: {} }))).toThrow(/Expected 2 input\(s\) for graph.nodes\[0\] \(add\[a\]\).inputs but received 1/);
    expect(() => parseModelJson(g({ op: 'conv2d', name: 'c', inputs: ['x', 'w'], outputs: ['y'], attrs: { stride: [0, 1], pads: { top: 0, bottom: 0, left: 0, right: 0 }, dilation: [1, 1], groups: 1, paddingMode: 'zeros', activation: { kind: 'none' } } }))).toThrow(
      /Expected an integer >= 1 for graph.nodes\[0\] \(conv2d\[c\]\).attrs.stride\[0\] but received 0/,
    );
  });

  test('a graph with a cycle is refused when loading', async () => {
    const dir = tmp();
    const doc = { format: 'unet-pipeline/model', formatVersion: 1, weights: 'model.safetensors', graph: { inputs: [{ name: 'x', shape: [null, 1, null, null] }], outputs: ['b'], nodes: [{ op: 'add', name: 'a', inputs: ['x', 'b'], outputs: ['a'], attrs: {} }, { op: 'relu', name: 'b', inputs: ['a'], outputs: ['b'], attrs: {} }] } };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(doc));
    copyFileSync(`${FIX}/model.safetensors`, join(dir, 'model.safetensors'));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT', message: expect.stringMatching(/cycle through add\[a\] → relu\[b\]/) });
  });

  test('a weights path leaving the model folder is refused', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...base(), weights: '../elsewhere.safetensors' }));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT', message: expect.stringMatching(/Expected weights to be a file name inside the model folder but received "\.\.\/elsewhere\.safetensors"/) });
  });

  test('a missing weights file is ERR_IO naming it; invalid JSON is ERR_MODEL_FORMAT', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'model.json'), JSON.stringify(base()));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringContaining('model.safetensors: cannot read the weights file (ENOENT)') });
    writeFileSync(join(dir, 'model.json'), '{"format": ');
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT', message: expect.stringMatching(/model\.json: invalid JSON/) });
  });

  test('weights that do not fit the architecture are refused naming the weights file', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...base(), architecture: { ...base().architecture, base: 8 } }));
    copyFileSync(`${FIX}/model.safetensors`, join(dir, 'model.safetensors'));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT', message: expect.stringMatching(/model\.safetensors: weight 'inc\.double_conv\.0\.weight': expected shape \[8,3,3,3\] but received \[4,3,3,3\]/) });
  });
});

describe('loadModel picks the format by content', () => {
  test('folder, model.json, bare .safetensors, .pth and .onnx are recognized', async () => {
    expect(await detectModelFormat(FIX)).toBe('native');
    expect(await detectModelFormat(`${FIX}/model.json`)).toBe('native');
    expect(await detectModelFormat(`${FIX}/model.safetensors`)).toBe('safetensors');
    expect(await detectModelFormat(`${FIX}/model.pth`)).toBe('pytorch');
    expect(await detectModelFormat(`${FIX}/model.onnx`)).toBe('onnx');
  });

  test('renamed files are still recognized (content, not extension)', async () => {
    const dir = tmp();
    copyFileSync(`${FIX}/model.pth`, join(dir, 'weights.bin'));
    copyFileSync(`${FIX}/model.safetensors`, join(dir, 'weights.dat'));
    copyFileSync(`${FIX}/model.onnx`, join(dir, 'net.bin'));
    expect(await detectModelFormat(join(dir, 'weights.bin'))).toBe('pytorch');
    expect(await detectModelFormat(join(dir, 'weights.dat'))).toBe('safetensors');
    expect(await detectModelFormat(join(dir, 'net.bin'))).toBe('onnx');
  });

  test('a bare .safetensors without model.json is loaded as the U-Net its keys describe', async () => {
    const dir = tmp();
    copyFileSync(`${FIX}/model.safetensors`, join(dir, 'unet.safetensors'));
    const m = await loadModel(join(dir, 'unet.safetensors'));
    expect(m.architecture).toEqual({ type: 'unet', inChannels: 3, classes: 1, base: 4, depth: 3, upMode: 'transpose' });
    const ref = await loadModel(FIX);
    expect(maxDiff(runGraph(m, x).output!, runGraph(ref, x).output!)).toBe(0);
    // next to its model.json, the metadata comes from there
    expect((await loadModel(`${FIX}/model.safetensors`)).meta.name).toBe('unet_t_c1_b4_d3');
  });

  test('a .pth checkpoint loads through the PyTorch reader and runs the same as the native model', async () => {
    const m = await loadModel(`${FIX}/model.pth`);
    expect(m.source.format).toBe('pytorch');
    const ref = await loadModel(FIX);
    expect(maxDiff(runGraph(m, x).output!, runGraph(ref, x).output!)).toBe(0);
  });

  test('unrecognized content is ERR_MODEL_FORMAT showing the first bytes; a missing path is ERR_IO', async () => {
    await expect(loadModel(`${FIX}/input.f32`)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT', message: expect.stringMatching(/input\.f32: Expected a model folder, model\.json, \.safetensors, a PyTorch checkpoint \(\.pth, zip\) or an ONNX file but the content starts with [0-9a-f ]+$/) });
    await expect(loadModel('/nonexistent/model')).rejects.toMatchObject({ code: 'ERR_IO' });
    await expect(loadModel(42 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('imported graphs round-trip through the native format', () => {
  const ROOT = 'test/fixtures/models';
  const index = JSON.parse(readFileSync(`${ROOT}/index.json`, 'utf8')) as { models: { dir: string; input: { shape: number[] }; output: { maxAbs: number } }[] };
  const f32 = (p: string) => {
    const b = readFileSync(p);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  for (const m of index.models) {
    test(`${m.dir}/model.onnx (specialized for x=[${m.input.shape}]) saved as a serialized graph loads back and matches PyTorch`, async () => {
      let model = await loadModel(`${ROOT}/${m.dir}/model.onnx`);
      if (model.specialize) model = model.specialize(m.input.shape);
      const dir = tmp();
      await saveModel(model, dir);
      const back = await loadModel(dir);
      expect(back.architecture).toBeNull();
      expect(back.graph.nodes).toEqual(model.graph.nodes);
      const y = runGraph(back, new Tensor(m.input.shape, f32(`${ROOT}/${m.dir}/input.f32`)))[back.graph.outputs[0]!]!;
      const ref = f32(`${ROOT}/${m.dir}/output.f32`);
      let e = 0;
      for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(ref[i]! - y.data[i]!));
      expect(e / m.output.maxAbs).toBeLessThan(1e-4);
    });
  }
});
