#!/usr/bin/env node
/**
 * Compile the AssemblyScript kernels (src/kernels/wasm) into two modules under build/:
 *   build/kernels-relaxed.wasm  relaxed-SIMD (f32x4.relaxed_madd FMA)
 *   build/kernels-simd.wasm     plain SIMD128 (mul + add), for engines without relaxed SIMD
 * Both import a shared `env.memory` (maximum 65536 pages = 4 GiB) and use no runtime heap.
 * Runs from `npm run build:wasm` (and so from `npm install` via `prepare`); needs no network.
 */
import asc from 'assemblyscript/asc';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src/kernels/wasm/index.ts');
const outDir = path.join(root, 'build');
await mkdir(outDir, { recursive: true });

const common = [
  entry,
  '-O3', '--noAssert', '--runtime', 'stub', '--use', 'abort=',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
  '--enable', 'simd', '--enable', 'relaxed-simd', '--enable', 'threads',
  '--memoryBase', '0', '--noExportMemory',
];

for (const [name, relaxed] of [['kernels-relaxed', 1], ['kernels-simd', 0]]) {
  const { error, stderr } = await asc.main([
    ...common,
    '--use', `RELAXED=${relaxed}`,
    '--outFile', path.join(outDir, `${name}.wasm`),
    ...(process.env.WASM_TEXT ? ['--textFile', path.join(outDir, `${name}.wat`)] : []),
  ]);
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build-wasm: ${name} failed: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`build-wasm: build/${name}.wasm\n`);
}
