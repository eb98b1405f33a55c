"""Exports a training checkpoint to the native model format: weights/model.json + weights/model.safetensors.

    /usr/bin/python3 tools/nuclei/export.py --checkpoint .tmp/nuclei-run/best.pt --out weights

The safetensors file is written here directly (8-byte little-endian header length, JSON header, raw little-endian
float32 data, tensors in sorted key order, 8-byte aligned). Keys are the milesial U-Net state_dict keys;
`num_batches_tracked` buffers are dropped.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import GENERATOR_VERSION  # noqa: E402


def write_safetensors(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        data = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 8)  # pad with spaces so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", default="weights")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--train-command", default="")
    args = ap.parse_args()

    ck = torch.load(args.checkpoint, map_location="cpu")
    targs = ck["args"]
    tensors = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in ck["model"].items()
               if not k.endswith("num_batches_tracked")}
    os.makedirs(args.out, exist_ok=True)
    st_path = os.path.join(args.out, "model.safetensors")
    write_safetensors(st_path, tensors, {"format": "pt", "name": "nuclei-unet"})
    with open(st_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    params = int(sum(v.size for k, v in tensors.items() if "running_" not in k))

    meta = {
        "format": "unet-pipeline/model",
        "formatVersion": 1,
        "name": "nuclei-unet",
        "description": ("Fluorescence nuclei segmenter (binary: nucleus vs background) for widefield/confocal "
                        "nuclear stains (DAPI, Hoechst, nuclear GFP). Trained on synthetic images from "
                        "tools/nuclei/generate.py; RGB inputs are converted to luminance."),
        "weights": "model.safetensors",
        "architecture": {"type": "unet", "inChannels": 1, "classes": 1, "base": targs["base"],
                         "depth": targs["depth"], "upMode": "transpose"},
        "graph": None,
        "input": {"channels": 1, "colorMode": "grayscale", "mean": [round(ck["mean"], 6)],
                  "std": [round(ck["std"], 6)], "resize": "native", "multiple": 2 ** targs["depth"], "size": None,
                  "tileSize": 512, "tileOverlap": 64},
        "output": {"activation": "sigmoid", "threshold": args.threshold, "labels": ["background", "nucleus"],
                   "palette": [[0, 0, 0], [255, 64, 64]], "classValues": None},
        "provenance": {
            "generator": f"tools/nuclei/generate.py {GENERATOR_VERSION}",
            "trainSeeds": f"0-{targs['train_images'] - 1}",
            "validationSeeds": f"50000-{50000 + targs['val_images'] - 1}",
            "trainingSeed": targs["seed"],
            "command": args.train_command or "tools/nuclei/train.py",
            "iterations": ck["iter"],
            "batch": targs["batch"],
            "cropsSeen": ck["iter"] * targs["batch"],
            "validationDice": round(float(ck["val_dice"]), 4),
            "trainSeconds": round(float(ck["train_seconds"])),
            "totalSeconds": round(float(ck["total_seconds"])),
            "framework": f"PyTorch {torch.__version__}",
            "parameters": params,
            "sha256": sha,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "licence": "MIT",
        },
    }
    with open(os.path.join(args.out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps({"sha256": sha, "parameters": params, "bytes": os.path.getsize(st_path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
