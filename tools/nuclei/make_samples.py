"""Writes samples/ (input images) and samples/ground-truth/ (exact masks), and scores a model on them.

    /usr/bin/python3 tools/nuclei/make_samples.py --out samples
    /usr/bin/python3 tools/nuclei/make_samples.py --out samples --score weights/model.json

The list below is fixed in advance (held-out seeds 200000.., disjoint from training, validation and evaluation);
each entry fixes bucket, size (h, w), bit depth, colour and file format. Scoring decodes the written files (so
JPEG artefacts count) and runs the model at full resolution as the pipeline does (pad to a multiple of 16, or
512-px tiles overlapping by 64).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import GENERATOR_VERSION, generate, save, to_unit_gray  # noqa: E402

# stem, seed, bucket, (h, w), bit depth, colour, format
SAMPLES = [
    ("nuclei-clean", 200001, "clean", (512, 512), 8, "gray", "png"),
    ("nuclei-uneven-16bit", 200002, "uneven", (600, 808), 16, "gray", "tif"),
    ("nuclei-debris", 200003, "debris", (333, 517), 8, "gray", "png"),
    ("nuclei-dim-16bit", 200004, "dim", (416, 500), 16, "gray", "tif"),
    ("nuclei-clustered-dapi", 200005, "clustered", (450, 700), 8, "dapi", "png"),
    ("nuclei-debris-cyan", 200006, "debris", (480, 640), 8, "cyan", "jpg"),
    ("nuclei-clustered-16bit", 200007, "clustered", (700, 640), 16, "gray", "tif"),
    ("nuclei-large", 200008, "clean", (1500, 2000), 8, "gray", "jpg"),
]


def read_image(path: str) -> np.ndarray:
    from PIL import Image
    import tifffile

    if path.endswith(".tif"):
        return tifffile.imread(path)
    return np.asarray(Image.open(path))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="samples")
    ap.add_argument("--score", default="", help="model.json to score on the written samples")
    args = ap.parse_args()
    from PIL import Image

    gt = os.path.join(args.out, "ground-truth")
    os.makedirs(gt, exist_ok=True)
    if not args.score:
        manifest = []
        for stem, seed, bucket, size, bits, color, fmt in SAMPLES:
            smp = generate(seed, bucket=bucket, size=size, bit_depth=bits, color=color)
            path = save(smp, os.path.join(args.out, stem), fmt)
            Image.fromarray((smp.mask * 255).astype(np.uint8)).save(os.path.join(gt, stem + ".mask.png"),
                                                                   optimize=True)
            manifest.append({"file": os.path.basename(path), "mask": f"ground-truth/{stem}.mask.png",
                             "nuclei": smp.meta["nuclei"], "foreground": round(float(smp.mask.mean()), 4),
                             **{k: smp.meta[k] for k in ("seed", "bucket", "height", "width", "bitDepth", "color")}})
            print(manifest[-1], flush=True)
        with open(os.path.join(gt, "manifest.json"), "w") as f:
            json.dump({"generator": GENERATOR_VERSION, "samples": manifest}, f, indent=1)
            f.write("\n")
        return 0

    import torch
    from evaluate import dice_iou, otsu_mask
    from infer import load_native, predict_mask

    torch.set_num_threads(1)
    model, meta = load_native(args.score)
    with open(os.path.join(gt, "manifest.json")) as f:
        manifest = json.load(f)
    for entry in manifest["samples"]:
        unit = to_unit_gray(read_image(os.path.join(args.out, entry["file"])))
        truth = np.asarray(Image.open(os.path.join(args.out, entry["mask"]))) > 127
        d, i = dice_iou(predict_mask(model, meta, unit), truth)
        od, _ = dice_iou(otsu_mask(unit), truth)
        entry["modelDice"], entry["modelIoU"], entry["otsuDice"] = round(d, 4), round(i, 4), round(od, 4)
        print(f"{entry['file']:28s} {entry['width']}x{entry['height']} {entry['bucket']:9s} "
              f"Dice {d:.4f} IoU {i:.4f} (Otsu Dice {od:.4f})", flush=True)
    with open(os.path.join(gt, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
