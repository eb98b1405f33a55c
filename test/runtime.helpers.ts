/**
 * Helpers of the runtime tests. The pooled session runs its workers from the compiled package
 * (dist/workers/session.js, built by `npm install`/`npm run build`); `ensureBuilt` rebuilds it when a source the
 * workers load is newer than the build, so the tests always exercise the code under test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runGraph } from '../src/graph/execute.js';
import { optimizeGraph } from '../src/graph/passes.js';
import '../src/kernels/backend.js';
import type { Model } from '../src/models/model.js';
import { defaultMeta } from '../src/models/model.js';
import { buildUnet } from '../src/models/unet.js';
import type { UnetConfig } from '../src/models/unet.js';
import { Tensor } from '../src/tensor/tensor.js';

const ROOT = join(import.meta.dirname, '..');

function newestSource(dirs: string[]): number {
  let t = 0;
  for (const d of dirs) {
    const abs = join(ROOT, d);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs, { recursive: true }) as string[]) {
      if (f.endsWith('.ts') && !f.includes('wasm/')) t = Math.max(t, statSync(join(abs, f)).mtimeMs);
    }
  }
  return t;
}

/** Build dist/ with tsc when the worker entry is missing or older than the sources it loads. */
export function ensureBuilt(): void {
  const entry = join(ROOT, 'dist', 'workers', 'session.js');
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  if (built >= newestSource(['src/runtime', 'src/kernels', 'src/graph', 'src/ops', 'src/tensor', 'workers'])) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'pipe' });
  } catch {
    // tsc still emits when some unrelated file has a type error; the session's own files are checked by CI.
  }
}

/** A milesial U-Net with seeded random weights as a Model. */
export function unetModel(config: UnetConfig & { inChannels: number; classes: number }, seed = 1): Model {
  return {
    graph: buildUnet(config, { seed }),
    architecture: null,
    meta: defaultMeta(config.inChannels, config.classes, `unet-b${config.base}`),
    source: { format: 'builder', path: null },
  };
}

/** A deterministic input in [-1, 1]. */
export function input(shape: number[], phase = 0): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sin(i * 0.618 + phase) * Math.cos(i * 0.0013);
  return t;
}

/** The oracle: the single-thread executor on the same (folded and fused) graph with the same wasm kernels. */
export function oracle(model: Model, x: Tensor): Record<string, Tensor> {
  const declared = model.graph.inputs[0]!.shape;
  const fits = declared.length === x.shape.length && declared.every((d, i) => i === 0 || d === null || d === x.shape[i]);
  const m = !fits && model.specialize ? model.specialize([1, ...x.shape.slice(1)]) : model;
  const graph = optimizeGraph(m.graph);
  // Run image by image, so fixed-batch graphs take any batch (as the session does).
  const n = x.shape[0]!;
  const per = x.size / n;
  const parts: Record<string, Float32Array[]> = {};
  let shapes: Record<string, number[]> = {};
  for (let i = 0; i < n; i++) {
    const xi = new Tensor([1, ...x.shape.slice(1)], x.data.slice(i * per, (i + 1) * per));
    const out = runGraph(graph, xi, { backend: 'wasm' });
    shapes = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, [n, ...t.shape.slice(1)]]));
    for (const [k, t] of Object.entries(out)) (parts[k] ??= []).push(t.data);
  }
  const res: Record<string, Tensor> = {};
  for (const [k, list] of Object.entries(parts)) {
    const data = new Float32Array(list.reduce((s, a) => s + a.length, 0));
    let o = 0;
    for (const a of list) {
      data.set(a, o);
      o += a.length;
    }
    res[k] = new Tensor(shapes[k]!, data);
  }
  return res;
}

/** Index of the first differing element, or -1 when the arrays are bit-identical. */
export function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/** max |a - b| / max |b|. */
export function relError(a: Float32Array, b: Float32Array): number {
  let e = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return e / m;
}

/** A float32 fixture file. */
export function readF32(path: string, shape: number[]): Tensor {
  const b = readFileSync(path);
  return new Tensor(shape, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
}
