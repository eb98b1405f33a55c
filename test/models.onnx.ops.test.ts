/**
 * ONNX operator mapping, one small model per configuration, checked against onnxruntime-node (the reference
 * implementation of the ONNX spec) on the same input. Models are built with the generated ONNX schema.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { runGraph } from '../src/graph/execute.js';
import { onnxModel } from '../src/models/onnx/index.js';
import { readOnnx } from '../src/models/onnx/reader.js';
import { Tensor } from '../src/tensor/tensor.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const INT64 = onnx.TensorProto.DataType.INT64;

type Attr = number | string | number[] | { floats: number[] };
interface NodeSpec {
  op: string;
  inputs: string[];
  outputs?: string[];
  attrs?: Record<string, Attr>;
}
interface Init {
  name: string;
  dims: number[];
  values: number[];
  type?: 'float' | 'int64' | 'float16';
}

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: Buffer.from(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  return { name, type: A.FLOATS, floats: v.floats };
}

function tensorProto(t: Init): onnxProto.onnx.ITensorProto {
  if (t.type === 'int64') return { name: t.name, dims: t.dims, dataType: INT64, int64Data: t.values };
  if (t.type === 'float16') {
    // float16 bit patterns in int32_data (onnx.proto), from exactly representable values
    const bits = t.values.map((v) => {
      const f = new Float32Array([v]);
      const x = new Uint32Array(f.buffer)[0]!;
      return ((x >>> 16) & 0x8000) | ((((x >>> 23) & 0xff) - 112) << 10) | ((x >>> 13) & 0x3ff);
    });
    return { name: t.name, dims: t.dims, dataType: FLOAT16, int32Data: bits };
  }
  return { name: t.name, dims: t.dims, dataType: FLOAT, rawData: Buffer.from(new Float32Array(t.values).buffer) };
}

/** A single-input model: x [shape] → nodes → the last node's first output. */
function buildModel(shape: (number | string)[], nodes: NodeSpec[], inits: Init[] = [], opset = 17): Uint8Array {
  const out = nodes[nodes.length - 1]!.outputs?.[0] ?? 'y';
  const valueInfo = (name: string, dims: (number | string)[] | null) => ({
    name,
    type: { tensorType: { elemType: FLOAT, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}) } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'unet-pipeline tests',
    graph: {
      name: 'g',
      node: nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs ?? [i === nodes.length - 1 ? 'y' : `t${i}`],
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      input: [valueInfo('x', shape)],
      output: [valueInfo(out, null)],
      initializer: inits.map(tensorProto),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function random(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return out;
}

const floats = (n: number, seed: number): number[] => Array.from(random([n], seed));

async function compare(bytes: Uint8Array, shape: number[], tol = 1e-5): Promise<void> {
  const x = random(shape, 7);
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const ref = await session.run({ x: new ort.Tensor('float32', x, shape) });
  const want = Object.values(ref)[0]!;
  const model = onnxModel(readOnnx(bytes, 'case.onnx'), { inputShape: shape });
  const got = Object.values(runGraph(model, new Tensor(shape, x)))[0]!;
  expect(got.shape).toEqual(Array.from(want.dims));
  const w = want.data as Float32Array;
  let maxAbs = 0;
  let err = 0;
  for (let i = 0; i < w.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(w[i]!));
    err = Math.max(err, Math.abs(w[i]! - got.data[i]!));
  }
  expect(err).toBeLessThanOrEqual(tol * Math.max(maxAbs, 1));
}

const X = [1, 3, 9, 11];
const W3 = (cout: number, cin: number, k = 3): Init => ({ name: 'w', dims: [cout, cin, k, k], values: floats(cout * cin * k * k, 11) });
const B = (c: number): Init => ({ name: 'b', dims: [c], values: floats(c, 13) });

describe('Conv', () => {
  const cases: [string, Record<string, Attr>, Init[]][] = [
    ['pads=[1,2,1,0] strides=[2,1] dilations=[2,1]', { pads: [1, 2, 1, 0], strides: [2, 1], dilations: [2, 1] }, [W3(4, 3), B(4)]],
    ['auto_pad=SAME_UPPER strides=2', { auto_pad: 'SAME_UPPER', strides: [2, 2] }, [W3(4, 3), B(4)]],
    ['auto_pad=SAME_LOWER k=4', { auto_pad: 'SAME_LOWER' }, [W3(2, 3, 4)]],
    ['auto_pad=VALID', { auto_pad: 'VALID' }, [W3(2, 3)]],
    ['group=3 (depthwise) pads=1', { group: 3, pads: [1, 1, 1, 1] }, [W3(6, 1), B(6)]],
  ];
  for (const [label, attrs, inits] of cases) {
    it(label, async () => {
      await compare(buildModel(X, [{ op: 'Conv', inputs: ['x', ...inits.map((i) => i.name)], attrs }], inits), X);
    });
  }
});

describe('ConvTranspose', () => {
  const w = (cin: number, cout: number, k: number): Init => ({ name: 'w', dims: [cin, cout, k, k], values: floats(cin * cout * k * k, 17) });
  const cases: [string, Record<string, Attr>][] = [
    ['k=2 s=2', { strides: [2, 2] }],
    ['k=3 s=2 pads=1 output_padding=1', { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }],
    ['k=3 s=2 output_shape=[19,22]', { strides: [2, 2], output_shape: [19, 22] }],
    ['k=3 s=2 auto_pad=SAME_UPPER', { strides: [2, 2], auto_pad: 'SAME_UPPER' }],
    ['k=3 s=1 dilations=2 pads=[2,1,2,1]', { dilations: [2, 2], pads: [2, 1, 2, 1] }],
    ['k=3 s=2 pads=[0,0,1,2] (more at the end: transposed conv then crop)', { strides: [2, 2], pads: [0, 0, 1, 2] }],
    ['k=3 s=2 auto_pad=SAME_LOWER', { strides: [2, 2], auto_pad: 'SAME_LOWER' }],
  ];
  for (const [label, attrs] of cases) {
    it(label, async () => {
      const k = label.startsWith('k=2') ? 2 : 3;
      const inits = [w(3, 2, k), B(2)];
      await compare(buildModel(X, [{ op: 'ConvTranspose', inputs: ['x', 'w', 'b'], attrs }], inits), X);
    });
  }
});

describe('pooling', () => {
  const cases: [string, NodeSpec][] = [
    ['MaxPool k=2 s=2 ceil_mode=1', { op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } }],
    ['MaxPool k=3 s=2 pads=1 dilations=2', { op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [2, 2] } }],
    ['AveragePool k=3 s=2 pads=1 count_include_pad=0', { op: 'AveragePool', inputs: ['x'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } }],
    ['AveragePool k=3 s=2 pads=1 count_include_pad=1 ceil_mode=1', { op: 'AveragePool', inputs: ['x'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1, ceil_mode: 1 } }],
    ['GlobalAveragePool', { op: 'GlobalAveragePool', inputs: ['x'] }],
  ];
  for (const [label, node] of cases) it(label, async () => compare(buildModel(X, [node]), X));
});

describe('activations and normalization', () => {
  const c = X[1]!;
  const bn: Init[] = [
    { name: 's', dims: [c], values: [0.5, 1.5, -1] },
    { name: 'bb', dims: [c], values: [0.1, -0.2, 0.3] },
    { name: 'm', dims: [c], values: [0.2, 0, -0.4] },
    { name: 'v', dims: [c], values: [1.5, 0.25, 2] },
  ];
  const cases: [string, NodeSpec[], Init[], number?][] = [
    ['BatchNormalization epsilon=1e-3', [{ op: 'BatchNormalization', inputs: ['x', 's', 'bb', 'm', 'v'], attrs: { epsilon: 1e-3 } }], bn],
    ['Relu', [{ op: 'Relu', inputs: ['x'] }], []],
    ['LeakyRelu alpha=0.2', [{ op: 'LeakyRelu', inputs: ['x'], attrs: { alpha: 0.2 } }], []],
    ['Sigmoid', [{ op: 'Sigmoid', inputs: ['x'] }], []],
    ['Tanh', [{ op: 'Tanh', inputs: ['x'] }], []],
    ['Softmax axis=1 (opset 13)', [{ op: 'Softmax', inputs: ['x'], attrs: { axis: 1 } }], [], 13],
    ['Softmax axis=-1 (opset 11)', [{ op: 'Softmax', inputs: ['x'], attrs: { axis: -1 } }], [], 11],
    [
      'Softmax over channels as torch exports it at opset 11: Transpose → Softmax(axis=3) → Transpose',
      [
        { op: 'Transpose', inputs: ['x'], attrs: { perm: [0, 3, 2, 1] } },
        { op: 'Softmax', inputs: ['t0'], attrs: { axis: 3 } },
        { op: 'Transpose', inputs: ['t1'], attrs: { perm: [0, 3, 2, 1] } },
      ],
      [],
      11,
    ],
    ['Clip min/max inputs (opset 11)', [{ op: 'Clip', inputs: ['x', 'lo', 'hi'] }], [{ name: 'lo', dims: [], values: [-0.5] }, { name: 'hi', dims: [], values: [0.75] }], 11],
    ['Clip max only', [{ op: 'Clip', inputs: ['x', '', 'hi'] }], [{ name: 'hi', dims: [], values: [0.25] }]],
    ['Clip attributes (opset 6)', [{ op: 'Clip', inputs: ['x'], attrs: { min: -0.25, max: 1.5 } }], [], 6],
  ];
  for (const [label, nodes, inits, opset] of cases) it(label, async () => compare(buildModel(X, nodes, inits, opset ?? 17), X));
});

describe('elementwise, Concat, Identity, Cast, float16 initializers', () => {
  const per = (name: string): Init => ({ name, dims: [1, 3, 1, 1], values: [0.5, -2, 1.25] });
  const cases: [string, NodeSpec[], Init[]][] = [
    ['Add per-channel constant', [{ op: 'Add', inputs: ['x', 'k'] }], [per('k')]],
    ['Sub constant - x', [{ op: 'Sub', inputs: ['k', 'x'] }], [per('k')]],
    ['Mul scalar', [{ op: 'Mul', inputs: ['x', 'k'] }], [{ name: 'k', dims: [], values: [-1.5] }]],
    ['Div by per-channel [3,1,1]', [{ op: 'Div', inputs: ['x', 'k'] }], [{ name: 'k', dims: [3, 1, 1], values: [0.5, -2, 4] }]],
    ['Mul x·sigmoid(x) (two runtime inputs)', [{ op: 'Sigmoid', inputs: ['x'] }, { op: 'Mul', inputs: ['x', 't0'] }], []],
    ['Concat axis=1 with itself and a constant', [{ op: 'Relu', inputs: ['x'] }, { op: 'Concat', inputs: ['x', 't0', 'k'], attrs: { axis: 1 } }], [{ name: 'k', dims: [1, 2, 9, 11], values: floats(198, 5) }]],
    ['Identity and Cast to float', [{ op: 'Identity', inputs: ['x'] }, { op: 'Cast', inputs: ['t0'], attrs: { to: 1 } }, { op: 'Relu', inputs: ['t1'] }], []],
    ['float16 conv weights cast to float', [{ op: 'Cast', inputs: ['w'], attrs: { to: 1 } }, { op: 'Conv', inputs: ['x', 't0'], attrs: { pads: [1, 1, 1, 1] } }], [{ name: 'w', dims: [2, 3, 3, 3], values: floats(54, 3).map((v) => Math.round(v * 64) / 64), type: 'float16' }]],
  ];
  for (const [label, nodes, inits] of cases) it(label, async () => compare(buildModel(X, nodes, inits), X));
});

describe('Pad: ONNX modes map to ours (edge→replicate, wrap→circular)', () => {
  const pads: Init = { name: 'p', dims: [8], values: [0, 0, 2, 1, 0, 0, 1, 3], type: 'int64' };
  for (const mode of ['constant', 'reflect', 'edge', 'wrap']) {
    it(`mode=${mode} pads=[2,1,1,3]${mode === 'constant' ? ' value=0.5' : ''}`, async () => {
      const inits: Init[] = mode === 'constant' ? [pads, { name: 'v', dims: [], values: [0.5] }] : [pads];
      const node: NodeSpec = { op: 'Pad', inputs: mode === 'constant' ? ['x', 'p', 'v'] : ['x', 'p'], attrs: { mode } };
      await compare(buildModel(X, [node], inits, mode === 'wrap' ? 19 : 17), X);
    });
  }
  it('opset 2 attributes pads/mode/value', async () => {
    await compare(buildModel(X, [{ op: 'Pad', inputs: ['x'], attrs: { pads: [0, 0, 1, 2, 0, 0, 2, 1], mode: 'constant', value: -1.5 } }], [], 2), X);
  });
});

describe('Resize and Upsample', () => {
  const sizes: Init = { name: 'sizes', dims: [4], values: [1, 3, 14, 25], type: 'int64' };
  const scales: Init = { name: 'scales', dims: [4], values: [1, 1, 2, 1.5] };
  const cases: [string, Record<string, Attr>, 'sizes' | 'scales'][] = [
    ['linear half_pixel sizes', { mode: 'linear' }, 'sizes'],
    ['linear pytorch_half_pixel sizes', { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, 'sizes'],
    ['linear align_corners sizes', { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, 'sizes'],
    ['linear asymmetric scales=[2,1.5]', { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, 'scales'],
    ['linear half_pixel scales=[2,1.5]', { mode: 'linear' }, 'scales'],
    ['nearest asymmetric floor scales', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, 'scales'],
    ['nearest half_pixel round_prefer_floor sizes', { mode: 'nearest' }, 'sizes'],
    ['nearest align_corners round_prefer_ceil sizes', { mode: 'nearest', coordinate_transformation_mode: 'align_corners', nearest_mode: 'round_prefer_ceil' }, 'sizes'],
  ];
  for (const [label, attrs, by] of cases) {
    it(label, async () => {
      const inputs = by === 'sizes' ? ['x', '', '', 'sizes'] : ['x', '', 'scales'];
      await compare(buildModel(X, [{ op: 'Resize', inputs, attrs }], [by === 'sizes' ? sizes : scales]), X);
    });
  }
  it('Resize-10 nearest scales=[2,2]', async () => {
    await compare(buildModel(X, [{ op: 'Resize', inputs: ['x', 'scales'], attrs: { mode: 'nearest' } }], [{ name: 'scales', dims: [4], values: [1, 1, 2, 2] }], 10), X);
  });
  it('Upsample-9 nearest scales=[2,3]', async () => {
    await compare(buildModel(X, [{ op: 'Upsample', inputs: ['x', 'scales'], attrs: { mode: 'nearest' } }], [{ name: 'scales', dims: [4], values: [1, 1, 2, 3] }], 9), X);
  });
});

describe('shape sub-graphs fold to constants for the actual input size', () => {
  // F.interpolate(x, size=(2H, W+3)) as exporters write it: Shape → Slice → Mul/Add → Concat → Resize(sizes).
  const nodes: NodeSpec[] = [
    { op: 'Shape', inputs: ['x'] }, // t0 = [N, C, H, W]
    { op: 'Slice', inputs: ['t0', 'st', 'en'] }, // t1 = [H, W]
    { op: 'Mul', inputs: ['t1', 'mul'] }, // t2 = [2H, W]
    { op: 'Add', inputs: ['t2', 'add'] }, // t3 = [2H, W+3]
    { op: 'Slice', inputs: ['t0', 'zero', 'st'] }, // t4 = [N, C]
    { op: 'Concat', inputs: ['t4', 't3'], attrs: { axis: 0 } }, // t5
    { op: 'Resize', inputs: ['x', '', '', 't5'], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' } },
  ];
  const inits: Init[] = [
    { name: 'st', dims: [1], values: [2], type: 'int64' },
    { name: 'en', dims: [1], values: [4], type: 'int64' },
    { name: 'zero', dims: [1], values: [0], type: 'int64' },
    { name: 'mul', dims: [2], values: [2, 1], type: 'int64' },
    { name: 'add', dims: [2], values: [0, 3], type: 'int64' },
  ];
  const bytes = buildModel(['n', 3, 'h', 'w'], nodes, inits);

  it('x=[1,3,9,11] → [1,3,18,14], and re-specialized x=[2,3,5,7] → [2,3,10,10]', async () => {
    await compare(bytes, [1, 3, 9, 11]);
    await compare(bytes, [2, 3, 5, 7]);
    const model = onnxModel(readOnnx(bytes, 'dyn.onnx'), { inputShape: [1, 3, 9, 11] });
    expect(model.specialize).toBeTypeOf('function');
    const again = model.specialize!([2, 3, 5, 7]);
    expect(Object.values(runGraph(again, new Tensor([2, 3, 5, 7])))[0]!.shape).toEqual([2, 3, 10, 10]);
  });

  it('the batch size only passes through the shape sub-graph, so the specialized graph takes any batch', () => {
    const model = onnxModel(readOnnx(bytes, 'dyn.onnx'), { inputShape: [1, 3, 9, 11] });
    expect(model.graph.inputs[0]!.shape).toEqual([null, 3, 9, 11]);
    expect(Object.values(runGraph(model, new Tensor([3, 3, 9, 11])))[0]!.shape).toEqual([3, 3, 18, 14]);
  });

  it('Conv auto_pad=SAME_UPPER stride 2 on a dynamic input: pads depend on the size, so the graph is specialized', async () => {
    const same = buildModel(['n', 3, 'h', 'w'], [{ op: 'Conv', inputs: ['x', 'w'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } }], [W3(2, 3, 4)]);
    expect(onnxModel(readOnnx(same, 'same.onnx'), { inputShape: [1, 3, 9, 11] }).specialize).toBeTypeOf('function');
    await compare(same, [1, 3, 9, 11]);
    await compare(same, [1, 3, 8, 10]);
  });

  it('a graph whose constants do not depend on the input size keeps its dynamic dimensions', () => {
    const plain = buildModel(['n', 3, 'h', 'w'], [{ op: 'Conv', inputs: ['x', 'w'], attrs: { pads: [1, 1, 1, 1] } }], [W3(2, 3)]);
    const model = onnxModel(readOnnx(plain, 'plain.onnx'), { inputShape: [1, 3, 8, 8] });
    expect(model.graph.inputs[0]!.shape).toEqual([null, 3, null, null]);
    expect(model.specialize).toBeUndefined();
    expect(Object.values(runGraph(model, new Tensor([2, 3, 5, 6])))[0]!.shape).toEqual([2, 2, 5, 6]);
  });
});

describe('refusals name the op, the node and the opset', () => {
  const refuse = (bytes: Uint8Array, re: RegExp, code: string = ErrorCode.UNSUPPORTED_OP) =>
    expect(() => onnxModel(readOnnx(bytes, 'r.onnx'), { inputShape: X })).toThrow(expect.objectContaining({ code, message: expect.stringMatching(re) }));
  it('cubic Resize', () => refuse(buildModel(X, [{ op: 'Resize', inputs: ['x', '', '', 's'], attrs: { mode: 'cubic' } }], [{ name: 's', dims: [4], values: [1, 3, 4, 4], type: 'int64' }]), /Resize\[resize0\] \(opset 17\): mode "cubic"/));
  it('Resize of the channel axis', () => refuse(buildModel(X, [{ op: 'Resize', inputs: ['x', '', 's'], attrs: { mode: 'linear' } }], [{ name: 's', dims: [4], values: [1, 2, 1, 1] }]), /only H and W can be scaled/));
  it('Pad of the channel axis', () => refuse(buildModel(X, [{ op: 'Pad', inputs: ['x', 'p'] }], [{ name: 'p', dims: [8], values: [0, 1, 0, 0, 0, 0, 0, 0], type: 'int64' }]), /Pad\[pad0\].*dimensions other than the last two/));
  it('MaxPool with asymmetric pads', () => refuse(buildModel(X, [{ op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: [2, 2], pads: [0, 0, 1, 1] } }]), /asymmetric pads/));
  it('Conv with a runtime weight', () => refuse(buildModel(X, [{ op: 'Conv', inputs: ['x', 'x'] }]), /Conv\[conv0\].*input 1 \(weight\) to be a constant/));
  it('a transposed run-time tensor read by anything but Softmax', () =>
    refuse(buildModel(X, [{ op: 'Transpose', inputs: ['x'], attrs: { perm: [0, 1, 3, 2] } }, { op: 'Relu', inputs: ['t0'] }]), /Relu\[relu1\].*transposed run-time tensor/));
  it('an op of another domain', () => {
    const bytes = buildModel(X, [{ op: 'Relu', inputs: ['x'] }]);
    const m = onnx.ModelProto.decode(bytes);
    m.graph!.node![0]!.domain = 'com.microsoft';
    refuse(onnx.ModelProto.encode(m).finish(), /Relu\[relu0\] \(opset 0\): operators of domain "com\.microsoft"/);
  });
});
