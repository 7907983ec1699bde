"""Discrete-wavelet-transform fusion baseline (PyWavelets): max-abs detail selection, averaged base.

Each source is decomposed with ``pywt.wavedec2(img, wavelet, mode, level=levels)``; detail coefficients
are taken from the source with the larger absolute value (IR on ties), the approximation coefficients
are averaged, and ``pywt.waverec2`` reconstructs (cropped to the input size, which odd sizes need).
"""

from __future__ import annotations

import numpy as np

from ...errors import IvifError
from ...registry import METHODS
from ..base import FusionMethod


@METHODS.register("dwt", aliases=("wavelet",), tags=("classical", "multiscale", "baseline"),
                  paper="H. Li, B. S. Manjunath, S. K. Mitra, Multisensor image fusion using the wavelet "
                  "transform, Graphical Models and Image Processing 57(3) (1995) 235-245")
class DWT(FusionMethod):
    """2-D DWT with ``levels`` levels of ``wavelet`` (any PyWavelets discrete wavelet) and border ``mode``."""

    display_name = "DWT"
    family = "classical"

    def __init__(self, wavelet: str = "db2", levels: int = 3, mode: str = "symmetric"):
        import pywt

        if wavelet not in pywt.wavelist(kind="discrete"):
            raise IvifError(
                f"dwt: unknown discrete wavelet {wavelet!r}; choose one of pywt.wavelist(kind='discrete'), "
                "e.g. 'haar', 'db2', 'sym4', 'bior2.2'"
            )
        if mode not in pywt.Modes.modes:
            raise IvifError(f"dwt: unknown border mode {mode!r}; choose one of {', '.join(pywt.Modes.modes)}")
        if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
            raise IvifError(f"dwt: levels must be a positive integer, got {levels!r}")
        super().__init__()
        self.wavelet, self.levels, self.mode = wavelet, int(levels), mode

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        import pywt

        h, w = ir.shape
        top = pywt.dwt_max_level(min(h, w), pywt.Wavelet(self.wavelet).dec_len)
        if self.levels > max(top, 1):
            raise IvifError(
                f"dwt: levels={self.levels} is too deep for a {w}x{h} image with {self.wavelet} "
                f"(at most {max(top, 1)}); pass a smaller levels"
            )
        ca = pywt.wavedec2(ir.astype(np.float64), self.wavelet, mode=self.mode, level=self.levels)
        cb = pywt.wavedec2(vi.astype(np.float64), self.wavelet, mode=self.mode, level=self.levels)
        fused: list = [0.5 * (ca[0] + cb[0])]
        for da, db in zip(ca[1:], cb[1:]):
            fused.append(tuple(np.where(np.abs(a) >= np.abs(b), a, b) for a, b in zip(da, db)))
        out = pywt.waverec2(fused, self.wavelet, mode=self.mode)
        return out[:h, :w].astype(np.float32)

    def __repr__(self) -> str:
        return f"DWT(wavelet={self.wavelet!r}, levels={self.levels}, mode={self.mode!r})"
