/**
 * THE one place where a Model becomes something that runs. The pipeline only sees `Engine`; it is the pooled
 * session (worker threads over one shared WebAssembly memory, BN folded and activations fused once, a static
 * memory plan per input shape, cached — tiles of one size reuse it).
 */
import { ErrorCode, UnetError } from '../errors.js';
import { inferShapes } from '../graph/graph.js';
import { loadModel } from '../models/load.js';
import type { Model } from '../models/model.js';
import { createSession } from '../runtime/session.js';
import type { Tensor } from '../tensor/tensor.js';

/** Runs a model on NCHW tensors. */
export interface Engine {
  /** Output channels (classes) of the model's first output. */
  readonly classes: number;
  /** Run the model on `x` ([N, C, H, W]); resolves to its first output. */
  run(x: Tensor): Promise<Tensor>;
  /** Release threads and memory; `run` is refused afterwards. */
  close(): Promise<void>;
}

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /** Worker threads of the session. */
  readonly workers: number;
  /** Numeric mode of the session: 'fast' (Winograd for eligible 3×3 convs) or 'exact' (direct convs only). */
  readonly precision: 'exact' | 'fast';
}

/**
 * Start an engine for `model`.
 * @throws {UnetError} ERR_MODEL_FORMAT when the model's first output is not a 4-d map
 */
export async function createEngine(model: Model, options: EngineOptions): Promise<Engine> {
  const graph = model.graph;
  const input = graph.inputs[0];
  if (!input) throw new UnetError(ErrorCode.MODEL_FORMAT, `${model.meta.name}: the graph has no input`);
  const outputName = graph.outputs[0];
  if (outputName === undefined) throw new UnetError(ErrorCode.MODEL_FORMAT, `${model.meta.name}: the graph has no output`);
  // Output channels, from shape inference at a size the model accepts (its declared size, else a stride multiple).
  const m = Math.max(1, model.meta.input.multiple) * 2;
  const declared = input.shape;
  const probeShape = [1, model.meta.input.channels, declared[2] ?? m, declared[3] ?? m];
  const probeModel = model.specialize && declared.some((d) => d === null) ? model.specialize(probeShape) : model;
  const outShape = inferShapes(probeModel.graph, { [input.name]: probeShape }).get(outputName)!;
  if (outShape.length !== 4) {
    throw new UnetError(ErrorCode.MODEL_FORMAT, `${model.meta.name}: expected a 4-d output map but the model outputs [${outShape.join(',')}]`);
  }
  const session = await createSession(model, { workers: options.workers, precision: options.precision });
  return {
    classes: outShape[1]!,
    run: (x: Tensor) => session.run(x),
    close: () => session.close(),
  };
}

/**
 * Load a model for the pipeline from a path (folder, model.json, .pth, .onnx).
 * @throws {UnetError} ERR_IO / ERR_MODEL_FORMAT naming the path
 */
export async function loadEngineModel(file: string): Promise<Model> {
  return loadModel(file);
}
