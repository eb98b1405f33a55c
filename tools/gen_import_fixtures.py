#!/usr/bin/python3
"""Generate the import fixtures under test/fixtures/import/.

Run with the Debian PyTorch (torch 1.13 + onnx):  /usr/bin/python3 tools/gen_import_fixtures.py

Models (exported with torch.onnx.export at opsets 11 and 17, PyTorch outputs saved next to them):
  u2net_rsu    a small U^2-Net: RSU blocks (3x3 convs + BN + ReLU, ceil-mode max pools, bilinear up-sampling to a
               sibling's size with F.interpolate(size=..., align_corners=False)), an RSU-4F block with dilations
               1/2/4/8, side outputs up-sampled to the input size, a fused 1x1 conv, sigmoid on every output
               (three outputs). Fixed odd input size.
  isnet_like   an ISNet-style model: stride-2 input conv, ceil-mode pool, RSU blocks, a squeeze-excitation gate
               (GlobalAveragePool, 1x1 conv, sigmoid, Mul), LeakyReLU, side outputs up-sampled to the input size
               (two outputs). Dynamic height/width: PyTorch outputs for two input sizes.
Other files:
  unet_half_wrapped.pth  a float16 milesial U-Net inside {"state_dict": …} with "module." keys and RGB
               mask_values, plus its PyTorch output
  tensors.pth  dtype and view cases: float16, float64, an offset/strided view, a transposed (non-contiguous)
               tensor, an int64 scalar; expected values in index.json.
Hostile files (the loaders must refuse them with a clear error, without crashing or hanging):
  truncated.pth, truncated.onnx       cut in the middle
  os_system.pth                       a torch.save-like zip whose data.pkl REDUCEs posix.system (built by hand here,
                                      never unpickled); the command would create a marker file
  not_unet.pth                        a valid state_dict of another architecture
  deep.pth                            a (deflated) pickle nested 5000 levels deep
  cycle.onnx, missing_input.onnx      malformed graphs
  unsupported_op.onnx                 a GridSample node
  external_data.onnx                  an initializer stored in an external file

Everything is written as raw little-endian float32 (NCHW) plus index.json; the directory stays well under 2 MB.
"""
import io
import json
import os
import struct
import zipfile

import numpy as np
import onnx
import onnx.helper as oh
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'import')
MARKER = 'unet-pipeline-unsafe-pickle-marker'  # relative: a loader that ran the pickle would create it in its working directory


class REBNCONV(nn.Module):
    def __init__(self, cin, cout, dirate=1, act='relu'):
        super().__init__()
        self.conv_s1 = nn.Conv2d(cin, cout, 3, padding=dirate, dilation=dirate)
        self.bn_s1 = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True) if act == 'relu' else nn.LeakyReLU(0.1, inplace=True)

    def forward(self, x):
        return self.act(self.bn_s1(self.conv_s1(x)))


def upsample_like(src, tar):
    return F.interpolate(src, size=tar.shape[2:], mode='bilinear', align_corners=False)


class RSU4(nn.Module):
    """U^2-Net's RSU-4: a 3-level U inside a block, pools with ceil_mode, up-sampling to the sibling's size."""

    def __init__(self, cin, mid, cout, act='relu'):
        super().__init__()
        self.rebnconvin = REBNCONV(cin, cout, 1, act)
        self.rebnconv1 = REBNCONV(cout, mid, 1, act)
        self.pool1 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.rebnconv2 = REBNCONV(mid, mid, 1, act)
        self.pool2 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.rebnconv3 = REBNCONV(mid, mid, 1, act)
        self.rebnconv4 = REBNCONV(mid, mid, 2, act)
        self.rebnconv3d = REBNCONV(mid * 2, mid, 1, act)
        self.rebnconv2d = REBNCONV(mid * 2, mid, 1, act)
        self.rebnconv1d = REBNCONV(mid * 2, cout, 1, act)

    def forward(self, x):
        hxin = self.rebnconvin(x)
        hx1 = self.rebnconv1(hxin)
        hx2 = self.rebnconv2(self.pool1(hx1))
        hx3 = self.rebnconv3(self.pool2(hx2))
        hx4 = self.rebnconv4(hx3)
        hx3d = self.rebnconv3d(torch.cat((hx4, hx3), 1))
        hx2d = self.rebnconv2d(torch.cat((upsample_like(hx3d, hx2), hx2), 1))
        hx1d = self.rebnconv1d(torch.cat((upsample_like(hx2d, hx1), hx1), 1))
        return hx1d + hxin


class RSU4F(nn.Module):
    """U^2-Net's RSU-4F: no pooling, dilations 1/2/4/8 instead."""

    def __init__(self, cin, mid, cout):
        super().__init__()
        self.rebnconvin = REBNCONV(cin, cout, 1)
        self.rebnconv1 = REBNCONV(cout, mid, 1)
        self.rebnconv2 = REBNCONV(mid, mid, 2)
        self.rebnconv3 = REBNCONV(mid, mid, 4)
        self.rebnconv4 = REBNCONV(mid, mid, 8)
        self.rebnconv3d = REBNCONV(mid * 2, mid, 4)
        self.rebnconv2d = REBNCONV(mid * 2, mid, 2)
        self.rebnconv1d = REBNCONV(mid * 2, cout, 1)

    def forward(self, x):
        hxin = self.rebnconvin(x)
        hx1 = self.rebnconv1(hxin)
        hx2 = self.rebnconv2(hx1)
        hx3 = self.rebnconv3(hx2)
        hx4 = self.rebnconv4(hx3)
        hx3d = self.rebnconv3d(torch.cat((hx4, hx3), 1))
        hx2d = self.rebnconv2d(torch.cat((hx3d, hx2), 1))
        hx1d = self.rebnconv1d(torch.cat((hx2d, hx1), 1))
        return hx1d + hxin


class U2NetSmall(nn.Module):
    def __init__(self, cin=3, cout=1):
        super().__init__()
        self.stage1 = RSU4(cin, 4, 8)
        self.pool12 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage2 = RSU4F(8, 4, 8)
        self.stage1d = RSU4(16, 4, 8)
        self.side1 = nn.Conv2d(8, cout, 3, padding=1)
        self.side2 = nn.Conv2d(8, cout, 3, padding=1)
        self.outconv = nn.Conv2d(2 * cout, cout, 1)

    def forward(self, x):
        hx1 = self.stage1(x)
        hx2 = self.stage2(self.pool12(hx1))
        hx1d = self.stage1d(torch.cat((upsample_like(hx2, hx1), hx1), 1))
        d1 = self.side1(hx1d)
        d2 = upsample_like(self.side2(hx2), d1)
        d0 = self.outconv(torch.cat((d1, d2), 1))
        return torch.sigmoid(d0), torch.sigmoid(d1), torch.sigmoid(d2)


class ISNetLike(nn.Module):
    def __init__(self, cin=3, cout=1):
        super().__init__()
        self.conv_in = nn.Conv2d(cin, 8, 3, stride=2, padding=1)
        self.pool_in = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage1 = RSU4(8, 4, 8, act='leaky')
        self.pool12 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage2 = RSU4F(8, 4, 12)
        self.gate = nn.Conv2d(12, 12, 1)
        self.stage1d = RSU4(20, 4, 8)
        self.side1 = nn.Conv2d(8, cout, 3, padding=1)
        self.side2 = nn.Conv2d(12, cout, 3, padding=1)

    def forward(self, x):
        hx = self.pool_in(self.conv_in(x))
        hx1 = self.stage1(hx)
        hx2 = self.stage2(self.pool12(hx1))
        hx2 = hx2 * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(hx2, 1)))
        hx1d = self.stage1d(torch.cat((upsample_like(hx2, hx1), hx1), 1))
        d1 = upsample_like(self.side1(hx1d), x)
        d2 = upsample_like(self.side2(hx2), x)
        return torch.sigmoid(d1), torch.sigmoid(d2)


def randomize_bn(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.4)


def f32(path, t):
    t.detach().numpy().astype('<f4').tofile(path)


def export_models(index):
    specs = [
        dict(name='u2net_rsu', cls=U2NetSmall, shapes=[(1, 3, 45, 37)], dynamic=False, seed=1),
        dict(name='isnet_like', cls=ISNetLike, shapes=[(1, 3, 50, 42), (2, 3, 33, 61)], dynamic=True, seed=2),
    ]
    for spec in specs:
        torch.manual_seed(spec['seed'])
        gen = torch.Generator().manual_seed(100 + spec['seed'])
        model = spec['cls']()
        randomize_bn(model, gen)
        model.eval()
        cases = []
        for k, shape in enumerate(spec['shapes']):
            x = torch.randn(*shape, generator=gen)
            with torch.no_grad():
                ys = model(x)
            base = f"{spec['name']}.case{k}"
            f32(os.path.join(OUT, base + '.input.f32'), x)
            outs = []
            for j, y in enumerate(ys):
                f32(os.path.join(OUT, f'{base}.output{j}.f32'), y)
                outs.append({'file': f'{base}.output{j}.f32', 'shape': list(y.shape), 'maxAbs': float(y.abs().max())})
            cases.append({'input': {'file': base + '.input.f32', 'shape': list(shape)}, 'outputs': outs})
        x0 = torch.randn(*spec['shapes'][0], generator=gen)
        n_out = len(cases[0]['outputs'])
        names = [f'out{j}' for j in range(n_out)]
        for opset in (11, 17):
            fname = f"{spec['name']}.opset{opset}.onnx"
            kwargs = {}
            if spec['dynamic']:
                axes = {0: 'batch', 2: 'height', 3: 'width'}
                kwargs['dynamic_axes'] = {'input': axes, **{nm: axes for nm in names}}
            torch.onnx.export(model, x0, os.path.join(OUT, fname), opset_version=opset, input_names=['input'],
                              output_names=names, do_constant_folding=True, **kwargs)
            index['models'].append({'name': spec['name'], 'file': fname, 'opset': opset,
                                    'dynamicAxes': spec['dynamic'], 'cases': cases})
        if spec['name'] == 'u2net_rsu':
            data = open(os.path.join(OUT, 'u2net_rsu.opset17.onnx'), 'rb').read()
            open(os.path.join(OUT, 'truncated.onnx'), 'wb').write(data[: len(data) * 3 // 5])


def tensors_pth(index):
    base = torch.arange(48, dtype=torch.float32).reshape(6, 8) * 0.25 - 3
    view = base[1:5, 2::2]                       # offset 10, strides (8, 2)
    transposed = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()   # strides (1, 4)
    half = torch.tensor([0.5, -1.25, 65504.0, 6.1e-05, 0.0, -2.0], dtype=torch.float16)
    double = torch.tensor([[1.0 / 3, -2.5], [1e-3, 7.0]], dtype=torch.float64)
    sd = {'view': view, 'transposed': transposed, 'half': half, 'double': double, 'base': base,
          'count': torch.tensor(7, dtype=torch.int64)}
    torch.save(sd, os.path.join(OUT, 'tensors.pth'))
    index['tensors'] = {k: {'shape': list(v.shape), 'values': v.double().flatten().tolist()} for k, v in sd.items()}

    # truncated: the first half of a valid checkpoint
    buf = io.BytesIO()
    torch.save({'inc.double_conv.0.weight': torch.randn(4, 3, 3, 3)}, buf)
    data = buf.getvalue()
    open(os.path.join(OUT, 'truncated.pth'), 'wb').write(data[: len(data) // 2])
    torch.save({'conv1.weight': torch.randn(4, 3, 7, 7), 'fc.weight': torch.randn(10, 4), 'fc.bias': torch.zeros(10)},
               os.path.join(OUT, 'not_unet.pth'))


def os_system_pth():
    """A torch.save-shaped zip whose pickle calls posix.system(...) by REDUCE, inside an otherwise normal dict.

    Written opcode by opcode; nothing here unpickles it. If a loader executed it, MARKER would appear.
    """
    p = bytearray(b'\x80\x02')                                  # PROTO 2
    p += b'ccollections\nOrderedDict\nq\x00)R'                  # OrderedDict()
    p += b'q\x01('                                              # BINPUT 1, MARK
    p += b'X\x04\x00\x00\x00note'                               # key "note"
    p += b'X\x02\x00\x00\x00ok'                                 # value "ok"
    p += b'X\x07\x00\x00\x00payload'                            # key "payload"
    p += b'cposix\nsystem\nq\x02'                               # GLOBAL posix.system
    cmd = f'touch {MARKER}'.encode()
    p += b'X' + struct.pack('<I', len(cmd)) + cmd + b'\x85R'    # ("touch ...",) REDUCE
    p += b'u.'                                                  # SETITEMS, STOP
    with zipfile.ZipFile(os.path.join(OUT, 'os_system.pth'), 'w', zipfile.ZIP_STORED) as z:
        z.writestr('os_system/data.pkl', bytes(p))
        z.writestr('os_system/version', '3\n')


def wrapped_half_unet(index):
    """A milesial U-Net saved in float16 as {"state_dict": {"module." keys…, "mask_values": RGB triples}, …}.

    PyTorch's reference output is computed in float32 with the float16-rounded weights, which a loader
    converting float16 to float32 must reproduce.
    """
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gen_model_fixtures import UNet, randomize_bn
    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(55)
    model = UNet(3, 2, base=4, depth=2, bilinear=False)
    randomize_bn(model, gen)
    model.eval()
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})
    sd = {'module.' + k: v for k, v in half.items()}
    sd['module.mask_values'] = [[0, 0, 0], [255, 64, 64]]
    torch.save({'state_dict': sd, 'epoch': 9, 'optimizer': {'lr': 1e-4, 'betas': (0.9, 0.999)}},
               os.path.join(OUT, 'unet_half_wrapped.pth'))
    x = torch.randn(1, 3, 21, 27, generator=gen)
    with torch.no_grad():
        y = model(x)
    f32(os.path.join(OUT, 'unet_half_wrapped.input.f32'), x)
    f32(os.path.join(OUT, 'unet_half_wrapped.output.f32'), y)
    index['halfUnet'] = {'file': 'unet_half_wrapped.pth', 'input': {'file': 'unet_half_wrapped.input.f32', 'shape': [1, 3, 21, 27]},
                         'output': {'file': 'unet_half_wrapped.output.f32', 'shape': list(y.shape), 'maxAbs': float(y.abs().max())},
                         'architecture': {'type': 'unet', 'inChannels': 3, 'classes': 2, 'base': 4, 'depth': 2,
                                          'upMode': 'transpose'},
                         'maskValues': [[0, 0, 0], [255, 64, 64]]}


def deep_pth():
    """A zip whose pickle is a list nested 5000 levels deep (no globals at all)."""
    p = b'\x80\x02' + b']' * 5000 + b'a' * 4999 + b'.'
    with zipfile.ZipFile(os.path.join(OUT, 'deep.pth'), 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('deep/data.pkl', p)


def hostile_onnx():
    x = oh.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1, 1, 4, 4])
    y = oh.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1, 1, 4, 4])

    def save(nodes, name, inits=(), inputs=(x,)):
        g = oh.make_graph(nodes, name, list(inputs), [y], initializer=list(inits))
        m = oh.make_model(g, opset_imports=[oh.make_opsetid('', 17)], producer_name='gen_import_fixtures')
        with open(os.path.join(OUT, name + '.onnx'), 'wb') as f:
            f.write(m.SerializeToString())

    save([oh.make_node('Add', ['x', 'b'], ['a'], name='first'),
          oh.make_node('Relu', ['a'], ['b'], name='second'),
          oh.make_node('Sigmoid', ['a'], ['y'], name='third')], 'cycle')
    save([oh.make_node('Add', ['x', 'ghost'], ['y'], name='add_ghost')], 'missing_input')
    grid = oh.make_tensor('grid', onnx.TensorProto.FLOAT, [1, 4, 4, 2], np.zeros(32, dtype=np.float32))
    save([oh.make_node('GridSample', ['x', 'grid'], ['y'], name='warp')], 'unsupported_op', inits=[grid])
    w = onnx.TensorProto()
    w.name = 'w'
    w.data_type = onnx.TensorProto.FLOAT
    w.dims.extend([1, 1, 1, 1])
    w.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (('location', 'weights.bin'), ('offset', '0'), ('length', '4')):
        e = w.external_data.add()
        e.key, e.value = k, v
    save([oh.make_node('Conv', ['x', 'w'], ['y'], name='conv')], 'external_data', inits=[w])


def main():
    os.makedirs(OUT, exist_ok=True)
    index = {'description': 'Import fixtures written by tools/gen_import_fixtures.py (torch %s, onnx %s)'
             % (torch.__version__.split('+')[0], onnx.__version__), 'models': [], 'marker': MARKER}
    export_models(index)
    tensors_pth(index)
    wrapped_half_unet(index)
    os_system_pth()
    deep_pth()
    hostile_onnx()
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump(index, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
