/**
 * Every validation branch of the functional ops: the error class, its stable code, and a message that names the
 * op and the parameter and shows what was expected next to what arrived.
 */
import { describe, expect, it } from 'vitest';
import {
  add, avgPool2d, batchNorm2d, concat, conv2d, convTranspose2d, interpolate, leakyRelu, maxPool2d, mul, pad, relu, sigmoid,
  softmax, tanh,
} from '../src/ops/functional.js';
import { Tensor } from '../src/tensor/tensor.js';
import { UnetRangeError, UnetTypeError } from '../src/errors.js';

const T = (...shape: number[]) => new Tensor(shape);
const x4 = T(1, 3, 8, 8);
const w3 = T(4, 3, 3, 3);

type Case = [name: string, fn: () => unknown, code: string, message: RegExp];

const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const SHAPE = 'ERR_SHAPE_MISMATCH';
const SIZE = 'ERR_OUTPUT_SIZE';

const cases: Record<string, Case[]> = {
  conv2d: [
    ['input not a Tensor', () => conv2d([1, 2] as never, w3, null), TYPE, /^conv2d: Expected a Tensor for input but received \[1, 2\] of type array/],
    ['weight not a Tensor', () => conv2d(x4, null as never, null), TYPE, /^conv2d: Expected a Tensor for weight but received null/],
    ['options not an object', () => conv2d(x4, w3, null, 5 as never), TYPE, /^conv2d: Expected an options object for options but received 5/],
    ['stride=0', () => conv2d(x4, w3, null, { stride: 0 }), VALUE, /^conv2d: Expected an integer >= 1 for stride but received 0 of type number/],
    ['stride=1.5', () => conv2d(x4, w3, null, { stride: 1.5 }), VALUE, /stride but received 1\.5 of type number/],
    ["stride='2'", () => conv2d(x4, w3, null, { stride: '2' as never }), TYPE, /^conv2d: Expected an integer >= 1 or an \[h, w\] pair for stride but received "2"/],
    ['stride=[1,2,3]', () => conv2d(x4, w3, null, { stride: [1, 2, 3] as never }), VALUE, /stride but received \[1, 2, 3\]/],
    ['stride=[1,0]', () => conv2d(x4, w3, null, { stride: [1, 0] }), VALUE, /for stride\[1\] but received 0/],
    ['dilation=0', () => conv2d(x4, w3, null, { dilation: 0 }), VALUE, /^conv2d: Expected an integer >= 1 for dilation but received 0/],
    ['padding=-1', () => conv2d(x4, w3, null, { padding: -1 }), VALUE, /^conv2d: Expected an integer >= 0 for padding but received -1/],
    ["padding='full'", () => conv2d(x4, w3, null, { padding: 'full' as never }), VALUE, /padding but received "full"/],
    ['padding={}', () => conv2d(x4, w3, null, { padding: {} as never }), TYPE, /for padding but received an object/],
    ['groups=0', () => conv2d(x4, w3, null, { groups: 0 }), VALUE, /^conv2d: Expected an integer >= 1 for groups but received 0/],
    ['groups=1.5', () => conv2d(x4, w3, null, { groups: 1.5 }), VALUE, /groups but received 1\.5/],
    ["paddingMode='mirror'", () => conv2d(x4, w3, null, { paddingMode: 'mirror' as never }), VALUE, /^conv2d: Expected one of 'zeros', 'reflect', 'replicate', 'circular' for paddingMode but received "mirror"/],
    ['paddingMode=3', () => conv2d(x4, w3, null, { paddingMode: 3 as never }), TYPE, /paddingMode but received 3 of type number/],
    ["backend='nope'", () => conv2d(x4, w3, null, { backend: 'nope' }), VALUE, /^conv2d: Expected a registered backend \('reference'.*\) for backend but received "nope"/],
    ['backend=1', () => conv2d(x4, w3, null, { backend: 1 as never }), TYPE, /^conv2d: Expected a backend name string for backend but received 1/],
    ['x rank 2', () => conv2d(T(8, 8), w3, null), SHAPE, /^conv2d: expected input of rank 3 or 4 .* but received \[8,8\] \(rank 2\)/],
    ['x rank 5', () => conv2d(T(1, 1, 3, 8, 8), w3, null), SHAPE, /received \[1,1,3,8,8\] \(rank 5\)/],
    ['x with H=0', () => conv2d(T(1, 3, 0, 8), w3, null), SHAPE, /^conv2d: expected input with non-zero sizes .* but received \[1,3,0,8\]/],
    ['weight rank 3', () => conv2d(x4, T(4, 3, 3), null), SHAPE, /^conv2d: expected weight of rank 4 \(\[Cout, Cin\/groups, kH, kW\]\) but received \[4,3,3\]/],
    ['weight with kW=0', () => conv2d(x4, T(4, 3, 3, 0), null), SHAPE, /expected weight with non-zero sizes/],
    ['Cout=3 groups=2', () => conv2d(T(1, 4, 8, 8), T(3, 2, 3, 3), null, { groups: 2 }), SHAPE, /^conv2d: expected weight\.shape\[0\] \(out channels\) divisible by groups=2 but received weight \[3,2,3,3\]/],
    ['x has 5 channels, weight expects 3', () => conv2d(T(1, 5, 8, 8), w3, null), SHAPE, /^conv2d: expected input with 3 channels \(weight\.shape\[1\]=3 × groups=1\) but received input \[1,5,8,8\] with 5 channels/],
    ['bias of 3 for Cout 4', () => conv2d(x4, w3, T(3)), SHAPE, /^conv2d: expected bias with 4 elements but received \[3\]/],
    ['bias not a Tensor', () => conv2d(x4, w3, [1, 2, 3, 4] as never), TYPE, /^conv2d: Expected a Tensor for bias/],
    ["padding='same' stride=2", () => conv2d(x4, w3, null, { padding: 'same', stride: 2 }), VALUE, /^conv2d: Expected stride 1 with padding 'same' .* but received 'same' with stride \[2, 2\]/],
    ['reflect padding 8 on 8×8', () => conv2d(x4, w3, null, { padding: 8, paddingMode: 'reflect' }), VALUE, /^conv2d: Expected reflect padding < the input size \(H=8, W=8\) for padding but received pads \(top 8/],
    ['circular padding 9 on 8×8', () => conv2d(x4, w3, null, { padding: 9, paddingMode: 'circular' }), VALUE, /^conv2d: Expected circular padding <= the input size/],
    ['kernel 9 on 8×8', () => conv2d(x4, T(4, 3, 9, 9), null), SIZE, /^conv2d: output size is too small/],
  ],
  convTranspose2d: [
    ['input not a Tensor', () => convTranspose2d(undefined as never, w3, null), TYPE, /^convTranspose2d: Expected a Tensor for input but received undefined/],
    ["padding='same'", () => convTranspose2d(x4, T(3, 2, 3, 3), null, { padding: 'same' as never }), TYPE, /^convTranspose2d: Expected an integer >= 0 or an \[h, w\] pair for padding but received "same"/],
    ['outputPadding=-1', () => convTranspose2d(x4, T(3, 2, 3, 3), null, { outputPadding: -1 }), VALUE, /outputPadding but received -1/],
    ['outputPadding=2 stride=2', () => convTranspose2d(x4, T(3, 2, 3, 3), null, { stride: 2, outputPadding: 2 }), VALUE, /^convTranspose2d: Expected values smaller than stride or dilation \(stride \[2, 2\], dilation \[1, 1\]\) for outputPadding but received \[2, 2\]/],
    ['weight rank 2', () => convTranspose2d(x4, T(3, 2), null), SHAPE, /^convTranspose2d: expected weight of rank 4 \(\[Cin, Cout\/groups, kH, kW\]\)/],
    ['weight Cin=3 groups=2', () => convTranspose2d(x4, T(3, 2, 3, 3), null, { groups: 2 }), SHAPE, /^convTranspose2d: expected weight\.shape\[0\] \(in channels\) divisible by groups=2/],
    ['x has 3 channels, weight 4', () => convTranspose2d(x4, T(4, 2, 3, 3), null), SHAPE, /^convTranspose2d: expected input with 4 channels \(weight\.shape\[0\]\) but received input \[1,3,8,8\] with 3 channels/],
    ['bias of 3 for Cout 2', () => convTranspose2d(x4, T(3, 2, 3, 3), T(3)), SHAPE, /^convTranspose2d: expected bias with 2 elements but received \[3\]/],
    ['padding 3 on 1×1 k=1', () => convTranspose2d(T(1, 1, 1, 1), T(1, 1, 1, 1), null, { padding: 3 }), SIZE, /^convTranspose2d: output size is too small/],
    ['x rank 2', () => convTranspose2d(T(3, 8), T(3, 2, 3, 3), null), SHAPE, /rank 3 or 4/],
  ],
  maxPool2d: [
    ['input not a Tensor', () => maxPool2d({} as never, { kernelSize: 2 }), TYPE, /^maxPool2d: Expected a Tensor for input but received an object/],
    ['no options', () => maxPool2d(x4, undefined as never), TYPE, /^maxPool2d: Expected an integer >= 1 or an \[h, w\] pair for kernelSize but received undefined/],
    ['kernelSize=0', () => maxPool2d(x4, { kernelSize: 0 }), VALUE, /^maxPool2d: Expected an integer >= 1 for kernelSize but received 0/],
    ['stride=0', () => maxPool2d(x4, { kernelSize: 2, stride: 0 }), VALUE, /for stride but received 0/],
    ['dilation=0', () => maxPool2d(x4, { kernelSize: 2, dilation: 0 }), VALUE, /for dilation but received 0/],
    ['padding=-1', () => maxPool2d(x4, { kernelSize: 2, padding: -1 }), VALUE, /for padding but received -1/],
    ['padding=2 kernel=3', () => maxPool2d(x4, { kernelSize: 3, padding: 2 }), VALUE, /^maxPool2d: Expected at most half the kernel size \(kernelSize \[3, 3\] allows \[1, 1\]\) for padding but received \[2, 2\]/],
    ["ceilMode='yes'", () => maxPool2d(x4, { kernelSize: 2, ceilMode: 'yes' as never }), TYPE, /^maxPool2d: Expected a boolean for ceilMode but received "yes"/],
    ['kernel 3 on 2×2', () => maxPool2d(T(1, 1, 2, 2), { kernelSize: 3 }), SIZE, /^maxPool2d: output size is too small: input \[1,1,2,2\]/],
    ['x rank 2', () => maxPool2d(T(6, 6), { kernelSize: 2 }), SHAPE, /^maxPool2d: expected input of rank 3 or 4/],
  ],
  avgPool2d: [
    ['padding=2 kernel=2', () => avgPool2d(x4, { kernelSize: 2, padding: 2 }), VALUE, /^avgPool2d: Expected at most half the kernel size/],
    ['divisorOverride=0', () => avgPool2d(x4, { kernelSize: 2, divisorOverride: 0 }), VALUE, /^avgPool2d: Expected a non-zero integer for divisorOverride but received 0/],
    ['divisorOverride=1.5', () => avgPool2d(x4, { kernelSize: 2, divisorOverride: 1.5 }), VALUE, /divisorOverride but received 1\.5/],
    ["divisorOverride='2'", () => avgPool2d(x4, { kernelSize: 2, divisorOverride: '2' as never }), TYPE, /divisorOverride but received "2"/],
    ['countIncludePad=1', () => avgPool2d(x4, { kernelSize: 2, countIncludePad: 1 as never }), TYPE, /^avgPool2d: Expected a boolean for countIncludePad/],
    ['kernel 9 on 8×8', () => avgPool2d(x4, { kernelSize: 9 }), SIZE, /^avgPool2d: output size is too small/],
  ],
  batchNorm2d: [
    ['input not a Tensor', () => batchNorm2d(1 as never, T(3), T(3)), TYPE, /^batchNorm2d: Expected a Tensor for input/],
    ['x rank 1', () => batchNorm2d(T(3), T(3), T(3)), SHAPE, /^batchNorm2d: expected input of rank 2 or 3 or 4 or 5/],
    ['runningMean of 4 for C=3', () => batchNorm2d(x4, T(4), T(3)), SHAPE, /^batchNorm2d: expected runningMean with 3 elements but received \[4\]/],
    ['runningVar of 2 for C=3', () => batchNorm2d(x4, T(3), T(2)), SHAPE, /^batchNorm2d: expected runningVar with 3 elements/],
    ['weight of 2 for C=3', () => batchNorm2d(x4, T(3), T(3), T(2)), SHAPE, /^batchNorm2d: expected weight with 3 elements/],
    ['bias of 2 for C=3', () => batchNorm2d(x4, T(3), T(3), null, T(2)), SHAPE, /^batchNorm2d: expected bias with 3 elements/],
    ['runningVar not a Tensor', () => batchNorm2d(x4, T(3), [1, 1, 1] as never), TYPE, /^batchNorm2d: Expected a Tensor for runningVar/],
    ['eps=NaN', () => batchNorm2d(x4, T(3), T(3), null, null, { eps: NaN }), VALUE, /^batchNorm2d: Expected a finite number for eps but received NaN/],
    ["eps='1e-5'", () => batchNorm2d(x4, T(3), T(3), null, null, { eps: '1e-5' as never }), TYPE, /eps but received "1e-5"/],
  ],
  activations: [
    ['relu of a number', () => relu(3 as never), TYPE, /^relu: Expected a Tensor for input but received 3/],
    ['sigmoid of null', () => sigmoid(null as never), TYPE, /^sigmoid: Expected a Tensor for input/],
    ['tanh of an array', () => tanh([1] as never), TYPE, /^tanh: Expected a Tensor for input/],
    ["leakyRelu negativeSlope='a'", () => leakyRelu(x4, { negativeSlope: 'a' as never }), TYPE, /^leakyRelu: Expected a finite number for negativeSlope/],
    ['leakyRelu negativeSlope=Infinity', () => leakyRelu(x4, { negativeSlope: Infinity }), VALUE, /negativeSlope but received Infinity/],
    ['softmax of rank 1', () => softmax(T(5)), SHAPE, /^softmax: expected input of rank 2 or 3 or 4 or 5 .*softmax runs over dim 1/],
    ["relu backend='nope'", () => relu(x4, { backend: 'nope' }), VALUE, /^relu: Expected a registered backend/],
  ],
  concat: [
    ['not an array', () => concat(x4 as never), TYPE, /^concat: Expected a non-empty array of Tensors for tensors/],
    ['empty list', () => concat([]), TYPE, /^concat: Expected a non-empty array of Tensors for tensors but received \[\] of type array/],
    ['element not a Tensor', () => concat([x4, 2 as never]), TYPE, /^concat: Expected a Tensor for tensors\[1\]/],
    ['H differs', () => concat([x4, T(1, 2, 7, 8)]), SHAPE, /^concat: expected tensors\[1\] to match tensors\[0\] \[1,3,8,8\] in every dimension except 1 but received \[1,2,7,8\]/],
    ['ranks differ', () => concat([x4, T(1, 2, 8)]), SHAPE, /but received \[1,2,8\]/],
    ['rank 1', () => concat([T(3), T(3)]), SHAPE, /^concat: expected tensors\[0\] of rank 2/],
  ],
  pad: [
    ['pads of 3', () => pad(x4, [1, 1, 1]), TYPE, /^pad: Expected an array \[left, right, top, bottom\] or \[left, right\] of integers for pads but received \[1, 1, 1\]/],
    ['pads=1.5', () => pad(x4, [1.5, 1, 1, 1]), TYPE, /^pad: Expected an integer for pads\[0\] but received 1\.5/],
    ["mode='edge'", () => pad(x4, [1, 1, 1, 1], { mode: 'edge' as never }), VALUE, /^pad: Expected one of 'constant', 'reflect', 'replicate', 'circular' for mode but received "edge"/],
    ['value=NaN', () => pad(x4, [1, 1, 1, 1], { value: NaN }), VALUE, /^pad: Expected a finite number for value/],
    ['value with reflect', () => pad(x4, [1, 1, 1, 1], { mode: 'reflect', value: 2 }), VALUE, /^pad: Expected no fill value with mode 'reflect'/],
    ['reflect 8 on W=8', () => pad(x4, [8, 0, 0, 0], { mode: 'reflect' }), VALUE, /^pad: Expected reflect pads smaller than the padded dimension for pads but received \[8, 0, 0, 0\] for input \[1,3,8,8\]/],
    ['circular 9 on H=8', () => pad(x4, [0, 0, 0, 9], { mode: 'circular' }), VALUE, /^pad: Expected circular pads at most the padded dimension/],
    ['circular wrap longer than the kept part', () => pad(T(1, 1, 5, 5), [5, -3, 0, 0], { mode: 'circular' }), VALUE, /^pad: Expected circular pads at most the size left after negative pads crop/],
    ['crop below zero', () => pad(x4, [-5, -4, 0, 0]), VALUE, /^pad: Expected negative pads that leave a size >= 0/],
    ['reflect on rank 5', () => pad(T(1, 1, 1, 3, 3), [1, 1, 1, 1], { mode: 'reflect' }), SHAPE, /^pad: expected input of rank 3 or 4 \(3D or 4D for 2-dim reflect padding\)/],
    ['constant 4 pads on rank 1', () => pad(T(5), [1, 1, 1, 1]), SHAPE, /^pad: expected input of rank 2 or 3 or 4 or 5 \(at least 2 dimensions\)/],
    ['replicate on an empty plane', () => pad(T(1, 1, 0, 3), [1, 1, 1, 1], { mode: 'replicate' }), SHAPE, /^pad: expected input with non-zero sizes/],
  ],
  'add/mul': [
    ['add rank 5', () => add(T(1, 1, 1, 2, 2), T(2)), SHAPE, /^add: expected operands of rank <= 4/],
    ['add [1,3,4,4] + [1,2,4,4]', () => add(T(1, 3, 4, 4), T(1, 2, 4, 4)), SHAPE, /^add: expected shapes that broadcast .* but received \[1,3,4,4\] and \[1,2,4,4\] \(size 3 vs 2 at dimension 1\)/],
    ['mul [2,5] · [3]', () => mul(T(2, 5), T(3)), SHAPE, /^mul: expected shapes that broadcast .* \(size 5 vs 3 at dimension 1\)/],
    ["mul by '2'", () => mul(x4, '2' as never), TYPE, /^mul: Expected a Tensor for b but received "2"/],
    ['add of a non-Tensor', () => add(1 as never, x4), TYPE, /^add: Expected a Tensor for a/],
  ],
  interpolate: [
    ['size and scaleFactor', () => interpolate(x4, { size: 4, scaleFactor: 2 }), VALUE, /^interpolate: Expected only one of size and scaleFactor for size but received both/],
    ['neither size nor scaleFactor', () => interpolate(x4, { mode: 'nearest' }), TYPE, /^interpolate: Expected one of size or scaleFactor to be defined for size but received undefined/],
    ['alignCorners with nearest', () => interpolate(x4, { size: 4, alignCorners: false }), VALUE, /^interpolate: Expected no alignCorners with mode 'nearest'/],
    ["alignCorners='yes'", () => interpolate(x4, { size: 4, mode: 'bilinear', alignCorners: 'yes' as never }), TYPE, /^interpolate: Expected a boolean for alignCorners/],
    ["mode='bicubic'", () => interpolate(x4, { size: 4, mode: 'bicubic' as never }), VALUE, /^interpolate: Expected one of 'nearest', 'bilinear' for mode but received "bicubic"/],
    ['size=[0,4]', () => interpolate(x4, { size: [0, 4] }), VALUE, /^interpolate: Expected an integer >= 1 for size\[0\] but received 0/],
    ['size=2.5', () => interpolate(x4, { size: 2.5 }), VALUE, /for size but received 2\.5/],
    ['scaleFactor=-2', () => interpolate(x4, { scaleFactor: -2 }), VALUE, /^interpolate: Expected a positive finite number for scaleFactor but received -2/],
    ["scaleFactor='2'", () => interpolate(x4, { scaleFactor: '2' as never }), TYPE, /^interpolate: Expected a positive number or an \[h, w\] pair for scaleFactor/],
    ['scaleFactor=[1,2,3]', () => interpolate(x4, { scaleFactor: [1, 2, 3] as never }), TYPE, /scaleFactor but received \[1, 2, 3\]/],
    ['scaleFactor 0.1 on 8×8', () => interpolate(x4, { scaleFactor: 0.1 }), SIZE, /^interpolate: expected output sizes > 0 but input \(H: 8, W: 8\) × scaleFactor \[0\.1, 0\.1\] gives \(H: 0, W: 0\)/],
    ['x rank 3', () => interpolate(T(3, 8, 8), { size: 4 }), SHAPE, /^interpolate: expected input of rank 4 \(NCHW\) but received \[3,8,8\]/],
    ['x with W=0', () => interpolate(T(1, 3, 8, 0), { size: 4 }), SHAPE, /^interpolate: expected input with non-zero sizes/],
  ],
};

for (const [group, list] of Object.entries(cases)) {
  describe(`${group} refuses`, () => {
    for (const [name, fn, code, message] of list) {
      it(`${name} → ${code}`, () => {
        let thrown: unknown;
        try {
          fn();
        } catch (e) {
          thrown = e;
        }
        expect(thrown, 'expected a throw').toBeInstanceOf(Error);
        expect((thrown as { code?: string }).code).toBe(code);
        expect((thrown as Error).message).toMatch(message);
        expect(thrown).toBeInstanceOf(code === TYPE ? UnetTypeError : UnetRangeError);
      });
    }
  });
}
