/**
 * Benchmark dispatcher: `npm run bench -- <name> [args…]` (compiled to dist/bench/main.js).
 * Benchmarks are never part of the test suite; each prints its own table.
 */
const benches: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  kernels: () => import('./kernels.js'),
  winograd: () => import('./winograd.js'),
  pipeline: () => import('./pipeline.js'),
  unet: () => import('./unet.js'),
  profile: () => import('./profile.js'),
};

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !(name in benches)) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [args]\n`);
  process.exit(name === undefined ? 0 : 1);
}
const mod = await benches[name]!();
await mod.main(args);
