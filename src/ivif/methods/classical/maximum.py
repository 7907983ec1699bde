"""Pixel maximum: the choose-max fusion baseline."""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod


@METHODS.register("maximum", aliases=("max", "choose_max"), tags=("classical", "baseline"),
                  paper="baseline: F = max(IR, VIS) per pixel")
class Maximum(FusionMethod):
    """Pixel-wise maximum of IR and VIS luminance (keeps the brighter source at each pixel)."""

    display_name = "Maximum"
    family = "classical"

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        return np.maximum(ir, vi)
