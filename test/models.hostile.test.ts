/**
 * Hostile and broken model files: every one is refused with a stable code and a message naming the problem,
 * without crashing, hanging or executing anything.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { loadOnnx } from '../src/models/onnx/index.js';
import { onnxModel } from '../src/models/onnx/index.js';
import { readOnnx } from '../src/models/onnx/reader.js';
import { readTorchCheckpoint } from '../src/models/pytorch/checkpoint.js';
import { loadPytorch } from '../src/models/pytorch/index.js';
import { unpickle } from '../src/models/pytorch/unpickler.js';

const IMPORT = join(import.meta.dirname, 'fixtures', 'import');
const index = JSON.parse(readFileSync(join(IMPORT, 'index.json'), 'utf8')) as { marker: string };

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** Pickle bytes from opcodes written as latin1 text (protocol 2). */
function pickle(body: string): Uint8Array {
  return Buffer.from('\x80\x02' + body, 'latin1');
}
const noPersistent = (): never => {
  throw new Error('no persistent ids expected');
};
const str = (s: string): string => 'X' + String.fromCharCode(s.length, 0, 0, 0) + s;

describe('.pth: restricted unpickler refuses every global outside the state_dict allow-list', () => {
  it('os_system.pth (posix.system REDUCE inside a dict) → ERR_UNSAFE_PICKLE naming posix.system; nothing ran', async () => {
    rmSync(index.marker, { force: true });
    const e = await rejection(loadPytorch(join(IMPORT, 'os_system.pth')));
    expect(e.code).toBe(ErrorCode.UNSAFE_PICKLE);
    expect(e.message).toMatch(/"posix\.system"/);
    expect(e.message).toMatch(/nothing was executed/);
    expect(existsSync(index.marker)).toBe(false);
  });

  for (const [module, name] of [['builtins', 'eval'], ['subprocess', 'Popen'], ['os', 'system'], ['torch', 'load'], ['collections', 'defaultdict']]) {
    it(`GLOBAL ${module}.${name} → ERR_UNSAFE_PICKLE before its arguments are read`, () => {
      const bytes = pickle(`c${module}\n${name}\n${str('print(1)')}\x85R.`);
      expect(() => unpickle(bytes, noPersistent, 'evil.pkl')).toThrow(expect.objectContaining({ code: ErrorCode.UNSAFE_PICKLE, message: expect.stringContaining(`"${module}.${name}"`) }));
    });
  }

  it('STACK_GLOBAL (protocol 4) builtins.exec → ERR_UNSAFE_PICKLE', () => {
    const bytes = Buffer.from('\x80\x04' + '\x8c\x08builtins' + '\x8c\x04exec' + '\x93' + str('x') + '\x85R.', 'latin1');
    expect(() => unpickle(bytes, noPersistent, 'evil.pkl')).toThrow(expect.objectContaining({ code: ErrorCode.UNSAFE_PICKLE, message: expect.stringMatching(/builtins\.exec/) }));
  });

  it('REDUCE on a plain value (not an allowed callable) → ERR_MODEL_FORMAT', () => {
    expect(() => unpickle(pickle(`${str('x')})R.`), noPersistent, 'odd.pkl')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/REDUCE/) }));
  });

  it('unknown opcode, stack underflow and a pickle without STOP → ERR_MODEL_FORMAT', () => {
    expect(() => unpickle(pickle('\xff'), noPersistent, 'a.pkl')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/unsupported opcode 0xff/) }));
    expect(() => unpickle(pickle('t.'), noPersistent, 'b.pkl')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT }));
    expect(() => unpickle(pickle('}'), noPersistent, 'c.pkl')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/truncated/) }));
  });

  it('a pickle nested 100 000 levels deep is read without recursion', () => {
    const bytes = pickle(']'.repeat(100_000) + 'a'.repeat(99_999) + '.');
    expect(Array.isArray(unpickle(bytes, noPersistent, 'deep.pkl'))).toBe(true);
  });

  it('deep.pth (deflated, nested 5000 levels) → ERR_MODEL_FORMAT, not a stack overflow', () => {
    const f = join(IMPORT, 'deep.pth');
    expect(() => readTorchCheckpoint(readFileSync(f), f)).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/nested more than 200 levels/) }));
  });

  it('truncated.pth (first half of a checkpoint) → ERR_MODEL_FORMAT', async () => {
    const e = await rejection(loadPytorch(join(IMPORT, 'truncated.pth')));
    expect(e.code).toBe(ErrorCode.MODEL_FORMAT);
    expect(e.message).toMatch(/truncated\.pth: .*(truncated|end-of-central-directory)/);
  });

  it('every prefix of a checkpoint is refused with ERR_MODEL_FORMAT (no crash, no hang)', () => {
    const full = readFileSync(join(IMPORT, 'tensors.pth'));
    for (let n = 0; n < full.length; n += 37) {
      expect(() => readTorchCheckpoint(full.subarray(0, n), 'cut.pth')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT }));
    }
  });

  it('not_unet.pth (a valid state_dict of another network) → ERR_MODEL_FORMAT listing what a U-Net needs', async () => {
    const e = await rejection(loadPytorch(join(IMPORT, 'not_unet.pth')));
    expect(e.code).toBe(ErrorCode.MODEL_FORMAT);
    expect(e.message).toMatch(/expected a milesial U-Net state_dict with inc\.double_conv/);
    expect(e.message).toMatch(/conv1\.weight/);
  });

  it('a file that is not a zip → ERR_MODEL_FORMAT', () => {
    expect(() => readTorchCheckpoint(Buffer.from('hello world'), 'x.pth')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/zip header/) }));
  });

  it('a missing file → ERR_IO', async () => {
    expect((await rejection(loadPytorch(join(IMPORT, 'nope.pth')))).code).toBe(ErrorCode.IO);
  });
});

describe('.onnx: broken graphs are refused with stable codes', () => {
  it('truncated.onnx → ERR_MODEL_FORMAT', async () => {
    const e = await rejection(loadOnnx(join(IMPORT, 'truncated.onnx')));
    expect(e.code).toBe(ErrorCode.MODEL_FORMAT);
    expect(e.message).toMatch(/truncated\.onnx: /);
  });

  it('every prefix of an ONNX file is refused or decodes to something the importer refuses (no crash, no hang)', () => {
    const full = readFileSync(join(IMPORT, 'cycle.onnx'));
    for (let n = 0; n < full.length; n++) {
      let err: (Error & { code?: string }) | null = null;
      try {
        readOnnx(full.subarray(0, n), 'cut.onnx');
      } catch (e) {
        err = e as Error & { code?: string };
      }
      if (err) expect(err.code).toBe(ErrorCode.MODEL_FORMAT);
    }
  });

  it('random bytes → ERR_MODEL_FORMAT', () => {
    const junk = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256));
    expect(() => readOnnx(junk, 'junk.onnx')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT }));
  });

  it('cycle.onnx → ERR_GRAPH naming the nodes of the cycle', async () => {
    const e = await rejection(loadOnnx(join(IMPORT, 'cycle.onnx')));
    expect(e.code).toBe(ErrorCode.GRAPH);
    expect(e.message).toMatch(/cycle through Add\[first\], Relu\[second\]/);
  });

  it('missing_input.onnx → ERR_GRAPH naming the node and the missing value', async () => {
    const e = await rejection(loadOnnx(join(IMPORT, 'missing_input.onnx')));
    expect(e.code).toBe(ErrorCode.GRAPH);
    expect(e.message).toMatch(/Add\[add_ghost\] reads 'ghost', which no node produces/);
  });

  it('unsupported_op.onnx → ERR_UNSUPPORTED_OP with op type, node name and opset', async () => {
    const e = await rejection(loadOnnx(join(IMPORT, 'unsupported_op.onnx')));
    expect(e.code).toBe(ErrorCode.UNSUPPORTED_OP);
    expect(e.message).toMatch(/GridSample\[warp\] \(opset 17\)/);
  });

  it('external_data.onnx → ERR_MODEL_FORMAT explaining that external data is not supported', async () => {
    const e = await rejection(loadOnnx(join(IMPORT, 'external_data.onnx')));
    expect(e.code).toBe(ErrorCode.MODEL_FORMAT);
    expect(e.message).toMatch(/initializer "w" stores its data in an external file \("weights\.bin"\)/);
  });

  const { onnx } = onnxProto;
  const tiny = (node: onnxProto.onnx.INodeProto, initializer: onnxProto.onnx.ITensorProto[]): Uint8Array =>
    onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        graph: {
          name: 'g',
          node: [node],
          input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimValue: 4 }, { dimValue: 4 }] } } } }],
          output: [{ name: 'y' }],
          initializer,
        },
      }),
    ).finish();

  it('an initializer whose dims promise 10^12 values but holds 3 → ERR_MODEL_FORMAT before allocating', () => {
    const bytes = tiny({ name: 'add', opType: 'Add', input: ['x', 'k'], output: ['y'] }, [{ name: 'k', dims: [1_000_000, 1_000_000], dataType: 1, floatData: [1, 2, 3] }]);
    expect(() => readOnnx(bytes, 'huge.onnx')).toThrow(expect.objectContaining({ code: ErrorCode.MODEL_FORMAT, message: expect.stringMatching(/initializer "k": expected 1000000000000 values .* but received 3/) }));
  });

  it('ConstantOfShape of [10^6, 10^6] → refused, not allocated', () => {
    const bytes = tiny({ name: 'fill', opType: 'ConstantOfShape', input: ['s'], output: ['y'] }, [{ name: 's', dims: [2], dataType: 7, int64Data: [1_000_000, 1_000_000] }]);
    expect(() => onnxModel(readOnnx(bytes, 'fill.onnx'))).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/ConstantOfShape\[fill\].*too large to fold/) }));
  });
});
