import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  compileKernels, KernelInstance, KernelMemory, PARAM_WORDS, P_SCRATCH, relaxedSimdSupported, type Epilogue, type WorkRange,
} from '../src/kernels/index.js';
import {
  chooseConvAlgorithm, directCostNs, packedWinogradFloats, winogradCostNs, packWinogradWeights, supportsWinograd, winogradBlockPanels, winogradConv2d, winogradConv2dDescriptor, winogradScratchBytes,
} from '../src/kernels/winograd.js';
import { WasmBackend } from '../src/kernels/backend.js';
import { runGraph } from '../src/graph/execute.js';
import { optimizeGraph } from '../src/graph/passes.js';
import { buildUnet } from '../src/models/unet.js';
import { registerBackend } from '../src/ops/backend.js';
import { conv2dGeometry, pool2dGeometry, type Conv2dGeometry } from '../src/ops/geometry.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { NormalizedPadding } from '../src/ops/params.js';
import { conv2dReference } from '../src/ops/reference/conv.js';
import { maxPool2dReference } from '../src/ops/reference/pool.js';
import { randInt, randomArray, rng } from './kernels.helpers.js';

/** F(4×4,3×3) rounding budget: max |ours - reference| relative to the output's max magnitude. */
const TOLERANCE = 2e-4;

const memory = new KernelMemory(32 * 1024 * 1024);
const builds: Array<{ name: string; k: KernelInstance }> = [{ name: 'plain SIMD', k: new KernelInstance(compileKernels(false), memory) }];
if (relaxedSimdSupported()) builds.unshift({ name: 'relaxed SIMD', k: new KernelInstance(compileKernels(true), memory) });

function geometry(x: [number, number, number, number], cout: number, padding: NormalizedPadding): Conv2dGeometry {
  return conv2dGeometry('test', { x, w: [cout, x[1], 3, 3], stride: [1, 1], dilation: [1, 1], padding, groups: 1, paddingMode: 'zeros' });
}

/** A geometry with arbitrary (asymmetric) pads, as the ONNX importer produces them. */
function withPads(x: [number, number, number, number], cout: number, top: number, bottom: number, left: number, right: number): Conv2dGeometry {
  const g = geometry(x, cout, { kind: 'valid' });
  return { ...g, pad: { top, bottom, left, right }, outH: x[2] + top + bottom - 2, outW: x[3] + left + right - 2 };
}

interface Result { ours: Float32Array; ref: Float32Array; relErr: number }

function applyEpilogue(v: Float32Array, ep: Epilogue): void {
  for (let i = 0; i < v.length; i++) {
    const a = v[i]!;
    if (ep.activation === 'relu') v[i] = a < 0 ? 0 : a;
    else if (ep.activation === 'leakyRelu') v[i] = a < 0 ? Math.fround(a * (ep.slope ?? 0)) : a;
    else if (ep.activation === 'sigmoid') v[i] = Math.fround(1 / (1 + Math.exp(-a)));
    else if (ep.activation === 'tanh') v[i] = Math.fround(Math.tanh(a));
  }
}

/** Run the Winograd kernel on `k` (optionally as several disjoint work ranges) against the reference conv. */
function run(k: KernelInstance, g: Conv2dGeometry, seed: number, opts: { bias?: boolean; ep?: Epilogue; ranges?: WorkRange[]; viaDescriptor?: boolean } = {}): Result {
  const rand = rng(seed);
  const x = randomArray(g.batch * g.inChannels * g.inH * g.inW, rand);
  const w = randomArray(g.outChannels * g.inChannels * 9, rand);
  const bias = opts.bias === false ? null : randomArray(g.outChannels, rand);
  const n = g.batch * g.outChannels * g.outH * g.outW;
  const ref = new Float32Array(n);
  conv2dReference(g, x, w, bias, ref);
  if (opts.ep !== undefined) applyEpilogue(ref, opts.ep);

  const xOff = memory.alloc(x.byteLength), uOff = memory.alloc(packedWinogradFloats(g) * 4);
  const bOff = bias === null ? 0 : memory.alloc(bias.byteLength), oOff = memory.alloc(n * 4);
  memory.f32(xOff, x.length).set(x);
  packWinogradWeights(g, w, memory.f32(uOff, packedWinogradFloats(g)));
  if (bias !== null) memory.f32(bOff, bias.length).set(bias);
  memory.f32(oOff, n).fill(NaN);
  for (const r of opts.ranges ?? [undefined]) {
    if (opts.viaDescriptor) k.run(structuredClone(winogradConv2dDescriptor(g, xOff, uOff, bOff, oOff, opts.ep, r)));
    else winogradConv2d(k, g, xOff, uOff, bOff, oOff, opts.ep, r);
  }
  const ours = memory.f32(oOff, n).slice();
  for (const off of [xOff, uOff, bOff, oOff]) if (off !== 0) memory.free(off);

  let maxRef = 0, maxErr = 0;
  for (let i = 0; i < n; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    const d = Math.abs(ours[i]! - ref[i]!);
    maxErr = Number.isNaN(d) ? Infinity : Math.max(maxErr, d);
  }
  return { ours, ref, relErr: maxErr / maxRef };
}

const name = (g: Conv2dGeometry) =>
  `x=[${g.batch},${g.inChannels},${g.inH},${g.inW}] w=[${g.outChannels},${g.inChannels},3,3] ` +
  `pads t${g.pad.top} b${g.pad.bottom} l${g.pad.left} r${g.pad.right} → ${g.outH}×${g.outW}`;

const fixed: Conv2dGeometry[] = [
  geometry([1, 8, 9, 11], 12, { kind: 'explicit', h: 1, w: 1 }),
  geometry([2, 5, 13, 7], 7, { kind: 'explicit', h: 1, w: 1 }),
  geometry([1, 16, 18, 34], 5, { kind: 'valid' }),
  geometry([1, 3, 3, 3], 1, { kind: 'valid' }),
  geometry([1, 4, 1, 1], 3, { kind: 'same' }),
  geometry([2, 24, 37, 70], 20, { kind: 'same' }),
  geometry([1, 64, 16, 40], 64, { kind: 'explicit', h: 1, w: 1 }),
  geometry([1, 6, 20, 45], 9, { kind: 'explicit', h: 2, w: 0 }),
  withPads([1, 6, 17, 23], 10, 0, 1, 1, 0),
  withPads([1, 5, 12, 41], 6, 2, 0, 0, 3),
  geometry([1, 3, 6, 9], 4, { kind: 'explicit', h: 5, w: 6 }),
  geometry([2, 12, 8, 8], 12, { kind: 'same' }),
  geometry([1, 9, 22, 13], 5, { kind: 'same' }),
  geometry([1, 7, 30, 60], 6, { kind: 'explicit', h: 1, w: 1 }),
  withPads([1, 4, 7, 50], 5, 0, 7, 9, 0),
];

for (const { name: build, k } of builds) {
  describe(`winograd F(4×4,3×3) matches the reference conv (${build})`, () => {
    for (const [i, g] of fixed.entries()) {
      it(name(g), () => {
        expect(run(k, g, 100 + i).relErr).toBeLessThanOrEqual(TOLERANCE);
      });
    }

    it('no bias', () => {
      expect(run(k, geometry([1, 7, 10, 19], 6, { kind: 'explicit', h: 1, w: 1 }), 5, { bias: false }).relErr).toBeLessThanOrEqual(TOLERANCE);
    });

    for (const ep of [{ activation: 'relu' }, { activation: 'leakyRelu', slope: 0.1 }, { activation: 'sigmoid' }, { activation: 'tanh' }] as Epilogue[]) {
      it(`fused epilogue ${ep.activation} (also over row blocks not on tile boundaries)`, () => {
        const g = geometry([1, 9, 14, 22], 11, { kind: 'same' });
        const r = run(k, g, 6, { ep });
        expect(r.relErr).toBeLessThanOrEqual(TOLERANCE);
        const split = run(k, g, 6, { ep, ranges: [{ coStart: 0, coEnd: 11, rowStart: 0, rowEnd: 5 }, { coStart: 0, coEnd: 11, rowStart: 5, rowEnd: 14 }] });
        expect(split.ours).toEqual(r.ours);
        expect(r.relErr).toBeLessThanOrEqual(TOLERANCE);
        if (ep.activation === 'relu') expect(r.ours.every((v) => v >= 0)).toBe(true);
      });
    }

    it('work ranges: row blocks not on tile boundaries × channel blocks not on multiples of 4 cover the output exactly', () => {
      const g = geometry([2, 6, 23, 29], 11, { kind: 'explicit', h: 1, w: 1 });
      const ranges: WorkRange[] = [];
      for (const [rowStart, rowEnd] of [[0, 5], [5, 13], [13, 16], [16, 23]] as const) {
        for (const [coStart, coEnd] of [[0, 5], [5, 8], [8, 11]] as const) ranges.push({ coStart, coEnd, rowStart, rowEnd });
      }
      const r = run(k, g, 7, { ranges });
      expect(r.ours.some(Number.isNaN)).toBe(false);
      expect(r.relErr).toBeLessThanOrEqual(TOLERANCE);
    });

    it('a structured-cloned descriptor (as posted to a worker) computes the same blocks', () => {
      const g = geometry([2, 10, 19, 26], 9, { kind: 'explicit', h: 1, w: 1 });
      const ranges: WorkRange[] = [{ coStart: 0, coEnd: 9, rowStart: 0, rowEnd: 8 }, { coStart: 0, coEnd: 9, rowStart: 8, rowEnd: 19 }];
      const r = run(k, g, 9, { ranges, viaDescriptor: true, ep: { activation: 'relu' } });
      expect(r.relErr).toBeLessThanOrEqual(TOLERANCE);
    });

    it('a NaN input makes NaN every output whose window contains it (and may spread within its tiles)', () => {
      const g = geometry([1, 3, 13, 17], 4, { kind: 'explicit', h: 1, w: 1 });
      const rand = rng(10);
      const x = randomArray(3 * 13 * 17, rand), w = randomArray(4 * 3 * 9, rand);
      x[(1 * 13 + 6) * 17 + 9] = NaN;
      const n = 4 * 13 * 17;
      const ref = new Float32Array(n);
      conv2dReference(g, x, w, null, ref);
      const xOff = memory.alloc(x.byteLength), uOff = memory.alloc(packedWinogradFloats(g) * 4), oOff = memory.alloc(n * 4);
      memory.f32(xOff, x.length).set(x);
      packWinogradWeights(g, w, memory.f32(uOff, packedWinogradFloats(g)));
      winogradConv2d(k, g, xOff, uOff, 0, oOff, { activation: 'relu' });
      const ours = memory.f32(oOff, n).slice();
      for (const off of [xOff, uOff, oOff]) memory.free(off);
      const lost = ref.map((v, i) => (Number.isNaN(v) && !Number.isNaN(ours[i]!) ? 1 : 0)).reduce((a, b) => a + b, 0);
      expect(ref.filter(Number.isNaN).length).toBe(4 * 9);
      expect(lost).toBe(0);
      // Only the tile whose 6×6 window reads input (6, 9) — output rows 4–7 × columns 8–11 — may hold NaNs.
      expect(ours.every((v, i) => { const y = Math.floor(i / 17) % 13, xx = i % 17; return Number.isFinite(v) || (y >= 4 && y < 8 && xx >= 8 && xx < 12); })).toBe(true);
    });

    it('a work range writes only its block (everything else keeps its previous value)', () => {
      const g = geometry([1, 4, 12, 12], 8, { kind: 'explicit', h: 1, w: 1 });
      const r = run(k, g, 8, { ranges: [{ coStart: 2, coEnd: 6, rowStart: 3, rowEnd: 9, batchStart: 0, batchEnd: 1 }] });
      const wrong: string[] = [];
      for (let co = 0; co < 8; co++) {
        for (let y = 0; y < 12; y++) {
          for (let xx = 0; xx < 12; xx++) {
            const inside = co >= 2 && co < 6 && y >= 3 && y < 9;
            if (Number.isNaN(r.ours[(co * 12 + y) * 12 + xx]!) === inside) wrong.push(`co=${co} y=${y} x=${xx}`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });

    it('randomized: 40 layers over sizes, channels, pads and batch stay within the F4 rounding budget', () => {
      const rand = rng(build.length);
      let worst = 0;
      for (let t = 0; t < 40; t++) {
        const x: [number, number, number, number] = [randInt(rand, 1, 2), randInt(rand, 1, 40), randInt(rand, 3, 40), randInt(rand, 3, 70)];
        const pad = randInt(rand, 0, 2);
        const g = geometry(x, randInt(rand, 1, 40), { kind: 'explicit', h: pad, w: randInt(rand, 0, 2) });
        const e = run(k, g, 1000 + t).relErr;
        expect(e, name(g)).toBeLessThanOrEqual(TOLERANCE);
        worst = Math.max(worst, e);
      }
      expect(worst).toBeGreaterThan(0);
    });

    it('fused 2×2 max pool: bit-identical to pooling the output, over odd sizes, batch 2, row and channel blocks, every activation', () => {
      const rand = rng(77);
      for (let t = 0; t < 24; t++) {
        const x: [number, number, number, number] = [randInt(rand, 1, 2), randInt(rand, 1, 12), randInt(rand, 2, 37), randInt(rand, 2, 53)];
        const g = geometry(x, randInt(rand, 1, 14), { kind: 'explicit', h: randInt(rand, 0, 1), w: randInt(rand, 0, 1) });
        if (g.outH < 2 || g.outW < 2) continue;
        const pg = pool2dGeometry('test', { x: [g.batch, g.outChannels, g.outH, g.outW], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false });
        // Row blocks start on even rows (the plan's are multiples of 4); channel blocks anywhere.
        const cut = Math.min(g.outH, 4 * randInt(rand, 0, Math.floor(g.outH / 4)));
        const coCut = randInt(rand, 0, g.outChannels);
        const ranges: WorkRange[] = [
          { coStart: 0, coEnd: coCut, rowStart: 0, rowEnd: g.outH },
          { coStart: coCut, coEnd: g.outChannels, rowStart: 0, rowEnd: cut },
          { coStart: coCut, coEnd: g.outChannels, rowStart: cut, rowEnd: g.outH },
        ];
        const acts = ['none', 'relu', 'leakyRelu', 'sigmoid', 'tanh'] as const;
        const ep: Epilogue = { activation: acts[t % acts.length]!, slope: 0.1 };
        const xs = randomArray(g.batch * g.inChannels * g.inH * g.inW, rand);
        const w = randomArray(g.outChannels * g.inChannels * 9, rand);
        const n = g.batch * g.outChannels * g.outH * g.outW, pn = g.batch * g.outChannels * pg.outH * pg.outW;
        const xOff = memory.alloc(xs.byteLength), uOff = memory.alloc(packedWinogradFloats(g) * 4);
        const oOff = memory.alloc(n * 4), pOff = memory.alloc(pn * 4), plainOff = memory.alloc(n * 4);
        memory.f32(xOff, xs.length).set(xs);
        packWinogradWeights(g, w, memory.f32(uOff, packedWinogradFloats(g)));
        memory.f32(pOff, pn).fill(NaN);
        const pool = { offset: pOff, h: pg.outH, w: pg.outW };
        for (const rg of ranges) if (rg.coStart < rg.coEnd && rg.rowStart < rg.rowEnd) winogradConv2d(k, g, xOff, uOff, 0, oOff, ep, rg, undefined, pool);
        winogradConv2d(k, g, xOff, uOff, 0, plainOff, ep);
        const out = memory.f32(oOff, n).slice(), plain = memory.f32(plainOff, n).slice(), pooled = memory.f32(pOff, pn).slice();
        for (const off of [xOff, uOff, oOff, pOff, plainOff]) memory.free(off);
        const want = new Float32Array(pn);
        maxPool2dReference(pg, out, want);
        expect(out, `${name(g)}: the conv output is unchanged by the fused pool`).toEqual(plain);
        expect(pooled, `${name(g)} rows cut at ${cut}, channels at ${coCut}`).toEqual(want);
      }
    });
  });
}

describe('weight transform', () => {
  it('U[ξ] of a single tap is the outer product of G columns (f64 transform, rounded once)', () => {
    const g = geometry([1, 1, 8, 8], 1, { kind: 'valid' });
    const w = new Float32Array(9);
    w[4] = 1; // centre tap: column 1 of G on both sides
    const u = new Float32Array(packedWinogradFloats(g));
    packWinogradWeights(g, w, u);
    const g1 = [0, -1 / 6, 1 / 6, 1 / 12, -1 / 12, 0];
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) expect(u[(i * 6 + j) * 4]! + 0).toBe(Math.fround(g1[i]! * g1[j]!) + 0);
    }
    // Output channels 1..3 of the padded block are zeros.
    expect(Array.from(u).filter((_, i) => i % 4 !== 0).every((v) => v === 0)).toBe(true);
  });
});

describe('chooseConvAlgorithm', () => {
  const big = geometry([1, 64, 128, 128], 64, { kind: 'explicit', h: 1, w: 1 });
  it('takes Winograd for U-Net-sized 3×3 layers', () => {
    expect(chooseConvAlgorithm(big)).toBe('winograd');
    expect(chooseConvAlgorithm(geometry([1, 128, 64, 64], 128, { kind: 'same' }))).toBe('winograd');
  });
  it("precision 'exact' always takes the direct conv", () => {
    expect(chooseConvAlgorithm(big, { precision: 'exact' })).toBe('direct');
  });
  it('takes the direct conv where Winograd does not apply (stride, dilation, groups, kernel size, padding mode)', () => {
    const base = { x: [1, 64, 32, 32], w: [64, 64, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'same' }, groups: 1, paddingMode: 'zeros' } as const;
    const cases = [
      { ...base, stride: [2, 2] as const },
      { ...base, dilation: [2, 2] as const },
      { ...base, w: [64, 32, 3, 3], groups: 2 },
      { ...base, w: [64, 64, 5, 5] },
      { ...base, paddingMode: 'reflect' as const },
    ];
    for (const c of cases) {
      const g = conv2dGeometry('test', c);
      expect(supportsWinograd(g)).toBe(false);
      expect(chooseConvAlgorithm(g)).toBe('direct');
    }
    expect(supportsWinograd(conv2dGeometry('test', base))).toBe(true);
  });
  it('takes the direct conv on maps of 1–2 tiles, where most of a panel of 8 tiles would be padding', () => {
    expect(chooseConvAlgorithm(geometry([1, 512, 4, 4], 512, { kind: 'same' }))).toBe('direct');
    expect(chooseConvAlgorithm(geometry([1, 256, 2, 2], 256, { kind: 'same' }))).toBe('direct');
    expect(chooseConvAlgorithm(geometry([1, 256, 8, 8], 256, { kind: 'same' }))).toBe('winograd');
    expect(chooseConvAlgorithm(geometry([1, 64, 16, 16], 64, { kind: 'same' }))).toBe('winograd');
  });
  it('block size: V and M of a block fit the L2 budget (1–4 panels), 4 panels once U exceeds 4 MiB', () => {
    expect(winogradBlockPanels(geometry([1, 32, 64, 64], 32, { kind: 'same' }))).toBe(4);
    expect(winogradBlockPanels(geometry([1, 64, 64, 64], 64, { kind: 'same' }))).toBe(2);
    expect(winogradBlockPanels(geometry([1, 128, 64, 64], 128, { kind: 'same' }))).toBe(1);
    expect(winogradBlockPanels(geometry([1, 512, 32, 32], 512, { kind: 'same' }))).toBe(4);
    const g = geometry([1, 64, 64, 64], 64, { kind: 'same' });
    expect(winogradScratchBytes(g, 4)).toBeGreaterThan(winogradScratchBytes(g, 2));
  });
  it('compares modelled costs: Winograd ≥ 2× cheaper on the U-Net layers, batch scales both', () => {
    const g = geometry([1, 64, 128, 128], 64, { kind: 'same' });
    expect(directCostNs(g) / winogradCostNs(g)).toBeGreaterThan(2);
    const g2 = { ...g, batch: 2 };
    expect(winogradCostNs(g2)).toBeCloseTo(2 * winogradCostNs(g));
    expect(directCostNs(g2)).toBeCloseTo(2 * directCostNs(g));
  });
});

describe("WasmBackend precision 'fast': whole U-Nets on Winograd", () => {
  const exact = new WasmBackend({ name: 'wasm-winograd-test-exact' });
  const fast = new WasmBackend({ name: 'wasm-winograd-test-fast', precision: 'fast' });
  registerBackend(exact);
  registerBackend(fast);

  it("conv2d takes Winograd only where chooseConvAlgorithm does (and never with the default 'exact')", () => {
    const g = geometry([1, 16, 24, 24], 16, { kind: 'same' });
    const rand = rng(11);
    const x = randomArray(16 * 24 * 24, rand), w = randomArray(16 * 16 * 9, rand), b = randomArray(16, rand);
    const ref = new Float32Array(16 * 24 * 24), e = new Float32Array(ref.length), f = new Float32Array(ref.length);
    conv2dReference(g, x, w, b, ref);
    exact.conv2d(g, x, w, b, e);
    fast.conv2d(g, x, w, b, f);
    expect(chooseConvAlgorithm(g)).toBe('winograd');
    // The two kernels round differently: the outputs differ, both within their budgets.
    expect(e.some((v, i) => v !== f[i])).toBe(true);
    const err = (a: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0) / ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(err(e)).toBeLessThan(1e-5);
    expect(err(f)).toBeLessThan(TOLERANCE);
  });

  for (const [base, size] of [[16, 64], [32, 48]] as const) {
    it(`U-Net base ${base} depth 3 @${size}²: fast vs exact output within ${TOLERANCE} of the output's magnitude`, () => {
      const graph = optimizeGraph(buildUnet({ inChannels: 3, classes: 2, base, depth: 3, upMode: 'transpose' }, { seed: 3 }));
      const x = new Tensor([1, 3, size, size], randomArray(3 * size * size, rng(12)));
      const ref = runGraph(graph, x, { backend: exact.name })['output']!.data;
      const ours = runGraph(graph, x, { backend: fast.name })['output']!.data;
      let maxRef = 0, maxErr = 0;
      for (let i = 0; i < ref.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(ref[i]!));
        maxErr = Math.max(maxErr, Math.abs(ours[i]! - ref[i]!));
      }
      expect(maxErr).toBeGreaterThan(0);
      expect(maxErr / maxRef).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('Winograd from a worker thread on the shared memory', () => {
  it('a worker runs the bottom tile rows from a posted descriptor while the main thread runs the top ones', async () => {
    const g = geometry([1, 16, 21, 30], 10, { kind: 'explicit', h: 1, w: 1 });
    const rand = rng(31);
    const x = randomArray(16 * 21 * 30, rand), w = randomArray(10 * 16 * 9, rand), b = randomArray(10, rand);
    const n = 10 * g.outH * g.outW;
    const ref = new Float32Array(n);
    conv2dReference(g, x, w, b, ref);
    const module = compileKernels();
    const main = new KernelInstance(module, memory);
    const xOff = memory.alloc(x.byteLength), uOff = memory.alloc(packedWinogradFloats(g) * 4);
    const bOff = memory.alloc(b.byteLength), oOff = memory.alloc(n * 4);
    memory.f32(xOff, x.length).set(x);
    memory.f32(bOff, b.length).set(b);
    packWinogradWeights(g, w, memory.f32(uOff, packedWinogradFloats(g)));
    memory.f32(oOff, n).fill(NaN);

    const desc = winogradConv2dDescriptor(g, xOff, uOff, bOff, oOff, undefined, { coStart: 0, coEnd: 10, rowStart: 12, rowEnd: 21 });
    const scratch = memory.alloc(desc.scratchBytes);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { module, memory, params, kernel, scratch } = workerData;
      const inst = new WebAssembly.Instance(module, { env: { memory } });
      const words = new Int32Array(memory.buffer, scratch, ${PARAM_WORDS});
      words.set(params);
      words[${P_SCRATCH}] = scratch + ${PARAM_WORDS * 4};
      inst.exports[kernel](scratch);
      parentPort.postMessage('done');
    `;
    const worker = new Worker(source, { eval: true, workerData: { module, memory: memory.memory, params: desc.params, kernel: desc.kernel, scratch } });
    winogradConv2d(main, g, xOff, uOff, bOff, oOff, undefined, { coStart: 0, coEnd: 10, rowStart: 0, rowEnd: 12 });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    await worker.terminate();
    const ours = memory.f32(oOff, n).slice();
    for (const off of [xOff, uOff, bOff, oOff, scratch]) memory.free(off);
    let maxRef = 0, maxErr = 0;
    for (let i = 0; i < n; i++) {
      maxRef = Math.max(maxRef, Math.abs(ref[i]!));
      maxErr = Math.max(maxErr, Number.isNaN(ours[i]!) ? Infinity : Math.abs(ours[i]! - ref[i]!));
    }
    expect(maxErr / maxRef).toBeLessThanOrEqual(TOLERANCE);
  });
});
