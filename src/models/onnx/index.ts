/**
 * Load an ONNX model (U-Net, U²-Net, ISNet and similar fully convolutional networks) as a {@link Model}.
 *
 * The file is decoded with the generated ONNX schema ({@link readOnnx}) and imported into the graph IR
 * ({@link importOnnx}). Shape sub-graphs are folded to constants for a concrete input shape; when the result
 * depends on that shape, the model carries `specialize(shape)` to import it again for another one.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode, UnetError } from '../../errors.js';
import type { Model } from '../model.js';
import { defaultMeta } from '../model.js';
import type { Graph } from '../../graph/ir.js';
import { importOnnx, type OnnxImport, type OnnxInputShapes } from './importer.js';
import { readOnnx, type OnnxModelData } from './reader.js';

export { readOnnx } from './reader.js';
export type { OnnxModelData, OnnxNode, OnnxTensor, OnnxAttribute } from './reader.js';
export {
  importOnnx, SUPPORTED_ONNX_OPS, ONNX_PAD_MODES, ONNX_COORDINATE_MODES, ONNX_NEAREST_MODES, ONNX_RESIZE_MODES,
} from './importer.js';
export type { OnnxImport, OnnxInputShapes } from './importer.js';

/** Spatial size used for dynamic H/W when no input shape is given (the graph is re-specialized on demand). */
export const DEFAULT_SPECIALIZATION_SIZE = 512;

/** Options of {@link loadOnnx}. */
export interface LoadOnnxOptions {
  /** Input shape(s) to specialize for; default: the declared shape (dynamic batch 1, dynamic H/W 512). */
  inputShape?: OnnxInputShapes;
}

/**
 * Build a Model from a decoded ONNX model.
 * @throws {UnetError} ERR_UNSUPPORTED_OP, ERR_GRAPH, ERR_MODEL_FORMAT; {RangeError} ERR_SHAPE_MISMATCH
 */
export function onnxModel(data: OnnxModelData, options: LoadOnnxOptions = {}): Model {
  const shapes = options.inputShape ?? defaultShapes(data);
  const imported = importOnnx(data, shapes);
  const graph = batchGeneric(data, imported);
  const first = graph.inputs[0];
  const channels = imported.inputShapes[first?.name ?? '']?.[1] ?? 3;
  const classes = imported.outputShapes[graph.outputs[0] ?? '']?.[1] ?? 1;
  const name = data.file.split(/[\\/]/).pop()!.replace(/\.[^.]*$/, '');
  const base = defaultMeta(channels, classes, name);
  // A model exported at a fixed H×W only takes that size: the pipeline resizes images to it ('fit').
  const declared = data.graph.inputs[0]?.dims;
  const fixedSize = declared && declared.length === 4 && declared[2] !== null && declared[3] !== null ? ([declared[2]!, declared[3]!] as [number, number]) : null;
  const meta = {
    ...base,
    input: fixedSize ? { ...base.input, resize: 'fit' as const, size: fixedSize } : base.input,
    provenance: {
      format: 'onnx',
      file: data.file,
      producer: data.producer,
      opset: data.opsets.get('') ?? 0,
      ...(imported.sizeDependent ? { specializedFor: imported.inputShapes } : {}),
    },
  };
  const model: Model = {
    graph,
    architecture: null,
    meta,
    source: { format: 'onnx', path: data.file },
    ...(imported.sizeDependent
      ? {
          specialize: (inputShape: readonly number[]): Model =>
            onnxModel(data, { inputShape: first ? { [first.name]: inputShape } : inputShape }),
        }
      : {}),
  };
  return model;
}

/**
 * A size-specialized graph usually depends on H and W only: exporters read the batch size just to pass it back
 * (Resize sizes [N, C, H', W'], Pad pads of 0 for N). When importing with another batch size gives the same nodes,
 * the batch dimension of a dynamic-batch input is left open (`null`), so one graph serves every batch size.
 */
function batchGeneric(data: OnnxModelData, imported: OnnxImport): Graph {
  const graph = imported.graph;
  const vi = data.graph.inputs;
  if (!imported.sizeDependent || vi.length !== 1 || !vi[0]!.dims || vi[0]!.dims[0] !== null) return graph;
  const input = graph.inputs[0]!;
  const shape = imported.inputShapes[input.name]!;
  let other: OnnxImport;
  try {
    other = importOnnx(data, { [input.name]: [shape[0]! + 1, ...shape.slice(1)] });
  } catch {
    return graph;
  }
  if (JSON.stringify(other.graph.nodes) !== JSON.stringify(graph.nodes)) return graph;
  return { ...graph, inputs: [{ name: input.name, shape: [null, ...input.shape.slice(1)] }] };
}

function defaultShapes(data: OnnxModelData): OnnxInputShapes {
  const out: Record<string, number[]> = {};
  for (const vi of data.graph.inputs) {
    if (!vi.dims) continue;
    out[vi.name] = vi.dims.map((d, i) => d ?? (i === 0 ? 1 : i >= vi.dims!.length - 2 ? DEFAULT_SPECIALIZATION_SIZE : 1));
  }
  return out;
}

/**
 * Load an `.onnx` file.
 * @throws {UnetError} ERR_IO (unreadable), ERR_MODEL_FORMAT (truncated, malformed, external data),
 *   ERR_UNSUPPORTED_OP (op type, node name, opset), ERR_GRAPH (cycle, missing input)
 */
export async function loadOnnx(path: string, options: LoadOnnxOptions = {}): Promise<Model> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (cause) {
    throw new UnetError(ErrorCode.IO, `${path}: cannot read the model (${(cause as Error).message})`, { cause });
  }
  return onnxModel(readOnnx(buf, path), options);
}
