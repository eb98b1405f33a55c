/**
 * `unet inspect <model>`: every layer with its output shape, parameters and FLOPs for one input size, and totals.
 * `--json` prints the same as one JSON document. `--profile` also runs the model on a random image on a worker
 * pool (`--workers`, `--precision`) and prints the mean time of every plan step over `--iters` runs.
 */
import type { Argv } from 'yargs';
import { graphForShape } from '../../graph/execute.js';
import { summarizeGraph, type GraphSummary } from '../../graph/summary.js';
import { loadModel } from '../../models/load.js';
import type { Model } from '../../models/model.js';
import type { ModelProfile } from '../../runtime/profile.js';
import { UsageError } from '../errors.js';

export const command = 'inspect <model>';
export const describe = 'Print the layers of a model with output shapes, parameters and FLOPs';

/** Parsed arguments of `unet inspect`. */
export interface InspectArgs {
  model: string;
  size?: [number, number];
  batch: number;
  json: boolean;
  profile?: boolean;
  workers?: number;
  precision?: 'exact' | 'fast';
  iters?: number;
}

/**
 * Parse `--size`: `HxW` (e.g. `256x320`) or one number for a square.
 * @throws {UsageError} for anything else
 */
export function parseSize(v: unknown): [number, number] {
  const s = String(v).trim();
  const m = /^(\d+)(?:\s*[x×,]\s*(\d+))?$/i.exec(s);
  const h = m ? Number(m[1]) : NaN;
  const w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(h >= 1 && w >= 1 && h <= 1 << 16 && w <= 1 << 16)) {
    throw new UsageError(`Expected --size as HxW (e.g. 256x256) with sides in 1..65536 but received ${JSON.stringify(s)}`);
  }
  return [h, w];
}

export function builder(y: Argv): Argv<InspectArgs> {
  return y
    .positional('model', { describe: 'model folder, model.json, .safetensors, .pth or .onnx', type: 'string', demandOption: true })
    .option('size', { alias: 's', describe: "input size HxW (default: the model's size, else 256x256)", type: 'string', coerce: parseSize })
    .option('batch', { alias: 'b', describe: 'batch size', type: 'number', default: 1 })
    .option('json', { describe: 'print JSON instead of a table', type: 'boolean', default: false })
    .option('profile', { describe: 'run one random image and time every layer (mean over --iters runs)', type: 'boolean', default: false })
    .option('workers', { alias: 'w', describe: 'worker threads of the profiled run (default: one per core)', type: 'number' })
    .option('precision', { describe: "convolutions of the profiled run: 'fast' (Winograd where faster) or 'exact'", type: 'string', choices: ['exact', 'fast'], default: 'fast' })
    .option('iters', { describe: 'timed runs of --profile (after 2 warm-up runs)', type: 'number', default: 10 })
    .check((argv) => {
      if (!Number.isInteger(argv.batch) || (argv.batch as number) < 1) throw new UsageError(`Expected --batch to be an integer >= 1 but received ${argv.batch}`);
      if (argv.workers !== undefined && (!Number.isInteger(argv.workers) || (argv.workers as number) < 1 || (argv.workers as number) > 256)) {
        throw new UsageError(`Expected --workers to be an integer from 1 to 256 but received ${argv.workers}`);
      }
      if (!Number.isInteger(argv.iters) || (argv.iters as number) < 1) throw new UsageError(`Expected --iters to be an integer >= 1 but received ${argv.iters}`);
      if (argv.profile && argv.batch !== 1) throw new UsageError(`Expected --batch 1 with --profile (it times one image) but received ${argv.batch}`);
      return true;
    }) as unknown as Argv<InspectArgs>;
}

/** The inspection result of one model. */
export interface InspectReport {
  readonly model: { readonly name: string; readonly format: string; readonly path: string | null; readonly architecture: Model['architecture'] };
  readonly summary: GraphSummary;
  /** With `--profile`: the per-step times. */
  readonly profile?: ModelProfile;
}

/** Summarize a loaded model for `[batch, channels, h, w]`. */
export function inspectModel(model: Model, size?: [number, number], batch = 1): InspectReport {
  const [h, w] = size ?? model.meta.input.size ?? [256, 256];
  const input = model.graph.inputs[0];
  const channels = (input?.shape[1] ?? null) ?? model.meta.input.channels;
  const shape = [batch, channels, h, w];
  const summary = summarizeGraph(graphForShape(model, shape), shape);
  return { model: { name: model.meta.name, format: model.source.format, path: model.source.path, architecture: model.architecture }, summary };
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
function fmtFlops(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** The human-readable table. */
export function formatInspect(r: InspectReport): string {
  const s = r.summary;
  const rows = s.layers.map((l) => [l.name, l.op, `[${l.outputShape.join(', ')}]`, l.params ? fmtInt(l.params) : '', l.flops ? fmtFlops(l.flops) : '']);
  const head = ['layer', 'op', 'output shape', 'params', 'FLOPs'];
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k]!.length)));
  const line = (cells: string[]) => cells.map((c, k) => (k >= 3 ? c.padStart(widths[k]!) : c.padEnd(widths[k]!))).join('  ').trimEnd();
  const a = r.model.architecture;
  const lines = [
    `model: ${r.model.name} (${r.model.format}${r.model.path ? `, ${r.model.path}` : ''})`,
    a ? `architecture: U-Net, ${a.inChannels} in, ${a.classes} classes, base ${a.base}, depth ${a.depth}, up ${a.upMode}` : 'architecture: imported graph',
    `input: [${s.inputShape.join(', ')}]`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `layers: ${s.layers.length}   parameters: ${fmtInt(s.totalParams)}   weights: ${fmtInt(s.totalWeights)} (${(s.totalWeights * 4 / 2 ** 20).toFixed(2)} MiB as f32)`,
    `FLOPs: ${fmtFlops(s.totalFlops)} (${fmtInt(s.totalFlops)})   largest activation: ${fmtInt(s.peakActivation)} values (${(s.peakActivation * 4 / 2 ** 20).toFixed(2)} MiB)`,
  ];
  return lines.join('\n') + '\n';
}

/** Run the command, writing to `write` (stdout by default). */
export async function runInspect(args: InspectArgs, write: (s: string) => void = (s) => void process.stdout.write(s)): Promise<InspectReport> {
  const model = await loadModel(args.model);
  let report = inspectModel(model, args.size, args.batch);
  if (args.profile) report = { ...report, profile: await profileModel(model, report.summary.inputShape, args) };
  write(args.json ? JSON.stringify(report, null, 2) + '\n' : formatInspect(report) + (report.profile ? '\n' + (await import('../../runtime/profile.js')).formatProfile(report.profile) : ''));
  return report;
}

/** Time every plan step of `model` on one random image of `shape` (the session is loaded only here). */
async function profileModel(model: Model, shape: readonly number[], args: InspectArgs): Promise<ModelProfile> {
  const { createSession } = await import('../../runtime/session.js');
  const { profileSession, randomInput } = await import('../../runtime/profile.js');
  const session = await createSession(model, { workers: args.workers, precision: args.precision ?? 'fast', profile: true });
  try {
    return await profileSession(session, randomInput(shape, 1), { warmup: 2, iterations: args.iters ?? 10 });
  } finally {
    await session.close();
  }
}

export async function handler(argv: InspectArgs): Promise<void> {
  await runInspect(argv);
}
