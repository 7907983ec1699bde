"""The ``cddfuse`` profile (default): MMIF-CDDFuse ``utils/Evaluator.py`` as run by its ``test_IVF.py``.

Reference: Zhao et al., CDDFuse (CVPR 2023), https://github.com/Zhaozixiang1228/MMIF-CDDFuse. The
evaluator most recent IVIF papers copy. Facts reproduced here (read from the reference, code our own):

* Images: ``cv2.imread(path)`` (BGR, 8 bit) -> float32 -> ``cvtColor(BGR2GRAY)`` -> ``np.round``, so every
  metric sees float32 arrays of integer grey levels 0..255.
* Every metric is called as ``Evaluator.X(fused, ir, vi)``; metrics of one image use only ``fused``.
* Arithmetic is float32 wherever the reference's is (EN, SD, SF, AG, MSE, CC, PSNR, SCD, Qabf, SSIM) and
  float64 where SciPy promotes it (VIF through ``convolve2d`` with a float64 window; MI via scikit-learn).
* MI: ``sklearn.metrics.mutual_info_score`` (natural log, nats), MI(F, IR) + MI(F, VI).
* PSNR: peak ``max(F)`` (not 255), MSE averaged over the two sources.
* VIF: 4-scale VIF-P with 'valid' filtering (MATLAB-style Gaussian ``fspecial``), VIF(IR, F) + VIF(VI, F).
* SSIM: scikit-image 0.19 ``structural_similarity(F, X)`` with defaults on float32 input: 7x7 uniform
  window (``reflect`` borders), sample covariance, K1 = 0.01, K2 = 0.03, **data range 2** (taken from the
  float dtype), mean over the map cropped by 3 pixels; SSIM(F, IR) + SSIM(F, VI).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.ndimage import uniform_filter

from ..errors import ImageReadError
from ._pyref import check_pair, mutual_info_nats, qabf_edges, qabf_q, to_levels8, vifp_scale_sums
from .profiles import MetricDef, Profile, register_profile



# ------------------------------------------------------------------------------------------- loading
def _gray_levels_from_bgr(bgr_u8: np.ndarray) -> np.ndarray:
    # The reference converts the *float32* BGR image (OpenCV's float path, 0.299/0.587/0.114) and rounds.
    return np.round(cv2.cvtColor(bgr_u8.astype(np.float32), cv2.COLOR_BGR2GRAY))


def load(x: Any, role: str = "image") -> np.ndarray:
    """Read ``x`` as the reference does: float32 ``HxW`` array of rounded grey levels 0..255.

    Paths go through ``cv2.imread`` (colour, BGR) exactly as ``image_read_cv2(path, 'GRAY')``. Arrays
    (uint8, or float in [0, 1], gray or RGB) are first quantised to 8-bit levels (as an 8-bit PNG would
    store them) and then converted with the same float32 ``BGR2GRAY`` + round.
    """
    if isinstance(x, (str, os.PathLike)):
        p = Path(x)
        if not p.is_file():
            raise ImageReadError(f"{p}: file not found ({role} image); check the path")
        img = cv2.imread(str(p))
        if img is None:
            raise ImageReadError(f"{p}: OpenCV cannot decode this {role} image; re-export it as PNG/JPEG")
        return _gray_levels_from_bgr(img)
    lv = to_levels8(x, name=role)
    bgr = np.repeat(lv[..., None], 3, axis=2) if lv.ndim == 2 else np.ascontiguousarray(lv[..., ::-1])
    return _gray_levels_from_bgr(bgr)


# ------------------------------------------------------------------------------------------ metrics
def en(img: np.ndarray) -> float:
    """Shannon entropy of the 8-bit histogram of F (bits, 0..8)."""
    h = np.bincount(np.round(img).astype(np.uint8).ravel()) / img.size
    return float(-np.sum(h * np.log2(h + (h == 0))))


def sd(img: np.ndarray) -> float:
    """Standard deviation of F (grey levels, float32 ``np.std``)."""
    return float(np.std(img))


def sf(img: np.ndarray) -> float:
    """Spatial frequency sqrt(mean(dx^2) + mean(dy^2)) of F (grey levels)."""
    return float(np.sqrt(np.mean((img[:, 1:] - img[:, :-1]) ** 2) + np.mean((img[1:, :] - img[:-1, :]) ** 2)))


def ag(img: np.ndarray) -> float:
    """Average gradient mean(sqrt((gx^2 + gy^2) / 2)) with central differences (one-sided at borders)."""
    gy, gx = np.gradient(img)  # float32, identical to the reference's explicit differences
    return float(np.mean(np.sqrt((gx**2 + gy**2) / 2)))


def _levels_int(img: np.ndarray) -> np.ndarray:
    return img.astype(np.int64)


def mi(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """MI(F, IR) + MI(F, VI) in nats (``sklearn.metrics.mutual_info_score`` on grey levels)."""
    fl = _levels_int(f)
    return mutual_info_nats(fl, _levels_int(ir)) + mutual_info_nats(fl, _levels_int(vi))


def _mse32(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> np.float32:
    return (np.mean((ir - f) ** 2) + np.mean((vi - f) ** 2)) / 2


def mse(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """(MSE(IR, F) + MSE(VI, F)) / 2 on grey levels (0..65025)."""
    return float(_mse32(ir, vi, f))


def _corr32(x: np.ndarray, y: np.ndarray) -> np.float32:
    # Pearson correlation with the reference's float32 order of operations.
    dx = x - np.mean(x)
    dy = y - np.mean(y)
    return np.sum(dx * dy) / np.sqrt(np.sum(dx**2) * np.sum(dy**2))


def cc(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """(corr(IR, F) + corr(VI, F)) / 2, Pearson correlation (-1..1)."""
    return float((_corr32(ir, f) + _corr32(vi, f)) / 2)


def psnr(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """10 log10(max(F)^2 / MSE) in dB, MSE as in :func:`mse` (peak = max of F, not 255)."""
    return float(10 * np.log10(np.max(f) ** 2 / _mse32(ir, vi, f)))


def scd(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Sum of correlations of differences corr(IR, F - VI) + corr(VI, F - IR) (-2..2)."""
    return float(_corr32(ir, f - vi) + _corr32(vi, f - ir))


def _matlab_gauss_1d(n: int) -> np.ndarray:
    # fspecial('gaussian', n, n/5) is separable; its 2-D normalisation equals the outer product of the
    # normalised 1-D profiles (no entry falls below eps*max for n <= 17).
    sd_ = n / 5.0
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sd_ * sd_))
    return g / g.sum()


def vifp_valid_pair(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """4-scale pixel-domain VIF of F against IR and against VI, 'valid' Gaussian filtering, float64.

    Scale s = 1..4 uses an N = 2^(5-s)+1 Gaussian window (sigma N/5); before scales 2..4 the images are
    filtered and subsampled by 2. Each value is num/den (1.0 if that is NaN, as the reference).
    """
    wins = [_matlab_gauss_1d(2 ** (5 - s) + 1) for s in range(1, 5)]
    f64 = [z.astype(np.float64) for z in (ir, vi, f)]
    sums = vifp_scale_sums(f64[:2], f64[2], wins, "valid", lambda m: float(np.sum(m)))
    vals = []
    for per_scale in sums:
        num = sum(n for n, _ in per_scale)
        den = sum(d for _, d in per_scale)
        v = num / den if den != 0 else float("nan")
        vals.append(1.0 if np.isnan(v) else v)
    return vals[0], vals[1]


def vif(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """VIF(IR, F) + VIF(VI, F), 4-scale VIF-P ('valid' borders); unitless, about 0..2."""
    va, vb = vifp_valid_pair(ir, vi, f)
    return va + vb


def qabf(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Q^{AB/F} edge-information preservation (0..1), float32 as the reference."""
    ga, aa = qabf_edges(ir, np.float32)
    gb, ab = qabf_edges(vi, np.float32)
    gf, af = qabf_edges(f, np.float32)
    qa = qabf_q(ga, aa, gf, af)
    qb = qabf_q(gb, ab, gf, af)
    return float(np.sum(qa * ga + qb * gb) / np.sum(ga + gb))


def _uniform_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return uniform_filter(x, size=7), uniform_filter(x * x, size=7)


def ssim_skimage019(x: np.ndarray, y: np.ndarray, data_range: float = 2.0, x_stats=None) -> float:
    """scikit-image 0.19 ``structural_similarity(x, y)`` defaults on float32 data (7x7 uniform window via
    ``scipy.ndimage.uniform_filter``, sample covariance, K1 0.01, K2 0.03, ``reflect`` borders, 3-pixel
    crop, float64 mean), with ``data_range``; ``x_stats`` caches ``_uniform_stats(x)``."""
    x = x.astype(np.float32, copy=False)
    y = y.astype(np.float32, copy=False)
    if min(x.shape) < 7:
        from ..errors import MetricError

        raise MetricError(f"SSIM needs images of at least 7x7 pixels, got {x.shape[1]}x{x.shape[0]}")
    ux, uxx = x_stats if x_stats is not None else _uniform_stats(x)
    uy, uyy = _uniform_stats(y)
    uxy = uniform_filter(x * y, size=7)
    cov = 49 / 48
    vx = cov * (uxx - ux * ux)
    vy = cov * (uyy - uy * uy)
    vxy = cov * (uxy - ux * uy)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    a1, a2 = 2 * ux * uy + c1, 2 * vxy + c2
    b1, b2 = ux**2 + uy**2 + c1, vx + vy + c2
    s = (a1 * a2) / (b1 * b2)
    return float(s[3:-3, 3:-3].mean(dtype=np.float64))


def ssim(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """SSIM(F, IR) + SSIM(F, VI), scikit-image 0.19 defaults with data range 2 (about -2..2)."""
    f32 = f.astype(np.float32, copy=False)
    st = _uniform_stats(f32) if min(f.shape) >= 7 else None
    return ssim_skimage019(f32, ir, x_stats=st) + ssim_skimage019(f32, vi, x_stats=st)


# ------------------------------------------------------------------------------------------ profile
def _fused_only(fn):
    def run(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
        return fn(f)

    run.__doc__ = fn.__doc__
    return run


def _checked(fn):
    def run(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
        check_pair(ir, vi, f)
        return fn(ir, vi, f)

    run.__doc__ = fn.__doc__
    return run


_DEFS = [
    MetricDef("EN", _fused_only(en), True, "EN", "entropy of F, bits (0..8)", ("fused",)),
    MetricDef("SD", _fused_only(sd), True, "SD", "standard deviation of F, grey levels (0..127.5)", ("fused",)),
    MetricDef("SF", _fused_only(sf), True, "SF", "spatial frequency of F, grey levels", ("fused",)),
    MetricDef("AG", _fused_only(ag), True, "AG", "average gradient of F, grey levels per pixel", ("fused",)),
    MetricDef("MI", _checked(mi), True, "MI", "MI(F,IR)+MI(F,VI), nats (sklearn mutual_info_score)"),
    MetricDef("MSE", _checked(mse), False, "MSE", "mean of MSE(IR,F) and MSE(VI,F), squared grey levels"),
    MetricDef("CC", _checked(cc), True, "CC", "mean Pearson correlation of F with IR and VI (-1..1)"),
    MetricDef("PSNR", _checked(psnr), True, "PSNR", "10 log10(max(F)^2 / MSE), dB"),
    MetricDef("SCD", _checked(scd), True, "SCD", "sum of correlations of differences (-2..2)"),
    MetricDef("VIF", _checked(vif), True, "VIF", "VIF-P(IR,F)+VIF-P(VI,F), 4 scales, 'valid' borders"),
    MetricDef("Qabf", _checked(qabf), True, "Q_AB/F", "edge preservation Q^AB/F (0..1)"),
    MetricDef("SSIM", _checked(ssim), True, "SSIM", "SSIM(F,IR)+SSIM(F,VI), skimage 0.19, data range 2 (-2..2)"),
]

PROFILE = register_profile(
    Profile(
        name="cddfuse",
        description="MMIF-CDDFuse utils/Evaluator.py (12 metrics); cv2 BGR->GRAY float32, rounded",
        reference="https://github.com/Zhaozixiang1228/MMIF-CDDFuse (utils/Evaluator.py, test_IVF.py)",
        load=load,
        metrics={d.name: d for d in _DEFS},
        notes="MI in nats; PSNR peak max(F); SSIM with data range 2 (scikit-image 0.19 on float32).",
    )
)
