import { describe, expect, it } from 'vitest';
import { wasmBackend, WasmBackend } from '../src/kernels/backend.js';
import { convTranspose2dGeometry, conv2dGeometry } from '../src/ops/geometry.js';
import { conv2dReference, convTranspose2dReference } from '../src/ops/reference/conv.js';
import { activationReference } from '../src/ops/reference/elementwise.js';
import { compare, randInt, randomArray, rng } from './kernels.helpers.js';

const plain = new WasmBackend({ name: 'wasm-plain-convt', relaxed: false });

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: [number, number];
  padding: [number, number];
  outputPadding: [number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
}

function name(c: Case): string {
  return `x=[${c.x}] w=[${c.w}] s=${c.stride} p=${c.padding} op=${c.outputPadding} d=${c.dilation} g=${c.groups}${c.bias ? ' bias' : ''}`;
}

function check(c: Case, seed: number, backend: WasmBackend = wasmBackend): void {
  const rand = rng(seed);
  const g = convTranspose2dGeometry('test', { x: c.x, w: c.w, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups });
  const x = randomArray(c.x.reduce((a, b) => a * b), rand);
  const w = randomArray(c.w.reduce((a, b) => a * b), rand);
  const bias = c.bias ? randomArray(g.outChannels, rand) : null;
  const n = g.batch * g.outChannels * g.outH * g.outW;
  const ours = new Float32Array(n).fill(NaN);
  const ref = new Float32Array(n);
  backend.convTranspose2d(g, x, w, bias, ours);
  convTranspose2dReference(g, x, w, bias, ref);
  const r = compare(ours, ref);
  expect(r.ratio, `${name(c)} (worst element ${r.at}, max abs ${r.maxAbs})`).toBeLessThanOrEqual(1);
}

const base = { dilation: [1, 1] as [number, number], groups: 1, outputPadding: [0, 0] as [number, number], padding: [0, 0] as [number, number] };

describe('wasm convTranspose2d matches the reference kernel', () => {
  const fixed: Case[] = [
    { ...base, x: [1, 16, 8, 8], w: [16, 8, 2, 2], stride: [2, 2], bias: true }, // U-Net up-conv (interleaved stores)
    { ...base, x: [2, 12, 5, 13], w: [12, 5, 2, 2], stride: [2, 2], bias: true }, // rows not a multiple of 8 pixels
    { ...base, x: [1, 6, 7, 9], w: [6, 4, 3, 3], stride: [3, 3], padding: [1, 2], outputPadding: [2, 1], bias: true }, // k = s, cropped
    { ...base, x: [1, 6, 7, 9], w: [6, 3, 3, 3], stride: [2, 2], padding: [1, 1], outputPadding: [1, 1], bias: true }, // overlap
    { ...base, x: [1, 8, 6, 5], w: [8, 3, 3, 2], stride: [1, 2], dilation: [2, 3], groups: 2, bias: true },
    { ...base, x: [1, 5, 4, 4], w: [5, 7, 1, 1], stride: [1, 1], bias: false },
    // Up-convolutions over several blocks of panels (weights outer, panels inner) and several row blocks.
    { ...base, x: [1, 300, 6, 24], w: [300, 5, 2, 2], stride: [2, 2], bias: true },
    { ...base, x: [1, 40, 12, 40], w: [40, 9, 2, 2], stride: [2, 2], bias: true },
    { ...base, x: [1, 40, 11, 37], w: [40, 6, 3, 3], stride: [2, 2], padding: [1, 1], outputPadding: [1, 0], bias: true },
  ];
  for (const [i, c] of fixed.entries()) {
    it(name(c), () => {
      check(c, 100 + i);
      check(c, 100 + i, plain);
    });
  }

  it('randomized: 100 geometries over stride, padding, output padding, dilation and groups', () => {
    const rand = rng(11);
    for (let t = 0; t < 100; t++) {
      const groups = [1, 1, 2, 3][randInt(rand, 0, 3)]!;
      const kH = randInt(rand, 1, 4), kW = randInt(rand, 1, 4);
      const sH = randInt(rand, 1, 3), sW = randInt(rand, 1, 3);
      const dH = randInt(rand, 1, 2), dW = randInt(rand, 1, 2);
      const pH = randInt(rand, 0, Math.floor((dH * (kH - 1)) / 2)), pW = randInt(rand, 0, Math.floor((dW * (kW - 1)) / 2));
      const opH = randInt(rand, 0, Math.max(sH, dH) - 1), opW = randInt(rand, 0, Math.max(sW, dW) - 1);
      const c: Case = {
        x: [randInt(rand, 1, 2), groups * randInt(rand, 1, 6), randInt(rand, 1, 11), randInt(rand, 1, 13)],
        w: [0, randInt(rand, 1, 6), kH, kW], stride: [sH, sW], padding: [pH, pW], outputPadding: [opH, opW], dilation: [dH, dW],
        groups, bias: rand() < 0.6,
      };
      c.w[0] = c.x[1];
      const g = convTranspose2dGeometry('t', { x: c.x, w: c.w, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups });
      if (g.outH < 1 || g.outW < 1) continue;
      check(c, 500 + t);
    }
  });
});

describe('wasm convTranspose2d epilogue and work ranges', () => {
  for (const [k, s, label, activation] of [
    [2, 2, 'kernel = stride (direct store)', 'leakyRelu'], [3, 2, 'overlapping (accumulate)', 'leakyRelu'],
    [2, 2, 'kernel = stride (direct store)', 'sigmoid'], [3, 2, 'overlapping (accumulate)', 'tanh'],
    [2, 2, 'kernel = stride (direct store)', 'relu'],
  ] as const) {
    it(`${label}: ${activation} epilogue over 2×2 disjoint blocks equals reference + activation`, () => {
      const rand = rng(5);
      const g = convTranspose2dGeometry('t', { x: [1, 6, 9, 10], w: [6, 5, k, k], stride: [s, s], padding: [0, 0], outputPadding: [1, 1], dilation: [1, 1], groups: 1 });
      const x = randomArray(6 * 90, rand), w = randomArray(6 * 5 * k * k, rand), b = randomArray(5, rand);
      const n = 5 * g.outH * g.outW;
      const ref = new Float32Array(n);
      convTranspose2dReference(g, x, w, b, ref);
      activationReference({ kind: activation, size: n, negativeSlope: 0.1 }, ref, ref);
      // Pack through the backend, then run the offset-based API block by block.
      wasmBackend.convTranspose2d(g, x, w, b, new Float32Array(n));
      const wOff = (wasmBackend as unknown as { packed: WeakMap<Float32Array, { off: number }[]> }).packed.get(w)![0]!.off;
      const mem = wasmBackend.memory;
      const xOff = mem.alloc(x.byteLength), bOff = mem.alloc(b.byteLength), oOff = mem.alloc(n * 4);
      mem.f32(xOff, x.length).set(x);
      mem.f32(bOff, b.length).set(b);
      mem.f32(oOff, n).fill(NaN);
      const midRow = Math.floor(g.outH / 2) + 1;
      for (const [coStart, coEnd] of [[0, 2], [2, 5]]) {
        for (const [rowStart, rowEnd] of [[0, midRow], [midRow, g.outH]]) {
          wasmBackend.kernels.convTranspose2d(g, xOff, wOff, bOff, oOff, { activation, slope: 0.1 },
            { coStart: coStart!, coEnd: coEnd!, rowStart: rowStart!, rowEnd: rowEnd! });
        }
      }
      const ours = mem.f32(oOff, n).slice();
      for (const off of [xOff, bOff, oOff]) mem.free(off);
      expect(compare(ours, ref).ratio).toBeLessThanOrEqual(1);
    });
  }

  it('adjointness: sum(conv(x)·y) == sum(x·convT(y)) on the wasm kernels', () => {
    const rand = rng(9);
    const cg = conv2dGeometry('t', { x: [1, 4, 11, 9], w: [6, 4, 3, 3], stride: [2, 2], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 1, paddingMode: 'zeros' });
    const tg = convTranspose2dGeometry('t', { x: [1, 6, cg.outH, cg.outW], w: [6, 4, 3, 3], stride: [2, 2], padding: [1, 1], outputPadding: [0, 0], dilation: [1, 1], groups: 1 });
    expect([tg.outH, tg.outW]).toEqual([11, 9]);
    const x = randomArray(4 * 99, rand), y = randomArray(6 * cg.outH * cg.outW, rand);
    const wConv = randomArray(6 * 4 * 9, rand);
    // convT weight [Cin=6, Cout=4, k, k] is the conv weight [6, 4, k, k] itself.
    const cx = new Float32Array(y.length), ty = new Float32Array(x.length);
    wasmBackend.conv2d(cg, x, wConv, null, cx);
    wasmBackend.convTranspose2d(tg, y, wConv, null, ty);
    let lhs = 0, rhs = 0;
    for (let i = 0; i < y.length; i++) lhs += cx[i]! * y[i]!;
    for (let i = 0; i < x.length; i++) rhs += x[i]! * ty[i]!;
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(lhs)));
    // And the conv agrees with the reference on the same data.
    const ref = new Float32Array(y.length);
    conv2dReference(cg, x, wConv, null, ref);
    expect(compare(cx, ref).ratio).toBeLessThanOrEqual(1);
  });
});
