/** The backend seam: registry, default selection, per-call `backend` option, reference always present. */
import { afterEach, describe, expect, it } from 'vitest';
import { getBackend, listBackends, registerBackend, setBackend, type Backend } from '../src/ops/backend.js';
import { referenceBackend } from '../src/ops/reference/index.js';
import { conv2d, maxPool2d, relu } from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';

/** A backend that delegates to the reference and records which kernels ran. */
function spyBackend(name: string): Backend & { calls: string[] } {
  const calls: string[] = [];
  const b = { name, calls } as Backend & { calls: string[] };
  for (const key of Object.keys(referenceBackend) as (keyof Backend)[]) {
    if (key === 'name') continue;
    const kernel = referenceBackend[key] as (...args: unknown[]) => void;
    (b as unknown as Record<string, unknown>)[key] = (...args: unknown[]) => {
      calls.push(key);
      kernel(...args);
    };
  }
  return b;
}

afterEach(() => setBackend('reference'));

describe('backend registry', () => {
  it("always has 'reference', the default until another is set", () => {
    expect(listBackends()).toContain('reference');
    expect(getBackend().name).toBe('reference');
    expect(getBackend('reference')).toBe(referenceBackend);
  });
  it('registerBackend adds without changing the default; setBackend switches it', () => {
    const spy = spyBackend('spy-a');
    registerBackend(spy);
    expect(listBackends()).toContain('spy-a');
    expect(getBackend().name).toBe('reference');
    setBackend('spy-a');
    expect(getBackend()).toBe(spy);
    relu(Tensor.full([1, 2, 2, 2], -1));
    expect(spy.calls).toEqual(['activation']);
  });
  it("a per-call { backend } option overrides the default", () => {
    const spy = spyBackend('spy-b');
    registerBackend(spy);
    const x = Tensor.full([1, 1, 4, 4], 1);
    const w = Tensor.full([1, 1, 3, 3], 1);
    const viaSpy = conv2d(x, w, null, { padding: 1, backend: 'spy-b' });
    expect(spy.calls).toEqual(['conv2d']);
    const viaDefault = conv2d(x, w, null, { padding: 1 });
    expect(spy.calls).toEqual(['conv2d']);
    expect(Array.from(viaSpy.data)).toEqual(Array.from(viaDefault.data));
    maxPool2d(x, { kernelSize: 2, backend: 'spy-b' });
    expect(spy.calls).toEqual(['conv2d', 'maxPool2d']);
  });
  it('re-registering the current default replaces it', () => {
    registerBackend(spyBackend('spy-c'));
    setBackend('spy-c');
    const next = spyBackend('spy-c');
    registerBackend(next);
    expect(getBackend()).toBe(next);
  });
  it('unknown names and malformed backends are refused with codes', () => {
    expect(() => setBackend('gpu')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/^getBackend: Expected a registered backend \('reference'.*for backend but received "gpu"/) }));
    expect(() => getBackend(3 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => registerBackend({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^registerBackend: Expected an object with a non-empty string name/) }));
  });
});
