"""Runs an exported native model (model.json + model.safetensors) in PyTorch the way the pipeline does.

Preprocessing: pixels to [0, 1] by bit depth, RGB -> luminance (0.299, 0.587, 0.114), (v - mean) / std.
An image no larger than the tile is padded (reflect, bottom/right) to a multiple of `multiple` and run once;
a larger one is cut into tiles of `tileSize` at evenly spread starts overlapping by at least `tileOverlap`,
whose logits are blended with linear ramps over the overlap (the scheme of src/pipeline/tiling.ts).
"""
from __future__ import annotations

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import UNet  # noqa: E402

DTYPES = {"F32": np.float32, "F16": np.float16}


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def load_native(model_json: str) -> tuple[UNet, dict]:
    with open(model_json) as f:
        meta = json.load(f)
    arch = meta["architecture"]
    if arch.get("upMode", "transpose") != "transpose":
        raise ValueError(f"upMode: expected 'transpose' but received {arch.get('upMode')!r}")
    model = UNet(arch["inChannels"], arch["classes"], arch["base"], arch["depth"])
    tensors = read_safetensors(os.path.join(os.path.dirname(model_json), meta["weights"]))
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"weights: missing {missing}, unexpected {unexpected}")
    model.eval()
    return model, meta


def plan_axis(length: int, tile: int, overlap: int, multiple: int) -> list[tuple[int, int, int, np.ndarray]]:
    """(start, size, padded, weights) per tile along one axis."""
    if tile <= 0 or length <= tile:
        return [(0, length, int(math.ceil(length / multiple) * multiple), np.ones(length, np.float32))]
    step = tile - overlap
    count = int(math.ceil((length - overlap) / step))
    spans = []
    ramp = max(1, overlap)
    for i in range(count):
        start = int(round(i * (length - tile) / (count - 1)))
        x = np.arange(tile, dtype=np.float32)
        w = np.ones(tile, np.float32)
        if i > 0:
            w = np.minimum(w, (x + 0.5) / ramp)
        if i < count - 1:
            w = np.minimum(w, (tile - x - 0.5) / ramp)
        spans.append((start, tile, tile, w))
    return spans


@torch.no_grad()
def predict_logits(model: UNet, unit: np.ndarray, mean: float, std: float, tile: int = 512, overlap: int = 64,
                   multiple: int = 16) -> np.ndarray:
    """Logits (H, W) for a [0, 1] grayscale image."""
    h, w = unit.shape
    x = torch.from_numpy(((unit - mean) / std).astype(np.float32))
    rows, cols = plan_axis(h, tile, overlap, multiple), plan_axis(w, tile, overlap, multiple)
    acc = np.zeros((h, w), np.float32)
    sy = np.zeros(h, np.float32)
    sx = np.zeros(w, np.float32)
    for r0, rs, rp, rw in rows:
        sy[r0:r0 + rs] += rw
    for c0, cs, cp, cw in cols:
        sx[c0:c0 + cs] += cw
    for r0, rs, rp, rw in rows:
        for c0, cs, cp, cw in cols:
            t = x[r0:r0 + rs, c0:c0 + cs][None, None]
            if rp > rs or cp > cs:
                t = F.pad(t, [0, cp - cs, 0, rp - rs], mode="reflect")
            y = model(t)[0, 0, :rs, :cs].numpy()
            acc[r0:r0 + rs, c0:c0 + cs] += y * rw[:, None] * cw[None, :]
    return acc / sy[:, None] / sx[None, :]


def predict_mask(model: UNet, meta: dict, unit: np.ndarray) -> np.ndarray:
    inp, out = meta["input"], meta["output"]
    logits = predict_logits(model, unit, inp["mean"][0], inp["std"][0], inp["tileSize"], inp["tileOverlap"],
                            inp["multiple"])
    t = float(out["threshold"])
    return logits > math.log(t / (1 - t))  # sigmoid(logit) > threshold
