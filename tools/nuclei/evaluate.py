"""Held-out evaluation of an exported model against an Otsu baseline, by difficulty bucket.

    /usr/bin/python3 tools/nuclei/evaluate.py --model weights/model.json --per-bucket 50 --json .tmp/eval.json

Images are generated from seeds 100000.. (disjoint from training 0.. and validation 50000..), `--per-bucket` per
bucket, at the generator's own sizes (128..1024) and formats; the model runs at full resolution exactly as the
pipeline does (tools/nuclei/infer.py). Baseline: Otsu threshold on the Gaussian-smoothed (sigma 1.5) image.
Scores are means over images of per-image Dice and IoU (an image with an empty mask and an empty prediction
scores 1).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import BUCKETS, generate, to_unit_gray  # noqa: E402
from infer import load_native, predict_mask  # noqa: E402

EVAL_SEED0 = 100_000


def otsu_threshold(v: np.ndarray, bins: int = 512) -> float:
    hist, edges = np.histogram(v, bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist).astype(np.float64)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centers)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(centers[int(np.argmax(between))])


def otsu_mask(unit: np.ndarray) -> np.ndarray:
    s = ndimage.gaussian_filter(unit, 1.5)
    return s > otsu_threshold(s)


def dice_iou(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    p, t = pred.astype(bool), truth.astype(bool)
    inter = float((p & t).sum())
    tot = float(p.sum() + t.sum())
    union = float((p | t).sum())
    if tot == 0:
        return 1.0, 1.0
    return 2 * inter / tot, inter / union


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="weights/model.json")
    ap.add_argument("--per-bucket", type=int, default=50)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, meta = load_native(args.model)

    rows = []
    t0 = time.time()
    for b_i, bucket in enumerate(BUCKETS):
        for k in range(args.per_bucket):
            seed = EVAL_SEED0 + b_i * 10_000 + k
            smp = generate(seed, bucket=bucket)
            unit = to_unit_gray(smp.image)
            md, mi = dice_iou(predict_mask(model, meta, unit), smp.mask)
            od, oi = dice_iou(otsu_mask(unit), smp.mask)
            rows.append({"seed": seed, "bucket": bucket, "model_dice": md, "model_iou": mi, "otsu_dice": od,
                         "otsu_iou": oi, **{k2: smp.meta[k2] for k2 in ("height", "width", "bitDepth", "color")}})
        print(f"{bucket}: done ({time.time() - t0:.0f}s)", flush=True)

    def summary(sel: list[dict]) -> dict:
        return {k: round(float(np.mean([r[k] for r in sel])), 4)
                for k in ("model_dice", "model_iou", "otsu_dice", "otsu_iou")} | {"images": len(sel)}

    table = {b: summary([r for r in rows if r["bucket"] == b]) for b in BUCKETS}
    table["all"] = summary(rows)
    print(f"{'bucket':10s} {'n':>4s} {'model Dice':>10s} {'model IoU':>10s} {'Otsu Dice':>10s} {'Otsu IoU':>10s}")
    for b, s in table.items():
        print(f"{b:10s} {s['images']:4d} {s['model_dice']:10.4f} {s['model_iou']:10.4f} {s['otsu_dice']:10.4f} "
              f"{s['otsu_iou']:10.4f}")
    worst = sorted(rows, key=lambda r: r["model_dice"])[:5]
    print("worst:", [(r["seed"], r["bucket"], round(r["model_dice"], 3)) for r in worst])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"table": table, "rows": rows, "seconds": time.time() - t0}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
