"""NSCT_SR: nonsubsampled contourlet transform + sparse representation (Liu, Liu & Wang 2015), as VIFB runs it.

``run_NSCT_SR.m`` / ``nsct_sr_fuse.m``: one NSCT level with 4 directions (``nlevels = [2]``, pyramid filter
``'pyrexc'``, directional filter ``'vk'``; see :mod:`._nsct`); directional subbands fused by the 3x3 max-abs
activity with a 3x3 majority check (as ``selc`` mode 3); the full-resolution low-pass band fused by the
max-L1 rule on OMP codes of 8x8 patches (overlap 6, error 0.1 on the 0..255 scale) over VIFB's dictionary
``D_100000_256_8.mat``. The infrared image is the first input (it wins ties). A colour visible image is
fused channel by channel with the infrared image and the result stored as ``uint8``; so does this port.
Sparse coding every 2nd patch of a full-resolution band makes this the slowest classical method.
"""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._nsct import nsct_dec, nsct_rec
from ._sparse import DICTIONARY, load_dictionary, select_consistent, sparse_codes, sparse_fusion, stack_uint8, to_levels
from ._sparse import vifb_channels
from .lp_sr import PAPER

_OVERLAP = 6
_EPSILON = 0.1


def nsct_sr_fuse(ir: np.ndarray, vi_channels: list[np.ndarray], d: np.ndarray) -> list[np.ndarray]:
    """Fuse a gray IR (0..255 float64) with each VIS channel (0..255); returns the fused channels (0..255)."""
    lo_ir, bands_ir = nsct_dec(ir, 2)
    codes_ir = sparse_codes(lo_ir, d, _OVERLAP, _EPSILON)
    out = []
    for vi in vi_channels:
        lo_vi, bands_vi = nsct_dec(vi, 2)
        bands = [select_consistent(a, b) for a, b in zip(bands_ir, bands_vi)]
        low = sparse_fusion(lo_ir, lo_vi, d, _OVERLAP, _EPSILON, codes_a=codes_ir)
        out.append(nsct_rec(low, bands))
    return out


@METHODS.register("nsct_sr", aliases=("NSCT_SR", "nsctsr"), tags=("classical", "sparse", "multiscale", "slow"),
                  paper=PAPER)
class NSCTSR(FusionMethod):
    """One-level, four-direction NSCT with sparse-representation fusion of the low-pass band."""

    display_name = "NSCT_SR"
    family = "classical"
    paper = PAPER
    color = "native"  # VIFB's per-channel loop, done here so that the IR codes are computed once
    needs_weights = True
    weight_specs = {"dictionary": DICTIONARY}

    def __init__(self, weights: str | None = None):
        super().__init__()
        self.weights = weights

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        d = load_dictionary(self.weights)
        return stack_uint8(nsct_sr_fuse(to_levels(ir), [to_levels(c) for c in vifb_channels(vi)], d))
