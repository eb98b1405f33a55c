import { describe, expect, test } from 'vitest';
import { parseSize, runInspect } from '../src/cli/commands/inspect.js';
import type { Graph } from '../src/graph/ir.js';
import { conv2dAttrs, symmetricPads } from '../src/graph/ir.js';
import { summarizeGraph } from '../src/graph/summary.js';
import { buildUnet } from '../src/models/unet.js';
import { Tensor } from '../src/tensor/tensor.js';

describe('graph summary', () => {
  test('conv 3→8 3×3 pad 1 with bias + BN + relu on [2,3,10,12]: shapes, params and FLOPs by the stated rules', () => {
    const g: Graph = {
      inputs: [{ name: 'x', shape: [null, 3, null, null] }],
      outputs: ['r'],
      nodes: [
        { op: 'conv2d', name: 'c', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: conv2dAttrs({ pads: symmetricPads(1, 1) }) },
        { op: 'batchNorm', name: 'bn', inputs: ['c', 'g', 'beta', 'm', 'v'], outputs: ['bn'], attrs: { eps: 1e-5 } },
        { op: 'relu', name: 'r', inputs: ['bn'], outputs: ['r'], attrs: {} },
      ],
      initializers: new Map([['w', new Tensor([8, 3, 3, 3])], ['b', new Tensor([8])], ['g', new Tensor([8])], ['beta', new Tensor([8])], ['m', new Tensor([8])], ['v', new Tensor([8])]]),
    };
    const s = summarizeGraph(g, [2, 3, 10, 12]);
    const out = 2 * 8 * 10 * 12;
    expect(s.layers).toEqual([
      { name: 'c', op: 'conv2d', outputShape: [2, 8, 10, 12], params: 8 * 27 + 8, flops: 2 * out * 27 + out },
      { name: 'bn', op: 'batchNorm', outputShape: [2, 8, 10, 12], params: 16, flops: 2 * out },
      { name: 'r', op: 'relu', outputShape: [2, 8, 10, 12], params: 0, flops: out },
    ]);
    expect(s.totalParams).toBe(8 * 27 + 8 + 16);
    expect(s.totalWeights).toBe(8 * 27 + 8 + 32);
    expect(s.peakActivation).toBe(out);
  });

  test("milesial's U-Net (3 in, 2 classes) has 31,037,698 parameters and ends in [1,2,572,572]", () => {
    const g = buildUnet({ inChannels: 3, classes: 2, base: 64, depth: 4 }, { seed: 1 });
    const s = summarizeGraph(g, [1, 3, 572, 572]);
    expect(s.totalParams).toBe(31_037_698);
    expect(s.layers[s.layers.length - 1]!.outputShape).toEqual([1, 2, 572, 572]);
    // the first conv: 2 · (64·572²) · (3·9) FLOPs
    expect(s.layers[0]).toMatchObject({ name: 'inc.double_conv.0', flops: 2 * 64 * 572 * 572 * 27 });
  });
});

describe('unet inspect', () => {
  const FIX = 'test/fixtures/models/unet_b_c3_b8_d2';

  test('prints every layer with output shape, params and FLOPs, and totals (default size from the model)', async () => {
    let text = '';
    const r = await runInspect({ model: FIX, batch: 1, json: false }, (s) => (text += s));
    expect(r.summary.inputShape).toEqual([1, 1, 50, 63]);
    expect(text).toMatch(/^model: unet_b_c3_b8_d2 \(native, .*model\.json\)$/m);
    expect(text).toMatch(/^architecture: U-Net, 1 in, 3 classes, base 8, depth 2, up bilinear$/m);
    expect(text).toMatch(/^inc\.double_conv\.0\s+conv2d\s+\[1, 8, 50, 63\]\s+72\s+[\d.]+ [kMG]$/m);
    expect(text).toMatch(/^up1\.up\s+resize\s+\[1, 16, 24, 30\]/m);
    expect(text).toMatch(/^up1\.pad\s+centerPad\s+\[1, 16, 25, 31\]/m);
    expect(text).toMatch(/^outc\.conv\s+conv2d\s+\[1, 3, 50, 63\]\s+27\s/m);
    expect(text).toMatch(/^layers: \d+ {3}parameters: [\d,]+ {3}weights: [\d,]+ \([\d.]+ MiB as f32\)$/m);
  });

  test('--json with --size and --batch', async () => {
    let text = '';
    await runInspect({ model: FIX, size: [64, 96], batch: 2, json: true }, (s) => (text += s));
    const doc = JSON.parse(text);
    expect(doc.summary.inputShape).toEqual([2, 1, 64, 96]);
    expect(doc.summary.layers.at(-1).outputShape).toEqual([2, 3, 64, 96]);
    expect(doc.model.architecture).toMatchObject({ depth: 2, upMode: 'bilinear' });
    expect(doc.summary.totalParams).toBeGreaterThan(0);
  });

  test('an ONNX model with dynamic axes is inspected at the requested size', async () => {
    let text = '';
    const r = await runInspect({ model: `${FIX}/model.onnx`, size: [64, 80], batch: 2, json: false }, (s) => (text += s));
    expect(r.summary.inputShape).toEqual([2, 1, 64, 80]);
    expect(r.summary.layers.at(-1)!.outputShape).toEqual([2, 3, 64, 80]);
    expect(text).toMatch(/^architecture: imported graph$/m);
  });

  test('--size parsing', () => {
    expect(parseSize('256x320')).toEqual([256, 320]);
    expect(parseSize('128')).toEqual([128, 128]);
    expect(() => parseSize('12x')).toThrow(/Expected --size as HxW \(e\.g\. 256x256\) with sides in 1\.\.65536 but received "12x"/);
    expect(() => parseSize('0x5')).toThrow(/received "0x5"/);
  });
});
