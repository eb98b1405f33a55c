/**
 * Load a milesial/Pytorch-UNet checkpoint (`torch.save` of a state_dict) as a {@link Model}.
 *
 * Accepted layouts: a plain state_dict; `{"model_state_dict": …}` or `{"state_dict": …}` (other entries such as
 * `epoch` or optimizer state are ignored); keys prefixed by `module.` (nn.DataParallel); milesial's
 * `mask_values` entry (kept as the model's class values). The architecture is read from keys and shapes (see
 * {@link inferUnetArchitecture}), the graph comes from `buildUnet`, which checks every weight's shape.
 */
import { readFile } from 'node:fs/promises';
import { modelFormatError, UnetError, ErrorCode, formatShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Model, UnetArchitecture } from '../model.js';
import { defaultMeta } from '../model.js';
import { buildUnet } from '../unet.js';
import { readTorchCheckpoint } from './checkpoint.js';
import { PyTuple } from './unpickler.js';

export { readTorchCheckpoint } from './checkpoint.js';
export { unpickle, PyTuple } from './unpickler.js';
export { ZipArchive } from './zip.js';

/** A state_dict split into its tensors and milesial's extra entries. */
export interface UnetStateDict {
  /** Tensors by key, `module.` prefix removed, `num_batches_tracked` dropped. */
  readonly weights: Map<string, Tensor>;
  /** milesial's `mask_values` (pixel value per class, a number or an RGB triple), or null. */
  readonly maskValues: (number | number[])[] | null;
}

const WRAPPER_KEYS = ['model_state_dict', 'state_dict'] as const;

/** What a milesial U-Net state_dict must contain (for messages). */
const EXPECTED =
  'a milesial U-Net state_dict with inc.double_conv.{0,1,3,4}.*, down<i>.maxpool_conv.1.double_conv.*, ' +
  'up<i>.conv.double_conv.* (and up<i>.up.weight/bias for transposed up-sampling) and outc.conv.weight/bias';

/**
 * Find the state_dict inside an unpickled checkpoint and normalize its keys.
 * @throws {UnetError} ERR_MODEL_FORMAT when no tensors are found
 */
export function extractStateDict(obj: unknown, file: string): UnetStateDict {
  let dict: unknown = obj;
  if (obj instanceof Map) {
    for (const k of WRAPPER_KEYS) if (obj.get(k) instanceof Map) dict = obj.get(k);
  }
  if (!(dict instanceof Map)) {
    throw modelFormatError(file, `expected a state_dict (a dict of tensors) or {"model_state_dict": …} / {"state_dict": …} but received ${describe(obj)}`);
  }
  const weights = new Map<string, Tensor>();
  let maskValues: (number | number[])[] | null = null;
  const all = [...(dict as Map<unknown, unknown>)];
  const prefixed = all.length > 0 && all.every(([k]) => typeof k !== 'string' || k.startsWith('module.') || k === 'mask_values');
  for (const [k, v] of all) {
    if (typeof k !== 'string') continue;
    const key = prefixed && k.startsWith('module.') ? k.slice('module.'.length) : k;
    if (key === 'mask_values') {
      maskValues = toMaskValues(v, file);
      continue;
    }
    if (key.endsWith('num_batches_tracked')) continue;
    if (v instanceof Tensor) weights.set(key, v);
  }
  if (weights.size === 0) throw modelFormatError(file, `expected ${EXPECTED} but the checkpoint holds no tensors`);
  return { weights, maskValues };
}

function toMaskValues(v: unknown, file: string): (number | number[])[] {
  const list = v instanceof PyTuple ? v.items : v;
  const ok = (x: unknown): x is number | number[] =>
    typeof x === 'number' || ((Array.isArray(x) || x instanceof PyTuple) && (x instanceof PyTuple ? x.items : x).every((e) => typeof e === 'number'));
  if (!Array.isArray(list) || !list.every(ok)) {
    throw modelFormatError(file, `expected mask_values to be a list of numbers or of RGB triples but received ${describe(v)}`);
  }
  return list.map((x) => (typeof x === 'number' ? x : ((x instanceof PyTuple ? x.items : x) as number[]).slice()));
}

function describe(v: unknown): string {
  if (v instanceof Map) return `a dict with keys ${[...v.keys()].slice(0, 5).map(String).join(', ')}`;
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Tensor) return `a single tensor ${formatShape(v.shape)}`;
  return v === null ? 'None' : typeof v;
}

/**
 * Read the U-Net architecture from state_dict keys and shapes:
 * `inc.double_conv.0.weight` [base, inChannels, 3, 3]; the number of `down<i>` blocks is the depth;
 * `up1.up.weight` present → transposed convolutions, else bilinear; `outc.conv.weight` [classes, base, 1, 1].
 * @throws {UnetError} ERR_MODEL_FORMAT when the keys are not a milesial U-Net's
 */
export function inferUnetArchitecture(weights: ReadonlyMap<string, Tensor>, file: string): UnetArchitecture {
  const inc = weights.get('inc.double_conv.0.weight');
  const outc = weights.get('outc.conv.weight');
  if (!inc || !outc) {
    const seen = [...weights.keys()].slice(0, 6).join(', ');
    throw modelFormatError(file, `expected ${EXPECTED} but found keys ${seen}${weights.size > 6 ? ', …' : ''} (missing ${!inc ? 'inc.double_conv.0.weight' : 'outc.conv.weight'})`);
  }
  if (inc.shape.length !== 4 || inc.shape[2] !== 3 || inc.shape[3] !== 3) {
    throw modelFormatError(file, `inc.double_conv.0.weight: expected shape [base, inChannels, 3, 3] but received ${formatShape(inc.shape)}`);
  }
  if (outc.shape.length !== 4 || outc.shape[2] !== 1 || outc.shape[3] !== 1) {
    throw modelFormatError(file, `outc.conv.weight: expected shape [classes, base, 1, 1] but received ${formatShape(outc.shape)}`);
  }
  const downs = new Set<number>();
  for (const k of weights.keys()) {
    const m = /^down(\d+)\./.exec(k);
    if (m) downs.add(Number(m[1]));
  }
  const depth = downs.size;
  for (let i = 1; i <= depth; i++) {
    if (!downs.has(i)) throw modelFormatError(file, `expected down blocks down1..down${depth} but down${i} is missing`);
  }
  if (depth === 0) throw modelFormatError(file, `expected ${EXPECTED} but found no down<i> blocks`);
  return {
    type: 'unet',
    inChannels: inc.shape[1]!,
    classes: outc.shape[0]!,
    base: inc.shape[0]!,
    depth,
    upMode: weights.has('up1.up.weight') ? 'transpose' : 'bilinear',
  };
}

/**
 * Build a Model from an unpickled checkpoint.
 * @throws {UnetError} ERR_MODEL_FORMAT for a state_dict that is not a milesial U-Net (listing what was expected)
 */
export function unetFromCheckpoint(obj: unknown, file: string): Model {
  const { weights, maskValues } = extractStateDict(obj, file);
  const architecture = inferUnetArchitecture(weights, file);
  let graph;
  try {
    graph = buildUnet(architecture, { weights, source: file });
  } catch (e) {
    if (e instanceof UnetError && e.code === ErrorCode.MODEL_FORMAT) {
      throw modelFormatError(file, `${e.message.replace(`${file}: `, '')} — expected ${EXPECTED} (inferred ${JSON.stringify({ ...architecture, type: undefined })})`, e);
    }
    throw e;
  }
  const base = defaultMeta(architecture.inChannels, architecture.classes, file.split(/[\\/]/).pop()!.replace(/\.[^.]*$/, ''));
  const classValues = maskValues !== null && maskValues.every((v) => typeof v === 'number') ? (maskValues as number[]) : null;
  const meta = {
    ...base,
    output: { ...base.output, classValues },
    provenance: { format: 'pytorch', file, ...(maskValues !== null ? { maskValues } : {}) },
  };
  return { graph, architecture, meta, source: { format: 'pytorch', path: file } };
}

/**
 * Load a `.pth`/`.pt` milesial U-Net checkpoint.
 *
 * The pickle is read by a restricted unpickler: only the globals a state_dict needs are resolved; anything else
 * (`os.system`, `builtins.eval`, …) is refused with ERR_UNSAFE_PICKLE and never executed.
 * @param path the checkpoint file
 * @throws {UnetError} ERR_UNSAFE_PICKLE, ERR_MODEL_FORMAT (truncated, not a zip, not a U-Net), ERR_IO (unreadable)
 */
export async function loadPytorch(path: string): Promise<Model> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (cause) {
    throw new UnetError(ErrorCode.IO, `${path}: cannot read the checkpoint (${(cause as Error).message})`, { cause });
  }
  return unetFromCheckpoint(readTorchCheckpoint(buf, path), path);
}
