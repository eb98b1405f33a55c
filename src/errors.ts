/**
 * The one error module of unet-pipeline.
 *
 * Every error the library throws carries a stable `code` (mocha's `ERR_…` style) that tests, the CLI and callers
 * can rely on, and a message that names where it happened (op, node, file or parameter) and shows what was
 * expected next to what arrived (sharp's "Expected positive integer for width but received 1.5 of type number").
 *
 * Wrong types are `TypeError`s, out-of-range or conflicting values are `RangeError`s (piscina's convention), and
 * everything else (file formats, workers, I/O) is a plain `Error` subclass. All of them implement `UnetErrorLike`.
 */

/** Stable error codes. Add new codes here only; never rename one. */
export const ErrorCode = Object.freeze({
  /** A parameter has the wrong type (string for a number, missing required option, …). */
  INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
  /** A parameter has the right type but an unacceptable value (negative stride, bad enum value, …). */
  INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
  /** Shapes do not fit together (channels vs weight, concat sizes, rank). */
  SHAPE_MISMATCH: 'ERR_SHAPE_MISMATCH',
  /** A computed output size is smaller than 1, or a tensor is too large for the engine. */
  OUTPUT_SIZE: 'ERR_OUTPUT_SIZE',
  /** A model file is malformed, truncated or inconsistent. */
  MODEL_FORMAT: 'ERR_MODEL_FORMAT',
  /** A model uses an operator or attribute the engine does not implement. */
  UNSUPPORTED_OP: 'ERR_UNSUPPORTED_OP',
  /** A pickle asked for a global outside the state_dict allow-list; nothing was executed. */
  UNSAFE_PICKLE: 'ERR_UNSAFE_PICKLE',
  /** The graph is not a DAG, or a node reads a value nothing produces. */
  GRAPH: 'ERR_GRAPH',
  /** A worker thread died or failed while running a task. */
  WORKER: 'ERR_WORKER',
  /** An input does not fit in the 4 GiB wasm32 address space (tile it). */
  INPUT_TOO_LARGE: 'ERR_INPUT_TOO_LARGE',
  /** An image could not be decoded, or exceeds the pixel limit. */
  IMAGE: 'ERR_IMAGE',
  /** A file system operation failed or would overwrite an input. */
  IO: 'ERR_IO',
  /** The operation was aborted through an AbortSignal. */
  ABORTED: 'ERR_ABORTED',
  /** The object was used after close(). */
  CLOSED: 'ERR_CLOSED',
  /** A command-line mistake (unknown flag, conflicting options): the CLI exits with code 2. */
  USAGE: 'ERR_USAGE',
} as const);

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface UnetErrorLike extends Error {
  readonly code: ErrorCode;
}

export interface ErrorDetails {
  /** Underlying error, kept for debugging. */
  cause?: unknown;
}

/** Generic library error (formats, workers, I/O). */
export class UnetError extends Error implements UnetErrorLike {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'UnetError';
    this.code = code;
  }
}

/** A value of the wrong type. */
export class UnetTypeError extends TypeError implements UnetErrorLike {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'UnetTypeError';
    this.code = code;
  }
}

/** A value out of range, or values that conflict with each other. */
export class UnetRangeError extends RangeError implements UnetErrorLike {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'UnetRangeError';
    this.code = code;
  }
}

/** A command-line mistake: reported with a hint to `--help`, exit code 2. */
export class UsageError extends UnetError {
  constructor(message: string) {
    super(ErrorCode.USAGE, message);
    this.name = 'UsageError';
  }
}

/** True for any error thrown by this library. */
export function isUnetError(e: unknown): e is UnetErrorLike {
  return e instanceof UnetError || e instanceof UnetTypeError || e instanceof UnetRangeError;
}

/**
 * Describe a received value for a message: `1.5 of type number`, `"abc" of type string`, `[2, 3] of type array`.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) {
    const shown = value.length > 8 ? `[${value.slice(0, 8).map(short).join(', ')}, …]` : `[${value.map(short).join(', ')}]`;
    return `${shown} of type array`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (typeof value === 'string') return `${JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value)} of type string`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `${String(value)} of type ${typeof value}`;
}

function short(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Format a shape for messages: `[1,64,128,128]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * `where: Expected <expected> for <name> but received <value>` as a TypeError (code ERR_INVALID_ARG_TYPE).
 * @param where op or component name, e.g. `conv2d` or `conv2d[enc1.0]`
 */
export function invalidType(where: string, name: string, expected: string, received: unknown): UnetTypeError {
  return new UnetTypeError(
    ErrorCode.INVALID_ARG_TYPE,
    `${where}: Expected ${expected} for ${name} but received ${describeValue(received)}`,
  );
}

/**
 * `where: Expected <expected> for <name> but received <value>` as a RangeError (code ERR_INVALID_ARG_VALUE).
 * `received` is described with its type unless it is already a preformatted string (pass `{ raw: '…' }`).
 */
export function invalidParameter(
  where: string,
  name: string,
  expected: string,
  received: unknown,
): UnetRangeError {
  const shown = isRaw(received) ? received.raw : describeValue(received);
  return new UnetRangeError(ErrorCode.INVALID_ARG_VALUE, `${where}: Expected ${expected} for ${name} but received ${shown}`);
}

/** Shape errors name the op (and node) and show both shapes. */
export function shapeMismatch(where: string, message: string): UnetRangeError {
  return new UnetRangeError(ErrorCode.SHAPE_MISMATCH, `${where}: ${message}`);
}

/** Output size below 1 (PyTorch: "Output size is too small"). */
export function outputTooSmall(where: string, message: string): UnetRangeError {
  return new UnetRangeError(ErrorCode.OUTPUT_SIZE, `${where}: ${message}`);
}

/** Malformed model file; `file` is the path or a description of the source. */
export function modelFormatError(file: string, message: string, cause?: unknown): UnetError {
  return new UnetError(ErrorCode.MODEL_FORMAT, `${file}: ${message}`, { cause });
}

function isRaw(v: unknown): v is { raw: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { raw?: unknown }).raw === 'string' && Object.keys(v).length === 1;
}
