import { describe, expect, test } from 'vitest';
import { broadcastShapes, inferShapes, topologicalOrder } from '../src/graph/graph.js';
import type { Graph, GraphNode } from '../src/graph/ir.js';
import { conv2dAttrs, symmetricPads } from '../src/graph/ir.js';
import { Tensor } from '../src/tensor/tensor.js';

const relu = (name: string, input: string, output = name): GraphNode => ({ op: 'relu', name, inputs: [input], outputs: [output], attrs: {} });
function graph(nodes: GraphNode[], outputs: string[], initializers: Record<string, number[]> = {}): Graph {
  return {
    inputs: [{ name: 'x', shape: [null, null, null, null] }],
    outputs,
    nodes,
    initializers: new Map(Object.entries(initializers).map(([k, s]) => [k, new Tensor(s)])),
  };
}

describe('topological order', () => {
  test('orders nodes after their producers whatever the listed order, ties in listed order', () => {
    const g = graph([relu('c', 'b'), relu('a', 'x'), relu('b', 'a'), relu('d', 'x')], ['c', 'd']);
    expect(topologicalOrder(g).map((n) => n.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('20,000 nodes listed in reverse dependency order are ordered, ties in listed order', () => {
    const n = 20_000;
    const nodes: GraphNode[] = [];
    for (let i = n - 1; i >= 0; i--) nodes.push(relu(`r${i}`, i % 2 ? 'x' : `r${i + 1}`));
    nodes.unshift(relu(`r${n}`, 'x'));
    const order = topologicalOrder(graph(nodes, ['r0']));
    expect(order).toHaveLength(n + 1);
    const pos = new Map(order.map((node, k) => [node.name, k]));
    for (const node of nodes) for (const i of node.inputs) if (i !== 'x') expect(pos.get(i)!).toBeLessThan(pos.get(node.name)!);
    expect(order[0]!.name).toBe(`r${n}`);
  });

  test('a cycle is refused with ERR_GRAPH naming the nodes on it', () => {
    const g = graph([relu('a', 'x'), { op: 'add', name: 'b', inputs: ['a', 'd'], outputs: ['b'], attrs: {} }, relu('c', 'b'), relu('d', 'c'), relu('e', 'd')], ['e']);
    expect(() => topologicalOrder(g)).toThrow(expect.objectContaining({ code: 'ERR_GRAPH' }));
    expect(() => topologicalOrder(g)).toThrow(/graph: the graph has a cycle through add\[b\] → relu\[c\] → relu\[d\]$/);
  });

  test('a self-loop is a cycle of one node', () => {
    expect(() => topologicalOrder(graph([relu('a', 'a')], ['a']))).toThrow(/cycle through relu\[a\]$/);
  });

  test('a node reading a value nothing produces is refused naming the node and the value', () => {
    const g = graph([relu('a', 'x'), relu('b', 'nowhere')], ['b']);
    expect(() => topologicalOrder(g)).toThrow(
      expect.objectContaining({ code: 'ERR_GRAPH', message: "graph: relu[b] reads 'nowhere', which no node produces and is neither a graph input nor an initializer" }),
    );
  });

  test('duplicate node names, values produced twice and missing graph outputs are refused', () => {
    expect(() => topologicalOrder(graph([relu('a', 'x', 'y'), relu('a', 'y', 'z')], ['z']))).toThrow(/two nodes are named 'a'/);
    expect(() => topologicalOrder(graph([relu('a', 'x', 'y'), relu('b', 'x', 'y')], ['y']))).toThrow(/value 'y' is produced by both relu\[a\] and relu\[b\]/);
    expect(() => topologicalOrder(graph([relu('a', 'x')], ['b']))).toThrow(/graph output 'b' is produced by no node/);
    expect(() => topologicalOrder(graph([relu('a', 'x', 'w')], ['w'], { w: [1] }))).toThrow(/relu\[a\] writes 'w', which is a graph input or an initializer/);
  });
});

describe('shape inference', () => {
  const conv = (name: string, input: string, w: string, pads = symmetricPads(1, 1)): GraphNode => ({
    op: 'conv2d', name, inputs: [input, w], outputs: [name], attrs: conv2dAttrs({ pads }),
  });

  test('conv channel mismatch names the node and both shapes', () => {
    const g = graph([conv('down1.conv.0', 'x', 'w')], ['down1.conv.0'], { w: [32, 32, 3, 3] });
    expect(() => inferShapes(g, [1, 64, 128, 128])).toThrow(
      expect.objectContaining({
        code: 'ERR_SHAPE_MISMATCH',
        message: 'conv2d[down1.conv.0]: input has 64 channels but weight expects 32×groups(1) (x=[1,64,128,128], w=[32,32,3,3])',
      }),
    );
  });

  test('conv with asymmetric pads, stride 2: o = floor((i + pt + pb - k)/s) + 1', () => {
    const g: Graph = graph(
      [{ op: 'conv2d', name: 'c', inputs: ['x', 'w'], outputs: ['c'], attrs: conv2dAttrs({ stride: [2, 2], pads: { top: 0, bottom: 1, left: 1, right: 2 } }) }],
      ['c'],
      { w: [4, 3, 3, 3] },
    );
    expect(inferShapes(g, [1, 3, 10, 9]).get('c')).toEqual([1, 4, 5, 5]);
  });

  test('bias of the wrong length names the node and both shapes', () => {
    const g = graph([{ op: 'conv2d', name: 'c', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: conv2dAttrs() }], ['c'], { w: [4, 3, 1, 1], b: [5] });
    expect(() => inferShapes(g, [1, 3, 4, 4])).toThrow(/conv2d\[c\]: weight has 4 output channels but bias has shape \[5\] \(w=\[4,3,1,1\]\)/);
  });

  test('convTranspose2d channel mismatch and output size (i-1)s - 2p + k', () => {
    const node = (w: string): GraphNode => ({ op: 'convTranspose2d', name: 'up', inputs: ['x', w], outputs: ['up'], attrs: { stride: [2, 2], padding: [0, 0], outputPadding: [0, 0], dilation: [1, 1], groups: 1, activation: { kind: 'none' } } });
    expect(inferShapes(graph([node('w')], ['up'], { w: [8, 4, 2, 2] }), [2, 8, 5, 7]).get('up')).toEqual([2, 4, 10, 14]);
    expect(() => inferShapes(graph([node('w')], ['up'], { w: [8, 4, 2, 2] }), [2, 6, 5, 7])).toThrow(
      /convTranspose2d\[up\]: input has 6 channels but weight expects 8 \(x=\[2,6,5,7\], w=\[8,4,2,2\]\)/,
    );
  });

  test('concat with mismatched spatial sizes names the node and both shapes', () => {
    const g = graph(
      [
        { op: 'maxPool2d', name: 'p', inputs: ['x'], outputs: ['p'], attrs: { kernelSize: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false } },
        { op: 'concat', name: 'up1.cat', inputs: ['x', 'p'], outputs: ['up1.cat'], attrs: { axis: 1 } },
      ],
      ['up1.cat'],
    );
    expect(() => inferShapes(g, [1, 2, 9, 8])).toThrow(
      /concat\[up1\.cat\]: input 1 has shape \[1,2,4,4\] but input 0 has \[1,2,9,8\]; all dimensions except axis 1 must match/,
    );
  });

  test('batchNorm parameters of the wrong size name the node', () => {
    const g = graph([{ op: 'batchNorm', name: 'bn', inputs: ['x', 'g', 'b', 'm', 'v'], outputs: ['bn'], attrs: { eps: 1e-5 } }], ['bn'], { g: [3], b: [3], m: [4], v: [3] });
    expect(() => inferShapes(g, [1, 3, 2, 2])).toThrow(/batchNorm\[bn\]: input has 3 channels but runningMean has shape \[4\]/);
  });

  test('binary ops broadcast per-channel and scalar constants, and refuse incompatible shapes', () => {
    const bin = (b: string): GraphNode => ({ op: 'sub', name: 's', inputs: ['x', b], outputs: ['s'], attrs: {} });
    expect(inferShapes(graph([bin('c')], ['s'], { c: [3, 1, 1] }), [2, 3, 4, 5]).get('s')).toEqual([2, 3, 4, 5]);
    expect(inferShapes(graph([bin('c')], ['s'], { c: [] }), [2, 3, 4, 5]).get('s')).toEqual([2, 3, 4, 5]);
    expect(() => inferShapes(graph([bin('c')], ['s'], { c: [4, 1, 1] }), [2, 3, 4, 5])).toThrow(/sub\[s\]: shapes \[2,3,4,5\] and \[4,1,1\] do not broadcast/);
    expect(broadcastShapes([5, 1, 3], [4, 1])).toEqual([5, 4, 3]);
  });

  test('resize targets: fixed size, scale (floor), like another value', () => {
    const rs = (target: unknown, inputs = ['x']): GraphNode =>
      ({ op: 'resize', name: 'r', inputs, outputs: ['r'], attrs: { mode: 'bilinear', coordinateMode: 'halfPixel', nearestRounding: 'floor', target } }) as GraphNode;
    expect(inferShapes(graph([rs({ kind: 'size', size: [7, 3] })], ['r']), [1, 2, 4, 4]).get('r')).toEqual([1, 2, 7, 3]);
    expect(inferShapes(graph([rs({ kind: 'scale', scale: [1.5, 2] })], ['r']), [1, 2, 5, 4]).get('r')).toEqual([1, 2, 7, 8]);
    expect(inferShapes(graph([relu('a', 'x'), rs({ kind: 'like' }, ['x', 'ref'])], ['r'], { ref: [1, 1, 9, 11] }), [1, 2, 5, 4]).get('r')).toEqual([1, 2, 9, 11]);
  });

  test('centerPad takes the spatial size of its reference', () => {
    const g = graph([{ op: 'centerPad', name: 'p', inputs: ['x', 'ref'], outputs: ['p'], attrs: { value: 0 } }], ['p'], { ref: [1, 5, 9, 11] });
    expect(inferShapes(g, [2, 3, 8, 10]).get('p')).toEqual([2, 3, 9, 11]);
  });

  test('softmax axis out of range names the node', () => {
    const g = graph([{ op: 'softmax', name: 'sm', inputs: ['x'], outputs: ['sm'], attrs: { axis: 4 } }], ['sm']);
    expect(() => inferShapes(g, [1, 2, 3, 4])).toThrow(/softmax\[sm\]: axis 4 is out of range for a tensor of rank 4/);
  });

  test('a conv whose output would be empty reports ERR_OUTPUT_SIZE with the node', () => {
    const g = graph([conv('c', 'x', 'w', symmetricPads(0, 0))], ['c'], { w: [1, 1, 5, 5] });
    expect(() => inferShapes(g, [1, 1, 3, 8])).toThrow(expect.objectContaining({ code: 'ERR_OUTPUT_SIZE', message: expect.stringMatching(/^conv2d\[c\]: output size is too small/) }));
  });
});
