#!/usr/bin/python3
"""Generate the small U-Net model fixtures under test/fixtures/models/.

Run with the Debian PyTorch (torch 1.13 + onnx):  /usr/bin/python3 tools/gen_model_fixtures.py

The U-Net below follows milesial/Pytorch-UNet's module structure and state_dict names (inc, down{i}, up{i}, outc;
DoubleConv = conv3x3 no bias + BN + ReLU twice; bilinear mode halves the deepest channels by `factor = 2`),
generalized to `depth` Down blocks. Every model is exported as:
  model.pth          torch.save of the state_dict (plain, wrapped in {"model_state_dict": ...}, with a "module."
                     prefix, or with milesial's "mask_values" entry, depending on the model)
  model.onnx         torch.onnx.export at a fixed odd input size, or with dynamic batch/height/width axes
  model.json         the native format (architecture + metadata), weights in model.safetensors (F32)
  input.f32          the test input, raw little-endian float32, NCHW
  output.f32         PyTorch's output (eval mode) for that input, raw little-endian float32
and index.json lists everything (shapes, opsets, state_dict variants). BatchNorm running statistics and affine
parameters are randomized so that folding BN into the convolutions is really exercised.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'models')


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        mid = mid_channels or out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels, bilinear):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy = x2.size(2) - x1.size(2)
        dx = x2.size(3) - x1.size(3)
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, base=64, depth=4, bilinear=False):
        super().__init__()
        self.n_channels, self.n_classes, self.bilinear, self.depth = n_channels, n_classes, bilinear, depth
        factor = 2 if bilinear else 1
        ch = [base * 2 ** i for i in range(depth + 1)]
        self.inc = DoubleConv(n_channels, ch[0])
        for i in range(1, depth + 1):
            out = ch[i] // factor if i == depth else ch[i]
            setattr(self, f'down{i}', Down(ch[i - 1], out))
        for i in range(1, depth + 1):
            cin = ch[depth - i + 1]
            out = ch[0] if i == depth else ch[depth - i] // factor
            setattr(self, f'up{i}', Up(cin, out, bilinear))
        self.outc = OutConv(ch[0], n_classes)

    def forward(self, x):
        skips = [self.inc(x)]
        for i in range(1, self.depth + 1):
            skips.append(getattr(self, f'down{i}')(skips[-1]))
        y = skips[-1]
        for i in range(1, self.depth + 1):
            y = getattr(self, f'up{i}')(y, skips[self.depth - i])
        return self.outc(y)


def randomize_bn(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.4)
                m.num_batches_tracked.fill_(7)


def write_safetensors(path, tensors):
    """Standard safetensors: u64 LE header length, JSON header, raw little-endian data (F32)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype == torch.int64:
            arr = t.numpy().astype('<i8')
            dtype = 'I64'
        else:
            arr = t.float().numpy().astype('<f4')
            dtype = 'F32'
        data = arr.tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {'format': 'pt'}
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * ((8 - len(hjson) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


MODELS = [
    # name, in, classes, base, depth, bilinear, input shape, state_dict variant, onnx opset, onnx dynamic axes
    dict(name='unet_t_c1_b4_d3', inc=3, classes=1, base=4, depth=3, bilinear=False, shape=(1, 3, 37, 45),
         pth='plain', opset=11, dynamic=False),
    dict(name='unet_b_c3_b8_d2', inc=1, classes=3, base=8, depth=2, bilinear=True, shape=(2, 1, 50, 63),
         pth='model_state_dict', opset=13, dynamic=True),
    dict(name='unet_b_c1_b4_d4', inc=3, classes=1, base=4, depth=4, bilinear=True, shape=(1, 3, 37, 45),
         pth='module_prefix', opset=17, dynamic=False),
    dict(name='unet_t_c3_b6_d2', inc=1, classes=3, base=6, depth=2, bilinear=False, shape=(2, 1, 50, 63),
         pth='mask_values', opset=12, dynamic=True),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    index = {'description': 'Small milesial-style U-Nets exported by tools/gen_model_fixtures.py (torch %s)'
             % torch.__version__.split('+')[0], 'models': []}
    for k, spec in enumerate(MODELS):
        torch.manual_seed(1000 + k)
        gen = torch.Generator().manual_seed(2000 + k)
        model = UNet(spec['inc'], spec['classes'], spec['base'], spec['depth'], spec['bilinear'])
        randomize_bn(model, gen)
        model.eval()
        d = os.path.join(OUT, spec['name'])
        os.makedirs(d, exist_ok=True)
        x = torch.randn(*spec['shape'], generator=gen)
        with torch.no_grad():
            y = model(x)
        x.numpy().astype('<f4').tofile(os.path.join(d, 'input.f32'))
        y.numpy().astype('<f4').tofile(os.path.join(d, 'output.f32'))

        sd = model.state_dict()
        if spec['pth'] == 'plain':
            obj = sd
        elif spec['pth'] == 'model_state_dict':
            obj = {'model_state_dict': sd, 'epoch': 3}
        elif spec['pth'] == 'module_prefix':
            obj = {'module.' + key: v for key, v in sd.items()}
        elif spec['pth'] == 'mask_values':
            obj = dict(sd)
            obj['mask_values'] = list(range(spec['classes']))
        torch.save(obj, os.path.join(d, 'model.pth'))

        onnx_path = os.path.join(d, 'model.onnx')
        kwargs = {}
        if spec['dynamic']:
            kwargs['dynamic_axes'] = {'input': {0: 'batch', 2: 'height', 3: 'width'},
                                      'output': {0: 'batch', 2: 'height', 3: 'width'}}
        torch.onnx.export(model, x, onnx_path, opset_version=spec['opset'], input_names=['input'],
                          output_names=['output'], do_constant_folding=True, **kwargs)

        write_safetensors(os.path.join(d, 'model.safetensors'), sd)
        ch = spec['inc']
        meta = {
            'format': 'unet-pipeline/model',
            'formatVersion': 1,
            'name': spec['name'],
            'description': 'Test fixture: random milesial-style U-Net with randomized BatchNorm statistics.',
            'weights': 'model.safetensors',
            'architecture': {'type': 'unet', 'inChannels': ch, 'classes': spec['classes'], 'base': spec['base'],
                             'depth': spec['depth'], 'upMode': 'bilinear' if spec['bilinear'] else 'transpose'},
            'graph': None,
            'input': {'channels': ch, 'colorMode': 'rgb' if ch == 3 else 'grayscale',
                      'mean': [0.5] * ch, 'std': [0.25] * ch, 'resize': 'native',
                      'multiple': 2 ** spec['depth'], 'size': [spec['shape'][2], spec['shape'][3]],
                      'tileSize': 512, 'tileOverlap': 64},
            'output': {'activation': 'sigmoid' if spec['classes'] == 1 else 'softmax', 'threshold': 0.5,
                       'labels': None, 'palette': None, 'classValues': None},
            'provenance': {'generator': 'tools/gen_model_fixtures.py', 'seed': 1000 + k},
        }
        with open(os.path.join(d, 'model.json'), 'w') as f:
            json.dump(meta, f, indent=2)
            f.write('\n')
        index['models'].append({
            'name': spec['name'],
            'dir': spec['name'],
            'architecture': meta['architecture'],
            'pth': {'file': 'model.pth', 'variant': spec['pth']},
            'onnx': {'file': 'model.onnx', 'opset': spec['opset'], 'dynamicAxes': spec['dynamic']},
            'native': {'file': 'model.json'},
            'input': {'file': 'input.f32', 'shape': list(x.shape)},
            'output': {'file': 'output.f32', 'shape': list(y.shape),
                       'maxAbs': float(y.abs().max())},
        })
        print(spec['name'], tuple(y.shape), 'max|y| = %.4f' % float(y.abs().max()), file=sys.stderr)
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump(index, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
