import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { runGraph } from '../src/graph/execute.js';
import type { Graph, GraphNode } from '../src/graph/ir.js';
import { conv2dAttrs, convTranspose2dAttrs, symmetricPads } from '../src/graph/ir.js';
import { foldBatchNorm, fuseActivations, optimizeGraph } from '../src/graph/passes.js';
import { loadModel } from '../src/models/load.js';
import { buildUnet } from '../src/models/unet.js';
import { Tensor } from '../src/tensor/tensor.js';

/** Deterministic pseudo-random tensor. */
function rand(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  let s = seed >>> 0;
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return t;
}

function maxRelDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  let e = 0;
  let m = 0;
  for (let i = 0; i < a.size; i++) {
    e = Math.max(e, Math.abs(a.data[i]! - b.data[i]!));
    m = Math.max(m, Math.abs(b.data[i]!));
  }
  return e / m;
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);

describe('BN folding and epilogue fusion leave outputs unchanged', () => {
  const ROOT = 'test/fixtures/models';
  const index = JSON.parse(readFileSync(`${ROOT}/index.json`, 'utf8')) as { models: { dir: string; input: { file: string; shape: number[] } }[] };
  for (const m of index.models) {
    test(`${m.dir}: optimized graph has no batchNorm/relu nodes and matches the unfolded graph within 1e-5`, async () => {
      const model = await loadModel(`${ROOT}/${m.dir}`);
      const b = readFileSync(`${ROOT}/${m.dir}/${m.input.file}`);
      const x = new Tensor(m.input.shape, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
      const opt = optimizeGraph(model.graph);
      expect(ops(opt)).not.toContain('batchNorm');
      expect(ops(opt)).not.toContain('relu');
      const convs = opt.nodes.filter((n) => n.op === 'conv2d');
      expect(convs.filter((n) => n.op === 'conv2d' && n.attrs.activation.kind === 'relu')).toHaveLength(convs.length - 1); // all but outc
      expect(maxRelDiff(runGraph(opt, x).output!, runGraph(model.graph, x).output!)).toBeLessThan(1e-5);
      // the input graph is not modified
      expect(ops(model.graph)).toContain('batchNorm');
    });
  }

  test('convTranspose2d (groups 2, stride 2, with bias) → batchNorm → leakyRelu(0.1) folds and fuses', () => {
    const g: Graph = {
      inputs: [{ name: 'x', shape: [null, 4, null, null] }],
      outputs: ['act'],
      nodes: [
        { op: 'convTranspose2d', name: 'up', inputs: ['x', 'w', 'b'], outputs: ['up'], attrs: convTranspose2dAttrs({ stride: [2, 2], padding: [1, 1], groups: 2 }) },
        { op: 'batchNorm', name: 'bn', inputs: ['up', 'g', 'beta', 'm', 'v'], outputs: ['bn'], attrs: { eps: 1e-3 } },
        { op: 'leakyRelu', name: 'act', inputs: ['bn'], outputs: ['act'], attrs: { slope: 0.1 } },
      ],
      initializers: new Map([
        ['w', rand([4, 3, 3, 3], 1)], ['b', rand([6], 2)], ['g', rand([6], 3, 0.5, 1.5)], ['beta', rand([6], 4)],
        ['m', rand([6], 5)], ['v', rand([6], 6, 0.3, 2)],
      ]),
    };
    const opt = optimizeGraph(g);
    expect(opt.nodes).toHaveLength(1);
    expect(opt.nodes[0]).toMatchObject({ op: 'convTranspose2d', outputs: ['act'], attrs: { activation: { kind: 'leakyRelu', slope: 0.1 } } });
    const x = rand([2, 4, 5, 6], 9);
    expect(maxRelDiff(runGraph(opt, x).act!, runGraph(g, x).act!)).toBeLessThan(1e-5);
  });

  test('conv2d (groups 2, stride 2, dilation 2, no bias) → batchNorm → sigmoid folds and fuses', () => {
    const g: Graph = {
      inputs: [{ name: 'x', shape: [null, 4, null, null] }],
      outputs: ['s'],
      nodes: [
        { op: 'conv2d', name: 'c', inputs: ['x', 'w'], outputs: ['c'], attrs: conv2dAttrs({ stride: [2, 2], dilation: [2, 2], groups: 2, pads: symmetricPads(2, 1) }) },
        { op: 'batchNorm', name: 'bn', inputs: ['c', 'g', 'beta', 'm', 'v'], outputs: ['bn'], attrs: { eps: 1e-5 } },
        { op: 'sigmoid', name: 's', inputs: ['bn'], outputs: ['s'], attrs: {} },
      ],
      initializers: new Map([
        ['w', rand([6, 2, 3, 3], 11)], ['g', rand([6], 12, 0.5, 1.5)], ['beta', rand([6], 13)], ['m', rand([6], 14)], ['v', rand([6], 15, 0.3, 2)],
      ]),
    };
    const opt = optimizeGraph(g);
    expect(ops(opt)).toEqual(['conv2d']);
    expect(opt.nodes[0]!.inputs).toHaveLength(3); // a bias was created
    const x = rand([1, 4, 11, 9], 16);
    expect(maxRelDiff(runGraph(opt, x).s!, runGraph(g, x).s!)).toBeLessThan(1e-5);
  });

  test('no folding when the conv output is also read elsewhere or is a graph output', () => {
    const nodes: GraphNode[] = [
      { op: 'conv2d', name: 'c', inputs: ['x', 'w'], outputs: ['c'], attrs: conv2dAttrs() },
      { op: 'batchNorm', name: 'bn', inputs: ['c', 'g', 'b', 'm', 'v'], outputs: ['bn'], attrs: { eps: 1e-5 } },
      { op: 'relu', name: 'r', inputs: ['bn'], outputs: ['r'], attrs: {} },
    ];
    const inits = new Map([['w', rand([2, 2, 1, 1], 1)], ['g', rand([2], 2)], ['b', rand([2], 3)], ['m', rand([2], 4)], ['v', rand([2], 5, 0.5, 1)]]);
    const asOutput: Graph = { inputs: [{ name: 'x', shape: [null, 2, null, null] }], outputs: ['r', 'c'], nodes, initializers: inits };
    expect(ops(foldBatchNorm(asOutput))).toEqual(['conv2d', 'batchNorm', 'relu']);
    const twice: Graph = { ...asOutput, outputs: ['r', 'sum'], nodes: [...nodes, { op: 'add', name: 'sum', inputs: ['c', 'r'], outputs: ['sum'], attrs: {} }] };
    expect(ops(optimizeGraph(twice))).toEqual(['conv2d', 'batchNorm', 'relu', 'add']);
    // relu reading a BN output (not a conv) is not fused
    expect(ops(fuseActivations(asOutput))).toEqual(['conv2d', 'batchNorm', 'relu']);
  });

  test('a freshly built U-Net (depth 3, bilinear, batch 2, odd size) runs the same folded and unfolded', () => {
    const g = buildUnet({ inChannels: 2, classes: 3, base: 4, depth: 3, upMode: 'bilinear' }, { seed: 3 });
    const x = rand([2, 2, 29, 35], 21);
    expect(maxRelDiff(runGraph(optimizeGraph(g), x).output!, runGraph(g, x).output!)).toBeLessThan(1e-5);
  });
});
