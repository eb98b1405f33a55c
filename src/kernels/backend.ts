/**
 * The 'wasm' Backend: the functional ops' kernels on the WebAssembly SIMD engine.
 *
 * Inputs are plain Float32Arrays: arrays that already live in the engine's shared memory are used in place,
 * others are copied in, and results are copied out. Conv weights are packed once per (array, geometry) and
 * cached; the cached copy is checked against the array on every call, so mutating a weight array is safe.
 * Importing this module registers the backend and makes it the default (`setBackend('wasm')`).
 */
import type { Backend } from '../ops/backend.js';
import { registerBackend, setBackend } from '../ops/backend.js';
import type {
  ActivationParams,
  BinaryGeometry,
  ChannelGeometry,
  ConcatGeometry,
  Conv2dGeometry,
  ConvTranspose2dGeometry,
  InterpolateGeometry,
  PadGeometry,
  Pool2dGeometry,
} from '../ops/geometry.js';
import { linearAxis, nearestIndex, padSource } from '../ops/geometry.js';
import { ACTIVATIONS, compileKernels, KernelInstance, KernelMemory } from './index.js';
import { packConv2dWeights, packConvTranspose2dWeights, packedConv2dFloats, packedConvTranspose2dFloats } from './pack.js';
import { chooseConvAlgorithm, packedWinogradFloats, packWinogradWeights, winogradConv2d, type ConvPrecision } from './winograd.js';

interface Packed {
  readonly key: string;
  readonly off: number;
  /** Copy of the source weights the packing was made from (compared on every use). */
  readonly source: Uint32Array;
}

const f32 = Math.fround;

/** Options of {@link WasmBackend}. */
export interface WasmBackendOptions {
  /** Backend name (default 'wasm'). */
  readonly name?: string;
  /** Use the relaxed-SIMD build (default: when supported). */
  readonly relaxed?: boolean;
  /** Shared memory to use (default: a new one). */
  readonly memory?: KernelMemory;
  /**
   * 'exact' (default): every conv2d on the direct kernel. 'fast': 3×3 stride-1 convs on Winograd F(4×4,3×3)
   * where `chooseConvAlgorithm` picks it (larger rounding error, see ./winograd.ts).
   */
  readonly precision?: ConvPrecision;
}

/** A Backend over one KernelMemory and one KernelInstance (the calling thread's). */
export class WasmBackend implements Backend {
  readonly name: string;
  readonly memory: KernelMemory;
  readonly kernels: KernelInstance;
  private readonly packed = new WeakMap<Float32Array, Packed[]>();
  private readonly released = new FinalizationRegistry<number[]>((offs) => {
    for (const off of offs) this.memory.free(off);
  });

  private readonly precision: ConvPrecision;

  constructor(options: WasmBackendOptions = {}) {
    this.name = options.name ?? 'wasm';
    this.precision = options.precision ?? 'exact';
    this.memory = options.memory ?? new KernelMemory();
    this.kernels = new KernelInstance(compileKernels(options.relaxed), this.memory);
  }

  /** True when running the relaxed-SIMD (FMA) build. */
  get relaxed(): boolean {
    return this.kernels.relaxed;
  }

  conv2d(g: Conv2dGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array): void {
    if (chooseConvAlgorithm(g, { precision: this.precision }) === 'winograd') {
      const uOff = this.packedOffset(w, `w${g.outChannels}:${g.inChannels}`, packedWinogradFloats(g), (dst) => packWinogradWeights(g, w, dst));
      this.run([x, bias], out, ([xOff, bOff], oOff) => winogradConv2d(this.kernels, g, xOff!, uOff, bOff!, oOff));
      return;
    }
    const key = `c${g.groups}:${g.outChannels}:${g.inPerGroup}:${g.kernelH}:${g.kernelW}:${g.outPerGroup}`;
    const wOff = this.packedOffset(w, key, packedConv2dFloats(g), (dst) => packConv2dWeights(g, w, dst));
    this.run([x, bias], out, ([xOff, bOff], oOff) => this.kernels.conv2d(g, xOff!, wOff, bOff!, oOff));
  }

  convTranspose2d(g: ConvTranspose2dGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array): void {
    const key = `t${g.groups}:${g.inChannels}:${g.outPerGroup}:${g.kernelH}:${g.kernelW}`;
    const wOff = this.packedOffset(w, key, packedConvTranspose2dFloats(g), (dst) => packConvTranspose2dWeights(g, w, dst));
    this.run([x, bias], out, ([xOff, bOff], oOff) => this.kernels.convTranspose2d(g, xOff!, wOff, bOff!, oOff));
  }

  maxPool2d(g: Pool2dGeometry, x: Float32Array, out: Float32Array): void {
    this.run([x], out, ([xOff], oOff) =>
      this.kernels.exports.maxPool2d(xOff!, oOff, g.batch * g.channels, g.inH, g.inW, g.outH, g.outW, g.kernelH, g.kernelW,
        g.strideH, g.strideW, g.dilationH, g.dilationW, g.pad.top, g.pad.left, 0, g.outH));
  }

  avgPool2d(g: Pool2dGeometry, x: Float32Array, out: Float32Array, countIncludePad: boolean, divisorOverride: number): void {
    this.run([x], out, ([xOff], oOff) =>
      this.kernels.exports.avgPool2d(xOff!, oOff, g.batch * g.channels, g.inH, g.inW, g.outH, g.outW, g.kernelH, g.kernelW,
        g.strideH, g.strideW, g.pad.top, g.pad.left, countIncludePad ? 1 : 0, divisorOverride, 0, g.outH));
  }

  channelAffine(g: ChannelGeometry, x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array): void {
    this.run([x, scale, shift], out, ([xOff, sOff, tOff], oOff) =>
      this.kernels.exports.channelAffine(xOff!, sOff!, tOff!, oOff, g.batch, g.channels, g.spatial));
  }

  softmax(g: ChannelGeometry, x: Float32Array, out: Float32Array): void {
    this.run([x], out, ([xOff], oOff) => this.kernels.exports.softmax(xOff!, oOff, g.batch, g.channels, g.spatial));
  }

  activation(p: ActivationParams, x: Float32Array, out: Float32Array): void {
    this.run([x], out, ([xOff], oOff) => this.kernels.exports.activation(xOff!, oOff, p.size, ACTIVATIONS[p.kind], p.negativeSlope));
  }

  binary(g: BinaryGeometry, a: Float32Array, b: Float32Array, out: Float32Array): void {
    const [d0, d1, d2, d3] = g.shape;
    const [a0, a1, a2, a3] = g.aStrides;
    const [b0, b1, b2, b3] = g.bStrides;
    this.run([a, b], out, ([aOff, bOff], oOff) =>
      this.kernels.exports.binary(g.op === 'add' ? 0 : 1, aOff!, bOff!, oOff, d0, d1, d2, d3, a0, a1, a2, a3, b0, b1, b2, b3));
  }

  /** A plain copy per (image, input): typed-array `set` is a memcpy, no kernel needed. */
  concat(g: ConcatGeometry, inputs: readonly Float32Array[], out: Float32Array): void {
    const per = g.outChannels * g.spatial;
    for (let n = 0; n < g.batch; n++) {
      let o = n * per;
      for (let i = 0; i < inputs.length; i++) {
        const len = g.channels[i]! * g.spatial;
        out.set(inputs[i]!.subarray(n * len, (n + 1) * len), o);
        o += len;
      }
    }
  }

  pad(g: PadGeometry, x: Float32Array, out: Float32Array): void {
    const rows = new Int32Array(g.outH);
    const cols = new Int32Array(g.outW);
    for (let j = 0; j < g.outH; j++) rows[j] = padSource(j, g.pad.top, g.pad.bottom, g.inH, g.mode);
    for (let j = 0; j < g.outW; j++) cols[j] = padSource(j, g.pad.left, g.pad.right, g.inW, g.mode);
    this.gather(g.planes, g.inH, g.inW, g.outH, g.outW, x, out, rows, cols, g.mode === 'constant' ? g.value : 0);
  }

  interpolate(g: InterpolateGeometry, x: Float32Array, out: Float32Array): void {
    if (g.mode === 'nearest') {
      const rows = new Int32Array(g.outH);
      const cols = new Int32Array(g.outW);
      for (let d = 0; d < g.outH; d++) rows[d] = nearestIndex(d, g.inH, g.outH, g.scaleH);
      for (let d = 0; d < g.outW; d++) cols[d] = nearestIndex(d, g.inW, g.outW, g.scaleW);
      this.gather(g.planes, g.inH, g.inW, g.outH, g.outW, x, out, rows, cols, 0);
      return;
    }
    const ty = linearAxis(g.inH, g.outH, g.scaleH, g.alignCorners);
    const tx = linearAxis(g.inW, g.outW, g.scaleW, g.alignCorners);
    this.run([x, ty.i0, ty.i1, ty.l0, ty.l1, tx.i0, tx.i1, tx.l0, tx.l1], out, ([xOff, y0, y1, ly0, ly1, x0, x1, lx0, lx1], oOff) =>
      this.kernels.exports.bilinear(xOff!, oOff, g.planes, g.inH, g.inW, g.outH, g.outW, y0!, y1!, ly0!, ly1!, x0!, x1!, lx0!, lx1!));
  }

  private gather(planes: number, inH: number, inW: number, outH: number, outW: number, x: Float32Array, out: Float32Array,
    rows: Int32Array, cols: Int32Array, fill: number): void {
    // The longest run of consecutive source columns is copied with memory.copy.
    let runStart = -1, runLen = 0;
    for (let j = 0; j < outW;) {
      if (cols[j]! < 0) { j++; continue; }
      let k = j + 1;
      while (k < outW && cols[k] === cols[k - 1]! + 1) k++;
      if (k - j > runLen) { runStart = j; runLen = k - j; }
      j = k;
    }
    this.run([x, rows, cols], out, ([xOff, rOff, cOff], oOff) =>
      this.kernels.exports.gather2d(xOff!, oOff, planes, inH, inW, outH, outW, rOff!, cOff!, fill, runStart, runLen, runLen > 0 ? cols[runStart]! : 0));
  }

  /**
   * Run `fn` with every input (null → offset 0) and `out` addressable in the shared memory: arrays already in it
   * are passed in place, the others copied into temporary blocks that are freed afterwards.
   */
  private run(inputs: ReadonlyArray<Float32Array | Int32Array | null>, out: Float32Array, fn: (offs: number[], outOff: number) => void): void {
    const temps: number[] = [];
    try {
      const offs = inputs.map((a) => {
        if (a === null) return 0;
        if (this.memory.owns(a)) return a.byteOffset;
        const off = this.memory.alloc(a.byteLength);
        temps.push(off);
        return off;
      });
      const outOwned = this.memory.owns(out);
      let outOff = out.byteOffset;
      if (!outOwned) {
        outOff = this.memory.alloc(out.byteLength);
        temps.push(outOff);
      }
      // Copy after every allocation: growth replaces the buffer object.
      const buf = this.memory.buffer;
      inputs.forEach((a, i) => {
        if (a !== null && !this.memory.owns(a)) {
          new Uint8Array(buf, offs[i]!, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        }
      });
      fn(offs, outOff);
      if (!outOwned) out.set(new Float32Array(this.memory.buffer, outOff, out.length));
    } finally {
      for (const t of temps) this.memory.free(t);
    }
  }

  private packedOffset(w: Float32Array, key: string, floats: number, pack: (dst: Float32Array) => void): number {
    let list = this.packed.get(w);
    if (list === undefined) {
      list = [];
      this.packed.set(w, list);
    }
    const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
    for (const entry of list) {
      if (entry.key === key && sameBits(entry.source, bits)) return entry.off;
    }
    // A new key, or the weights changed: (re)pack.
    const stale = list.findIndex((e) => e.key === key);
    if (stale >= 0) {
      this.memory.free(list[stale]!.off);
      list.splice(stale, 1);
    }
    const off = this.memory.alloc(floats * 4);
    pack(this.memory.f32(off, floats));
    list.push({ key, off, source: bits.slice() });
    this.released.unregister(w);
    this.released.register(w, list.map((e) => e.off), w);
    return off;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// The index maps live with the rest of the geometry; re-exported for the session's plan.
export { padSource, nearestIndex, linearAxis } from '../ops/geometry.js';

/**
 * The process-wide wasm backend (main thread), registered as 'wasm' and made the default at import. `null` only
 * when the kernel modules are missing or cannot be compiled (then the reference backend stays the default and a
 * process warning says why).
 */
export const wasmBackend: WasmBackend = createDefault()!;

function createDefault(): WasmBackend | null {
  let b: WasmBackend;
  try {
    b = new WasmBackend();
  } catch (e) {
    process.emitWarning(`unet-pipeline: the wasm kernels are unavailable, using the reference kernels (${(e as Error).message})`);
    return null;
  }
  registerBackend(b);
  setBackend('wasm');
  return b;
}
