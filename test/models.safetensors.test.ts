import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { floatToHalf, halfToFloat, parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from '../src/models/safetensors.js';
import { Tensor } from '../src/tensor/tensor.js';

/** Build a safetensors file from a header object (or raw header text) and a data buffer. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const f32bytes = (vals: number[]) => new Uint8Array(Float32Array.from(vals).buffer);

describe('round trip', () => {
  test('F32: shapes, order, values and metadata survive write → read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const tensors = new Map([
      ['b.weight', Tensor.from([2, 3], [1, -2, 3.5, 1e-8, -0, 7])],
      ['a.scalar', Tensor.from([], [42])],
      ['empty', new Tensor([0, 4])],
    ]);
    await writeSafetensors(join(dir, 'w.safetensors'), tensors, { metadata: { note: 'x' } });
    const back = await readSafetensors(join(dir, 'w.safetensors'));
    expect([...back.tensors.keys()]).toEqual(['b.weight', 'a.scalar', 'empty']);
    for (const [k, t] of tensors) {
      expect(back.tensors.get(k)!.shape).toEqual(t.shape);
      expect(back.tensors.get(k)!.data).toEqual(t.data);
      expect(back.dtypes.get(k)).toBe('F32');
    }
    expect(back.metadata).toEqual({ note: 'x' });
  });

  test('the header is padded with spaces to a multiple of 8 bytes', () => {
    const bytes = serializeSafetensors({ a: Tensor.from([1], [1]) });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
  });

  test('F16: values representable in half precision are exact; others round to nearest even', () => {
    const vals = [0, 1, -2, 0.5, 65504, 2 ** -24, -(2 ** -14), 1 / 3];
    const back = parseSafetensors(serializeSafetensors({ h: Tensor.from([8], vals) }, { dtype: 'F16' }));
    expect(back.dtypes.get('h')).toBe('F16');
    expect(Array.from(back.tensors.get('h')!.data.slice(0, 7))).toEqual(vals.slice(0, 7));
    expect(back.tensors.get('h')!.data[7]).toBeCloseTo(0.333251953125, 12);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  test('BF16, F64 and I64 are converted to float32', () => {
    const data = new Uint8Array(4 + 8 + 8);
    const v = new DataView(data.buffer);
    v.setUint16(0, 0x3fc0, true); // 1.5
    v.setUint16(2, 0xc000, true); // -2
    v.setFloat64(4, 0.25, true);
    v.setBigInt64(12, 7n, true);
    const st = parseSafetensors(
      file({ b: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] }, d: { dtype: 'F64', shape: [], data_offsets: [4, 12] }, i: { dtype: 'I64', shape: [1], data_offsets: [12, 20] } }, data),
    );
    expect(Array.from(st.tensors.get('b')!.data)).toEqual([1.5, -2]);
    expect(Array.from(st.tensors.get('d')!.data)).toEqual([0.25]);
    expect(Array.from(st.tensors.get('i')!.data)).toEqual([7]);
  });
});

describe('hostile files are refused with ERR_MODEL_FORMAT naming the file', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['fewer than 8 bytes', new Uint8Array(5), /expected at least 8 bytes \(header length\) but the file has 5/],
    ['header length of 2^60 (no allocation)', file(ok, f32bytes([1, 2]), 2n ** 60n), /header length 1152921504606846976 exceeds the limit of 104857600 bytes/],
    ['header length larger than the file', file(ok, f32bytes([1, 2]), 5000n), /header length 5000 is larger than the \d+ bytes after it \(truncated file\?\)/],
    ['invalid JSON', file('{"a": {dtype', f32bytes([1])), /the header is not valid UTF-8 JSON/],
    ['invalid UTF-8', file(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'), new Uint8Array(0)), /not valid UTF-8 JSON|not a JSON object/],
    ['a JSON array header', file([1, 2]), /the header is not a JSON object/],
    ['unknown dtype', file({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor 'a': expected dtype one of F64, F32, F16, BF16, .* but received "F8"/],
    ['negative dimension', file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor 'a': expected shape to be an array of non-negative integers but received \[-1\]/],
    ['fractional offsets', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4.5] } }, new Uint8Array(4)), /expected data_offsets \[begin, end\] of non-negative integers/],
    ['offsets past the data', file({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /tensor 'a': data_offsets \[0, 16\] reach past the 8-byte data buffer/],
    ['end before begin', file({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, new Uint8Array(8)), /data_offsets \[8, 4\] end before they begin/],
    ['byte count mismatch', file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'a': F32 shape \[3\] needs 12 bytes but data_offsets \[0, 8\] hold 8/],
    ['astronomic shape (no allocation)', file({ a: { dtype: 'F32', shape: [1e9, 1e9, 1e9], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs more than \d+ bytes but data_offsets \[0, 8\] hold 8/],
    [
      'overlapping tensors',
      file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      /tensor 'b': data_offsets \[4, 12\] overlap the previous tensor \(ending at 8\)/,
    ],
    ['a hole in the data', file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /bytes 0\.\.4 of the data buffer belong to no tensor/],
    ['trailing bytes no tensor covers', file(ok, new Uint8Array(12)), /the data buffer has 12 bytes but the tensors cover 8/],
    ['non-string metadata', file({ __metadata__: { epoch: 3 }, ...ok }, new Uint8Array(8)), /__metadata__\.epoch must be a string but is number/],
    ['an entry that is not an object', file({ a: [0, 8] }, new Uint8Array(8)), /tensor 'a': expected an object \{dtype, shape, data_offsets\}/],
  ];
  for (const [name, bytes, re] of cases) {
    test(name, () => {
      let err: unknown;
      try {
        parseSafetensors(bytes, 'evil.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_MODEL_FORMAT' });
      expect((err as Error).message).toMatch(/^evil\.safetensors: invalid safetensors file: /);
      expect((err as Error).message).toMatch(re);
    });
  }

  test('every truncation of a valid file is refused (never a crash or a partial read)', () => {
    const bytes = serializeSafetensors({ w: Tensor.from([2, 2], [1, 2, 3, 4]), b: Tensor.from([2], [5, 6]) });
    for (let n = 0; n < bytes.length; n++) {
      expect(() => parseSafetensors(bytes.subarray(0, n), 'cut.safetensors')).toThrow(expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }));
    }
    expect(parseSafetensors(bytes).tensors.size).toBe(2);
  });

  test('a missing file is ERR_IO naming the path', async () => {
    await expect(readSafetensors('/nonexistent/w.safetensors')).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringMatching(/^\/nonexistent\/w\.safetensors: cannot read the weights file \(ENOENT\)/) });
  });

  test('a file on disk with a hostile header is refused by readSafetensors too', async () => {
    const p = join(mkdtempSync(join(tmpdir(), 'st-')), 'bad.safetensors');
    writeFileSync(p, file(ok, f32bytes([1, 2]), 2n ** 63n));
    await expect(readSafetensors(p)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT', message: expect.stringContaining(`${p}: invalid safetensors file: header length`) });
  });
});
