"""The ``tang`` profile against Tang's published MATLAB values and independent computations.

Golden: ``../shared/data/tno/reference_metrics/metric_tno_per_image.csv`` (``Metric_TNO.xlsx``), every value
of EN, MI, PSNR, MSE, AG, CC, SCD and Qabf for the 42 pairs x 4 fused methods present. Its SD, SF and VIF
columns came from older code (SD and VIF on uint8 data with saturating arithmetic, SF on a [0, 1] scale):
SF is checked as golden / 255, SD against ``numpy.std``, VIF against a direct ``scipy.signal.convolve2d``
implementation. SSIM, MS_SSIM and Nabf are checked against literal (per-pixel loop) transcriptions of the
MATLAB algorithms on small images.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import convolve2d

import ivif
from ivif.errors import InvalidImageError, MetricError, SizeMismatchError
from ivif.metrics import get_profile
from ivif.metrics.profiles import shared_intermediates
from ivif.metrics import tang as T

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tno"
P = get_profile("tang")
METHODS = ("DenseFuse", "RFN-Nest", "FusionGAN", "U2Fusion")
GOLDEN_METRICS = ("EN", "MI", "PSNR", "MSE", "AG", "CC", "SCD", "Qabf")


@pytest.fixture(scope="module")
def golden() -> "dict[tuple[str, str, str], float]":
    path = DATA / "reference_metrics" / "metric_tno_per_image.csv"
    if not path.is_file():
        pytest.skip("../shared/data/tno is not present")
    with open(path, newline="") as fh:
        return {(r["image"], r["method"], r["metric"]): float(r["value"]) for r in csv.DictReader(fh)}


def _compute(n: str, names) -> "dict[tuple[str, str], float]":
    ir, vi = P.load(DATA / "ir" / f"{n}.png", "ir"), P.load(DATA / "vi" / f"{n}.png", "vi")
    out = {}
    for m in METHODS:
        f = P.load(DATA / "fused" / m / f"{n}.png", "fused")
        with shared_intermediates():  # as ivif.evaluate: metrics share intermediates
            for k in names:
                out[(m, k)] = P.metrics[k].fn(ir, vi, f)
    return out


@pytest.mark.parametrize("n", [f"{i:02d}" for i in range(1, 43)])
def test_golden_values(golden, n):
    """EN, MI, PSNR, MSE, AG, CC, SCD, Qabf of one pair's 4 fused images; SF against the stale column x 255."""
    got = _compute(n, GOLDEN_METRICS + ("SF",))
    for m in METHODS:
        for k in GOLDEN_METRICS:
            g = golden[(n, m, k)]
            # the tolerance is 1e-3 relative; the reproduction is exact to rounding
            assert abs(got[(m, k)] - g) <= 1e-9 * abs(g), (n, m, k, got[(m, k)], g)
        # the SF column was computed on [0, 1] data: x 255 gives the current code's value
        assert got[(m, "SF")] == pytest.approx(golden[(n, m, "SF")] * 255.0, rel=1e-9)


def test_sd_is_population_std_of_0_255_image():
    if not DATA.is_dir():
        pytest.skip("../shared/data/tno is not present")
    for n in ("01", "09", "37"):
        ir, vi = P.load(DATA / "ir" / f"{n}.png", "ir"), P.load(DATA / "vi" / f"{n}.png", "vi")
        for m in METHODS:
            f = P.load(DATA / "fused" / m / f"{n}.png", "fused")
            assert P.metrics["SD"].fn(ir, vi, f) == pytest.approx(float(np.std(f.astype(np.float64))), rel=1e-12)


def _vifp_direct(ref: np.ndarray, dist: np.ndarray) -> float:
    """VIF-P with 2-D Gaussians and scipy.signal.convolve2d ('valid'), as an independent computation."""
    ref, dist = ref.astype(np.float64), dist.astype(np.float64)
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        sd = n / 5.0
        x = np.arange(n) - (n - 1) / 2
        win = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sd * sd))
        win /= win.sum()
        if scale > 1:
            ref = convolve2d(ref, win, mode="valid")[::2, ::2]
            dist = convolve2d(dist, win, mode="valid")[::2, ::2]
        mu1, mu2 = convolve2d(ref, win, mode="valid"), convolve2d(dist, win, mode="valid")
        s1 = np.maximum(convolve2d(ref * ref, win, mode="valid") - mu1**2, 0)
        s2 = np.maximum(convolve2d(dist * dist, win, mode="valid") - mu2**2, 0)
        s12 = convolve2d(ref * dist, win, mode="valid") - mu1 * mu2
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        g = np.where(s1 < 1e-10, 0, g)
        sv = np.where(s1 < 1e-10, s2, sv)
        s1 = np.where(s1 < 1e-10, 0, s1)
        g = np.where(s2 < 1e-10, 0, g)
        sv = np.where(s2 < 1e-10, 0, sv)
        sv = np.where(g < 0, s2, sv)
        g = np.maximum(g, 0)
        sv = np.maximum(sv, 1e-10)
        num += np.log10(1 + g * g * s1 / (sv + 2)).sum()
        den += np.log10(1 + s1 / 2).sum()
    return num / den


def test_vif_against_direct_convolution():
    if not DATA.is_dir():
        pytest.skip("../shared/data/tno is not present")
    for n, m in (("05", "DenseFuse"), ("34", "U2Fusion")):
        # a 150x130 crop keeps the direct 2-D convolutions fast; the metric sees the same crop
        crop = (slice(60, 210), slice(70, 200))
        ir, vi = P.load(DATA / "ir" / f"{n}.png", "ir")[crop], P.load(DATA / "vi" / f"{n}.png", "vi")[crop]
        f = P.load(DATA / "fused" / m / f"{n}.png", "fused")[crop]
        expect = _vifp_direct(ir, f) + _vifp_direct(vi, f)
        assert P.metrics["VIF"].fn(ir, vi, f) == pytest.approx(expect, rel=1e-9)


# --------------------------------------------------------------------------------- quirks, by hand
def _u8(seed: int, shape=(40, 36), lo=0, hi=256) -> np.ndarray:
    return np.random.default_rng(seed).integers(lo, hi, size=shape, dtype=np.uint8)


def test_mi_in_bits_with_saturated_joint_bin():
    # Hab.m adds 1 to uint8 data: 255 saturates, so levels 254 and 255 share a joint-histogram bin
    f = np.array([[254, 255], [10, 10]], np.uint8)
    a = np.array([[254, 255], [10, 10]], np.uint8)

    def h(p):
        p = np.asarray(p, float)
        return -(p * np.log2(p)).sum()

    # marginals: 3 levels (1/4, 1/4, 1/2); joint after merging: 2 cells (1/2, 1/2)
    mi_one = h([0.25, 0.25, 0.5]) * 2 - h([0.5, 0.5])
    assert ivif.evaluate(a, a, f, metrics="MI", profile="tang")["MI"] == pytest.approx(2 * mi_one, rel=1e-12)


def test_psnr_and_mse_on_unit_scale():
    ir, vi, f = np.full((8, 8), 10, np.uint8), np.full((8, 8), 30, np.uint8), np.full((8, 8), 20, np.uint8)
    mse = (10 / 255) ** 2
    out = ivif.evaluate(ir, vi, f, metrics="PSNR,MSE", profile="tang")
    assert out["MSE"] == pytest.approx(mse, rel=1e-12)
    assert out["PSNR"] == pytest.approx(20 * math.log10(255 / math.sqrt(mse)), rel=1e-12)


def test_cc_typo_is_rounding_level():
    ir, vi, f = _u8(1), _u8(2, lo=40, hi=200), _u8(3)
    c = [np.corrcoef(x.ravel().astype(float), f.ravel().astype(float))[0, 1] for x in (ir, vi)]
    assert ivif.evaluate(ir, vi, f, metrics="CC", profile="tang")["CC"] == pytest.approx(np.mean(c), abs=1e-12)


def _ssim_direct(a: np.ndarray, b: np.ndarray) -> float:
    """MATLAB ssim defaults (sigma 1.5, 11x11, replicate, DynamicRange 1) via np.pad + convolve2d."""
    x = np.arange(11) - 5
    w = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5**2))
    w /= w.sum()

    def flt(z):
        return convolve2d(np.pad(z, 5, mode="edge"), w, mode="valid")

    mx, my = flt(a), flt(b)
    sx, sy, sxy = flt(a * a) - mx**2, flt(b * b) - my**2, flt(a * b) - mx * my
    c1, c2 = 1e-4, 9e-4
    return float((((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sx + sy + c2))).mean())


def test_ssim_is_mean_of_matlab_ssim_with_dynamic_range_1():
    ir, vi, f = (_u8(s, (30, 27)).astype(np.float64) for s in (4, 5, 6))
    expect = 0.5 * _ssim_direct(f, ir) + 0.5 * _ssim_direct(f, vi)
    got = ivif.evaluate(ir.astype(np.uint8), vi.astype(np.uint8), f.astype(np.uint8), "SSIM", "tang")["SSIM"]
    assert got == pytest.approx(expect, rel=1e-10)


def _nabf_loops(f: np.ndarray, i1: np.ndarray, i2: np.ndarray) -> float:
    """analysis_nabf.m transcribed literally (per-pixel loops, periodic-extension Sobel)."""

    def sob(x):
        e = np.pad(x, 1, mode="reflect")
        vt = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]) / 8
        ht = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]) / 8
        gv, gh = np.zeros(x.shape), np.zeros(x.shape)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                gv[i, j] = (e[i : i + 3, j : j + 3] * vt).sum()
                gh[i, j] = (e[i : i + 3, j : j + 3] * ht).sum()
        return gv, gh

    (gvA, ghA), (gvB, ghB), (gvF, ghF) = sob(i1), sob(i2), sob(f)
    tot_w = tot = 0.0
    for i in range(f.shape[0]):
        for j in range(f.shape[1]):
            gA = math.hypot(ghA[i, j], gvA[i, j])
            gB = math.hypot(ghB[i, j], gvB[i, j])
            gF = math.hypot(ghF[i, j], gvF[i, j])

            def rel(g):
                if g == 0 or gF == 0:
                    return 0.0
                return gF / g if g > gF else g / gF

            def ang(v, h):
                return 0.0 if v == 0 and h == 0 else math.atan(v / h) if h != 0 else math.copysign(math.pi / 2, v)

            aF = ang(gvF[i, j], ghF[i, j])
            q = []
            for g, v, h in ((gA, gvA[i, j], ghA[i, j]), (gB, gvB[i, j], ghB[i, j])):
                a = abs(abs(ang(v, h) - aF) - math.pi / 2) * 2 / math.pi
                qg = 0.9999 / (1 + math.exp(-19 * (rel(g) - 0.5)))
                qa = 0.9995 / (1 + math.exp(-22 * (a - 0.5)))
                q.append(math.sqrt(qg * qa))
            wA = gA**1.5 if gA >= 2 else 0.001
            wB = gB**1.5 if gB >= 2 else 0.001
            tot_w += wA + wB
            if gF > gA and gF > gB:
                tot += (1 - q[0]) * wA + (1 - q[1]) * wB
    return tot / tot_w


def test_nabf_against_loops_and_reference_argument_order():
    ir, vi, f = _u8(7, (14, 11)), _u8(8, (14, 11)), _u8(9, (14, 11))
    fl = [x.astype(np.float64) for x in (ir, vi, f)]
    # analysis_Reference calls analysis_nabf(ir, vi, fused): the IR image sits in the "fused" slot
    expect = _nabf_loops(fl[0], fl[1], fl[2])
    assert ivif.evaluate(ir, vi, f, "Nabf", "tang")["Nabf"] == pytest.approx(expect, rel=1e-10)
    assert T.nabf_kumar(fl[2], fl[0], fl[1]) == pytest.approx(_nabf_loops(fl[2], fl[0], fl[1]), rel=1e-10)


def _mef_ssim_loops(seq: "list[np.ndarray]", fI: np.ndarray) -> float:
    """mef_ssim.m transcribed literally (per-pixel loops)."""
    eps = np.finfo(float).eps
    ws, bd = 11, 5
    x = np.arange(11) - 5
    win = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5**2))
    win /= win.sum()
    s1, s2 = fI.shape
    q = np.zeros((s1 - 2 * bd, s2 - 2 * bd))
    C = (0.03 * 255) ** 2
    for i in range(bd, s1 - bd):
        for j in range(bd, s2 - bd):
            blocks = [s[i - bd : i + bd + 1, j - bd : j + bd + 1] for s in seq]
            mus = [b.mean() for b in blocks]
            eds = [math.sqrt(max(ws * ws * (np.mean(b * b) - m * m), 0)) + 0.001 for b, m in zip(blocks, mus)]
            den = sum(np.linalg.norm(b - m) for b, m in zip(blocks, mus))
            tot = sum(blocks)
            num = np.linalg.norm(tot - tot.mean())
            R = (num + eps) / (den + eps)
            R = 1 - eps if R > 1 else (eps if R < 0 else R)
            p = min(math.tan(math.pi / 2 * R), 10)
            w = [(e / ws) ** p + eps for e in eds]
            w = [v / sum(w) for v in w]
            r = sum(wk * (b - m) / e for wk, b, m, e in zip(w, blocks, mus, eds))
            if np.linalg.norm(r) > 0:
                r = r / np.linalg.norm(r) * max(eds)
            fb = fI[i - bd : i + bd + 1, j - bd : j + bd + 1]
            m1, m2 = (win * r).sum(), (win * fb).sum()
            v1, v2 = (win * (r - m1) ** 2).sum(), (win * (fb - m2) ** 2).sum()
            c12 = (win * (r - m1) * (fb - m2)).sum()
            q[i - bd, j - bd] = (2 * c12 + C) / (v1 + v2 + C)
    return float(q.mean())


def test_mef_ssim_against_loops():
    a, b = _u8(10, (24, 22)).astype(float), _u8(11, (24, 22), 50, 120).astype(float)
    f = (0.6 * a + 0.4 * b).round()
    assert T.mef_ssim([a, b], f) == pytest.approx(_mef_ssim_loops([a, b], f), rel=1e-9)


def test_ms_ssim_three_scales_and_too_small():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (48, 46)).astype(np.float64)
    a, b = base, np.clip(base * 0.5 + 60, 0, 255).round()
    f = (0.5 * a + 0.5 * b).round()

    def down(x):
        p = np.pad(x, ((0, 1), (0, 1)), mode="symmetric")
        return ((p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4)[::2, ::2]

    qs, xs, fx = [], [a, b], f
    for level in range(3):
        qs.append(_mef_ssim_loops(xs, fx))
        xs, fx = [down(x) for x in xs], down(fx)
    w = np.array([0.0448, 0.2856, 0.3001])
    expect = float(np.prod(np.array(qs) ** (w / w.sum())))
    got = ivif.evaluate(a.astype(np.uint8), b.astype(np.uint8), f.astype(np.uint8), "MS_SSIM", "tang")["MS_SSIM"]
    assert got == pytest.approx(expect, rel=1e-9)
    small = _u8(1, (40, 40))
    assert ivif.evaluate(small, small, small, "MS_SSIM", "tang")["MS_SSIM"] == float("-inf")


def test_rgb_inputs_are_converted_with_rgb2gray():
    rgb = np.random.default_rng(2).integers(0, 256, (20, 18, 3), dtype=np.uint8)
    gray = np.floor(rgb @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103]) + 0.5)
    out_rgb = ivif.evaluate(rgb, rgb, rgb, "EN,AG", "tang")
    out_gray = ivif.evaluate(*(gray.astype(np.uint8),) * 3, "EN,AG", "tang")
    assert out_rgb == pytest.approx(out_gray, rel=1e-12)


# ------------------------------------------------------------------------------------------ bad input
def test_unknown_metric_names_profiles_that_define_it():
    x = _u8(1)
    with pytest.raises(MetricError, match=r"'Qcb' is not defined by profile 'tang'.*vifb"):
        ivif.evaluate(x, x, x, metrics="Qcb", profile="tang")


def test_nan_and_size_mismatch_rejected():
    x = _u8(1)
    bad = np.full(x.shape, 0.2, np.float64)
    bad[0, 0] = np.inf
    with pytest.raises(InvalidImageError, match="vi: contains 1 NaN/inf"):
        ivif.evaluate(x, bad, x, profile="tang")
    with pytest.raises(SizeMismatchError, match="ir 36x40, vi 36x40, fused 36x41"):
        ivif.evaluate(x, x, _u8(2, (41, 36)), metrics="MI", profile="tang")


def test_missing_file_named():
    x = _u8(1)
    with pytest.raises(ivif.errors.ImageReadError, match="nope.png: file not found"):
        ivif.evaluate("nope.png", x, x, profile="tang")


def test_shared_intermediates_do_not_change_values():
    """ivif.evaluate shares the 0..255 doubles, Qabf edges and the MSE between metrics; each metric
    computed alone, with the feature cache off, gives exactly the same value."""
    from ivif.metrics import _matlab as ml

    ir, vi, f = _u8(21, (64, 60)), _u8(22, (64, 60)), _u8(23, (64, 60))
    ir[:20, :20] = 200  # flat patch
    names = [n for n in P.metrics if not n.startswith("FMI")]
    together = ivif.evaluate(ir, vi, f, names, profile="tang")
    prev = ml._cache_on
    ml.set_feature_cache(False)
    try:
        for name in names:
            np.testing.assert_equal(P.metrics[name].fn(ir, vi, f), together[name], err_msg=name)
    finally:
        ml.set_feature_cache(prev)
