"""Plots the training curve (log.csv from train.py) to a small PNG.

    /usr/bin/python3 tools/nuclei/plot_curve.py .tmp/nuclei-run/log.csv weights/loss-curve.png
"""
from __future__ import annotations

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(src: str, dst: str) -> int:
    its, losses, vit, vdice = [], [], [], []
    with open(src) as f:
        for row in csv.DictReader(f):
            its.append(int(row["iter"]))
            losses.append(float(row["loss"]))
            if row["val_dice"]:
                vit.append(int(row["iter"]))
                vdice.append(float(row["val_dice"]))
    loss = np.array(losses)
    k = 25
    smooth = np.convolve(loss, np.ones(k) / k, mode="valid") if len(loss) > k else loss
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=100)
    ax.plot(its, loss, color="#bbbbbb", lw=0.6, label="batch loss (BCE + Dice)")
    ax.plot(its[len(its) - len(smooth):], smooth, color="#1f4e99", lw=1.4, label=f"moving mean ({k})")
    ax.set_xlabel("iteration (batch of 8 crops)")
    ax.set_ylabel("loss")
    ax.set_ylim(0, max(1.0, float(np.percentile(loss, 99))))
    ax2 = ax.twinx()
    ax2.plot(vit, vdice, "o-", color="#c0392b", ms=3, lw=1.2, label="validation Dice")
    ax2.set_ylabel("validation Dice")
    ax2.set_ylim(0.5, 1.0)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="center right", fontsize=8)
    ax.set_title("nuclei-unet training", fontsize=10)
    fig.tight_layout()
    fig.savefig(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
