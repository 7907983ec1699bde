"""Weighted average: F = w * IR + (1 - w) * VIS, the linear fusion baseline."""

from __future__ import annotations

import numpy as np

from ...errors import IvifError
from ...registry import METHODS
from ..base import FusionMethod


@METHODS.register("weighted_average", aliases=("wavg", "weighted_avg"), tags=("classical", "baseline"),
                  paper="baseline: F = w * IR + (1 - w) * VIS")
class WeightedAverage(FusionMethod):
    """Pixel-wise weighted mean of IR and VIS luminance; ``w`` in [0, 1] is the infrared weight."""

    display_name = "WeightedAverage"
    family = "classical"

    def __init__(self, w: float = 0.5):
        try:
            w = float(w)
        except (TypeError, ValueError) as exc:
            raise IvifError(f"weighted_average: w must be a number in [0, 1], got {w!r}") from exc
        if not 0.0 <= w <= 1.0 or not np.isfinite(w):
            raise IvifError(f"weighted_average: w must lie in [0, 1] (the infrared weight), got {w}")
        super().__init__()
        self.w = w

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        w = np.float32(self.w)
        return w * ir + (np.float32(1.0) - w) * vi

    def __repr__(self) -> str:
        return f"WeightedAverage(w={self.w})"
