/**
 * The embedded default model through the public API on the committed samples: every sample's mask is compared
 * with its ground truth (samples/ground-truth/<stem>.mask.png) by Dice, and the default (fast, Winograd) masks
 * with the exact (direct convolution) ones.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './runtime.helpers.js';
import { createPipeline } from '../src/index.js';

// The engine is the pooled session, whose workers run from the compiled package.
beforeAll(() => ensureBuilt(), 300_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = path.join(ROOT, 'samples');
const TRUTH = path.join(SAMPLES, 'ground-truth');
const inputs = (): string[] => readdirSync(SAMPLES).filter((f) => /\.(png|jpe?g|tiff?|webp)$/i.test(f));

describe('default model on samples/', () => {
  it('the package ships the model', () => {
    expect(existsSync(path.join(ROOT, 'weights', 'model.json'))).toBe(true);
    expect(existsSync(path.join(ROOT, 'weights', 'model.safetensors'))).toBe(true);
  });

  it('loads from the package (not the cwd) and reaches Dice >= 0.85 on every sample', async () => {
    const stems = inputs()
      .filter((f) => existsSync(path.join(TRUTH, `${f.replace(/\.[^.]+$/, '')}.mask.png`)));
    expect(stems.length).toBeGreaterThan(0);
    const cwd = process.cwd();
    process.chdir(path.join(ROOT, 'test'));
    let pipeline;
    try {
      pipeline = await createPipeline();
    } finally {
      process.chdir(cwd);
    }
    const scores: Record<string, number> = {};
    for (const f of stems) {
      const r = await pipeline.segment(path.join(SAMPLES, f));
      const truth = await sharp(path.join(TRUTH, `${f.replace(/\.[^.]+$/, '')}.mask.png`)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      expect([truth.info.width, truth.info.height]).toEqual([r.width, r.height]);
      let inter = 0;
      let a = 0;
      let b = 0;
      for (let i = 0; i < r.mask.length; i++) {
        const p = r.mask[i]! > 127;
        const t = truth.data[i]! > 127;
        if (p) a++;
        if (t) b++;
        if (p && t) inter++;
      }
      scores[f] = a + b === 0 ? 1 : (2 * inter) / (a + b);
    }
    await pipeline.close();
    console.log('Dice per sample:', Object.entries(scores).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', '));
    for (const [f, d] of Object.entries(scores)) expect([f, d >= 0.85]).toEqual([f, true]);
  }, 300_000);

  it('fast (Winograd) and exact masks agree on >= 99.99 % of the pixels of every sample', async () => {
    const fast = await createPipeline({ precision: 'fast' });
    const exact = await createPipeline({ precision: 'exact' });
    try {
      let total = 0;
      let differ = 0;
      for (const f of inputs()) {
        const a = await fast.segment(path.join(SAMPLES, f));
        const b = await exact.segment(path.join(SAMPLES, f));
        let d = 0;
        for (let i = 0; i < a.mask.length; i++) if (a.mask[i] !== b.mask[i]) d++;
        expect([f, d / a.mask.length <= 1e-4]).toEqual([f, true]);
        total += a.mask.length;
        differ += d;
      }
      console.log(`fast vs exact: ${differ} of ${total} mask pixels differ (${((100 * differ) / total).toFixed(5)} %)`);
    } finally {
      await fast.close();
      await exact.close();
    }
  }, 300_000);
});
