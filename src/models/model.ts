/**
 * The `Model` every loader returns (native model.json, PyTorch .pth, ONNX) and every executor runs: a graph IR with
 * its weights, plus the metadata the pipeline needs (how to normalize input pixels, how to read the output).
 */
import type { Graph } from '../graph/ir.js';

/** Up-sampling of a milesial U-Net's decoder. */
export type UpMode = 'transpose' | 'bilinear';
export const UP_MODES: readonly UpMode[] = Object.freeze(['transpose', 'bilinear']);

/** A milesial/Pytorch-UNet architecture, generalized to `depth` Down blocks (milesial's original: depth 4, base 64). */
export interface UnetArchitecture {
  readonly type: 'unet';
  /** Input channels (milesial `n_channels`). */
  readonly inChannels: number;
  /** Output channels (milesial `n_classes`). */
  readonly classes: number;
  /** Channels of the first DoubleConv (64 in milesial). */
  readonly base: number;
  /** Number of Down blocks (4 in milesial). */
  readonly depth: number;
  readonly upMode: UpMode;
}

export type ColorMode = 'grayscale' | 'rgb';
export const COLOR_MODES: readonly ColorMode[] = Object.freeze(['grayscale', 'rgb']);
export type ResizePolicy = 'native' | 'fit' | 'scale';
export const RESIZE_POLICIES: readonly ResizePolicy[] = Object.freeze(['native', 'fit', 'scale']);
export type OutputActivation = 'sigmoid' | 'softmax';
export const OUTPUT_ACTIVATIONS: readonly OutputActivation[] = Object.freeze(['sigmoid', 'softmax']);

/** How to turn pixels into the network's input (`model.json` `"input"`). */
export interface ModelInputMeta {
  readonly channels: number;
  readonly colorMode: ColorMode;
  /** Per channel, applied after mapping pixels to [0, 1]: (v - mean[c]) / std[c]. */
  readonly mean: number[];
  readonly std: number[];
  /** 'native' pads to a multiple of `multiple`; 'fit' resizes to `size`; 'scale' scales by the model's choice. */
  readonly resize: ResizePolicy;
  readonly multiple: number;
  /** [h, w] for 'fit' (and the default size of `inspect`), or null. */
  readonly size: [number, number] | null;
  readonly tileSize: number;
  readonly tileOverlap: number;
}

/** How to read the network's output (`model.json` `"output"`). */
export interface ModelOutputMeta {
  readonly activation: OutputActivation;
  readonly threshold: number;
  readonly labels: string[] | null;
  readonly palette: [number, number, number][] | null;
  /** Pixel value written for each class in class maps, or null for the class index. */
  readonly classValues: number[] | null;
}

/** Everything in model.json except the weights file name and the graph/architecture. */
export interface ModelMeta {
  readonly name: string;
  readonly description: string;
  readonly input: ModelInputMeta;
  readonly output: ModelOutputMeta;
  readonly provenance: Record<string, unknown>;
}

/** Where a model came from. */
export type ModelSourceFormat = 'native' | 'pytorch' | 'onnx' | 'builder';

/** A loaded model. */
export interface Model {
  /** The graph to execute (weights in `graph.initializers`). */
  readonly graph: Graph;
  /** The U-Net architecture it was built from, or null for imported graphs. */
  readonly architecture: UnetArchitecture | null;
  readonly meta: ModelMeta;
  readonly source: { readonly format: ModelSourceFormat; readonly path: string | null };
  /**
   * Present on models whose graph was specialized for one input shape (ONNX graphs that compute sizes from
   * shapes): the same model imported again for another input shape. Executors call it when `graph.inputs`
   * declares a concrete shape that differs from the input they were given.
   */
  readonly specialize?: (inputShape: readonly number[]) => Model;
}

/** Default metadata for a model with `channels` inputs and `classes` outputs (used when a file carries none). */
export function defaultMeta(channels: number, classes: number, name = 'model'): ModelMeta {
  return {
    name,
    description: '',
    input: {
      channels,
      colorMode: channels === 3 ? 'rgb' : 'grayscale',
      mean: new Array<number>(channels).fill(0),
      std: new Array<number>(channels).fill(1),
      resize: 'native',
      multiple: 16,
      size: null,
      tileSize: 512,
      tileOverlap: 64,
    },
    output: {
      activation: classes === 1 ? 'sigmoid' : 'softmax',
      threshold: 0.5,
      labels: null,
      palette: null,
      classValues: null,
    },
    provenance: {},
  };
}
