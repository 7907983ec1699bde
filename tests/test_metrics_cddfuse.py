"""The ``cddfuse`` profile against independent computations.

Oracles: ``sklearn.metrics.mutual_info_score``, ``skimage.metrics.structural_similarity`` with the
parameters scikit-image 0.19 used on float32 input (data_range=2), a direct 4-scale VIF-P with
``scipy.signal.convolve2d`` and a 2-D MATLAB-style Gaussian, float64 NumPy formulas, hand-computed values.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.signal import convolve2d

import ivif
from ivif.errors import ImageReadError, InvalidImageError, MetricError, SizeMismatchError
from ivif.metrics import get_profile

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data"
P = get_profile("cddfuse")


def _triplets():
    out = []
    for ds, stem, method in [("tno", "01", "DenseFuse"), ("vifb", "carLight", "CBF"), ("msrs", None, "PIAFusion")]:
        d = DATA / ds
        try:
            if stem is None:
                stem = Path(sorted(p.name for p in (d / "fused" / method).iterdir())[0]).stem
            out.append(tuple(next((d / sub).glob(stem + ".*")) for sub in ("ir", "vi", f"fused/{method}")))
        except (StopIteration, FileNotFoundError):
            pass
    return out


REAL = _triplets()


def run(names, a, b, f) -> dict[str, float]:
    """Metrics on already-loaded (float32 0..255 levels) images."""
    return {k: P.metrics[k].fn(a, b, f) for k in names}


@pytest.fixture(scope="module")
def real_loaded():
    if not REAL:
        pytest.skip("../shared/data not available")
    return [tuple(P.load(p, r) for p, r in zip(t, ("ir", "vi", "fused"))) for t in REAL]


# ----------------------------------------------------------------------------------------- oracles
def vifp_direct(ref: np.ndarray, dist: np.ndarray) -> float:
    """4-scale VIF-P, 'valid' borders, 2-D Gaussian windows, scipy.signal.convolve2d, float64."""
    ref = ref.astype(np.float64)
    dist = dist.astype(np.float64)
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        r = (n - 1) / 2
        y, x = np.mgrid[-r : r + 1, -r : r + 1]
        win = np.exp(-(x**2 + y**2) / (2 * (n / 5) ** 2))
        win /= win.sum()
        if scale > 1:
            ref = convolve2d(ref, win, mode="valid")[::2, ::2]
            dist = convolve2d(dist, win, mode="valid")[::2, ::2]
        mu1, mu2 = convolve2d(ref, win, "valid"), convolve2d(dist, win, "valid")
        s1 = np.maximum(convolve2d(ref * ref, win, "valid") - mu1**2, 0)
        s2 = np.maximum(convolve2d(dist * dist, win, "valid") - mu2**2, 0)
        s12 = convolve2d(ref * dist, win, "valid") - mu1 * mu2
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        small1 = s1 < 1e-10
        g = np.where(small1, 0, g)
        sv = np.where(small1, s2, sv)
        s1 = np.where(small1, 0, s1)
        small2 = s2 < 1e-10
        g = np.where(small2, 0, g)
        sv = np.where(small2, 0, sv)
        neg = g < 0
        sv = np.where(neg, s2, sv)
        g = np.where(neg, 0, g)
        sv = np.maximum(sv, 1e-10)
        num += np.sum(np.log10(1 + g * g * s1 / (sv + 2)))
        den += np.sum(np.log10(1 + s1 / 2))
    return num / den


def qabf_direct(a, b, f) -> float:
    """Q^{AB/F} with scipy.signal.convolve2d 'same' Sobel, float64."""
    h1 = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], float)
    h3 = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)

    def edges(x):
        sx = convolve2d(x.astype(float), h3, "same")
        sy = convolve2d(x.astype(float), h1, "same")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.hypot(sx, sy), np.where(sx == 0, np.pi / 2, np.arctan(sy / sx))

    (ga, aa), (gb, ab), (gf, af) = edges(a), edges(b), edges(f)

    def q(g, an):
        with np.errstate(divide="ignore", invalid="ignore"):
            G = np.where(g > gf, gf / g, np.where(g == gf, gf, g / gf))
        A = 1 - np.abs(an - af) / (np.pi / 2)
        return 0.9994 / (1 + np.exp(-15 * (G - 0.5))) * 0.9879 / (1 + np.exp(-22 * (A - 0.8)))

    return float(np.sum(q(ga, aa) * ga + q(gb, ab) * gb) / np.sum(ga + gb))


def f64_reference(a, b, f) -> dict[str, float]:
    a, b, f = (z.astype(np.float64) for z in (a, b, f))
    p = np.bincount(f.astype(int).ravel(), minlength=256) / f.size
    gy, gx = np.gradient(f)
    mse = (np.mean((a - f) ** 2) + np.mean((b - f) ** 2)) / 2

    def corr(x, y):
        return np.corrcoef(x.ravel(), y.ravel())[0, 1]

    return {
        "EN": -np.sum(p[p > 0] * np.log2(p[p > 0])),
        "SD": np.std(f),
        "SF": math.sqrt(np.mean(np.diff(f, axis=1) ** 2) + np.mean(np.diff(f, axis=0) ** 2)),
        "AG": np.mean(np.sqrt((gx**2 + gy**2) / 2)),
        "MSE": mse,
        "PSNR": 10 * math.log10(f.max() ** 2 / mse),
        "CC": (corr(a, f) + corr(b, f)) / 2,
        "SCD": corr(a, f - b) + corr(b, f - a),
    }


# ------------------------------------------------------------------------------------------- tests
def test_simple_metrics_against_float64(real_loaded):
    for a, b, f in real_loaded:
        ref = f64_reference(a, b, f)
        got = run(list(ref), a, b, f)
        for k, v in ref.items():
            # the reference computes in float32; float64 agrees to float32 round-off
            assert got[k] == pytest.approx(v, rel=2e-6), k


def test_mi_against_sklearn(real_loaded):
    sk = pytest.importorskip("sklearn.metrics")
    for a, b, f in real_loaded:
        ref = sk.mutual_info_score(f.ravel(), a.ravel()) + sk.mutual_info_score(f.ravel(), b.ravel())
        assert P.metrics["MI"].fn(a, b, f) == pytest.approx(ref, rel=1e-10)


def test_ssim_against_skimage_data_range_2(real_loaded):
    skm = pytest.importorskip("skimage.metrics")
    for a, b, f in real_loaded:
        ref = skm.structural_similarity(f, a, data_range=2.0) + skm.structural_similarity(f, b, data_range=2.0)
        assert P.metrics["SSIM"].fn(a, b, f) == pytest.approx(ref, abs=1e-6)


def test_vif_against_direct_2d(real_loaded):
    a, b, f = (z[:150, :170] for z in real_loaded[0])  # direct 17x17 convolve2d is slow; a crop suffices
    ref = vifp_direct(a, f) + vifp_direct(b, f)
    assert P.metrics["VIF"].fn(a, b, f) == pytest.approx(ref, rel=1e-9)


def test_qabf_against_direct(real_loaded):
    for a, b, f in (tuple(z[:200, :240] for z in t) for t in real_loaded[:2]):
        assert P.metrics["Qabf"].fn(a, b, f) == pytest.approx(qabf_direct(a, b, f), rel=1e-5)


def test_hand_computed():
    z = np.zeros((16, 16), np.float32)
    half = z.copy()
    half[:, 8:] = 255
    m = P.metrics
    assert m["EN"].fn(z, z, half) == pytest.approx(1.0)
    assert m["SD"].fn(z, z, half) == pytest.approx(127.5)
    assert m["SF"].fn(z, z, half) == pytest.approx(255 / math.sqrt(15), rel=1e-6)
    # MSE vs two black sources = 255^2/2; PSNR peak = max(F) = 255 -> 10 log10(2)
    assert m["MSE"].fn(z, z, half) == pytest.approx(255**2 / 2)
    assert m["PSNR"].fn(z, z, half) == pytest.approx(10 * math.log10(2), rel=1e-6)
    # MI of F with itself = H(F) in nats
    assert m["MI"].fn(half, half, half) == pytest.approx(2 * math.log(2))
    # SSIM of identical images = 1 each
    assert m["SSIM"].fn(half, half, half) == pytest.approx(2.0, abs=1e-6)


def test_loading_matches_opencv():
    if not REAL:
        pytest.skip("../shared/data not available")
    for path in REAL[1]:  # a VIFB JPEG triplet (colour VI)
        ref = np.round(cv2.cvtColor(cv2.imread(str(path)).astype(np.float32), cv2.COLOR_BGR2GRAY))
        got = P.load(path, "vi")
        assert got.dtype == np.float32 and np.array_equal(got, ref)
    rgb = cv2.imread(str(REAL[1][1]))[..., ::-1]
    ref = np.round(cv2.cvtColor(rgb[..., ::-1].astype(np.float32), cv2.COLOR_BGR2GRAY))
    assert np.array_equal(P.load(rgb, "vi"), ref)
    assert np.array_equal(P.load(rgb.astype(np.float32) / 255, "vi"), ref)
    g = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert np.array_equal(P.load(g, "ir"), g.astype(np.float32))


def test_errors(tmp_path):
    a = np.zeros((20, 20), np.uint8)
    with pytest.raises(MetricError) as e:
        ivif.evaluate(a, a, a, metrics="Qcb", profile="cddfuse")
    assert "zoo" in str(e.value) and "cddfuse" in str(e.value)
    with pytest.raises(InvalidImageError, match="NaN"):
        ivif.evaluate(a, a, np.full((20, 20), np.nan), profile="cddfuse")
    with pytest.raises(InvalidImageError, match="dtype"):
        ivif.evaluate(a, a, np.zeros((20, 20), np.complex64), profile="cddfuse")
    with pytest.raises(SizeMismatchError, match="fused"):
        ivif.evaluate(a, a, np.zeros((20, 21), np.uint8), metrics="SSIM", profile="cddfuse")
    with pytest.raises(ImageReadError, match="nope.png"):
        ivif.evaluate(tmp_path / "nope.png", a, a)
    with pytest.raises(MetricError, match="unknown metric profile"):
        ivif.evaluate(a, a, a, profile="nonexistent")


def test_profile_layout():
    assert list(P.metrics) == ["EN", "SD", "SF", "AG", "MI", "MSE", "CC", "PSNR", "SCD", "VIF", "Qabf", "SSIM"]
    assert P.metrics["MSE"].higher_is_better is False
    assert all(d.higher_is_better for k, d in P.metrics.items() if k != "MSE")
    assert ivif.metrics.DEFAULT_PROFILE == "cddfuse"
