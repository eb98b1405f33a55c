/** Shared helpers of the kernel tests: a seeded RNG and a tolerance comparison that reports the worst element. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * 2 - 1;
  return a;
}

export function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** Largest |a - b| / (atol + rtol·|b|); ≤ 1 means within tolerance. Also returns the max absolute error. */
export function compare(a: Float32Array, b: Float32Array, atol = 1e-4, rtol = 1e-4): { ratio: number; maxAbs: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let ratio = 0, maxAbs = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) return { ratio: Infinity, maxAbs: Infinity, at: i };
    if (Number.isNaN(d)) continue;
    const r = d / (atol + rtol * Math.abs(b[i]!));
    if (r > ratio) { ratio = r; at = i; }
    if (d > maxAbs) maxAbs = d;
  }
  return { ratio, maxAbs, at };
}
