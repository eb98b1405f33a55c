/**
 * Winograd benchmark: single 3×3 conv layers (stride 1, pad 1, bias) as U-Nets have them. Ours Winograd
 * F(4×4,3×3) and ours direct conv (relaxed-SIMD and plain SIMD128 builds, one thread) against onnxruntime-node
 * (intra-op threads = 1), interleaved in one process after a warm-up. Prints best and median ms, effective
 * GFLOPS (the direct conv's FLOP count for every implementation) and speed ratios against onnxruntime, then the
 * max error of each implementation against the reference conv relative to the output's max magnitude. The CPU
 * column (process user + system time per run) is less disturbed by other load on a shared machine than wall time.
 *
 * With `--unet`, also a whole milesial U-Net (base 64, depth 4, random weights, BatchNorm folded) at 256² on the
 * 'wasm' backend with precision 'exact' and 'fast': ms per run and the output's max error of fast vs exact.
 *
 *   npm run bench -- winograd [--rounds N] [--only 64→64] [--panels P] [--fast] [--unet]
 *   (--fast: only Winograd relaxed-SIMD and onnxruntime)
 */
import { performance } from 'node:perf_hooks';
import { compileKernels, KernelInstance, KernelMemory, relaxedSimdSupported } from '../src/kernels/index.js';
import { packConv2dWeights, packedConv2dFloats } from '../src/kernels/pack.js';
import {
  chooseConvAlgorithm, directCostNs, packedWinogradFloats, packWinogradWeights, winogradBlockPanels, winogradConv2d, winogradCostNs,
} from '../src/kernels/winograd.js';
import { WasmBackend } from '../src/kernels/backend.js';
import { runGraph } from '../src/graph/execute.js';
import { optimizeGraph } from '../src/graph/passes.js';
import { buildUnet } from '../src/models/unet.js';
import { registerBackend } from '../src/ops/backend.js';
import { conv2dGeometry } from '../src/ops/geometry.js';
import { Tensor } from '../src/tensor/tensor.js';
import { conv2dReference } from '../src/ops/reference/conv.js';
import { onnxModel, seeded, type BenchCase } from './kernels.js';

const CASES: BenchCase[] = [
  { name: 'conv 64→64 3×3 p1 @128²', kind: 'conv', x: [1, 64, 128, 128], w: [64, 64, 3, 3], stride: 1, pad: 1, groups: 1 },
  { name: 'conv 128→128 3×3 p1 @64²', kind: 'conv', x: [1, 128, 64, 64], w: [128, 128, 3, 3], stride: 1, pad: 1, groups: 1 },
  { name: 'conv 32→32 3×3 p1 @256²', kind: 'conv', x: [1, 32, 256, 256], w: [32, 32, 3, 3], stride: 1, pad: 1, groups: 1 },
  { name: 'conv 16→16 3×3 p1 @256²', kind: 'conv', x: [1, 16, 256, 256], w: [16, 16, 3, 3], stride: 1, pad: 1, groups: 1 },
  { name: 'conv 32→16 3×3 p1 @256²', kind: 'conv', x: [1, 32, 256, 256], w: [16, 32, 3, 3], stride: 1, pad: 1, groups: 1 },
  { name: 'conv 3→16 3×3 p1 @256²', kind: 'conv', x: [1, 3, 256, 256], w: [16, 3, 3, 3], stride: 1, pad: 1, groups: 1 },
];

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function stats(times: number[]): { best: number; median: number } {
  const s = [...times].sort((a, b) => a - b);
  return { best: s[0] ?? NaN, median: s[Math.floor(s.length / 2)] ?? NaN };
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** max |a - ref| / max |ref|. */
function relError(a: Float32Array, ref: Float32Array): number {
  let maxRef = 0, maxErr = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    maxErr = Math.max(maxErr, Math.abs(a[i]! - ref[i]!));
  }
  return maxErr / maxRef;
}

export async function main(args: string[]): Promise<void> {
  const rounds = Number(arg(args, '--rounds')) || 15;
  const only = arg(args, '--only');
  const panels = arg(args, '--panels') !== undefined ? Number(arg(args, '--panels')) : undefined;
  const fast = args.includes('--fast');
  const ort = await import('onnxruntime-node');
  const relaxed = relaxedSimdSupported();
  const memory = new KernelMemory(128 * 1024 * 1024);
  const builds: Array<{ name: string; k: KernelInstance }> = [];
  if (relaxed) builds.push({ name: 'relaxed-SIMD', k: new KernelInstance(compileKernels(true), memory) });
  builds.push({ name: 'SIMD128', k: new KernelInstance(compileKernels(false), memory) });

  const rows: string[] = [
    '| layer | implementation | best ms | median ms | eff GFLOPS (best / median) | vs ORT speed (best / median) | CPU ms (best / median) |',
    '|---|---|---|---|---|---|---|',
  ];
  const notes: string[] = [];
  for (const c of CASES) {
    if (only !== undefined && !c.name.includes(only)) continue;
    const g = conv2dGeometry(c.name, {
      x: c.x, w: c.w, stride: [1, 1], dilation: [1, 1], padding: { kind: 'explicit', h: c.pad, w: c.pad }, groups: 1, paddingMode: 'zeros',
    });
    const flops = 2 * g.outChannels * g.outH * g.outW * g.inChannels * 9;
    const x = seeded(g.inChannels * g.inH * g.inW, 1);
    const w = seeded(g.outChannels * g.inChannels * 9, 2).map((v) => v * 0.1);
    const b = seeded(g.outChannels, 3);
    const outLen = g.outChannels * g.outH * g.outW;

    const xOff = memory.alloc(x.byteLength), bOff = memory.alloc(b.byteLength), oOff = memory.alloc(outLen * 4);
    const wOff = memory.alloc(packedConv2dFloats(g) * 4), uOff = memory.alloc(packedWinogradFloats(g) * 4);
    memory.f32(xOff, x.length).set(x);
    memory.f32(bOff, b.length).set(b);
    packConv2dWeights(g, w, memory.f32(wOff, packedConv2dFloats(g)));
    packWinogradWeights(g, w, memory.f32(uOff, packedWinogradFloats(g)));
    const P = panels ?? winogradBlockPanels(g);

    const session = await ort.InferenceSession.create(onnxModel(c, w, b), {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const feeds = { X: new ort.Tensor('float32', x, c.x) };
    let ortOut: Float32Array = new Float32Array(0);

    const impls: Array<{ name: string; run: () => void | Promise<void>; out?: Float32Array }> = [];
    for (const { name, k } of fast ? builds.slice(0, 1) : builds) {
      impls.push({ name: `ours Winograd F4 ${name}`, run: () => winogradConv2d(k, g, xOff, uOff, bOff, oOff, undefined, undefined, P) });
      if (!fast) impls.push({ name: `ours direct ${name}`, run: () => k.conv2d(g, xOff, wOff, bOff, oOff) });
    }
    impls.push({ name: 'onnxruntime-node 1 thread', run: async () => { ortOut = (await session.run(feeds)).Y!.data as Float32Array; } });

    for (let i = 0; i < 3; i++) for (const im of impls) await im.run();
    const times = impls.map(() => [] as number[]);
    const cpu = impls.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (const [i, im] of impls.entries()) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await im.run();
        times[i]!.push(performance.now() - t0);
        const c1 = process.cpuUsage(c0);
        cpu[i]!.push((c1.user + c1.system) / 1000);
      }
    }

    const ref = new Float32Array(outLen);
    conv2dReference(g, x, w, b, ref);
    const errs: string[] = [];
    for (const im of impls) {
      await im.run();
      const out = im.name.startsWith('ours') ? memory.f32(oOff, outLen) : ortOut;
      errs.push(`${im.name} ${relError(out, ref).toExponential(2)}`);
    }
    const ortStats = stats(times[impls.length - 1]!);
    for (const [i, im] of impls.entries()) {
      const s = stats(times[i]!);
      const ratio = im.name.startsWith('ours') ? `${fmt(ortStats.best / s.best)} / ${fmt(ortStats.median / s.median)}` : '';
      const sc = stats(cpu[i]!);
      rows.push(`| ${c.name} | ${im.name} | ${fmt(s.best)} | ${fmt(s.median)} | ${fmt(flops / s.best / 1e6, 1)} / ${fmt(flops / s.median / 1e6, 1)} | ` +
        `${ratio} | ${fmt(sc.best)} / ${fmt(sc.median)} |`);
    }
    notes.push(`${c.name}: ${(flops / 1e9).toFixed(3)} GFLOP (direct), ${P} panels per block, chooseConvAlgorithm → ` +
      `${chooseConvAlgorithm(g)} (model: Winograd ${fmt(winogradCostNs(g) / 1e6)} ms, direct ${fmt(directCostNs(g) / 1e6)} ms); ` +
      `max |out - reference| / max |reference|: ${errs.join(', ')}`);
    await session.release();
    for (const off of [xOff, bOff, oOff, wOff, uOff]) memory.free(off);
  }
  process.stdout.write(`Node ${process.version}, ${rounds} interleaved rounds after 3 warm-up runs, one thread each` +
    `${relaxed ? '' : ' (relaxed SIMD unavailable)'}\n\n${rows.join('\n')}\n\n${notes.join('\n')}\n`);
  if (args.includes('--unet')) await unet(Math.max(2, Math.min(rounds, 4)));
}

/** Whole U-Net, exact vs fast, on the single-thread 'wasm' backend (op by op, through runGraph). */
async function unet(rounds: number): Promise<void> {
  const exact = new WasmBackend({ name: 'bench-exact' });
  const fast = new WasmBackend({ name: 'bench-fast', precision: 'fast' });
  registerBackend(exact);
  registerBackend(fast);
  const graph = optimizeGraph(buildUnet({ inChannels: 3, classes: 2, base: 64, depth: 4, upMode: 'transpose' }, { seed: 1 }));
  const x = new Tensor([1, 3, 256, 256], seeded(3 * 256 * 256, 4));
  const times = { exact: [] as number[], fast: [] as number[] };
  let ref: Float32Array = new Float32Array(0), ours: Float32Array = new Float32Array(0);
  for (let r = 0; r < rounds + 1; r++) {
    for (const [name, b] of [['exact', exact], ['fast', fast]] as const) {
      const c0 = process.cpuUsage();
      const out = runGraph(graph, x, { backend: b.name })['output']!.data;
      const c1 = process.cpuUsage(c0);
      if (r > 0) times[name].push((c1.user + c1.system) / 1000);
      if (name === 'exact') ref = out; else ours = out;
    }
  }
  let maxRef = 0, maxErr = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    maxErr = Math.max(maxErr, Math.abs(ours[i]! - ref[i]!));
  }
  process.stdout.write(`\nU-Net base 64 depth 4 @256², one thread, CPU ms best / median: exact ${fmt(stats(times.exact).best, 0)} / ` +
    `${fmt(stats(times.exact).median, 0)}, fast ${fmt(stats(times.fast).best, 0)} / ${fmt(stats(times.fast).median, 0)}; ` +
    `max |fast - exact| / max |exact| = ${(maxErr / maxRef).toExponential(2)}\n`);
}
