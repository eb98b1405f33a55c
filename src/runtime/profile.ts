/**
 * Per-layer profile of a pooled session: the wall time of every plan step, averaged over timed runs after a
 * warm-up, with each conv's throughput and each step's share of the total. Used by `npm run bench -- profile`
 * and `unet inspect --profile`.
 *
 * Times are taken in the worker that runs the image's first participant: a step's time runs from the end of
 * the previous step's barrier to the end of its own, so it includes waiting for the other participants' blocks
 * (the step's real cost on the image's critical path), and the steps add up to the run minus the dispatch.
 */
import { performance } from 'node:perf_hooks';
import { invalidParameter } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { PlanStepInfo } from './plan.js';
import type { Session, SessionProfile } from './session.js';

/** One profiled step: what it computes and its mean time. */
export interface ProfileRow extends PlanStepInfo {
  /** Mean wall time, ms. */
  readonly ms: number;
  /** Conv throughput (flops / time), GFLOPS; 0 for other steps. */
  readonly gflops: number;
  /** Share of the summed step times, percent. */
  readonly share: number;
}

/** The averaged profile of one input shape. */
export interface ModelProfile {
  /** The planned shape (one image). */
  readonly inputShape: readonly number[];
  /** Worker threads taking part in the image. */
  readonly workers: number;
  /** Timed runs averaged (after the warm-up). */
  readonly iterations: number;
  /** Steps in execution order. */
  readonly steps: readonly ProfileRow[];
  /** Sum of the mean step times, ms. */
  readonly stepsMs: number;
  /** Mean run time seen by the caller (input in, all steps, outputs out, dispatch), ms. */
  readonly runMs: number;
  /** Conv FLOPs of one image. */
  readonly flops: number;
  /** Concats the memory plan fused away (they have no step). */
  readonly fusedConcats: number;
  /** Max pools fused into the conv before them (they have no step). */
  readonly fusedPools: number;
}

/** Options of {@link profileSession}. */
export interface ProfileOptions {
  /** Untimed runs first (tier-up, page faults); default 2. */
  readonly warmup?: number;
  /** Timed runs averaged; default 10. */
  readonly iterations?: number;
}

/**
 * A deterministic input in [-1, 1) (a linear congruential sequence from `seed`).
 * @param shape the tensor shape
 */
export function randomInput(shape: readonly number[], seed = 1): Tensor {
  const t = new Tensor(shape.slice());
  let s = seed >>> 0;
  for (let i = 0; i < t.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = s / 2 ** 31 - 1;
  }
  return t;
}

/**
 * Run `x` (one image) `warmup + iterations` times on `session` and average the step times of the timed runs.
 * @param session a session created with `profile: true`
 * @throws {RangeError} ERR_INVALID_ARG_VALUE when the session does not profile, x holds more than one image, or
 *   the counts are not integers (warmup ≥ 0, iterations ≥ 1)
 * @throws the errors of {@link Session.run}
 */
export async function profileSession(session: Session, x: Tensor, options: ProfileOptions = {}): Promise<ModelProfile> {
  const warmup = options.warmup ?? 2;
  const iterations = options.iterations ?? 10;
  if (!Number.isInteger(warmup) || warmup < 0) throw invalidParameter('profileSession', 'options.warmup', 'an integer >= 0', warmup);
  if (!Number.isInteger(iterations) || iterations < 1) throw invalidParameter('profileSession', 'options.iterations', 'an integer >= 1', iterations);
  if (x.shape[0] !== 1) throw invalidParameter('profileSession', 'x', 'one image [1, C, H, W]', { raw: `[${x.shape.join(', ')}]` });
  for (let i = 0; i < warmup; i++) await session.run(x);
  let sums: number[] | null = null;
  let runMs = 0;
  let last: SessionProfile | null = null;
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await session.run(x);
    runMs += performance.now() - t0;
    last = session.lastProfile();
    if (last === null) throw invalidParameter('profileSession', 'session', 'a session created with { profile: true }', { raw: 'a session without profiling' });
    sums ??= new Array<number>(last.steps.length).fill(0);
    last.steps.forEach((s, k) => (sums![k]! += s.ms));
  }
  const means = sums!.map((v) => v / iterations);
  const stepsMs = means.reduce((a, b) => a + b, 0);
  const steps = last!.steps.map((s, k) => {
    const ms = means[k]!;
    return {
      node: s.node, op: s.op, kind: s.kind, algorithm: s.algorithm, outputShape: s.outputShape, flops: s.flops, ms,
      gflops: s.flops > 0 && ms > 0 ? s.flops / ms / 1e6 : 0,
      share: stepsMs > 0 ? (100 * ms) / stepsMs : 0,
    };
  });
  return {
    inputShape: last!.inputShape, workers: last!.participants, iterations, steps, stepsMs, runMs: runMs / iterations,
    flops: steps.reduce((a, s) => a + s.flops, 0), fusedConcats: last!.fusedConcats, fusedPools: last!.fusedPools,
  };
}

/** Share of the step time per op (concat pieces included under 'concat'), largest first. */
export function profileByOp(p: ModelProfile): { op: string; ms: number; share: number; steps: number }[] {
  const by = new Map<string, { op: string; ms: number; share: number; steps: number }>();
  for (const s of p.steps) {
    const key = s.algorithm !== null && s.op === 'conv2d' ? `${s.op} ${s.algorithm}` : s.op;
    const e = by.get(key) ?? { op: key, ms: 0, share: 0, steps: 0 };
    e.ms += s.ms;
    e.share += s.share;
    e.steps++;
    by.set(key, e);
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}

/**
 * The profile as a text table: one row per step in execution order (layer, op, algorithm, output shape, ms,
 * GFLOPS, share), a totals line, the time per op and the five slowest steps.
 */
export function formatProfile(p: ModelProfile): string {
  const fmtMs = (v: number) => (v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
  const head = ['#', 'layer', 'op', 'algorithm', 'output shape', 'ms', 'GFLOPS', '%'];
  const rows = p.steps.map((s, k) => [
    String(k), s.node, s.op, s.algorithm ?? '', `[${s.outputShape.join(', ')}]`, fmtMs(s.ms), s.gflops > 0 ? s.gflops.toFixed(1) : '', s.share.toFixed(1),
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const right = new Set([0, 5, 6, 7]);
  const line = (cells: string[]) => cells.map((c, k) => (right.has(k) ? c.padStart(widths[k]!) : c.padEnd(widths[k]!))).join('  ').trimEnd();
  const top = p.steps.map((s, k) => ({ s, k })).sort((a, b) => b.s.ms - a.s.ms).slice(0, 5);
  const lines = [
    `profile: input [${p.inputShape.join(', ')}], ${p.workers} worker${p.workers === 1 ? '' : 's'}, mean of ${p.iterations} run${p.iterations === 1 ? '' : 's'} after warm-up`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    line(widths.map((w) => '-'.repeat(w))),
    `total: ${p.steps.length} steps ${fmtMs(p.stepsMs)} ms (run ${fmtMs(p.runMs)} ms with dispatch and copies in/out); ` +
      `conv ${(p.flops / 1e9).toFixed(2)} GFLOP, ${(p.flops / p.stepsMs / 1e6).toFixed(1)} GFLOPS overall` +
      (p.fusedConcats > 0 ? `; ${p.fusedConcats} concat${p.fusedConcats === 1 ? '' : 's'} fused (no step)` : '') +
      (p.fusedPools > 0 ? `; ${p.fusedPools} max pool${p.fusedPools === 1 ? '' : 's'} fused into the conv before ${p.fusedPools === 1 ? 'it' : 'them'}` : ''),
    'by op: ' + profileByOp(p).map((o) => `${o.op} ${fmtMs(o.ms)} ms (${o.share.toFixed(1)} %)`).join(', '),
    'top 5:',
    ...top.map(({ s, k }) => `  #${k} ${s.node} (${s.op}${s.algorithm ? ` ${s.algorithm}` : ''}) ${fmtMs(s.ms)} ms, ${s.share.toFixed(1)} %`),
  ];
  return lines.join('\n') + '\n';
}
