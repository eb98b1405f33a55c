/**
 * Pooling, elementwise, data-movement and resize ops: the wasm backend (both builds) against the reference
 * backend through the functional API, over randomized shapes and every option.
 */
import { describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/kernels/backend.js';
import { registerBackend } from '../src/ops/backend.js';
import * as F from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';
import { compare, randInt, randomArray, rng } from './kernels.helpers.js';

registerBackend(new WasmBackend({ name: 'wasm-plain-ops', relaxed: false }));
const FAST = ['wasm', 'wasm-plain-ops'] as const;

function tensor(shape: number[], rand: () => number): Tensor {
  return new Tensor(shape, randomArray(shape.reduce((a, b) => a * b, 1), rand));
}

/** Run `op` on the reference and on each fast backend; outputs must agree within atol/rtol 1e-5. */
function agree(label: string, op: (backend: string) => Tensor, tol = 1e-5): void {
  const want = op('reference');
  for (const b of FAST) {
    const got = op(b);
    expect(got.shape, `${label} [${b}]`).toEqual(want.shape);
    const r = compare(got.data, want.data, tol, tol);
    expect(r.ratio, `${label} [${b}] worst element ${r.at}, max abs ${r.maxAbs}`).toBeLessThanOrEqual(1);
  }
}

describe('pooling on the wasm backend', () => {
  it('maxPool2d 2×2 stride 2 (vector path), odd sizes, NaN propagation', () => {
    const rand = rng(1);
    for (const [h, w] of [[8, 8], [9, 13], [2, 2], [16, 6]] as const) {
      const x = tensor([2, 3, h, w], rand);
      x.data[5] = NaN;
      agree(`x=[2,3,${h},${w}] k=2 s=2`, (backend) => F.maxPool2d(x, { kernelSize: 2, backend }));
      agree(`x=[2,3,${h},${w}] k=2 s=2 ceil`, (backend) => F.maxPool2d(x, { kernelSize: 2, ceilMode: true, backend }));
    }
  });

  it('randomized: 80 max/avg pools over kernel, stride, padding, dilation, ceilMode, countIncludePad, divisorOverride', () => {
    const rand = rng(2);
    for (let t = 0; t < 80; t++) {
      const kH = randInt(rand, 1, 4), kW = randInt(rand, 1, 4);
      const sH = randInt(rand, 1, 3), sW = randInt(rand, 1, 3);
      const pH = randInt(rand, 0, Math.floor(kH / 2)), pW = randInt(rand, 0, Math.floor(kW / 2));
      const dH = randInt(rand, 1, 2), dW = randInt(rand, 1, 2);
      const ceilMode = rand() < 0.5;
      const x = tensor([randInt(rand, 1, 2), randInt(rand, 1, 4), randInt(rand, dH * (kH - 1) + 1, 17), randInt(rand, dW * (kW - 1) + 1, 19)], rand);
      const label = `x=[${x.shape}] k=${kH},${kW} s=${sH},${sW} p=${pH},${pW} d=${dH},${dW} ceil=${ceilMode}`;
      agree(`max ${label}`, (backend) => F.maxPool2d(x, { kernelSize: [kH, kW], stride: [sH, sW], padding: [pH, pW], dilation: [dH, dW], ceilMode, backend }));
      const countIncludePad = rand() < 0.5;
      const divisorOverride = rand() < 0.2 ? randInt(rand, 1, 5) : null;
      agree(`avg ${label} cip=${countIncludePad} div=${divisorOverride}`, (backend) =>
        F.avgPool2d(x, { kernelSize: [kH, kW], stride: [sH, sW], padding: [pH, pW], ceilMode, countIncludePad, divisorOverride, backend }));
    }
  });

  it('avgPool2d 2×2 stride 2 (vector path) with and without divisorOverride', () => {
    const rand = rng(3);
    const x = tensor([1, 4, 12, 20], rand);
    agree('avg k=2', (backend) => F.avgPool2d(x, { kernelSize: 2, backend }));
    agree('avg k=2 div=3', (backend) => F.avgPool2d(x, { kernelSize: 2, divisorOverride: 3, backend }));
  });
});

describe('elementwise ops on the wasm backend', () => {
  const rand = rng(4);
  const x = tensor([2, 5, 7, 9], rand);
  x.data[3] = NaN;
  it('relu, leakyRelu, sigmoid, tanh (odd element counts, NaN kept)', () => {
    agree('relu', (backend) => F.relu(x, { backend }));
    agree('leakyRelu 0.2', (backend) => F.leakyRelu(x, { negativeSlope: 0.2, backend }));
    agree('sigmoid', (backend) => F.sigmoid(x, { backend }));
    agree('tanh', (backend) => F.tanh(x, { backend }));
  });

  it('add and mul: same shape, per-channel broadcast, scalar, broadcast on the last axis', () => {
    const y = tensor([2, 5, 7, 9], rand);
    const perChannel = tensor([1, 5, 1, 1], rand);
    const row = tensor([9], rand);
    const col = tensor([7, 1], rand);
    for (const [label, b] of [['same', y], ['per-channel', perChannel], ['row', row], ['column', col], ['scalar', 1.5]] as const) {
      agree(`add ${label}`, (backend) => F.add(x, b, { backend }));
      agree(`mul ${label}`, (backend) => F.mul(x, b, { backend }));
    }
  });

  it('batchNorm2d (channel affine) and softmax over channels', () => {
    const mean = tensor([5], rand), w = tensor([5], rand), b = tensor([5], rand);
    const v = new Tensor([5], Float32Array.from([0.5, 1, 2, 0.1, 3]));
    const y = tensor([2, 5, 7, 9], rand);
    agree('batchNorm2d', (backend) => F.batchNorm2d(y, mean, v, w, b, { backend }));
    agree('softmax', (backend) => F.softmax(y, { backend }));
  });

  it('concat along channels', () => {
    const a = tensor([2, 3, 4, 5], rand), b2 = tensor([2, 1, 4, 5], rand), c = tensor([2, 2, 4, 5], rand);
    agree('concat', (backend) => F.concat([a, b2, c], { backend }));
  });
});

describe('pad and interpolate on the wasm backend', () => {
  it('pad: every mode, positive and negative pads', () => {
    const rand = rng(5);
    const x = tensor([2, 3, 6, 7], rand);
    for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
      for (const pads of [[1, 2, 3, 0], [0, 0, 0, 0], [2, 2, 2, 2], [-1, 2, 1, -2], [5, 1, 4, 2]]) {
        if (mode === 'reflect' && pads.some((p) => p >= 6)) continue;
        if (mode !== 'constant' && mode !== 'circular' && pads.some((p) => p < 0)) continue;
        agree(`pad ${mode} ${pads}`, (backend) => F.pad(x, pads, mode === 'constant' ? { mode, value: 0.5, backend } : { mode, backend }));
      }
    }
  });

  it('interpolate: nearest and bilinear (alignCorners on/off), up and down, sizes and scale factors', () => {
    const rand = rng(6);
    const x = tensor([1, 3, 7, 10], rand);
    for (const mode of ['nearest', 'bilinear'] as const) {
      for (const opt of [{ size: [14, 20] }, { size: [5, 3] }, { scaleFactor: 2 }, { scaleFactor: [1.7, 0.6] }, { size: [7, 10] }] as const) {
        for (const alignCorners of mode === 'bilinear' ? [false, true] : [undefined]) {
          agree(`interpolate ${mode} ${JSON.stringify(opt)} ac=${alignCorners}`, (backend) =>
            F.interpolate(x, { ...opt, mode, ...(alignCorners === undefined ? {} : { alignCorners }), backend } as F.InterpolateOptions));
        }
      }
    }
  });
});
