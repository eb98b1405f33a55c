/**
 * Kernel benchmark: our wasm kernels (relaxed-SIMD and plain SIMD128 builds, one thread) against
 * onnxruntime-node (intra-op threads = 1) and our reference kernels, interleaved in one process after a warm-up.
 * Prints best and median ms and GFLOPS per implementation and the ratio ours / onnxruntime (speed; > 1 = faster).
 *
 * Ours is timed on tensors already in the shared memory with weights packed (as the graph runtime runs them);
 * onnxruntime is timed around `session.run` on single-op models built here with the project's ONNX schema.
 *
 *   npm run bench -- kernels [--rounds N] [--only name]
 */
import onnxProto from 'onnx-proto';
import { performance } from 'node:perf_hooks';
import { compileKernels, KernelInstance, KernelMemory, relaxedSimdSupported } from '../src/kernels/index.js';
import { packConv2dWeights, packConvTranspose2dWeights, packedConv2dFloats, packedConvTranspose2dFloats } from '../src/kernels/pack.js';
import { conv2dGeometry, convTranspose2dGeometry, type Conv2dGeometry, type ConvTranspose2dGeometry } from '../src/ops/geometry.js';
import { conv2dReference, convTranspose2dReference } from '../src/ops/reference/conv.js';

const { onnx } = onnxProto as unknown as { onnx: typeof import('onnx-proto').onnx };

export interface BenchCase {
  name: string;
  kind: 'conv' | 'convT';
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: number;
  groups: number;
}

const CASES: BenchCase[] = [
  { name: 'conv 64→64 3×3 p1 @128²', kind: 'conv', x: [1, 64, 128, 128], w: [64, 64, 3, 3], stride: 1, pad: 1, groups: 1 },
  { name: 'conv 3→16 3×3 p1 @512²', kind: 'conv', x: [1, 3, 512, 512], w: [16, 3, 3, 3], stride: 1, pad: 1, groups: 1 },
  { name: 'depthwise 64ch 3×3 p1 @128²', kind: 'conv', x: [1, 64, 128, 128], w: [64, 1, 3, 3], stride: 1, pad: 1, groups: 64 },
  { name: 'convT 128→64 2×2 s2 @64²', kind: 'convT', x: [1, 128, 64, 64], w: [128, 64, 2, 2], stride: 2, pad: 0, groups: 1 },
];

export function seeded(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

function size(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** A one-node ONNX model: Y = Conv|ConvTranspose(X, W, B) with W and B as initializers. */
export function onnxModel(c: BenchCase, w: Float32Array, b: Float32Array): Uint8Array {
  const cout = c.kind === 'conv' ? c.w[0] : c.w[1] * c.groups;
  const tensor = (name: string, dims: number[], data: Float32Array) =>
    ({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(0)) });
  const ints = (name: string, v: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const valueInfo = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'unet-pipeline-bench',
    graph: {
      name: c.name,
      node: [{
        opType: c.kind === 'conv' ? 'Conv' : 'ConvTranspose',
        input: ['X', 'W', 'B'],
        output: ['Y'],
        attribute: [
          ints('kernel_shape', [c.w[2], c.w[3]]),
          ints('strides', [c.stride, c.stride]),
          ints('pads', [c.pad, c.pad, c.pad, c.pad]),
          { name: 'group', type: onnx.AttributeProto.AttributeType.INT, i: c.groups },
        ],
      }],
      initializer: [tensor('W', c.w, w), tensor('B', [cout], b)],
      input: [valueInfo('X', c.x)],
      output: [{ name: 'Y' }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

interface Timing {
  /** Wall-clock ms. */
  times: number[];
  /** Process CPU ms (user + system) over the same runs: insensitive to time spent descheduled on a busy machine. */
  cpu: number[];
}

function stats(t: Timing): { best: number; median: number; cpuBest: number } {
  const s = [...t.times].sort((a, b) => a - b);
  return { best: s[0] ?? NaN, median: s[Math.floor(s.length / 2)] ?? NaN, cpuBest: Math.min(...t.cpu) };
}

/** Time one run (wall and CPU) into `t`. */
async function timed(t: Timing, fn: () => unknown): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  t.times.push(wall);
  t.cpu.push((c.user + c.system) / 1000);
}

function fmt(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

export async function main(args: string[]): Promise<void> {
  const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 0) || 12;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const ort = await import('onnxruntime-node');
  const relaxed = relaxedSimdSupported();
  const memory = new KernelMemory(64 * 1024 * 1024);
  const impls: Array<{ name: string; k: KernelInstance }> = [];
  if (relaxed) impls.push({ name: 'ours relaxed-SIMD', k: new KernelInstance(compileKernels(true), memory) });
  impls.push({ name: 'ours SIMD128', k: new KernelInstance(compileKernels(false), memory) });

  const rows: string[] = [];
  rows.push('| layer | implementation | best ms | median ms | CPU ms (best) | GFLOPS (best) | GFLOPS (median) | GFLOPS (CPU) | ours/ORT speed (best / median / CPU) |');
  rows.push('|---|---|---|---|---|---|---|---|---|');
  for (const c of CASES) {
    if (only !== undefined && !c.name.includes(only)) continue;
    const x = seeded(size(c.x), 1);
    const w = seeded(size(c.w), 2);
    let g: Conv2dGeometry | ConvTranspose2dGeometry;
    let flops: number;
    if (c.kind === 'conv') {
      g = conv2dGeometry(c.name, { x: c.x, w: c.w, stride: [c.stride, c.stride], dilation: [1, 1], padding: { kind: 'explicit', h: c.pad, w: c.pad }, groups: c.groups, paddingMode: 'zeros' });
      flops = 2 * g.outChannels * g.outH * g.outW * g.inPerGroup * g.kernelH * g.kernelW;
    } else {
      g = convTranspose2dGeometry(c.name, { x: c.x, w: c.w, stride: [c.stride, c.stride], padding: [c.pad, c.pad], outputPadding: [0, 0], dilation: [1, 1], groups: c.groups });
      flops = 2 * g.inChannels * g.inH * g.inW * g.outPerGroup * g.kernelH * g.kernelW;
    }
    const b = seeded(g.outChannels, 3);
    const outLen = g.batch * g.outChannels * g.outH * g.outW;

    // Ours: tensors in the shared memory, weights packed once.
    const xOff = memory.alloc(x.byteLength), bOff = memory.alloc(b.byteLength), oOff = memory.alloc(outLen * 4);
    const wFloats = c.kind === 'conv' ? packedConv2dFloats(g as Conv2dGeometry) : packedConvTranspose2dFloats(g as ConvTranspose2dGeometry);
    const wOff = memory.alloc(wFloats * 4);
    memory.f32(xOff, x.length).set(x);
    memory.f32(bOff, b.length).set(b);
    if (c.kind === 'conv') packConv2dWeights(g as Conv2dGeometry, w, memory.f32(wOff, wFloats));
    else packConvTranspose2dWeights(g as ConvTranspose2dGeometry, w, memory.f32(wOff, wFloats));
    const runOurs = (k: KernelInstance) => {
      if (c.kind === 'conv') k.conv2d(g as Conv2dGeometry, xOff, wOff, bOff, oOff);
      else k.convTranspose2d(g as ConvTranspose2dGeometry, xOff, wOff, bOff, oOff);
    };

    const session = await ort.InferenceSession.create(onnxModel(c, w, b), {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const feeds = { X: new ort.Tensor('float32', x, c.x) };
    let ortOut: Float32Array = new Float32Array(0);
    const runOrt = async () => {
      const r = await session.run(feeds);
      ortOut = r.Y!.data as Float32Array;
    };
    const refOut = new Float32Array(outLen);
    const runRef = () => {
      if (c.kind === 'conv') conv2dReference(g as Conv2dGeometry, x, w, b, refOut);
      else convTranspose2dReference(g as ConvTranspose2dGeometry, x, w, b, refOut);
    };

    // Warm-up: tier-up to optimized code, fault pages in.
    for (let i = 0; i < 3; i++) {
      for (const im of impls) runOurs(im.k);
      await runOrt();
    }
    const timings = new Map<string, Timing>();
    for (const name of [...impls.map((i) => i.name), 'onnxruntime-node 1 thread', 'reference (TS)']) timings.set(name, { times: [], cpu: [] });
    const refRounds = flops > 5e8 ? 2 : 3;
    for (let r = 0; r < rounds; r++) {
      for (const im of impls) await timed(timings.get(im.name)!, () => runOurs(im.k));
      await timed(timings.get('onnxruntime-node 1 thread')!, runOrt);
      if (r < refRounds) await timed(timings.get('reference (TS)')!, runRef);
    }
    // Accuracy of each build against onnxruntime.
    const errs: string[] = [];
    for (const im of impls) {
      runOurs(im.k);
      const ours = memory.f32(oOff, outLen);
      let maxAbs = 0, maxRef = 0;
      for (let i = 0; i < outLen; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(ours[i]! - ortOut[i]!));
        maxRef = Math.max(maxRef, Math.abs(refOut[i]! - ortOut[i]!));
      }
      errs.push(`${im.name} max |ours - ORT| = ${maxAbs.toExponential(2)}`);
      if (im === impls[impls.length - 1]) errs.push(`reference max |ref - ORT| = ${maxRef.toExponential(2)}`);
    }
    const ortStats = stats(timings.get('onnxruntime-node 1 thread')!);
    for (const [name, t] of timings) {
      const s = stats(t);
      const ratio = name.startsWith('ours')
        ? `${fmt(ortStats.best / s.best)} / ${fmt(ortStats.median / s.median)} / ${fmt(ortStats.cpuBest / s.cpuBest)}`
        : '';
      rows.push(`| ${c.name} | ${name} | ${fmt(s.best)} | ${fmt(s.median)} | ${fmt(s.cpuBest)} | ${fmt(flops / s.best / 1e6, 1)} | ` +
        `${fmt(flops / s.median / 1e6, 1)} | ${fmt(flops / s.cpuBest / 1e6, 1)} | ${ratio} |`);
    }
    process.stdout.write(`${c.name}: ${(flops / 1e9).toFixed(3)} GFLOP; ${errs.join('; ')}\n`);
    await session.release();
    for (const off of [xOff, bOff, oOff, wOff]) memory.free(off);
  }
  process.stdout.write(`\nNode ${process.version}, ${rounds} interleaved rounds after 3 warm-up runs, one thread each` +
    `${relaxed ? '' : ' (relaxed SIMD unavailable)'}\n\n${rows.join('\n')}\n`);
}
