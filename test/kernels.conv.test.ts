import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../src/kernels/backend.js';
import { compileKernels, conv2dDescriptor, KernelInstance, KernelMemory } from '../src/kernels/index.js';
import { packConv2dWeights, packedConv2dFloats } from '../src/kernels/pack.js';
import { conv2dGeometry, type Conv2dGeometry } from '../src/ops/geometry.js';
import { conv2dReference } from '../src/ops/reference/conv.js';
import { activationReference } from '../src/ops/reference/elementwise.js';
import type { NormalizedPadding, PaddingMode } from '../src/ops/params.js';
import { compare, randInt, randomArray, rng } from './kernels.helpers.js';

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: NormalizedPadding;
  groups: number;
  mode: PaddingMode;
  bias: boolean;
}

function name(c: Case): string {
  const p = c.padding.kind === 'explicit' ? `${c.padding.h},${c.padding.w}` : c.padding.kind;
  return `x=[${c.x}] w=[${c.w}] s=${c.stride} d=${c.dilation} p=${p} g=${c.groups} mode=${c.mode}${c.bias ? ' bias' : ''}`;
}

function run(c: Case, seed: number): { g: Conv2dGeometry; ours: Float32Array; ref: Float32Array } {
  const rand = rng(seed);
  const g = conv2dGeometry('test', { x: c.x, w: c.w, stride: c.stride, dilation: c.dilation, padding: c.padding, groups: c.groups, paddingMode: c.mode });
  const x = randomArray(c.x.reduce((a, b) => a * b), rand);
  const w = randomArray(c.w.reduce((a, b) => a * b), rand);
  const bias = c.bias ? randomArray(c.w[0], rand) : null;
  const n = g.batch * g.outChannels * g.outH * g.outW;
  const ours = new Float32Array(n).fill(NaN);
  const ref = new Float32Array(n);
  wasmBackend.conv2d(g, x, w, bias, ours);
  conv2dReference(g, x, w, bias, ref);
  return { g, ours, ref };
}

const fixed: Case[] = [
  { x: [1, 8, 9, 11], w: [12, 8, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 1, mode: 'zeros', bias: true },
  { x: [2, 3, 17, 13], w: [16, 3, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'same' }, groups: 1, mode: 'reflect', bias: true },
  { x: [1, 6, 10, 10], w: [6, 1, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 6, mode: 'zeros', bias: false },
  { x: [1, 4, 21, 37], w: [4, 1, 5, 3], stride: [2, 3], dilation: [2, 1], padding: { kind: 'explicit', h: 3, w: 2 }, groups: 4, mode: 'circular', bias: true },
  { x: [1, 6, 12, 12], w: [9, 2, 3, 2], stride: [2, 1], dilation: [1, 2], padding: { kind: 'explicit', h: 2, w: 1 }, groups: 3, mode: 'replicate', bias: true },
  { x: [1, 1, 19, 23], w: [5, 1, 1, 1], stride: [1, 1], dilation: [1, 1], padding: { kind: 'valid' }, groups: 1, mode: 'zeros', bias: true },
  { x: [1, 16, 8, 8], w: [32, 16, 3, 3], stride: [2, 2], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 1, mode: 'zeros', bias: false },
  // 1×1 convs: grouped (general kernel) and a 16-channel one with dilation and 'same' padding (rows kernel).
  { x: [1, 8, 7, 8], w: [6, 4, 1, 1], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 0, w: 0 }, groups: 2, mode: 'zeros', bias: true },
  { x: [1, 16, 16, 16], w: [8, 16, 1, 1], stride: [1, 1], dilation: [3, 2], padding: { kind: 'same' }, groups: 1, mode: 'reflect', bias: false },
  // Rows kernel (stride 1, one group, ≤ 64 taps): rows cut into strips, padding modes, a 2-channel 1×1 head
  // (partial channel block) over a batch with a pixel tail, a 64-channel 1×1, and 1×1s on rows of whole 8-pixel
  // groups read in place (a batch with a partial channel block; more than 4 channels).
  { x: [1, 7, 5, 300], w: [5, 7, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 1, mode: 'reflect', bias: true },
  { x: [1, 2, 9, 700], w: [3, 2, 3, 5], stride: [1, 1], dilation: [2, 3], padding: { kind: 'same' }, groups: 1, mode: 'circular', bias: true },
  { x: [2, 20, 9, 13], w: [2, 20, 1, 1], stride: [1, 1], dilation: [1, 1], padding: { kind: 'valid' }, groups: 1, mode: 'zeros', bias: true },
  { x: [1, 64, 3, 200], w: [6, 64, 1, 1], stride: [1, 1], dilation: [1, 1], padding: { kind: 'valid' }, groups: 1, mode: 'zeros', bias: false },
  { x: [2, 12, 5, 24], w: [3, 12, 1, 1], stride: [1, 1], dilation: [1, 1], padding: { kind: 'valid' }, groups: 1, mode: 'zeros', bias: true },
  { x: [1, 9, 3, 16], w: [9, 9, 1, 1], stride: [1, 1], dilation: [1, 1], padding: { kind: 'valid' }, groups: 1, mode: 'zeros', bias: true },
  { x: [1, 3, 11, 19], w: [8, 3, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 2, w: 0 }, groups: 1, mode: 'replicate', bias: true },
];

describe('wasm conv2d matches the reference kernel', () => {
  for (const [i, c] of fixed.entries()) {
    it(name(c), () => {
      const { ours, ref } = run(c, 1000 + i);
      expect(compare(ours, ref).ratio).toBeLessThanOrEqual(1);
    });
  }

  it('randomized: 120 geometries over groups, stride, dilation, padding modes and odd sizes', () => {
    const rand = rng(7);
    const modes: PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];
    for (let t = 0; t < 120; t++) {
      const groups = [1, 1, 2, 3, 4][randInt(rand, 0, 4)]!;
      const depthwise = rand() < 0.25;
      const ipg = depthwise ? 1 : randInt(rand, 1, 5);
      const opg = depthwise ? randInt(rand, 1, 2) : randInt(rand, 1, 9);
      const kH = randInt(rand, 1, 5), kW = randInt(rand, 1, 5);
      const dH = randInt(rand, 1, 2), dW = randInt(rand, 1, 2);
      const sH = randInt(rand, 1, 3), sW = randInt(rand, 1, 3);
      const mode = modes[randInt(rand, 0, 3)]!;
      const H = randInt(rand, dH * (kH - 1) + 1, 24), W = randInt(rand, dW * (kW - 1) + 1, 30);
      let padding: NormalizedPadding;
      const pk = rand();
      if (pk < 0.2) padding = { kind: 'valid' };
      else if (pk < 0.4 && sH === 1 && sW === 1) padding = { kind: 'same' };
      else padding = { kind: 'explicit', h: randInt(rand, 0, Math.min(kH, H - 1)), w: randInt(rand, 0, Math.min(kW, W - 1)) };
      const c: Case = {
        x: [randInt(rand, 1, 2), ipg * groups, H, W], w: [opg * groups, ipg, kH, kW], stride: [sH, sW], dilation: [dH, dW],
        padding, groups, mode, bias: rand() < 0.6,
      };
      if (padding.kind === 'same') {
        // PyTorch refuses reflect padding >= the input size.
        if (mode === 'reflect' && (dH * (kH - 1) >= H || dW * (kW - 1) >= W)) c.mode = 'zeros';
      }
      const { ours, ref } = run(c, t);
      const r = compare(ours, ref);
      expect(r.ratio, `${name(c)} (worst element ${r.at}, max abs ${r.maxAbs})`).toBeLessThanOrEqual(1);
    }
  });
});

describe('wasm conv2d work ranges', () => {
  it('four disjoint channel × row blocks together equal the whole output', () => {
    const rand = rng(3);
    const g = conv2dGeometry('test', { x: [1, 5, 13, 14], w: [11, 5, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 1, paddingMode: 'reflect' });
    const x = randomArray(5 * 13 * 14, rand), w = randomArray(11 * 5 * 9, rand);
    const ref = new Float32Array(11 * g.outH * g.outW);
    conv2dReference(g, x, w, null, ref);
    const mem = wasmBackend.memory;
    const k = wasmBackend.kernels;
    const xOff = mem.alloc(x.byteLength), oOff = mem.alloc(ref.byteLength);
    mem.f32(xOff, x.length).set(x);
    mem.f32(oOff, ref.length).fill(NaN);
    // Pack through the backend once, then address the packed weights by offset.
    const tmp = new Float32Array(ref.length);
    wasmBackend.conv2d(g, x, w, null, tmp);
    const wOff = (wasmBackend as unknown as { packed: WeakMap<Float32Array, { off: number }[]> }).packed.get(w)![0]!.off;
    for (const [coStart, coEnd] of [[0, 6], [6, 11]]) {
      for (const [rowStart, rowEnd] of [[0, 5], [5, 13]]) {
        k.conv2d(g, xOff, wOff, 0, oOff, { activation: 'none' }, { coStart: coStart!, coEnd: coEnd!, rowStart: rowStart!, rowEnd: rowEnd! });
      }
    }
    const ours = mem.f32(oOff, ref.length).slice();
    mem.free(xOff);
    mem.free(oOff);
    expect(compare(ours, ref).ratio).toBeLessThanOrEqual(1);
  });
});

describe('wasm conv2d scratch', () => {
  // Row panels (stride 1), K×8 panels (stride 2, large dilation), blocks of few panels (large K), 1×1 and groups.
  const shapes: Array<{ x: [number, number, number, number]; w: [number, number, number, number]; s: number; d: [number, number]; p: number; groups: number; mode: PaddingMode }> = [
    { x: [1, 96, 9, 21], w: [8, 96, 3, 3], s: 1, d: [1, 1], p: 1, groups: 1, mode: 'zeros' },
    { x: [1, 7, 12, 19], w: [6, 7, 5, 5], s: 1, d: [2, 2], p: 4, groups: 1, mode: 'reflect' },
    { x: [1, 4, 11, 40], w: [5, 4, 2, 2], s: 1, d: [1, 9], p: 1, groups: 1, mode: 'circular' },
    { x: [1, 6, 10, 23], w: [9, 2, 1, 1], s: 1, d: [1, 1], p: 0, groups: 3, mode: 'zeros' },
    { x: [1, 16, 17, 17], w: [12, 16, 3, 3], s: 2, d: [1, 1], p: 1, groups: 1, mode: 'replicate' },
  ];
  for (const c of shapes) {
    it(`x=[${c.x}] w=[${c.w}] s=${c.s} d=${c.d} g=${c.groups}: writes stay inside conv2dScratchBytes`, () => {
      const rand = rng(11);
      const g = conv2dGeometry('test', { x: c.x, w: c.w, stride: [c.s, c.s], dilation: c.d, padding: { kind: 'explicit', h: c.p, w: c.p }, groups: c.groups, paddingMode: c.mode });
      const mem = new KernelMemory(1 << 22);
      const x = randomArray(c.x.reduce((a, b) => a * b), rand), w = randomArray(c.w.reduce((a, b) => a * b), rand);
      const outLen = g.outChannels * g.outH * g.outW;
      const xOff = mem.alloc(x.byteLength), oOff = mem.alloc(outLen * 4), wOff = mem.alloc(packedConv2dFloats(g) * 4);
      mem.f32(xOff, x.length).set(x);
      packConv2dWeights(g, w, mem.f32(wOff, packedConv2dFloats(g)));
      const desc = conv2dDescriptor(g, xOff, wOff, 0, oOff);
      const guard = 4096;
      const scratch = mem.alloc(desc.scratchBytes + guard);
      mem.f32(scratch + desc.scratchBytes, guard / 4).fill(12345);
      new KernelInstance(compileKernels(), mem, { offset: scratch, bytes: desc.scratchBytes }).run(desc);
      expect(mem.f32(scratch + desc.scratchBytes, guard / 4).every((v) => v === 12345)).toBe(true);
      const ref = new Float32Array(outLen);
      conv2dReference(g, x, w, null, ref);
      expect(compare(mem.f32(oOff, outLen).slice(), ref).ratio).toBeLessThanOrEqual(1);
    });
  }
});

describe('wasm conv2d fused epilogue', () => {
  for (const [activation, slope] of [['relu', 0], ['leakyRelu', 0.01], ['sigmoid', 0], ['tanh', 0]] as const) {
    for (const kind of ['rows', 'general', 'depthwise'] as const) {
      const depthwise = kind === 'depthwise';
      it(`${kind} conv + bias + ${activation} over 2×2 disjoint blocks equals reference then activation`, () => {
        const rand = rng(17);
        const cin = depthwise ? 6 : kind === 'rows' ? 5 : 8; // 45 taps: rows kernel; 72: the general kernel
        const g = conv2dGeometry('test', { x: [1, cin, 19, 21], w: [6, depthwise ? 1 : cin, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'same' }, groups: depthwise ? 6 : 1, paddingMode: 'zeros' });
        const x = randomArray(cin * 19 * 21, rand), w = randomArray(6 * g.inPerGroup * 9, rand), b = randomArray(6, rand);
        const n = 6 * 19 * 21;
        const ref = new Float32Array(n);
        conv2dReference(g, x, w, b, ref);
        activationReference({ kind: activation, size: n, negativeSlope: slope }, ref, ref);
        wasmBackend.conv2d(g, x, w, b, new Float32Array(n)); // packs the weights
        const wOff = (wasmBackend as unknown as { packed: WeakMap<Float32Array, { off: number }[]> }).packed.get(w)![0]!.off;
        const mem = wasmBackend.memory;
        const xOff = mem.alloc(x.byteLength), bOff = mem.alloc(b.byteLength), oOff = mem.alloc(n * 4);
        mem.f32(xOff, x.length).set(x);
        mem.f32(bOff, b.length).set(b);
        mem.f32(oOff, n).fill(NaN);
        // Blocks split channels and rows unevenly: an activation pass after a block must stay inside it.
        for (const [coStart, coEnd] of [[0, 2], [2, 6]]) {
          for (const [rowStart, rowEnd] of [[0, 7], [7, 19]]) {
            wasmBackend.kernels.conv2d(g, xOff, wOff, bOff, oOff, { activation, slope }, { coStart: coStart!, coEnd: coEnd!, rowStart: rowStart!, rowEnd: rowEnd! });
          }
        }
        const ours = mem.f32(oOff, n).slice();
        for (const off of [xOff, bOff, oOff]) mem.free(off);
        expect(compare(ours, ref).ratio).toBeLessThanOrEqual(1);
      });
    }
  }

  it('a mutated weight array is repacked (the cache compares contents)', () => {
    const rand = rng(19);
    const g = conv2dGeometry('test', { x: [1, 4, 6, 6], w: [4, 4, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 1, paddingMode: 'zeros' });
    const x = randomArray(144, rand), w = randomArray(144, rand);
    const a = new Float32Array(144), ref = new Float32Array(144);
    wasmBackend.conv2d(g, x, w, null, a);
    w[7] = w[7]! + 1;
    wasmBackend.conv2d(g, x, w, null, a);
    conv2dReference(g, x, w, null, ref);
    expect(compare(a, ref).ratio).toBeLessThanOrEqual(1);
  });
});
