"""ADF: anisotropic diffusion + Karhunen-Loeve fusion (Bavirisetti & Dhuli 2016), as run by VIFB.

VIFB (``methods/ADF/run_ADF.m``, ``anisodiff2D.m``) works on 8-bit values (0..255) and fuses each RGB
channel of the visible image with the IR image: Perona-Malik diffusion (8 neighbours, zero padding,
10 iterations, dt 0.15, kappa 30, exponential conduction) splits each image into base and detail; the
detail layers are mixed with the weights of the principal eigenvector of their 2x2 covariance, the base
layers averaged, and the sum is saturated to uint8.
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidImageError
from ...registry import METHODS
from ..base import FusionMethod
from ._common import matlab_uint8

# (row offset, column offset, 1 / distance^2) of the 8 neighbours
# (row offset, column offset, 1 / distance^2) of 4 of the 8 neighbours; the other 4 are their mirror images,
# whose fluxes are the same pair fluxes with opposite sign (the conduction depends on |gradient| only)
_HALF_NEIGHBOURS = ((0, 1, 1.0), (1, -1, 0.5), (1, 0, 1.0), (1, 1, 0.5))


def anisotropic_diffusion(im: np.ndarray, num_iter: int = 10, delta_t: float = 0.15, kappa: float = 30.0,
                          option: int = 1, dtype: type = np.float64) -> np.ndarray:
    """Perona-Malik diffusion over 8 neighbours with zero padding (Lopes' ``anisodiff2D``).

    Args:
        im: ``HxW`` image, or ``HxWxC`` to diffuse C images at once, on the scale ``kappa`` refers to
            (VIFB: 0..255).
        option: 1 for ``exp(-(g/kappa)^2)`` conduction, 2 for ``1 / (1 + (g/kappa)^2)``.
        dtype: working precision (MATLAB: float64).
    """
    u = np.array(im, dtype=dtype)
    h, w = u.shape[:2]
    p = np.zeros((h + 2, w + 2) + u.shape[2:], dtype=dtype)
    acc = np.empty_like(u)
    flux = np.empty((h + 2, w + 2) + u.shape[2:], dtype=dtype)
    inv_k = 1.0 / kappa
    for _ in range(num_iter):
        p[1:-1, 1:-1] = u  # imfilter's default zero padding: border neighbours count as 0
        acc[...] = 0.0
        for dy, dx, wgt in _HALF_NEIGHBOURS:
            # flux of each pair (q, q + o) over the padded grid: f = c(g) g with g = p[q + o] - p[q]
            x0, x1 = max(0, -dx), w + 2 - max(0, dx)
            f = flux[:h + 2 - dy, :x1 - x0]  # f[i, j] is the pair starting at padded (i, j + x0)
            np.subtract(p[dy:, x0 + dx:x1 + dx], p[:h + 2 - dy, x0:x1], out=f)
            c = f * inv_k
            np.multiply(c, c, out=c)
            if option == 1:
                np.negative(c, out=c)
                np.exp(c, out=c)
            else:
                c += 1.0
                np.reciprocal(c, out=c)
            f *= c
            if wgt != 1.0:
                f *= wgt
            # pixel p (padded coordinates 1..h, 1..w) gains the flux towards p + o and loses the one from p - o
            acc += f[1:h + 1, 1 - x0:w + 1 - x0]
            acc -= f[1 - dy:h + 1 - dy, 1 - dx - x0:w + 1 - dx - x0]
        acc *= delta_t
        u += acc
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
    color = "native"  # VIFB fuses each VIS channel with the IR image; all are diffused in one pass

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        if ir.size < 2:
            raise InvalidImageError("ADF needs at least 2 pixels (the detail covariance), got a 1x1 image")
        # IR and the VIS channel(s) diffuse together as one HxWx(1+C) stack, in float32 (8-bit output
        # identical to float64 but for rare rounding ties)
        x = np.dstack([ir, vi]).astype(np.float32) * np.float32(255.0)
        a = anisotropic_diffusion(x, dtype=np.float32).astype(np.float64)
        x = x.astype(np.float64)
        d = x - a
        out = []
        for k in range(1, x.shape[2]):
            w1, w2 = kl_detail_weights(d[..., 0], d[..., k])
            out.append(matlab_uint8(w1 * d[..., 0] + w2 * d[..., k] + 0.5 * a[..., 0] + 0.5 * a[..., k]) / 255.0)
        return out[0] if vi.ndim == 2 else np.stack(out, axis=2)
