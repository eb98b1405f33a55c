/**
 * Pipeline throughput: N images of 512×512 (PNG, in memory) through createPipeline + segmentMany + mask encoding,
 * with 1 and 2 workers; images/s and peak RSS (after 10 images and at the end — it must stay flat).
 *
 *   npm run bench -- pipeline [--images 100] [--size 512] [--workers 1,2] [--model <path>]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createPipeline } from '../src/pipeline/pipeline.js';
import { DEFAULT_MODEL_PATH } from '../src/pipeline/options.js';
import { encodeOutput } from '../src/pipeline/writers.js';

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

/** Synthetic fluorescence-like frames: dark background, bright blobs, noise. */
async function makeImages(count: number, size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let k = 0; k < count; k++) {
    const px = Buffer.alloc(size * size);
    const blobs = Array.from({ length: 25 }, () => ({ x: rnd() * size, y: rnd() * size, r: 6 + rnd() * 14 }));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let v = 20 + rnd() * 12;
        for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r * b.r) v += 150;
        px[y * size + x] = Math.min(255, v);
      }
    }
    out.push(await sharp(px, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer());
  }
  return out;
}

export async function main(args: string[]): Promise<void> {
  const images = Number(arg(args, 'images', '100'));
  const size = Number(arg(args, 'size', '512'));
  const workersList = arg(args, 'workers', '1,2').split(',').map(Number);
  const model = path.resolve(arg(args, 'model', DEFAULT_MODEL_PATH));
  if (!existsSync(model)) {
    process.stderr.write(`bench pipeline: no model at ${model}; pass --model <folder|model.json|.pth|.onnx>\n`);
    process.exitCode = 1;
    return;
  }
  const distinct = await makeImages(Math.min(images, 10), size);
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
  process.stdout.write(`pipeline: ${images} images of ${size}×${size}, model ${path.relative(process.cwd(), model) || model}\n`);
  process.stdout.write('| workers | images/s | ms/image | RSS after 10 | RSS after all | peak RSS |\n|---|---|---|---|---|---|\n');
  for (const workers of workersList) {
    const p = await createPipeline({ model, workers, outputs: ['mask'] });
    // Warm-up (wasm tiers up, pages fault in) before timing.
    for await (const _ of p.segmentMany(distinct.slice(0, 2))) void _;
    let done = 0;
    let peak = 0;
    let after10 = 0;
    const t0 = performance.now();
    function* inputs(): Generator<Buffer> {
      for (let i = 0; i < images; i++) yield distinct[i % distinct.length]!;
    }
    for await (const item of p.segmentMany(inputs(), { concurrency: workers + 1 })) {
      if (item.error) throw item.error;
      await encodeOutput('mask', item.result, { probBits: 8, overlayFormat: 'jpg', overlayOpacity: 0.5, output: p.meta.output, classes: p.classes });
      done++;
      const rss = process.memoryUsage.rss();
      peak = Math.max(peak, rss);
      if (done === 10) after10 = rss;
    }
    const secs = (performance.now() - t0) / 1000;
    const end = process.memoryUsage.rss();
    process.stdout.write(
      `| ${workers} | ${(done / secs).toFixed(2)} | ${((secs * 1000) / done).toFixed(0)} | ${mib(after10)} | ${mib(end)} | ${mib(peak)} |\n`,
    );
    await p.close();
  }
}
