"""Laplacian-pyramid fusion baseline (Burt & Adelson): max-abs detail selection, averaged base.

Each source is decomposed with OpenCV's Gaussian pyramid (``pyrDown``: 5-tap binomial kernel
[1 4 6 4 1]/16, reflect-101 border, keep even samples) into ``levels`` band-pass layers
``L_k = G_k - pyrUp(G_{k+1})`` and a base ``G_levels``. Each detail coefficient is taken from the source with
the larger absolute value (IR on ties), the bases are averaged, and the pyramid is collapsed.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import IvifError
from ...registry import METHODS
from ..base import FusionMethod


def laplacian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass layers (finest first) followed by the low-pass base; float64 ``HxW`` in, same scale out."""
    g = np.asarray(img, dtype=np.float64)
    pyr: list[np.ndarray] = []
    for _ in range(levels):
        down = cv2.pyrDown(g, borderType=cv2.BORDER_REFLECT_101)
        up = cv2.pyrUp(down, dstsize=(g.shape[1], g.shape[0]), borderType=cv2.BORDER_REFLECT_101)
        pyr.append(g - up)
        g = down
    pyr.append(g)
    return pyr


def collapse_pyramid(pyr: list[np.ndarray]) -> np.ndarray:
    """Inverse of :func:`laplacian_pyramid` (exact up to float rounding)."""
    g = pyr[-1]
    for band in reversed(pyr[:-1]):
        g = cv2.pyrUp(g, dstsize=(band.shape[1], band.shape[0]), borderType=cv2.BORDER_REFLECT_101) + band
    return g


def max_levels(h: int, w: int) -> int:
    """Deepest pyramid whose base is still at least 2 pixels on each side."""
    n = 0
    while min(h, w) >= 4:
        h, w = (h + 1) // 2, (w + 1) // 2
        n += 1
    return n


@METHODS.register("laplacian_pyramid", aliases=("lp", "laplacian"), tags=("classical", "multiscale", "baseline"),
                  paper="P. J. Burt, E. H. Adelson, The Laplacian pyramid as a compact image code, "
                  "IEEE Trans. Commun. 31(4) (1983) 532-540")
class LaplacianPyramid(FusionMethod):
    """Laplacian pyramid with ``levels`` band-pass layers: max-abs detail rule, average base rule."""

    display_name = "LP"
    family = "classical"

    def __init__(self, levels: int = 4):
        if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
            raise IvifError(f"laplacian_pyramid: levels must be a positive integer, got {levels!r}")
        super().__init__()
        self.levels = int(levels)

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        h, w = ir.shape
        if self.levels > max_levels(h, w):
            raise IvifError(
                f"laplacian_pyramid: levels={self.levels} is too deep for a {w}x{h} image "
                f"(at most {max_levels(h, w)}); pass a smaller levels"
            )
        pa = laplacian_pyramid(ir, self.levels)
        pb = laplacian_pyramid(vi, self.levels)
        fused = [np.where(np.abs(a) >= np.abs(b), a, b) for a, b in zip(pa[:-1], pb[:-1])]
        fused.append(0.5 * (pa[-1] + pb[-1]))
        return collapse_pyramid(fused).astype(np.float32)

    def __repr__(self) -> str:
        return f"LaplacianPyramid(levels={self.levels})"
