/**
 * Tiling at photo scale: a 3000×2000 image run in 512-pixel tiles (overlap 64, linear blending) matches the same
 * image run in one piece, with no seams.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './runtime.helpers.js';
import { createPipeline } from '../src/pipeline/pipeline.js';
import { pictureRgb, tinyUnet } from './pipeline.helpers.js';

// The engine is the pooled session, whose workers run from the compiled package.
beforeAll(() => ensureBuilt(), 300_000);

describe('tiling a 3000×2000 image', () => {
  it('tiled (512, overlap 64) vs untiled: probabilities agree closely and masks almost everywhere', async () => {
    const W = 3000;
    const H = 2000;
    const png = await sharp(pictureRgb(W, H, 5), { raw: { width: W, height: H, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    // A small RGB U-Net (depth 3: receptive field ~70 px, larger than the 64-pixel overlap) keeps the run short.
    const model = tinyUnet({ inChannels: 3, base: 2, depth: 3, seed: 11 });
    const tiled = await createPipeline({ model, outputs: ['prob'], tile: 512, tileOverlap: 64 });
    const whole = await createPipeline({ model, outputs: ['prob'], tile: false });
    const a = await tiled.segment(png);
    const b = await whole.segment(png);
    await tiled.close();
    await whole.close();
    expect([a.width, a.height]).toEqual([W, H]);
    expect(a.network.tiles).toBe(7 * 5);
    expect(b.network.tiles).toBe(1);
    const pa = a.probabilities!;
    const pb = b.probabilities!;
    // Decide at the untiled median so both classes are present whatever the (untrained) weights do.
    const t = pb.slice().sort()[pb.length >> 1]!;
    let max = 0;
    let sum = 0;
    let flips = 0;
    for (let i = 0; i < pa.length; i++) {
      const d = Math.abs(pa[i]! - pb[i]!);
      if (d > max) max = d;
      sum += d;
      if (pa[i]! > t !== pb[i]! > t) flips++;
    }
    const mean = sum / pa.length;
    console.log(`tiled vs untiled 3000×2000: max |Δp| = ${max.toExponential(3)}, mean |Δp| = ${mean.toExponential(3)}, mask pixels differing at p > ${t.toFixed(4)}: ${flips} (${((100 * flips) / pa.length).toFixed(4)} %), ${a.network.tiles} tiles, tiled ${a.timings.total.toFixed(0)} ms, untiled ${b.timings.total.toFixed(0)} ms`);
    expect(mean).toBeLessThan(1e-3);
    expect(max).toBeLessThan(0.05);
    expect(flips / pa.length).toBeLessThan(1e-3);
  }, 300_000);
});
