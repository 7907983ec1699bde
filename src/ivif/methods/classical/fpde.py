"""FPDE: fourth-order PDE base/detail fusion (Bavirisetti, Xiao & Liu 2017), as run by VIFB.

VIFB (``methods/FPDE/run_FPDE.m``, ``fpdepyou.m``) works on 8-bit values and fuses each RGB channel of
the visible image with the IR image: 15 explicit steps (dt 0.9, k 4) of the You-Kaveh fourth-order PDE,
built from MATLAB ``gradient`` (central differences, one-sided at the border), give a base layer that is
rounded to uint8; details are mixed with Karhunen-Loeve weights (as ADF), and the bases are averaged in
uint8 arithmetic (``0.5*A1 + 0.5*A2`` rounds each half), then the sum is saturated to uint8.
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidImageError
from ...registry import METHODS
from ..base import FusionMethod
from ._common import matlab_uint8
from .adf import kl_detail_weights


def fourth_order_pde(im: np.ndarray, n_iter: int = 15, dt: float = 0.9, k: float = 4.0,
                     dtype: type = np.float64) -> np.ndarray:
    """You-Kaveh fourth-order diffusion as in ``fpdepyou.m``; returns the result rounded to 0..255 integers.

    ``im`` is ``HxW`` (or ``HxWxC``, channels independent) on the 0..255 scale; ``k`` is the edge threshold
    of ``c = 1 / (1 + (|lap| / k)^2)``; ``dtype`` the working precision (MATLAB: float64).
    """
    u = np.array(im, dtype=dtype)
    inv_k2 = 1.0 / (k * k)
    for _ in range(n_iter):
        uxx = np.gradient(np.gradient(u, axis=1), axis=1)
        uyy = np.gradient(np.gradient(u, axis=0), axis=0)
        c = uxx * uxx
        c += uyy * uyy
        c *= inv_k2  # (sqrt(uxx^2 + uyy^2) / k)^2
        c += 1.0
        np.reciprocal(c, out=c)
        uxx *= c
        uyy *= c
        div = np.gradient(np.gradient(uxx, axis=1), axis=1)
        div += np.gradient(np.gradient(uyy, axis=0), axis=0)
        div *= dt
        u -= div
    return matlab_uint8(u)


@METHODS.register("fpde", aliases=("FPDE",), tags=("classical", "filtering"),
                  paper="D. P. Bavirisetti, G. Xiao, G. Liu, Multi-sensor image fusion based on fourth order "
                        "partial differential equations, 20th Int. Conf. on Information Fusion, 2017")
class FPDE(FusionMethod):
    """Fourth-order-PDE base/detail split, KL-weighted details, averaged bases (VIFB implementation)."""

    display_name = "FPDE"
    family = "classical"
    color = "native"  # VIFB fuses each VIS channel with the IR image; all evolve in one pass

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        if min(ir.shape) < 2:
            raise InvalidImageError(f"FPDE needs images of at least 2x2 pixels (MATLAB gradient), got "
                                    f"{ir.shape[1]}x{ir.shape[0]}")
        # IR and the VIS channel(s) evolve together as one HxWx(1+C) stack, in float32 (same 8-bit output
        # as float64 but for rare rounding ties)
        x = np.dstack([ir, vi]).astype(np.float64) * 255.0
        a = fourth_order_pde(x, dtype=np.float32)
        d = x - a
        half1 = matlab_uint8(0.5 * a[..., 0])  # uint8 * 0.5 stays uint8 in MATLAB (rounded)
        out = []
        for k in range(1, x.shape[2]):
            w1, w2 = kl_detail_weights(d[..., 0], d[..., k])
            base = np.minimum(half1 + matlab_uint8(0.5 * a[..., k]), 255.0)  # saturating uint8 addition
            out.append(matlab_uint8(w1 * d[..., 0] + w2 * d[..., k] + base) / 255.0)
        return out[0] if vi.ndim == 2 else np.stack(out, axis=2)
