/**
 * A restricted unpickler for PyTorch state_dicts (pickle protocols 2–5, as `torch.save` writes them).
 *
 * Python's pickle is a small stack machine whose GLOBAL/REDUCE/BUILD opcodes can import and call anything
 * (`os.system`, `builtins.eval`, `subprocess.Popen`): loading an untrusted .pth with `torch.load` runs code. This
 * machine never imports or calls anything. GLOBAL only resolves names from the allow-list below to inert
 * JavaScript values, and REDUCE only applies those; any other global is refused with ERR_UNSAFE_PICKLE naming it,
 * before anything after it is read. Opcode semantics: CPython `Lib/pickletools.py` and `Lib/pickle.py`.
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint if not a safe integer), float → number,
 * str → string, bytes → Uint8Array, list → array, tuple → {@link PyTuple}, dict/OrderedDict → Map.
 */
import { ErrorCode, UnetError, modelFormatError } from '../../errors.js';

/** A Python tuple (kept apart from lists so pickled tuples stay recognizable). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** Element types of torch storages. */
export type StorageDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** Bytes per element of each storage type. */
export const DTYPE_SIZE: Readonly<Record<StorageDtype, number>> = Object.freeze({
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
});

/** The one table of storage classes a state_dict may name (`torch.FloatStorage` → float32, …). */
const STORAGE_CLASSES: Readonly<Record<string, StorageDtype>> = Object.freeze({
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
});

/** A storage class named by a persistent id (`torch.FloatStorage`). */
export class StorageType {
  constructor(readonly dtype: StorageDtype) {}
}

/** A storage from `archive/data/<key>`, as resolved by the caller's persistent_load. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly dtype: StorageDtype;
  readonly key: string;
  /** Number of elements of the storage. */
  readonly numel: number;
}

/** A tensor: a strided view of a storage (`torch._utils._rebuild_tensor_v2`). */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

/** Callable globals of the allow-list: what REDUCE applies them to. */
type Callable = (args: unknown[]) => unknown;

class PyGlobal {
  constructor(
    readonly qualified: string,
    readonly call: Callable | null,
  ) {}
}

function rebuildTensor(args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!isStorage(storage)) throw new Error('_rebuild_tensor_v2: expected a storage as first argument');
  const shape = tupleInts(size, 'size');
  const strides = tupleInts(stride, 'stride');
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new Error('_rebuild_tensor_v2: expected a non-negative integer storage offset');
  if (shape.length !== strides.length) throw new Error(`_rebuild_tensor_v2: size has ${shape.length} dims but stride has ${strides.length}`);
  return { kind: 'tensor', storage, offset, shape, stride: strides };
}

function tupleInts(v: unknown, what: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
  if (items === null || !items.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new Error(`_rebuild_tensor_v2: expected a tuple of non-negative integers for ${what}`);
  }
  return items as number[];
}

function isStorage(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && (v as StorageRef).kind === 'storage';
}

/** The allow-list: every global a state_dict (optionally inside a checkpoint dict) needs, and nothing else. */
function allowedGlobal(module: string, name: string): PyGlobal | null {
  const q = `${module}.${name}`;
  switch (q) {
    case 'collections.OrderedDict':
      return new PyGlobal(q, () => new Map());
    case 'torch._utils._rebuild_tensor_v2':
      return new PyGlobal(q, rebuildTensor);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its data for inference.
      return new PyGlobal(q, (args) => args[0]);
    default:
      break;
  }
  if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_CLASSES, name)) {
    const t = new StorageType(STORAGE_CLASSES[name]!);
    return new PyGlobal(q, () => t);
  }
  return null;
}

/** Refusal of a global outside the allow-list. */
export function unsafePickle(file: string, qualified: string): UnetError {
  return new UnetError(
    ErrorCode.UNSAFE_PICKLE,
    `${file}: refusing to load the pickled global "${qualified}": only collections.OrderedDict, ` +
      'torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch.*Storage are allowed in a state_dict ' +
      '(nothing was executed). A whole model saved with torch.save(model) pickles its classes: save ' +
      'model.state_dict() instead',
  );
}

const MARK = Symbol('mark');
const MAX_MEMO = 1 << 24;

/**
 * Unpickle `data` without executing anything.
 * @param persistentLoad resolves a persistent id (torch: `('storage', StorageType, key, location, numel)`)
 * @param file path or description for messages
 * @throws {UnetError} ERR_UNSAFE_PICKLE for a global outside the allow-list; ERR_MODEL_FORMAT for malformed data
 */
export function unpickle(data: Uint8Array, persistentLoad: (pid: unknown) => unknown, file: string): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;

  const fail = (msg: string): never => {
    throw modelFormatError(file, `malformed pickle at byte ${p}: ${msg}`);
  };
  const need = (n: number): void => {
    if (p + n > data.length) fail(`expected ${n} more bytes but the data ends (truncated file)`);
  };
  const u8 = (): number => {
    need(1);
    return data[p++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(p, true);
    p += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(p, true);
    p += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length out of range');
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = data.subarray(p, p + n);
    p += n;
    return b;
  };
  const utf8 = (n: number): string => Buffer.from(bytes(n)).toString('utf8');
  const line = (): string => {
    const end = data.indexOf(0x0a, p);
    if (end < 0) fail('expected a newline-terminated argument');
    const s = Buffer.from(data.subarray(p, end)).toString('latin1');
    p = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('expected a MARK on the stack');
    return stack.splice(m!);
  };
  const memoPut = (i: number, v: unknown): void => {
    if (memo.size >= MAX_MEMO && !memo.has(i)) fail('memo too large');
    memo.set(i, v);
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo key ${i} was never stored`);
    return memo.get(i);
  };
  const resolveGlobal = (module: string, name: string): PyGlobal => {
    const g = allowedGlobal(module, name);
    if (g === null) throw unsafePickle(file, `${module}.${name}`);
    return g;
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    if (kv.length % 2 !== 0) fail('odd number of items for SETITEMS');
    for (let i = 0; i < kv.length; i += 2) (target as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const append = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) fail('APPEND(S) on something that is not a list');
    for (const it of items) (target as unknown[]).push(it);
  };
  const longLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unsupported pickle protocol');
        break;
      case 0x95: // FRAME (protocol 4): a length hint only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`expected one value on the stack at STOP but found ${stack.length}`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(p, true));
        p += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longLE(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longLE(bytes(u32())));
        break;
      case 0x49: { // INT (text)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(p, false));
        p += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (py2 str)
        stack.push(Buffer.from(bytes(u32())).toString('latin1'));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(Buffer.from(bytes(u8())).toString('latin1'));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(bytes(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x30: // POP
        if (marks.length > 0 && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x70: // PUT (text index)
        memoPut(Number.parseInt(line(), 10), top());
        break;
      case 0x71: // BINPUT
        memoPut(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size, top());
        break;
      case 0x67: // GET (text index)
        stack.push(memoGet(Number.parseInt(line(), 10)));
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL expects two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal) || fn.call === null) fail('REDUCE on something that is not an allowed callable');
        if (!(args instanceof PyTuple)) fail('REDUCE expects a tuple of arguments');
        try {
          stack.push((fn as PyGlobal).call!((args as PyTuple).items));
        } catch (cause) {
          if (cause instanceof UnetError) throw cause;
          fail(`${(fn as PyGlobal).qualified}: ${(cause as Error).message}`);
        }
        break;
      }
      case 0x81: { // NEWOBJ cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal) || cls.call === null || !(args instanceof PyTuple)) fail('NEWOBJ on something that is not an allowed class');
        stack.push((cls as PyGlobal).call!((args as PyTuple).items));
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state); only dict state on dicts (OrderedDict _metadata) is accepted
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map)) fail('BUILD on an object that is not a dict');
        // state_dict's `_metadata` (module versions) is not needed for inference: dropped.
        void state;
        break;
      }
      case 0x51: { // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      }
      case 0x50: // PERSID (text)
        stack.push(persistentLoad(line()));
        break;
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

/** Resolve torch's persistent id `('storage', StorageType, key, location, numel)` to a {@link StorageRef}. */
export function torchPersistentId(pid: unknown, file: string): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : null;
  if (items === null || items[0] !== 'storage' || items.length < 5) {
    throw modelFormatError(file, 'expected a persistent id ("storage", type, key, location, numel)');
  }
  const [, type, key, , numel] = items;
  if (!(type instanceof PyGlobal)) throw modelFormatError(file, 'persistent id names no storage type');
  const t = type.call?.([]);
  if (!(t instanceof StorageType)) throw modelFormatError(file, `persistent id names ${type.qualified}, expected a torch.*Storage`);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key)) throw modelFormatError(file, 'persistent id has an invalid storage key');
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) throw modelFormatError(file, 'persistent id has an invalid element count');
  return { kind: 'storage', dtype: t.dtype, key, numel };
}

/** True for a tensor produced by the unpickler. */
export function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}
