"""FMI metrics of the ``tang`` profile (``analysis_fmi.m``): the vectorised Fast-FMI against a literal
per-window transcription of the MATLAB loops, and the feature extractors against independent
computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ivif
from ivif.metrics import _fmi as T


def _u8(seed: int, shape=(40, 36), lo=0, hi=256) -> np.ndarray:
    return np.random.default_rng(seed).integers(lo, hi, size=shape, dtype=np.uint8)


def _fmi_loops(ima: np.ndarray, imb: np.ndarray, imf: np.ndarray) -> float:
    """analysis_fmi.m on feature images, transcribed literally (per-window loops, scalar arithmetic)."""

    def one(sub, fsub):
        l = 9
        if np.all(sub == fsub):
            return 1.0, fsub
        smax, smin = sub.max(), sub.min()
        sub = np.ones((3, 3)) if smax == smin else (sub - smin) / (smax - smin)
        fmax, fmin = fsub.max(), fsub.min()
        fsub = np.ones((3, 3)) if fmax == fmin else (fsub - fmin) / (fmax - fmin)
        aP = sub.flatten(order="F") / sub.sum()
        fP = fsub.flatten(order="F") / fsub.sum()
        aC, fC = np.cumsum(aP), np.cumsum(fP)
        aT, fT = aP - aP.mean(), fP - fP.mean()
        c = 0.0 if (aT * fT).sum() == 0 else (aT * fT).sum() / math.sqrt((aT * aT).sum() * (fT * fT).sum())
        i1 = np.arange(1, l + 1)
        aSd = math.sqrt(max((i1**2 * aP).sum() - (i1 * aP).sum() ** 2, 0))
        fSd = math.sqrt(max((i1**2 * fP).sum() - (i1 * fP).sum() ** 2, 0))
        if c >= 0:
            bnd = lambda x, y: 0.5 * (x + y - abs(x - y))  # noqa: E731
            k = 0.0 if (c == 0 or aSd == 0 or fSd == 0) else c / (
                sum(bnd(fC[i], aC[j]) - fC[i] * aC[j] for i in range(l) for j in range(l)) / (fSd * aSd))
        else:
            bnd = lambda x, y: 0.5 * (x + y - 1 + abs(x + y - 1))  # noqa: E731
            k = 0.0 if (aSd == 0 or fSd == 0) else c / (
                sum(bnd(fC[i], aC[j]) - fC[i] * aC[j] for i in range(l) for j in range(l)) / (fSd * aSd))
        je = 0.0
        for i in range(l):
            for j in range(l):
                cell = bnd(fC[i], aC[j])
                if i > 0:
                    cell -= bnd(fC[i - 1], aC[j])
                if j > 0:
                    cell -= bnd(fC[i], aC[j - 1])
                if i > 0 and j > 0:
                    cell += bnd(fC[i - 1], aC[j - 1])
                jp = k * cell + (1 - k) * fP[i] * aP[j]
                if jp != 0:
                    je += -jp * math.log2(abs(jp))
        ae = -sum(p * math.log2(p) for p in aP if p != 0)
        fe = -sum(p * math.log2(p) for p in fP if p != 0)
        mi = ae + fe - je
        return (0.0 if mi == 0 else 2 * mi / (ae + fe)), fsub

    vals = []
    for p in range(1, ima.shape[0] - 1):
        for q in range(1, ima.shape[1] - 1):
            win = (slice(p - 1, p + 2), slice(q - 1, q + 2))
            af, fsub = one(ima[win], imf[win])  # fSub comes back normalised, as in the reference
            bf, _ = one(imb[win], fsub)
            vals.append((af + bf) / 2)
    return float(np.mean(vals))


def test_fmi_dct_against_loops():
    from scipy.fft import dctn

    ir, vi = _u8(12, (12, 10)), _u8(13, (12, 10))
    f = ((ir.astype(int) + vi) // 2).astype(np.uint8)
    f[:4, :4] = ir[:4, :4]  # some windows equal to the IR's: the reference's shortcut path
    feats = [dctn(x.astype(np.float64), type=2, norm="ortho") for x in (ir, vi, f)]
    expect = _fmi_loops(*feats)
    assert ivif.evaluate(ir, vi, f, "FMI_dct", "tang")["FMI_dct"] == pytest.approx(expect, rel=1e-10)
    # raw pixels with flat and identical windows exercise the degenerate branches
    a = np.zeros((8, 9))
    a[4:, :] = 255
    b = np.tile(np.arange(9.0), (8, 1)) * 20
    fz = a.copy()
    fz[:, 5:] = b[:, 5:]
    assert T.fmi_features(a, b, fz) == pytest.approx(_fmi_loops(a, b, fz), rel=1e-10)
