"""Synthetic fluorescence-nuclei images with exact ground-truth masks.

Every image is a pure function of its seed (and of the optional overrides), so training, evaluation and the
shipped samples can be rebuilt bit for bit:

    /usr/bin/python3 tools/nuclei/generate.py --out .tmp/nuclei --seeds 100000-100019

What an image contains (all in a linear "relative brightness" space where a typical nucleus is ~1):
  * nuclei: ellipses whose radius is perturbed by a few low-order harmonics (irregular ones more strongly,
    some kidney-shaped), varied size, brightness heterogeneity, chromatin-like texture (multi-scale lognormal
    noise, bright chromocentres, dark nucleoli), a dome or rim-bright profile; overlapping nuclei add up as in
    widefield fluorescence;
  * depth: each nucleus sits in one of three focal planes blurred with an increasing Gaussian PSF;
  * debris that is NOT a nucleus: sharp bright specks (dust), thin bright fibres, large out-of-focus smooth blobs;
  * background: camera offset, autofluorescence haze, multiplicative uneven illumination and vignetting;
  * camera: Poisson photon noise, Gaussian read noise, exposure/gain, 8- or 16-bit quantization;
  * colour: grayscale, or an 8-bit RGB rendering through a fluorophore lookup table (DAPI-blue, cyan, green).

The mask is exactly the union of the nucleus footprints sampled at pixel centres (value 1), debris is 0.

Difficulty buckets (each image records its bucket): clean, uneven (strong illumination gradient, haze,
vignetting), debris (many non-nucleus objects), dim (many nuclei close to background, few photons),
clustered (dense touching and overlapping clusters).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

GENERATOR_VERSION = "1.0.0"
BUCKETS = ("clean", "uneven", "debris", "dim", "clustered")
# Fluorophore lookup tables used for RGB renderings (value -> (r, g, b) gains).
TINTS = {
    "dapi": (0.30, 0.55, 1.00),
    "cyan": (0.05, 0.85, 1.00),
    "green": (0.15, 1.00, 0.25),
}
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


@dataclass
class Sample:
    """One generated image. `image` is uint8/uint16, HxW (grayscale) or HxWx3 (RGB); `mask` is uint8 0/1."""

    image: np.ndarray
    mask: np.ndarray
    bucket: str
    meta: dict[str, Any] = field(default_factory=dict)


def to_unit_gray(image: np.ndarray) -> np.ndarray:
    """Maps an image the way the pipeline does: [0, 1] by bit depth, RGB -> luminance 0.299/0.587/0.114."""
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    v = image.astype(np.float32) / scale
    if v.ndim == 3:
        v = (v[..., 0] * 0.299 + v[..., 1] * 0.587 + v[..., 2] * 0.114).astype(np.float32)
    return v


# ---------------------------------------------------------------------------------------------------------------
# smooth random fields


def smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Zero-mean, unit-std smooth field: a coarse random grid upsampled with cubic splines."""
    gh, gw = max(2, cells), max(2, int(round(cells * w / h)))
    g = rng.standard_normal((gh + 2, gw + 2))
    f = ndimage.zoom(g, ((h + 2 * h / gh) / (gh + 2), (w + 2 * w / gw) / (gw + 2)), order=3)
    oy, ox = (f.shape[0] - h) // 2, (f.shape[1] - w) // 2
    f = f[oy:oy + h, ox:ox + w]
    return (f - f.mean()) / (f.std() + 1e-9)


def noise_texture(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    t = ndimage.gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), sigma, mode="wrap")
    return t / (t.std() + 1e-9)


# ---------------------------------------------------------------------------------------------------------------
# nuclei


@dataclass
class Nucleus:
    cy: float
    cx: float
    a: float  # semi-axis along theta0
    b: float
    theta0: float
    harmonics: list[tuple[int, float, float]]  # (k, amplitude, phase)
    dent: tuple[float, float, float] | None  # (angle, depth, width) kidney-like indentation
    brightness: float
    profile: float  # >0 dome (centre brighter), <0 rim-bright
    texture: float  # exponent on the image texture field
    plane: int  # focal plane 0..2

    def extent(self) -> float:
        amp = sum(abs(h[1]) for h in self.harmonics)
        return max(self.a, self.b) * (1.0 + amp) + 2.0

    def radius(self, phi: np.ndarray) -> np.ndarray:
        t = phi - self.theta0
        r = self.a * self.b / np.sqrt((self.b * np.cos(t)) ** 2 + (self.a * np.sin(t)) ** 2)
        mod = np.ones_like(phi)
        for k, amp, ph in self.harmonics:
            mod += amp * np.cos(k * phi + ph)
        if self.dent is not None:
            ang, depth, width = self.dent
            d = np.angle(np.exp(1j * (phi - ang)))
            mod -= depth * np.exp(-0.5 * (d / width) ** 2)
        return r * np.maximum(mod, 0.35)


def make_nucleus(rng: np.random.Generator, cy: float, cx: float, r: float, irregular: bool,
                 brightness: float, blur_planes: int) -> Nucleus:
    aspect = rng.uniform(1.0, 1.25) if rng.random() < 0.5 else rng.uniform(1.25, 1.9)
    a = r * math.sqrt(aspect)
    b = r / math.sqrt(aspect)
    base_amp = 0.09 if irregular else 0.025
    harmonics = [(k, float(rng.normal(0, base_amp / (0.5 * k))), float(rng.uniform(0, 2 * math.pi)))
                 for k in range(2, 8)]
    dent = None
    if irregular and rng.random() < 0.3:
        dent = (float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0.15, 0.35)), float(rng.uniform(0.3, 0.6)))
    plane = int(rng.choice(blur_planes, p=[0.6, 0.28, 0.12][:blur_planes] / np.sum([0.6, 0.28, 0.12][:blur_planes])))
    return Nucleus(cy, cx, a, b, float(rng.uniform(0, math.pi)), harmonics, dent, brightness,
                   float(rng.uniform(-0.2, 0.35)), float(rng.uniform(0.4, 1.2)), plane)


def render_nucleus(n: Nucleus, layer: np.ndarray, mask: np.ndarray, texture: np.ndarray) -> None:
    h, w = mask.shape
    e = n.extent()
    y0, y1 = max(0, int(math.floor(n.cy - e))), min(h, int(math.ceil(n.cy + e)) + 1)
    x0, x1 = max(0, int(math.floor(n.cx - e))), min(w, int(math.ceil(n.cx + e)) + 1)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    dy, dx = yy - n.cy, xx - n.cx
    d = np.hypot(dy, dx)
    rr = n.radius(np.arctan2(dy, dx))
    inside = d <= rr
    mask[y0:y1, x0:x1] |= inside
    # Coverage-like soft edge for the optical image; the mask stays the exact pixel-centre test.
    soft = np.clip(rr - d + 0.5, 0.0, 1.0)
    q = np.clip(d / np.maximum(rr, 1e-6), 0, 1)
    prof = 1.0 - n.profile * q ** 2
    tex = texture[y0:y1, x0:x1] ** n.texture
    layer[y0:y1, x0:x1] += (n.brightness * soft * prof * tex).astype(np.float32)


def place_nuclei(rng: np.random.Generator, h: int, w: int, r0: float, coverage: float, clustered: bool
                 ) -> list[tuple[float, float, float]]:
    """Returns (cy, cx, r) triples. Free placement mostly avoids overlap (some touch); clustered grows groups."""
    target_area = coverage * h * w
    placed: list[tuple[float, float, float]] = []
    area = 0.0
    attempts = 0
    m = 0.3 * r0  # allow nuclei partly out of frame

    def radius() -> float:
        return float(r0 * np.clip(rng.lognormal(0.0, 0.18), 0.6, 1.6))

    def ok(cy: float, cx: float, r: float, factor: float) -> bool:
        for py, px, pr in placed:
            if (py - cy) ** 2 + (px - cx) ** 2 < (factor * (pr + r)) ** 2:
                return False
        return True

    while area < target_area and attempts < 4000:
        attempts += 1
        r = radius()
        if clustered and placed and rng.random() < 0.8:
            py, px, pr = placed[int(rng.integers(len(placed)))]
            ang = rng.uniform(0, 2 * math.pi)
            dist = (pr + r) * rng.uniform(0.72, 1.0)
            cy, cx = py + dist * math.sin(ang), px + dist * math.cos(ang)
            if not (-m <= cy < h + m and -m <= cx < w + m):
                continue
            if not ok(cy, cx, r, 0.68):
                continue
        else:
            cy, cx = rng.uniform(-m, h + m), rng.uniform(-m, w + m)
            factor = 0.95 if rng.random() < 0.2 else 1.12
            if not ok(cy, cx, r, factor):
                continue
        placed.append((cy, cx, r))
        area += math.pi * r * r
    return placed


# ---------------------------------------------------------------------------------------------------------------
# debris (never part of the mask)


def add_specks(rng: np.random.Generator, canvas: np.ndarray, count: int, level: float) -> None:
    h, w = canvas.shape
    pts = np.zeros_like(canvas)
    for _ in range(count):
        y, x = int(rng.integers(h)), int(rng.integers(w))
        s = int(rng.integers(1, 4))
        amp = level * rng.uniform(0.8, 3.0)
        pts[y:y + s, x:x + s] += amp
        if rng.random() < 0.4:  # small irregular clump of dust
            for _ in range(int(rng.integers(1, 5))):
                yy, xx = y + int(rng.integers(-3, 4)), x + int(rng.integers(-3, 4))
                if 0 <= yy < h and 0 <= xx < w:
                    pts[yy, xx] += amp * rng.uniform(0.3, 1.0)
    canvas += ndimage.gaussian_filter(pts, rng.uniform(0.4, 0.9)) * 2.0


def add_fibres(rng: np.random.Generator, canvas: np.ndarray, count: int, level: float, r0: float) -> None:
    h, w = canvas.shape
    lines = np.zeros_like(canvas)
    for _ in range(count):
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        ang = rng.uniform(0, 2 * math.pi)
        length = rng.uniform(3, 15) * r0
        curl = rng.uniform(0.0, 0.08)
        amp = level * rng.uniform(0.3, 1.2)
        width = int(rng.integers(1, 3))
        for _ in range(int(length)):
            ang += rng.normal(0, curl)
            y += math.sin(ang)
            x += math.cos(ang)
            iy, ix = int(y), int(x)
            if 0 <= iy < h - width and 0 <= ix < w - width:
                lines[iy:iy + width, ix:ix + width] = np.maximum(lines[iy:iy + width, ix:ix + width], amp)
    canvas += ndimage.gaussian_filter(lines, rng.uniform(0.5, 0.9)) * 1.6


def add_blobs(rng: np.random.Generator, canvas: np.ndarray, count: int, level: float, r0: float) -> None:
    """Out-of-focus smooth blobs: Gaussian, no texture, no edge; often elongated."""
    h, w = canvas.shape
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        sy = r0 * rng.uniform(0.8, 2.2)
        sx = sy * rng.uniform(0.6, 1.6)
        amp = level * rng.uniform(0.25, 0.7)
        ext = 3.0 * max(sy, sx)
        y0, y1 = max(0, int(cy - ext)), min(h, int(cy + ext) + 1)
        x0, x1 = max(0, int(cx - ext)), min(w, int(cx + ext) + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        canvas[y0:y1, x0:x1] += (amp * np.exp(-0.5 * (((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2))
                                 ).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# the image


def generate(seed: int, bucket: str | None = None, size: tuple[int, int] | None = None,
             bit_depth: int | None = None, color: str | None = None) -> Sample:
    """Generates one image deterministically from `seed`.

    bucket: one of BUCKETS (default: drawn from the seed). size: (h, w), default 128..1024 drawn from the seed.
    bit_depth: 8 or 16 (default drawn). color: 'gray' or a key of TINTS (RGB, 8-bit only; default drawn).
    """
    rng = np.random.default_rng([seed, 0x6E75636C])
    if bucket is None:
        bucket = BUCKETS[int(rng.integers(len(BUCKETS)))]
    if bucket not in BUCKETS:
        raise ValueError(f"bucket: expected one of {BUCKETS} but received {bucket!r}")
    if size is None:
        h = int(rng.integers(128, 1025))
        w = int(np.clip(h * rng.uniform(0.7, 1.4), 128, 1024))
    else:
        h, w = size
    if bit_depth is None:
        bit_depth = 16 if rng.random() < 0.35 else 8
    if color is None:
        color = "gray" if (bit_depth == 16 or rng.random() < 0.6) else str(rng.choice(list(TINTS)))
    if color != "gray" and bit_depth != 8:
        raise ValueError(f"color: RGB renderings are 8-bit only but received bit_depth={bit_depth}")

    # Magnification: mean nucleus radius in pixels.
    r0 = float(rng.uniform(6.0, 22.0))
    coverage = float(rng.uniform(0.08, 0.3))
    if bucket == "clustered":
        coverage = float(rng.uniform(0.3, 0.5))
    irregular_frac = float(rng.uniform(0.1, 0.6))
    nuclei_xy = place_nuclei(rng, h, w, r0, coverage, clustered=(bucket == "clustered"))

    # Per-image texture: fine chromatin grain + coarse domains + chromocentres - nucleoli.
    tex = (float(rng.uniform(0.08, 0.3)) * noise_texture(rng, h, w, rng.uniform(0.8, 1.6))
           + float(rng.uniform(0.05, 0.25)) * noise_texture(rng, h, w, max(1.5, r0 / 4)))
    spots = np.zeros((h, w), np.float32)
    nspots = int(h * w / (r0 * r0) * rng.uniform(0.2, 1.2))
    spots[rng.integers(0, h, nspots), rng.integers(0, w, nspots)] = rng.choice([-1.0, 1.0], nspots, p=[0.35, 0.65])
    spots = ndimage.gaussian_filter(spots, max(0.8, r0 / 7)) * (2 * math.pi * max(0.8, r0 / 7) ** 2)
    texture = np.exp(tex + float(rng.uniform(0.2, 0.6)) * spots).astype(np.float32)

    # Brightness of each nucleus; dim nuclei sit close to the background.
    dim_frac = float(rng.uniform(0.3, 0.6)) if bucket == "dim" else float(rng.uniform(0.0, 0.08))
    planes = [np.zeros((h, w), np.float32) for _ in range(3)]
    mask = np.zeros((h, w), bool)
    for cy, cx, r in nuclei_xy:
        if rng.random() < dim_frac:
            bright = float(rng.uniform(0.12, 0.35))
        else:
            bright = float(np.clip(rng.lognormal(0.0, 0.3), 0.35, 2.5))
        n = make_nucleus(rng, cy, cx, r, rng.random() < irregular_frac, bright, 3)
        render_nucleus(n, planes[n.plane], mask, texture)

    psf = float(rng.uniform(0.5, 1.3))
    img = np.zeros((h, w), np.float32)
    for p, layer in enumerate(planes):
        img += ndimage.gaussian_filter(layer, psf + p * r0 * rng.uniform(0.08, 0.14))

    # Debris: always a little, a lot in the debris bucket.
    lots = bucket == "debris"
    area_units = h * w / (256.0 * 256.0)
    debris = np.zeros((h, w), np.float32)
    add_specks(rng, debris, int(rng.poisson((25 if lots else 2) * area_units)), 1.0)
    add_fibres(rng, debris, int(rng.poisson((3 if lots else 0.2) * area_units)), 1.0, r0)
    add_blobs(rng, debris, int(rng.poisson((4 if lots else 0.3) * area_units)), 1.0, r0)
    img += debris

    # Background, haze, illumination.
    bg = float(rng.uniform(0.02, 0.12))
    auto = bg * (1.0 + 0.3 * smooth_field(rng, h, w, 3))
    img += np.maximum(auto, 0).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rad2 = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
    if bucket == "uneven":
        vig = 1.0 - float(rng.uniform(0.3, 0.6)) * rad2 / 2.0
        ang = rng.uniform(0, 2 * math.pi)
        grad = 1.0 + float(rng.uniform(0.4, 1.0)) * ((math.cos(ang) * (xx / w - 0.5)) + math.sin(ang) * (yy / h - 0.5))
        illum = vig * grad * np.exp(0.3 * smooth_field(rng, h, w, 2))
        illum = np.clip(illum / illum.max(), 0.15, 1.0)
        haze_amp = float(rng.uniform(0.1, 0.45))
        haze = haze_amp * np.clip(0.5 + 0.5 * smooth_field(rng, h, w, 2) + grad - 1.0, 0, None)
    else:
        vig = 1.0 - float(rng.uniform(0.0, 0.2)) * rad2 / 2.0
        illum = (vig * np.exp(0.06 * smooth_field(rng, h, w, 2))).astype(np.float32)
        illum = illum / illum.max()
        haze = np.zeros((h, w), np.float32)
    signal = img * illum + haze

    # Camera: photons, Poisson, read noise, gain, offset, quantization.
    photons = float(rng.uniform(15, 150)) if bucket == "dim" else float(np.exp(rng.uniform(math.log(40), math.log(2500))))
    counts = rng.poisson(np.clip(signal, 0, None) * photons).astype(np.float32)
    counts += rng.normal(0, rng.uniform(0.5, 3.0), (h, w)).astype(np.float32)
    ref = float(np.percentile(signal[mask], 95)) * photons if mask.any() else float(signal.max()) * photons
    exposure = float(rng.uniform(0.4, 0.95) if bit_depth == 8 else rng.uniform(0.15, 0.9))
    offset = float(rng.uniform(0.0, 0.04))
    unit = offset + counts * (exposure / max(ref, 1e-6))  # 1.0 = full scale
    if color == "gray":
        full = 255 if bit_depth == 8 else 65535
        out = np.clip(np.round(unit * full), 0, full).astype(np.uint8 if bit_depth == 8 else np.uint16)
    else:
        tint = np.array(TINTS[color], np.float32)
        rgb = unit[..., None] * tint[None, None, :] / float(np.dot(tint, LUMA))  # luminance ~ unit
        out = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)

    meta = {
        "seed": seed, "bucket": bucket, "height": h, "width": w, "bitDepth": bit_depth, "color": color,
        "nuclei": len(nuclei_xy), "meanRadius": round(r0, 2), "photons": round(photons, 1),
        "generator": GENERATOR_VERSION,
    }
    return Sample(out, mask.astype(np.uint8), bucket, meta)


# ---------------------------------------------------------------------------------------------------------------
# command line


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds.extend(range(int(a), int(b) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def save(sample: Sample, path_stem: str, fmt: str = "png") -> str:
    from PIL import Image
    import tifffile

    if fmt == "tif":
        path = path_stem + ".tif"
        tifffile.imwrite(path, sample.image, compression="zlib")
    elif fmt == "jpg":
        path = path_stem + ".jpg"
        Image.fromarray(sample.image).save(path, quality=92)
    else:
        path = path_stem + ".png"
        Image.fromarray(sample.image).save(path, optimize=True)
    return path


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", required=True, help="e.g. 0-99 or 3,7,100-120")
    ap.add_argument("--bucket", choices=BUCKETS)
    ap.add_argument("--size", help="HxW")
    args = ap.parse_args(argv)
    from PIL import Image

    os.makedirs(args.out, exist_ok=True)
    size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else None
    manifest = []
    for s in parse_seeds(args.seeds):
        smp = generate(s, args.bucket, size)  # type: ignore[arg-type]
        stem = os.path.join(args.out, f"nuclei-{s:06d}")
        path = save(smp, stem, "tif" if smp.image.dtype == np.uint16 else "png")
        Image.fromarray(smp.mask * 255).save(stem + ".mask.png", optimize=True)
        manifest.append({"file": os.path.basename(path), **smp.meta})
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
