/**
 * Output sizes and pads (src/ops/geometry.ts): the seed's worked examples and formulas, SAME/VALID/FULL, the
 * ceil-mode rule of pooling and the equivalent-conv pads of a transposed convolution.
 */
import { describe, expect, it } from 'vitest';
import {
  conv2dGeometry,
  convOutSize,
  convTranspose2dGeometry,
  convTransposeOutSize,
  interpolateGeometry,
  padGeometry,
  pool2dGeometry,
  poolOutSize,
  samePads,
} from '../src/ops/geometry.js';
import { conv2d, convTranspose2d, maxPool2d } from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';

describe('worked example: (3,64,64) with k=4, s=2, p=1', () => {
  it('conv2d gives (3,32,32)', () => {
    const x = new Tensor([3, 64, 64]);
    const w = new Tensor([3, 3, 4, 4]);
    expect(conv2d(x, w, null, { stride: 2, padding: 1 }).shape).toEqual([3, 32, 32]);
    expect(convOutSize(64, 4, 2, 1, 1, 1)).toBe(32);
  });
  it('convTranspose2d brings (3,32,32) back to (3,64,64)', () => {
    const y = new Tensor([3, 32, 32]);
    const w = new Tensor([3, 3, 4, 4]);
    expect(convTranspose2d(y, w, null, { stride: 2, padding: 1 }).shape).toEqual([3, 64, 64]);
    expect(convTransposeOutSize(32, 4, 2, 1, 1, 0)).toBe(64);
  });
});

describe('SAME / VALID / FULL at stride 1', () => {
  for (const k of [1, 3, 5, 7]) {
    for (const i of [7, 16, 33]) {
      it(`i=${i} k=${k}: SAME p=${(k - 1) / 2} keeps ${i}, VALID p=0 gives ${i - k + 1}, FULL p=${k - 1} gives ${i + k - 1}`, () => {
        expect(convOutSize(i, k, 1, 1, (k - 1) / 2, (k - 1) / 2)).toBe(i);
        expect(convOutSize(i, k, 1, 1, 0, 0)).toBe(i - k + 1);
        expect(convOutSize(i, k, 1, 1, k - 1, k - 1)).toBe(i + k - 1);
      });
    }
  }
  it("'same' with an even kernel puts the odd extra pad on the bottom/right (PyTorch)", () => {
    expect(samePads(4, 1)).toEqual([1, 2]);
    expect(samePads(2, 3)).toEqual([1, 2]);
    expect(samePads(3, 2)).toEqual([2, 2]);
    const g = conv2dGeometry('conv2d', {
      x: [1, 1, 10, 9], w: [1, 1, 4, 2], stride: [1, 1], dilation: [1, 1], padding: { kind: 'same' }, groups: 1, paddingMode: 'zeros',
    });
    expect(g.pad).toEqual({ top: 1, bottom: 2, left: 0, right: 1 });
    expect([g.outH, g.outW]).toEqual([10, 9]);
  });
  it("'valid' means no padding", () => {
    const g = conv2dGeometry('conv2d', {
      x: [1, 1, 10, 9], w: [1, 1, 3, 3], stride: [2, 2], dilation: [1, 1], padding: { kind: 'valid' }, groups: 1, paddingMode: 'zeros',
    });
    expect(g.pad).toEqual({ top: 0, bottom: 0, left: 0, right: 0 });
    expect([g.outH, g.outW]).toEqual([4, 4]);
  });
});

describe('conv output size o = floor((i + 2p - d(k-1) - 1)/s) + 1', () => {
  it('x=[2,4,11,8] w=[6,2,3,2] s=[2,3] d=[2,1] p=[1,0] groups=2', () => {
    const g = conv2dGeometry('conv2d', {
      x: [2, 4, 11, 8], w: [6, 2, 3, 2], stride: [2, 3], dilation: [2, 1], padding: { kind: 'explicit', h: 1, w: 0 }, groups: 2, paddingMode: 'zeros',
    });
    expect([g.outH, g.outW]).toEqual([Math.floor((11 + 2 - 4 - 1) / 2) + 1, Math.floor((8 - 1 - 1) / 3) + 1]);
    expect([g.inPerGroup, g.outPerGroup, g.outChannels]).toEqual([2, 3, 6]);
  });
  it('an output below 1 throws ERR_OUTPUT_SIZE naming the op', () => {
    expect(() =>
      conv2dGeometry('conv2d', {
        x: [1, 1, 3, 3], w: [1, 1, 5, 5], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 0, w: 0 }, groups: 1, paddingMode: 'zeros',
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_OUTPUT_SIZE', message: expect.stringMatching(/^conv2d: output size is too small/) }));
  });
});

describe('convTranspose2d output size o = (i-1)s - 2p + d(k-1) + outputPadding + 1', () => {
  it('x=[1,2,5,4] w=[2,3,3,4] s=[2,3] p=[1,2] op=[1,2] d=[1,1]', () => {
    const g = convTranspose2dGeometry('convTranspose2d', {
      x: [1, 2, 5, 4], w: [2, 3, 3, 4], stride: [2, 3], padding: [1, 2], outputPadding: [1, 2], dilation: [1, 1], groups: 1,
    });
    expect([g.outH, g.outW]).toEqual([(5 - 1) * 2 - 2 + 2 + 1 + 1, (4 - 1) * 3 - 4 + 3 + 2 + 1]);
    expect(g.outChannels).toBe(3);
    // equivalent stride-1 conv pads: d(k-1) - p, plus outputPadding bottom/right
    expect(g.equivalentPad).toEqual({ top: 1, bottom: 2, left: 1, right: 3 });
  });
  it('the conv of the convT output size returns the input size (k=3, s=2, p=1, op=1)', () => {
    for (const i of [4, 7, 16]) {
      const o = convTransposeOutSize(i, 3, 2, 1, 1, 1);
      expect(o).toBe(2 * i);
      expect(convOutSize(o, 3, 2, 1, 1, 1)).toBe(i);
    }
  });
});

describe('pool output size with ceilMode', () => {
  it('floor vs ceil: i=7 k=2 s=2 gives 3 vs 4', () => {
    expect(poolOutSize(7, 2, 2, 1, 0, false)).toBe(3);
    expect(poolOutSize(7, 2, 2, 1, 0, true)).toBe(4);
  });
  it('the last window must start inside the input or the left pad: i=5 k=2 s=2 p=1 ceil gives 3, not 4', () => {
    expect(poolOutSize(5, 2, 2, 1, 1, true)).toBe(3);
    expect(poolOutSize(6, 3, 2, 1, 1, true)).toBe(4);
  });
  it('pool geometry records how far the last window runs past the input', () => {
    const g = pool2dGeometry('maxPool2d', { x: [1, 1, 7, 6], kernel: [2, 3], stride: [2, 2], padding: [0, 1], dilation: [1, 1], ceilMode: true });
    // H: ceil((7-1-1)/2)+1 = 4, windows end at 8 (1 past); W: ceil((6+2-2-1)/2)+1 = 4, last window ends at 6+1+2
    expect([g.outH, g.outW]).toEqual([4, 4]);
    expect(g.pad).toEqual({ top: 0, bottom: 1, left: 1, right: 2 });
  });
  it('maxPool2d stride defaults to the kernel size', () => {
    expect(maxPool2d(new Tensor([1, 1, 8, 6]), { kernelSize: 2 }).shape).toEqual([1, 1, 4, 3]);
    expect(maxPool2d(new Tensor([1, 1, 8, 6]), { kernelSize: [2, 3] }).shape).toEqual([1, 1, 4, 2]);
  });
});

describe('interpolate and pad geometry', () => {
  it('scaleFactor 1.5 on 5×4 gives floor sizes 7×6 and ratios 1/1.5 in float32', () => {
    const g = interpolateGeometry('interpolate', { x: [2, 3, 5, 4], size: null, scaleFactor: [1.5, 1.5], mode: 'nearest', alignCorners: false });
    expect([g.planes, g.outH, g.outW]).toEqual([6, 7, 6]);
    expect(g.scaleH).toBe(Math.fround(1 / 1.5));
  });
  it('a size gives in/out ratios; bilinear alignCorners gives (in-1)/(out-1), 0 for out=1', () => {
    const g = interpolateGeometry('interpolate', { x: [1, 1, 14, 5], size: [46, 1], scaleFactor: null, mode: 'bilinear', alignCorners: true });
    expect([g.scaleH, g.scaleW]).toEqual([Math.fround(13 / 45), 0]);
    const h = interpolateGeometry('interpolate', { x: [1, 1, 14, 5], size: [46, 1], scaleFactor: null, mode: 'nearest', alignCorners: false });
    expect([h.scaleH, h.scaleW]).toEqual([Math.fround(14 / 46), 5]);
  });
  it('a factor that empties the output throws ERR_OUTPUT_SIZE', () => {
    expect(() => interpolateGeometry('interpolate', { x: [1, 1, 3, 3], size: null, scaleFactor: [0.2, 1], mode: 'nearest', alignCorners: false }))
      .toThrow(expect.objectContaining({ code: 'ERR_OUTPUT_SIZE' }));
  });
  it('pad [1, 2, -1, 3] on [2, 3, 4, 5] gives [2, 3, 6, 8] over 6 planes', () => {
    const g = padGeometry({ x: [2, 3, 4, 5], pads: [1, 2, -1, 3], mode: 'constant', value: 0 });
    expect(g.outShape).toEqual([2, 3, 6, 8]);
    expect(g.planes).toBe(6);
    expect(g.pad).toEqual({ top: -1, bottom: 3, left: 1, right: 2 });
  });
  it('a 2-element pad touches only the last dim', () => {
    const g = padGeometry({ x: [3, 4, 5], pads: [2, 0], mode: 'reflect', value: 0 });
    expect(g.outShape).toEqual([3, 4, 7]);
    expect([g.planes, g.inH, g.outH]).toEqual([12, 1, 1]);
  });
});
