"""FPDE: fourth-order PDE base/detail fusion (Bavirisetti, Xiao & Liu 2017), as run by VIFB.

VIFB (``methods/FPDE/run_FPDE.m``, ``fpdepyou.m``) works on 8-bit values and fuses each RGB channel of
the visible image with the IR image: 15 explicit steps (dt 0.9, k 4) of the You-Kaveh fourth-order PDE,
built from MATLAB ``gradient`` (central differences, one-sided at the border), give a base layer that is
rounded to uint8; details are mixed with Karhunen-Loeve weights (as ADF), and the bases are averaged in
uint8 arithmetic (``0.5*A1 + 0.5*A2`` rounds each half), then the sum is saturated to uint8.
"""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import matlab_uint8
from .adf import kl_detail_weights


def fourth_order_pde(im: np.ndarray, n_iter: int = 15, dt: float = 0.9, k: float = 4.0) -> np.ndarray:
    """You-Kaveh fourth-order diffusion as in ``fpdepyou.m``; returns the result rounded to 0..255 integers.

    ``im`` is float64 on the 0..255 scale; ``k`` is the edge threshold of ``c = 1 / (1 + (|lap| / k)^2)``.
    """
    u = np.asarray(im, dtype=np.float64).copy()
    for _ in range(n_iter):
        uxx = np.gradient(np.gradient(u, axis=1), axis=1)
        uyy = np.gradient(np.gradient(u, axis=0), axis=0)
        c = 1.0 / (1.0 + (np.sqrt(uxx * uxx + uyy * uyy) / k) ** 2)
        div = np.gradient(np.gradient(c * uxx, axis=1), axis=1) + np.gradient(np.gradient(c * uyy, axis=0), axis=0)
        u = u - dt * div
    return matlab_uint8(u)


@METHODS.register("fpde", aliases=("FPDE",), tags=("classical", "filtering"),
                  paper="D. P. Bavirisetti, G. Xiao, G. Liu, Multi-sensor image fusion based on fourth order "
                        "partial differential equations, 20th Int. Conf. on Information Fusion, 2017")
class FPDE(FusionMethod):
    """Fourth-order-PDE base/detail split, KL-weighted details, averaged bases (VIFB implementation)."""

    display_name = "FPDE"
    family = "classical"
    color = "native"  # VIFB fuses each VIS channel with the IR image; the IR base layer is computed once

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        i1 = ir.astype(np.float64) * 255.0
        a1 = fourth_order_pde(i1)
        d1 = i1 - a1
        half1 = matlab_uint8(0.5 * a1)  # uint8 * 0.5 stays uint8 in MATLAB (rounded)
        chans = [vi] if vi.ndim == 2 else [vi[..., k] for k in range(3)]
        out = []
        for c in chans:
            i2 = c.astype(np.float64) * 255.0
            a2 = fourth_order_pde(i2)
            d2 = i2 - a2
            w1, w2 = kl_detail_weights(d1, d2)
            base = np.minimum(half1 + matlab_uint8(0.5 * a2), 255.0)  # saturating uint8 addition
            out.append(matlab_uint8(w1 * d1 + w2 * d2 + base) / 255.0)
        return out[0] if vi.ndim == 2 else np.stack(out, axis=2)
