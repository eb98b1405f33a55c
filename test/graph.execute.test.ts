import { describe, expect, test } from 'vitest';
import { runGraph } from '../src/graph/execute.js';
import type { Graph, GraphNode, ResizeAttrs } from '../src/graph/ir.js';
import { conv2dAttrs } from '../src/graph/ir.js';
import type { Model } from '../src/models/model.js';
import { defaultMeta } from '../src/models/model.js';
import { Tensor } from '../src/tensor/tensor.js';

/** A single-node graph over input `x` (plus constants). */
function one(node: Omit<GraphNode, 'outputs' | 'name'> & { name?: string }, consts: Record<string, Tensor> = {}): Graph {
  return {
    inputs: [{ name: 'x', shape: [null, null, null, null].slice(0, 4) }],
    outputs: ['y'],
    nodes: [{ name: 'n', ...node, outputs: ['y'] } as GraphNode],
    initializers: new Map(Object.entries(consts)),
  };
}
const run = (g: Graph, x: Tensor) => runGraph(g, x).y!;
const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(a[i]!).toBeCloseTo(b[i]!, -Math.log10(tol));
};

describe('resize', () => {
  const x = Tensor.from([1, 1, 2, 2], [1, 2, 3, 4]);
  const rs = (a: Partial<ResizeAttrs>) =>
    one({ op: 'resize', inputs: ['x'], attrs: { mode: 'bilinear', coordinateMode: 'alignCorners', nearestRounding: 'floor', target: { kind: 'size', size: [3, 3] }, ...a } });

  test('bilinear alignCorners 2×2 → 3×3 (PyTorch align_corners=True)', () => {
    close(run(rs({}), x).data, [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  });
  test('bilinear asymmetric 1×2 → 1×4 by scale 2: x_in = x_out/2, clamped at the edge', () => {
    const y = run(rs({ coordinateMode: 'asymmetric', target: { kind: 'scale', scale: [1, 2] } }), Tensor.from([1, 1, 1, 2], [10, 20]));
    close(y.data, [10, 15, 20, 20]);
  });
  test('bilinear halfPixel 1×2 → 1×4: x_in = (x_out + 0.5)/2 - 0.5', () => {
    const y = run(rs({ coordinateMode: 'halfPixel', target: { kind: 'size', size: [1, 4] } }), Tensor.from([1, 1, 1, 2], [10, 20]));
    close(y.data, [10, 12.5, 17.5, 20]);
  });
  test('bilinear pytorchHalfPixel (align_corners=False) 1×2 → 1×4 equals halfPixel', () => {
    const y = run(rs({ coordinateMode: 'pytorchHalfPixel', target: { kind: 'size', size: [1, 4] } }), Tensor.from([1, 1, 1, 2], [10, 20]));
    close(y.data, [10, 12.5, 17.5, 20]);
  });
  test('nearest asymmetric floor (PyTorch nearest) 1×3 → 1×5', () => {
    const y = run(rs({ mode: 'nearest', coordinateMode: 'asymmetric', target: { kind: 'size', size: [1, 5] } }), Tensor.from([1, 1, 1, 3], [1, 2, 3]));
    close(y.data, [1, 1, 2, 2, 3]); // floor(d·3/5) = 0,0,1,1,2
  });
  test('nearest halfPixel roundPreferCeil vs roundPreferFloor 1×2 → 1×4 (ONNX Resize)', () => {
    const x2 = Tensor.from([1, 1, 1, 2], [1, 2]);
    const base = { mode: 'nearest' as const, coordinateMode: 'halfPixel' as const, target: { kind: 'size' as const, size: [1, 4] as [number, number] } };
    // x_in = -0.25, 0.25, 0.75, 1.25
    close(run(rs({ ...base, nearestRounding: 'roundPreferCeil' }), x2).data, [1, 1, 2, 2]);
    close(run(rs({ ...base, nearestRounding: 'ceil' }), x2).data, [1, 2, 2, 2]);
    close(run(rs({ ...base, nearestRounding: 'floor' }), x2).data, [1, 1, 1, 2]);
  });
  test("target 'like' takes the reference's spatial size", () => {
    const g = one({ op: 'resize', inputs: ['x', 'ref'], attrs: { mode: 'bilinear', coordinateMode: 'alignCorners', nearestRounding: 'floor', target: { kind: 'like' } } }, { ref: new Tensor([1, 7, 3, 3]) });
    close(run(g, x).data, [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  });
});

describe('elementwise, pads and reductions', () => {
  const x = Tensor.from([1, 2, 1, 2], [1, 2, 3, 4]);
  test('sub with a per-channel [2,1,1] constant and div by a scalar [] constant (broadcasting)', () => {
    const g: Graph = {
      inputs: [{ name: 'x', shape: [null, 2, null, null] }],
      outputs: ['y'],
      nodes: [
        { op: 'sub', name: 's', inputs: ['x', 'mean'], outputs: ['s'], attrs: {} },
        { op: 'div', name: 'd', inputs: ['s', 'std'], outputs: ['y'], attrs: {} },
      ],
      initializers: new Map([['mean', Tensor.from([2, 1, 1], [1, 10])], ['std', Tensor.from([], [2])]]),
    };
    close(runGraph(g, x).y!.data, [0, 0.5, -3.5, -3]);
  });
  test('mul and add broadcast a [1,2,1,1] tensor against NCHW in either order', () => {
    const g: Graph = {
      inputs: [{ name: 'x', shape: [null, 2, null, null] }],
      outputs: ['y'],
      nodes: [
        { op: 'mul', name: 'm', inputs: ['k', 'x'], outputs: ['m'], attrs: {} },
        { op: 'add', name: 'a', inputs: ['m', 'x'], outputs: ['y'], attrs: {} },
      ],
      initializers: new Map([['k', Tensor.from([1, 2, 1, 1], [2, 3])]]),
    };
    close(runGraph(g, x).y!.data, [3, 6, 12, 16]);
  });
  test('clip, tanh, identity', () => {
    close(run(one({ op: 'clip', inputs: ['x'], attrs: { min: 1.5, max: 3 } }), x).data, [1.5, 2, 3, 3]);
    close(run(one({ op: 'tanh', inputs: ['x'], attrs: {} }), x).data, [1, 2, 3, 4].map(Math.tanh));
    close(run(one({ op: 'identity', inputs: ['x'], attrs: {} }), x).data, [1, 2, 3, 4]);
  });
  test('softmax over the channel axis and over the last axis', () => {
    const e = (a: number[]) => {
      const s = a.reduce((p, v) => p + Math.exp(v), 0);
      return a.map((v) => Math.exp(v) / s);
    };
    const c = e([1, 3]);
    const d = e([2, 4]);
    close(run(one({ op: 'softmax', inputs: ['x'], attrs: { axis: 1 } }), x).data, [c[0]!, d[0]!, c[1]!, d[1]!]);
    close(run(one({ op: 'softmax', inputs: ['x'], attrs: { axis: -1 } }), x).data, [...e([1, 2]), ...e([3, 4])]);
  });
  test('globalAvgPool averages each plane', () => {
    close(run(one({ op: 'globalAvgPool', inputs: ['x'], attrs: {} }), Tensor.from([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 9])).data, [2.5, 6.75]);
  });
  test('concat along the last axis', () => {
    const g = one({ op: 'concat', inputs: ['x', 'x'], attrs: { axis: 3 } });
    close(run(g, x).data, [1, 2, 1, 2, 3, 4, 3, 4]);
  });
  test('centerPad pads as F.pad([dx//2, dx-dx//2, dy//2, dy-dy//2]) and crops when the reference is smaller', () => {
    const src = Tensor.from([1, 1, 2, 2], [1, 2, 3, 4]);
    const grow = one({ op: 'centerPad', inputs: ['x', 'ref'], attrs: { value: 0 } }, { ref: new Tensor([1, 1, 3, 5]) });
    close(run(grow, src).data, [0, 1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0]);
    const shrink = one({ op: 'centerPad', inputs: ['x', 'ref'], attrs: { value: 0 } }, { ref: new Tensor([1, 1, 1, 1]) });
    close(run(shrink, Tensor.from([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])).data, [5]); // dy = -2: top -1, bottom -1
  });
  test('pad node with reflect mode', () => {
    const g = one({ op: 'pad', inputs: ['x'], attrs: { pads: { top: 0, bottom: 0, left: 1, right: 1 }, mode: 'reflect', value: 0 } });
    close(run(g, Tensor.from([1, 1, 1, 3], [1, 2, 3])).data, [2, 1, 2, 3, 2]);
  });
});

describe('convolution details', () => {
  test('asymmetric conv pads equal an explicit pad node followed by an unpadded conv', () => {
    const w = Tensor.from([1, 1, 2, 2], [1, 2, 3, 4]);
    const x = Tensor.from([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const pads = { top: 0, bottom: 1, left: 1, right: 0 };
    const a = run(one({ op: 'conv2d', inputs: ['x', 'w'], attrs: conv2dAttrs({ pads }) }, { w }), x);
    expect(a.shape).toEqual([1, 1, 3, 3]);
    // padded input (zeros left and bottom): rows [0,1,2,3],[0,4,5,6],[0,7,8,9],[0,0,0,0]
    close(a.data, [0 * 1 + 1 * 2 + 0 * 3 + 4 * 4, 1 + 2 * 2 + 4 * 3 + 5 * 4, 2 + 3 * 2 + 5 * 3 + 6 * 4, 4 * 2 + 7 * 4, 4 + 5 * 2 + 7 * 3 + 8 * 4, 5 + 6 * 2 + 8 * 3 + 9 * 4, 7 * 2, 7 + 8 * 2, 8 + 9 * 2]);
  });
  test('fused epilogue: bias then relu / leakyRelu / sigmoid', () => {
    const w = Tensor.from([1, 1, 1, 1], [1]);
    const x = Tensor.from([1, 1, 1, 3], [-2, 0, 2]);
    const b = Tensor.from([1], [-1]);
    const conv = (activation: GraphNode['attrs'] & object) => one({ op: 'conv2d', inputs: ['x', 'w', 'b'], attrs: conv2dAttrs({ activation: activation as never }) }, { w, b });
    close(run(conv({ kind: 'relu' }), x).data, [0, 0, 1]);
    close(run(conv({ kind: 'leakyRelu', slope: 0.5 }), x).data, [-1.5, -0.5, 1]);
    close(run(conv({ kind: 'sigmoid' }), x).data, [-3, -1, 1].map((v) => 1 / (1 + Math.exp(-v))));
  });
});

describe('inputs', () => {
  test('inputs by name, as an array, and errors for missing or non-Tensor inputs', () => {
    const g = one({ op: 'relu', inputs: ['x'], attrs: {} });
    const x = Tensor.from([1, 1, 1, 2], [-1, 1]);
    close(runGraph(g, { x }).y!.data, [0, 1]);
    close(runGraph(g, [x]).y!.data, [0, 1]);
    expect(() => runGraph(g, {})).toThrow(/runGraph: Expected a Tensor \(graph input\) for inputs\['x'\] but received undefined/);
    expect(() => runGraph(g, { x: [1, 2] as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('intermediate values', () => {
  test('options.outputs returns requested intermediate values; unknown names are refused', () => {
    const g: Graph = {
      inputs: [{ name: 'x', shape: [null, 1, null, null] }],
      outputs: ['y'],
      nodes: [
        { op: 'relu', name: 'r', inputs: ['x'], outputs: ['r'], attrs: {} },
        { op: 'add', name: 'a', inputs: ['r', 'r'], outputs: ['y'], attrs: {} },
      ],
      initializers: new Map(),
    };
    const out = runGraph(g, Tensor.from([1, 1, 1, 2], [-1, 3]), { outputs: ['r'] });
    expect(Object.keys(out)).toEqual(['y', 'r']);
    close(out.r!.data, [0, 3]);
    close(out.y!.data, [0, 6]);
    expect(() => runGraph(g, Tensor.from([1, 1, 1, 1], [1]), { outputs: ['nope'] })).toThrow(/runGraph: Expected names of values in the graph for outputs but received "nope"/);
  });
});

describe('size-specialized models', () => {
  test('a model whose graph was imported for one input shape is specialized for another (once per shape)', () => {
    const calls: string[] = [];
    const forShape = (shape: readonly number[]): Model => ({
      // a constant of the input's size added to it: only valid for that shape
      graph: {
        inputs: [{ name: 'x', shape: [...shape] }],
        outputs: ['y'],
        nodes: [{ op: 'add', name: 'a', inputs: ['x', 'k'], outputs: ['y'], attrs: {} }],
        initializers: new Map([['k', Tensor.full(shape, shape[3]!)]]),
      },
      architecture: null,
      meta: defaultMeta(1, 1),
      source: { format: 'onnx', path: null },
      specialize: (s) => {
        calls.push(s.join('x'));
        return forShape(s);
      },
    });
    const model = forShape([1, 1, 2, 2]);
    close(runGraph(model, Tensor.from([1, 1, 2, 2], [0, 1, 2, 3])).y!.data, [2, 3, 4, 5]);
    close(runGraph(model, Tensor.from([1, 1, 1, 3], [0, 1, 2])).y!.data, [3, 4, 5]);
    runGraph(model, Tensor.from([1, 1, 1, 3], [0, 1, 2]));
    expect(calls).toEqual(['1x1x1x3']);
  });
});
