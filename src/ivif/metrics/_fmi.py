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

from . import _matlab as ml


def _f255(x: np.ndarray) -> np.ndarray:
    return ml.im2double(x) * 255.0


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


def _fmi_pair(src: np.ndarray, fn: np.ndarray, equal: np.ndarray) -> np.ndarray:
    """Haghighat's per-window normalised feature MI between source windows ``src`` (raw) and the
    normalised fused windows ``fn``; 1 where ``equal`` (the reference's ``aSub == fSub`` shortcut)."""
    aP = _minmax_rows(src)
    aP = aP / aP.sum(axis=1, keepdims=True)
    fP = fn / fn.sum(axis=1, keepdims=True)
    aC, fC = np.cumsum(aP, axis=1), np.cumsum(fP, axis=1)
    aT, fT = aP - aP.mean(axis=1, keepdims=True), fP - fP.mean(axis=1, keepdims=True)
    s = (aT * fT).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(s == 0, 0.0, s / np.sqrt((aT * aT).sum(axis=1) * (fT * fT).sum(axis=1)))
    idx = np.arange(1, aP.shape[1] + 1, dtype=np.float64)
    aSd = np.sqrt(np.maximum((idx**2 * aP).sum(axis=1) - (idx * aP).sum(axis=1) ** 2, 0))
    fSd = np.sqrt(np.maximum((idx**2 * fP).sum(axis=1) - (idx * fP).sum(axis=1) ** 2, 0))
    Fi, Aj = fC[:, :, None], aC[:, None, :]
    neg = c < 0
    # Frechet upper-bound copula, written as the reference does; rows with c < 0 use the lower bound
    bound = 0.5 * (Fi + Aj - np.abs(Fi - Aj))
    if neg.any():
        sn = Fi[neg] + Aj[neg] - 1
        bound[neg] = 0.5 * (sn + np.abs(sn))
    prod = Fi * Aj
    cov = (bound - prod).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / (fSd * aSd)
        k = c / corr
    degenerate = (aSd == 0) | (fSd == 0) | ((c == 0) & ~neg)
    k = np.where(degenerate, 0.0, k)
    # probability mass of each cell: second difference of the bound with zero boundary
    pb = np.pad(bound, ((0, 0), (1, 0), (1, 0)))
    cell = ((pb[:, 1:, 1:] - pb[:, :-1, 1:]) - pb[:, 1:, :-1]) + pb[:, :-1, :-1]
    kk = k[:, None, None]
    jp = kk * cell + (1 - kk) * (fP[:, :, None] * aP[:, None, :])

    def plogp(p: np.ndarray) -> np.ndarray:
        # real(-p log2 p): -p log2|p| for p < 0; zero entries are skipped
        lg = np.log2(np.abs(p), out=np.zeros_like(p), where=p != 0)
        return -p * lg

    jterm = plogp(jp)
    aE, fE = plogp(aP).sum(axis=1), plogp(fP).sum(axis=1)
    mi = aE + fE - jterm.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(mi == 0, 0.0, 2 * mi / (aE + fE))
    return np.where(equal, 1.0, out)


def fmi_features(a: np.ndarray, b: np.ndarray, f: np.ndarray, chunk: int = 16384) -> float:
    """``analysis_fmi`` on precomputed feature images: mean over 3x3 windows of
    (FMI(a, f) + FMI(b, f)) / 2 (Fast-FMI, Haghighat & Razian 2014). Range [0, 1]; higher is better."""
    A, B, F = (_windows_colmajor(np.asarray(x, dtype=np.float64)) for x in (a, b, f))
    total = 0.0
    for s in range(0, A.shape[0], chunk):
        a_, b_, f_ = A[s : s + chunk], B[s : s + chunk], F[s : s + chunk]
        eq_a = np.all(a_ == f_, axis=1)
        fn = _minmax_rows(f_)
        # the reference normalises fSub in place only when aSub ~= fSub; its bSub == fSub test then
        # compares the raw bSub with the normalised fSub
        eq_b = np.all(b_ == np.where(eq_a[:, None], f_, fn), axis=1)
        total += ((_fmi_pair(a_, fn, eq_a) + _fmi_pair(b_, fn, eq_b)) / 2).sum()
    return float(total / A.shape[0])


def fmi_dct(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """FMI_dct of uint8 gray images: Fast-FMI of orthonormal 2-D DCT-II coefficients (MATLAB ``dct2``).
    Range [0, 1]; higher is better."""
    from scipy.fft import dctn

    return fmi_features(*(dctn(_f255(x), type=2, norm="ortho") for x in (ir, vi, f)))


# (name, function, display name, description) of the FMI metrics of the ``tang`` profile
TANG_FMI: list[tuple[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float], str, str]] = [
    ("FMI_dct", fmi_dct, "FMI_dct", "feature MI of 2-D DCT coefficients, 3x3 windows, 0..1"),
]
