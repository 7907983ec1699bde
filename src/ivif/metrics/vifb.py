"""The ``vifb`` metric profile: VIFB's MATLAB metrics (``xingchenzhang/VIFB``, ``metrics/metrics*.m`` driven
by ``compute_metrics.m``), reproduced to the precision of VIFB's published per-image values.

How VIFB computes (facts from its code, reproduced here):

* Images are read with ``imread``: the visible (VI) image as RGB ``uint8``; the infrared (IR) image as stored
  (gray stored as RGB stays 3-channel); the fused image as stored. Each metric is called as
  ``metricsX(VI, IR, fused)``.
* An RGB fused image is scored per channel ``k`` against ``(VI(:,:,k), IR(:,:,k))`` (or the gray IR) and
  the three values are averaged. Exceptions: ``SF`` treats the three channels as one image placed side by
  side (``[m, n] = size(fused)`` gives ``n = 3 W``), ``EI`` is the mean over all pixels of all bands, ``AG``
  the mean of per-band values.
* A gray fused image is scored once; an RGB VI is then converted with ``rgb2gray`` (rounded for ``uint8``
  inputs, unrounded where the code converted to ``double`` first: PSNR, RMSE, Qabf). VIFB's Qcb and Qcv do
  not convert and fail on that input in MATLAB; here they raise :class:`MetricError`.
* Quirks kept: PSNR and RMSE use ``sqrt(SSE) / (M N)`` as "MSE"; MI is in nats, after min–max normalising
  both images to 0..255 (``int16`` rounding); SSIM is ``SSIM(VI, F) + SSIM(IR, F)`` (range up to 2) with
  ``'valid'`` filtering; SD is the population standard deviation; Qcb/Qcv normalise each image to 0..255.

Output names are the issue's short names; VIFB's own names (``Avg_gradient``, ``Cross_entropy``, ...) are
in :data:`VIFB_NAMES`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np

from ..errors import MetricError
from . import _matlab as ml
from .profiles import MetricDef, Profile, register_profile, shared

#: short output name -> VIFB's metric (file) name, in VIFB's order of ``configMetrics``/the .mat axis.
VIFB_NAMES: dict[str, str] = {
    "CE": "Cross_entropy",
    "EN": "Entropy",
    "MI": "Mutinf",
    "PSNR": "Psnr",
    "AG": "Avg_gradient",
    "EI": "Edge_intensity",
    "Qabf": "Qabf",
    "SD": "Variance",
    "SF": "Spatial_frequency",
    "RMSE": "Rmse",
    "SSIM": "Ssim",
    "Qcb": "Qcb",
    "Qcv": "Qcv",
}


# ------------------------------------------------------------------------------------------ loading
def load(x: Any, role: str) -> np.ndarray:
    """Read a path as MATLAB ``imread`` does (``uint8``, gray ``HxW`` or RGB ``HxWx3``), or convert an array
    (``uint8``, or float in [0, 1] holding 8-bit levels) to the same representation."""
    return ml.load_uint8(x, name=role)


# ------------------------------------------------------------------------------ per-channel driver
def _per_channel(single: Callable[..., float], name: str):
    """VIFB's wrapper around a two-source metric: ``single(vi, ir, fused)`` per fused channel (against VI
    channel k and IR channel k, or the gray IR), then the mean; a gray fused image is scored once."""

    def fn(ir: np.ndarray, vi: np.ndarray, fused: np.ndarray) -> float:
        ml.check_sizes(ir, vi, fused)
        if fused.ndim == 2:
            return float(single(vi, ir, fused))
        if vi.ndim == 2:
            raise MetricError(
                f"VIFB {name}: an RGB fused image is scored per channel against the visible image's channels, "
                "but the visible image is gray (VIFB's code fails here); pass a gray fused image or an RGB "
                "visible image"
            )
        vc, fc = _channels(vi), _channels(fused)
        ic = _channels(ir) if ir.ndim == 3 else [ir] * len(fc)
        return float(np.mean([single(vc[k], ic[k], fc[k]) for k in range(len(fc))]))

    return fn


def _split(x: np.ndarray) -> "list[np.ndarray]":
    return [np.ascontiguousarray(x[..., k]) for k in range(x.shape[2])]


def _channels(x: np.ndarray) -> "list[np.ndarray]":
    """The bands of an ``HxWxC`` image as contiguous arrays, the same objects for every metric of one
    evaluation (so that per-channel intermediates are shared between metrics)."""
    return shared("vifb.channels", _split, x)


def _feature(name: str, x: np.ndarray, fn: Callable[[np.ndarray], Any]) -> Any:
    """``fn(x)`` through the content-keyed feature cache (the IR channels, equal in most VIFB pairs, and
    sources shared by many fused images are analysed once)."""
    return ml.cached_feature("vifb." + name, x, fn)


def _gray_u8(x: np.ndarray) -> np.ndarray:
    # rgb2gray on the uint8 image (rounded), as the metric functions that convert before double() do.
    return ml.rgb2gray(x) if x.ndim == 3 else x


def _as_double(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64)


def _double(x: np.ndarray) -> np.ndarray:
    """``double(x)``, converted once per evaluation (callers must not modify it in place)."""
    return shared("vifb.double", _as_double, x)


def _gray_f64(x: np.ndarray) -> np.ndarray:
    # double() first, then rgb2gray: not rounded.
    return ml.rgb2gray(x.astype(np.float64)) if x.ndim == 3 else _double(x)


def _require_2d(name: str, *imgs: np.ndarray) -> None:
    if any(i.ndim != 2 for i in imgs):
        raise MetricError(
            f"VIFB {name}: the reference code applies 2-D filters to the sources without gray conversion and "
            "fails on an RGB source when the fused image is gray; pass an RGB fused image (scored per "
            "channel) or gray sources"
        )


# ----------------------------------------------------------------------------- single-channel kernels
# Each takes (vi, ir, fused, memo): VIFB's argument order, one channel (or the gray images) at a time.
def _ce(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    hf = ml.imhist_uint8(_gray_u8(f))

    def kl(src: np.ndarray) -> float:
        hs = ml.imhist_uint8(_gray_u8(src))
        n = src.shape[0] * src.shape[1]
        p1, p2 = hs / n, hf / n
        m = (p1 != 0) & (p2 != 0)
        return float((p1[m] * np.log2(p1[m] / p2[m])).sum())

    return (kl(vi) + kl(ir)) / 2.0


def _en(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    return ml.entropy_uint8(_gray_u8(f))


def _mi_levels(x: np.ndarray) -> np.ndarray:
    """mutinf's normalisation: min–max to [0, 1], then ``int16(x * 255)`` (round half away from zero)."""
    x = _gray_u8(x)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.zeros(x.shape, dtype=np.int64)
    if x.dtype == np.uint8:
        # the same formula on the 256 possible values, then looked up (identical, one pass over the image)
        lut = np.floor((np.arange(256, dtype=np.float64) - lo) / (hi - lo) * 255.0 + 0.5).astype(np.int64)
        return lut[x]
    x = x.astype(np.float64)
    return np.floor((x - lo) / (hi - lo) * 255.0 + 0.5).astype(np.int64)


def _mutinf(la: np.ndarray, lb: np.ndarray) -> float:
    """Mutual information in nats of two level images (0..255) from their joint histogram."""
    h = ml.joint_hist(la, lb)
    ha, hb = h.sum(axis=1), h.sum(axis=0)
    ent = ml.entropy_from_counts
    return ent(ha, np.log) + ent(hb, np.log) - ent(h, np.log)


def _mi(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    lf = _feature("mi", f, _mi_levels)
    return _mutinf(_feature("mi", vi, _mi_levels), lf) + _mutinf(_feature("mi", ir, _mi_levels), lf)


def _sse_root(a: np.ndarray, b: np.ndarray) -> float:
    if a.dtype == np.uint8 and b.dtype == np.uint8 and a.ndim == 2 and b.ndim == 2:
        # integer levels: the sum of squared differences is an exact integer (< 2^53), in any order
        d = a.astype(np.int32) - b
        return float(np.sqrt(float(np.sum(d * d, dtype=np.int64))) / d.size)
    d = _gray_f64(a) - _gray_f64(b)
    return float(np.sqrt((d * d).sum()) / d.size)


def _sqrt_sse_over_n(a: np.ndarray, b: np.ndarray) -> float:
    # VIFB's "mse": sqrt(sum of squared errors) / (M N); PSNR and RMSE share it within an evaluation
    return shared("vifb.sse", _sse_root, a, b)


def _psnr(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    mes = (_sqrt_sse_over_n(vi, f) + _sqrt_sse_over_n(ir, f)) / 2.0
    with np.errstate(divide="ignore"):
        return float(20.0 * np.log10(255.0 / np.sqrt(mes)))


def _rmse(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    return (_sqrt_sse_over_n(vi, f) + _sqrt_sse_over_n(ir, f)) / 2.0


def _qabf_edges(x: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    # double() then rgb2gray (unrounded), then 255 * im2double(double) = 255 x: every image is on a
    # 0..65025 scale. Only the gA == gF branch of Qabf is scale dependent, but it is kept exact.
    # A 2-D uint8 image stays integer-valued, so any summation order is exact (fast filter); an RGB
    # source converted in double needs MATLAB's conv2 rounding order.
    return ml.qabf_edges(255.0 * _gray_f64(x), exact_integers=x.ndim == 2)


def _qabf(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    e = [_feature("qabf", x, _qabf_edges) for x in (vi, ir, f)]
    return ml.qabf_from_edges(*e)


def _sd(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    return ml.std2_population(_gray_u8(f))


_SSIM_WIN = ml.fspecial_gaussian(11, 1.5)
_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2


def _ssim_moments(x: np.ndarray) -> "tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]":
    """The image as double, its Gaussian-weighted mean, squared mean and variance over the 'valid' region."""
    a = _double(_gray_u8(x))
    if min(a.shape) < 11:
        raise MetricError(f"VIFB SSIM needs images of at least 11x11 pixels, got {a.shape[1]}x{a.shape[0]}")
    mu = ml.filter2(_SSIM_WIN, a, "valid")
    mu2 = mu * mu
    return a, mu, mu2, ml.filter2(_SSIM_WIN, a * a, "valid") - mu2


def _ssim_pair(ma: tuple, mb: tuple) -> float:
    # ((2 ua ub + C1)(2 sab + C2)) / ((ua^2 + ub^2 + C1)(sa + sb + C2)), in place, in blocks of output rows
    # (the 'valid' filter of a block needs 10 more input rows; values as on the whole image)
    a, ua, ua2, siga = ma
    b, ub, ub2, sigb = mb
    total = 0.0
    for r0, r1 in ml.row_blocks(ua.shape[0]):
        o = slice(r0, r1)
        num = ua[o] * ub[o]
        sab = ml.filter2(_SSIM_WIN, a[r0 : r1 + 10] * b[r0 : r1 + 10], "valid")
        sab -= num
        num *= 2
        num += _SSIM_C1
        sab *= 2
        sab += _SSIM_C2
        num *= sab
        den = ua2[o] + ub2[o]
        den += _SSIM_C1
        sab = siga[o] + sigb[o]
        sab += _SSIM_C2
        den *= sab
        num /= den
        total += float(num.sum())
    return total / ua.size


def _ssim(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    mv, mi, mf = (_feature("ssim", x, _ssim_moments) for x in (vi, ir, f))
    return _ssim_pair(mv, mf) + _ssim_pair(mi, mf)


def _normalize1(x: np.ndarray) -> np.ndarray:
    """Z. Liu's ``normalize1``: min–max to 0..255, rounded (unchanged if the image is all zero)."""
    x = x.astype(np.float64)
    hi, lo = x.max(), x.min()
    if hi == 0 and lo == 0:
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor((x - lo) / (hi - lo) * 255.0 + 0.5)


def _normalized(x: np.ndarray) -> np.ndarray:
    """``normalize1(x)`` through the feature cache (Qcb and Qcv use the same normalised image)."""
    return _feature("normalize1", x, _normalize1)


def _normalized_spectrum(x: np.ndarray) -> np.ndarray:
    """Half spectrum of ``normalize1(x)``; Qcb and Qcv filter the same normalised image."""
    return ml.spectrum(_normalized(x))


# Chen–Blum constants (metricChenBlum.m as integrated in VIFB)
_CB_F0, _CB_F1, _CB_A = 15.3870, 1.3456, 0.7622
_CB_Z = 0.0001  # with k = h = 1, p = 3, q = 2


def _cb_gauss(sigma: float) -> np.ndarray:
    # 31x31 Gaussian, NOT normalised to sum 1 (the code divides by 2 pi sigma^2 only)
    x = np.arange(-15, 16, dtype=np.float64)
    return np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma * sigma)) / (2 * np.pi * sigma * sigma)


_CB_G1, _CB_G2 = _cb_gauss(2.0), _cb_gauss(4.0)


@lru_cache(maxsize=8)
def _cb_csf(shape: "tuple[int, int]") -> np.ndarray:
    """The DoG contrast sensitivity response on ``freqspace`` (scaled by size/30)."""
    hang, lie = shape
    u, v = ml.freqspace((hang, lie))
    u, v = (lie / 30.0) * u, (hang / 30.0) * v
    r = np.sqrt(u * u + v * v)
    return np.exp(-((r / _CB_F0) ** 2)) - _CB_A * np.exp(-((r / _CB_F1) ** 2))


def _cb_contrast(x: np.ndarray) -> np.ndarray:
    """Masked local contrast C^p / (C^q + Z) of the normalised, CSF-filtered image."""
    _require_2d("Qcb", x)
    y = ml.apply_centered_response(_feature("nspec", x, _normalized_spectrum), _cb_csf(x.shape), x.shape)
    c = ml.filter2(_CB_G1, y, "same")
    d = ml.filter2(_CB_G2, y, "same")
    for r0, r1 in ml.row_blocks(c.shape[0]):  # element-wise, in place, block by block (cache-resident)
        cb = c[r0:r1]
        with np.errstate(divide="ignore", invalid="ignore"):
            cb /= d[r0:r1]
        cb -= 1.0
        np.abs(cb, out=cb)
        c2 = cb * cb  # C^p / (C^q + Z) with p = 3, q = 2, written as products (np.power is slow)
        cb *= c2
        c2 += _CB_Z
        cb /= c2
    return c


def _qcb(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    c1, c2, cf = (_feature("qcb", x, _cb_contrast) for x in (vi, ir, f))
    # lam1 q1 + lam2 q2 with lam_i = s_i / (s1 + s2), s_i = c_i^2 and q_i = min(c_i, cf) / max(c_i, cf)
    # (= c_i/cf if c_i < cf else cf/c_i, NaN where both are 0 as there); block by block (cache-resident)
    total = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for r0, r1 in ml.row_blocks(cf.shape[0]):
            a, b, g = c1[r0:r1], c2[r0:r1], cf[r0:r1]
            s1, s2 = a * a, b * b
            den = s1 + s2
            q = np.minimum(a, g)
            q /= np.maximum(a, g)
            s1 /= den
            s1 *= q
            np.minimum(b, g, out=q)
            q /= np.maximum(b, g)
            s2 /= den
            s2 *= q
            s1 += s2
            total += float(s1.sum())
    return total / cf.size


_CV_WIN = 16
_CV_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


@lru_cache(maxsize=8)
def _cv_csf(shape: "tuple[int, int]") -> np.ndarray:
    """Mannos–Sakrison CSF on ``freqspace`` scaled by size/8 (the filter the code uses; its Daly and
    Ahumada alternatives are computed there but unused)."""
    hang, lie = shape
    u, v = ml.freqspace((hang, lie))
    u, v = (lie / 8.0) * u, (hang / 8.0) * v
    r = np.sqrt(u * u + v * v)
    return 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))


def _blockwise(make: Callable[[int, int], np.ndarray], n_rows: int, fn: str) -> np.ndarray:
    """``block_reduce(map, 16, fn)`` of a map produced in row tiles ``make(r0, r1)`` (tiles of 3 x 16
    rows, so every 16x16 block lies in one tile and is reduced as on the whole map; cache-resident)."""
    tile = 3 * _CV_WIN
    return np.concatenate([ml.block_reduce(make(r0, r1), _CV_WIN, fn) for r0, r1 in ml.row_blocks(n_rows, tile)])


def _cv_features(x: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    """Block saliency sum(G^5) over 16x16 blocks, and the CSF-filtered normalised image."""
    _require_2d("Qcv", x)
    n = _normalized(x)
    gx = ml.filter2(_CV_SOBEL_X, n, "same")
    gy = ml.filter2(_CV_SOBEL_X.T, n, "same")

    def saliency(r0: int, r1: int) -> np.ndarray:
        a, b = gx[r0:r1], gy[r0:r1]
        g2 = a * a + b * b
        return g2 * g2 * np.sqrt(g2)  # G^alpha, alpha = 5

    lam = _blockwise(saliency, x.shape[0], "sum")
    # the CSF filter is linear: filter(im - fused) = filter(im) - filter(fused)
    return lam, ml.apply_centered_response(_feature("nspec", x, _normalized_spectrum), _cv_csf(x.shape), x.shape)


def _qcv(vi: np.ndarray, ir: np.ndarray, f: np.ndarray) -> float:
    (lam1, y1), (lam2, y2), (_, yf) = (_feature("qcv", x, _cv_features) for x in (vi, ir, f))
    d1 = _blockwise(lambda r0, r1: (y1[r0:r1] - yf[r0:r1]) ** 2, yf.shape[0], "mean")
    d2 = _blockwise(lambda r0, r1: (y2[r0:r1] - yf[r0:r1]) ** 2, yf.shape[0], "mean")
    return float((lam1 * d1 + lam2 * d2).sum() / (lam1 + lam2).sum())


# ----------------------------------------------------------------------------------- fused-only metrics
def _ag(ir: np.ndarray, vi: np.ndarray, fused: np.ndarray) -> float:
    return ml.avg_gradient(fused)


def _ei(ir: np.ndarray, vi: np.ndarray, fused: np.ndarray) -> float:
    f = fused.astype(np.float64)
    gx = ml.imfilter(f, ml.SOBEL, "replicate")
    gy = ml.imfilter(f, ml.SOBEL.T, "replicate")
    return float(np.sqrt(gx * gx + gy * gy).mean())


def _sf(ir: np.ndarray, vi: np.ndarray, fused: np.ndarray) -> float:
    # integer levels: the sums of squared differences are exact integers (< 2^53) in any order
    f = fused.astype(np.int32)
    if f.ndim == 3:
        # MATLAB's 2-D indexing of an HxWx3 array walks the channels side by side: H x 3W
        f = np.concatenate([f[..., k] for k in range(f.shape[2])], axis=1)
    m, n = f.shape
    d = np.diff(f, axis=1)
    rf = float(np.sum(d * d, dtype=np.int64)) / (m * n)
    d = np.diff(f, axis=0)
    cf = float(np.sum(d * d, dtype=np.int64)) / (m * n)
    return float(np.sqrt(rf + cf))


def _fused_only(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], float]):
    def wrapped(ir: np.ndarray, vi: np.ndarray, fused: np.ndarray) -> float:
        ml.check_sizes(ir, vi, fused)
        return fn(ir, vi, fused)

    return wrapped


# ------------------------------------------------------------------------------------------ profile
_DEFS = [
    MetricDef("CE", _per_channel(_ce, "CE"), False, "CE", "cross entropy (VI,F)+(IR,F) halves, bits; lower is better"),
    MetricDef("EN", _per_channel(_en, "EN"), True, "EN", "entropy of the fused image, bits (0..8)", ("fused",)),
    MetricDef("MI", _per_channel(_mi, "MI"), True, "MI", "MI(VI,F) + MI(IR,F) in nats, after min-max normalisation"),
    MetricDef("PSNR", _per_channel(_psnr, "PSNR"), True, "PSNR", "dB, 20 log10(255 / sqrt(mean of sqrt(SSE)/(MN)))"),
    MetricDef("AG", _fused_only(_ag), True, "AG", "average gradient, grey levels per pixel", ("fused",)),
    MetricDef("EI", _fused_only(_ei), True, "EI", "edge intensity: mean Sobel magnitude, grey levels", ("fused",)),
    MetricDef("Qabf", _per_channel(_qabf, "Qabf"), True, "Q_AB/F", "Xydeas-Petrovic edge preservation, 0..1"),
    MetricDef("SD", _per_channel(_sd, "SD"), True, "SD", "population standard deviation of F, grey levels", ("fused",)),
    MetricDef("SF", _fused_only(_sf), True, "SF", "spatial frequency (RGB: channels side by side)", ("fused",)),
    MetricDef("RMSE", _per_channel(_rmse, "RMSE"), False, "RMSE", "mean of sqrt(SSE)/(MN) to VI and IR; lower better"),
    MetricDef("SSIM", _per_channel(_ssim, "SSIM"), True, "SSIM", "SSIM(VI,F) + SSIM(IR,F), 0..2"),
    MetricDef("Qcb", _per_channel(_qcb, "Qcb"), True, "Q_CB", "Chen-Blum perceptual quality, 0..1"),
    MetricDef("Qcv", _per_channel(_qcv, "Qcv"), False, "Q_CV", "Chen-Varshney CSF-filtered error; lower is better"),
]

PROFILE = register_profile(
    Profile(
        name="vifb",
        description="VIFB's MATLAB metrics (13), RGB fused images scored per channel and averaged",
        reference="xingchenzhang/VIFB metrics/metrics*.m + compute_metrics.m",
        load=load,
        metrics={d.name: d for d in _DEFS},
        notes=(
            "PSNR/RMSE use sqrt(SSE)/(M N) as MSE; MI in nats after min-max normalisation; SSIM is the sum "
            "of two SSIMs; SF of an RGB image is computed on its channels side by side."
        ),
    )
)
