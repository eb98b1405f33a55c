"""Trains the default nuclei U-Net on generated images (deterministic by seed, single-threaded CPU).

    nice -n 10 /usr/bin/python3 tools/nuclei/train.py --out .tmp/nuclei-run

Data: `--train-images` generated images (seeds 0..N-1, sizes 160..448, all buckets), seen exactly as the pipeline
sees them (bit-depth scaling, RGB -> luminance), 20 % of the 8-bit ones re-encoded as JPEG. Batches of random crops
(128..192 px) with flips, rot90, scale, gain/offset/gamma jitter. Loss BCE + soft Dice, Adam, cosine LR.
Writes `<out>/last.pt` and `<out>/best.pt` (by validation Dice) regularly, and `<out>/log.csv`.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import GENERATOR_VERSION, generate, to_unit_gray  # noqa: E402
from unet import UNet  # noqa: E402

VAL_SEED0 = 50_000


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def build_set(seeds: range, size_lo: int, size_hi: int, jpeg: bool) -> list[tuple[np.ndarray, np.ndarray, str]]:
    out = []
    for s in seeds:
        rs = np.random.default_rng([s, 7])
        h, w = int(rs.integers(size_lo, size_hi + 1)), int(rs.integers(size_lo, size_hi + 1))
        smp = generate(s, size=(h, w))
        img = smp.image
        if jpeg and img.dtype == np.uint8 and rs.random() < 0.2:
            img = jpeg_roundtrip(img, int(rs.integers(75, 96)))
        out.append((to_unit_gray(img), smp.mask.astype(np.float32), smp.bucket))
    return out


def load_or_build(path: str, seeds: range, size_lo: int, size_hi: int, jpeg: bool):
    if os.path.exists(path):
        z = np.load(path, allow_pickle=True)
        return list(z["items"])
    t = time.time()
    items = build_set(seeds, size_lo, size_hi, jpeg)
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    np.save(path, arr, allow_pickle=True) if path.endswith(".npy") else np.savez(path, items=arr)
    print(f"generated {len(items)} images in {time.time() - t:.0f}s", flush=True)
    return items


def sample_batch(rng: np.random.Generator, data, batch: int, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for _ in range(batch):
        img, msk, _ = data[int(rng.integers(len(data)))]
        scale = float(np.exp(rng.uniform(math.log(0.75), math.log(1.33))))
        src = min(int(round(crop * scale)), img.shape[0], img.shape[1])
        y0 = int(rng.integers(0, img.shape[0] - src + 1))
        x0 = int(rng.integers(0, img.shape[1] - src + 1))
        x = torch.from_numpy(np.ascontiguousarray(img[y0:y0 + src, x0:x0 + src]))[None, None]
        y = torch.from_numpy(np.ascontiguousarray(msk[y0:y0 + src, x0:x0 + src]))[None, None]
        if src != crop:
            x = F.interpolate(x, size=(crop, crop), mode="bilinear", align_corners=False)
            y = (F.interpolate(y, size=(crop, crop), mode="bilinear", align_corners=False) > 0.5).float()
        k = int(rng.integers(4))
        x, y = torch.rot90(x, k, (2, 3)), torch.rot90(y, k, (2, 3))
        if rng.random() < 0.5:
            x, y = x.flip(3), y.flip(3)
        # Photometric jitter in the pipeline's [0, 1] space.
        gain = float(np.exp(rng.uniform(math.log(0.6), math.log(1.4))))
        gamma = float(np.exp(rng.uniform(math.log(0.75), math.log(1.33))))
        x = (x.clamp(0, 1) ** gamma) * gain + float(rng.uniform(-0.02, 0.03))
        xs.append(x.clamp(0, 1))
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


@torch.no_grad()
def validate(model: UNet, val, mean: float, std: float) -> float:
    model.eval()
    inter = tot = 0.0
    for img, msk, _ in val:
        h, w = img.shape
        ph, pw = (-h) % 16, (-w) % 16
        x = torch.from_numpy((img - mean) / std)[None, None]
        x = F.pad(x, [0, pw, 0, ph])
        p = (model(x)[0, 0, :h, :w] > 0).numpy()
        inter += float((p & (msk > 0)).sum())
        tot += float(p.sum() + msk.sum())
    model.train()
    return 2 * inter / max(tot, 1.0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--train-images", type=int, default=600)
    ap.add_argument("--val-images", type=int, default=40)
    ap.add_argument("--iters", type=int, default=3600)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--base", type=int, default=8)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--max-minutes", type=float, default=42.0)
    ap.add_argument("--eval-every", type=int, default=200)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()

    train = load_or_build(os.path.join(args.out, "train.npz"), range(args.train_images), 160, 448, True)
    val = load_or_build(os.path.join(args.out, "val.npz"), range(VAL_SEED0, VAL_SEED0 + args.val_images),
                        192, 320, False)
    pix = np.concatenate([im.ravel() for im, _, _ in train])
    mean, std = float(pix.mean()), float(pix.std())
    del pix
    print(f"data mean {mean:.4f} std {std:.4f}", flush=True)

    model = UNet(1, 1, args.base, args.depth)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    budget = args.max_minutes * 60 - (time.time() - t_start)  # seconds left for training

    def lr_at(progress: float) -> float:
        # Cosine from lr to lr/100 over whichever ends first: the iterations or the wall-time budget.
        return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))
    crops = [128, 144, 160, 176, 192]
    best = -1.0
    log = open(os.path.join(args.out, "log.csv"), "w")
    log.write("iter,loss,val_dice,lr,seconds\n")
    t_train = time.time()
    run_avg = None
    it = 0
    for it in range(1, args.iters + 1):
        x, y = sample_batch(rng, train, args.batch, crops[int(rng.integers(len(crops)))])
        logits = model((x - mean) / std)
        loss = loss_fn(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        progress = max(it / args.iters, (time.time() - t_train) / budget)
        lr = lr_at(progress)
        for g in opt.param_groups:
            g["lr"] = lr
        run_avg = loss.item() if run_avg is None else 0.98 * run_avg + 0.02 * loss.item()
        out_of_time = progress >= 1.0 and it < args.iters
        vd = ""
        if it % args.eval_every == 0 or it == args.iters or out_of_time:
            d = validate(model, val, mean, std)
            vd = f"{d:.4f}"
            state = {"model": model.state_dict(), "iter": it, "val_dice": d, "mean": mean, "std": std,
                     "args": vars(args), "generator": GENERATOR_VERSION,
                     "train_seconds": time.time() - t_train, "total_seconds": time.time() - t_start}
            torch.save(state, os.path.join(args.out, "last.pt"))
            if d > best:
                best = d
                torch.save(state, os.path.join(args.out, "best.pt"))
            print(f"it {it} loss {run_avg:.4f} val_dice {d:.4f} lr {lr:.2e} "
                  f"{time.time() - t_start:.0f}s", flush=True)
        log.write(f"{it},{loss.item():.5f},{vd},{lr:.3e},{time.time() - t_start:.1f}\n")
        if it % 20 == 0:
            log.flush()
        if out_of_time:
            print("stopping: time budget reached", flush=True)
            break
    log.close()
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"iters": it, "best_val_dice": best, "mean": mean, "std": std, "args": vars(args),
                   "total_seconds": time.time() - t_start, "train_seconds": time.time() - t_train}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
