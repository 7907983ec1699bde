"""TIF: two-scale image fusion with saliency detection (Bavirisetti & Dhuli 2016), as in VIFB.

Each source is split by a 35x35 mean filter (circular padding) into base and detail layers; the detail
weights are the normalised squared differences between the mean and the 3x3 median of each source (a
visual saliency), the bases are averaged. VIFB fuses a colour visible image channel by channel with the
infrared image and stores ``uint8`` of the result; so does this port.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import matlab_uint8, medfilt2_3x3

_MEAN_SIZE = 35  # VIFB run_TIF.m: M = 35


def _mean_circular(x: np.ndarray, size: int) -> np.ndarray:
    # imfilter(x, ones(M)/M^2, 'circular'): wrap-pad, then a normalised box filter on the padded array.
    r = size // 2
    p = np.pad(x, r, mode="wrap")
    return cv2.blur(p, (size, size), borderType=cv2.BORDER_CONSTANT)[r:-r, r:-r]


def tif_fuse(vi: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Fuse two single-channel images given as grey levels 0..255 (float64); returns float64 levels.

    Where both saliencies are exactly 0 MATLAB divides 0 by 0 and the pixel comes out black; here the
    two details get equal weights instead (this never happens on the VIFB pairs).
    """
    b1 = _mean_circular(vi, _MEAN_SIZE)
    b2 = _mean_circular(ir, _MEAN_SIZE)
    s1 = (b1 - medfilt2_3x3(vi)) ** 2
    s2 = (b2 - medfilt2_3x3(ir)) ** 2
    total = s1 + s2
    flat = total == 0
    w1 = np.where(flat, 0.5, s1 / np.where(flat, 1.0, total))
    w2 = np.where(flat, 0.5, s2 / np.where(flat, 1.0, total))
    return w1 * (vi - b1) + w2 * (ir - b2) + 0.5 * b1 + 0.5 * b2


@METHODS.register(
    "tif",
    aliases=("TIF",),
    tags=("classical", "saliency"),
    paper="D. P. Bavirisetti, R. Dhuli, Two-scale image fusion of visible and infrared images using saliency "
    "detection, Infrared Physics & Technology 76 (2016) 52-64",
)
class TIF(FusionMethod):
    """Two-scale fusion with mean/median saliency weights (VIFB's MATLAB code, per RGB channel)."""

    display_name = "TIF"
    family = "classical"
    paper = "Bavirisetti & Dhuli, Infrared Physics & Technology 2016"
    color = "per_channel"

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        f = tif_fuse(vi.astype(np.float64) * 255.0, ir.astype(np.float64) * 255.0)
        return (matlab_uint8(f) / 255.0).astype(np.float32)
