#!/usr/bin/python3
"""Golden cases for the functional ops, computed by PyTorch 1.13 (CPU, float32).

Writes test/fixtures/ops/golden.json (the index) and test/fixtures/ops/golden.f32 (every tensor, float32
little-endian, concatenated). Each case names its op, its inputs (offset and shape into the blob), its options
(named exactly as our functional API takes them) and either the expected output or, for a case PyTorch refuses,
the error PyTorch raised and the error code our op must throw.

Run from the repository root:  /usr/bin/python3 tools/gen_op_fixtures.py
"""
import json
import os
import random
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20261128
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'ops')

rng = random.Random(SEED)
torch.manual_seed(SEED)

blob = []          # list of float32 numpy arrays
blob_len = [0]     # running length in floats
cases = []


def store(t):
    a = t.detach().contiguous().numpy().astype('<f4').ravel()
    off = blob_len[0]
    blob.append(a)
    blob_len[0] += a.size
    return {'o': off, 's': list(t.shape)}


def randn(*shape):
    return torch.randn(tuple(shape), dtype=torch.float32)


def as_tuple(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else v


def name_of(op, tensors, opts):
    parts = [op]
    for k, t in tensors.items():
        if isinstance(t, list):
            parts.append(k + '=' + '+'.join('[' + ','.join(map(str, x.shape)) + ']' for x in t))
        elif t is not None and hasattr(t, 'shape'):
            parts.append(k + '=[' + ','.join(map(str, t.shape)) + ']')
        elif t is not None:
            parts.append(k + '=' + str(t))
    for k, v in opts.items():
        parts.append(k + '=' + json.dumps(v, separators=(',', ':')).replace('"', ''))
    return ' '.join(parts)


def add_case(op, tensors, opts, fn, expect_code=None, extra=None):
    """Run fn(); record its output, or the error torch raised (then expect_code names ours)."""
    name = name_of(op, tensors, opts) + (' ' + json.dumps(extra, separators=(',', ':')) if extra else '')
    try:
        with torch.no_grad():
            y = fn()
        err = None
    except Exception as e:  # torch's refusal: RuntimeError, ValueError, TypeError
        y, err = None, '%s: %s' % (type(e).__name__, str(e).split('\n')[0])
    if err is None and expect_code is not None:
        raise AssertionError('torch accepted a case expected to fail: ' + name)
    if err is not None and expect_code is None:
        raise AssertionError('torch refused a case expected to pass: %s -> %s' % (name, err))
    inputs = {}
    for k, t in tensors.items():
        if t is None:
            inputs[k] = None
        elif isinstance(t, list):
            inputs[k] = [store(x) for x in t]
        elif isinstance(t, (int, float)):
            inputs[k] = {'scalar': t}
        else:
            inputs[k] = store(t)
    case = {'name': name, 'op': op, 'inputs': inputs, 'options': opts}
    if extra:
        case.update(extra)
    if err is None:
        case['output'] = store(y)
    else:
        case['error'] = err
        case['code'] = expect_code
    cases.append(case)


# ---------------------------------------------------------------------------------------------------- conv2d
def conv_torch(x, w, b, stride, padding, dilation, groups, mode):
    if x.dim() == 3 and mode != 'zeros':
        # torch 1.13's circular F.pad rejects unbatched input with 4 pads; batch it (same values).
        return conv_torch(x[None], w, b, stride, padding, dilation, groups, mode)[0]
    if mode == 'zeros':
        return F.conv2d(x, w, b, stride, padding, dilation, groups)
    cout, cpg, kh, kw = w.shape
    m = nn.Conv2d(cpg * groups, cout, (kh, kw), stride, padding, dilation, groups, b is not None, mode)
    m.weight.copy_(w)
    if b is not None:
        m.bias.copy_(b)
    return m(x)


def conv_case(n, cin, h, wd, cout, k, stride, padding, dilation, groups, mode, bias=True, unbatched=False, expect=None):
    kh, kw = as_tuple(k)
    x = randn(cin, h, wd) if unbatched else randn(n, cin, h, wd)
    w = randn(cout, cin // groups, kh, kw) * 0.5
    b = randn(cout) if bias else None
    opts = {'stride': pair(stride), 'padding': pair(padding), 'dilation': pair(dilation), 'groups': groups, 'paddingMode': mode}
    add_case('conv2d', {'x': x, 'weight': w, 'bias': b}, opts,
             lambda: conv_torch(x, w, b, stride, padding, dilation, groups, mode), expect)


def rand_pair(lo, hi, square_p=0.4):
    a = rng.randint(lo, hi)
    return a if rng.random() < square_p else (a, rng.randint(lo, hi))


def random_conv():
    while True:
        groups = rng.choice([1, 1, 1, 2, 3, 'dw'])
        if groups == 'dw':
            cin = rng.randint(2, 5)
            groups = cin
            cout = cin * rng.choice([1, 2])
        else:
            cin = groups * rng.randint(1, 3)
            cout = groups * rng.randint(1, 3)
        k = rand_pair(1, 5)
        kh, kw = as_tuple(k)
        dilation = rand_pair(1, 3, 0.6) if rng.random() < 0.35 else 1
        mode = rng.choice(['zeros', 'zeros', 'reflect', 'replicate', 'circular'])
        pstyle = rng.random()
        if pstyle < 0.2:
            padding, stride = 'same', 1
        elif pstyle < 0.3:
            padding, stride = 'valid', rand_pair(1, 3)
        else:
            padding = rand_pair(0, 3)
            stride = rand_pair(1, 3) if rng.random() < 0.6 else 1
        h, wd = rng.randint(3, 11), rng.randint(3, 11)
        n = rng.choice([1, 1, 2, 3])
        dh, dw = as_tuple(dilation)
        ph, pw = (0, 0) if padding == 'valid' else ((dh * (kh - 1) + 1) // 2, (dw * (kw - 1) + 1) // 2) if padding == 'same' else as_tuple(padding)
        if mode == 'reflect' and (ph >= h or pw >= wd):
            continue
        if mode == 'circular' and (ph > h or pw > wd):
            continue
        if h + 2 * ph < dh * (kh - 1) + 1 or wd + 2 * pw < dw * (kw - 1) + 1:
            continue
        if h + 2 * ph - dh * (kh - 1) - 1 < 0 or wd + 2 * pw - dw * (kw - 1) - 1 < 0:
            continue
        conv_case(n, cin, h, wd, cout, k, stride, padding, dilation, groups, mode,
                  bias=rng.random() < 0.75, unbatched=rng.random() < 0.08)
        return


for _ in range(140):
    random_conv()
# Worked examples and the shapes the U-Net uses.
conv_case(1, 3, 16, 16, 4, (4, 4), 2, 1, 1, 1, 'zeros')
conv_case(2, 4, 6, 9, 4, (2, 2), 1, 'same', 1, 1, 'zeros')
conv_case(1, 3, 7, 6, 2, (4, 2), 1, 'same', (2, 1), 1, 'reflect')
conv_case(1, 2, 5, 5, 2, (3, 3), 1, 'same', 1, 1, 'circular')
conv_case(1, 2, 5, 5, 2, (2, 2), 1, 'same', 1, 1, 'replicate')
conv_case(1, 2, 4, 4, 2, (3, 3), 1, 4, 1, 1, 'reflect', expect='ERR_INVALID_ARG_VALUE')
conv_case(1, 2, 4, 4, 2, (3, 3), 1, 3, 1, 1, 'reflect')
conv_case(1, 2, 4, 4, 2, (3, 3), 1, 5, 1, 1, 'circular', expect='ERR_INVALID_ARG_VALUE')
conv_case(1, 2, 4, 4, 2, (3, 3), 1, 4, 1, 1, 'circular')
conv_case(1, 2, 8, 8, 2, (3, 3), 2, 'same', 1, 1, 'zeros', expect='ERR_INVALID_ARG_VALUE')
conv_case(1, 2, 3, 3, 2, (5, 5), 1, 0, 1, 1, 'zeros', expect='ERR_OUTPUT_SIZE')
conv_case(1, 2, 5, 5, 2, (3, 3), 1, 0, 3, 1, 'zeros', expect='ERR_OUTPUT_SIZE')


def conv_error(x, w, b, opts, expect):
    add_case('conv2d', {'x': x, 'weight': w, 'bias': b}, opts,
             lambda: F.conv2d(x, w, b, opts.get('stride', 1), opts.get('padding', 0), opts.get('dilation', 1), opts.get('groups', 1)), expect)


conv_error(randn(1, 3, 5, 5), randn(4, 2, 3, 3), None, {}, 'ERR_SHAPE_MISMATCH')                       # channels
conv_error(randn(1, 4, 5, 5), randn(3, 2, 3, 3), None, {'groups': 2}, 'ERR_SHAPE_MISMATCH')            # Cout % groups
conv_error(randn(1, 6, 5, 5), randn(4, 2, 3, 3), None, {'groups': 2}, 'ERR_SHAPE_MISMATCH')            # Cin != 2·groups
conv_error(randn(1, 3, 5, 5), randn(4, 3, 3, 3), randn(3), {}, 'ERR_SHAPE_MISMATCH')                   # bias length
conv_error(randn(1, 3, 5, 5), randn(4, 3, 3, 3), None, {'stride': 0}, 'ERR_INVALID_ARG_VALUE')
conv_error(randn(1, 3, 5, 5), randn(4, 3, 3, 3), None, {'padding': -1}, 'ERR_INVALID_ARG_VALUE')
conv_error(randn(1, 3, 5, 5), randn(4, 3, 3, 3), None, {'dilation': 0}, 'ERR_INVALID_ARG_VALUE')
conv_error(randn(1, 1, 3, 5, 5), randn(4, 3, 3, 3), None, {}, 'ERR_SHAPE_MISMATCH')                    # rank 5
conv_error(randn(1, 3, 5, 5), randn(4, 3, 3), None, {}, 'ERR_SHAPE_MISMATCH')                          # weight rank

# ------------------------------------------------------------------------------------------ convTranspose2d


def convt_case(n, cin, h, wd, cout_pg, k, stride, padding, output_padding, dilation, groups, bias=True, unbatched=False, expect=None):
    kh, kw = as_tuple(k)
    x = randn(cin, h, wd) if unbatched else randn(n, cin, h, wd)
    w = randn(cin, cout_pg, kh, kw) * 0.5
    b = randn(cout_pg * groups) if bias else None
    opts = {'stride': pair(stride), 'padding': pair(padding), 'outputPadding': pair(output_padding), 'dilation': pair(dilation), 'groups': groups}
    add_case('convTranspose2d', {'x': x, 'weight': w, 'bias': b}, opts,
             lambda: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation), expect)


def random_convt():
    while True:
        groups = rng.choice([1, 1, 1, 2, 3])
        cin = groups * rng.randint(1, 3)
        cout_pg = rng.randint(1, 3)
        if rng.random() < 0.15:
            groups, cin, cout_pg = 3, 3, 1  # depthwise
        k = rand_pair(1, 5)
        kh, kw = as_tuple(k)
        stride = rand_pair(1, 3)
        dilation = rand_pair(1, 3, 0.6) if rng.random() < 0.35 else 1
        sh, sw = as_tuple(stride)
        dh, dw = as_tuple(dilation)
        padding = rand_pair(0, 3)
        ph, pw = as_tuple(padding)
        oph = rng.randint(0, max(sh, dh) - 1) if rng.random() < 0.5 else 0
        opw = rng.randint(0, max(sw, dw) - 1) if rng.random() < 0.5 else 0
        output_padding = oph if oph == opw and rng.random() < 0.5 else (oph, opw)
        h, wd = rng.randint(2, 8), rng.randint(2, 8)
        if (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1 < 1 or (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1 < 1:
            continue
        convt_case(rng.choice([1, 1, 2]), cin, h, wd, cout_pg, k, stride, padding, output_padding, dilation, groups,
                   bias=rng.random() < 0.75, unbatched=rng.random() < 0.08)
        return


for _ in range(80):
    random_convt()
convt_case(1, 3, 8, 8, 3, 4, 2, 1, 0, 1, 1)
convt_case(1, 4, 5, 6, 2, 2, 2, 0, 0, 1, 1)
convt_case(1, 2, 4, 4, 2, 3, 2, 1, 1, 1, 1)
convt_case(1, 2, 4, 4, 2, 3, 2, 1, 2, 1, 1, expect='ERR_INVALID_ARG_VALUE')        # output_padding >= stride
convt_case(1, 2, 4, 4, 2, 3, 1, 1, 1, 2, 1)                                        # op < dilation is fine
convt_case(1, 2, 4, 4, 2, 3, 1, 1, 2, 2, 1, expect='ERR_INVALID_ARG_VALUE')        # op >= max(s, d)
convt_case(1, 2, 2, 2, 2, 1, 1, 2, 0, 1, 1, expect='ERR_OUTPUT_SIZE')
x_, w_ = randn(1, 3, 4, 4), randn(2, 2, 3, 3)
add_case('convTranspose2d', {'x': x_, 'weight': w_, 'bias': None}, {}, lambda: F.conv_transpose2d(x_, w_), 'ERR_SHAPE_MISMATCH')
x_, w_ = randn(1, 3, 4, 4), randn(3, 2, 3, 3)
add_case('convTranspose2d', {'x': x_, 'weight': w_, 'bias': None}, {'groups': 2}, lambda: F.conv_transpose2d(x_, w_, groups=2), 'ERR_SHAPE_MISMATCH')
x_, w_, b_ = randn(1, 2, 4, 4), randn(2, 3, 3, 3), randn(2)
add_case('convTranspose2d', {'x': x_, 'weight': w_, 'bias': b_}, {}, lambda: F.conv_transpose2d(x_, w_, b_), 'ERR_SHAPE_MISMATCH')

# ------------------------------------------------------------------------------------------------- pooling


def pool_case(op, x, opts, expect=None):
    k = opts['kernelSize']
    s = opts.get('stride', None)
    p = opts.get('padding', 0)
    c = opts.get('ceilMode', False)
    if op == 'maxPool2d':
        fn = lambda: F.max_pool2d(x, k, s, p, opts.get('dilation', 1), c)
    else:
        cip = opts.get('countIncludePad', True)
        fn = lambda: F.avg_pool2d(x, k, s, p, c, cip, opts.get('divisorOverride', None))
    add_case(op, {'x': x}, {kk: pair(v) for kk, v in opts.items()}, fn, expect)


def random_pool(op):
    while True:
        k = rand_pair(1, 4)
        kh, kw = as_tuple(k)
        opts = {'kernelSize': k}
        if rng.random() < 0.6:
            opts['stride'] = rand_pair(1, 3)
        sh, sw = as_tuple(opts.get('stride', k))
        p = (rng.randint(0, kh // 2), rng.randint(0, kw // 2))
        if rng.random() < 0.6:
            opts['padding'] = p if rng.random() < 0.5 else min(p)
        ph, pw = as_tuple(opts.get('padding', 0))
        if op == 'maxPool2d' and rng.random() < 0.35:
            opts['dilation'] = rand_pair(1, 2)
        dh, dw = as_tuple(opts.get('dilation', 1))
        if rng.random() < 0.4:
            opts['ceilMode'] = True
        if op == 'avgPool2d':
            if rng.random() < 0.5:
                opts['countIncludePad'] = rng.random() < 0.5
            if rng.random() < 0.2:
                opts['divisorOverride'] = rng.choice([1, 3, 7, -2])
        h, wd = rng.randint(2, 10), rng.randint(2, 10)
        if h + 2 * ph - dh * (kh - 1) - 1 < 0 or wd + 2 * pw - dw * (kw - 1) - 1 < 0:
            continue
        shape = [rng.choice([1, 2]), rng.randint(1, 4), h, wd]
        if rng.random() < 0.08:
            shape = shape[1:]
        pool_case(op, randn(*shape), opts)
        return


for _ in range(45):
    random_pool('maxPool2d')
for _ in range(45):
    random_pool('avgPool2d')
pool_case('maxPool2d', randn(1, 2, 7, 7), {'kernelSize': 2, 'stride': 2, 'ceilMode': True})
pool_case('maxPool2d', randn(1, 2, 6, 5), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True})
pool_case('avgPool2d', randn(1, 2, 6, 5), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': True})
pool_case('avgPool2d', randn(1, 2, 6, 5), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False})
pool_case('avgPool2d', randn(1, 2, 5, 5), {'kernelSize': 2, 'stride': 2, 'ceilMode': True, 'countIncludePad': True})
pool_case('maxPool2d', randn(1, 2, 6, 6), {'kernelSize': 3, 'padding': 2}, 'ERR_INVALID_ARG_VALUE')
pool_case('avgPool2d', randn(1, 2, 6, 6), {'kernelSize': 2, 'padding': 2}, 'ERR_INVALID_ARG_VALUE')
pool_case('maxPool2d', randn(1, 2, 2, 2), {'kernelSize': 3}, 'ERR_OUTPUT_SIZE')
pool_case('avgPool2d', randn(1, 2, 2, 5), {'kernelSize': 3}, 'ERR_OUTPUT_SIZE')
pool_case('maxPool2d', randn(1, 2, 6, 6), {'kernelSize': 2, 'stride': 0}, 'ERR_INVALID_ARG_VALUE')
pool_case('maxPool2d', randn(1, 2, 6, 6), {'kernelSize': 0}, 'ERR_INVALID_ARG_VALUE')
pool_case('maxPool2d', randn(1, 2, 6, 6), {'kernelSize': 2, 'dilation': 0}, 'ERR_INVALID_ARG_VALUE')
pool_case('avgPool2d', randn(1, 2, 6, 6), {'kernelSize': 2, 'divisorOverride': 0}, 'ERR_INVALID_ARG_VALUE')
pool_case('maxPool2d', randn(6, 6), {'kernelSize': 2}, 'ERR_SHAPE_MISMATCH')

# ------------------------------------------------------------------------------------ batch norm, activations
for i in range(10):
    shape = [rng.randint(1, 3), rng.randint(1, 5), rng.randint(1, 6), rng.randint(1, 6)]
    if i == 8:
        shape = shape[:2]
    c = shape[1]
    x = randn(*shape)
    mean, var = randn(c), torch.rand(c) + 0.1
    w = randn(c) if i % 3 != 0 else None
    b = randn(c) if i % 4 != 1 else None
    eps = [1e-5, 1e-3, 0.1][i % 3]
    opts = {} if eps == 1e-5 and i % 2 == 0 else {'eps': eps}
    add_case('batchNorm2d', {'x': x, 'runningMean': mean, 'runningVar': var, 'weight': w, 'bias': b}, opts,
             lambda: F.batch_norm(x, mean, var, w, b, False, 0.1, eps))
x_ = randn(1, 3, 2, 2)
add_case('batchNorm2d', {'x': x_, 'runningMean': randn(4), 'runningVar': torch.rand(3), 'weight': None, 'bias': None}, {},
         lambda: F.batch_norm(x_, torch.zeros(4), torch.ones(3), None, None, False), 'ERR_SHAPE_MISMATCH')
x_ = randn(1, 3, 2, 2)
add_case('batchNorm2d', {'x': x_, 'runningMean': torch.zeros(3), 'runningVar': torch.ones(3), 'weight': randn(2), 'bias': None}, {},
         lambda: F.batch_norm(x_, torch.zeros(3), torch.ones(3), torch.ones(2), None, False), 'ERR_SHAPE_MISMATCH')

for op, fn in [('relu', F.relu), ('sigmoid', torch.sigmoid), ('tanh', torch.tanh)]:
    for shape in [[2, 3, 4, 5], [1, 1, 7, 3], [6], [2, 5]]:
        x = randn(*shape) * 3
        add_case(op, {'x': x}, {}, lambda: fn(x))
for slope in [None, 0.2, 0.01, -0.5, 2.0]:
    x = randn(1, 3, 4, 4) * 3
    opts = {} if slope is None else {'negativeSlope': slope}
    add_case('leakyRelu', {'x': x}, opts, lambda: F.leaky_relu(x, 0.01 if slope is None else slope))
for shape in [[1, 3, 4, 5], [2, 5, 3, 3], [2, 1, 2, 2], [3, 4], [1, 2, 3], [1, 8, 1, 1]]:
    x = randn(*shape) * 4
    add_case('softmax', {'x': x}, {}, lambda: torch.softmax(x, 1))
x_ = randn(1, 2, 3, 3) * 40 + 60
add_case('softmax', {'x': x_}, {}, lambda: torch.softmax(x_, 1))

# ----------------------------------------------------------------------------------------------------- concat
for shapes in [[[1, 2, 3, 3], [1, 3, 3, 3]], [[2, 1, 4, 5], [2, 4, 4, 5], [2, 2, 4, 5]], [[1, 5, 2, 2]], [[3, 2], [3, 4]],
               [[2, 3, 6], [2, 1, 6]], [[1, 64, 2, 3], [1, 32, 2, 3]]]:
    ts = [randn(*s) for s in shapes]
    add_case('concat', {'tensors': ts}, {}, lambda: torch.cat(ts, 1))
ts_ = [randn(1, 2, 3, 3), randn(1, 2, 3, 4)]
add_case('concat', {'tensors': ts_}, {}, lambda: torch.cat(ts_, 1), 'ERR_SHAPE_MISMATCH')
ts_ = [randn(2, 2, 3, 3), randn(1, 2, 3, 3)]
add_case('concat', {'tensors': ts_}, {}, lambda: torch.cat(ts_, 1), 'ERR_SHAPE_MISMATCH')
ts_ = [randn(1, 2, 3, 3), randn(1, 2, 3)]
add_case('concat', {'tensors': ts_}, {}, lambda: torch.cat(ts_, 1), 'ERR_SHAPE_MISMATCH')

# -------------------------------------------------------------------------------------------------------- pad


def pad_case(shape, pads, mode, value=None, expect=None):
    x = randn(*shape)
    opts = {'mode': mode}
    if value is not None:
        opts['value'] = value
    def run():
        if mode == 'constant':
            return F.pad(x, tuple(pads), mode, value if value is not None else 0.0)
        if mode == 'circular' and x.dim() == len(pads) // 2 + 1:
            # torch 1.13 rejects unbatched circular padding (later releases accept it); batch it, same values.
            return F.pad(x[None], tuple(pads), mode)[0]
        return F.pad(x, tuple(pads), mode)
    add_case('pad', {'x': x}, opts, run, expect, extra={'pads': pads})


for mode in ['constant', 'reflect', 'replicate', 'circular']:
    for _ in range(9):
        shape = [rng.choice([1, 2]), rng.randint(1, 3), rng.randint(2, 7), rng.randint(2, 7)]
        if rng.random() < 0.2:
            shape = shape[1:]
        h, wd = shape[-2], shape[-1]
        lim = {'constant': (4, 4), 'reflect': (h - 1, wd - 1), 'replicate': (4, 4), 'circular': (h, wd)}[mode]
        pads = [rng.randint(-1, lim[1]), rng.randint(-1, lim[1]), rng.randint(-1, lim[0]), rng.randint(-1, lim[0])]
        if mode == 'circular':
            keep_w = wd + min(pads[0], 0) + min(pads[1], 0)
            keep_h = h + min(pads[2], 0) + min(pads[3], 0)
            if max(pads[0], pads[1]) > keep_w or max(pads[2], pads[3]) > keep_h:
                pads = [max(p, 0) for p in pads]
        pad_case(shape, pads, mode, round(rng.uniform(-2, 2), 2) if mode == 'constant' and rng.random() < 0.5 else None)
    pad_case([1, 2, 5], [2, 1], mode)
pad_case([1, 1, 4, 4], [-2, -1, 0, 3], 'constant', 1.5)
pad_case([2, 3], [1, 2, 1, 0], 'constant')
pad_case([1, 1, 5, 5], [2, -1, 0, 0], 'circular')
pad_case([1, 1, 5, 5], [-1, 2, 1, -2], 'reflect')
pad_case([1, 1, 3, 3], [3, 0, 0, 0], 'reflect', expect='ERR_INVALID_ARG_VALUE')
pad_case([1, 1, 3, 3], [0, 0, 0, 4], 'circular', expect='ERR_INVALID_ARG_VALUE')
pad_case([1, 1, 3, 3], [-2, -2, 0, 0], 'constant', expect='ERR_INVALID_ARG_VALUE')
pad_case([1, 1, 5, 5], [3, -2, 0, 0], 'circular')
pad_case([1, 1, 1, 3, 3], [1, 1, 1, 1], 'reflect', expect='ERR_SHAPE_MISMATCH')

# ---------------------------------------------------------------------------------------------------- add/mul
for op, fn in [('add', torch.add), ('mul', torch.mul)]:
    for sa, sb in [([2, 3, 4, 5], [2, 3, 4, 5]), ([2, 3, 4, 5], [1, 3, 1, 1]), ([1, 3, 4, 4], [3, 1, 1]),
                   ([2, 3, 4, 5], [5]), ([2, 1, 4, 1], [1, 3, 1, 5]), ([3, 4], [3, 4]), ([1, 4, 2, 2], [])]:
        a, b = randn(*sa), randn(*sb)
        add_case(op, {'a': a, 'b': b}, {}, lambda: fn(a, b))
    for s in [2.5, -1.0]:
        a = randn(1, 2, 3, 3)
        add_case(op, {'a': a, 'b': s}, {}, lambda: fn(a, s))
    a_, b_ = randn(1, 3, 4, 4), randn(1, 2, 4, 4)
    add_case(op, {'a': a_, 'b': b_}, {}, lambda: fn(a_, b_), 'ERR_SHAPE_MISMATCH')

# ------------------------------------------------------------------------------------------------ interpolate


def interp_case(shape, opts, expect=None):
    x = randn(*shape)
    size = opts.get('size')
    sf = opts.get('scaleFactor')
    mode = opts.get('mode', 'nearest')
    ac = opts.get('alignCorners')
    add_case('interpolate', {'x': x}, {k: pair(v) for k, v in opts.items()},
             lambda: F.interpolate(x, size=size, scale_factor=sf, mode=mode, align_corners=ac), expect)


for _ in range(44):
    shape = [rng.choice([1, 2]), rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 9)]
    mode = rng.choice(['nearest', 'bilinear'])
    opts = {'mode': mode}
    if rng.random() < 0.5:
        opts['size'] = (rng.randint(1, 13), rng.randint(1, 13)) if rng.random() < 0.7 else rng.randint(1, 13)
    else:
        opts['scaleFactor'] = rng.choice([2.0, 0.5, 1.5, 3.0, 0.75, 1.7, 2.3, (2.0, 1.25), (0.6, 2.5)])
        if isinstance(opts['scaleFactor'], tuple):
            opts['scaleFactor'] = tuple(opts['scaleFactor'])
        sh, sw = as_tuple(opts['scaleFactor'])
        if int(shape[2] * sh) < 1 or int(shape[3] * sw) < 1:
            shape[2], shape[3] = shape[2] + 3, shape[3] + 3
    if mode == 'bilinear' and rng.random() < 0.7:
        opts['alignCorners'] = rng.random() < 0.5
    interp_case(shape, opts)
interp_case([1, 2, 4, 4], {'scaleFactor': 2, 'mode': 'nearest'})
interp_case([1, 2, 5, 7], {'size': [10, 14], 'mode': 'bilinear', 'alignCorners': True})
interp_case([1, 2, 5, 7], {'size': [10, 14], 'mode': 'bilinear', 'alignCorners': False})
interp_case([1, 1, 3, 3], {'size': [1, 1], 'mode': 'bilinear', 'alignCorners': True})
interp_case([1, 1, 7, 5], {'size': [3, 2], 'mode': 'nearest'})
# Sizes where the float32 scale (as torch computes it) floors differently from exact arithmetic.
interp_case([1, 1, 3, 14], {'size': [5, 46], 'mode': 'nearest'})
interp_case([1, 1, 26, 2], {'size': [22, 3], 'mode': 'nearest'})
interp_case([1, 1, 26, 28], {'size': [44, 46], 'mode': 'nearest'})
interp_case([1, 1, 26, 14], {'size': [44, 46], 'mode': 'bilinear'})
interp_case([1, 1, 9, 7], {'scaleFactor': [1 / 3, 0.7], 'mode': 'nearest'})
interp_case([1, 1, 9, 7], {'scaleFactor': [1 / 3, 0.7], 'mode': 'bilinear'})
interp_case([1, 1, 4, 4], {'size': 3, 'scaleFactor': 2}, 'ERR_INVALID_ARG_VALUE')
interp_case([1, 1, 4, 4], {'mode': 'nearest'}, 'ERR_INVALID_ARG_TYPE')
interp_case([1, 1, 4, 4], {'scaleFactor': 2, 'mode': 'nearest', 'alignCorners': True}, 'ERR_INVALID_ARG_VALUE')
interp_case([1, 1, 4, 4], {'size': [0, 4], 'mode': 'nearest'}, 'ERR_INVALID_ARG_VALUE')
interp_case([1, 1, 3, 3], {'scaleFactor': 0.2, 'mode': 'bilinear'}, 'ERR_OUTPUT_SIZE')
interp_case([1, 4, 4], {'size': [8, 8], 'mode': 'bilinear'}, 'ERR_SHAPE_MISMATCH')

# ---------------------------------------------------------------------------------------------------- output
os.makedirs(OUT_DIR, exist_ok=True)
data = np.concatenate(blob).astype('<f4')
with open(os.path.join(OUT_DIR, 'golden.f32'), 'wb') as f:
    f.write(data.tobytes())
meta = {
    'generator': 'tools/gen_op_fixtures.py',
    'torch': torch.__version__,
    'seed': SEED,
    'floats': int(data.size),
    'cases': cases,
}
with open(os.path.join(OUT_DIR, 'golden.json'), 'w') as f:
    json.dump(meta, f, separators=(',', ':'))
    f.write('\n')
counts = {}
for c in cases:
    key = c['op'] + (' (refused)' if 'error' in c else '')
    counts[key] = counts.get(key, 0) + 1
print('%d cases, %d floats (%.2f MB)' % (len(cases), data.size, data.size * 4 / 1e6), file=sys.stderr)
for k in sorted(counts):
    print('  %-28s %d' % (k, counts[k]), file=sys.stderr)
