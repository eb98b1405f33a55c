import { ErrorCode, UnetRangeError, formatShape, invalidParameter, invalidType } from '../errors.js';

/**
 * A dense float32 tensor, row-major (NCHW for images): `shape`, contiguous `strides` and a `Float32Array` view.
 *
 * The data may be any Float32Array: an ordinary one, a view of a SharedArrayBuffer (see {@link Tensor.shared}),
 * or a view into the engine's shared WebAssembly memory. The tensor never copies the array it is given.
 */
export class Tensor {
  /** Dimensions, outermost first. Every entry is a non-negative integer. */
  readonly shape: number[];
  /** Element strides of a contiguous row-major layout. */
  readonly strides: number[];
  /** The elements; `data.length === size`. */
  readonly data: Float32Array;

  /**
   * @param shape dimensions (non-negative integers)
   * @param data the elements (length must equal the product of `shape`); a zero-filled array if omitted
   * @throws {TypeError} ERR_INVALID_ARG_TYPE if shape is not an array of integers or data not a Float32Array
   * @throws {RangeError} ERR_SHAPE_MISMATCH if data.length does not match the shape
   */
  constructor(shape: readonly number[], data?: Float32Array) {
    if (!Array.isArray(shape)) throw invalidType('Tensor', 'shape', 'an array of non-negative integers', shape);
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
        throw invalidType('Tensor', `shape[${i}]`, 'a non-negative integer', d);
      }
    }
    const size = shapeSize(shape);
    if (data === undefined) {
      data = new Float32Array(size);
    } else if (!(data instanceof Float32Array)) {
      throw invalidType('Tensor', 'data', 'a Float32Array', data);
    } else if (data.length !== size) {
      throw new UnetRangeError(
        ErrorCode.SHAPE_MISMATCH,
        `Tensor: data has ${data.length} elements but shape ${formatShape(shape)} needs ${size}`,
      );
    }
    this.shape = shape.slice();
    this.strides = contiguousStrides(shape);
    this.data = data;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** True when the data lives on a SharedArrayBuffer (and can be read by workers without a copy). */
  get isShared(): boolean {
    return typeof SharedArrayBuffer !== 'undefined' && this.data.buffer instanceof SharedArrayBuffer;
  }

  /** A tensor of zeros whose data lives on a fresh SharedArrayBuffer. */
  static shared(shape: readonly number[]): Tensor {
    const size = shapeSize(shape);
    return new Tensor(shape, new Float32Array(new SharedArrayBuffer(size * 4)));
  }

  /** A tensor filled with `value`. */
  static full(shape: readonly number[], value: number): Tensor {
    const t = new Tensor(shape);
    t.data.fill(value);
    return t;
  }

  /** A tensor from nested arrays or a flat list (copied). */
  static from(shape: readonly number[], values: ArrayLike<number>): Tensor {
    return new Tensor(shape, Float32Array.from(values));
  }

  /** Same data, another shape with the same number of elements. */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw invalidParameter('Tensor.reshape', 'shape', `a shape with ${this.size} elements`, { raw: formatShape(shape) });
    }
    return new Tensor(shape, this.data);
  }

  /** A deep copy on an ordinary (non-shared) buffer. */
  clone(): Tensor {
    return new Tensor(this.shape, this.data.slice());
  }

  /** Element at a full index (slow; for tests and debugging). */
  get(...index: number[]): number {
    let off = 0;
    for (let i = 0; i < index.length; i++) off += index[i]! * this.strides[i]!;
    return this.data[off]!;
  }

  toString(): string {
    return `Tensor${formatShape(this.shape)}`;
  }
}

/** Product of the dimensions (1 for a scalar shape `[]`). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}
