"""Feature mutual information (FMI) as Linfeng Tang's evaluation computes it: Haghighat's Fast-FMI
(``analysis_fmi.m``, Haghighat & Razian 2014) over 3x3 sliding windows of feature images.

``analysis_Reference.m`` calls it three times: ``FMI_pixel`` with the default ``'edge'`` feature
(MATLAB ``edge(I)``), ``FMI_dct`` with ``dct2`` coefficients and ``FMI_w`` with the discrete Meyer wavelet.
This module holds the window machinery and the feature extractors; :mod:`.tang` registers the metrics
listed in :data:`TANG_FMI`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import MetricError
from . import _matlab as ml


def _f255(x: np.ndarray) -> np.ndarray:
    return ml.im2double(x) * 255.0


def _check_window_fits(x: np.ndarray) -> None:
    if x.ndim != 2 or min(x.shape) < 3:
        raise MetricError(f"FMI needs feature images of at least 3x3 pixels (3x3 sliding windows); got shape "
                          f"{x.shape}: use larger images")


def _windows_colmajor(x: np.ndarray, w: int = 3) -> np.ndarray:
    """All w x w windows of ``x`` (valid positions, row-major order of their centres), each flattened
    column-major like MATLAB's ``sub(:)``: shape ``(N, w*w)``."""
    v = np.lib.stride_tricks.sliding_window_view(x, (w, w))  # (H-w+1, W-w+1, w, w)
    return v.transpose(0, 1, 3, 2).reshape(-1, w * w)


def _minmax_rows(s: np.ndarray) -> np.ndarray:
    lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
    flat = (hi == lo)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (s - lo) / (hi - lo)
    out[flat] = 1.0
    return out


def _pdf_stats(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-window marginal PDF, CDF, centred PDF, population SD of the index and entropy (bits) of
    min-max normalised window rows ``x`` (as ``analysis_fmi`` computes them)."""
    p = x / x.sum(axis=1, keepdims=True)
    cdf = np.cumsum(p, axis=1)
    centred = p - p.mean(axis=1, keepdims=True)
    idx = np.arange(1, p.shape[1] + 1, dtype=np.float64)
    sd = np.sqrt(np.maximum(p @ (idx * idx) - (p @ idx) ** 2, 0))
    ent = -(p * np.log2(np.where(p > 0, p, 1.0))).sum(axis=1)
    return p, cdf, centred, sd, ent


def _fmi_pair(src: np.ndarray, fstats: tuple[np.ndarray, ...], equal: np.ndarray) -> np.ndarray:
    """Haghighat's per-window normalised feature MI between source windows ``src`` (raw) and the
    normalised fused windows (their :func:`_pdf_stats`); 1 where ``equal`` (the ``aSub == fSub`` shortcut).

    The joint PDF is Nelsen's mixture ``k * C + (1 - k) * fP aP'`` of the Frechet bound copula ``C`` (upper,
    ``min(F_i, A_j)``; lower, ``max(F_i + A_j - 1, 0)``, when the PDFs correlate negatively) and independence;
    the cell masses of ``C`` are its second differences. Entries of the joint PDF that come out negative
    contribute ``real(-p log2 p) = -p log2 |p|`` as in MATLAB.
    """
    aP, aC, aT, aSd, aE = _pdf_stats(_minmax_rows(src))
    fP, fC, fT, fSd, fE = fstats
    s = (aT * fT).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(s == 0, 0.0, s / np.sqrt((aT * aT).sum(axis=1) * (fT * fT).sum(axis=1)))
    neg = c < 0
    bound = np.minimum(fC[:, :, None], aC[:, None, :])
    if neg.any():
        bound[neg] = np.maximum(fC[neg][:, :, None] + aC[neg][:, None, :] - 1.0, 0.0)
    cov = bound.sum(axis=(1, 2)) - fC.sum(axis=1) * aC.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = c / (cov / (fSd * aSd))
    k = np.where((aSd == 0) | (fSd == 0) | ((c == 0) & ~neg), 0.0, k)
    # cell masses of the bound copula: second difference with a zero boundary (in place)
    rows = np.empty_like(bound)
    rows[:, 0] = bound[:, 0]
    np.subtract(bound[:, 1:], bound[:, :-1], out=rows[:, 1:])
    cell = bound  # bound is no longer needed: reuse its memory
    cell[:, :, 0] = rows[:, :, 0]
    np.subtract(rows[:, :, 1:], rows[:, :, :-1], out=cell[:, :, 1:])
    cell *= k[:, None, None]
    cell += ((1.0 - k)[:, None] * fP)[:, :, None] * aP[:, None, :]
    # -p log2|p| summed; zero cells contribute 0 (the reference skips them)
    lg = np.abs(cell)
    np.maximum(lg, 1e-300, out=lg)
    np.log2(lg, out=lg)
    joint = -np.einsum("nij,nij->n", cell, lg)
    mi = aE + fE - joint
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(mi == 0, 0.0, 2 * mi / (aE + fE))
    return np.where(equal, 1.0, out)


def _fmi_windows(A: np.ndarray, B: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Per-window ``(FMI(a, f) + FMI(b, f)) / 2`` for window rows ``A, B, F`` of shape ``(N, 9)``."""
    eq_a = np.all(A == F, axis=1)
    fn = _minmax_rows(F)
    fstats = _pdf_stats(fn)
    # the reference normalises fSub in place only when aSub ~= fSub; its bSub == fSub test then
    # compares the raw bSub with the normalised fSub
    eq_b = np.all(B == np.where(eq_a[:, None], F, fn), axis=1)
    return (_fmi_pair(A, fstats, eq_a) + _fmi_pair(B, fstats, eq_b)) / 2


def fmi_features(a: np.ndarray, b: np.ndarray, f: np.ndarray, chunk: int = 8192) -> float:
    """``analysis_fmi`` on precomputed feature images: mean over 3x3 windows of
    (FMI(a, f) + FMI(b, f)) / 2 (Fast-FMI, Haghighat & Razian 2014). Range [0, 1]; higher is better."""
    a, b, f = (np.asarray(x, dtype=np.float64) for x in (a, b, f))
    _check_window_fits(a)
    A, B, F = (_windows_colmajor(x) for x in (a, b, f))
    total = 0.0
    for s in range(0, A.shape[0], chunk):
        total += _fmi_windows(A[s : s + chunk], B[s : s + chunk], F[s : s + chunk]).sum()
    return float(total / A.shape[0])


def fmi_dct(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """FMI_dct of uint8 gray images: Fast-FMI of orthonormal 2-D DCT-II coefficients (MATLAB ``dct2``).
    Range [0, 1]; higher is better."""
    from scipy.fft import dctn

    return fmi_features(*(dctn(_f255(x), type=2, norm="ortho") for x in (ir, vi, f)))


# ------------------------------------------------------------------------------------- FMI_pixel
_EPS100 = 100 * np.finfo(np.float64).eps


def edge_sobel(img: np.ndarray) -> np.ndarray:
    """MATLAB ``edge(I)`` with its defaults: Sobel, automatic threshold, thinning; boolean map.

    Gradients are ``imfilter`` correlations with ``fspecial('sobel') / 8`` (and its transpose) under
    replicate padding; ``b = bx^2 + by^2``; cutoff ``4 * mean(b)``; a pixel is an edge when ``b > cutoff``
    and it is a local maximum of ``b`` across the dominant gradient direction (left <= centre > right
    where ``|bx| >= |by| - 100 eps``, up <= centre > down where ``|by| >= |bx| - 100 eps``; a missing
    neighbour at the border counts as satisfied). On integer-valued 0..255 input every quantity is exact
    in float64 (multiples of 1/64 well within 53 bits), so the map does not depend on summation order.
    """
    a = np.asarray(img, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"edge_sobel expects a 2-D image, got shape {a.shape}")
    p = np.pad(a, 1, mode="edge")
    top, mid, bot = p[:-2], p[1:-1], p[2:]
    # y_mask = [1 2 1; 0 0 0; -1 -2 -1] / 8, x_mask its transpose (imfilter correlates)
    by = ((top[:, :-2] + 2 * top[:, 1:-1] + top[:, 2:]) - (bot[:, :-2] + 2 * bot[:, 1:-1] + bot[:, 2:])) / 8
    bx = ((top[:, :-2] + 2 * mid[:, :-2] + bot[:, :-2]) - (top[:, 2:] + 2 * mid[:, 2:] + bot[:, 2:])) / 8
    b = bx * bx + by * by
    cutoff = 4.0 * (b.sum() / b.size)
    bx, by = np.abs(bx), np.abs(by)
    true_col = np.ones((b.shape[0], 1), bool)
    true_row = np.ones((1, b.shape[1]), bool)
    b1 = np.hstack([true_col, b[:, :-1] <= b[:, 1:]])  # left neighbour <= centre
    b2 = np.hstack([b[:, :-1] > b[:, 1:], true_col])  # centre > right neighbour
    b3 = np.vstack([true_row, b[:-1] <= b[1:]])  # upper neighbour <= centre
    b4 = np.vstack([b[:-1] > b[1:], true_row])  # centre > lower neighbour
    return (b > cutoff) & (((bx >= by - _EPS100) & b1 & b2) | ((by >= bx - _EPS100) & b3 & b4))


def _window_codes(e: np.ndarray) -> np.ndarray:
    """9-bit code of every 3x3 window of a boolean map (bit k = element k of the column-major ``sub(:)``)."""
    h, w = e.shape[0] - 2, e.shape[1] - 2
    code = np.zeros((h, w), np.int64)
    for j in range(3):
        for i in range(3):
            code |= e[i : i + h, j : j + w].astype(np.int64) << (3 * j + i)
    return code.ravel()


_BITS = (np.arange(512)[:, None] >> np.arange(9)[None, :]) & 1  # code -> column-major window values


def fmi_binary(ea: np.ndarray, eb: np.ndarray, ef: np.ndarray) -> float:
    """:func:`fmi_features` for boolean feature maps, computed once per distinct (a, b, f) window triple
    (edge maps are mostly empty, so a few thousand triples stand for ~10^5 windows)."""
    _check_window_fits(ea)
    key = (_window_codes(ea) << 18) | (_window_codes(eb) << 9) | _window_codes(ef)
    uniq, counts = np.unique(key, return_counts=True)
    A, B, F = (_BITS[(uniq >> s) & 511].astype(np.float64) for s in (18, 9, 0))
    return float((_fmi_windows(A, B, F) * counts).sum() / key.size)


def fmi_pixel(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """FMI_pixel of uint8 gray images as ``analysis_fmi(ir, vi, f)`` computes it: the default ``'edge'``
    feature (MATLAB ``edge``: Sobel, automatic threshold, thinning) of the 0..255 images, 3x3 windows.
    Range [0, 1]; higher is better."""
    return fmi_binary(*(edge_sobel(_f255(x)) for x in (ir, vi, f)))


# ----------------------------------------------------------------------------------------- FMI_w
# MATLAB's discrete Meyer scaling filter: the first 51 of the 101 symmetric taps of wfilters('dmey')'s LoR
# (sum sqrt(2)); the full 102-tap filter is these, their mirror image and a trailing zero. PyWavelets'
# 'dmey' is a different, 62-tap approximation, so this one is built here.
_DMEY_HALF = (
    -1.509740857e-06, 1.278766757e-06, 4.49585560e-07, -2.096568870e-06, 1.723223554e-06, 6.98082276e-07,
    -2.879408033e-06, 2.383148395e-06, 9.82515602e-07, -4.217789186e-06, 3.353501538e-06, 1.674721859e-06,
    -6.034501342e-06, 4.837555802e-06, 2.402288023e-06, -9.556309846e-06, 7.216527695e-06, 4.849078300e-06,
    -1.4206928581e-05, 1.0503914271e-05, 6.187580298e-06, -2.4438005846e-05, 2.0106387691e-05,
    1.4993523600e-05, -4.6428764284e-05, 3.2341311914e-05, 3.7409665760e-05, -1.02779005085e-04,
    2.4461956845e-05, 1.49713515389e-04, -7.5592870255e-05, -1.39913148217e-04, -9.3512893880e-05,
    1.61189819725e-04, 8.59500213762e-04, -5.78185795273e-04, -2.702168733939e-03, 2.194775336459e-03,
    6.045510596456e-03, -6.386728618548e-03, -1.1044641900539e-02, 1.5250913158586e-02, 1.7403888210177e-02,
    -3.2094063354505e-02, -2.4321783959519e-02, 6.3667300884468e-02, 3.0621243943425e-02,
    -1.32696615358862e-01, -3.5048287390595e-02, 4.44095030766529e-01, 7.43751004903787e-01,
)


def dmey_matlab():
    """MATLAB's 102-tap ``dmey`` as a :class:`pywt.Wavelet` (LoR = the taps, LoD = reversed, HiR = qmf(LoR),
    HiD = reversed HiR, as ``orthfilt`` builds them)."""
    import pywt

    half = np.asarray(_DMEY_HALF)
    rec_lo = np.concatenate([half, half[-2::-1], [0.0]])
    dec_lo = rec_lo[::-1]
    rec_hi = rec_lo[::-1] * np.where(np.arange(rec_lo.size) % 2 == 1, -1.0, 1.0)  # MATLAB qmf
    dec_hi = rec_hi[::-1]
    return pywt.Wavelet("dmey_matlab", filter_bank=[dec_lo.tolist(), dec_hi.tolist(), rec_lo.tolist(),
                                                    rec_hi.tolist()])


def _rerange(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def dwt2_feature(x: np.ndarray) -> np.ndarray:
    """``rerange([cA, cH; cV, cD])`` of MATLAB's ``dwt2(x, 'dmey')`` (default ``'sym'`` extension): the four
    one-level subbands tiled 2x2, rescaled to [0, 1]."""
    import pywt

    cA, (cH, cV, cD) = pywt.dwt2(np.asarray(x, np.float64), dmey_matlab(), mode="symmetric")
    return _rerange(np.block([[cA, cH], [cV, cD]]))


def fmi_wavelet(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """FMI_w of uint8 gray images as ``analysis_fmi(ir, vi, f, 'wavelet')`` computes it: Fast-FMI of the
    tiled one-level discrete Meyer subbands of the 0..255 images, 3x3 windows. Range [0, 1]; higher is
    better."""
    return fmi_features(*(dwt2_feature(_f255(x)) for x in (ir, vi, f)))


# (name, function, display name, description) of the FMI metrics of the ``tang`` profile
TANG_FMI: list[tuple[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float], str, str]] = [
    ("FMI_pixel", fmi_pixel, "FMI_pixel", "feature MI of MATLAB edge() maps (Sobel, auto threshold), 3x3 windows, 0..1"),
    ("FMI_dct", fmi_dct, "FMI_dct", "feature MI of 2-D DCT coefficients, 3x3 windows, 0..1"),
    ("FMI_w", fmi_wavelet, "FMI_w", "feature MI of the tiled dmey DWT subbands, 3x3 windows, 0..1"),
]
