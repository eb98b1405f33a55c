// Makes samples/figures/quickstart.png for README.md: an input image next to the mask and the overlay that
// `unet segment` writes for it with the embedded default model. Run after `npm install`:
//   node tools/readme-figure.mjs [samples/nuclei-clustered-dapi.png]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';

const input = process.argv[2] ?? 'samples/nuclei-clustered-dapi.png';
const stem = path.basename(input, path.extname(input));
const out = await mkdtemp(path.join(tmpdir(), 'unet-figure-'));
try {
  execFileSync(process.execPath, ['dist/src/cli/main.js', 'segment', input, '-o', out, '--output', 'mask,overlay', '--overlay-format', 'png'], { stdio: 'inherit' });
  const height = 300;
  const panels = await Promise.all(
    [input, path.join(out, `${stem}.mask.png`), path.join(out, `${stem}.overlay.png`)].map((f) =>
      sharp(f).resize({ height }).toColourspace('srgb').removeAlpha().png().toBuffer({ resolveWithObject: true }),
    ),
  );
  const gap = 8;
  const width = panels.reduce((w, p) => w + p.info.width, 0) + gap * (panels.length - 1);
  let left = 0;
  const composite = panels.map((p) => {
    const c = { input: p.data, left, top: 0 };
    left += p.info.width + gap;
    return c;
  });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composite)
    .png({ compressionLevel: 9, palette: true, colours: 128 })
    .toFile('samples/figures/quickstart.png');
  console.log(`samples/figures/quickstart.png ${width}×${height}`);
} finally {
  await rm(out, { recursive: true, force: true });
}
