/**
 * unet-pipeline: public exports only.
 */
export * from './errors.js';
export { Tensor, shapeSize, contiguousStrides } from './tensor/tensor.js';
export * from './ops/geometry.js';
export type { IntOrPair, Pair, Conv2dPadding, PaddingMode } from './ops/params.js';
export {
  conv2d, convTranspose2d, maxPool2d, avgPool2d, batchNorm2d, relu, leakyRelu, sigmoid, tanh, softmax, concat, pad, add, mul,
  interpolate, PAD_MODES, INTERPOLATE_MODES,
} from './ops/functional.js';
export type {
  BackendOption, Conv2dOptions, ConvTranspose2dOptions, MaxPool2dOptions, AvgPool2dOptions, BatchNorm2dOptions,
  LeakyReluOptions, PadOptions, InterpolateOptions,
} from './ops/functional.js';
export { registerBackend, setBackend, getBackend, listBackends } from './ops/backend.js';
export type { Backend } from './ops/backend.js';
export { referenceBackend } from './ops/reference/index.js';
export type {
  Graph, GraphNode, SerializedGraph, ValueInfo, OpName, NodeOf, FusedActivation, Pair2, CoordinateMode, ResizeMode,
  NearestRounding, ResizeAttrs, Conv2dAttrs, ConvTranspose2dAttrs, Conv2dNode, ConvTranspose2dNode,
} from './graph/ir.js';
export { OP_NAMES, nodeLabel, conv2dAttrs, convTranspose2dAttrs, symmetricPads, emptyGraph } from './graph/ir.js';
export { topologicalOrder, inferShapes, graphError } from './graph/graph.js';
export { runGraph, graphForShape } from './graph/execute.js';
export type { RunGraphOptions, GraphInputs } from './graph/execute.js';
export { foldBatchNorm, fuseActivations, optimizeGraph, pruneInitializers } from './graph/passes.js';
export { buildUnet, unetWeightShapes, resolveUnetConfig, UNET_BN_EPS } from './models/unet.js';
export type { UnetConfig, BuildUnetOptions } from './models/unet.js';
export type {
  Model, ModelMeta, ModelInputMeta, ModelOutputMeta, UnetArchitecture, UpMode, ColorMode, ResizePolicy, OutputActivation,
  ModelSourceFormat,
} from './models/model.js';
export { defaultMeta, UP_MODES } from './models/model.js';
export { loadModel, detectModelFormat } from './models/load.js';
export { saveModel, loadNative, parseModelJson, NATIVE_FORMAT, NATIVE_FORMAT_VERSION } from './models/native.js';
export type { SaveModelOptions } from './models/native.js';
export { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from './models/safetensors.js';
export type { SafetensorsContents, SafetensorsWriteOptions } from './models/safetensors.js';
export { createPipeline } from './pipeline/pipeline.js';
export type {
  Pipeline, SegmentResult, SegmentStats, SegmentTimings, SegmentOptions, SegmentInput, SegmentManyOptions, SegmentManyItem,
} from './pipeline/pipeline.js';
export {
  resolvePipelineOptions, DEFAULT_PIPELINE_OPTIONS, DEFAULT_MODEL_PATH, OUTPUT_KINDS, OUTPUT_KIND_NAMES, RESIZE_MODES,
  PRECISIONS, OVERLAY_FORMATS, PROB_BITS,
} from './pipeline/options.js';
export type {
  PipelineOptions, FilledPipelineOptions, OutputKind, OutputKindInfo, ResizeMode as PipelineResizeMode, Precision, OverlayFormat, ProbBits,
  PadMode as PipelinePadMode,
} from './pipeline/options.js';
export { encodeOutput, outputFileName, writeFileAtomic, cleanStaleTempFiles } from './pipeline/writers.js';
export type { EncodeOptions, EncodableResult } from './pipeline/writers.js';
export { decodeImage } from './pipeline/image.js';
export type { DecodedImage, DecodeOptions } from './pipeline/image.js';
export { WasmBackend, wasmBackend } from './kernels/backend.js';
export type { WasmBackendOptions } from './kernels/backend.js';
export {
  KernelMemory, KernelInstance, compileKernels, relaxedSimdSupported, conv2dDescriptor, convTranspose2dDescriptor,
  conv2dScratchBytes, depthwiseScratchBytes, convTranspose2dScratchBytes, usesDepthwise, ACTIVATIONS,
} from './kernels/index.js';
export type { Epilogue, EpilogueActivation, WorkRange, KernelDescriptor, KernelExports } from './kernels/index.js';
export { packConv2dWeights, packConvTranspose2dWeights, packedConv2dFloats, packedConvTranspose2dFloats } from './kernels/pack.js';
export { loadPytorch, extractStateDict, inferUnetArchitecture, unetFromCheckpoint, readTorchCheckpoint } from './models/pytorch/index.js';
export type { UnetStateDict } from './models/pytorch/index.js';
export {
  loadOnnx, onnxModel, readOnnx, importOnnx, SUPPORTED_ONNX_OPS, ONNX_PAD_MODES, ONNX_COORDINATE_MODES, ONNX_NEAREST_MODES,
  ONNX_RESIZE_MODES, DEFAULT_SPECIALIZATION_SIZE,
} from './models/onnx/index.js';
export type { LoadOnnxOptions, OnnxImport, OnnxInputShapes, OnnxModelData } from './models/onnx/index.js';
export { createSession, resolveSessionOptions } from './runtime/session.js';
export type { Session, SessionOptions, FilledSessionOptions, SessionPlanInfo } from './runtime/session.js';
export { watchFolder, resolveWatchOptions } from './watch/watch.js';
export type { WatchOptions, FilledWatchOptions, WatchEvent, WatchStats, FolderWatcher } from './watch/watch.js';
export { Ledger, LEDGER_FILE, contentHash } from './watch/ledger.js';
export type { LedgerRecord, LedgerStatus, LedgerOpenInfo } from './watch/ledger.js';
export {
  chooseConvAlgorithm, supportsWinograd, packWinogradWeights, packedWinogradFloats, winogradConv2d, winogradConv2dDescriptor,
  winogradScratchBytes, winogradBlockPanels, winogradCostNs, directCostNs, WINOGRAD_TILE,
} from './kernels/winograd.js';
export type { ConvAlgorithm, ConvPrecision, ConvAlgorithmOptions } from './kernels/winograd.js';
export type { SessionProfile, StepProfile } from './runtime/session.js';
export type { PlanStepInfo } from './runtime/plan.js';
export { formatProfile, profileByOp, profileSession, randomInput } from './runtime/profile.js';
export type { ModelProfile, ProfileOptions, ProfileRow } from './runtime/profile.js';
