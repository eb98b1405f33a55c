/**
 * THE one place where a Model becomes something that runs. The pipeline only sees `Engine`; swapping the
 * single-thread graph executor for the worker-pool session is a change to {@link createEngine} alone.
 */
import { ErrorCode, UnetError } from '../errors.js';
import { inferShapes } from '../graph/graph.js';
import { runGraph } from '../graph/execute.js';
import { optimizeGraph } from '../graph/passes.js';
// Registers the WebAssembly SIMD kernels as the default backend.
import '../kernels/backend.js';
import { loadModel } from '../models/load.js';
import type { Model } from '../models/model.js';
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
  /** Worker threads (used by the pooled session; the single-thread executor runs on the calling thread). */
  readonly workers: number;
}

/**
 * Start an engine for `model`.
 * @throws {UnetError} ERR_MODEL_FORMAT when the model's first output is not a 4-d map
 */
export async function createEngine(model: Model, options: EngineOptions): Promise<Engine> {
  void options.workers;
  // Fold BatchNorm into the convolutions and fuse activations once, not per tile.
  const graph = optimizeGraph(model.graph);
  const runnable: Model = { ...model, graph };
  const input = graph.inputs[0];
  if (!input) throw new UnetError(ErrorCode.MODEL_FORMAT, `${model.meta.name}: the graph has no input`);
  const outputName = graph.outputs[0];
  if (outputName === undefined) throw new UnetError(ErrorCode.MODEL_FORMAT, `${model.meta.name}: the graph has no output`);
  // Output channels, from shape inference on a small probe size (a multiple of the model's stride).
  const m = Math.max(1, model.meta.input.multiple) * 2;
  const probe = inferShapes(graph, { [input.name]: [1, model.meta.input.channels, m, m] });
  const outShape = probe.get(outputName)!;
  if (outShape.length !== 4) {
    throw new UnetError(ErrorCode.MODEL_FORMAT, `${model.meta.name}: expected a 4-d output map but the model outputs [${outShape.join(',')}]`);
  }
  let closed = false;
  return {
    classes: outShape[1]!,
    async run(x: Tensor): Promise<Tensor> {
      if (closed) throw new UnetError(ErrorCode.CLOSED, `${model.meta.name}: the engine is closed`);
      // Yield to the event loop between tiles so decoding and writing of other images progress.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return runGraph(runnable, { [input.name]: x })[outputName]!;
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}

/**
 * Load a model for the pipeline from a path (folder, model.json, .pth, .onnx).
 * @throws {UnetError} ERR_IO / ERR_MODEL_FORMAT naming the path
 */
export async function loadEngineModel(file: string): Promise<Model> {
  return loadModel(file);
}
