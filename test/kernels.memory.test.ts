/** The shared memory allocator, the loader's build selection, and kernels run from a worker thread. */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  compileKernels, conv2dDescriptor, isRelaxedModule, KernelInstance, KernelMemory, PARAM_WORDS, P_SCRATCH,
  RESERVED_BYTES, relaxedSimdSupported,
} from '../src/kernels/index.js';
import { packConv2dWeights, packedConv2dFloats } from '../src/kernels/pack.js';
import { wasmBackend } from '../src/kernels/backend.js';
import { conv2dGeometry } from '../src/ops/geometry.js';
import { conv2dReference } from '../src/ops/reference/conv.js';
import { compare, randomArray, rng } from './kernels.helpers.js';

describe('KernelMemory', () => {
  it('hands out 64-byte aligned, disjoint blocks above the reserved head, and the memory is shared', () => {
    const m = new KernelMemory(1 << 20);
    expect(m.buffer).toBeInstanceOf(SharedArrayBuffer);
    const a = m.alloc(10), b = m.alloc(100), c = m.alloc(64);
    for (const off of [a, b, c]) {
      expect(off % 64).toBe(0);
      expect(off).toBeGreaterThanOrEqual(RESERVED_BYTES);
    }
    expect(b).toBeGreaterThanOrEqual(a + 64);
    expect(c).toBeGreaterThanOrEqual(b + 128);
  });

  it('reuses freed blocks first-fit and coalesces neighbours', () => {
    const m = new KernelMemory(1 << 20);
    const a = m.alloc(256), b = m.alloc(256), c = m.alloc(256), keep = m.alloc(64);
    m.free(a);
    m.free(b);
    expect(m.alloc(512)).toBe(a); // a and b merged
    m.free(c);
    expect(m.alloc(128)).toBe(c);
    expect(m.allocatedBytes).toBe(512 + 128 + 64);
    m.free(keep);
  });

  it('grows on demand; views derived after growth see the new bytes', () => {
    const m = new KernelMemory(1 << 20);
    const before = m.buffer.byteLength;
    const big = m.alloc(8 << 20);
    expect(m.buffer.byteLength).toBeGreaterThan(before);
    const v = m.f32(big, 4);
    v.set([1, 2, 3, 4]);
    expect(Array.from(m.f32(big, 4))).toEqual([1, 2, 3, 4]);
    expect(m.owns(m.f32(big, 4))).toBe(true);
    expect(m.owns(new Float32Array(4))).toBe(false);
  });

  it('refuses more than the 4 GiB wasm32 address space', () => {
    const m = new KernelMemory(1 << 20);
    expect(() => m.ensure(2 ** 32 + 1)).toThrow(RangeError);
  });
});

describe('loader', () => {
  it('picks the relaxed-SIMD build when the engine validates it (Node 20 with the flag set), else plain SIMD', () => {
    const relaxed = relaxedSimdSupported();
    expect(typeof relaxed).toBe('boolean');
    expect(isRelaxedModule(compileKernels(true))).toBe(relaxed);
    expect(isRelaxedModule(compileKernels(false))).toBe(false);
    // Both builds export the same kernels.
    const names = (m: WebAssembly.Module) => (WebAssembly as unknown as { Module: { exports(m: WebAssembly.Module): { name: string }[] } }).Module.exports(m).map((e) => e.name).sort();
    expect(names(compileKernels(true))).toEqual(names(compileKernels(false)));
  });
});

describe('loader environment override', () => {
  it('UNET_WASM_SIMD=plain selects the plain SIMD128 build', () => {
    const saved = process.env.UNET_WASM_SIMD;
    process.env.UNET_WASM_SIMD = 'plain';
    try {
      expect(isRelaxedModule(compileKernels())).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.UNET_WASM_SIMD;
      else process.env.UNET_WASM_SIMD = saved;
    }
    expect(isRelaxedModule(compileKernels())).toBe(relaxedSimdSupported() && saved !== 'plain');
  });
});

describe('WasmBackend with arrays that already live in the shared memory', () => {
  it('uses them in place (no copy) and computes the same result as for ordinary arrays', () => {
    const rand = rng(31);
    const g = conv2dGeometry('t', { x: [1, 3, 10, 12], w: [5, 3, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'same' }, groups: 1, paddingMode: 'replicate' });
    const x = randomArray(360, rand), w = randomArray(135, rand), b = randomArray(5, rand);
    const want = new Float32Array(600);
    conv2dReference(g, x, w, b, want);
    const mem = wasmBackend.memory;
    const xOff = mem.alloc(x.byteLength), oOff = mem.alloc(600 * 4);
    const xv = mem.f32(xOff, 360);
    xv.set(x);
    const ov = mem.f32(oOff, 600);
    ov.fill(NaN);
    const sizes: number[] = [];
    const alloc = mem.alloc.bind(mem);
    mem.alloc = (bytes: number) => {
      sizes.push(bytes);
      return alloc(bytes);
    };
    try {
      wasmBackend.conv2d(g, xv, w, b, ov);
    } finally {
      mem.alloc = alloc;
    }
    // Two blocks: the packed weights and a copy of the (ordinary) bias array; x and out were used in place.
    expect(sizes.sort((p, q) => p - q)).toEqual([5 * 4, 2 * 27 * 4 * 4]);
    expect(compare(ov.slice(), want).ratio).toBeLessThanOrEqual(1);
    mem.free(xOff);
    mem.free(oOff);
  });
});

describe('worker threads on the shared memory', () => {
  it('a worker instantiates the same compiled module and computes one row block while the main thread does the other', async () => {
    const rand = rng(21);
    const g = conv2dGeometry('t', { x: [1, 8, 20, 18], w: [12, 8, 3, 3], stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: 1, w: 1 }, groups: 1, paddingMode: 'zeros' });
    const x = randomArray(8 * 20 * 18, rand), w = randomArray(12 * 8 * 9, rand), b = randomArray(12, rand);
    const n = 12 * g.outH * g.outW;
    const ref = new Float32Array(n);
    conv2dReference(g, x, w, b, ref);

    const mem = new KernelMemory(4 << 20);
    const module = compileKernels();
    const main = new KernelInstance(module, mem);
    const xOff = mem.alloc(x.byteLength), bOff = mem.alloc(b.byteLength), oOff = mem.alloc(n * 4);
    const wFloats = packedConv2dFloats(g), wOff = mem.alloc(wFloats * 4);
    mem.f32(xOff, x.length).set(x);
    mem.f32(bOff, b.length).set(b);
    packConv2dWeights(g, w, mem.f32(wOff, wFloats));
    mem.f32(oOff, n).fill(NaN);

    // The worker gets its own scratch region and a plain-data descriptor of the bottom half.
    const desc = conv2dDescriptor(g, xOff, wOff, bOff, oOff, { activation: 'relu' }, { coStart: 0, coEnd: 12, rowStart: 10, rowEnd: 20 });
    const scratch = mem.alloc(desc.scratchBytes);
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
    const worker = new Worker(source, { eval: true, workerData: { module, memory: mem.memory, params: desc.params, kernel: desc.kernel, scratch } });
    main.conv2d(g, xOff, wOff, bOff, oOff, { activation: 'relu' }, { coStart: 0, coEnd: 12, rowStart: 0, rowEnd: 10 });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    await worker.terminate();
    for (let i = 0; i < n; i++) ref[i] = Math.max(0, ref[i]!);
    expect(compare(mem.f32(oOff, n).slice(), ref).ratio).toBeLessThanOrEqual(1);
  });
});
