/**
 * Whole-network benchmark: milesial U-Nets (depth 4, transpose up-sampling, 3 → 2 channels, seeded random weights,
 * BatchNorm folded) on the pooled session with 1 and 2 workers (precision 'exact': direct convs; 'fast': Winograd
 * where faster) against onnxruntime-node with 1 and 2 intra-op
 * threads on the same model, exported to ONNX from the same folded graph in this file (so both run identical
 * weights; the max difference of the outputs is printed).
 *
 * Per configuration: single-image latency (best and median over the iterations) and batch throughput (best and
 * median over `--batch-rounds` runs of a batch, images/s of the best); ratios ours/onnxruntime as speed (> 1 = ours
 * faster), of the best and of the median times; peak RSS of the process and the session's planned shared-memory
 * bytes. Implementations are interleaved within each round, so a slow spell of the machine hits all of them, and
 * each timed run starts once the process is idle (onnxruntime's thread pool spins on after a run; see `settle`).
 *
 *   npm run bench -- unet [--only 16|64] [--iters N] [--batch N] [--batch-rounds N] [--precision exact|fast|both]
 *                         [--no-dispatch]
 *
 * Defaults keep the whole run near 6 minutes on 2 cores: base 16 @256² (30 iterations, batch 8) and base 64 @512²
 * (2 iterations, batch 2: one such image is ~390 GFLOP), 3 batch rounds each.
 */
import os from 'node:os';
import v8 from 'node:v8';
import { performance } from 'node:perf_hooks';
import onnxProto from 'onnx-proto';
import type { Graph } from '../src/graph/ir.js';
import { optimizeGraph } from '../src/graph/passes.js';
import { inferShapes, topologicalOrder } from '../src/graph/graph.js';
import { defaultMeta } from '../src/models/model.js';
import type { Model } from '../src/models/model.js';
import { buildUnet } from '../src/models/unet.js';
import type { PlanRef, RunTask } from '../src/runtime/protocol.js';
import { createSession } from '../src/runtime/session.js';
import { Tensor } from '../src/tensor/tensor.js';

const { onnx } = onnxProto as unknown as { onnx: typeof import('onnx-proto').onnx };

interface Config {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly iters: number;
  readonly batch: number;
}

interface Row {
  config: string;
  impl: string;
  threads: number;
  singleBestMs: number;
  singleMedianMs: number;
  batch: number;
  /** Best and median of the batch rounds. */
  batchMs: number;
  batchMedianMs: number;
  imagesPerSecond: number;
  gflops: number;
  /** Process CPU ms per image of the batch run (all threads; robust to other load on the machine). */
  cpuMsPerImage: number;
}

/** Conv FLOPs (2 per multiply-add) of the folded graph at one image of `size`². */
function flopsOf(graph: Graph, size: number): number {
  const shapes = inferShapes(graph, [1, 3, size, size]);
  let f = 0;
  for (const n of graph.nodes) {
    if (n.op !== 'conv2d' && n.op !== 'convTranspose2d') continue;
    const w = graph.initializers.get(n.inputs[1]!)!.shape;
    const out = shapes.get(n.outputs[0]!)!;
    const perOut = n.op === 'conv2d' ? w[1]! * w[2]! * w[3]! : w[0]!;
    f += 2 * out[1]! * out[2]! * out[3]! * perOut;
  }
  return f;
}

/** The folded graph as an ONNX model (opset 17, dynamic N, H, W): the ops a transpose U-Net uses. */
export function graphToOnnx(graph: Graph, size: number): Uint8Array {
  const A = onnx.AttributeProto.AttributeType;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const ints = (name: string, v: number[]) => ({ name, type: A.INTS, ints: v });
  const int = (name: string, v: number) => ({ name, type: A.INT, i: v });
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  for (const [name, t] of graph.initializers) {
    inits.push({ name, dims: t.shape, dataType: FLOAT, rawData: new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)) });
  }
  const shapes = inferShapes(graph, [1, 3, size, size]);
  const act = (node: { name: string; outputs: string[] }, kind: string, from: string): void => {
    if (kind === 'none') return;
    if (kind !== 'relu') throw new Error(`bench: activation ${kind} not exported`);
    nodes.push({ name: `${node.name}.relu`, opType: 'Relu', input: [from], output: [node.outputs[0]!] });
  };
  for (const n of topologicalOrder(graph)) {
    switch (n.op) {
      case 'conv2d': {
        const a = n.attrs;
        const w = graph.initializers.get(n.inputs[1]!)!.shape;
        const fused = a.activation.kind !== 'none';
        const out = fused ? `${n.outputs[0]!}.pre` : n.outputs[0]!;
        nodes.push({
          name: n.name, opType: 'Conv', input: n.inputs, output: [out],
          attribute: [ints('kernel_shape', [w[2]!, w[3]!]), ints('strides', a.stride), ints('dilations', a.dilation),
            ints('pads', [a.pads.top, a.pads.left, a.pads.bottom, a.pads.right]), int('group', a.groups)],
        });
        act(n, a.activation.kind, out);
        break;
      }
      case 'convTranspose2d': {
        const a = n.attrs;
        const w = graph.initializers.get(n.inputs[1]!)!.shape;
        const fused = a.activation.kind !== 'none';
        const out = fused ? `${n.outputs[0]!}.pre` : n.outputs[0]!;
        nodes.push({
          name: n.name, opType: 'ConvTranspose', input: n.inputs, output: [out],
          attribute: [ints('kernel_shape', [w[2]!, w[3]!]), ints('strides', a.stride), ints('dilations', a.dilation),
            ints('pads', [a.padding[0], a.padding[1], a.padding[0], a.padding[1]]), ints('output_padding', a.outputPadding), int('group', a.groups)],
        });
        act(n, a.activation.kind, out);
        break;
      }
      case 'maxPool2d': {
        const a = n.attrs;
        nodes.push({
          name: n.name, opType: 'MaxPool', input: n.inputs, output: n.outputs,
          attribute: [ints('kernel_shape', a.kernelSize), ints('strides', a.stride), ints('dilations', a.dilation),
            ints('pads', [a.padding[0], a.padding[1], a.padding[0], a.padding[1]]), int('ceil_mode', a.ceilMode ? 1 : 0)],
        });
        break;
      }
      case 'concat':
        nodes.push({ name: n.name, opType: 'Concat', input: n.inputs, output: n.outputs, attribute: [int('axis', n.attrs.axis)] });
        break;
      case 'centerPad': {
        const x = shapes.get(n.inputs[0]!)!;
        const o = shapes.get(n.outputs[0]!)!;
        if (x[2] !== o[2] || x[3] !== o[3]) throw new Error('bench: centerPad with padding not exported (use power-of-two sizes)');
        nodes.push({ name: n.name, opType: 'Identity', input: [n.inputs[0]!], output: n.outputs });
        break;
      }
      case 'identity':
        nodes.push({ name: n.name, opType: 'Identity', input: n.inputs, output: n.outputs });
        break;
      default:
        throw new Error(`bench: op ${n.op} not exported`);
    }
  }
  const vi = (name: string, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const input = graph.inputs[0]!.name;
  const output = graph.outputs[0]!;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'unet-pipeline bench',
    graph: {
      name: 'unet', node: nodes, initializer: inits,
      input: [vi(input, ['N', 3, 'H', 'W'])], output: [vi(output, ['N', shapes.get(output)![1]!, 'H', 'W'])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The benchmarked network: a milesial U-Net of `base` channels, depth 4, transpose up-sampling, 3 → 2 channels,
 * seeded random weights (BatchNorm folded by the session).
 */
export function benchUnet(base: number, seed = 1): Model {
  const graph = buildUnet({ inChannels: 3, classes: 2, base, depth: 4, upMode: 'transpose' }, { seed });
  return { graph, architecture: null, meta: defaultMeta(3, 2, `unet-b${base}`), source: { format: 'builder', path: null } };
}

function seededInput(shape: number[], seed: number): Tensor {
  const t = new Tensor(shape);
  let s = seed >>> 0;
  for (let i = 0; i < t.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = s / 2 ** 31 - 1;
  }
  return t;
}

/**
 * Wait until the process is idle: slices of 10 ms until one in which the process used under 1 ms of CPU (at most
 * 0.5 s). onnxruntime's intra-op threads keep spinning for ~50 ms after a multi-threaded run returns (measured:
 * ~47 ms of CPU in the 200 ms after a 2-thread run, under 0.5 ms after a 1-thread one), which would otherwise
 * take a core from whichever implementation runs next in the interleaved order.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 10));
    const c = process.cpuUsage(c0);
    if (c.user + c.system < 1000) return;
  }
}

function median(a: number[]): number {
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * Dispatch cost: a piscina round trip (no-op task) with `atomics` 'sync', 'async' and 'disabled', and the session's
 * per-layer join: a chain of 200 ReLUs on [1,4,128,128] (each split into blocks) on 1 and 2 workers.
 */
async function dispatch(): Promise<Record<string, number>> {
  const { Piscina } = await import('piscina');
  const { compileKernels, KernelMemory } = await import('../src/kernels/index.js');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workers', 'session.js');
  const memory = new KernelMemory();
  const res: Record<string, number> = {};
  for (const atomics of ['sync', 'async', 'disabled'] as const) {
    const pool = new Piscina({ filename: file, minThreads: 1, maxThreads: 1, atomics, workerData: { module: compileKernels(), memory: memory.memory, relaxed: false } });
    const t: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await pool.run(null, { name: 'ready' });
      t.push(performance.now() - t0);
    }
    res[`piscinaRoundTripMs_${atomics}`] = median(t.slice(50));
    await pool.destroy();
  }
  // The join alone: 2000 steps of two 64-byte copies (two blocks), run by 1 and by 2 participants.
  {
    const { controlWords, SPIN_LONG } = await import('../src/runtime/protocol.js');
    const S = 2000;
    const steps = Array.from({ length: S }, (_, i) => ({
      kind: 'copy' as const, node: `c${i}`, ranges: [0, 1, 2], src: [{ a: 1 as const, o: 0 }, { a: 1 as const, o: 64 }],
      dst: [{ a: 1 as const, o: 128 }, { a: 1 as const, o: 192 }], bytes: [64, 64],
    }));
    // Posted to the workers as the session does: serialized once into the shared memory (see PlanRef).
    const bytes = v8.serialize({ id: 'join', steps, arenaBytes: 4096, scratchBytes: 65536 });
    const planOffset = memory.alloc(bytes.length);
    new Uint8Array(memory.memory.buffer, planOffset, bytes.length).set(bytes);
    const plan: PlanRef = { id: 1, offset: planOffset, bytes: bytes.length };
    const arena = memory.alloc(4096);
    const control = memory.alloc(controlWords(S) * 4);
    const scratch = [memory.alloc(65536), memory.alloc(65536)];
    const pool = new Piscina({ filename: file, minThreads: 2, maxThreads: 2, workerData: { module: compileKernels(), memory: memory.memory, relaxed: false } });
    await Promise.all([pool.run(null, { name: 'ready' }), pool.run(null, { name: 'ready' })]);
    for (const participants of [1, 2]) {
      const t: number[] = [];
      for (let r = 0; r < 12; r++) {
        memory.i32(control, controlWords(S)).fill(0);
        const t0 = performance.now();
        await Promise.all(Array.from({ length: participants }, (_, i) => pool.run({
          plan, arena, control, scratch: scratch[i]!, scratchBytes: 65536, memoryBytes: 0, spin: SPIN_LONG, exitAtStep: -1,
        } satisfies RunTask)));
        t.push(performance.now() - t0);
      }
      res[`joinStepUs_participants${participants}`] = (median(t.slice(2)) / S) * 1000;
    }
    await pool.destroy();
  }
  const graph: Graph = { inputs: [{ name: 'x', shape: [null, 4, null, null] }], outputs: ['r199'], nodes: [], initializers: new Map() };
  for (let i = 0; i < 200; i++) graph.nodes.push({ op: 'relu', name: `r${i}`, inputs: [i === 0 ? 'x' : `r${i - 1}`], outputs: [`r${i}`], attrs: {} });
  const model: Model = { graph, architecture: null, meta: defaultMeta(4, 4, 'relu-chain'), source: { format: 'builder', path: null } };
  const x = seededInput([1, 4, 128, 128], 9);
  for (const workers of [1, 2]) {
    const s = await createSession(model, { workers });
    const t: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      await s.run(x);
      t.push(performance.now() - t0);
    }
    res[`reluChainStepUs_workers${workers}`] = (median(t.slice(3)) / 200) * 1000;
    await s.close();
  }
  return res;
}

export async function main(args: string[]): Promise<void> {
  const ort = await import('onnxruntime-node');
  const only = arg(args, '--only');
  const itersArg = arg(args, '--iters');
  const batchArg = arg(args, '--batch');
  const batchRounds = Math.max(1, Number(arg(args, '--batch-rounds') ?? 3) || 3);
  const precisionArg = arg(args, '--precision') ?? 'both';
  const precisions = precisionArg === 'both' ? (['exact', 'fast'] as const) : ([precisionArg as 'exact' | 'fast'] as const);
  const configs: Config[] = [
    { name: 'base 16 @256²', base: 16, size: 256, iters: 30, batch: 8 },
    { name: 'base 64 @512²', base: 64, size: 512, iters: 2, batch: 2 },
  ]
    .filter((c) => only === undefined || String(c.base) === only)
    .map((c) => ({ ...c, iters: itersArg ? Number(itersArg) : c.iters, batch: batchArg ? Number(batchArg) : c.batch }));

  const dispatchCost = args.includes('--no-dispatch') ? {} : await dispatch();
  const rows: Row[] = [];
  const extra: Record<string, unknown>[] = [];
  process.stderr.write(`unet bench: ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  for (const c of configs) {
    const model = benchUnet(c.base);
    const graph = model.graph;
    const folded = optimizeGraph(graph);
    const flops = flopsOf(folded, c.size);
    const bytes = graphToOnnx(folded, c.size);
    const x1 = seededInput([1, 3, c.size, c.size], 1);
    const xb = seededInput([c.batch, 3, c.size, c.size], 2);
    const warm = seededInput([1, 3, 64, 64], 3);

    type Impl = { impl: string; threads: number; run: (x: Tensor) => Promise<Float32Array>; close: () => Promise<void> };
    const impls: Impl[] = [];
    const plans: Record<string, unknown> = {};
    for (const precision of precisions) {
      for (const workers of [1, 2]) {
        const s = await createSession(model, { workers, precision });
        if (precision === precisions[0]) plans[`workers=${workers}`] = s.plan(xb.shape);
        impls.push({ impl: `ours ${precision}`, threads: workers, run: async (x) => (await s.run(x)).data, close: () => s.close() });
      }
    }
    for (const threads of [1, 2]) {
      const sess = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3,
      });
      const input = sess.inputNames[0]!;
      const run = async (x: Tensor): Promise<Float32Array> => {
        const r = await sess.run({ [input]: new ort.Tensor('float32', x.data, x.shape) });
        return Object.values(r)[0]!.data as Float32Array;
      };
      impls.push({ impl: 'onnxruntime-node', threads, run, close: () => sess.release() });
    }
    // Warm-up (tier-up, page faults of the small plan) and the output comparison.
    for (const im of impls) await im.run(c.size > 256 ? warm : x1);
    const ours = impls.filter((im) => im.impl.startsWith('ours'));
    const exactOut = await ours[0]!.run(x1);
    const fastOut = await ours[ours.length - 1]!.run(x1);
    const ortOut = await impls.find((im) => im.impl === 'onnxruntime-node')!.run(x1);
    let maxDiff = 0, maxDiffFast = 0, maxAbs = 0;
    for (let i = 0; i < ortOut.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(exactOut[i]! - ortOut[i]!));
      maxDiffFast = Math.max(maxDiffFast, Math.abs(fastOut[i]! - ortOut[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(ortOut[i]!));
    }

    const single = new Map<Impl, number[]>(impls.map((im) => [im, []]));
    for (let it = 0; it < c.iters; it++) {
      for (const im of impls) {
        await settle();
        const t = performance.now();
        await im.run(x1);
        single.get(im)!.push(performance.now() - t);
        process.stderr.write('.');
      }
    }
    const batches = new Map<Impl, { ms: number; cpuMs: number }[]>(impls.map((im) => [im, []]));
    for (let r = 0; r < batchRounds; r++) {
      for (const im of impls) {
        await settle();
        const t = performance.now();
        const cpu0 = process.cpuUsage();
        await im.run(xb);
        const cpu = process.cpuUsage(cpu0);
        batches.get(im)!.push({ ms: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000 });
        process.stderr.write('+');
      }
    }
    for (const im of impls) {
      const times = single.get(im)!;
      const b = batches.get(im)!;
      const best = b.reduce((x, y) => (y.ms < x.ms ? y : x));
      rows.push({
        config: c.name, impl: im.impl, threads: im.threads, singleBestMs: Math.min(...times), singleMedianMs: median(times),
        batch: c.batch, batchMs: best.ms, batchMedianMs: median(b.map((x) => x.ms)), imagesPerSecond: (c.batch * 1000) / best.ms,
        gflops: flops / 1e6 / Math.min(...times), cpuMsPerImage: best.cpuMs / c.batch,
      });
      await im.close();
    }
    process.stderr.write('\n');
    extra.push({ config: c.name, gflopPerImage: flops / 1e9, onnxBytes: bytes.length, maxAbsDiffVsOnnxruntime: maxDiff, maxAbsDiffFastVsOnnxruntime: maxDiffFast, maxAbsOutput: maxAbs, plans });
  }

  const f = (v: number, d = 1) => v.toFixed(d);
  const lines = [
    '| model | implementation | threads | single best ms | single median ms | GFLOPS (best) | batch | batch best ms | batch median ms | images/s (best) | CPU ms/image | vs ORT same threads: single (best / median) | vs ORT: batch (best / median) | 2 vs 1 thread: single (best / median) | 2 vs 1 thread: batch (best / median) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  /** a/b and c/d as "x.xx / y.yy" (speed ratios of times: > 1 = the second is faster). */
  const pair = (a: number, b: number, c: number, d: number) => `${f(a / b, 2)} / ${f(c / d, 2)}`;
  for (const r of rows) {
    const o = rows.find((x) => x.config === r.config && x.impl === 'onnxruntime-node' && x.threads === r.threads);
    const one = rows.find((x) => x.config === r.config && x.impl === r.impl && x.threads === 1)!;
    const ours = r.impl.startsWith('ours') && o !== undefined;
    const vsSingle = ours ? pair(o.singleBestMs, r.singleBestMs, o.singleMedianMs, r.singleMedianMs) : '';
    const vsBatch = ours ? pair(o.batchMs, r.batchMs, o.batchMedianMs, r.batchMedianMs) : '';
    const suSingle = r.threads === 2 ? pair(one.singleBestMs, r.singleBestMs, one.singleMedianMs, r.singleMedianMs) : '';
    const suBatch = r.threads === 2 ? pair(one.batchMs, r.batchMs, one.batchMedianMs, r.batchMedianMs) : '';
    lines.push(`| ${r.config} | ${r.impl} | ${r.threads} | ${f(r.singleBestMs)} | ${f(r.singleMedianMs)} | ${f(r.gflops)} | ${r.batch} | ` +
      `${f(r.batchMs)} | ${f(r.batchMedianMs)} | ${f(r.imagesPerSecond, 2)} | ${f(r.cpuMsPerImage, 0)} | ${vsSingle} | ${vsBatch} | ${suSingle} | ${suBatch} |`);
  }
  const rss = process.resourceUsage().maxRSS * 1024;
  lines.push('');
  for (const e of extra) {
    const p = (e.plans as Record<string, { arenaBytes: number; sharedBytes: number; constantBytes: number }>)['workers=2']!;
    lines.push(`${e.config as string}: ${f(e.gflopPerImage as number, 1)} GFLOP/image; planned arena ${f(p.arenaBytes / 2 ** 20)} MiB/image, ` +
      `shared memory ${f(p.sharedBytes / 2 ** 20)} MiB with 2 workers (weights ${f(p.constantBytes / 2 ** 20)} MiB); ` +
      `max |ours - ORT| exact ${(e.maxAbsDiffVsOnnxruntime as number).toExponential(2)}, fast ${(e.maxAbsDiffFastVsOnnxruntime as number).toExponential(2)} (max |y| ${f(e.maxAbsOutput as number, 3)})`);
  }
  if (Object.keys(dispatchCost).length > 0) {
    lines.push('dispatch: ' + Object.entries(dispatchCost).map(([k, v]) => `${k} ${f(v, 3)}`).join(', '));
  }
  lines.push(`peak RSS ${f(rss / 2 ** 20)} MiB; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(JSON.stringify({ bench: 'unet', rows, details: extra, dispatch: dispatchCost, peakRssBytes: rss, loadavg: os.loadavg() }) + '\n');
}
