/**
 * The seed's identities as property tests over random geometries (seeded, reproducible):
 *  1. convTranspose2d(x, w) == conv2d(zero-insert(x, s-1) padded by d(k-1)-p (+outputPadding bottom/right),
 *     w flipped with in/out channels swapped per group, stride 1).
 *  2. Adjointness: sum(conv2d(x, w)·y) == sum(x·convTranspose2d(y, w)) for the same geometry.
 *  3. conv2d with a paddingMode == conv2d(pad(x, mode), padding 0).
 */
import { describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d, pad } from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { PadMode } from '../src/ops/geometry.js';

/** mulberry32: small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(1234);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const randomTensor = (shape: number[]) => {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rand() * 2 - 1;
  return t;
};

function zeroInsert(x: Tensor, sh: number, sw: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const oh = (h - 1) * sh + 1;
  const ow = (w - 1) * sw + 1;
  const out = new Tensor([n, c, oh, ow]);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) out.data[p * oh * ow + y * sh * ow + xx * sw] = x.data[p * h * w + y * w + xx]!;
    }
  }
  return out;
}

/** convT weight [Cin, Cout/g, kH, kW] → conv weight [Cout, Cin/g, kH, kW], spatially flipped. */
function flipSwap(w: Tensor, groups: number): Tensor {
  const [cin, opg, kh, kw] = w.shape as [number, number, number, number];
  const ipg = cin / groups;
  const out = new Tensor([opg * groups, ipg, kh, kw]);
  for (let g = 0; g < groups; g++) {
    for (let oc = 0; oc < opg; oc++) {
      for (let ic = 0; ic < ipg; ic++) {
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) {
            out.data[(((g * opg + oc) * ipg + ic) * kh + y) * kw + x] = w.data[(((g * ipg + ic) * opg + oc) * kh + (kh - 1 - y)) * kw + (kw - 1 - x)]!;
          }
        }
      }
    }
  }
  return out;
}

function expectClose(got: Tensor, want: Tensor): void {
  expect(got.shape).toEqual(want.shape);
  let worst = 0;
  for (let i = 0; i < want.size; i++) worst = Math.max(worst, Math.abs(got.data[i]! - want.data[i]!) / (1e-5 + 1e-5 * Math.abs(want.data[i]!)));
  expect(worst).toBeLessThanOrEqual(1);
}

interface Geo {
  n: number; groups: number; ipg: number; opg: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
}

function randomGeometry(): Geo {
  for (;;) {
    const g: Geo = {
      n: int(1, 2), groups: int(1, 3), ipg: int(1, 3), opg: int(1, 3), h: int(2, 7), w: int(2, 7),
      kh: int(1, 4), kw: int(1, 4), sh: int(1, 3), sw: int(1, 3), ph: int(0, 3), pw: int(0, 3), dh: int(1, 2), dw: int(1, 2),
    };
    // conv output at least 1 for the adjointness test
    if (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1 < 0 || g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1 < 0) continue;
    return g;
  }
}

const label = (g: Geo, extra = '') =>
  `x=[${g.n},${g.groups * g.ipg},${g.h},${g.w}] k=[${g.kh},${g.kw}] s=[${g.sh},${g.sw}] p=[${g.ph},${g.pw}] d=[${g.dh},${g.dw}] groups=${g.groups}${extra}`;

describe('convTranspose2d == stride-1 conv2d on the zero-inserted, padded input with the flipped, swapped kernel', () => {
  for (let t = 0; t < 60; t++) {
    const g = randomGeometry();
    const oph = int(0, Math.max(g.sh, g.dh) - 1);
    const opw = int(0, Math.max(g.sw, g.dw) - 1);
    const outH = (g.h - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + oph + 1;
    const outW = (g.w - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + opw + 1;
    if (outH < 1 || outW < 1) continue;
    it(label(g, ` op=[${oph},${opw}]`), () => {
      const x = randomTensor([g.n, g.groups * g.ipg, g.h, g.w]);
      const w = randomTensor([g.groups * g.ipg, g.opg, g.kh, g.kw]);
      const bias = randomTensor([g.groups * g.opg]);
      const got = convTranspose2d(x, w, bias, {
        stride: [g.sh, g.sw], padding: [g.ph, g.pw], outputPadding: [oph, opw], dilation: [g.dh, g.dw], groups: g.groups,
      });
      const eh = g.dh * (g.kh - 1) - g.ph;
      const ew = g.dw * (g.kw - 1) - g.pw;
      const padded = pad(zeroInsert(x, g.sh, g.sw), [ew, ew + opw, eh, eh + oph]);
      const want = conv2d(padded, flipSwap(w, g.groups), bias, { dilation: [g.dh, g.dw], groups: g.groups });
      expectClose(got, want);
    });
  }
});

describe('adjointness: sum(conv2d(x, w)·y) == sum(x·convTranspose2d(y, w))', () => {
  for (let t = 0; t < 60; t++) {
    const g = randomGeometry();
    it(label(g), () => {
      const x = randomTensor([g.n, g.groups * g.ipg, g.h, g.w]);
      const w = randomTensor([g.groups * g.opg, g.ipg, g.kh, g.kw]);
      const cx = conv2d(x, w, null, { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.groups });
      const [, , oh, ow] = cx.shape as [number, number, number, number];
      // outputPadding that makes convT land exactly on the input size (always < stride)
      const oph = g.h - ((oh - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + 1);
      const opw = g.w - ((ow - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + 1);
      expect(oph).toBeGreaterThanOrEqual(0);
      expect(oph).toBeLessThan(g.sh);
      const y = randomTensor(cx.shape);
      const cty = convTranspose2d(y, w, null, {
        stride: [g.sh, g.sw], padding: [g.ph, g.pw], outputPadding: [oph, opw], dilation: [g.dh, g.dw], groups: g.groups,
      });
      expect(cty.shape).toEqual(x.shape);
      let lhs = 0, rhs = 0, scale = 0;
      for (let i = 0; i < y.size; i++) {
        lhs += cx.data[i]! * y.data[i]!;
        scale += Math.abs(cx.data[i]! * y.data[i]!);
      }
      for (let i = 0; i < x.size; i++) rhs += x.data[i]! * cty.data[i]!;
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * (1 + scale));
    });
  }
});

describe('conv2d paddingMode == conv2d of the F.pad-padded input', () => {
  const modes: Array<[('reflect' | 'replicate' | 'circular'), PadMode]> = [['reflect', 'reflect'], ['replicate', 'replicate'], ['circular', 'circular']];
  for (let t = 0; t < 30; t++) {
    const g = randomGeometry();
    const [mode, padMode] = modes[t % 3]!;
    if (mode === 'reflect' && (g.ph >= g.h || g.pw >= g.w)) continue;
    if (mode === 'circular' && (g.ph > g.h || g.pw > g.w)) continue;
    it(label(g, ` mode=${mode}`), () => {
      const x = randomTensor([g.n, g.groups * g.ipg, g.h, g.w]);
      const w = randomTensor([g.groups * g.opg, g.ipg, g.kh, g.kw]);
      const opts = { stride: [g.sh, g.sw] as [number, number], dilation: [g.dh, g.dw] as [number, number], groups: g.groups };
      const got = conv2d(x, w, null, { ...opts, padding: [g.ph, g.pw], paddingMode: mode });
      const want = conv2d(pad(x, [g.pw, g.pw, g.ph, g.ph], { mode: padMode }), w, null, opts);
      expectClose(got, want);
    });
  }
});
