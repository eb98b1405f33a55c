/**
 * Per-layer profile of the pooled session: mean wall time of every plan step over `--iters` runs after a
 * warm-up, with each conv's GFLOPS and each step's share, a totals line, the time per op and the five slowest
 * steps.
 *
 *   npm run bench -- profile [--model <path>] [--size HxW] [--base N] [--workers N] [--precision exact|fast]
 *                            [--iters N] [--no-fuse-concat] [--no-fuse-pool] [--json]
 *
 * Default network: the `unet` benchmark's milesial U-Net (base 16, depth 4, transpose, seeded random weights) at
 * 256×256 on one worker, precision 'fast'. `--no-fuse-concat` plans every concat as a copy and `--no-fuse-pool` every max pool as a step of its own (for comparison).
 */
import { parseSize } from '../src/cli/commands/inspect.js';
import { loadModel } from '../src/models/load.js';
import type { Model } from '../src/models/model.js';
import { formatProfile, profileByOp, profileSession, randomInput } from '../src/runtime/profile.js';
import { createSession } from '../src/runtime/session.js';
import { benchUnet } from './unet.js';

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function intArg(args: string[], name: string, fallback: number, min: number): number {
  const v = arg(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`bench profile: expected ${name} to be an integer >= ${min} but received ${JSON.stringify(v)}`);
  return n;
}

export async function main(args: string[]): Promise<void> {
  const modelPath = arg(args, '--model');
  const base = intArg(args, '--base', 16, 1);
  const workers = intArg(args, '--workers', 1, 1);
  const iterations = intArg(args, '--iters', 10, 1);
  const precision = arg(args, '--precision') ?? 'fast';
  if (precision !== 'exact' && precision !== 'fast') {
    throw new RangeError(`bench profile: expected --precision to be 'exact' or 'fast' but received ${JSON.stringify(precision)}`);
  }
  const model: Model = modelPath === undefined ? benchUnet(base) : await loadModel(modelPath);
  const sizeArg = arg(args, '--size');
  const [h, w] = sizeArg !== undefined ? parseSize(sizeArg) : modelPath === undefined ? [256, 256] : model.meta.input.size ?? [256, 256];
  const channels = model.graph.inputs[0]!.shape[1] ?? model.meta.input.channels;
  const fuseConcat = !args.includes('--no-fuse-concat');
  const fusePool = !args.includes('--no-fuse-pool');

  const session = await createSession(model, { workers, precision, profile: true, fuseConcat, fusePool });
  try {
    const x = randomInput([1, channels, h, w], 1);
    const plan = session.plan(x.shape);
    const p = await profileSession(session, x, { warmup: 3, iterations });
    if (args.includes('--json')) {
      process.stdout.write(JSON.stringify({ bench: 'profile', model: model.meta.name, precision, fuseConcat, fusePool, arenaBytes: plan.arenaBytes, ...p, byOp: profileByOp(p) }) + '\n');
    } else {
      process.stdout.write(`model: ${model.meta.name}, precision ${precision}, concat fusion ${fuseConcat ? 'on' : 'off'}, pool fusion ${fusePool ? 'on' : 'off'}, ` +
        `planned arena ${(plan.arenaBytes / 2 ** 20).toFixed(2)} MiB\n`);
      process.stdout.write(formatProfile(p));
    }
  } finally {
    await session.close();
  }
}
