/**
 * Argument checks shared by the functional ops (STYLE rule 2: check at the edges). Every failure is an error from
 * src/errors.ts whose message starts with the op name and shows what was expected and what arrived.
 */
import { ErrorCode, UnetRangeError, formatShape, invalidParameter, invalidType, shapeMismatch } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/** Throw unless `value` is a Tensor. */
export function checkTensor(where: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw invalidType(where, name, 'a Tensor', value);
  return value;
}

/** Throw unless `t` has one of the given ranks. */
export function checkRank(where: string, name: string, t: Tensor, ranks: readonly number[], layout: string): void {
  if (!ranks.includes(t.rank)) {
    throw shapeMismatch(
      where,
      `expected ${name} of rank ${ranks.join(' or ')} (${layout}) but received ${formatShape(t.shape)} (rank ${t.rank})`,
    );
  }
}

/** Throw unless every listed dimension of `t` is at least 1. */
export function checkNonEmpty(where: string, name: string, t: Tensor, fromDim: number): void {
  for (let i = fromDim; i < t.rank; i++) {
    if (t.shape[i]! < 1) {
      throw new UnetRangeError(
        ErrorCode.SHAPE_MISMATCH,
        `${where}: expected ${name} with non-zero sizes in dimensions ${fromDim}..${t.rank - 1} but received ${formatShape(t.shape)}`,
      );
    }
  }
}

/** An optional per-channel vector: a Tensor with exactly `n` elements (any shape, as torch's `numel() == C`). */
export function checkVector(where: string, name: string, value: unknown, n: number): Float32Array {
  const t = checkTensor(where, name, value);
  if (t.size !== n) {
    throw shapeMismatch(where, `expected ${name} with ${n} elements but received ${formatShape(t.shape)} (${t.size} elements)`);
  }
  return t.data;
}

/** A finite number option. */
export function checkFinite(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(where, name, 'a finite number', value);
  if (!Number.isFinite(value)) throw invalidParameter(where, name, 'a finite number', value);
  return value;
}

/** A `backend` option: undefined or a string (the registry resolves it). */
export function checkBackendName(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidType(where, 'backend', 'a backend name string', value);
  return value;
}
