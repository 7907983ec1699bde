"""MATLAB emulation primitives shared by the ``vifb`` and ``tang`` metric profiles.

Each function reproduces one MATLAB / Image Processing Toolbox function on ``float64`` arrays (MATLAB's
``double``) or ``uint8`` arrays, vectorised with numpy/scipy. The facts they encode (padding, rounding,
normalisation, binning) were read from the MATLAB documentation and from the way the reference metric
code calls them; no MATLAB code is reproduced here.

=================  ==================================================================================
MATLAB             here
=================  ==================================================================================
``imread``         :func:`imread` (stored 8/16-bit values, gray ``HxW`` or RGB ``HxWx3``, alpha dropped)
``rgb2gray``       :func:`rgb2gray` (uint8: rounded half away from zero; double: not rounded)
``im2double``      :func:`im2double`
``filter2``        :func:`filter2` (correlation; ``'same'`` zero padding or ``'valid'``)
``conv2``          :func:`conv2` (convolution = correlation with the kernel rotated by 180 degrees)
``imfilter``       :func:`imfilter` (correlation; ``'replicate'``, ``'symmetric'`` or zero padding)
``fspecial``       :func:`fspecial_gaussian`, :data:`SOBEL`
``gradient``       :func:`gradient` (central differences inside, one-sided at the borders)
``entropy``        :func:`entropy_uint8` (256-bin ``imhist``, log2, zero bins skipped)
``freqspace``      :func:`freqspace`
``blkproc``        :func:`block_reduce` (zero-padded blocks)
``corr2``          :func:`corr2`
=================  ==================================================================================
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from typing import Any, Callable, Literal

import numpy as np
from scipy import ndimage

from ..errors import InvalidImageError, MetricError, SizeMismatchError

# rgb2gray weights: the first row of inv(YIQ->RGB), which is what MATLAB documents and uses.
RGB2GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])

#: ``fspecial('sobel')``: emphasises horizontal edges (derivative along rows).
SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


# ------------------------------------------------------------------------------------------- reading
def imread(path: "str | os.PathLike") -> np.ndarray:
    """MATLAB ``imread``: the stored values (``uint8`` or ``uint16``), ``HxW`` or ``HxWx3`` (RGB order).

    JPEGs decode with libjpeg's default (islow IDCT, fancy upsampling) exactly as MATLAB's decoder does
    (checked on the VIFB JPEGs: per-channel entropies agree with VIFB's MATLAB values to 5e-5, the
    precision the values were stored with). An alpha channel is dropped, as ``imread`` returns it as a
    separate output.
    """
    from ..io import imread_uint

    arr = imread_uint(path)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    return arr


def to_uint8(x: np.ndarray, name: str = "image") -> np.ndarray:
    """An array passed to a profile as the ``uint8`` levels MATLAB would read from an 8-bit file: ``uint8``
    unchanged; float in [0, 1] scaled by 255 and rounded half to even, as :func:`ivif.io.imwrite` stores it.

    Raises :class:`InvalidImageError` for NaN/inf, values outside [0, 1], 16-bit data, other dtypes or shapes.
    """
    from ..io import as_image

    a = np.asarray(x)
    if a.dtype == np.uint8:
        out = a
    else:
        if a.dtype == np.uint16:
            raise InvalidImageError(
                f"{name}: 16-bit data is not supported by the MATLAB reference metrics (they read 8-bit "
                "images); convert to uint8 first"
            )
        f = as_image(a, name=name)  # validates dtype, NaN, range and shape
        out = np.rint(np.clip(f.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[..., 0]
    if out.ndim not in (2, 3) or (out.ndim == 3 and out.shape[2] != 3):
        raise InvalidImageError(f"{name}: expected shape HxW or HxWx3, got {tuple(a.shape)}")
    return np.ascontiguousarray(out)


def load_uint8(x: "str | os.PathLike | np.ndarray", name: str) -> np.ndarray:
    """A path read with MATLAB ``imread`` semantics, or an array checked by :func:`to_uint8`."""
    if isinstance(x, (str, os.PathLike)):
        arr = imread(x)
        if arr.dtype != np.uint8:
            raise InvalidImageError(
                f"{x}: {arr.dtype} image; the MATLAB reference metrics are defined for 8-bit images, "
                "save it as an 8-bit PNG/JPEG"
            )
        return arr
    return to_uint8(x, name=name)


def check_sizes(ir: np.ndarray, vi: np.ndarray, fused: np.ndarray) -> None:
    """Raise :class:`SizeMismatchError` unless IR, VI and fused have the same height and width."""
    shapes = {"ir": ir.shape[:2], "vi": vi.shape[:2], "fused": fused.shape[:2]}
    if len(set(shapes.values())) != 1:
        desc = ", ".join(f"{k} {s[1]}x{s[0]}" for k, s in shapes.items())
        raise SizeMismatchError(
            f"images differ in size ({desc}, WxH); the metrics compare pixel by pixel, so pass registered "
            "images of equal size"
        )


# ------------------------------------------------------------------------------------------ colour
def rgb2gray(x: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray``: for ``uint8`` the weighted sum rounded half away from zero (``uint8``); for
    ``float64`` the weighted sum, not rounded. A 2-D input is returned unchanged."""
    if x.ndim == 2:
        return x
    v = x[..., 0] * RGB2GRAY_WEIGHTS[0] + x[..., 1] * RGB2GRAY_WEIGHTS[1] + x[..., 2] * RGB2GRAY_WEIGHTS[2]
    if x.dtype == np.uint8:
        return np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)
    return v


def im2double(x: np.ndarray) -> np.ndarray:
    """MATLAB ``im2double``: ``uint8`` / 255, ``uint16`` / 65535, floats unchanged (as float64)."""
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if x.dtype == np.uint16:
        return x.astype(np.float64) / 65535.0
    return x.astype(np.float64)


# --------------------------------------------------------------------------------------- filtering
def fspecial_gaussian(size: int, sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``: sampled Gaussian normalised to sum 1 (after zeroing
    values below ``eps * max``, which never triggers for the sizes used here)."""
    r = (size - 1) / 2.0
    x = np.arange(size, dtype=np.float64) - r
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2.0 * sigma * sigma))
    g[g < np.finfo(np.float64).eps * g.max()] = 0.0
    return g / g.sum()


_SEP_MEMO: "dict[tuple, tuple[np.ndarray, np.ndarray] | None]" = {}


def _separable(kernel: np.ndarray) -> "tuple[np.ndarray, np.ndarray] | None":
    """:func:`_separable_factors`, memoised on the kernel's bytes (the metrics use a few fixed kernels)."""
    key = (kernel.shape, kernel.tobytes())
    if key not in _SEP_MEMO:
        if len(_SEP_MEMO) > 256:
            _SEP_MEMO.clear()
        _SEP_MEMO[key] = _separable_factors(kernel)
    return _SEP_MEMO[key]


def _separable_factors(kernel: np.ndarray) -> "tuple[np.ndarray, np.ndarray] | None":
    """``(col, row)`` with ``outer(col, row) == kernel`` for a rank-1 kernel (Gaussian, Sobel), else None.

    Factors are taken from the kernel's own row and column through its largest entry, so integer kernels
    (Sobel) get exact integer factors: integer images then filter exactly, which matters where the
    reference compares filter outputs for equality (Qabf's ``gA == gF``, ``SAx == 0``).
    """
    i, j = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    row = kernel[i, :].copy()
    col = kernel[:, j] / kernel[i, j]
    if not np.allclose(np.outer(col, row), kernel, rtol=1e-12, atol=1e-15 * np.abs(kernel).max()):
        return None
    return col, row


# scipy mode -> cv2.BORDER_CONSTANT / _REPLICATE / _REFLECT / _REFLECT_101
_CV2_BORDER = {"constant": 0, "nearest": 1, "reflect": 2, "mirror": 4}


def _correlate(x: np.ndarray, kernel: np.ndarray, mode: str) -> np.ndarray:
    """Correlation with output aligned like MATLAB (kernel centre at ``floor((size+1)/2)``, 1-based).

    Odd kernels go through OpenCV (``sepFilter2D`` for rank-1 kernels such as Gaussians and Sobel,
    ``filter2D`` otherwise): float64 throughout, ~6x faster than scipy.ndimage, same values to ~1e-15
    relative. ``mode`` is scipy's name of the padding: ``constant`` (zeros), ``nearest`` (MATLAB
    'replicate'), ``reflect`` (MATLAB 'symmetric') or ``mirror`` (reflection without repeating the border).
    """
    kh, kw = kernel.shape
    x = np.ascontiguousarray(x, dtype=np.float64)
    sep = _separable(kernel)
    if kh % 2 == 1 and kw % 2 == 1 and min(x.shape) >= max(kh, kw):
        import cv2

        border = _CV2_BORDER[mode]
        if sep is not None:
            col, row = sep
            return cv2.sepFilter2D(x, cv2.CV_64F, row, col, borderType=border)
        return cv2.filter2D(x, cv2.CV_64F, np.ascontiguousarray(kernel), borderType=border)
    # scipy centres a kernel of even length one sample later than MATLAB; origin shifts it back.
    org = (-1 if kh % 2 == 0 else 0, -1 if kw % 2 == 0 else 0)
    if sep is not None:
        col, row = sep
        tmp = ndimage.correlate1d(x, col, axis=0, mode=mode, cval=0.0, origin=org[0])
        return ndimage.correlate1d(tmp, row, axis=1, mode=mode, cval=0.0, origin=org[1])
    return ndimage.correlate(x, kernel, mode=mode, cval=0.0, origin=org)


def filter2(kernel: np.ndarray, x: np.ndarray, shape: Literal["same", "valid"] = "same") -> np.ndarray:
    """MATLAB ``filter2(kernel, x, shape)``: 2-D correlation with zero padding (``'same'``) or only the
    fully overlapping part (``'valid'``, size ``(H-kh+1) x (W-kw+1)``)."""
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if shape == "same":
        return _correlate(x, kernel, "constant")
    if shape == "valid":
        kh, kw = kernel.shape
        if x.shape[0] < kh or x.shape[1] < kw:
            return np.zeros((max(x.shape[0] - kh + 1, 0), max(x.shape[1] - kw + 1, 0)))
        full = _correlate(x, kernel, "constant")
        # the valid part starts where the kernel's first row/column meets the image's first
        top, left = (kh - 1) // 2, (kw - 1) // 2
        return full[top : top + x.shape[0] - kh + 1, left : left + x.shape[1] - kw + 1]
    raise ValueError(f"filter2: unsupported shape {shape!r}")


def conv2(x: np.ndarray, kernel: np.ndarray, shape: Literal["same", "valid"] = "same") -> np.ndarray:
    """MATLAB ``conv2(x, kernel, shape)``: convolution = correlation with the kernel rotated by 180 degrees.

    For 'same' MATLAB keeps the central part of the full convolution, which for even kernel sizes is
    offset differently from ``filter2``; only odd kernels are used by the reference code.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError("conv2: only odd kernel sizes are supported")
    return filter2(kernel[::-1, ::-1], x, shape)


def imfilter(
    x: np.ndarray, kernel: np.ndarray, padding: Literal["replicate", "symmetric", "zero"] = "zero"
) -> np.ndarray:
    """MATLAB ``imfilter(x, kernel, padding)`` (default ``'corr'``, output ``'same'``) on float64 data,
    per channel for ``HxWxC``. ``'symmetric'`` mirrors including the border pixel (scipy ``'reflect'``)."""
    mode = {"replicate": "nearest", "symmetric": "reflect", "zero": "constant"}[padding]
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if x.ndim == 3:
        kh, kw = kernel.shape
        sep = _separable(kernel)
        if sep is not None and kh % 2 == 1 and kw % 2 == 1 and min(x.shape[:2]) >= max(kh, kw) and x.shape[2] <= 4:
            import cv2

            # OpenCV filters the interleaved channels in one pass, each exactly as on its own
            col, row = sep
            return cv2.sepFilter2D(np.ascontiguousarray(x), cv2.CV_64F, row, col, borderType=_CV2_BORDER[mode])
        return np.stack([_correlate(x[..., c], kernel, mode) for c in range(x.shape[2])], axis=2)
    return _correlate(x, kernel, mode)


def conv2_same_ordered(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB ``conv2(x, kernel, 'same')`` for a small kernel, accumulated in MATLAB's order: kernel elements
    in column-major order, each adding ``kernel(u, v) * x`` shifted (zero weights skipped; adding +-0
    changes nothing). On non-integer data this reproduces MATLAB's rounding bit for bit, which matters
    where the reference tests filter outputs for equality (Qabf on [0, 1] data: ``gA == gF``,
    ``SAx == 0``); checked against Tang's Qabf values on TNO to 1e-15.
    """
    x = np.asarray(x, dtype=np.float64)
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("conv2_same_ordered: only odd kernel sizes are supported")
    rh, rw = kh // 2, kw // 2
    p = np.pad(x, ((rh, rh), (rw, rw)))
    h, w = x.shape
    out = np.zeros((h, w))
    tmp = np.empty((h, w))
    for v in range(kw):  # column-major: columns outer, rows inner
        for u in range(kh):
            c = float(kernel[u, v])
            if c != 0.0:
                # out(i, j) += k(u, v) * x(i - u + rh, j - v + rw); adding 1*x or -1*x is adding or
                # subtracting x exactly, so those terms skip the product (same rounding, no temporary)
                xs = p[kh - 1 - u : kh - 1 - u + h, kw - 1 - v : kw - 1 - v + w]
                if c == 1.0:
                    out += xs
                elif c == -1.0:
                    out -= xs
                else:
                    np.multiply(xs, c, out=tmp)
                    out += tmp
    return out


#: Qabf's Sobel kernels: ``h3`` responds to change along columns (x), ``h1`` along rows (y).
QABF_H3 = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
QABF_H1 = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def sobel_xy(x: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    """``(conv2(x, h3, 'same'), conv2(x, h1, 'same'))`` with Qabf's Sobel kernels, zero padding, in
    MATLAB's accumulation order (:func:`conv2_same_ordered`)."""
    return conv2_same_ordered(x, QABF_H3), conv2_same_ordered(x, QABF_H1)


def gradient(x: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    """MATLAB ``[dzdx, dzdy] = gradient(x)`` (unit spacing): ``dzdx`` along columns, ``dzdy`` along rows."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 2 or x.shape[1] < 2:
        raise MetricError(f"gradient needs an image of at least 2x2 pixels, got {x.shape[1]}x{x.shape[0]}")
    dy, dx = np.gradient(x)
    return dx, dy


# -------------------------------------------------------------------------------------- statistics
def imhist_uint8(x: np.ndarray) -> np.ndarray:
    """256-bin histogram of ``uint8`` values (``imhist``), as float64 counts."""
    return np.bincount(np.asarray(x, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)


def entropy_from_counts(counts: np.ndarray, log=np.log2) -> float:
    """``-sum(p .* log(p))`` over the non-zero bins of a histogram."""
    c = counts[counts > 0]
    p = c / c.sum()
    return float(-(p * log(p)).sum())


def entropy_uint8(x: np.ndarray) -> float:
    """MATLAB ``entropy`` of a ``uint8`` image: 256-bin histogram, log2, zero bins skipped (bits)."""
    return entropy_from_counts(imhist_uint8(x))


def joint_hist(a: np.ndarray, b: np.ndarray, levels: int = 256) -> np.ndarray:
    """Joint histogram ``h[i, j]`` of integer images with values in ``0..levels-1``."""
    idx = a.astype(np.int64).ravel() * levels + b.astype(np.int64).ravel()
    return np.bincount(idx, minlength=levels * levels).astype(np.float64).reshape(levels, levels)


def corr2(a: np.ndarray, b: np.ndarray) -> float:
    """MATLAB ``corr2``: Pearson correlation of two equally sized 2-D arrays."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def std2_population(x: np.ndarray) -> float:
    """``sqrt(sum((x - mean)^2) / numel)``: the population standard deviation the reference codes write
    out by hand (``std2`` would divide by ``numel - 1``)."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(((x - x.mean()) ** 2).sum() / x.size))


# -------------------------------------------------------------------------------------- frequency
def freqspace(shape: "tuple[int, int]") -> "tuple[np.ndarray, np.ndarray]":
    """MATLAB ``[u, v] = freqspace([rows, cols], 'meshgrid')``: normalised frequencies
    ``((0:n-1) - floor(n/2)) * 2/n``, ``u`` varying along columns and ``v`` along rows."""
    rows, cols = shape
    fr = (np.arange(rows) - rows // 2) * (2.0 / rows)
    fc = (np.arange(cols) - cols // 2) * (2.0 / cols)
    return np.meshgrid(fc, fr)


def spectrum(x: np.ndarray) -> np.ndarray:
    """Half (real-input) 2-D spectrum of a float64 image, for :func:`apply_centered_response`."""
    from scipy import fft as sfft

    return sfft.rfft2(np.asarray(x, dtype=np.float64))


def apply_centered_response(spec: np.ndarray, response: np.ndarray, shape: "tuple[int, int]") -> np.ndarray:
    """``real(ifft2(ifftshift(fftshift(fft2(x)) .* response)))`` given ``spec = spectrum(x)`` and a
    ``response`` laid out like :func:`freqspace` (zero frequency at ``floor(n/2)``).

    The responses used by the reference codes are real and even (functions of the radial frequency on a
    grid symmetric about zero), so the exact result is real; MATLAB's ``ifft2`` returns it as real when
    the product is conjugate-symmetric. A real FFT computes the same values (to ~1e-15) at half the cost.
    """
    from scipy import fft as sfft

    h = np.fft.ifftshift(response)[:, : shape[1] // 2 + 1]
    return sfft.irfft2(spec * h, s=shape)


def filter_centered_spectrum(x: np.ndarray, response: np.ndarray) -> np.ndarray:
    """:func:`apply_centered_response` of :func:`spectrum` ``(x)``."""
    return apply_centered_response(spectrum(x), response, x.shape)


def block_reduce(x: np.ndarray, block: int, fn: Literal["sum", "mean"]) -> np.ndarray:
    """MATLAB ``blkproc(x, [block block], [0 0], f)`` for ``f = sum(sum(.))`` or ``mean2``: the image is
    zero-padded at the bottom/right to a multiple of ``block`` and ``f`` applied to every full block
    (so a ``mean`` over a partial block divides by ``block**2``)."""
    h, w = x.shape
    hb, wb = -(-h // block), -(-w // block)
    p = np.zeros((hb * block, wb * block), dtype=np.float64)
    p[:h, :w] = x
    s = p.reshape(hb, block, wb, block).sum(axis=(1, 3))
    return s / (block * block) if fn == "mean" else s


# ------------------------------------------------------------------------------- row blocks
#: Output rows per block where a metric's maps are computed block by block: a block's intermediate maps
#: then stay in the CPU caches (element-wise chains over whole images are memory-bound, ~2x slower). Each
#: map value is computed exactly as on the whole image; only the order of the final sums changes
#: (~1e-16 relative). A 'valid' filter needs ``kernel - 1`` extra input rows per block.
ROW_BLOCK = 48


def row_blocks(n_rows: int, block: int = ROW_BLOCK) -> "list[tuple[int, int]]":
    """``[(r0, r1), ...]`` covering ``0..n_rows`` in steps of ``block`` (one empty block if ``n_rows <= 0``)."""
    return [(r0, min(r0 + block, n_rows)) for r0 in range(0, n_rows, block)] or [(0, 0)]


# ------------------------------------------------------------------------------- feature cache
# Per-image features (edge maps, filtered moments, CSF-filtered spectra) keyed by the image's content.
# Evaluating many fused images against the same source pair (a benchmark grid) then analyses each
# source once; the values are unchanged. set_feature_cache(False) or $IVIF_FEATURE_CACHE=0 turns it off
# (to time cold evaluations: repeated runs on one pair would otherwise be served from the cache).
_CACHE: "OrderedDict[tuple, Any]" = OrderedDict()
_CACHE_MAX = 64
_cache_on = os.environ.get("IVIF_FEATURE_CACHE", "1") != "0"


def set_feature_cache(enabled: bool) -> None:
    """Enable or disable (and clear) the content-keyed cache of per-image features."""
    global _cache_on
    _cache_on = bool(enabled)
    _CACHE.clear()


def _digest(x: np.ndarray) -> tuple:
    xc = np.ascontiguousarray(x)
    return (xc.shape, xc.dtype.str, hashlib.blake2b(xc.data, digest_size=16).digest())


def cached_feature(name: str, x: np.ndarray, fn: "Callable[[np.ndarray], Any]") -> Any:
    """``fn(x)``, memoised on ``(name, shape, dtype, blake2b(x))`` in a small LRU (64 entries).

    With the cache off, ``fn(x)`` is still shared by the metrics of one evaluation
    (:func:`ivif.metrics.profiles.shared`, keyed on the array object); the content digest of an array is
    likewise computed once per evaluation."""
    from .profiles import shared

    if not _cache_on:
        return shared(name, fn, x)
    key = (name, *shared("digest", _digest, x))
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    val = fn(x)
    _CACHE[key] = val
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.popitem(last=False)
    return val


# ------------------------------------------------------------ metric kernels shared by both MATLAB codes
# VIFB's metricsQabf.m / metricsAvg_gradient.m and Tang's analysis_Qabf.m / AG_evaluation.m are the same
# two widely copied MATLAB functions; one implementation serves both profiles.
_QABF_TG, _QABF_KG, _QABF_DG = 0.9994, -15.0, 0.5
_QABF_TA, _QABF_KA, _QABF_DA = 0.9879, -22.0, 0.8


def _edge_strength_orientation(x: np.ndarray, exact_integers: bool = False) -> "tuple[np.ndarray, np.ndarray]":
    if exact_integers:
        sx, sy = filter2(QABF_H3[::-1, ::-1], x, "same"), filter2(QABF_H1[::-1, ::-1], x, "same")
    else:
        sx, sy = sobel_xy(x)
    g = np.empty_like(sx)
    a = np.empty_like(sx)
    for r0, r1 in row_blocks(sx.shape[0]):  # element-wise, block by block (cache-resident)
        x_, y_ = sx[r0:r1], sy[r0:r1]
        gb, ab = g[r0:r1], a[r0:r1]
        np.multiply(x_, x_, out=gb)
        gb += y_ * y_
        np.sqrt(gb, out=gb)
        zero = x_ == 0
        ab.fill(1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(y_, x_, out=ab, where=~zero)
        np.arctan(ab, out=ab)
        ab[zero] = np.pi / 2
    return g, a


def _edge_preservation(gS: np.ndarray, aS: np.ndarray, gF: np.ndarray, aF: np.ndarray) -> np.ndarray:
    # Relative strength: the smaller over the larger; where both are equal the code keeps gF itself
    # (0 where both vanish, gF > 0 otherwise: a quirk kept because it changes the value). Written with
    # in-place operations (same operations and order as the formula, fewer temporaries).
    G = np.minimum(gS, gF)
    np.divide(G, np.maximum(gS, gF), out=G, where=G > 0)  # min > 0 implies max > 0; min == 0 gives 0
    np.copyto(G, gF, where=gS == gF)
    G -= _QABF_DG
    G *= _QABF_KG
    np.exp(G, out=G)
    G += 1.0
    np.divide(_QABF_TG, G, out=G)  # Qg
    A = aS - aF
    np.abs(A, out=A)
    A *= 2.0 / np.pi
    np.subtract(1.0, A, out=A)
    A -= _QABF_DA
    A *= _QABF_KA
    np.exp(A, out=A)
    A += 1.0
    np.divide(_QABF_TA, A, out=A)  # Qa
    G *= A
    return G


def qabf_edges(x: np.ndarray, exact_integers: bool = False) -> "tuple[np.ndarray, np.ndarray]":
    """Sobel edge strength and orientation of one image as the MATLAB ``Qabf`` computes them.

    ``exact_integers=True`` promises integer-valued input (any summation order is then exact) and uses
    the fast separable filter instead of MATLAB's accumulation order."""
    return _edge_strength_orientation(x, exact_integers)


def qabf_from_edges(eA: tuple, eB: tuple, eF: tuple) -> float:
    """Q^AB/F from the :func:`qabf_edges` of the two sources and the fused image."""
    (gA, aA), (gB, aB), (gF, aF) = eA, eB, eF
    num = den = 0.0
    for r0, r1 in row_blocks(gF.shape[0]):  # element-wise only: blocks keep the maps in cache
        b = slice(r0, r1)
        QAF = _edge_preservation(gA[b], aA[b], gF[b], aF[b])
        QBF = _edge_preservation(gB[b], aB[b], gF[b], aF[b])
        QAF *= gA[b]
        QBF *= gB[b]
        QAF += QBF
        num += float(QAF.sum())
        den += float((gA[b] + gB[b]).sum())
    return float(num / den)


def qabf_xydeas(pA: np.ndarray, pB: np.ndarray, pF: np.ndarray) -> float:
    """Xydeas–Petrovic Q^AB/F as the widely copied MATLAB ``Qabf`` computes it (``conv2`` Sobel, ``'same'``
    zero padding, ``atan`` orientation with pi/2 where the x response is 0, Tg=0.9994 kg=-15 Dg=0.5,
    Ta=0.9879 ka=-22 Da=0.8). Inputs are float64 gray images on the scale the caller's code uses.
    Range [0, ~1]; higher is better."""
    return qabf_from_edges(qabf_edges(pA), qabf_edges(pB), qabf_edges(pF))


def avg_gradient(img: np.ndarray) -> float:
    """Average gradient as ``metricsAvg_gradient.m`` / ``AG_evaluation.m``: per band
    ``sum(sqrt((dzdx^2 + dzdy^2) / 2)) / ((r-1)(c-1))`` with MATLAB ``gradient``, averaged over bands.
    Units: grey levels per pixel on the input's scale."""
    img = np.asarray(img, dtype=np.float64)
    bands = img[..., None] if img.ndim == 2 else img
    r, c = bands.shape[:2]
    vals = []
    for k in range(bands.shape[2]):
        dx, dy = gradient(bands[..., k])
        vals.append(np.sqrt((dx * dx + dy * dy) / 2.0).sum() / ((r - 1) * (c - 1)))
    return float(np.mean(vals))
