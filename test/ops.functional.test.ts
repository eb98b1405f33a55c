/** Hand-computed examples of the functional ops: small enough to check on paper, read as the spec. */
import { describe, expect, it } from 'vitest';
import {
  add, avgPool2d, batchNorm2d, concat, conv2d, convTranspose2d, interpolate, leakyRelu, maxPool2d, mul, pad, relu, sigmoid,
  softmax, tanh,
} from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';

const t = (shape: number[], values: number[]) => Tensor.from(shape, values);
const arr = (x: Tensor) => Array.from(x.data);
const r3 = (x: Tensor) => Array.from(x.data, (v) => Math.round(v * 1000) / 1000);

describe('conv2d', () => {
  const x = t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  it('x=[1,1,3,3] w=ones[1,1,2,2] bias=10: 2×2 window sums + 10', () => {
    expect(arr(conv2d(x, Tensor.full([1, 1, 2, 2], 1), t([1], [10])))).toEqual([22, 26, 34, 38]);
  });
  it('w=[1,1,1,3] padding=[0,1] mode=circular wraps the rows', () => {
    const y = conv2d(x, t([1, 1, 1, 3], [1, 0, 0]), null, { padding: [0, 1], paddingMode: 'circular' });
    expect(arr(y)).toEqual([3, 1, 2, 6, 4, 5, 9, 7, 8]);
  });
  it('w=[1,1,1,3] padding=[0,1] mode=reflect / replicate', () => {
    const w = t([1, 1, 1, 3], [1, 0, 0]);
    expect(arr(conv2d(x, w, null, { padding: [0, 1], paddingMode: 'reflect' }))).toEqual([2, 1, 2, 5, 4, 5, 8, 7, 8]);
    expect(arr(conv2d(x, w, null, { padding: [0, 1], paddingMode: 'replicate' }))).toEqual([1, 1, 2, 4, 4, 5, 7, 7, 8]);
  });
  it('groups=2: each output channel sees only its group', () => {
    const x2 = t([1, 2, 1, 1], [3, 5]);
    expect(arr(conv2d(x2, t([2, 1, 1, 1], [2, 10]), null, { groups: 2 }))).toEqual([6, 50]);
  });
  it('accepts an unbatched [C,H,W] input and returns [Cout,oH,oW]', () => {
    expect(conv2d(t([1, 3, 3], arr(x)), Tensor.full([2, 1, 2, 2], 1), null).shape).toEqual([2, 2, 2]);
  });
  it('does not modify its inputs', () => {
    const before = arr(x);
    conv2d(x, Tensor.full([1, 1, 2, 2], 1), null, { padding: 'same' });
    expect(arr(x)).toEqual(before);
  });
});

describe('convTranspose2d', () => {
  it('x=[1,1,2,2] w=ones[1,1,2,2] s=2 scatters each pixel into a 2×2 block', () => {
    const y = convTranspose2d(t([1, 1, 2, 2], [1, 2, 3, 4]), Tensor.full([1, 1, 2, 2], 1), null, { stride: 2 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(arr(y)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
  it('s=1 overlapping windows add up', () => {
    const y = convTranspose2d(t([1, 1, 1, 2], [1, 2]), t([1, 1, 1, 2], [1, 10]), t([1], [0.5]));
    expect(arr(y)).toEqual([1.5, 12.5, 20.5]);
  });
});

describe('pooling', () => {
  const x = t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  it('maxPool2d k=2 s=1', () => expect(arr(maxPool2d(x, { kernelSize: 2, stride: 1 }))).toEqual([5, 6, 8, 9]));
  it('maxPool2d k=2 ceilMode=true keeps the partial last window', () => expect(arr(maxPool2d(x, { kernelSize: 2, ceilMode: true }))).toEqual([5, 6, 8, 9]));
  it('maxPool2d padding never wins over negative values (pads are -inf)', () => {
    expect(arr(maxPool2d(Tensor.full([1, 1, 2, 2], -3), { kernelSize: 3, stride: 1, padding: 1 }))).toEqual([-3, -3, -3, -3]);
  });
  it('maxPool2d propagates NaN like PyTorch', () => {
    expect(Number.isNaN(maxPool2d(t([1, 1, 1, 2], [NaN, 1]), { kernelSize: [1, 2] }).data[0])).toBe(true);
    expect(Number.isNaN(maxPool2d(t([1, 1, 1, 2], [1, NaN]), { kernelSize: [1, 2] }).data[0])).toBe(true);
  });
  it('avgPool2d k=3 p=1: countIncludePad true divides by 9, false by the real count', () => {
    const one = Tensor.full([1, 1, 2, 2], 1);
    expect(r3(avgPool2d(one, { kernelSize: 3, stride: 1, padding: 1 }))).toEqual([0.444, 0.444, 0.444, 0.444]);
    expect(arr(avgPool2d(one, { kernelSize: 3, stride: 1, padding: 1, countIncludePad: false }))).toEqual([1, 1, 1, 1]);
    expect(arr(avgPool2d(one, { kernelSize: 3, stride: 1, padding: 1, divisorOverride: 2 }))).toEqual([2, 2, 2, 2]);
  });
});

describe('per-channel and elementwise ops', () => {
  it('batchNorm2d: (x - mean)/sqrt(var + eps)·w + b per channel', () => {
    const x = t([1, 2, 1, 2], [1, 3, 10, 20]);
    const y = batchNorm2d(x, t([2], [2, 10]), t([2], [4, 100]), t([2], [2, 1]), t([2], [0, 5]), { eps: 0 });
    expect(arr(y)).toEqual([-1, 1, 5, 6]);
  });
  it('relu / leakyRelu / sigmoid / tanh', () => {
    const x = t([4], [-2, -0.5, 0, 3]);
    expect(arr(relu(x))).toEqual([0, 0, 0, 3]);
    expect(arr(leakyRelu(x, { negativeSlope: 0.5 }))).toEqual([-1, -0.25, 0, 3]);
    expect(r3(leakyRelu(x))).toEqual([-0.02, -0.005, 0, 3]);
    expect(r3(sigmoid(x))).toEqual([0.119, 0.378, 0.5, 0.953]);
    expect(r3(tanh(x))).toEqual([-0.964, -0.462, 0, 0.995]);
  });
  it('softmax over channels sums to 1 at each pixel and survives large logits', () => {
    const y = softmax(t([1, 2, 1, 2], [1000, 0, 1000, 0]));
    expect(r3(y)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
  it('concat stacks channels per batch item', () => {
    const a = t([2, 1, 1, 1], [1, 2]);
    const b = t([2, 2, 1, 1], [3, 4, 5, 6]);
    expect(arr(concat([a, b]))).toEqual([1, 3, 4, 2, 5, 6]);
  });
  it('add/mul: same shape, scalar, per-channel [1,C,1,1] and trailing [W] broadcasts', () => {
    const x = t([1, 2, 1, 2], [1, 2, 3, 4]);
    expect(arr(add(x, x))).toEqual([2, 4, 6, 8]);
    expect(arr(mul(x, 10))).toEqual([10, 20, 30, 40]);
    expect(arr(add(x, t([1, 2, 1, 1], [100, 200])))).toEqual([101, 102, 203, 204]);
    expect(arr(mul(x, t([2], [1, -1])))).toEqual([1, -2, 3, -4]);
    expect(add(t([2, 1], [1, 2]), t([1, 3], [10, 20, 30])).shape).toEqual([2, 3]);
  });
});

describe('pad', () => {
  const x = t([1, 1, 4], [1, 2, 3, 4]);
  it('constant / reflect / replicate / circular by [2, 1]', () => {
    expect(arr(pad(x, [2, 1], { value: 9 }))).toEqual([9, 9, 1, 2, 3, 4, 9]);
    expect(arr(pad(x, [2, 1], { mode: 'reflect' }))).toEqual([3, 2, 1, 2, 3, 4, 3]);
    expect(arr(pad(x, [2, 1], { mode: 'replicate' }))).toEqual([1, 1, 1, 2, 3, 4, 4]);
    expect(arr(pad(x, [2, 1], { mode: 'circular' }))).toEqual([3, 4, 1, 2, 3, 4, 1]);
  });
  it('negative pads crop; circular wraps the kept part (PyTorch _pad_circular)', () => {
    expect(arr(pad(x, [-1, -2]))).toEqual([2]);
    expect(arr(pad(x, [2, -1], { mode: 'circular' }))).toEqual([2, 3, 1, 2, 3]);
    expect(arr(pad(x, [-1, 2], { mode: 'reflect' }))).toEqual([2, 3, 4, 3, 2]);
  });
  it('[left, right, top, bottom] pads the last two dims', () => {
    expect(pad(Tensor.full([2, 3, 4], 1), [1, 2, 3, 4]).shape).toEqual([2, 10, 7]);
  });
});

describe('interpolate', () => {
  const x = t([1, 1, 1, 3], [0, 10, 20]);
  it('nearest picks floor(dst · in/out): 3 → 5 gives 0 0 10 10 20', () => {
    expect(arr(interpolate(x, { size: [1, 5] }))).toEqual([0, 0, 10, 10, 20]);
  });
  it('bilinear alignCorners=true hits both corners: 3 → 5 gives 0 5 10 15 20', () => {
    expect(arr(interpolate(x, { size: [1, 5], mode: 'bilinear', alignCorners: true }))).toEqual([0, 5, 10, 15, 20]);
  });
  it('bilinear alignCorners=false samples pixel centres, clamped: 3 → 6', () => {
    expect(r3(interpolate(x, { size: [1, 6], mode: 'bilinear' }))).toEqual([0, 2.5, 7.5, 12.5, 17.5, 20]);
  });
  it('scaleFactor 2 doubles the size; nearest repeats each pixel', () => {
    const y = interpolate(t([1, 1, 2, 2], [1, 2, 3, 4]), { scaleFactor: 2 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(arr(y)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
});
