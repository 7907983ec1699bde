"""Pixel average: the simplest fusion baseline."""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod


@METHODS.register("average", aliases=("avg", "mean"), tags=("classical", "baseline"),
                  paper="baseline: F = (IR + VIS) / 2")
class Average(FusionMethod):
    """Pixel-wise mean of IR and VIS luminance."""

    display_name = "Average"
    family = "classical"

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        return (ir + vi) * np.float32(0.5)
