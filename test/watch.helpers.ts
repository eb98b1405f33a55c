/**
 * Helpers of the folder-watching tests: temp folders, small test images, polling for a condition, reading the
 * ledger.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LEDGER_FILE, type LedgerRecord } from '../src/watch/ledger.js';
import { encodePicture } from './pipeline.helpers.js';

/** A fresh temp folder. */
export function tempDir(prefix = 'unet-watch-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A small PNG; `seed` varies the content. */
export function png(width = 24, height = 20, seed = 1): Promise<Buffer> {
  return encodePicture(width, height, 'png', seed);
}

/** Poll `cond` every 25 ms until it holds; rejects with `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every line of the ledger of `outDir` (parsed; a torn last line is left out). */
export function ledgerLines(outDir: string): LedgerRecord[] {
  const file = path.join(outDir, LEDGER_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LedgerRecord];
      } catch {
        return [];
      }
    });
}

/** Processing runs per input path: distinct (path, at) pairs (re-verified records keep their `at`). */
export function processedCounts(outDir: string): Map<string, number> {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const r of ledgerLines(outDir)) {
    const key = `${r.path}\u0000${r.at}`;
    if (seen.has(key)) continue;
    seen.add(key);
    counts.set(r.path, (counts.get(r.path) ?? 0) + 1);
  }
  return counts;
}

/** Files under `dir`, relative, sorted (hidden ones included). */
export function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

/** Temporary output names left anywhere under `dir`. */
export function tempFiles(dir: string): string[] {
  return listTree(dir).filter((f) => path.basename(f).includes('.unet-tmp-'));
}
