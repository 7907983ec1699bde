"""ADF: anisotropic diffusion + Karhunen-Loeve fusion (Bavirisetti & Dhuli 2016), as run by VIFB.

VIFB (``methods/ADF/run_ADF.m``, ``anisodiff2D.m``) works on 8-bit values (0..255) and fuses each RGB
channel of the visible image with the IR image: Perona-Malik diffusion (8 neighbours, zero padding,
10 iterations, dt 0.15, kappa 30, exponential conduction) splits each image into base and detail; the
detail layers are mixed with the weights of the principal eigenvector of their 2x2 covariance, the base
layers averaged, and the sum is saturated to uint8.
"""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import matlab_uint8

# (row offset, column offset, 1 / distance^2) of the 8 neighbours
_NEIGHBOURS = tuple((dy, dx, 1.0 / (dy * dy + dx * dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)


def anisotropic_diffusion(im: np.ndarray, num_iter: int = 10, delta_t: float = 0.15, kappa: float = 30.0,
                          option: int = 1) -> np.ndarray:
    """Perona-Malik diffusion over 8 neighbours with zero padding (Lopes' ``anisodiff2D``).

    Args:
        im: gray image, float64, on the scale ``kappa`` refers to (VIFB: 0..255).
        option: 1 for ``exp(-(g/kappa)^2)`` conduction, 2 for ``1 / (1 + (g/kappa)^2)``.
    """
    u = np.asarray(im, dtype=np.float64).copy()
    h, w = u.shape
    p = np.zeros((h + 2, w + 2))
    for _ in range(num_iter):
        p[1:-1, 1:-1] = u  # imfilter's default zero padding: border neighbours count as 0
        acc = np.zeros_like(u)
        for dy, dx, wgt in _NEIGHBOURS:
            g = p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - u
            r = (g / kappa) ** 2
            c = np.exp(-r) if option == 1 else 1.0 / (1.0 + r)
            acc += wgt * c * g
        u += delta_t * acc
    return u


def kl_detail_weights(d1: np.ndarray, d2: np.ndarray) -> tuple[float, float]:
    """Weights of two detail layers from the principal eigenvector of their covariance, summing to 1.

    The Karhunen-Loeve rule of ADF/FPDE: ``cov([d1(:) d2(:)])``, eigenvector of the larger eigenvalue,
    divided by its sum (so its sign does not matter).
    """
    c = np.cov(np.stack([d1.ravel(), d2.ravel()]), ddof=1)
    vals, vecs = np.linalg.eigh(c)  # ascending, as MATLAB's eig for a symmetric matrix
    v = vecs[:, 0] if vals[0] >= vals[1] else vecs[:, 1]
    v = v / v.sum()
    return float(v[0]), float(v[1])


@METHODS.register("adf", aliases=("ADF",), tags=("classical", "filtering"),
                  paper="D. P. Bavirisetti, R. Dhuli, Fusion of infrared and visible sensor images based on "
                        "anisotropic diffusion and Karhunen-Loeve transform, IEEE Sensors J. 16(1):203-209, 2016")
class ADF(FusionMethod):
    """Anisotropic-diffusion base/detail split, KL-weighted details, averaged bases (VIFB implementation)."""

    display_name = "ADF"
    family = "classical"
    color = "native"  # VIFB fuses each VIS channel with the IR image; the IR base layer is computed once

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        i1 = ir.astype(np.float64) * 255.0
        a1 = anisotropic_diffusion(i1)
        d1 = i1 - a1
        chans = [vi] if vi.ndim == 2 else [vi[..., k] for k in range(3)]
        out = []
        for c in chans:
            i2 = c.astype(np.float64) * 255.0
            a2 = anisotropic_diffusion(i2)
            d2 = i2 - a2
            w1, w2 = kl_detail_weights(d1, d2)
            out.append(matlab_uint8(w1 * d1 + w2 * d2 + 0.5 * a1 + 0.5 * a2) / 255.0)
        return out[0] if vi.ndim == 2 else np.stack(out, axis=2)
