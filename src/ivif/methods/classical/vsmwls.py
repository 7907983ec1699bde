"""VSMWLS: visual saliency map + weighted least squares fusion (Ma et al. 2017), as run by VIFB.

VIFB (``methods/VSMWLS/WLS_Fusion.m`` and helpers) fuses each RGB channel of the visible image with the
IR image, on [0, 1] data:

* four-scale decomposition: three rolling guidance filters (Gaussian start, 4 guided-filter iterations,
  sigma_s = 2, 4, 8 as radius, sigma_r = 0.05) and a final Gaussian (sigma 2), all with replicate padding;
* base layer: weighted by the difference of histogram-contrast saliency maps (``Visual_Weight_Map.m``);
* finest detail: larger magnitude; coarser details: a Gaussian-smoothed max-magnitude mask ``M`` refined
  by the WLS problem of ``Solve_Optimal.m``. Its system matrix ``2I + lambda (A + A')`` is diagonal, so
  MATLAB's ``\\`` reduces to the element-wise ``(M + lambda a b1) / (1 + lambda a)``, computed here directly
  (identical up to rounding, and no sparse factorisation needed);
* the sum is saturated and rounded to 8 bits (``im2uint8``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import gaussian_1d, gaussian_filter_matlab, guided_filter_f32, imfilter_sep, matlab_uint8


def gauss_filter(img: np.ndarray, sigma: float) -> np.ndarray:
    """VSMWLS ``gaussFilter.m``: ``fspecial('gaussian', 2*uint8(3 sigma)+1, sigma)``, replicate padding."""
    size = 2 * int(np.clip(np.floor(3 * sigma + 0.5), 0, 255)) + 1
    return gaussian_filter_matlab(img, size, sigma, mode="replicate")


def _gauss_filter_f32(img: np.ndarray, sigma: float) -> np.ndarray:
    # gauss_filter in float32 with OpenCV's replicate border (= MATLAB 'replicate'); symmetric kernel, so
    # correlation and convolution agree
    size = 2 * int(np.clip(np.floor(3 * sigma + 0.5), 0, 255)) + 1
    k = gaussian_1d(size, sigma).astype(np.float32)
    a = np.asarray(img, dtype=np.float32)
    return cv2.sepFilter2D(a, cv2.CV_32F, k, k, borderType=cv2.BORDER_REPLICATE).reshape(a.shape)


def rolling_guidance_filter(img: np.ndarray, sigma_s: float, sigma_r: float, iterations: int = 4) -> np.ndarray:
    """Rolling guidance filter with a guided-filter step (``RollingGuidanceFilter_Guided.m``), float64.

    ``sigma_s`` is both the Gaussian sigma of the start and the guided-filter radius (an integer in VIFB);
    ``sigma_r**2`` is the guided filter's eps (image scale [0, 1]). The guided-filter iterations run in
    float32 (8-bit output unchanged on VIFB's pairs, 3x faster than float64).
    """
    src = np.asarray(img, dtype=np.float32)
    res = _gauss_filter_f32(src, sigma_s)
    for _ in range(iterations):
        res = guided_filter_f32(res, src, int(sigma_s), sigma_r * sigma_r)
    return res.astype(np.float64)


def decompose(img: np.ndarray, n_level: int = 4) -> list[np.ndarray]:
    """VSMWLS multi-scale decomposition: ``n_level`` detail layers then the base layer (``L{1..n+1}``)."""
    g = [np.asarray(img, dtype=np.float64)]
    sigma_s = 2.0
    for _ in range(1, n_level):
        g.append(rolling_guidance_filter(g[-1], sigma_s, 0.05, 4))
        sigma_s *= 2.0
    g.append(gauss_filter(g[-1], 2.0))
    return [g[k] - g[k + 1] for k in range(n_level)] + [g[-1]]


def visual_weight_map(img: np.ndarray) -> np.ndarray:
    """Histogram-contrast saliency of an image in [0, 1] (``Visual_Weight_Map.m``), min-max scaled to [0, 1].

    Each 8-bit level j gets ``sum_i count(i) |j - i|``; ``mat2gray`` then stretches the map.
    """
    q = matlab_uint8(255.0 * np.asarray(img, dtype=np.float64)).astype(np.int64)
    count = np.bincount(q.ravel(), minlength=256).astype(np.float64)
    lv = np.arange(256, dtype=np.float64)
    table = np.abs(lv[:, None] - lv[None, :]) @ count
    sal = table[q]
    lo, hi = sal.min(), sal.max()
    return (sal - lo) / (hi - lo) if hi > lo else sal


def wls_detail(m: np.ndarray, b1: np.ndarray, b2: np.ndarray, lam: float = 0.01) -> np.ndarray:
    """Solution of ``Solve_Optimal.m``: minimise ``|D - M|^2 + lambda sum a_i (D - b1)^2`` per pixel.

    ``a = 1 / (|mean7x7(b2)| + 1e-6)`` (7x7 box mean, replicate padding) down-weights the IR detail where
    the visible detail is strong.
    """
    box = np.full(7, 1.0 / 7.0)
    a = 1.0 / (np.abs(imfilter_sep(b2, box, box, mode="replicate").reshape(b2.shape)) + 1e-6)
    return (m + lam * a * b1) / (1.0 + lam * a)


def _fuse_stack(x: np.ndarray) -> np.ndarray:
    """Fuse channel 0 (IR) of ``HxWxC`` ``x`` with each of channels 1..C-1; returns ``HxWx(C-1)`` in [0, 1]."""
    lay = decompose(x)  # all channels at once: the filters act per channel
    w = np.stack([visual_weight_map(x[..., k]) for k in range(x.shape[2])], axis=2)
    l1 = [l[..., :1] for l in lay]
    l2 = [l[..., 1:] for l in lay]
    w1, w2 = w[..., :1], w[..., 1:]
    n = len(lay) - 1
    fused = (0.5 + 0.5 * (w1 - w2)) * l1[n] + (0.5 + 0.5 * (w2 - w1)) * l2[n]
    fused += np.where(np.abs(l1[0]) < np.abs(l2[0]), l2[0], l1[0])
    for i in range(n - 1, 0, -1):
        b1 = np.broadcast_to(l1[i], l2[i].shape)
        c = gaussian_filter_matlab((np.abs(b1) < np.abs(l2[i])).astype(np.float64), 13, 2.0, mode="symmetric")
        c = c.reshape(b1.shape)  # OpenCV drops a single channel axis
        m = c * l2[i] + (1.0 - c) * b1
        fused += wls_detail(m, b1, l2[i])
    return matlab_uint8(fused * 255.0) / 255.0


@METHODS.register("vsmwls", aliases=("VSMWLS", "vsm_wls"), tags=("classical", "saliency"),
                  paper="J. Ma, Z. Zhou, B. Wang, H. Zong, Infrared and visible image fusion based on visual "
                        "saliency map and weighted least square optimization, Infrared Phys. Technol. 82:8-17, 2017")
class VSMWLS(FusionMethod):
    """Rolling-guidance multi-scale fusion with saliency-weighted base and WLS details (VIFB implementation)."""

    display_name = "VSMWLS"
    family = "classical"
    color = "native"  # VIFB fuses each VIS channel with the IR image; all channels are processed together

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        x = np.dstack([ir, vi]).astype(np.float64)  # IR, then the VIS channel(s)
        out = _fuse_stack(x)
        return out[..., 0] if vi.ndim == 2 else out
