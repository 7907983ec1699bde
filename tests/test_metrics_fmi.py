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


# ------------------------------------------------------------------------------------------ FMI_pixel
def _edge_loops(a: np.ndarray) -> np.ndarray:
    """MATLAB edge(I) (Sobel, automatic threshold, thinning), transcribed from the documented algorithm
    with scalar loops: imfilter correlation + replicate padding, cutoff 4 mean(b), local-maximum tests."""
    a = a.astype(np.float64)
    m, n = a.shape
    op = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]) / 8.0

    def px(r, c):
        return a[min(max(r, 0), m - 1), min(max(c, 0), n - 1)]

    bx = np.zeros((m, n))
    by = np.zeros((m, n))
    for r in range(m):
        for c in range(n):
            for i in range(3):
                for j in range(3):
                    by[r, c] += op[i, j] * px(r + i - 1, c + j - 1)
                    bx[r, c] += op.T[i, j] * px(r + i - 1, c + j - 1)
    b = bx * bx + by * by
    cutoff = 4 * b.sum() / b.size
    bx, by = np.abs(bx), np.abs(by)
    eps100 = 100 * np.finfo(float).eps
    e = np.zeros((m, n), bool)
    for r in range(m):
        for c in range(n):
            b1 = True if c - 1 < 0 else b[r, c - 1] <= b[r, c]
            b2 = True if c + 1 > n - 1 else b[r, c] > b[r, c + 1]
            b3 = True if r - 1 < 0 else b[r - 1, c] <= b[r, c]
            b4 = True if r + 1 > m - 1 else b[r, c] > b[r + 1, c]
            e[r, c] = b[r, c] > cutoff and (
                (bx[r, c] >= by[r, c] - eps100 and b1 and b2) or (by[r, c] >= bx[r, c] - eps100 and b3 and b4))
    return e


def test_edge_sobel_against_loops_and_known_images():
    for seed, shape in [(1, (17, 23)), (2, (24, 9))]:
        x = _u8(seed, shape).astype(np.float64)
        np.testing.assert_array_equal(T.edge_sobel(x), _edge_loops(x))
    # a smooth image with a vertical step: one thin edge line, next to the step
    step = np.zeros((12, 16))
    step[:, 8:] = 200
    e = T.edge_sobel(step)
    assert e.any() and set(np.nonzero(e.any(axis=0))[0]) <= {7, 8} and e.sum() == 12
    assert not T.edge_sobel(np.full((9, 9), 77.0)).any()  # flat: b = cutoff = 0, no edges
    with pytest.raises(ValueError, match="2-D"):
        T.edge_sobel(np.zeros((4, 4, 3)))


def test_fmi_binary_equals_dense_and_loops():
    maps = [T.edge_sobel(_u8(s, (14, 12)).astype(np.float64)) for s in (3, 4, 5)]
    maps[2][:5, :5] = maps[0][:5, :5]  # identical windows take the reference's shortcut
    dense = T.fmi_features(*(m.astype(np.float64) for m in maps))
    assert T.fmi_binary(*maps) == pytest.approx(dense, rel=1e-12)
    assert dense == pytest.approx(_fmi_loops(*(m.astype(np.float64) for m in maps)), rel=1e-10)


def test_fmi_pixel_on_real_crop_against_loops(data_dir):
    import cv2

    d = data_dir / "tno"
    ir, vi = (cv2.imread(str(d / k / "01.png"), cv2.IMREAD_GRAYSCALE)[200:230, 300:334] for k in ("ir", "vi"))
    f = cv2.imread(str(d / "fused" / "DenseFuse" / "01.png"), cv2.IMREAD_GRAYSCALE)[200:230, 300:334]
    got = ivif.evaluate(ir, vi, f, "FMI_pixel", "tang")["FMI_pixel"]
    expect = _fmi_loops(*(_edge_loops(x).astype(np.float64) for x in (ir, vi, f)))
    assert got == pytest.approx(expect, rel=1e-10)
    assert 0 < got <= 1


# ---------------------------------------------------------------------------------------------- FMI_w
def test_dmey_is_matlab_102_tap_filter():
    import pywt

    w = T.dmey_matlab()
    lo = np.asarray(w.rec_lo)
    assert lo.size == 102 and lo[-1] == 0.0 and w.dec_lo[0] == 0.0
    np.testing.assert_allclose(lo[:101], lo[100::-1], atol=0)  # symmetric taps
    assert lo.sum() == pytest.approx(math.sqrt(2), abs=1e-14)  # orthfilt normalisation
    assert (lo**2).sum() == pytest.approx(1.0, abs=2e-6)  # an FIR approximation: near-orthonormal
    for s in range(1, 6):
        assert abs(np.dot(lo[: -2 * s], lo[2 * s :])) < 1e-9
    assert lo.max() == pytest.approx(0.743751004903787, abs=1e-15)
    assert pywt.Wavelet("dmey").dec_len == 62  # PyWavelets' dmey is a different approximation


def _dwt2_matlab(x: np.ndarray, lo_d: np.ndarray, hi_d: np.ndarray):
    """MATLAB dwt2 in 'sym' mode, written from its definition: half-point symmetric extension by lf-1,
    'valid' convolution, keep the even (1-based) samples; along the columns, then the rows."""

    def dwt1(v: np.ndarray, h: np.ndarray) -> np.ndarray:
        lf = h.size
        y = np.pad(v, lf - 1, mode="symmetric")
        return np.convolve(y, h, mode="valid")[1::2]

    def along(a: np.ndarray, h: np.ndarray, axis: int) -> np.ndarray:
        return np.apply_along_axis(dwt1, axis, a, h)

    lo_w, hi_w = along(x, lo_d, 1), along(x, hi_d, 1)
    return along(lo_w, lo_d, 0), along(lo_w, hi_d, 0), along(hi_w, lo_d, 0), along(hi_w, hi_d, 0)


def test_dwt2_feature_against_matlab_definition():
    w = T.dmey_matlab()
    x = _u8(7, (21, 30)).astype(np.float64)
    cA, cH, cV, cD = _dwt2_matlab(x, np.asarray(w.dec_lo), np.asarray(w.dec_hi))
    assert cA.shape == ((21 + 101) // 2, (30 + 101) // 2)
    tiled = np.block([[cA, cH], [cV, cD]])
    expect = (tiled - tiled.min()) / (tiled.max() - tiled.min())
    np.testing.assert_allclose(T.dwt2_feature(x), expect, rtol=0, atol=1e-12)


def test_fmi_w_against_loops():
    w = T.dmey_matlab()
    ir, vi = _u8(8, (10, 8)), _u8(9, (10, 8))
    f = ((ir.astype(int) * 3 + vi) // 4).astype(np.uint8)

    def feat(x):
        t = np.block([[*_dwt2_matlab(x.astype(np.float64), np.asarray(w.dec_lo), np.asarray(w.dec_hi))[:2]],
                      [*_dwt2_matlab(x.astype(np.float64), np.asarray(w.dec_lo), np.asarray(w.dec_hi))[2:]]])
        return (t - t.min()) / (t.max() - t.min())

    feats = [feat(x) for x in (ir, vi, f)]
    got = ivif.evaluate(ir, vi, f, "FMI_w", "tang")["FMI_w"]
    assert got == pytest.approx(T.fmi_features(*feats), rel=1e-12)
    # the per-window loops (slow in Python) on a crop of the features that holds all four subbands' seams
    crop = (slice(40, 70), slice(40, 70))
    assert T.fmi_features(*(x[crop] for x in feats)) == pytest.approx(_fmi_loops(*(x[crop] for x in feats)),
                                                                      rel=1e-10)


def test_fmi_metrics_registered_in_tang_only_there():
    from ivif.errors import MetricError

    p = ivif.metrics.get_profile("tang")
    assert {"FMI_pixel", "FMI_dct", "FMI_w"} <= set(p.metrics)
    with pytest.raises(MetricError, match="tang"):
        ivif.evaluate(_u8(1, (9, 9)), _u8(2, (9, 9)), _u8(3, (9, 9)), "FMI_w", "cddfuse")


def test_fmi_on_images_smaller_than_a_window_is_a_clear_error():
    from ivif.errors import MetricError

    x = _u8(1, (2, 5))
    for m in ("FMI_pixel", "FMI_dct"):
        with pytest.raises(MetricError, match="at least 3x3"):
            ivif.evaluate(x, x, x, m, "tang")
    # FMI_w's subbands are larger than the image ((n + 101) // 2 each): a 2x5 image still has windows
    assert 0 <= ivif.evaluate(x, _u8(2, (2, 5)), _u8(3, (2, 5)), "FMI_w", "tang")["FMI_w"] <= 1
