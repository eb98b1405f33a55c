/**
 * The native model format: a folder with `model.json` (metadata + architecture or serialized graph) and a
 * safetensors weights file. See README "Native model format" for the schema.
 *
 * The reader validates every field once and reports problems as ERR_MODEL_FORMAT errors naming the file and the
 * field (`model.json: Expected one of 'transpose', 'bilinear' for architecture.upMode but received "up"`).
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { ErrorCode, UnetError, describeValue, modelFormatError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Graph, GraphNode, SerializedGraph, ValueInfo } from '../graph/ir.js';
import { COORDINATE_MODES, CONV_PADDING_MODES, NEAREST_ROUNDINGS, OP_NAMES, PAD_MODES, RESIZE_MODES } from '../graph/ir.js';
import { topologicalOrder } from '../graph/graph.js';
import type { Model, ModelInputMeta, ModelMeta, ModelOutputMeta, UnetArchitecture } from './model.js';
import { COLOR_MODES, OUTPUT_ACTIVATIONS, RESIZE_POLICIES, UP_MODES, defaultMeta } from './model.js';
import { readSafetensors, writeSafetensors, type WriteDtype } from './safetensors.js';
import { buildUnet, resolveUnetConfig, unetWeightShapes } from './unet.js';

/** The `format` string of model.json. */
export const NATIVE_FORMAT = 'unet-pipeline/model';
/** The `formatVersion` this code reads and writes. */
export const NATIVE_FORMAT_VERSION = 1;
/** Largest model.json accepted (graphs of thousands of nodes stay far below). */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/** Resolve a model folder or model.json path to the model.json path. */
export async function resolveModelJson(path: string): Promise<string> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    throw new UnetError(ErrorCode.IO, `${path}: cannot read the model (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return s.isDirectory() ? join(path, 'model.json') : path;
}

/**
 * Load a native model (a folder containing model.json, or the model.json path).
 * @throws {UnetError} ERR_MODEL_FORMAT for invalid model.json / weights (naming the file and field), ERR_IO when unreadable
 */
export async function loadNative(path: string): Promise<Model> {
  const jsonPath = await resolveModelJson(path);
  let text: string;
  try {
    const { size } = await stat(jsonPath);
    if (size > MAX_MODEL_JSON_BYTES) throw modelFormatError(jsonPath, `model.json is ${size} bytes; the limit is ${MAX_MODEL_JSON_BYTES}`);
    text = await readFile(jsonPath, 'utf8');
  } catch (e) {
    if (e instanceof UnetError) throw e;
    throw new UnetError(ErrorCode.IO, `${jsonPath}: cannot read model.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw modelFormatError(jsonPath, `invalid JSON (${(e as Error).message})`, e);
  }
  const parsed = parseModelJson(doc, jsonPath);
  const weightsPath = resolveWeightsPath(jsonPath, parsed.weights);
  const { tensors } = await readSafetensors(weightsPath);
  let graph: Graph;
  if (parsed.architecture) {
    graph = buildUnet(parsed.architecture, { weights: tensors, source: weightsPath });
  } else {
    graph = { ...parsed.graph!, initializers: tensors };
    try {
      topologicalOrder(graph);
    } catch (e) {
      throw modelFormatError(jsonPath, `graph: ${(e as Error).message}`, e);
    }
  }
  return { graph, architecture: parsed.architecture, meta: parsed.meta, source: { format: 'native', path: jsonPath } };
}

function resolveWeightsPath(jsonPath: string, weights: string): string {
  const dir = dirname(resolve(jsonPath));
  const p = resolve(dir, weights);
  if (isAbsolute(weights) || !(p === dir || p.startsWith(dir + sep))) {
    throw modelFormatError(jsonPath, `Expected weights to be a file name inside the model folder but received ${describeValue(weights)}`);
  }
  return normalize(p);
}

/** The validated content of a model.json. */
export interface ParsedModelJson {
  readonly weights: string;
  readonly architecture: UnetArchitecture | null;
  readonly graph: SerializedGraph | null;
  readonly meta: ModelMeta;
}

/**
 * Validate a parsed model.json document.
 * @param file name used in messages
 * @throws {UnetError} ERR_MODEL_FORMAT naming the file and the field
 */
export function parseModelJson(doc: unknown, file = 'model.json'): ParsedModelJson {
  const r = new Reader(file);
  const o = r.object(doc, '(root)');
  if (o.format !== NATIVE_FORMAT) r.fail('format', `"${NATIVE_FORMAT}"`, o.format);
  if (o.formatVersion !== NATIVE_FORMAT_VERSION) r.fail('formatVersion', String(NATIVE_FORMAT_VERSION), o.formatVersion);
  const weights = o.weights === undefined ? 'model.safetensors' : r.string(o.weights, 'weights');
  const hasArch = o.architecture !== undefined && o.architecture !== null;
  const hasGraph = o.graph !== undefined && o.graph !== null;
  if (hasArch === hasGraph) r.fail('architecture/graph', 'exactly one of "architecture" and "graph"', hasArch ? { raw: 'both' } : { raw: 'neither' });
  let architecture: UnetArchitecture | null = null;
  let graph: SerializedGraph | null = null;
  if (hasArch) {
    const a = r.object(o.architecture, 'architecture');
    if (a.type !== 'unet') r.fail('architecture.type', '"unet"', a.type);
    const cfg = {
      inChannels: r.int(a.inChannels, 'architecture.inChannels', 1),
      classes: r.int(a.classes, 'architecture.classes', 1),
      base: r.int(a.base, 'architecture.base', 1),
      depth: r.int(a.depth, 'architecture.depth', 1),
      upMode: r.choice(a.upMode, 'architecture.upMode', UP_MODES),
    };
    try {
      architecture = resolveUnetConfig(cfg);
    } catch (e) {
      throw modelFormatError(file, `architecture: ${(e as Error).message}`, e);
    }
  } else {
    graph = parseGraphJson(o.graph, r);
  }
  const channels = architecture?.inChannels ?? (graph!.inputs[0]?.shape[1] ?? 3);
  const classes = architecture?.classes ?? 1;
  const d = defaultMeta(typeof channels === 'number' ? channels : 3, classes);
  const meta: ModelMeta = {
    name: o.name === undefined ? 'model' : r.string(o.name, 'name'),
    description: o.description === undefined || o.description === null ? '' : r.string(o.description, 'description'),
    input: parseInputMeta(o.input, d.input, r, architecture),
    output: parseOutputMeta(o.output, d.output, r),
    provenance: o.provenance === undefined || o.provenance === null ? {} : r.object(o.provenance, 'provenance'),
  };
  return { weights, architecture, graph, meta };
}

function parseInputMeta(v: unknown, d: ModelInputMeta, r: Reader, arch: UnetArchitecture | null): ModelInputMeta {
  if (v === undefined || v === null) return { ...d, multiple: arch ? 2 ** arch.depth : d.multiple };
  const o = r.object(v, 'input');
  const channels = o.channels === undefined ? d.channels : r.int(o.channels, 'input.channels', 1);
  if (arch && channels !== arch.inChannels) r.fail('input.channels', `${arch.inChannels} (architecture.inChannels)`, channels);
  const vec = (x: unknown, name: string, def: number) => (x === undefined ? new Array<number>(channels).fill(def) : r.numbers(x, name, channels));
  const std = vec(o.std, 'input.std', 1);
  std.forEach((s, i) => s > 0 || r.fail(`input.std[${i}]`, 'a positive number', s));
  const size = o.size === undefined || o.size === null ? null : (r.numbers(o.size, 'input.size', 2) as [number, number]);
  if (size) size.forEach((s, i) => (Number.isInteger(s) && s >= 1) || r.fail(`input.size[${i}]`, 'a positive integer', s));
  return {
    channels,
    colorMode: o.colorMode === undefined ? (channels === 3 ? 'rgb' : 'grayscale') : r.choice(o.colorMode, 'input.colorMode', COLOR_MODES),
    mean: vec(o.mean, 'input.mean', 0),
    std,
    resize: o.resize === undefined ? d.resize : r.choice(o.resize, 'input.resize', RESIZE_POLICIES),
    multiple: o.multiple === undefined ? (arch ? 2 ** arch.depth : d.multiple) : r.int(o.multiple, 'input.multiple', 1),
    size,
    tileSize: o.tileSize === undefined ? d.tileSize : r.int(o.tileSize, 'input.tileSize', 1),
    tileOverlap: o.tileOverlap === undefined ? d.tileOverlap : r.int(o.tileOverlap, 'input.tileOverlap', 0),
  };
}

function parseOutputMeta(v: unknown, d: ModelOutputMeta, r: Reader): ModelOutputMeta {
  if (v === undefined || v === null) return d;
  const o = r.object(v, 'output');
  const threshold = o.threshold === undefined ? d.threshold : r.number(o.threshold, 'output.threshold');
  const labels = o.labels === undefined || o.labels === null ? null : r.array(o.labels, 'output.labels').map((l, i) => r.string(l, `output.labels[${i}]`));
  const palette =
    o.palette === undefined || o.palette === null
      ? null
      : r.array(o.palette, 'output.palette').map((c, i) => {
          const rgb = r.numbers(c, `output.palette[${i}]`, 3);
          rgb.forEach((x, k) => (Number.isInteger(x) && x >= 0 && x <= 255) || r.fail(`output.palette[${i}][${k}]`, 'an integer in 0..255', x));
          return rgb as [number, number, number];
        });
  const classValues = o.classValues === undefined || o.classValues === null ? null : r.array(o.classValues, 'output.classValues').map((x, i) => r.number(x, `output.classValues[${i}]`));
  return {
    activation: o.activation === undefined ? d.activation : r.choice(o.activation, 'output.activation', OUTPUT_ACTIVATIONS),
    threshold,
    labels,
    palette,
    classValues,
  };
}

/** Field-by-field reader producing ERR_MODEL_FORMAT errors with "expected X but received Y". */
class Reader {
  constructor(readonly file: string) {}
  fail(field: string, expected: string, received: unknown): never {
    const shown = typeof received === 'object' && received !== null && 'raw' in received ? (received as { raw: string }).raw : describeValue(received);
    throw modelFormatError(this.file, `Expected ${expected} for ${field} but received ${shown}`);
  }
  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'an object', v);
    return v as Record<string, unknown>;
  }
  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'an array', v);
    return v as unknown[];
  }
  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'a string', v);
    return v as string;
  }
  number(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, 'a finite number', v);
    return v as number;
  }
  int(v: unknown, field: string, min: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(field, `an integer >= ${min}`, v);
    return v as number;
  }
  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'a boolean', v);
    return v as boolean;
  }
  numbers(v: unknown, field: string, n: number): number[] {
    const a = this.array(v, field);
    if (a.length !== n) this.fail(field, `an array of ${n} numbers`, v);
    return a.map((x, i) => this.number(x, `${field}[${i}]`));
  }
  choice<T extends string>(v: unknown, field: string, choices: readonly T[]): T {
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) this.fail(field, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, v);
    return v as T;
  }
}

/** How each attribute of each op is read from JSON. */
type AttrKind = 'pair' | 'pads' | 'int' | 'bool' | 'number' | 'bound' | 'activation' | 'intOrNull' | 'resizeTarget' | readonly string[];
const ATTRS: Record<string, Record<string, AttrKind>> = {
  conv2d: { stride: 'pair', pads: 'pads', dilation: 'pair', groups: 'int', paddingMode: CONV_PADDING_MODES, activation: 'activation' },
  convTranspose2d: { stride: 'pair', padding: 'pair', outputPadding: 'pair', dilation: 'pair', groups: 'int', activation: 'activation' },
  maxPool2d: { kernelSize: 'pair', stride: 'pair', padding: 'pair', dilation: 'pair', ceilMode: 'bool' },
  avgPool2d: { kernelSize: 'pair', stride: 'pair', padding: 'pair', ceilMode: 'bool', countIncludePad: 'bool', divisorOverride: 'intOrNull' },
  batchNorm: { eps: 'number' },
  leakyRelu: { slope: 'number' },
  clip: { min: 'bound', max: 'bound' },
  softmax: { axis: 'int' },
  concat: { axis: 'int' },
  pad: { pads: 'pads', mode: PAD_MODES, value: 'number' },
  centerPad: { value: 'number' },
  resize: { mode: RESIZE_MODES, coordinateMode: COORDINATE_MODES, nearestRounding: NEAREST_ROUNDINGS, target: 'resizeTarget' },
};
/** Number of inputs each op accepts: [min, max]. */
const ARITY: Record<string, [number, number]> = {
  conv2d: [2, 3], convTranspose2d: [2, 3], batchNorm: [5, 5], concat: [1, Infinity], centerPad: [2, 2],
  add: [2, 2], sub: [2, 2], mul: [2, 2], div: [2, 2], resize: [1, 2],
};

function parseGraphJson(v: unknown, r: Reader): SerializedGraph {
  const g = r.object(v, 'graph');
  const inputs: ValueInfo[] = r.array(g.inputs, 'graph.inputs').map((x, i) => {
    const o = r.object(x, `graph.inputs[${i}]`);
    const shape = r.array(o.shape, `graph.inputs[${i}].shape`).map((d, k) => (d === null ? null : r.int(d, `graph.inputs[${i}].shape[${k}]`, 1)));
    return { name: r.string(o.name, `graph.inputs[${i}].name`), shape };
  });
  const outputs = r.array(g.outputs, 'graph.outputs').map((x, i) => r.string(x, `graph.outputs[${i}]`));
  const nodes = r.array(g.nodes, 'graph.nodes').map((x, i) => parseNode(x, `graph.nodes[${i}]`, r));
  return { inputs, outputs, nodes };
}

function parseNode(v: unknown, field: string, r: Reader): GraphNode {
  const o = r.object(v, field);
  const op = r.choice(o.op, `${field}.op`, OP_NAMES);
  const name = r.string(o.name, `${field}.name`);
  const at = `${field} (${op}[${name}])`;
  const inputs = r.array(o.inputs, `${at}.inputs`).map((x, k) => r.string(x, `${at}.inputs[${k}]`));
  const outputs = r.array(o.outputs, `${at}.outputs`).map((x, k) => r.string(x, `${at}.outputs[${k}]`));
  const [lo, hi] = ARITY[op] ?? [1, 1];
  if (inputs.length < lo || inputs.length > hi) r.fail(`${at}.inputs`, hi === Infinity ? `at least ${lo} inputs` : lo === hi ? `${lo} input(s)` : `${lo} to ${hi} inputs`, { raw: `${inputs.length}` });
  if (outputs.length !== 1) r.fail(`${at}.outputs`, 'exactly 1 output', { raw: `${outputs.length}` });
  const raw = o.attrs === undefined ? {} : r.object(o.attrs, `${at}.attrs`);
  const attrs: Record<string, unknown> = {};
  for (const [k, kind] of Object.entries(ATTRS[op] ?? {})) {
    const f = `${at}.attrs.${k}`;
    const x = raw[k];
    if (Array.isArray(kind)) attrs[k] = r.choice(x, f, kind as readonly string[]);
    else if (kind === 'pair') {
      const p = r.numbers(x, f, 2);
      p.forEach((n, j) => (Number.isInteger(n) && n >= 0) || r.fail(`${f}[${j}]`, 'a non-negative integer', n));
      attrs[k] = p;
    } else if (kind === 'pads') {
      const p = r.object(x, f);
      attrs[k] = { top: r.number(p.top, `${f}.top`), bottom: r.number(p.bottom, `${f}.bottom`), left: r.number(p.left, `${f}.left`), right: r.number(p.right, `${f}.right`) };
    } else if (kind === 'int') attrs[k] = typeof x === 'number' && Number.isInteger(x) ? x : r.fail(f, 'an integer', x);
    else if (kind === 'bool') attrs[k] = r.bool(x, f);
    else if (kind === 'number') attrs[k] = r.number(x, f);
    else if (kind === 'bound') attrs[k] = x === null ? (k === 'min' ? -Infinity : Infinity) : r.number(x, f);
    else if (kind === 'intOrNull') attrs[k] = x === null || x === undefined ? null : r.int(x, f, 1);
    else if (kind === 'activation') {
      const a = r.object(x, f);
      const kindName = r.choice(a.kind, `${f}.kind`, ['none', 'relu', 'leakyRelu', 'sigmoid'] as const);
      attrs[k] = kindName === 'leakyRelu' ? { kind: kindName, slope: r.number(a.slope, `${f}.slope`) } : { kind: kindName };
    } else if (kind === 'resizeTarget') {
      const t = r.object(x, f);
      const tk = r.choice(t.kind, `${f}.kind`, ['size', 'scale', 'like'] as const);
      attrs[k] = tk === 'size' ? { kind: tk, size: r.numbers(t.size, `${f}.size`, 2) } : tk === 'scale' ? { kind: tk, scale: r.numbers(t.scale, `${f}.scale`, 2) } : { kind: tk };
    }
  }
  if (op === 'conv2d' || op === 'convTranspose2d') {
    if (!((attrs.groups as number) >= 1)) r.fail(`${at}.attrs.groups`, 'an integer >= 1', attrs.groups);
    for (const k of ['stride', 'dilation'] as const) (attrs[k] as number[]).forEach((n, j) => n >= 1 || r.fail(`${at}.attrs.${k}[${j}]`, 'an integer >= 1', n));
  }
  if (op === 'maxPool2d' || op === 'avgPool2d') {
    for (const k of ['kernelSize', 'stride'] as const) (attrs[k] as number[]).forEach((n, j) => n >= 1 || r.fail(`${at}.attrs.${k}[${j}]`, 'an integer >= 1', n));
  }
  return { op, name, inputs, outputs, attrs } as GraphNode;
}

/** Graph JSON (Infinity bounds of clip written as null). */
export function serializeGraph(graph: SerializedGraph): SerializedGraph {
  return JSON.parse(JSON.stringify({ inputs: graph.inputs, outputs: graph.outputs, nodes: graph.nodes }, (_k, v) => (v === Infinity || v === -Infinity ? null : v)));
}

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /** Stored weight type; default 'F32'. */
  dtype?: WriteDtype;
  /** Weights file name inside the folder; default 'model.safetensors'. */
  weights?: string;
}

/**
 * Save a model as a native folder (`dir/model.json` + `dir/model.safetensors`), creating `dir` if needed. A model
 * built from a U-Net architecture whose graph still holds every milesial weight is saved by architecture; any
 * other graph (imported, or optimized) is saved as a serialized graph.
 * @returns the model.json path
 */
export async function saveModel(model: Model, dir: string, options: SaveModelOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const weightsName = options.weights ?? 'model.safetensors';
  let tensors: Map<string, Tensor>;
  let architecture: UnetArchitecture | null = null;
  let graph: SerializedGraph | null = null;
  const unetNames = model.architecture ? [...unetWeightShapes(model.architecture).keys()] : null;
  if (model.architecture && unetNames!.every((n) => model.graph.initializers.has(n))) {
    architecture = model.architecture;
    tensors = new Map(unetNames!.map((n) => [n, model.graph.initializers.get(n)!]));
  } else {
    graph = serializeGraph(model.graph);
    tensors = model.graph.initializers;
  }
  const doc = {
    format: NATIVE_FORMAT,
    formatVersion: NATIVE_FORMAT_VERSION,
    name: model.meta.name,
    description: model.meta.description,
    weights: weightsName,
    architecture,
    graph,
    input: model.meta.input,
    output: model.meta.output,
    provenance: model.meta.provenance,
  };
  await writeSafetensors(join(dir, weightsName), tensors, { dtype: options.dtype ?? 'F32', metadata: { format: 'pt' } });
  const jsonPath = join(dir, 'model.json');
  const tmp = `${jsonPath}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(doc, null, 2) + '\n');
  await rename(tmp, jsonPath);
  return jsonPath;
}
