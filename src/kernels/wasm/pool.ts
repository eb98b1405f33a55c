/**
 * Pooling over `planes` consecutive NCHW planes starting at x / out (callers split planes or rows across threads
 * by offsetting). Output rows [rowStart, rowEnd) of every plane. PyTorch semantics: max pooling never picks a
 * padded position and propagates NaN; average pooling's divisor is described in src/ops/backend.ts.
 */

/** max pool; 2×2 stride 2 without padding/dilation/ceil overhang takes a vector path. */
export function maxPool2d(
  x: usize, out: usize, planes: i32, inH: i32, inW: i32, outH: i32, outW: i32, kH: i32, kW: i32,
  sH: i32, sW: i32, dH: i32, dW: i32, padT: i32, padL: i32, rowStart: i32, rowEnd: i32,
): void {
  const inHW = <usize>(inH * inW), outHW = <usize>(outH * outW);
  const fast = kH == 2 && kW == 2 && sH == 2 && sW == 2 && dH == 1 && dW == 1 && padT == 0 && padL == 0 &&
    2 * outH <= inH && 2 * outW <= inW;
  for (let pl = 0; pl < planes; pl++) {
    const xp = x + (<usize>pl * inHW << 2);
    const op = out + (<usize>pl * outHW << 2);
    for (let oy = rowStart; oy < rowEnd; oy++) {
      const orow = op + (<usize>(oy * outW) << 2);
      let ox = 0;
      if (fast) {
        const r0 = xp + (<usize>(2 * oy * inW) << 2);
        const r1 = r0 + (<usize>inW << 2);
        for (; ox + 4 <= outW; ox += 4) {
          const o = <usize>(ox * 8);
          const v0 = f32x4.max(v128.load(r0 + o), v128.load(r1 + o));
          const v1 = f32x4.max(v128.load(r0 + o, 16), v128.load(r1 + o, 16));
          v128.store(orow + (<usize>ox << 2), f32x4.max(v128.shuffle<f32>(v0, v1, 0, 2, 4, 6), v128.shuffle<f32>(v0, v1, 1, 3, 5, 7)));
        }
      }
      // Generic vector path, stride 1 or 2: 4 outputs whose windows lie inside the row (reads stay in the row).
      if (!fast && sW <= 2) {
        while (ox < outW && ox * sW - padL < 0) {
          store<f32>(orow + (<usize>ox << 2), maxWindow(xp, inH, inW, oy, ox, kH, kW, sH, sW, dH, dW, padT, padL));
          ox++;
        }
        for (; ox + 4 <= outW && (ox + 3) * sW - padL + (kW - 1) * dW + sW < inW; ox += 4) {
          let best = f32x4.splat(-Infinity);
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy * sH - padT + ky * dH;
            if (<u32>iy >= <u32>inH) continue;
            const xr = xp + (<usize>(iy * inW + ox * sW - padL) << 2);
            for (let kx = 0; kx < kW; kx++) best = f32x4.max(best, loadStrided(xr + (<usize>(kx * dW) << 2), sW));
          }
          v128.store(orow + (<usize>ox << 2), best);
        }
      }
      for (; ox < outW; ox++) {
        let best: f32 = -Infinity;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * sH - padT + ky * dH;
          if (<u32>iy >= <u32>inH) continue;
          const xr = xp + (<usize>(iy * inW) << 2);
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * sW - padL + kx * dW;
            if (<u32>ix >= <u32>inW) continue;
            const v = load<f32>(xr + (<usize>ix << 2));
            if (v > best || v != v) best = v;
          }
        }
        store<f32>(orow + (<usize>ox << 2), best);
      }
    }
  }
}

/** average pool (no dilation). divisorOverride 0 = none. */
export function avgPool2d(
  x: usize, out: usize, planes: i32, inH: i32, inW: i32, outH: i32, outW: i32, kH: i32, kW: i32,
  sH: i32, sW: i32, padT: i32, padL: i32, countIncludePad: i32, divisorOverride: i32, rowStart: i32, rowEnd: i32,
): void {
  const inHW = <usize>(inH * inW), outHW = <usize>(outH * outW);
  const fast = kH == 2 && kW == 2 && sH == 2 && sW == 2 && padT == 0 && padL == 0 && 2 * outH <= inH && 2 * outW <= inW;
  const quarter = f32x4.splat(divisorOverride != 0 ? <f32>1 / <f32>divisorOverride : <f32>0.25);
  for (let pl = 0; pl < planes; pl++) {
    const xp = x + (<usize>pl * inHW << 2);
    const op = out + (<usize>pl * outHW << 2);
    for (let oy = rowStart; oy < rowEnd; oy++) {
      const orow = op + (<usize>(oy * outW) << 2);
      let ox = 0;
      if (fast) {
        const r0 = xp + (<usize>(2 * oy * inW) << 2);
        const r1 = r0 + (<usize>inW << 2);
        for (; ox + 4 <= outW; ox += 4) {
          const o = <usize>(ox * 8);
          const v0 = f32x4.add(v128.load(r0 + o), v128.load(r1 + o));
          const v1 = f32x4.add(v128.load(r0 + o, 16), v128.load(r1 + o, 16));
          const s = f32x4.add(v128.shuffle<f32>(v0, v1, 0, 2, 4, 6), v128.shuffle<f32>(v0, v1, 1, 3, 5, 7));
          v128.store(orow + (<usize>ox << 2), f32x4.mul(s, quarter));
        }
      }
      const y0 = oy * sH - padT;
      const y1 = min(y0 + kH, inH + padT);
      const ys = max(y0, 0), ye = min(y1, inH);
      // Generic vector path, stride 1 or 2, over outputs whose windows lie inside the row horizontally: one
      // divisor for all of them.
      if (!fast && sW <= 2 && ys < ye) {
        while (ox < outW && ox * sW - padL < 0) {
          store<f32>(orow + (<usize>ox << 2), avgWindow(xp, inH, inW, oy, ox, kH, kW, sH, sW, padT, padL, countIncludePad, divisorOverride));
          ox++;
        }
        const div = divisorOverride != 0 ? divisorOverride : countIncludePad != 0 ? (y1 - y0) * kW : (ye - ys) * kW;
        const vdiv = f32x4.splat(<f32>div);
        for (; ox + 4 <= outW && (ox + 3) * sW - padL + kW - 1 + sW < inW; ox += 4) {
          let sum = f32x4.splat(0);
          for (let iy = ys; iy < ye; iy++) {
            const xr = xp + (<usize>(iy * inW + ox * sW - padL) << 2);
            for (let kx = 0; kx < kW; kx++) sum = f32x4.add(sum, loadStrided(xr + (<usize>kx << 2), sW));
          }
          v128.store(orow + (<usize>ox << 2), f32x4.div(sum, vdiv));
        }
      }
      for (; ox < outW; ox++) {
        const x0 = ox * sW - padL;
        const x1 = min(x0 + kW, inW + padL);
        const xs = max(x0, 0), xe = min(x1, inW);
        let v: f32 = 0;
        if (ys < ye && xs < xe) {
          let sum: f32 = 0;
          for (let iy = ys; iy < ye; iy++) {
            const xr = xp + (<usize>(iy * inW) << 2);
            for (let ix = xs; ix < xe; ix++) sum += load<f32>(xr + (<usize>ix << 2));
          }
          const div = divisorOverride != 0 ? divisorOverride : countIncludePad != 0 ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
          v = sum / <f32>div;
        }
        store<f32>(orow + (<usize>ox << 2), v);
      }
    }
  }
}

/** Four floats at src, src + s (s = 1 or 2 elements apart). Reads up to src + 8 floats for s = 2. */
// @ts-ignore: decorator
@inline function loadStrided(src: usize, s: i32): v128 {
  if (s == 1) return v128.load(src);
  return v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
}

/** One max-pool window (scalar; border outputs of the vector path). */
function maxWindow(xp: usize, inH: i32, inW: i32, oy: i32, ox: i32, kH: i32, kW: i32, sH: i32, sW: i32,
  dH: i32, dW: i32, padT: i32, padL: i32): f32 {
  let best: f32 = -Infinity;
  for (let ky = 0; ky < kH; ky++) {
    const iy = oy * sH - padT + ky * dH;
    if (<u32>iy >= <u32>inH) continue;
    const xr = xp + (<usize>(iy * inW) << 2);
    for (let kx = 0; kx < kW; kx++) {
      const ix = ox * sW - padL + kx * dW;
      if (<u32>ix >= <u32>inW) continue;
      const v = load<f32>(xr + (<usize>ix << 2));
      if (v > best || v != v) best = v;
    }
  }
  return best;
}

/** One average-pool window (scalar; border outputs of the vector path). */
function avgWindow(xp: usize, inH: i32, inW: i32, oy: i32, ox: i32, kH: i32, kW: i32, sH: i32, sW: i32,
  padT: i32, padL: i32, countIncludePad: i32, divisorOverride: i32): f32 {
  const y0 = oy * sH - padT;
  const y1 = min(y0 + kH, inH + padT);
  const ys = max(y0, 0), ye = min(y1, inH);
  const x0 = ox * sW - padL;
  const x1 = min(x0 + kW, inW + padL);
  const xs = max(x0, 0), xe = min(x1, inW);
  if (ys >= ye || xs >= xe) return 0;
  let sum: f32 = 0;
  for (let iy = ys; iy < ye; iy++) {
    const xr = xp + (<usize>(iy * inW) << 2);
    for (let ix = xs; ix < xe; ix++) sum += load<f32>(xr + (<usize>ix << 2));
  }
  const div = divisorOverride != 0 ? divisorOverride : countIncludePad != 0 ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
  return sum / <f32>div;
}
