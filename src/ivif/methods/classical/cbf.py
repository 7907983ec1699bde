"""CBF: cross bilateral filter fusion (Shreyamsha Kumar 2013), as run by VIFB.

VIFB (``methods/CBF/run_CBF.m``, ``cross_bilateral_filt2Df.m``, ``cbf_ieeeconf2011f.m``) works on 8-bit
values and fuses each RGB channel of the visible image with the IR image. Each image is filtered by a
cross bilateral filter (11x11 window, spatial sigma 1.8, range sigma 25) whose range kernel comes from
the *other* image; the detail (image minus filtered) gives a per-pixel weight, the sum of the horizontal
and vertical covariance eigenvalues of its 5x5 neighbourhood (= the sum of the 5 column variances plus
the 5 row variances). Both filters pad by mirroring without repeating the edge (``per_extn_im_fn``). The
fused image is the weight-normalised sum of the two inputs, saturated to uint8.

The MATLAB code loops over pixels; here the filter loops over the 121 kernel offsets with whole-image
(and all-channel) array operations.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import matlab_uint8


def cross_bilateral_filter(src: np.ndarray, guide: np.ndarray, sigma_s: float = 1.8, sigma_r: float = 25.0,
                           ksize: int = 11, tile: int = 32) -> np.ndarray:
    """Cross (joint) bilateral filter of ``src`` with range weights from ``guide``.

    Args:
        src: ``HxW`` or ``HxWxC`` image to filter (float).
        guide: same shape as ``src``; range differences are measured in it (same units as ``sigma_r``,
            VIFB: grey levels 0..255).
        sigma_s: spatial sigma in pixels; ``ksize``: odd window size.
        tile: rows processed together (keeps the working set in cache; no effect on the result).
    Borders are mirrored without repeating the edge pixel. Returns float32 of ``src``'s shape.

    When ``guide`` holds integer levels 0..255 (8-bit inputs), the combined spatial x range weight of each
    offset is a 256-entry table indexed by ``|guide(q) - guide(p)|`` (exact, and several times faster than
    evaluating ``exp``); otherwise ``exp`` is evaluated.
    """
    r = ksize // 2
    h, w = src.shape[:2]
    pad = ((r, r), (r, r)) + ((0, 0),) * (src.ndim - 2)
    s = np.pad(np.asarray(src, dtype=np.float32), pad, mode="reflect")
    g = np.pad(np.asarray(guide, dtype=np.float32), pad, mode="reflect")
    levels = bool(g.min() >= 0 and g.max() <= 255 and np.array_equal(g, np.round(g)))
    if levels:
        g = g.astype(np.uint8)
        rng = np.exp(-(np.arange(256.0) ** 2) / (2.0 * sigma_r * sigma_r))
    offsets = [(dy, dx, np.exp(-(dy * dy + dx * dx) / (2.0 * sigma_s * sigma_s)))
               for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
    tables = [(gs * rng).astype(np.float32) for _, _, gs in offsets] if levels else []
    inv = np.float32(-1.0 / (2.0 * sigma_r * sigma_r))
    out = np.empty(src.shape, np.float32)
    for y0 in range(0, h, tile):
        th = min(tile, h - y0)
        gc = np.ascontiguousarray(g[r + y0:r + y0 + th, r:r + w])
        num = np.zeros(gc.shape, np.float32)
        den = np.zeros(gc.shape, np.float32)
        d = np.empty_like(gc)
        wgt = np.empty(gc.shape, np.float32)
        for k, (dy, dx, gs) in enumerate(offsets):
            gq = g[r + y0 + dy:r + y0 + dy + th, r + dx:r + dx + w]
            if levels:
                cv2.absdiff(gq, gc, d)
                cv2.LUT(d, tables[k], wgt)
            else:
                np.subtract(gq, gc, out=d)
                np.multiply(d, d, out=d)
                np.multiply(d, inv, out=d)
                cv2.exp(d, wgt)
                np.multiply(wgt, np.float32(gs), out=wgt)
            cv2.accumulate(wgt, den)
            cv2.accumulateProduct(wgt, s[r + y0 + dy:r + y0 + dy + th, r + dx:r + dx + w], num)
        out[y0:y0 + th] = num / den
    return out


def detail_strength(d: np.ndarray, wsize: int = 5) -> np.ndarray:
    """Sum of the column variances and row variances (unbiased) of each pixel's ``wsize`` window.

    This is ``sum(eig(cov(window))) + sum(eig(cov(window')))`` of ``cbf_ieeeconf2011f.m`` (a trace), with
    the window mirrored at the border as there. ``d`` is ``HxW`` or ``HxWxC``; returns float64.
    """
    r = wsize // 2
    h, w = d.shape[:2]
    pad = ((r, r), (r, r)) + ((0, 0),) * (d.ndim - 2)
    p = np.pad(np.asarray(d, dtype=np.float64), pad, mode="reflect")

    def window_var(a: np.ndarray, axis: int) -> np.ndarray:
        # variance along `axis` over wsize samples starting at each position (valid part)
        n = a.shape[axis] - wsize + 1
        sl = [slice(None)] * a.ndim
        parts = []
        for k in range(wsize):
            sl[axis] = slice(k, k + n)
            parts.append(a[tuple(sl)])
        m = sum(parts) / wsize
        return sum((q - m) ** 2 for q in parts) / (wsize - 1)

    col = window_var(p, 0)  # (h, w + 2r): variance of each window column
    row = window_var(p, 1)  # (h + 2r, w)
    out = np.zeros(d.shape, np.float64)
    for k in range(wsize):
        out += col[:, k:k + w] + row[k:k + h, :]
    return out


@METHODS.register("cbf", aliases=("CBF",), tags=("classical", "filtering"),
                  paper="B. K. Shreyamsha Kumar, Image fusion based on pixel significance using cross bilateral "
                        "filter, Signal, Image and Video Processing 9:1193-1204, 2015 (doi:10.1007/s11760-013-0556-9)")
class CBF(FusionMethod):
    """Cross-bilateral-filter details weight a pixel-wise average (VIFB implementation)."""

    display_name = "CBF"
    family = "classical"
    color = "native"  # VIFB fuses each VIS channel with the IR image; done here on all channels at once

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        x2 = vi.astype(np.float64) * 255.0
        x1 = ir.astype(np.float64) * 255.0
        if x2.ndim == 3:
            x1 = np.repeat(x1[..., None], x2.shape[2], axis=2)
        d1 = x1 - cross_bilateral_filter(x1, x2)
        d2 = x2 - cross_bilateral_filter(x2, x1)
        eps = np.finfo(np.float64).eps
        w1 = detail_strength(d1)
        w2 = detail_strength(d2)
        w1[w1 == 0] = eps
        w2[w2 == 0] = eps
        return matlab_uint8((x1 * w1 + x2 * w2) / (w1 + w2)) / 255.0
