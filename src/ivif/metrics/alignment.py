"""Registration (alignment) metrics for the data-compatibility work: MSE, NCC, LNCC, MI, EPE.

Plain functions on arrays, not part of any fusion profile. Images are gray ``HxW`` arrays, ``uint8``/
``uint16`` or float in [0, 1] (validated with :func:`ivif.io.as_image`, computed in float64 on [0, 1]).
MSE, NCC and LNCC follow the UMF-CMGR evaluation protocol (``wdhudiekou/UMF-CMGR``,
``Evaluation/metrics.py``: images divided by 255, LNCC with a 17x17 box window and zero padding,
stabilising constants 1e-5/1e-6); EPE is the usual mean end-point error of optical flow.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InvalidImageError, MetricError
from ..io import as_image, check_same_size
from ._pyref import mutual_information_bits

__all__ = ["mse", "ncc", "lncc", "mi", "epe"]


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if np.ndim(a) == 3 and np.shape(a)[2] != 1 or np.ndim(b) == 3 and np.shape(b)[2] != 1:
        raise InvalidImageError(
            f"alignment metrics take gray HxW images, got shapes {np.shape(a)} and {np.shape(b)}; "
            "convert colour images with ivif.io.to_gray first"
        )
    x = as_image(a, name="a")
    y = as_image(b, name="b")
    if x.ndim != 2 or y.ndim != 2:
        raise InvalidImageError(
            f"alignment metrics take gray HxW images, got shapes {np.shape(a)} and {np.shape(b)}; "
            "convert colour images with ivif.io.to_gray first"
        )
    check_same_size(x, y, "a", "b")
    return x.astype(np.float64), y.astype(np.float64)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two gray images on the [0, 1] scale (0 = identical; lower is better)."""
    x, y = _pair(a, b)
    return float(np.mean((x - y) ** 2))


def ncc(a: np.ndarray, b: np.ndarray, eps: tuple[float, float] = (1e-5, 1e-6)) -> float:
    """Global normalised cross-correlation ``cov(a, b) / sqrt((var a + eps0) (var b + eps1))`` (-1..1).

    Variances are population variances on [0, 1] data. The default ``eps`` is UMF-CMGR's (so identical
    images score slightly below 1); ``eps=(0, 0)`` gives the plain Pearson correlation, and then a
    constant image raises :class:`MetricError`.
    """
    x, y = _pair(a, b)
    dx = x - x.mean()
    dy = y - y.mean()
    den = (np.mean(dx * dx) + eps[0]) * (np.mean(dy * dy) + eps[1])
    if den <= 0:
        raise MetricError("ncc: an image is constant (zero variance); NCC is undefined, pass eps > 0")
    return float(np.mean(dx * dy) / np.sqrt(den))


def lncc(a: np.ndarray, b: np.ndarray, window: int = 17, eps: float = 1e-5) -> float:
    """Local normalised cross-correlation: mean over pixels of ``cross^2 / (var_a var_b + eps)`` (0..1).

    ``cross``, ``var_a``, ``var_b`` are the centred sums over a ``window x window`` box (zero padding
    outside the image, the box sum divided by the full window size for the means), as UMF-CMGR's LNCC.
    ``window`` must be a positive odd integer (UMF-CMGR default 17).
    """
    if not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
        raise MetricError(f"lncc: window must be a positive odd integer, got {window!r}")
    x, y = _pair(a, b)
    n = float(window * window)

    def box(z: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(z, -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT)

    sx, sy = box(x), box(y)
    sxx, syy, sxy = box(x * x), box(y * y), box(x * y)
    ux, uy = sx / n, sy / n
    cross = sxy - uy * sx - ux * sy + ux * uy * n
    vx = sxx - 2 * ux * sx + ux * ux * n
    vy = syy - 2 * uy * sy + uy * uy * n
    return float(np.mean(cross * cross / (vx * vy + eps)))


def mi(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information in bits of the 8-bit levels of two gray images (256x256 joint histogram).

    Float inputs are quantised with ``rint(255 x)``; uint16 inputs are scaled to [0, 1] first. Ranges
    from 0 (independent) to the entropy of either image (identical images).
    """
    x, y = _pair(a, b)
    qa = np.rint(x * 255).astype(np.int64)
    qb = np.rint(y * 255).astype(np.int64)
    return mutual_information_bits(qa, qb)


def _flow(f: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(f)
    if arr.ndim == 3 and arr.shape[-1] != 2 and arr.shape[0] == 2:
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim != 3 or arr.shape[-1] != 2:
        raise InvalidImageError(f"{name}: a flow must have shape HxWx2 (or 2xHxW), got {np.shape(f)}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidImageError(f"{name}: unsupported dtype {arr.dtype}; pass float displacements in pixels")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InvalidImageError(f"{name}: contains NaN/inf displacements; mask them out with mask=")
    return arr


def epe(flow: np.ndarray, flow_gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Average end-point error ``mean ||flow - flow_gt||_2`` in pixels (0 = exact; lower is better).

    Args:
        flow, flow_gt: displacement fields, ``HxWx2`` (or ``2xHxW``), in pixels; both in the same
            component order (e.g. (dx, dy)).
        mask: optional boolean ``HxW``; only ``True`` pixels are averaged (e.g. valid ground truth).
    """
    u = _flow(flow, "flow")
    v = _flow(flow_gt, "flow_gt")
    if u.shape != v.shape:
        raise InvalidImageError(f"flow has shape {u.shape[:2]} but flow_gt {v.shape[:2]}; they must match")
    err = np.sqrt(np.sum((u - v) ** 2, axis=-1))
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != err.shape:
            raise InvalidImageError(f"mask has shape {m.shape}, expected {err.shape} (HxW of the flow)")
        m = m.astype(bool)
        if not m.any():
            raise MetricError("epe: the mask selects no pixel")
        return float(err[m].mean())
    return float(err.mean())
