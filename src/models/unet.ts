/**
 * The milesial/Pytorch-UNet architecture as a graph, generalized to `depth` Down blocks.
 *
 * milesial (unet_model.py / unet_parts.py), with c_i = base·2^i and factor = 2 in bilinear mode, else 1:
 *   inc   = DoubleConv(inChannels, c_0)
 *   down_i = MaxPool2d(2) + DoubleConv(c_{i-1}, c_i)              (the last one: c_D / factor)
 *   up_i  = Up(c_{D-i+1}, c_{D-i} / factor)                       (the last one: c_0)
 *           transpose: ConvTranspose2d(in, in/2, 2, stride 2), DoubleConv(in, out)
 *           bilinear:  Upsample(scale 2, bilinear, align_corners=True), DoubleConv(in, out, mid = in/2)
 *           then x1 is padded to the skip's size (F.pad [dx/2, dx-dx/2, dy/2, dy-dy/2]) and cat([skip, x1], 1)
 *   outc  = Conv2d(c_0, classes, 1) with bias
 *   DoubleConv(in, out, mid) = Conv3×3 pad 1 no bias, BN, ReLU, Conv3×3 pad 1 no bias, BN, ReLU
 * Node names are the module paths and weight names the state_dict keys, so a milesial checkpoint maps 1:1.
 */
import { formatShape, invalidParameter, invalidType, modelFormatError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { Graph, GraphNode } from '../graph/ir.js';
import { conv2dAttrs, convTranspose2dAttrs, symmetricPads } from '../graph/ir.js';
import type { UnetArchitecture, UpMode } from './model.js';
import { UP_MODES } from './model.js';

/** User-facing U-Net configuration (everything but the channel counts optional). */
export interface UnetConfig {
  /** Input channels (milesial `n_channels`), >= 1. */
  inChannels: number;
  /** Output channels (milesial `n_classes`), >= 1. */
  classes: number;
  /** Width of the first DoubleConv, >= 1 (even in bilinear mode); default 64. */
  base?: number;
  /** Number of Down blocks, 1..8; default 4. */
  depth?: number;
  /** Decoder up-sampling; default 'transpose'. */
  upMode?: UpMode;
}

/** BatchNorm eps of milesial's nn.BatchNorm2d. */
export const UNET_BN_EPS = 1e-5;

/**
 * Validate a configuration and fill its defaults.
 * @throws {TypeError} ERR_INVALID_ARG_TYPE for non-integers / wrong types
 * @throws {RangeError} ERR_INVALID_ARG_VALUE for values out of range (depth 1..8, channels >= 1, odd base in bilinear mode)
 */
export function resolveUnetConfig(config: UnetConfig | UnetArchitecture): UnetArchitecture {
  const where = 'unet';
  if (typeof config !== 'object' || config === null) throw invalidType(where, 'config', 'a U-Net configuration object', config);
  const int = (name: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidType(where, name, `an integer in ${min}..${max}`, v);
    if (!Number.isInteger(v) || v < min || v > max) throw invalidParameter(where, name, `an integer in ${min}..${max}`, v);
    return v;
  };
  const inChannels = int('inChannels', config.inChannels, 1, 4096);
  const classes = int('classes', config.classes, 1, 4096);
  const base = int('base', config.base ?? 64, 1, 4096);
  const depth = int('depth', config.depth ?? 4, 1, 8);
  const upMode = config.upMode ?? 'transpose';
  if (!UP_MODES.includes(upMode)) {
    throw invalidParameter(where, 'upMode', UP_MODES.map((m) => `'${m}'`).join(' or '), upMode);
  }
  if (upMode === 'bilinear' && base % 2 !== 0) {
    throw invalidParameter(where, 'base', "an even number in 'bilinear' mode (the deepest block has base·2^depth/2 channels)", base);
  }
  return { type: 'unet', inChannels, classes, base, depth, upMode };
}

interface ConvSpec {
  readonly kind: 'conv' | 'convT' | 'bn';
  readonly prefix: string;
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly bias: boolean;
}

/** Channel plan: c_i and the per-block in/out (mid) counts. */
function plan(a: UnetArchitecture) {
  const factor = a.upMode === 'bilinear' ? 2 : 1;
  const c = Array.from({ length: a.depth + 1 }, (_, i) => a.base * 2 ** i);
  const down = Array.from({ length: a.depth }, (_, j) => {
    const i = j + 1;
    return { i, cin: c[i - 1]!, cout: i === a.depth ? c[i]! / factor : c[i]! };
  });
  const up = Array.from({ length: a.depth }, (_, j) => {
    const i = j + 1;
    const cin = c[a.depth - i + 1]!;
    return { i, cin, cout: i === a.depth ? c[0]! : c[a.depth - i]! / factor, mid: a.upMode === 'bilinear' ? cin / 2 : undefined };
  });
  return { c, down, up };
}

function doubleConvSpecs(prefix: string, cin: number, cout: number, mid = cout): ConvSpec[] {
  return [
    { kind: 'conv', prefix: `${prefix}.double_conv.0`, cin, cout: mid, k: 3, bias: false },
    { kind: 'bn', prefix: `${prefix}.double_conv.1`, cin: mid, cout: mid, k: 0, bias: true },
    { kind: 'conv', prefix: `${prefix}.double_conv.3`, cin: mid, cout, k: 3, bias: false },
    { kind: 'bn', prefix: `${prefix}.double_conv.4`, cin: cout, cout, k: 0, bias: true },
  ];
}

function layerSpecs(a: UnetArchitecture): ConvSpec[] {
  const p = plan(a);
  const specs: ConvSpec[] = [...doubleConvSpecs('inc', a.inChannels, a.base)];
  for (const d of p.down) specs.push(...doubleConvSpecs(`down${d.i}.maxpool_conv.1`, d.cin, d.cout));
  for (const u of p.up) {
    if (a.upMode === 'transpose') specs.push({ kind: 'convT', prefix: `up${u.i}.up`, cin: u.cin, cout: u.cin / 2, k: 2, bias: true });
    specs.push(...doubleConvSpecs(`up${u.i}.conv`, u.cin, u.cout, u.mid));
  }
  specs.push({ kind: 'conv', prefix: 'outc.conv', cin: a.base, cout: a.classes, k: 1, bias: true });
  return specs;
}

/**
 * The weight names and shapes of a U-Net, exactly milesial's state_dict keys (without num_batches_tracked), in
 * module order.
 */
export function unetWeightShapes(config: UnetConfig | UnetArchitecture): Map<string, number[]> {
  const a = resolveUnetConfig(config);
  const m = new Map<string, number[]>();
  for (const s of layerSpecs(a)) {
    if (s.kind === 'bn') {
      for (const k of ['weight', 'bias', 'running_mean', 'running_var']) m.set(`${s.prefix}.${k}`, [s.cout]);
    } else {
      m.set(`${s.prefix}.weight`, s.kind === 'conv' ? [s.cout, s.cin, s.k, s.k] : [s.cin, s.cout, s.k, s.k]);
      if (s.bias) m.set(`${s.prefix}.bias`, [s.cout]);
    }
  }
  return m;
}

/** Options of {@link buildUnet}. */
export interface BuildUnetOptions {
  /**
   * Weights by state_dict key (milesial names). Missing keys, wrong shapes and unknown keys are refused
   * (`num_batches_tracked` entries are ignored). When omitted, weights are initialized deterministically from
   * `seed` (PyTorch-like uniform ±1/√fanIn for convs; identity BatchNorm).
   */
  weights?: Map<string, Tensor> | Record<string, Tensor>;
  /** Seed of the default initialization; default 0. */
  seed?: number;
  /** File or source named in weight errors; default 'weights'. */
  source?: string;
}

/**
 * Build a milesial/Pytorch-UNet as a graph IR with input `input` [N, inChannels, H, W] (any N, H, W >= 2^depth)
 * and output `output` [N, classes, H, W]. BatchNorm and ReLU are separate nodes; run `optimizeGraph` to fold them.
 * @throws {TypeError|RangeError} for an invalid configuration (see {@link resolveUnetConfig})
 * @throws {UnetError} ERR_MODEL_FORMAT when given weights are missing, of the wrong shape or unknown
 */
export function buildUnet(config: UnetConfig | UnetArchitecture, options: BuildUnetOptions = {}): Graph {
  const a = resolveUnetConfig(config);
  const shapes = unetWeightShapes(a);
  const initializers = options.weights === undefined ? initWeights(shapes, options.seed ?? 0) : checkWeights(shapes, options.weights, options.source ?? 'weights');
  const nodes: GraphNode[] = [];
  const p = plan(a);

  const conv = (prefix: string, x: string, k: number, bias: boolean): string => {
    nodes.push({
      op: 'conv2d',
      name: prefix,
      inputs: bias ? [x, `${prefix}.weight`, `${prefix}.bias`] : [x, `${prefix}.weight`],
      outputs: [prefix],
      attrs: conv2dAttrs({ pads: symmetricPads((k - 1) / 2, (k - 1) / 2) }),
    });
    return prefix;
  };
  const doubleConv = (prefix: string, x: string): string => {
    let y = x;
    for (const [c, b, r] of [[0, 1, 2], [3, 4, 5]] as const) {
      y = conv(`${prefix}.double_conv.${c}`, y, 3, false);
      const bn = `${prefix}.double_conv.${b}`;
      nodes.push({
        op: 'batchNorm',
        name: bn,
        inputs: [y, `${bn}.weight`, `${bn}.bias`, `${bn}.running_mean`, `${bn}.running_var`],
        outputs: [bn],
        attrs: { eps: UNET_BN_EPS },
      });
      const relu = `${prefix}.double_conv.${r}`;
      nodes.push({ op: 'relu', name: relu, inputs: [bn], outputs: [relu], attrs: {} });
      y = relu;
    }
    return y;
  };

  const skips: string[] = [doubleConv('inc', 'input')];
  for (const d of p.down) {
    const pool = `down${d.i}.maxpool_conv.0`;
    nodes.push({
      op: 'maxPool2d',
      name: pool,
      inputs: [skips[skips.length - 1]!],
      outputs: [pool],
      attrs: { kernelSize: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
    });
    skips.push(doubleConv(`down${d.i}.maxpool_conv.1`, pool));
  }
  let y = skips[a.depth]!;
  for (const u of p.up) {
    const up = `up${u.i}.up`;
    if (a.upMode === 'transpose') {
      nodes.push({
        op: 'convTranspose2d',
        name: up,
        inputs: [y, `${up}.weight`, `${up}.bias`],
        outputs: [up],
        attrs: convTranspose2dAttrs({ stride: [2, 2] }),
      });
    } else {
      nodes.push({
        op: 'resize',
        name: up,
        inputs: [y],
        outputs: [up],
        attrs: { mode: 'bilinear', coordinateMode: 'alignCorners', nearestRounding: 'floor', target: { kind: 'scale', scale: [2, 2] } },
      });
    }
    const skip = skips[a.depth - u.i]!;
    const pad = `up${u.i}.pad`;
    nodes.push({ op: 'centerPad', name: pad, inputs: [up, skip], outputs: [pad], attrs: { value: 0 } });
    const cat = `up${u.i}.cat`;
    nodes.push({ op: 'concat', name: cat, inputs: [skip, pad], outputs: [cat], attrs: { axis: 1 } });
    y = doubleConv(`up${u.i}.conv`, cat);
  }
  const out = conv('outc.conv', y, 1, true);
  nodes.push({ op: 'identity', name: 'output', inputs: [out], outputs: ['output'], attrs: {} });
  return {
    inputs: [{ name: 'input', shape: [null, a.inChannels, null, null] }],
    outputs: ['output'],
    nodes,
    initializers,
  };
}

function checkWeights(shapes: Map<string, number[]>, given: Map<string, Tensor> | Record<string, Tensor>, source: string): Map<string, Tensor> {
  const entries = given instanceof Map ? [...given] : Object.entries(given);
  const byName = new Map(entries);
  const out = new Map<string, Tensor>();
  const missing: string[] = [];
  for (const [name, shape] of shapes) {
    const t = byName.get(name);
    if (t === undefined) {
      missing.push(name);
      continue;
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw modelFormatError(source, `weight '${name}': expected shape ${formatShape(shape)} but received ${formatShape(t.shape)}`);
    }
    out.set(name, t);
  }
  if (missing.length > 0) {
    throw modelFormatError(source, `missing ${missing.length} U-Net weight(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  }
  const unknown = [...byName.keys()].filter((k) => !shapes.has(k) && !k.endsWith('num_batches_tracked'));
  if (unknown.length > 0) {
    throw modelFormatError(
      source,
      `unexpected weight(s) for this U-Net architecture: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''} ` +
        `(check depth, base and upMode)`,
    );
  }
  return out;
}

/** Deterministic initialization (mulberry32): convs uniform ±1/√fanIn, BN identity. */
function initWeights(shapes: Map<string, number[]>, seed: number): Map<string, Tensor> {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Map<string, Tensor>();
  const fanIns = new Map<string, number>();
  for (const [name, shape] of shapes) {
    // PyTorch's fan-in reads dim 1 for both layouts ([Cout, Cin/g, k, k] and the transposed [Cin, Cout/g, k, k]).
    if (shape.length === 4) fanIns.set(name.replace(/\.weight$/, ''), shape[1]! * shape[2]! * shape[3]!);
  }
  for (const [name, shape] of shapes) {
    const t = new Tensor(shape);
    const prefix = name.replace(/\.(weight|bias|running_mean|running_var)$/, '');
    const fanIn = fanIns.get(prefix);
    if (fanIn !== undefined) {
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < t.size; i++) t.data[i] = (rand() * 2 - 1) * bound;
    } else if (name.endsWith('.weight') || name.endsWith('running_var')) {
      t.data.fill(1);
    }
    out.set(name, t);
  }
  return out;
}
