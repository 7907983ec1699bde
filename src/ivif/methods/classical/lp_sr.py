"""LP_SR: Laplacian pyramid + sparse representation (Liu, Liu & Wang 2015), as VIFB runs it.

``run_LP_SR.m`` / ``lp_sr_fuse.m``: a 4-level Laplacian pyramid (Rockinger's toolbox: 5-tap binomial
filter, ``es2`` mirror extension, odd sizes extended by ``adb``); band-pass layers fused by "choose max
with consistency check" (``selc`` mode 3); the low-pass layer fused by the max-L1 rule on OMP codes of
8x8 patches (overlap 6, error 0.1 on the 0..255 scale) over VIFB's dictionary ``D_100000_256_8.mat``.
The infrared image is the first input (it wins ties). A colour visible image is fused channel by channel
with the infrared image and the result stored as ``uint8``; so does this port.
"""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._sparse import DICTIONARY, load_dictionary, mst_sr_fuse_image

PAPER = ("Y. Liu, S. Liu, Z. Wang, A general framework for image fusion based on multi-scale transform and sparse "
         "representation, Information Fusion 24 (2015) 147-164")


@METHODS.register("lp_sr", aliases=("LP_SR", "lpsr"), tags=("classical", "sparse", "multiscale"), paper=PAPER)
class LPSR(FusionMethod):
    """Laplacian pyramid (4 levels) with sparse-representation fusion of the low-pass layer."""

    display_name = "LP_SR"
    family = "classical"
    paper = PAPER
    color = "native"  # VIFB's per-channel loop, done here so that the IR codes are computed once
    needs_weights = True
    weight_specs = {"dictionary": DICTIONARY}

    def __init__(self, weights: str | None = None):
        super().__init__()
        self.weights = weights

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        return mst_sr_fuse_image(ir, vi, load_dictionary(self.weights), levels=4, ratio=False)
