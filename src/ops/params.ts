/**
 * Normalize user-facing op parameters once (STYLE rule 4): `number | [h, w] | 'same' | 'valid'` in, plain
 * validated pairs out. Everything downstream (geometry, kernels, workers) reads only the normalized form.
 */
import { invalidParameter, invalidType } from '../errors.js';

/** `[h, w]` pair of non-negative integers. */
export type Pair = readonly [number, number];

/** A number applied to both spatial axes, or an `[h, w]` pair (PyTorch's `int | tuple`). */
export type IntOrPair = number | readonly [number, number];

/** Padding of a convolution: explicit symmetric amounts, or PyTorch's string modes. */
export type Conv2dPadding = IntOrPair | 'same' | 'valid';

/** Border handling of a convolution's padding (PyTorch `padding_mode`). */
export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

/** The one table of padding modes: validation, ONNX mapping and help text read it. */
export const PADDING_MODES: readonly PaddingMode[] = Object.freeze(['zeros', 'reflect', 'replicate', 'circular']);

/**
 * Read an `int | [h, w]` parameter.
 * @param where op name for messages, e.g. `conv2d`
 * @param name parameter name as the user wrote it, e.g. `stride`
 * @param min smallest accepted value (1 for stride/dilation/kernel, 0 for padding)
 */
export function toPair(where: string, name: string, value: unknown, min: number): [number, number] {
  if (typeof value === 'number') {
    checkInt(where, name, value, min);
    return [value, value];
  }
  if (Array.isArray(value)) {
    if (value.length !== 2) {
      throw invalidParameter(where, name, `an integer >= ${min} or an [h, w] pair`, value);
    }
    checkInt(where, `${name}[0]`, value[0], min);
    checkInt(where, `${name}[1]`, value[1], min);
    return [value[0], value[1]];
  }
  throw invalidType(where, name, `an integer >= ${min} or an [h, w] pair`, value);
}

function checkInt(where: string, name: string, v: unknown, min: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw invalidType(where, name, `an integer >= ${min}`, v);
  }
  if (!Number.isInteger(v) || v < min) {
    throw invalidParameter(where, name, `an integer >= ${min}`, v);
  }
}

/** Read a positive/non-negative integer scalar parameter (groups, divisorOverride, …). */
export function toInt(where: string, name: string, value: unknown, min: number): number {
  checkInt(where, name, value, min);
  return value;
}

/** Read a boolean option. */
export function toBool(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(where, name, 'a boolean', value);
  return value;
}

/** Read a string option against its frozen table of choices. */
export function toChoice<T extends string>(where: string, name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string') throw invalidType(where, name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  if (!(choices as readonly string[]).includes(value)) {
    throw invalidParameter(where, name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Normalized convolution padding: explicit symmetric pair, or a string mode resolved by geometry. */
export type NormalizedPadding = { kind: 'explicit'; h: number; w: number } | { kind: 'same' } | { kind: 'valid' };

export function toConvPadding(where: string, value: unknown): NormalizedPadding {
  if (value === 'same') return { kind: 'same' };
  if (value === 'valid') return { kind: 'valid' };
  if (typeof value === 'string') throw invalidParameter(where, 'padding', "an integer >= 0, an [h, w] pair, 'same' or 'valid'", value);
  const [h, w] = toPair(where, 'padding', value, 0);
  return { kind: 'explicit', h, w };
}

/** Throw if an options argument is present but not a plain object; return it (or `{}`). */
export function toOptions<T extends object>(where: string, value: T | undefined | null): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidType(where, 'options', 'an options object', value);
  return value;
}
