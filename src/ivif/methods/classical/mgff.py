"""MGFF: multi-scale guided image fusion (Bavirisetti, Xiao, Zhao et al. 2019), as in VIFB.

Four levels of cross-guided filtering (r=9, eps=1e3 on the 0..255 scale): at each level the base layer
of one source is the other source filtered under its guidance, exactly as the authors' code calls
``guidedfilter(I1, I2)``; detail layers are blended with weights proportional to their absolute values,
the last base layers are averaged. VIFB runs it on RGB channel pairs (a gray infrared image is
replicated to three channels) and stores ``uint8`` of the result.
"""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import guided_filter, matlab_uint8


def mgff_fuse(i1: np.ndarray, i2: np.ndarray, r: int = 9, eps: float = 1e3, levels: int = 4) -> np.ndarray:
    """Fuse two single-channel images (float64 grey levels 0..255); returns float64 levels, not rounded.

    Where both detail saliencies are 0 (MATLAB: 0/0, a black pixel) the details get equal weights; this
    never happens on the VIFB pairs.
    """
    a1, a2 = np.asarray(i1, np.float64), np.asarray(i2, np.float64)
    fused_detail = np.zeros_like(a1)
    for _ in range(levels):
        # guidedfilter(I, p): the first argument is the guide, the second is filtered (He's order).
        n1 = guided_filter(a1, a2, r, eps)
        n2 = guided_filter(a2, a1, r, eps)
        d1, d2 = a1 - n1, a2 - n2
        s1, s2 = np.abs(d1), np.abs(d2)
        total = s1 + s2
        flat = total == 0
        fused_detail += np.where(flat, 0.5 * (d1 + d2), (d1 * s1 + d2 * s2) / np.where(flat, 1.0, total))
        a1, a2 = n1, n2
    return 0.5 * (a1 + a2) + fused_detail


@METHODS.register(
    "mgff",
    aliases=("MGFF",),
    tags=("classical", "filtering"),
    paper="D. P. Bavirisetti, G. Xiao, J. Zhao, R. Dhuli, G. Liu, Multi-scale guided image and video fusion: "
    "a fast and efficient approach, Circuits, Systems, and Signal Processing 38 (2019) 5576-5605",
)
class MGFF(FusionMethod):
    """Multi-scale guided-filter fusion (VIFB's MATLAB code, per RGB channel, uint8 output)."""

    display_name = "MGFF"
    family = "classical"
    paper = "Bavirisetti et al., Circuits Syst. Signal Process. 2019"
    color = "per_channel"

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        f = mgff_fuse(ir.astype(np.float64) * 255.0, vi.astype(np.float64) * 255.0)
        return (matlab_uint8(f) / 255.0).astype(np.float32)
