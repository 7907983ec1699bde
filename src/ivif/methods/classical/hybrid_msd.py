"""Hybrid_MSD: hybrid multi-scale decomposition with Gaussian and bilateral filters (Zhou et al. 2016).

Four scales (sigma_s = 2, 4, 8, 16) of a Gaussian filter and of a bilateral filter (range sigma 0.05,
halved per scale) split each source into "edge" (bilateral - Gaussian) and "detail" (previous Gaussian -
bilateral) layers; large-scale layers are blended with infrared-dominance weights ``atan(30 P) /
atan(30)``, the base with the same weights smoothed by a Gaussian of sigma 64, the finest scale by
max-absolute selection. As in the authors' MEX code, the bilateral filter is Paris & Durand's fast
approximation on a down-sampled (x, y, intensity) grid: nearest-cell splatting, two [1 2 1]/4 passes per
axis, trilinear slicing; :func:`fast_bilateral` reproduces that grid exactly (float64). VIFB fuses a
colour visible image channel by channel with the infrared.

Speed (~0.35 s per 640x480 RGB pair on one core, 16 bilateral grids): each axis's two [1 2 1]/4 passes
run as one [1 4 6 4 1]/16 pass (with the one-cell correction that keeps it exact), x and y in one OpenCV
call on the stacked slices, z in cache-sized column blocks; slicing is two ``cv2.remap`` calls (exact
bilinear weights: the spatial fractions are multiples of 1/16) blended in z; the method runs the
decomposition and fusion in float32, shares the infrared side between the channels and sums the layers
in telescoped form (E{j} + D{j} = M{j-1} - M{j}). Its 8-bit output differs from the float64 formula on
~5e-5 of the pixels (rounding ties, mostly 1 level).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import cv2
import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import _filter_matrix, gaussian_1d, imfilter_sep, matlab_uint8

_N_LEVEL = 4
_LAMBDA = 30.0
_PAD = 2  # padding_xy = padding_z = 2 in fast_blf.h
_FAST_UFUNC_AT = np.lib.NumpyVersion(np.__version__) >= "1.25.0"


def fast_bilateral(img: np.ndarray, sigma_s: float, sigma_r: float, dtype: type = np.float64) -> np.ndarray:
    """Paris & Durand's bilateral-grid filter as in Hybrid_MSD's ``fast_blf`` MEX (``HxW``, any range).

    The grid has cells of ``sigma_s`` pixels and ``sigma_r`` intensity (in the image's units; the authors
    filter [0, 1] images); each pixel adds (value, 1) to its nearest cell; each axis is blurred twice with
    [1 2 1]/4 (the outermost cells stay 0); the result is the trilinear interpolation of value-sum over
    weight-sum at the pixel's grid position.

    ``dtype`` is the precision of the arithmetic and of the result: float64 as the MEX (agrees with a
    literal port to ~1e-9 of the range), or float32 (~2x faster; within ~1e-6 of the range).
    """
    a = np.ascontiguousarray(img, dtype=dtype)
    h, w = a.shape
    vmin, vmax = cv2.minMaxLoc(a)[:2]  # one pass for both
    plan = _xy_plan(h, w, float(sigma_s))
    sh, sw = plan.sh, plan.sw
    sd = int((vmax - vmin) / sigma_r) + 1 + 2 * _PAD
    zs = a - a.dtype.type(vmin)
    zs /= a.dtype.type(sigma_r)
    # Down-sampling: C casts (truncation) of coordinate + 0.5, i.e. floor for these non-negative values.
    # Grid laid out as [z, y, x, (value, weight)]: (y, x) slices stacked into one tall 2-channel image;
    # ``flat`` indexes the value entry of each pixel's cell in the flattened grid.
    flat = (zs + a.dtype.type(0.5)).astype(np.intp)
    flat *= 2 * sh * sw
    flat += plan.splat2  # includes the z padding
    flat = flat.ravel()
    grid = np.zeros((sd, sh, sw, 2), dtype)
    g = grid.reshape(-1)
    if _FAST_UFUNC_AT:
        # Unbuffered accumulation in pixel order (ufunc.at; several times faster here than np.bincount
        # into float64 plus the copy into the interleaved grid).
        np.add.at(g, flat, a.ravel())
        flat += 1
        np.add.at(g, flat, dtype(1))
    else:  # NumPy < 1.25: ufunc.at has no fast path
        n = 2 * sd * sh * sw
        g += np.bincount(flat, weights=a.ravel(), minlength=n)
        flat += 1
        g += np.bincount(flat, minlength=n)
    grid = _blur_grid(grid)
    fz = zs
    fz += _PAD
    return _slice(grid, fz, plan)


class _XYPlan(NamedTuple):
    sh: int  # grid rows (y cells, padding included)
    sw: int  # grid columns
    splat2: np.ndarray  # HxW intp: 2 * ((pad * sh + y) * sw + x) for the nearest (y, x) cell of each pixel
    map1: np.ndarray  # HxWx2 int16: integer (x, y) grid position of each pixel (OpenCV fixed-point map)
    map2: np.ndarray  # HxW uint16: its fractional part in 1/32 steps (exact: sigma_s is a power of 2 here)
    exact: bool  # whether the 1/32-step map represents x / sigma_s and y / sigma_s exactly
    fx: np.ndarray  # float64 x / sigma_s + padding, per column
    fy: np.ndarray  # float64 y / sigma_s + padding, per row


@functools.lru_cache(maxsize=16)
def _xy_plan(h: int, w: int, sigma_s: float) -> _XYPlan:
    # Everything that depends only on the image size and the spatial sigma (shared by all channels).
    sw = int((w - 1) / sigma_s) + 1 + 2 * _PAD
    sh = int((h - 1) / sigma_s) + 1 + 2 * _PAD
    gx = (np.arange(w) / sigma_s + 0.5).astype(np.intp) + _PAD
    gy = (np.arange(h) / sigma_s + 0.5).astype(np.intp) + _PAD
    splat2 = 2 * ((_PAD * sh + gy[:, None]) * sw + gx[None, :])
    fx = np.arange(w) / sigma_s + _PAD
    fy = np.arange(h) / sigma_s + _PAD
    mx = np.broadcast_to(fx.astype(np.float32)[None, :], (h, w))
    my = np.broadcast_to(fy.astype(np.float32)[:, None], (h, w))
    map1, map2 = cv2.convertMaps(np.ascontiguousarray(mx), np.ascontiguousarray(my), cv2.CV_16SC2)
    exact = bool(np.all(fx * 32 == np.round(fx * 32)) and np.all(fy * 32 == np.round(fy * 32)))
    for arr in (splat2, map1, map2, fx, fy):
        arr.flags.writeable = False
    return _XYPlan(sh, sw, splat2, map1, map2, exact, fx, fy)


_K5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # two [1 2 1]/4 passes
_K1 = np.array([1.0])
_Z_CHUNK = 8192  # columns per z-pass call: keeps the 5 rows each output row reads in cache
_REMAP_LIMIT = 32767  # OpenCV remap: source rows/columns and int16 map coordinates must stay below this


def _blur_grid(grid: np.ndarray) -> np.ndarray:
    # The MEX blurs each axis twice with [1 2 1]/4 on the interior cells only, leaving cells 0 and n-1 at
    # 0 after every pass. Splatting fills cells 2..n-2 (padding 2 below, >= 1 above), so per axis this
    # equals one [1 4 6 4 1]/16 pass with zero padding except at cell n-2, which must lose 1/16 of its
    # input (its second pass would read the zeroed cell n-1): out[n-2] -= in[n-2] / 16. Cells 0, 1 and
    # n-1 come out different but are never read: slicing uses cells 2..n-2 only, and the axes are
    # separable. Stacking the (y, x) slices (or the z rows) into one image is exact for the same reason:
    # neighbouring slices only meet at those unread cells.
    sd, sh, sw, _ = grid.shape
    depth = cv2.CV_64F if grid.dtype == np.float64 else cv2.CV_32F
    img = grid.reshape(sd * sh, sw, 2)
    out = cv2.sepFilter2D(img, depth, _K5, _K5, borderType=cv2.BORDER_CONSTANT).reshape(grid.shape)
    # (Ky - Ey)(Kx - Ex) g = Ky Kx g - Ey Kx g - Ky Ex g + Ey Ex g, with E the cell n-2 correction.
    row = cv2.sepFilter2D(grid[:, sh - 2], depth, _K5, _K1, borderType=cv2.BORDER_CONSTANT)
    col = cv2.sepFilter2D(np.ascontiguousarray(grid[:, :, sw - 2]).reshape(sd * sh, 1, 2), depth, _K1, _K5,
                          borderType=cv2.BORDER_CONSTANT).reshape(sd, sh, 2)
    out[:, sh - 2] -= row / 16.0
    out[:, :, sw - 2] -= col / 16.0
    out[:, sh - 2, sw - 2] += grid[:, sh - 2, sw - 2] / 256.0
    # z: one column filter over the (z, y*x*2) matrix, in column chunks.
    src = out.reshape(sd, -1)
    dst = grid.reshape(sd, -1)
    for c0 in range(0, src.shape[1], _Z_CHUNK):
        cv2.sepFilter2D(src[:, c0:c0 + _Z_CHUNK], depth, _K1, _K5, dst=dst[:, c0:c0 + _Z_CHUNK],
                        borderType=cv2.BORDER_CONSTANT)
    dst[sd - 2] -= src[sd - 2] / 16.0
    return grid


def _slice(grid: np.ndarray, fz: np.ndarray, plan: _XYPlan) -> np.ndarray:
    # Trilinear interpolation of the blurred grid at (x / sigma_s, y / sigma_s, z / sigma_r) + padding,
    # then value-sum over weight-sum. The +1 neighbours never need the MEX's clamping (2 padding cells).
    sd, sh, sw, _ = grid.shape
    h, w = fz.shape
    if plan.exact and sd * sh < _REMAP_LIMIT and sw < _REMAP_LIMIT:
        # (x, y) bilinear on slices iz and iz + 1 with OpenCV's remap: the x / y fractions are multiples
        # of 1/16, which its 1/32-step fixed-point weights hold exactly; z is blended here in the grid's
        # precision. (The MEX forms each trilinear weight as a float32 product: ~1e-8 relative apart.)
        src = grid.reshape(sd * sh, sw, 2)
        iz = fz.astype(np.int16)  # < sd, and sd * sh fits int16
        az = fz - iz
        iz *= sh
        m1 = plan.map1.copy()
        m1[..., 1] += iz
        lo = cv2.remap(src, m1, plan.map2, cv2.INTER_LINEAR)
        hi = cv2.remap(src[sh:], m1, plan.map2, cv2.INTER_LINEAR)  # same map, one slice further
        num, den = cv2.split(lo)
        num1, den1 = cv2.split(hi)
        num1 -= num
        num1 *= az
        num += num1
        den1 -= den
        den1 *= az
        den += den1
        num /= den
        return num
    # General path: eight gathers of (value, weight) pairs, trilinear weights as float32 products like the
    # MEX's Math_tools::trilinear_interpolation.
    iz = fz.astype(np.intp)
    az = fz - iz
    g = grid.astype(np.float64, copy=False).reshape(-1, 2).view(np.complex128).ravel()
    ix, iy = plan.fx.astype(np.int64), plan.fy.astype(np.int64)
    ax = (plan.fx - ix).astype(np.float32)[None, :]
    ay = (plan.fy - iy).astype(np.float32)[:, None]
    azf = az.astype(np.float32)
    one = np.float32(1.0)
    base = (iz * sh + iy[:, None]) * sw + ix[None, :]
    acc = np.zeros((h, w), np.complex128)
    for off, wy, wx in ((0, one - ay, one - ax), (1, one - ay, ax), (sw, ay, one - ax), (sw + 1, ay, ax)):
        wxy = wx * wy
        for dz, wz in ((0, one - azf), (sh * sw, azf)):
            acc += (wxy * wz).astype(np.float64) * g.take(base + (off + dz))
    return (acc.real / acc.imag).astype(grid.dtype, copy=False)


def _gauss(img: np.ndarray, size: int, sigma: float) -> np.ndarray:
    # imfilter(img, fspecial('gaussian', size, sigma), 'symmetric') in float32. OpenCV's BORDER_REFLECT is
    # MATLAB's symmetric padding. Long kernels (the base weights' 385 taps) run as two float32 matrix
    # products with the padding folded in (imfilter_sep's matrices), ~6x faster than direct filtering.
    g = gaussian_1d(size, sigma)
    if size > 63:
        my, mx = _filter_matrices_f32(img.shape, g.tobytes())
        return my @ img @ mx
    if size // 2 < min(img.shape):
        return cv2.sepFilter2D(img, cv2.CV_32F, g, g, borderType=cv2.BORDER_REFLECT)
    return imfilter_sep(img, g, g, "symmetric").astype(np.float32)


@functools.lru_cache(maxsize=4)
def _filter_matrices_f32(shape: tuple[int, int], kernel_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    # Row and (transposed) column matrices of the 'symmetric' 1-D correlation: out = My @ img @ Mx.
    my = _filter_matrix(shape[0], kernel_bytes, "symmetric").astype(np.float32)
    mx = np.ascontiguousarray(_filter_matrix(shape[1], kernel_bytes, "symmetric").T.astype(np.float32))
    my.flags.writeable = False
    mx.flags.writeable = False
    return my, mx


def _decompose(img: np.ndarray) -> tuple[list, list]:
    # Gaussian levels M{1..5} -> m[0..4] and bilateral levels (the MATLAB's Ml) -> b[0..4], float32 on
    # 0..255. The MATLAB's layers are D{j} = M{j-1} - Ml{j} (detail) and E{j} = Ml{j} - M{j} (edge).
    img = np.asarray(img, dtype=np.float32)
    m, b = [img], [img]
    sigma = 2.0
    sigma_r = 0.05
    for j in range(_N_LEVEL):
        w = int(np.floor(3 * sigma))
        m.append(_gauss(m[-1], 2 * w + 1, sigma))
        # MATLAB: 255 * fast_blf(Ml / 255, sigma, sigma_r); the grid is scale-equivariant, so filtering the
        # 0..255 levels with range sigma 255 * sigma_r is the same (up to rounding) and saves two passes.
        b.append(fast_bilateral(b[-1], sigma, 255.0 * sigma_r / 2.0**j, np.float32))
        sigma *= 2.0
    return m, b


class _IRSide(NamedTuple):
    # Everything the fusion needs from the infrared alone, computed once for all visible channels.
    m: list  # Gaussian levels
    e_abs: list  # |E{j}| per level (index 1..4)
    band: list  # E{j} + D{j} = M{j-1} - M{j} per level (index 2..4)
    e1: np.ndarray  # finest edge layer E{1}
    d1: np.ndarray  # finest detail layer D{1}
    d1_abs: np.ndarray  # |D{1}|


def _ir_side(layers: tuple[list, list]) -> _IRSide:
    m, b = layers
    e_abs = [None] + [cv2.absdiff(b[j], m[j]) for j in range(1, _N_LEVEL + 1)]
    band = [None, None] + [m[j - 1] - m[j] for j in range(2, _N_LEVEL + 1)]
    d1 = m[0] - b[1]
    return _IRSide(m, e_abs, band, b[1] - m[1], d1, np.abs(d1))


def blend_large_scales(m1: list, s1: list, ir_m: list, ir_e_abs: list, ir_band: list, lam: float) -> np.ndarray:
    """Zhou et al.'s infrared-dominance blend of scales 2..4 (shared by Hybrid_MSD and HMSD_GF), float32.

    ``m1``/``s1``: the visible channel's Gaussian and edge-preserving (bilateral or guided) smoothings per
    level; ``ir_m``, ``ir_e_abs`` (``|s - m|`` per level), ``ir_band`` (``m{j-1} - m{j}``): the infrared's.
    Weights ``C_j = atan(lam R_j / max R_j) / atan(lam)`` with ``R_j = max(|E2_j| - |E1_j|, 0)``, smoothed
    by a 7x7 Gaussian (sigma 1); the base uses ``C_4`` smoothed by a Gaussian of sigma 64. Since
    ``E{j} + D{j} = M{j-1} - M{j}`` per source, the visible bands telescope and the result is
    ``m1[1] + Cb (ir_m[4] - m1[4]) + sum_j C_j (ir_band[j] - m1[j-1] + m1[j])`` (MATLAB's ``M1{2} + ...``;
    the finest scale is added by the caller).
    """
    sigma_b = 2.0 * 2.0 * 2.0**_N_LEVEL  # 2 * sigma0 after the decomposition loop (sigma 2, k 2): 64
    wb = int(np.floor(3 * sigma_b))
    atan_l = np.float32(np.arctan(lam))
    out = m1[1].copy()
    for j in range(_N_LEVEL, 1, -1):
        r = cv2.absdiff(s1[j], m1[j])
        np.subtract(ir_e_abs[j], r, out=r)
        np.maximum(r, 0.0, out=r)
        # MATLAB divides by max(R) even when it is 0 (all-NaN weights, a white image); no infrared excess
        # anywhere means no infrared dominance, P = 0 (never the case on the VIFB pairs).
        rmax = float(r.max())
        if rmax > 0:
            r *= np.float32(lam / rmax)
            c = np.arctan(r, out=r)
            c /= atan_l
        else:
            c = np.zeros_like(r)
        if j == _N_LEVEL:
            base = ir_m[j] - m1[j]
            base *= _gauss(c, 2 * wb + 1, sigma_b)
            out += base
        c = _gauss(c, 7, 1.0)  # sigma_c = sigma_t = 1 -> 7x7
        band = ir_band[j] - m1[j - 1]
        band += m1[j]
        band *= c
        out += band
    return out


def _fuse_channel(vi: np.ndarray, ir: _IRSide) -> np.ndarray:
    # One visible channel (float32 0..255) with the infrared: Hybrid_MSD's fusion rule, float32, unclipped.
    m1, b1 = _decompose(vi)
    # MF = base blend + sum over j of [C_j E2 + (1 - C_j) E1] + [C_j D2 + (1 - C_j) D1]; with
    # E{j} + D{j} = M{j-1} - M{j} the visible bands telescope to M1{1} - M1{5}, leaving
    # MF = M1{2} + Cb (M2{5} - M1{5}) + sum_j C_j (band2_j - band1_j) + the finest-scale selections.
    mf = blend_large_scales(m1, b1, ir.m, ir.e_abs, ir.band, _LAMBDA)
    # Small scale: sigma 0.2 gives a 1x1 Gaussian (w = floor(0.6) = 0), i.e. plain max-abs selection.
    e1 = b1[1] - m1[1]
    mf += np.where(np.abs(e1) < ir.e_abs[1], ir.e1, e1)
    d1 = m1[0] - b1[1]
    mf += np.where(np.abs(d1) < ir.d1_abs, ir.d1, d1)
    return mf


def hybrid_msd_fuse(vi: np.ndarray, ir: np.ndarray, ir_layers: tuple | None = None) -> np.ndarray:
    """Fuse one visible channel with the infrared (levels 0..255, ``HxW``); returns float64 levels 0..255.

    ``ir_layers`` may pass ``_decompose(ir)`` computed once for several visible channels. Computed in
    float32 (within ~1e-4 grey levels of a float64 run before the final rounding).
    """
    layers = ir_layers if ir_layers is not None else _decompose(ir)
    return np.clip(_fuse_channel(vi, _ir_side(layers)).astype(np.float64), 0.0, 255.0)


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
        side = _ir_side(_decompose(ir.astype(np.float32) * np.float32(255.0)))
        chans = [vi] if vi.ndim == 2 else [vi[..., k] for k in range(vi.shape[2])]
        # MATLAB: max(min(MF, 255), 0), then uint8.
        out = [matlab_uint8(_fuse_channel(c.astype(np.float32) * np.float32(255.0), side)) / 255.0 for c in chans]
        return (out[0] if vi.ndim == 2 else np.stack(out, axis=2)).astype(np.float32)
