"""Hybrid_MSD: hybrid multi-scale decomposition with Gaussian and bilateral filters (Zhou et al. 2016).

Four scales (sigma_s = 2, 4, 8, 16) of a Gaussian filter and of a bilateral filter (range sigma 0.05,
halved per scale) split each source into "edge" (bilateral - Gaussian) and "detail" (previous Gaussian -
bilateral) layers; large-scale layers are blended with infrared-dominance weights ``atan(30 P) /
atan(30)``, the base with the same weights smoothed by a Gaussian of sigma 64, the finest scale by
max-absolute selection. As in the authors' MEX code, the bilateral filter is Paris & Durand's fast
approximation on a down-sampled (x, y, intensity) grid: nearest-cell splatting, two [1 2 1]/4 passes per
axis, trilinear slicing; this port reproduces that grid exactly. VIFB fuses a colour visible image
channel by channel with the infrared.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import gaussian_1d, imfilter_sep, matlab_uint8

_N_LEVEL = 4
_LAMBDA = 30.0
_PAD = 2  # padding_xy = padding_z = 2 in fast_blf.h


def fast_bilateral(img: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    """Paris & Durand's bilateral-grid filter as in Hybrid_MSD's ``fast_blf`` MEX (float64 ``HxW``, [0, 1]).

    The grid has cells of ``sigma_s`` pixels and ``sigma_r`` intensity; each pixel adds (value, 1) to its
    nearest cell; each axis is blurred twice with [1 2 1]/4 (the outermost cells stay 0); the result is
    the trilinear interpolation of value-sum over weight-sum at the pixel's grid position.
    """
    a = np.asarray(img, dtype=np.float64)
    h, w = a.shape
    vmin = a.min()
    z = a - vmin
    sw = int((w - 1) / sigma_s) + 1 + 2 * _PAD
    sh = int((h - 1) / sigma_s) + 1 + 2 * _PAD
    sd = int((a.max() - vmin) / sigma_r) + 1 + 2 * _PAD
    # Down-sampling: C casts (truncation) of coordinate + 0.5, i.e. floor for these non-negative values.
    gx = (np.arange(w) / sigma_s + 0.5).astype(np.int64) + _PAD
    gy = (np.arange(h) / sigma_s + 0.5).astype(np.int64) + _PAD
    gz = (z / sigma_r + 0.5).astype(np.int64) + _PAD
    # Grid laid out as [(value, weight), z, y, x]: the x/y passes run as OpenCV 3-tap filters on the stack
    # of (y, x) slices, the z pass over whole contiguous slices.
    flat = ((gz * sh + gy[:, None]) * sw + gx[None, :]).ravel()
    n = sh * sw * sd
    grid = np.empty((2, n))
    grid[0] = np.bincount(flat, weights=a.ravel(), minlength=n)
    grid[1] = np.bincount(flat, minlength=n)
    grid = _blur_grid(grid.reshape(2, sd, sh, sw))
    # Slicing: trilinear interpolation with float32 weights, as Math_tools::trilinear_interpolation.
    # The +1 neighbours never need the MEX's clamping: the grid has 2 padding cells on every side.
    fx = np.arange(w) / sigma_s + _PAD
    fy = np.arange(h) / sigma_s + _PAD
    fz = (z / sigma_r + _PAD).ravel()
    ix, iy, iz = fx.astype(np.int64), fy.astype(np.int64), fz.astype(np.int64)
    ax = (fx - ix).astype(np.float32)
    ay = (fy - iy).astype(np.float32)
    az = (fz - iz).astype(np.float32)
    one = np.float32(1.0)
    base = ((iz.reshape(h, w) * sh + iy[:, None]) * sw + ix[None, :]).ravel()
    gv, gw = grid[0].ravel(), grid[1].ravel()
    num, den = np.zeros(h * w), np.zeros(h * w)
    AY, AX = ay[:, None], ax[None, :]
    z_corners = ((0, one - az), (sh * sw, az))
    for off, wy, wx in ((0, one - AY, one - AX), (1, one - AY, AX), (sw, AY, one - AX), (sw + 1, AY, AX)):
        wxy = (wx * wy).ravel()  # float32, as the MEX's (1-x_alpha)*(1-y_alpha)
        for dz, wz in z_corners:
            wt = (wxy * wz).astype(np.float64)
            idx = base + (off + dz)
            num += wt * gv.take(idx)
            den += wt * gw.take(idx)
    return (num / den).reshape(h, w)


_K3 = np.array([0.25, 0.5, 0.25])
_K1 = np.array([1.0])


def _blur_grid(grid: np.ndarray) -> np.ndarray:
    # Per axis two passes of (left + right + 2 centre) / 4 on the interior; the outermost cells (never
    # filled by the splatting) are kept at 0 after every pass, as the MEX only writes the interior. The
    # (y, x) slices are stacked into one tall image: rows of neighbouring slices only meet at those
    # zeroed border rows, so one OpenCV call filters all of them.
    two, sd, sh, sw = grid.shape
    img = grid.reshape(two * sd * sh, sw)
    v = img.reshape(two, sd, sh, sw)
    for kx, ky, axis in ((_K3, _K1, 3), (_K1, _K3, 2)):
        for _ in range(2):
            img = cv2.sepFilter2D(img, cv2.CV_64F, kx, ky, borderType=cv2.BORDER_CONSTANT)
            v = img.reshape(two, sd, sh, sw)
            edge = [slice(None)] * 4
            edge[axis] = 0
            v[tuple(edge)] = 0.0
            edge[axis] = -1
            v[tuple(edge)] = 0.0
    g = v.reshape(two, sd, sh * sw)
    tmp = np.empty_like(g)
    for _ in range(2):  # z: whole slices at a time
        np.add(g[:, :-2], g[:, 2:], out=tmp[:, 1:-1])
        tmp[:, 1:-1] += 2.0 * g[:, 1:-1]
        tmp[:, 1:-1] *= 0.25
        tmp[:, 0] = 0.0
        tmp[:, -1] = 0.0
        g, tmp = tmp, g
    return g.reshape(two, sd, sh, sw)


def _decompose(img: np.ndarray) -> tuple[list, list, list]:
    # M (Gaussian), D (detail = M{j-1} - bilateral), E (edge = bilateral - M{j}) like the MATLAB cells.
    m, ml = [img], [img]
    d, e = [None], [None]
    sigma = 2.0
    sigma_r = 0.05
    for j in range(_N_LEVEL):
        w = int(np.floor(3 * sigma))
        g = gaussian_1d(2 * w + 1, sigma)
        m.append(imfilter_sep(m[-1], g, g, "symmetric"))
        ml.append(255.0 * fast_bilateral(ml[-1] / 255.0, sigma, sigma_r / 2.0**j))
        d.append(m[-2] - ml[-1])
        e.append(ml[-1] - m[-1])
        sigma *= 2.0
    return m, d, e


def hybrid_msd_fuse(vi: np.ndarray, ir: np.ndarray, ir_layers: tuple | None = None) -> np.ndarray:
    """Fuse one visible channel with the infrared (float64 levels 0..255); returns levels 0..255.

    ``ir_layers`` may pass ``_decompose(ir)`` computed once for several visible channels.
    """
    m1, d1, e1 = _decompose(vi)
    m2, d2, e2 = ir_layers if ir_layers is not None else _decompose(ir)
    g1 = gaussian_1d(7, 1.0)
    sigma_b = 2.0 * 2.0 * 2.0**_N_LEVEL  # 2 * sigma0 after the decomposition loop
    wb = int(np.floor(3 * sigma_b))
    gb = gaussian_1d(2 * wb + 1, sigma_b)
    atan_l = np.arctan(_LAMBDA)
    mf = None
    for j in range(_N_LEVEL, 1, -1):
        rj = np.maximum(np.abs(e2[j]) - np.abs(e1[j]), 0.0)
        # MATLAB divides by max(R) even when it is 0 (NaN weights); P = 0 then (see hmsd_gf.py).
        rmax = rj.max()
        c = np.arctan(_LAMBDA * (rj / rmax if rmax > 0 else np.zeros_like(rj))) / atan_l
        if mf is None:
            cn = imfilter_sep(c, gb, gb, "symmetric")
            mf = cn * m2[j] + (1.0 - cn) * m1[j]
        c = imfilter_sep(c, g1, g1, "symmetric")
        mf = mf + (c * e2[j] + (1.0 - c) * e1[j])
        mf = mf + (c * d2[j] + (1.0 - c) * d1[j])
    # Small scale: sigma 0.2 gives a 1x1 Gaussian (w = floor(0.6) = 0), i.e. plain selection.
    c0 = (np.abs(e1[1]) < np.abs(e2[1])).astype(np.float64)
    mf = mf + (c0 * e2[1] + (1.0 - c0) * e1[1])
    c0 = (np.abs(d1[1]) < np.abs(d2[1])).astype(np.float64)
    mf = mf + (c0 * d2[1] + (1.0 - c0) * d1[1])
    return np.maximum(np.minimum(mf, 255.0), 0.0)


@METHODS.register(
    "hybrid_msd",
    aliases=("Hybrid_MSD", "hybrid-msd", "hmsd"),
    tags=("classical", "multiscale"),
    paper="Z. Zhou, B. Wang, S. Li, M. Dong, Perceptual fusion of infrared and visible images through a hybrid "
    "multi-scale decomposition with Gaussian and bilateral filters, Information Fusion 30 (2016) 15-26",
)
class Hybrid_MSD(FusionMethod):
    """Gaussian + bilateral hybrid multi-scale fusion (VIFB's MATLAB/MEX code, per RGB channel)."""

    display_name = "Hybrid_MSD"
    family = "classical"
    paper = "Zhou, Wang, Li & Dong, Information Fusion 2016"
    color = "native"  # per RGB channel as VIFB, with the infrared decomposition shared by the channels
    global_statistics = True  # image-wide maxima (weights, lambda / bilateral grid range)

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        i = ir.astype(np.float64) * 255.0
        ir_layers = _decompose(i)
        chans = [vi] if vi.ndim == 2 else [vi[..., k] for k in range(vi.shape[2])]
        out = [matlab_uint8(hybrid_msd_fuse(c.astype(np.float64) * 255.0, i, ir_layers)) / 255.0 for c in chans]
        return (out[0] if vi.ndim == 2 else np.stack(out, axis=2)).astype(np.float32)
