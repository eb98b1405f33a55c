/**
 * The engine's shared linear memory and its allocator.
 *
 * One `WebAssembly.Memory` with `shared: true` backs every tensor the kernels touch: its buffer is a
 * SharedArrayBuffer, so worker threads that instantiate the same compiled module over the same memory read and
 * write the same bytes. Allocation happens only here, on the JS side (the wasm modules have no heap):
 * a first-fit free list over [RESERVED_BYTES, top), 64-byte aligned blocks, growing the memory on demand.
 *
 * Views (`f32(off, n)`) are cheap and must be re-derived after anything that may grow the memory: an old view
 * stays valid for the bytes it covers but never sees the new length.
 */

import './webassembly-types.js';

/** Bytes at the start of the memory kept for the modules' static data (math tables); never allocated. */
export const RESERVED_BYTES = 64 * 1024;
/** wasm32 page size. */
export const PAGE_BYTES = 64 * 1024;
/** Maximum pages of the shared memory: 65536 pages = 4 GiB, the wasm32 limit. */
export const MAX_PAGES = 65536;

const ALIGN = 64;

/** A shared wasm memory plus a first-fit allocator over it. */
export class KernelMemory {
  readonly memory: WebAssembly.Memory;
  /** Free blocks [offset, bytes], sorted by offset, coalesced. */
  private readonly freeList: Array<[number, number]> = [];
  /** Allocated blocks: offset → bytes. */
  private readonly blocks = new Map<number, number>();
  private top = RESERVED_BYTES;

  /** @param initialBytes initial size (rounded up to pages, at least 1 MiB) */
  constructor(initialBytes = 16 * 1024 * 1024) {
    const pages = Math.max(16, Math.ceil(initialBytes / PAGE_BYTES));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
  }

  /** The current SharedArrayBuffer (re-read after growth). */
  get buffer(): SharedArrayBuffer {
    return this.memory.buffer as unknown as SharedArrayBuffer;
  }

  /** Bytes currently allocated (excluding the reserved head). */
  get allocatedBytes(): number {
    let n = 0;
    for (const b of this.blocks.values()) n += b;
    return n;
  }

  /**
   * Allocate `bytes` (rounded up to 64) at a 64-byte aligned offset, growing the memory if needed.
   * @throws {RangeError} when the 4 GiB wasm32 address space is exhausted
   */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.freeList.length; i++) {
      const blk = this.freeList[i]!;
      if (blk[1] >= size) {
        const off = blk[0];
        if (blk[1] === size) this.freeList.splice(i, 1);
        else {
          blk[0] += size;
          blk[1] -= size;
        }
        this.blocks.set(off, size);
        return off;
      }
    }
    const off = this.top;
    this.ensure(off + size);
    this.top = off + size;
    this.blocks.set(off, size);
    return off;
  }

  /** Release a block returned by {@link alloc}. Freeing an unknown offset is a no-op. */
  free(off: number): void {
    const size = this.blocks.get(off);
    if (size === undefined) return;
    this.blocks.delete(off);
    if (off + size === this.top) {
      this.top = off;
      // Pull the top down over a free block that now touches it.
      const last = this.freeList[this.freeList.length - 1];
      if (last !== undefined && last[0] + last[1] === this.top) {
        this.top = last[0];
        this.freeList.pop();
      }
      return;
    }
    let i = 0;
    while (i < this.freeList.length && this.freeList[i]![0] < off) i++;
    this.freeList.splice(i, 0, [off, size]);
    const next = this.freeList[i + 1];
    if (next !== undefined && off + size === next[0]) {
      this.freeList[i]![1] += next[1];
      this.freeList.splice(i + 1, 1);
    }
    const prev = this.freeList[i - 1];
    if (prev !== undefined && prev[0] + prev[1] === off) {
      prev[1] += this.freeList[i]![1];
      this.freeList.splice(i, 1);
    }
  }

  /** Grow the memory so that [0, end) is addressable. */
  ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE_BYTES);
    if (have / PAGE_BYTES + pages > MAX_PAGES) {
      throw new RangeError(`kernel memory: ${end} bytes exceed the 4 GiB wasm32 address space`);
    }
    // Grow by at least 1/8 of the current size to amortize growth.
    this.memory.grow(Math.min(MAX_PAGES - have / PAGE_BYTES, Math.max(pages, Math.ceil(have / PAGE_BYTES / 8))));
  }

  /** A Float32Array view of `length` floats at byte offset `off` (re-derive after growth). */
  f32(off: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, off, length);
  }

  /** An Int32Array view of `length` ints at byte offset `off`. */
  i32(off: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, off, length);
  }

  /** True when `a` is a view of this memory's buffer (so it can be passed by offset without a copy). */
  owns(a: ArrayBufferView): boolean {
    // After growth `memory.buffer` is a new SharedArrayBuffer object: older views are then (safely) not owned.
    return a.buffer === this.memory.buffer;
  }
}
