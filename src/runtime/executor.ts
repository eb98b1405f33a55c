/**
 * The plan executor: what every participant of a run (a pool worker) does with a {@link RunTask}. It walks the
 * plan's steps, claims blocks of each step from the lane's control block, runs them on the wasm kernels over the
 * shared memory, and waits for the other participants' blocks before the next step (see ./protocol.ts).
 *
 * Nothing here validates: plans are made (and checked) on the main thread, conv blocks down to their kernel
 * parameter blocks. The only allocations per run are the first sight of a plan (deserialized once from the
 * shared memory, see {@link PlanRef}), the control view and, for the rare `node` steps, the views and the result
 * of the single-thread code.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { KernelInstance } from '../kernels/index.js';
import { runNode } from '../graph/execute.js';
import { referenceBackend } from '../ops/reference/index.js';
import { Tensor } from '../tensor/tensor.js';
import type { Plan, PlanRef, Ref, RunTask, Step } from './protocol.js';
import { CTRL_ABORT, CTRL_STEPS, controlWords } from './protocol.js';

/** Thrown inside a participant when the main thread aborted the run (another participant died). */
export class RunAborted extends Error {
  constructor() {
    super('run aborted');
    this.name = 'RunAborted';
  }
}

/** Atomics.wait timeout, so an aborted run is noticed even without a notify. */
const WAIT_MS = 20;

/** Runs tasks on one wasm instance per scratch region (instances are cheap; the module is compiled once). */
export class PlanExecutor {
  private readonly instances = new Map<string, KernelInstance>();
  private readonly plans = new Map<number, Plan>();

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
  ) {}

  private instance(task: RunTask): KernelInstance {
    const key = `${task.scratch}:${task.scratchBytes}`;
    let k = this.instances.get(key);
    if (k === undefined) {
      k = new KernelInstance(this.module, this.memory, { offset: task.scratch, bytes: task.scratchBytes });
      this.instances.set(key, k);
    }
    return k;
  }

  /** The plan `ref` names: deserialized from the shared memory the first time, then kept. */
  private plan(ref: PlanRef): Plan {
    let p = this.plans.get(ref.id);
    if (p === undefined) {
      // Copy out of the shared buffer first: v8.deserialize wants an ordinary buffer.
      p = v8.deserialize(new Uint8Array(this.memory.buffer, ref.offset, ref.bytes).slice()) as Plan;
      this.plans.set(ref.id, p);
    }
    return p;
  }

  /** Take part in a run. Returns the number of blocks this participant computed. */
  run(task: RunTask): number {
    if (this.memory.buffer.byteLength < task.memoryBytes) {
      // A grown shared memory is visible to every thread; this only guards against a stale handle.
      throw new RangeError(`worker: shared memory has ${this.memory.buffer.byteLength} bytes, the plan needs ${task.memoryBytes}`);
    }
    const k = this.instance(task);
    const steps = this.plan(task.plan).steps;
    const ctl = new Int32Array(this.memory.buffer, task.control, controlWords(steps.length));
    // Timestamps only when profiling; otherwise one null check per step.
    const prof = task.profile ? new Float64Array(this.memory.buffer, task.profile, steps.length + 1) : null;
    if (prof !== null) prof[0] = performance.now();
    let done = 0;
    for (let s = 0; s < steps.length; s++) {
      if (Atomics.load(ctl, CTRL_ABORT) !== 0) throw new RunAborted();
      if (s === task.exitAtStep) process.exit(1);
      const step = steps[s]!;
      const total = step.ranges.length - 1;
      const claim = CTRL_STEPS + 2 * s;
      for (;;) {
        const b = Atomics.add(ctl, claim, 1);
        if (b >= total) break;
        runBlock(k, this.memory, task.arena, step, b);
        done++;
        if (Atomics.add(ctl, claim + 1, 1) + 1 === total) Atomics.notify(ctl, claim + 1);
      }
      waitAll(ctl, claim + 1, total, task.spin);
      if (prof !== null) prof[s + 1] = performance.now();
    }
    return done;
  }
}

/** Wait until `total` blocks of a step are finished: `spin` polls, then Atomics.wait (woken by the last block's notify). */
function waitAll(ctl: Int32Array, idx: number, total: number, spin: number): void {
  for (let i = 0; i < spin; i++) if (Atomics.load(ctl, idx) >= total) return;
  for (;;) {
    const v = Atomics.load(ctl, idx);
    if (v >= total) return;
    if (Atomics.load(ctl, CTRL_ABORT) !== 0) throw new RunAborted();
    Atomics.wait(ctl, idx, v, WAIT_MS);
  }
}

const addr = (arena: number, r: Ref): number => (r.a === 1 ? arena + r.o : r.o);

/** Compute block `b` of `step`. */
export function runBlock(k: KernelInstance, memory: WebAssembly.Memory, arena: number, step: Step, b: number): void {
  const r0 = step.ranges[b]!;
  const r1 = step.ranges[b + 1]!;
  const e = k.exports;
  switch (step.kind) {
    case 'conv2d':
    case 'convTranspose2d': {
      const blk = step.blocks[b]!;
      k.run(blk, arena, blk.arenaWords);
      return;
    }
    case 'maxPool2d':
    case 'avgPool2d': {
      const g = step.g;
      const x = addr(arena, step.x) + r0 * g.inH * g.inW * 4;
      const o = addr(arena, step.out) + r0 * g.outH * g.outW * 4;
      if (step.kind === 'maxPool2d') {
        e.maxPool2d(x, o, r1 - r0, g.inH, g.inW, g.outH, g.outW, g.kernelH, g.kernelW, g.strideH, g.strideW,
          g.dilationH, g.dilationW, g.pad.top, g.pad.left, 0, g.outH);
      } else {
        e.avgPool2d(x, o, r1 - r0, g.inH, g.inW, g.outH, g.outW, g.kernelH, g.kernelW, g.strideH, g.strideW,
          g.pad.top, g.pad.left, step.countIncludePad, step.divisorOverride, 0, g.outH);
      }
      return;
    }
    case 'copy': {
      const bytes = new Uint8Array(memory.buffer);
      for (let i = r0; i < r1; i++) {
        const src = addr(arena, step.src[i]!);
        bytes.copyWithin(addr(arena, step.dst[i]!), src, src + step.bytes[i]!);
      }
      return;
    }
    case 'gather': {
      const x = addr(arena, step.x) + r0 * step.inH * step.inW * 4;
      const o = addr(arena, step.out) + r0 * step.outH * step.outW * 4;
      e.gather2d(x, o, r1 - r0, step.inH, step.inW, step.outH, step.outW, step.rows, step.cols, step.fill,
        step.runStart, step.runLen, step.runSrc);
      return;
    }
    case 'bilinear': {
      const t = step.tables;
      const x = addr(arena, step.x) + r0 * step.inH * step.inW * 4;
      const o = addr(arena, step.out) + r0 * step.outH * step.outW * 4;
      e.bilinear(x, o, r1 - r0, step.inH, step.inW, step.outH, step.outW, t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, t[5]!, t[6]!, t[7]!);
      return;
    }
    case 'activation':
      e.activation(addr(arena, step.x) + r0 * 4, addr(arena, step.out) + r0 * 4, r1 - r0, step.act, step.slope);
      return;
    case 'affine': {
      const off = r0 * step.spatial * 4;
      e.channelAffine(addr(arena, step.x) + off, step.scale + r0 * 4, step.shift + r0 * 4, addr(arena, step.out) + off, 1, r1 - r0, step.spatial);
      return;
    }
    case 'softmax':
      e.softmax(addr(arena, step.x), addr(arena, step.out), step.batch, step.channels, step.spatial);
      return;
    case 'node': {
      const buf = memory.buffer;
      const ins = step.inputs.map((i) => new Tensor(i.shape, new Float32Array(buf, addr(arena, i.ref), shapeSize(i.shape))));
      const y = runNode(referenceBackend, step.graphNode, ins, step.outShape);
      new Float32Array(buf, addr(arena, step.out), y.size).set(y.data);
      return;
    }
  }
}

function shapeSize(s: readonly number[]): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}
