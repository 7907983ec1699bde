"""Shared building blocks of the classical methods, with MATLAB semantics where VIFB relies on them.

VIFB's classical methods are MATLAB code; to reproduce their outputs these helpers follow MATLAB's
definitions (``imfilter`` padding modes, ``fspecial``, ``round``/``uint8`` rounding, ``imresize``) and He
et al.'s O(1) guided filter as VIFB ships it (``guidedfilter.m``: box sums clipped at the border, divided
by the number of pixels in the clipped window). Everything works on float64 ``HxW`` arrays, the precision
MATLAB's ``double`` code runs in, unless stated otherwise.

Engineers may APPEND functions here; do not edit or reorder existing ones (other modules rely on them).
"""

from __future__ import annotations

import functools
from typing import Literal

import cv2
import numpy as np

PadMode = Literal["replicate", "symmetric", "circular", "zero"]

_NP_PAD = {"replicate": "edge", "symmetric": "symmetric", "circular": "wrap"}


# ------------------------------------------------------------------------------------------- rounding
def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: to the nearest integer, halves away from zero (numpy rounds halves to even)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def matlab_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)`` of a double array on the 0..255 scale: round half away, saturate, NaN -> 0.

    Returns float64 holding integer values 0..255 (divide by 255 for the ivif [0, 1] convention).
    """
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.floor(x + 0.5), 0.0, 255.0)


def to_uint8_levels(img01: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] -> float64 grey levels 0..255 as MATLAB's ``im2uint8`` would store them."""
    return matlab_uint8(np.asarray(img01, dtype=np.float64) * 255.0)


# ------------------------------------------------------------------------------------------- filters
def fspecial_gaussian(size: int | tuple[int, int], sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``: sampled Gaussian, tiny values (< eps*max) zeroed, sum 1."""
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    y = np.arange(h, dtype=np.float64) - (h - 1) / 2.0
    x = np.arange(w, dtype=np.float64) - (w - 1) / 2.0
    g = np.exp(-(x[None, :] ** 2 + y[:, None] ** 2) / (2.0 * sigma * sigma))
    g[g < np.finfo(np.float64).eps * g.max()] = 0.0
    s = g.sum()
    return g / s if s != 0 else g


def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian whose outer product equals ``fspecial_gaussian((size, size), sigma)``.

    Exact whenever fspecial zeroes nothing (all kernels VIFB uses); used for fast separable filtering.
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma * sigma))
    return g / g.sum()


_CV_BORDER = {"replicate": cv2.BORDER_REPLICATE, "symmetric": cv2.BORDER_REFLECT, "circular": cv2.BORDER_WRAP,
              "zero": cv2.BORDER_CONSTANT}


def _pad(img: np.ndarray, top: int, bottom: int, left: int, right: int, mode: PadMode) -> np.ndarray:
    h, w = img.shape[:2]
    if (max(top, bottom) < h and max(left, right) < w and img.dtype in (np.float64, np.float32)
            and (img.ndim == 2 or img.shape[2] <= 4)):
        # OpenCV pads ~10x faster than np.pad; same result while the pad is smaller than the image.
        return cv2.copyMakeBorder(img, top, bottom, left, right, _CV_BORDER[mode], value=0)
    width = ((top, bottom), (left, right)) + ((0, 0),) * (img.ndim - 2)
    if mode == "zero":
        return np.pad(img, width, mode="constant")
    return np.pad(img, width, mode=_NP_PAD[mode])


def imfilter(img: np.ndarray, kernel: np.ndarray, mode: PadMode = "zero") -> np.ndarray:
    """MATLAB ``imfilter(img, kernel, mode)`` for double data: correlation, 'same' size.

    ``mode``: ``"zero"`` (MATLAB's default 0 padding), ``"replicate"``, ``"symmetric"`` (mirror including the
    edge pixel), ``"circular"``. The kernel centre is MATLAB's ``floor((size + 1) / 2)``, which differs from
    OpenCV's for even sizes. ``img`` is ``HxW`` (or ``HxWxC``, filtered per channel).
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim == 1:
        k = k[None, :]
    kh, kw = k.shape
    cy, cx = (kh - 1) // 2, (kw - 1) // 2
    a = np.asarray(img, dtype=np.float64)
    p = _pad(a, cy, kh - 1 - cy, cx, kw - 1 - cx, mode)
    out = cv2.filter2D(p, cv2.CV_64F, k, anchor=(cx, cy), borderType=cv2.BORDER_CONSTANT)
    return out[cy : cy + a.shape[0], cx : cx + a.shape[1]]


def imfilter_sep(img: np.ndarray, ky: np.ndarray, kx: np.ndarray, mode: PadMode = "zero") -> np.ndarray:
    """``imfilter`` with the separable kernel ``outer(ky, kx)`` (same padding/centre rules), much faster.

    Long kernels (more than 63 taps) run as two matrix products with the padding folded into the
    matrices (BLAS; a 385-tap Gaussian costs ~30 ms instead of ~1 s on 640x480).
    """
    ky = np.asarray(ky, dtype=np.float64).ravel()
    kx = np.asarray(kx, dtype=np.float64).ravel()
    a = np.asarray(img, dtype=np.float64)
    if max(ky.size, kx.size) > 63 and a.ndim == 2:
        my = _filter_matrix(a.shape[0], ky.tobytes(), mode)
        mx = _filter_matrix(a.shape[1], kx.tobytes(), mode)
        return my @ a @ mx.T
    kh, kw = ky.size, kx.size
    cy, cx = (kh - 1) // 2, (kw - 1) // 2
    p = _pad(a, cy, kh - 1 - cy, cx, kw - 1 - cx, mode)
    out = cv2.sepFilter2D(p, cv2.CV_64F, kx, ky, anchor=(cx, cy), borderType=cv2.BORDER_CONSTANT)
    return out[cy : cy + a.shape[0], cx : cx + a.shape[1]]


@functools.lru_cache(maxsize=16)
def _filter_matrix(n: int, kernel_bytes: bytes, mode: PadMode) -> np.ndarray:
    # n x n matrix of the 1-D correlation with MATLAB's centre and padding: out = M @ x.
    k = np.frombuffer(kernel_bytes, dtype=np.float64)
    c = (k.size - 1) // 2
    pos = np.arange(n)[:, None] - c + np.arange(k.size)[None, :]  # source index of each tap, may be outside
    src = _pad(np.arange(n)[:, None], c, k.size - 1 - c, 0, 0, "replicate" if mode == "zero" else mode)[:, 0]
    idx = src[pos + c]
    w = np.broadcast_to(k, pos.shape).copy()
    if mode == "zero":
        w[(pos < 0) | (pos >= n)] = 0.0
    m = np.zeros((n, n))
    np.add.at(m, (np.repeat(np.arange(n), k.size), idx.ravel()), w.ravel())
    m.flags.writeable = False
    return m


def gaussian_filter_matlab(img: np.ndarray, size: int, sigma: float, mode: PadMode = "symmetric") -> np.ndarray:
    """``imfilter(img, fspecial('gaussian', [size size], sigma), mode)``, computed separably."""
    g = gaussian_1d(size, sigma)
    return imfilter_sep(img, g, g, mode)


def box_sum(img: np.ndarray, r: int) -> np.ndarray:
    """Sum over the ``(2r+1)x(2r+1)`` window clipped at the image border (He's ``boxfilter.m``), float64."""
    a = np.asarray(img, dtype=np.float64)
    return cv2.boxFilter(a, cv2.CV_64F, (2 * r + 1, 2 * r + 1), normalize=False, borderType=cv2.BORDER_CONSTANT)


@functools.lru_cache(maxsize=32)
def _inv_box_count(h: int, w: int, r: int) -> np.ndarray:
    # 1 / number of in-image pixels of each clipped window: separable, an outer product of 1-D counts.
    def counts(n: int) -> np.ndarray:
        i = np.arange(n)
        return (np.minimum(i + r, n - 1) - np.maximum(i - r, 0) + 1).astype(np.float64)

    out = 1.0 / np.outer(counts(h), counts(w))
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=16)
def inv_box_count_f32(h: int, w: int, r: int) -> np.ndarray:
    """float32 ``1 / (in-image pixels of each clipped (2r+1)^2 window)`` for ``h x w`` images (read-only)."""
    inv = _inv_box_count(h, w, r).astype(np.float32)
    inv.flags.writeable = False
    return inv


def _box_count(h: int, w: int, r: int) -> np.ndarray:
    return 1.0 / _inv_box_count(h, w, r)


def _inv_n_like(a: np.ndarray, r: int) -> np.ndarray:
    inv = _inv_box_count(a.shape[0], a.shape[1], r)
    return inv[..., None] if a.ndim == 3 else inv


def box_mean(img: np.ndarray, r: int) -> np.ndarray:
    """Mean over the ``(2r+1)x(2r+1)`` window clipped at the border (``boxfilter(I, r) ./ N``), float64.

    ``img`` is ``HxW`` or ``HxWxC`` (channels filtered independently).
    """
    a = np.asarray(img, dtype=np.float64)
    return box_sum(a, r) * _inv_n_like(a, r)


def guided_filter(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a gray guide, as VIFB's ``guidedfilter.m`` (float64).

    Args:
        guide: ``HxW`` guidance image (any scale; ``eps`` is in that scale squared), or ``HxWxC`` to filter
            C independent channel pairs at once (channel k of ``src`` guided by channel k of ``guide``,
            which is what VIFB's ``guidedfilter_color.m`` does).
        src: image to filter, same shape as ``guide``.
        r: window radius in pixels (window ``2r+1``).
        eps: regularisation added to the local variance of ``guide``.
    """
    I = np.asarray(guide, dtype=np.float64)
    p = np.asarray(src, dtype=np.float64)
    inv_n = _inv_n_like(I, r)
    self_guided = p is I or (p.shape == I.shape and np.array_equal(p, I))
    mean_i = box_sum(I, r)
    mean_i *= inv_n
    var_i = box_sum(I * I, r)
    var_i *= inv_n
    var_i -= mean_i * mean_i
    if self_guided:  # p == I: cov(I, p) = var(I), mean_p = mean_I (saves two box filters)
        a = var_i / (var_i + eps)
        b = mean_i - a * mean_i
        q = box_sum(a, r)
        q *= inv_n
        q *= I
        b = box_sum(b, r)
        b *= inv_n
        q += b
        return q
    else:
        mean_p = box_sum(p, r)
        mean_p *= inv_n
        a = box_sum(I * p, r)
        a *= inv_n
        a -= mean_i * mean_p  # cov(I, p)
    var_i += eps
    a /= var_i
    mean_p -= a * mean_i  # b = mean_p - a * mean_I
    q = box_sum(a, r)
    q *= inv_n
    q *= I
    b = box_sum(mean_p, r)
    b *= inv_n
    q += b
    return q


# ------------------------------------------------------------------------------------------- resizing
def _resize_axis_weights(n_in: int, n_out: int, scale: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    # MATLAB imresize (no antialiasing): output x (1-based) maps to u = x/scale + 0.5*(1 - 1/scale);
    # out-of-range neighbours are mirrored, which for these kernels equals clamping to the edge.
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    if method == "nearest":
        idx = np.clip(np.floor(u + 0.5).astype(np.int64) - 1, 0, n_in - 1)
        return idx[:, None], np.ones((n_out, 1))
    left = np.floor(u).astype(np.int64)
    frac = u - left
    i0 = np.clip(left - 1, 0, n_in - 1)
    i1 = np.clip(left, 0, n_in - 1)
    return np.stack([i0, i1], axis=1), np.stack([1.0 - frac, frac], axis=1)


def imresize_matlab(
    img: np.ndarray,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    method: Literal["nearest", "bilinear"] = "bilinear",
) -> np.ndarray:
    """MATLAB ``imresize`` with ``'nearest'`` or ``'bilinear'`` and no antialiasing (float64 ``HxW``).

    Give ``scale`` (output size ``ceil(scale * size)``, the mapping uses ``scale`` itself) or ``size``
    ``(rows, cols)`` (each axis maps with ``out / in``). MATLAB disables antialiasing for ``'nearest'``
    and it has no effect when enlarging, which are the uses in VIFB; shrinking with ``'bilinear'`` would
    need the antialiasing kernel and is not supported here.
    """
    a = np.asarray(img, dtype=np.float64)
    h, w = a.shape[:2]
    if size is not None:
        oh, ow = int(size[0]), int(size[1])
        sy, sx = oh / h, ow / w
    elif scale is not None:
        oh, ow = int(np.ceil(scale * h)), int(np.ceil(scale * w))
        sy = sx = float(scale)
    else:
        raise ValueError("imresize_matlab: give scale or size")
    if method == "bilinear" and (sy < 1 or sx < 1):
        raise ValueError("imresize_matlab: bilinear shrinking (antialiased in MATLAB) is not supported")
    iy, wy = _resize_axis_weights(h, oh, sy, method)
    ix, wx = _resize_axis_weights(w, ow, sx, method)
    rows = (a[iy] * wy.reshape(wy.shape + (1,) * (a.ndim - 1))).sum(axis=1)
    out = (rows[:, ix] * wx.reshape((1,) + wx.shape + (1,) * (a.ndim - 2))).sum(axis=2)
    return out


# ------------------------------------------------------------------------------------------- misc
def medfilt2_3x3(img: np.ndarray) -> np.ndarray:
    """MATLAB ``medfilt2(I, [3 3])`` (zero padding); ``img`` on any scale, returns float64.

    Exact for 8-bit levels (float32 holds them exactly, and OpenCV's 3x3 median is a sorting network).
    """
    a = np.asarray(img, dtype=np.float32)
    p = np.pad(a, 1, mode="constant")
    return cv2.medianBlur(p, 3)[1:-1, 1:-1].astype(np.float64)


def jpeg_roundtrip(img_u8: np.ndarray, quality: int = 75) -> np.ndarray:
    """Encode 8-bit ``HxW`` or ``HxWx3`` (RGB) as JPEG and decode it again (MATLAB ``imwrite`` + ``imread``).

    MATLAB's ``imwrite`` writes baseline JPEG, quality 75, 4:2:0 chroma by default (libjpeg); Pillow with
    the same settings writes the same quantisation tables. Some VIFB scripts pass inputs through this.
    """
    import io

    from PIL import Image

    a = np.asarray(img_u8, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=quality, subsampling=2)
    buf.seek(0)
    return np.asarray(Image.open(buf)).copy()


def guided_filter_f32(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """:func:`guided_filter` computed in float32 (same formula and clipped-window means), ~3x faster.

    For repeated filtering of ``HxWxC`` stacks (rolling guidance). On [0, 1] data with ``eps >= 1e-4`` it
    agrees with the float64 version to ~1e-6. Returns float32.
    """
    I = np.asarray(guide, dtype=np.float32)
    p = np.asarray(src, dtype=np.float32)
    k = (2 * r + 1, 2 * r + 1)
    h, w = I.shape[:2]
    # OpenCV's normalised box divides by the full window area; only the border strips (where the window
    # is clipped) need the correction area / count.
    corr = (_inv_box_count(h, w, r) * float(k[0] * k[1])).astype(np.float32)
    if I.ndim == 3:
        corr = corr[..., None]
    strips = 2 * r < min(h, w)

    def mean(x: np.ndarray) -> np.ndarray:
        m = cv2.boxFilter(x, cv2.CV_32F, k, normalize=True, borderType=cv2.BORDER_CONSTANT)
        if m.ndim < x.ndim:
            m = m.reshape(x.shape)
        if not strips:  # windows clipped almost everywhere
            m *= corr
            return m
        m[:r] *= corr[:r]
        m[h - r:] *= corr[h - r:]
        m[r:h - r, :r] *= corr[r:h - r, :r]
        m[r:h - r, w - r:] *= corr[r:h - r, w - r:]
        return m

    mean_i = mean(I)
    mean_p = mean(p)
    a = mean(I * p)
    a -= mean_i * mean_p  # cov(I, p)
    var_i = mean(I * I)
    var_i -= mean_i * mean_i
    var_i += np.float32(eps)
    a /= var_i
    mean_p -= a * mean_i  # b
    q = mean(a)
    q *= I
    q += mean(mean_p)
    return q
