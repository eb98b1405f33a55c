/**
 * The pooled session: a model running on a piscina pool of worker threads over ONE shared WebAssembly.Memory.
 *
 * - The kernel module is compiled once on the main thread and posted to the workers with the memory (both are
 *   shared, not copied). Weights are packed once into that memory; every worker reads the same bytes.
 * - Per input shape a static plan (./plan.ts) fixes every activation's offset in an arena; it is cached. A run
 *   copies the input into the arena, the workers run the steps, the outputs are copied out: nothing is allocated
 *   per layer.
 * - A batch of N images runs whole images on up to `workers` lanes (one arena each) at once; a single image runs
 *   on one lane with every worker taking part, each heavy layer split into row or channel blocks and joined by an
 *   Atomics barrier in the shared memory (./protocol.ts). Piscina owns the threads: it starts them, hands out
 *   the tasks and replaces a thread that died.
 * - Runs are queued: concurrent `run` calls are safe and execute one after the other (each uses the whole pool).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ErrorCode, UnetError, UnetRangeError, formatShape, invalidParameter, invalidType, shapeMismatch } from '../errors.js';
import { normalizeAxis } from '../graph/graph.js';
import type { Graph } from '../graph/ir.js';
import { nodeLabel } from '../graph/ir.js';
import { optimizeGraph } from '../graph/passes.js';
import { compileKernels, isRelaxedModule, KernelMemory, MAX_PAGES, PAGE_BYTES, RESERVED_BYTES } from '../kernels/index.js';
import { loadModel } from '../models/load.js';
import type { Model } from '../models/model.js';
import { Tensor } from '../tensor/tensor.js';
import type { PlanLayout, PlanStepInfo } from './plan.js';
import { buildPlan, ConstantStore, sizeOf } from './plan.js';
import type { Plan, PlanRef, RunTask } from './protocol.js';
import { CTRL_ABORT, CTRL_STEPS, controlWords, SPIN_LONG, SPIN_SHORT } from './protocol.js';

/** Options of {@link createSession}. */
export interface SessionOptions {
  /** Worker threads, 1-256; default `os.availableParallelism()`. */
  readonly workers?: number;
  /** Blocks per worker of a split layer of a single image, 1-16; default 1 (measured: more, smaller blocks cost more than dynamic claiming gains). */
  readonly blocksPerWorker?: number;
  /**
   * 'fast' (default): Winograd F(4×4, 3×3) for the 3×3 convs where it is faster (rounding error ~20-40× the direct
   * conv's, within ~1e-5 relative of 'exact').
   * 'exact': direct convolutions only, outputs bit-identical to the single-thread executor.
   */
  readonly precision?: 'exact' | 'fast';
  /**
   * Record the wall time of every plan step of each run (read with {@link Session.lastProfile}); default false.
   * Costs two timestamps per step; without it the workers take no timestamps at all.
   */
  readonly profile?: boolean;
  /**
   * Let the memory plan place concat inputs directly in their slots of the concat's output, so the concat copies
   * nothing (default true; outputs are identical either way).
   */
  readonly fuseConcat?: boolean;
  /**
   * Let a 2×2 stride-2 max pool that reads a Winograd conv's output be computed by the conv's output transform,
   * which writes both (default true; outputs are identical either way).
   */
  readonly fusePool?: boolean;
}

/** Resolved options. */
export interface FilledSessionOptions {
  readonly workers: number;
  readonly blocksPerWorker: number;
  readonly precision: 'exact' | 'fast';
  readonly profile: boolean;
  readonly fuseConcat: boolean;
  readonly fusePool: boolean;
}

const kDefaultOptions = Object.freeze({ blocksPerWorker: 1, precision: 'fast' as const, profile: false, fuseConcat: true, fusePool: true });
const PRECISIONS: readonly string[] = Object.freeze(['exact', 'fast']);

/** What the memory plan of one input shape holds (see {@link Session.plan}). */
export interface SessionPlanInfo {
  /** The shape planned (a batch runs one image at a time per lane, so this has batch 1). */
  readonly inputShape: readonly number[];
  /** Steps of the plan (after BN folding and activation fusion). */
  readonly steps: number;
  /** Planned peak activation bytes of one image (the arena of one lane). */
  readonly arenaBytes: number;
  /** What the same activations would take without reuse. */
  readonly unplannedBytes: number;
  /** Bytes of packed weights, biases and index tables (shared by all workers). */
  readonly constantBytes: number;
  /** Scratch bytes per worker. */
  readonly scratchBytes: number;
  /** Lanes (images in flight at once) the batch of `shape` uses: min(N, workers), fewer if memory is short. */
  readonly lanes: number;
  /** Planned shared-memory bytes: constants + lanes × arena + workers × scratch. */
  readonly sharedBytes: number;
  /** Concats that copy nothing: their inputs are written at their slots of the output. */
  readonly fusedConcats: number;
  /** Concats that copy only some inputs (the others are at their slots). */
  readonly partlyFusedConcats: number;
  /** Max pools computed by the Winograd conv that writes their input (no step of their own). */
  readonly fusedPools: number;
}

/** Wall time of one plan step in a profiled run (see {@link SessionOptions.profile}). */
export interface StepProfile extends PlanStepInfo {
  /** Milliseconds from the end of the previous step to the end of this one (all participants). */
  readonly ms: number;
}

/** Per-step times of one image of a profiled run. */
export interface SessionProfile {
  /** The planned shape (batch 1 unless the graph mixes images). */
  readonly inputShape: readonly number[];
  /** Participants (worker threads) that ran the image. */
  readonly participants: number;
  /** Steps in execution order. */
  readonly steps: readonly StepProfile[];
  /** From the first step's start to the last step's end, ms. */
  readonly totalMs: number;
  /** Concats the plan fused away (no step, so not in `steps`). */
  readonly fusedConcats: number;
  /** Max pools fused into the conv before them (no step, so not in `steps`). */
  readonly fusedPools: number;
}

/** A model on a worker pool. Create with {@link createSession}. */
export interface Session {
  /** Worker threads. */
  readonly workers: number;
  /** Graph output names, in order. */
  readonly outputNames: readonly string[];
  /**
   * Run on `x` [N, C, H, W]; resolves to the first output.
   * @throws {TypeError} ERR_INVALID_ARG_TYPE when x is not a Tensor
   * @throws {RangeError} ERR_SHAPE_MISMATCH for a wrong rank or channel count (before any work)
   * @throws {RangeError} ERR_INPUT_TOO_LARGE when the activations cannot fit in the 4 GiB wasm32 memory (tile)
   * @throws {UnetError} ERR_WORKER when a worker died or failed during the run; ERR_CLOSED after close()
   */
  run(x: Tensor): Promise<Tensor>;
  /** As {@link run}, all outputs by name. */
  runOutputs(x: Tensor): Promise<Record<string, Tensor>>;
  /**
   * The memory plan for input shape `shape` ([N, C, H, W]; made and cached if new).
   * @throws as {@link run} for shapes the model cannot take
   */
  plan(shape: readonly number[]): SessionPlanInfo;
  /**
   * The per-step times of the last image of the last completed run, or null when the session was created without
   * `profile: true` or has not run yet.
   */
  lastProfile(): SessionProfile | null;
  /** Stop the workers and release the shared memory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Load (if given a path) and start a model on a worker pool.
 * @param model a Model or a path `loadModel` accepts
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for invalid options
 * @throws {UnetError} ERR_MODEL_FORMAT for a graph with not exactly one input; loader errors for paths
 */
export async function createSession(model: Model | string, options: SessionOptions = {}): Promise<Session> {
  const opts = resolveSessionOptions(options);
  const m = typeof model === 'string' ? await loadModel(model) : model;
  if (typeof m !== 'object' || m === null || !('graph' in m)) throw invalidType('createSession', 'model', 'a Model or a path', model);
  const session = new PooledSession(m, opts);
  await session.start();
  return session;
}

/** Validate and fill {@link SessionOptions}. */
export function resolveSessionOptions(options: SessionOptions): FilledSessionOptions {
  if (typeof options !== 'object' || options === null) throw invalidType('createSession', 'options', 'an object', options);
  const workers = options.workers ?? os.availableParallelism();
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw invalidParameter('createSession', 'options.workers', 'an integer from 1 to 256', workers);
  }
  const bpw = options.blocksPerWorker ?? kDefaultOptions.blocksPerWorker;
  if (typeof bpw !== 'number' || !Number.isInteger(bpw) || bpw < 1 || bpw > 16) {
    throw invalidParameter('createSession', 'options.blocksPerWorker', 'an integer from 1 to 16', bpw);
  }
  const precision = options.precision ?? kDefaultOptions.precision;
  if (!PRECISIONS.includes(precision)) {
    throw invalidParameter('createSession', 'options.precision', `one of ${PRECISIONS.map((p) => `'${p}'`).join(', ')}`, precision);
  }
  const profile = options.profile ?? kDefaultOptions.profile;
  if (typeof profile !== 'boolean') throw invalidParameter('createSession', 'options.profile', 'a boolean', profile);
  const fuseConcat = options.fuseConcat ?? kDefaultOptions.fuseConcat;
  if (typeof fuseConcat !== 'boolean') throw invalidParameter('createSession', 'options.fuseConcat', 'a boolean', fuseConcat);
  const fusePool = options.fusePool ?? kDefaultOptions.fusePool;
  if (typeof fusePool !== 'boolean') throw invalidParameter('createSession', 'options.fusePool', 'a boolean', fusePool);
  return Object.freeze({ workers, blocksPerWorker: bpw, precision, profile, fuseConcat, fusePool });
}

/** Test hook: the next run's first task makes its worker `process.exit(1)` when it reaches `step`. */
export function injectWorkerExit(session: Session, step: number): void {
  (session as PooledSession).pendingExit = step;
}

/** The compiled worker entry: `<package root>/dist/workers/session.js`. */
function workerFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'unet-pipeline') {
      const f = path.join(dir, 'dist', 'workers', 'session.js');
      if (!existsSync(f)) throw new UnetError(ErrorCode.WORKER, `createSession: ${f} not found; build the package (npm run build)`);
      return f;
    }
    dir = path.dirname(dir);
  }
  throw new UnetError(ErrorCode.WORKER, 'createSession: package root (package.json of unet-pipeline) not found');
}

interface Entry {
  readonly layout: PlanLayout;
  /** The plan serialized in the shared memory, for the workers. */
  readonly planRef: PlanRef;
  /** True when the graph mixes images (batch axis ops): the plan covers the whole batch. */
  readonly wholeBatch: boolean;
}

interface Lane {
  arena: number;
  arenaBytes: number;
  control: number;
  controlWords: number;
}

/** Bytes kept free under the 4 GiB limit for tables and scratch growth. */
const HEADROOM = 64 * 1024 * 1024;
const MAX_BYTES = MAX_PAGES * PAGE_BYTES;

class PooledSession implements Session {
  readonly workers: number;
  readonly outputNames: readonly string[];
  pendingExit = -1;
  private readonly memory = new KernelMemory(64 * 1024 * 1024);
  private readonly store = new ConstantStore(this.memory);
  private readonly graph: Graph;
  private readonly graphs = new Map<string, Graph>();
  private readonly entries = new Map<string, Entry>();
  private readonly lanes: Lane[] = [];
  private readonly slots: { offset: number; bytes: number }[] = [];
  private readonly inputName: string;
  private readonly channels: number | null;
  private readonly batchMixing: boolean;
  private pool: Piscina | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Profiling: per lane, the Float64 timestamps (offset, entries) participant 0 writes. */
  private readonly stamps: { offset: number; entries: number }[] = [];
  private profiled: SessionProfile | null = null;
  /** Barrier polls of every run's participants: long unless the pool has more workers than cores. */
  private readonly spin: number;

  constructor(private readonly model: Model, private readonly opts: FilledSessionOptions) {
    this.workers = opts.workers;
    this.spin = this.workers <= os.availableParallelism() ? SPIN_LONG : SPIN_SHORT;
    const g = model.graph;
    if (g.inputs.length !== 1) {
      throw new UnetError(ErrorCode.MODEL_FORMAT, `createSession: expected a graph with 1 input but ${model.meta.name} has ${g.inputs.length}`);
    }
    this.graph = optimizeGraph(g);
    this.inputName = g.inputs[0]!.name;
    const c = g.inputs[0]!.shape[1];
    this.channels = typeof c === 'number' ? c : null;
    this.outputNames = Object.freeze(g.outputs.slice());
    this.batchMixing = mixesBatch(this.graph);
  }

  async start(): Promise<void> {
    const module = compileKernels();
    this.pool = new Piscina({
      filename: workerFile(),
      minThreads: this.workers,
      maxThreads: this.workers,
      idleTimeout: 2 ** 31 - 1,
      concurrentTasksPerWorker: 1,
      workerData: { module, memory: this.memory.memory, relaxed: isRelaxedModule(module) },
    });
    // Wait until every thread is up, so the first run's timing is the run's own.
    await Promise.all(Array.from({ length: this.workers }, () => this.pool!.run(null, { name: 'ready' })));
  }

  run(x: Tensor): Promise<Tensor> {
    return this.runOutputs(x).then((r) => r[this.outputNames[0]!]!);
  }

  runOutputs(x: Tensor): Promise<Record<string, Tensor>> {
    if (this.closed) return Promise.reject(new UnetError(ErrorCode.CLOSED, `session.run: the session of ${this.model.meta.name} is closed`));
    let entry: Entry;
    try {
      entry = this.check(x);
    } catch (e) {
      return Promise.reject(e);
    }
    const next = this.queue.then(() => this.execute(x, entry));
    this.queue = next.catch(() => undefined);
    return next;
  }

  plan(shape: readonly number[]): SessionPlanInfo {
    if (this.closed) throw new UnetError(ErrorCode.CLOSED, `session.plan: the session of ${this.model.meta.name} is closed`);
    if (!Array.isArray(shape)) throw invalidType('session.plan', 'shape', 'an array [N, C, H, W]', shape);
    const e = this.check(null, shape);
    const lanes = e.wholeBatch ? 1 : Math.min(shape[0]!, this.workers, this.maxLanes(e.layout.plan.arenaBytes));
    const p = e.layout.plan;
    return {
      inputShape: e.layout.inputShape,
      steps: p.steps.length,
      arenaBytes: p.arenaBytes,
      unplannedBytes: e.layout.unplannedBytes,
      constantBytes: this.store.bytes,
      scratchBytes: p.scratchBytes,
      lanes,
      sharedBytes: this.store.bytes + lanes * p.arenaBytes + this.workers * p.scratchBytes,
      fusedConcats: e.layout.fusedConcats,
      partlyFusedConcats: e.layout.partlyFusedConcats,
      fusedPools: e.layout.fusedPools,
    };
  }

  lastProfile(): SessionProfile | null {
    return this.profiled;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.pool?.destroy();
    this.pool = null;
    this.store.free();
  }

  /** Validate `x` and return (making if new) the plan of its shape. */
  private check(x: Tensor | null, shapeOnly?: readonly number[]): Entry {
    const where = shapeOnly === undefined ? 'session.run' : 'session.plan';
    if (shapeOnly === undefined && !(x instanceof Tensor)) throw invalidType(where, 'x', 'a Tensor [N, C, H, W]', x);
    const shape = shapeOnly ?? x!.shape;
    const c = this.channels === null ? 'C' : String(this.channels);
    if (shape.length !== 4) {
      throw shapeMismatch(where, `expected an input of rank 4 [N, ${c}, H, W] but received ${formatShape(shape)} (rank ${shape.length})`);
    }
    if (this.channels !== null && shape[1] !== this.channels) {
      throw shapeMismatch(where, `expected ${this.channels} input channels [N, ${c}, H, W] but received ${formatShape(shape)}`);
    }
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw shapeMismatch(where, `expected positive dimensions but received ${formatShape(shape)}`);
    const planShape = this.batchMixing ? shape.slice() : [1, ...shape.slice(1)];
    if (sizeOf(planShape) * 4 > MAX_BYTES - HEADROOM) throw tooLarge(shape, sizeOf(planShape) * 4, MAX_BYTES - HEADROOM);
    const key = formatShape(planShape);
    let e = this.entries.get(key);
    if (e === undefined) {
      const graph = this.graphFor(planShape);
      const layout = buildPlan(graph, planShape, this.store, {
        participants: this.workers, blocksPerParticipant: this.opts.blocksPerWorker, precision: this.opts.precision, fuseConcat: this.opts.fuseConcat,
        fusePool: this.opts.fusePool,
      });
      e = { layout, planRef: this.postPlan(layout.plan), wholeBatch: this.batchMixing };
      this.entries.set(key, e);
    }
    const free = MAX_BYTES - HEADROOM - this.memory.allocatedBytes - RESERVED_BYTES;
    const have = this.lanes.reduce((s, l) => s + l.arenaBytes, 0);
    if (e.layout.plan.arenaBytes > free + have) throw tooLarge(shape, e.layout.plan.arenaBytes, free + have);
    return e;
  }

  /** Serialize `plan` once into the shared memory (see {@link PlanRef}). */
  private postPlan(plan: Plan): PlanRef {
    const bytes = v8.serialize(plan);
    const offset = this.memory.alloc(bytes.length);
    new Uint8Array(this.memory.memory.buffer, offset, bytes.length).set(bytes);
    return { id: this.entries.size + 1, offset, bytes: bytes.length };
  }

  /** The graph for a plan shape: specialized models are re-imported per H×W. */
  private graphFor(shape: readonly number[]): Graph {
    const declared = this.model.graph.inputs[0]!.shape;
    const fixed = declared.slice(2).some((d, i) => d !== null && d !== shape[2 + i]);
    if (!fixed || this.model.specialize === undefined) return this.graph;
    const key = `${shape[2]}x${shape[3]}`;
    let g = this.graphs.get(key);
    if (g === undefined) {
      g = optimizeGraph(this.model.specialize(shape).graph);
      this.graphs.set(key, g);
    }
    return g;
  }

  private maxLanes(arenaBytes: number): number {
    const free = MAX_BYTES - HEADROOM - this.memory.allocatedBytes + this.lanes.reduce((s, l) => s + l.arenaBytes, 0);
    return Math.max(1, Math.floor(free / Math.max(arenaBytes, 1)));
  }

  /** Make lanes [0, n) and the worker scratch slots big enough for `layout`. */
  private provision(layout: PlanLayout, n: number): void {
    const p = layout.plan;
    const words = controlWords(p.steps.length);
    try {
      for (let i = 0; i < n; i++) {
        let lane = this.lanes[i];
        if (lane === undefined) {
          lane = { arena: -1, arenaBytes: 0, control: -1, controlWords: 0 };
          this.lanes.push(lane);
        }
        if (lane.arenaBytes < p.arenaBytes) {
          if (lane.arena >= 0) this.memory.free(lane.arena);
          lane.arena = -1;
          lane.arenaBytes = 0;
          lane.arena = this.memory.alloc(p.arenaBytes);
          lane.arenaBytes = p.arenaBytes;
        }
        if (lane.controlWords < words) {
          if (lane.control >= 0) this.memory.free(lane.control);
          lane.control = this.memory.alloc(words * 4);
          lane.controlWords = words;
        }
      }
      for (let i = 0; this.opts.profile && i < n; i++) {
        let st = this.stamps[i];
        if (st === undefined) {
          st = { offset: -1, entries: 0 };
          this.stamps.push(st);
        }
        if (st.entries < p.steps.length + 1) {
          if (st.offset >= 0) this.memory.free(st.offset);
          st.offset = this.memory.alloc((p.steps.length + 1) * 8);
          st.entries = p.steps.length + 1;
        }
      }
      for (let i = 0; i < this.workers; i++) {
        let s = this.slots[i];
        if (s === undefined) {
          s = { offset: -1, bytes: 0 };
          this.slots.push(s);
        }
        if (s.bytes < p.scratchBytes) {
          if (s.offset >= 0) this.memory.free(s.offset);
          s.bytes = Math.ceil(p.scratchBytes / 65536) * 65536;
          s.offset = this.memory.alloc(s.bytes);
        }
      }
    } catch (e) {
      if (e instanceof RangeError) throw tooLarge(layout.inputShape, p.arenaBytes * n, MAX_BYTES - this.memory.allocatedBytes);
      throw e;
    }
  }

  private async execute(x: Tensor, entry: Entry): Promise<Record<string, Tensor>> {
    // Runs queued before close() still run: close() waits for them before it stops the pool.
    if (this.pool === null) throw new UnetError(ErrorCode.CLOSED, `session.run: the session of ${this.model.meta.name} is closed`);
    const { layout } = entry;
    const n = x.shape[0]!;
    const images = entry.wholeBatch ? 1 : n;
    const lanes = Math.min(images, this.workers, this.maxLanes(layout.plan.arenaBytes));
    this.provision(layout, lanes);
    const results: Record<string, Tensor> = {};
    for (const o of layout.outputs) results[o.name] = new Tensor(entry.wholeBatch ? o.shape : [n, ...o.shape.slice(1)]);
    const perImageIn = layout.input.floats;
    const state = { next: 0, failed: null as unknown };
    // Whole images on `lanes` lanes while every lane gets one; the remainder (and a single image) runs one image at
    // a time with every worker on it, so no worker idles at the end of an odd batch.
    const parallel = lanes > 1 ? images - (images % lanes) : 0;
    const runImage = async (l: number, img: number, participants: number): Promise<void> => {
      const lane = this.lanes[l]!;
      // Input in, run, outputs out (views re-derived: the memory may have grown).
      this.memory.f32(lane.arena + layout.input.offset, perImageIn).set(x.data.subarray(img * perImageIn, (img + 1) * perImageIn));
      await this.runLane(layout, entry.planRef, lane, participants, l, state);
      if (state.failed !== null) return;
      for (const o of layout.outputs) {
        const len = sizeOf(o.shape);
        results[o.name]!.data.set(this.memory.f32((o.ref.a === 1 ? lane.arena : 0) + o.ref.o, len), img * len);
      }
    };
    const laneLoop = async (l: number): Promise<void> => {
      for (;;) {
        if (state.failed !== null) return;
        const img = state.next++;
        if (img >= parallel) return;
        await runImage(l, img, 1);
      }
    };
    await Promise.all(Array.from({ length: parallel > 0 ? lanes : 0 }, (_, l) => laneLoop(l)));
    for (let img = parallel; img < images && state.failed === null; img++) await runImage(0, img, this.workers);
    if (state.failed !== null) {
      const cause = state.failed as Error;
      throw new UnetError(
        ErrorCode.WORKER,
        `session.run: a worker failed while running ${this.model.meta.name} on ${formatShape(x.shape)} (${cause?.message ?? String(cause)}); ` +
          'the run was abandoned and the pool replaces the worker',
        { cause },
      );
    }
    return results;
  }

  /** One image on one lane with `participants` tasks; the first failure aborts the lane's other participants. */
  private async runLane(layout: PlanLayout, planRef: PlanRef, lane: Lane, participants: number, laneIndex: number, state: { failed: unknown }): Promise<void> {
    const words = controlWords(layout.plan.steps.length);
    const ctl = this.memory.i32(lane.control, words);
    ctl.fill(0);
    const memoryBytes = this.memory.buffer.byteLength;
    const exitAt = this.pendingExit;
    this.pendingExit = -1;
    const tasks: Promise<unknown>[] = [];
    for (let i = 0; i < participants; i++) {
      const slot = this.slots[participants === 1 ? laneIndex : i]!;
      const task: RunTask = {
        plan: planRef, arena: lane.arena, control: lane.control, scratch: slot.offset, scratchBytes: slot.bytes,
        memoryBytes, spin: this.spin,
        exitAtStep: i === 0 ? exitAt : -1, profile: i === 0 && this.opts.profile ? this.stamps[laneIndex]!.offset : 0,
      };
      tasks.push(
        this.pool!.run(task).catch((e: unknown) => {
          // Primary failure: stop the other participants (they check the flag while waiting).
          // A participant that saw the flag reports 'run aborted'; keep the error that caused it.
          if (state.failed === null || (isAbort(state.failed) && !isAbort(e))) state.failed = e;
          const c = this.memory.i32(lane.control, words);
          Atomics.store(c, CTRL_ABORT, 1);
          for (let s = CTRL_STEPS; s < words; s++) Atomics.notify(c, s);
        }),
      );
    }
    await Promise.all(tasks);
    if (this.opts.profile && state.failed === null) this.profiled = this.readProfile(layout, laneIndex, participants);
  }

  /** The step times participant 0 of lane `laneIndex` recorded. */
  private readProfile(layout: PlanLayout, laneIndex: number, participants: number): SessionProfile {
    const n = layout.plan.steps.length;
    const t = new Float64Array(this.memory.buffer, this.stamps[laneIndex]!.offset, n + 1);
    const steps = layout.stepInfo.map((info, s) => ({ ...info, ms: t[s + 1]! - t[s]! }));
    return { inputShape: layout.inputShape, participants, steps, totalMs: t[n]! - t[0]!, fusedConcats: layout.fusedConcats, fusedPools: layout.fusedPools };
  }
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.message.includes('run aborted');
}


function tooLarge(shape: readonly number[], need: number, have: number): UnetRangeError {
  return new UnetRangeError(
    ErrorCode.INPUT_TOO_LARGE,
    `session.run: input ${formatShape(shape)} needs ${need} bytes of activations per image but the 4 GiB wasm32 memory has ` +
      `${Math.max(0, have)} left; split the image into tiles (createPipeline tiles large images: tileSize, tileOverlap)`,
  );
}

/** True when a node combines values across the batch axis (then a batch cannot be split into images). */
function mixesBatch(graph: Graph): boolean {
  for (const n of graph.nodes) {
    if (n.op === 'concat' || n.op === 'softmax') {
      const rank = 4;
      try {
        if (normalizeAxis(nodeLabel(n), n.attrs.axis, rank) === 0) return true;
      } catch {
        return true;
      }
    }
  }
  return false;
}
