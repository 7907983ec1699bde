"""The ``vifb`` profile against VIFB's own MATLAB values and independent computations.

Golden: ``../shared/data/vifb/reference_metrics/vifb_metrics_per_image.csv`` (VIFB's MATLAB output, 5
significant digits), every value of the 21 images x 25 methods x 13 metrics. Oracles for the quirks:
``sklearn.metrics.mutual_info_score`` (MI in nats), ``scipy.stats.entropy``, hand-computed tiny images.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import ivif
from ivif.errors import InvalidImageError, MetricError, SizeMismatchError
from ivif.metrics import get_profile
from ivif.metrics.profiles import shared_intermediates
from ivif.metrics.vifb import VIFB_NAMES

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vifb"
P = get_profile("vifb")
TOL = 1e-4  # absolute or relative; the issue asks 1e-3, the csv's 5 significant digits allow 5e-5


IMAGES = (
    "carLight carShadow carWhite elecbike fight kettle labMan man manCall manCar manlight manWalking "
    "manwithbag nightCar peopleshadow running snow tricycle walking walking2 walkingnight"
).split()
# SwinFusion and YDTR (added to VIFB in 2023): the JPEGs stored in VIFB's repository are not the images its
# values were computed from. EN depends on the fused file alone and is reproduced to 5e-5 for the other 23
# methods, but differs by up to 1.25e-3 relative for these two; their other metrics differ by up to 6e-2
# (CE). They are checked to that looser bound only (see docs/metrics_vifb_tang.md).
MISMATCHED = {"SwinFusion", "YDTR"}
MISMATCH_TOL = 0.07


@pytest.fixture(scope="module")
def golden() -> "dict[tuple[str, str, str], float]":
    csv_path = DATA / "reference_metrics" / "vifb_metrics_per_image.csv"
    if not csv_path.is_file():
        pytest.skip("../shared/data/vifb is not present")
    with open(csv_path, newline="") as fh:
        return {(r["image"], r["method"], r["metric"]): float(r["value"]) for r in csv.DictReader(fh)}


def _compute_image(image: str) -> "dict[tuple[str, str], float]":
    """All 13 metrics of every fused image of one scene, read from the files: {(method, VIFB name): value}."""
    ir, vi = P.load(DATA / "ir" / f"{image}.jpg", "ir"), P.load(DATA / "vi" / f"{image}.jpg", "vi")
    out = {}
    for mdir in sorted(d for d in (DATA / "fused").iterdir() if d.is_dir()):
        fpath = mdir / f"{image}.jpg"
        if fpath.is_file():
            f = P.load(fpath, "fused")
            with shared_intermediates():  # as ivif.evaluate: metrics share per-channel intermediates
                for short, d in P.metrics.items():
                    out[(mdir.name, VIFB_NAMES[short])] = float(d.fn(ir, vi, f))
    return out


@pytest.mark.parametrize("image", IMAGES)
def test_golden_values(golden, image):
    """Every VIFB value of one scene (25 methods x 13 metrics) within 1e-4 absolute or relative."""
    got = _compute_image(image)
    rows = [(m, k, g) for (i, m, k), g in golden.items() if i == image and m != "MST_SR"]
    assert len(rows) == 25 * 13
    bad = []
    for method, metric, g in rows:
        v = got[(method, metric)]
        tol = MISMATCH_TOL if method in MISMATCHED else TOL
        err = abs(v - g)
        if err > tol and err > tol * abs(g):
            bad.append((method, metric, v, g))
        # MST_SR is LP_SR under its old name: same fused images, same values
        if method == "LP_SR":
            assert abs(v - golden[(image, "MST_SR", metric)]) <= TOL * max(1.0, abs(g))
    assert not bad, f"{image}: {len(bad)} values off, e.g. {bad[:4]}"


def test_mismatched_methods_differ_in_the_fused_file_itself(golden):
    # EN depends on the fused image alone: exact for an ordinary method, off for SwinFusion's stored JPEG
    def en(method: str, image: str) -> float:
        f = P.load(DATA / "fused" / method / f"{image}.jpg", "fused")
        return P.metrics["EN"].fn(f, f, f)

    assert en("GFF", "manWalking") == pytest.approx(golden[("manWalking", "GFF", "Entropy")], rel=1e-4)
    assert abs(en("SwinFusion", "manWalking") / golden[("manWalking", "SwinFusion", "Entropy")] - 1) > 1e-3


# ------------------------------------------------------------------------------------ quirks, by hand
def _rgb(seed: int, shape=(24, 20)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape + (3,), dtype=np.uint8)


def test_sf_uses_channels_side_by_side():
    f = _rgb(1)
    wide = np.concatenate([f[..., k] for k in range(3)], axis=1).astype(np.float64)
    m, n = wide.shape
    rf = ((wide[:, 1:] - wide[:, :-1]) ** 2).sum() / (m * n)
    cf = ((wide[1:, :] - wide[:-1, :]) ** 2).sum() / (m * n)
    got = ivif.evaluate(_rgb(2), _rgb(3), f, metrics="SF", profile="vifb")["SF"]
    assert got == pytest.approx(math.sqrt(rf + cf), rel=1e-12)
    # not the mean of per-channel SFs: the seams between channels count
    per_channel = np.mean([ivif.evaluate(f[..., k], f[..., k], f[..., k], "SF", "vifb")["SF"] for k in range(3)])
    assert abs(got - per_channel) > 1e-3


def test_psnr_and_rmse_use_sqrt_sse_over_n():
    vi = np.full((10, 10), 100, np.uint8)
    ir = np.full((10, 10), 50, np.uint8)
    f = np.full((10, 10), 80, np.uint8)
    # "mse" = sqrt(sum d^2) / (M N) = |d| * 10 / 100
    mse_vi, mse_ir = 20 * 10 / 100, 30 * 10 / 100
    out = ivif.evaluate(ir, vi, f, metrics=["PSNR", "RMSE"], profile="vifb")
    assert out["RMSE"] == pytest.approx((mse_vi + mse_ir) / 2, rel=1e-12)
    assert out["PSNR"] == pytest.approx(20 * math.log10(255 / math.sqrt((mse_vi + mse_ir) / 2)), rel=1e-12)


def test_mi_is_in_nats_after_minmax_normalisation():
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(5)
    vi = rng.integers(30, 200, size=(40, 30), dtype=np.uint8)
    ir = rng.integers(0, 90, size=(40, 30), dtype=np.uint8)
    f = ((vi.astype(int) + ir) // 2).astype(np.uint8)

    def lv(x):
        x = x.astype(np.float64)
        return np.floor((x - x.min()) / (x.max() - x.min()) * 255 + 0.5).astype(int).ravel()

    expect = mutual_info_score(lv(vi), lv(f)) + mutual_info_score(lv(ir), lv(f))
    assert ivif.evaluate(ir, vi, f, metrics="MI", profile="vifb")["MI"] == pytest.approx(expect, rel=1e-10)


def test_rgb_scored_per_channel_and_averaged():
    from scipy.stats import entropy

    vi, ir, f = _rgb(7), _rgb(8), _rgb(9)
    en = [entropy(np.bincount(f[..., k].ravel(), minlength=256), base=2) for k in range(3)]
    assert ivif.evaluate(ir, vi, f, "EN", "vifb")["EN"] == pytest.approx(np.mean(en), rel=1e-12)
    # SSIM per channel against (VI channel k, IR channel k), averaged: equals the gray-by-gray computation
    per = [ivif.evaluate(ir[..., k], vi[..., k], f[..., k], "SSIM", "vifb")["SSIM"] for k in range(3)]
    assert ivif.evaluate(ir, vi, f, "SSIM", "vifb")["SSIM"] == pytest.approx(np.mean(per), rel=1e-12)


def test_arrays_and_paths_agree():
    name = "walking.jpg"
    if not (DATA / "ir" / name).is_file():
        pytest.skip("../shared/data/vifb is not present")
    paths = (DATA / "ir" / name, DATA / "vi" / name, DATA / "fused" / "GFF" / name)
    from_files = ivif.evaluate(*paths, profile="vifb")
    arrays = [ivif.io.imread(p, mode="auto") for p in paths]  # float32 in [0, 1]
    # imread(mode="auto") turns gray-as-RGB IR into HxW; VIFB keeps 3 equal channels: same values
    from_arrays = ivif.evaluate(*arrays, profile="vifb")
    for k, v in from_files.items():
        assert from_arrays[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


# ------------------------------------------------------------------------------------------ bad input
def test_unknown_metric_names_profiles_that_define_it():
    with pytest.raises(MetricError, match=r"'Nabf' is not defined by profile 'vifb'.*tang"):
        ivif.evaluate(_rgb(1), _rgb(2), _rgb(3), metrics="Nabf", profile="vifb")
    with pytest.raises(MetricError, match="no profile defines it"):
        ivif.evaluate(_rgb(1), _rgb(2), _rgb(3), metrics="NotAMetric", profile="vifb")


def test_nan_array_rejected():
    f = np.full((16, 16), 0.5, np.float32)
    f[3, 4] = np.nan
    with pytest.raises(InvalidImageError, match="fused: contains 1 NaN"):
        ivif.evaluate(np.zeros((16, 16), np.uint8), np.zeros((16, 16), np.uint8), f, profile="vifb")


def test_float_arrays_quantised_like_an_8bit_file():
    rng = np.random.default_rng(4)
    f = rng.random((16, 16, 3)).astype(np.float32)
    q = np.rint(f.astype(np.float64) * 255).astype(np.uint8)
    src = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert ivif.evaluate(src, src, f, "EN,SF", "vifb") == ivif.evaluate(src, src, q, "EN,SF", "vifb")
    with pytest.raises(InvalidImageError, match="fused: float values must lie in"):
        ivif.evaluate(src, src, f * 2, "EN", "vifb")


def test_size_mismatch_rejected():
    with pytest.raises(SizeMismatchError, match=r"ir 20x24, vi 20x24, fused 21x24"):
        ivif.evaluate(_rgb(1), _rgb(2), _rgb(3, (24, 21)), metrics="SSIM", profile="vifb")


def test_rgb_fused_with_gray_visible_fails_like_vifb():
    with pytest.raises(MetricError, match="visible image is gray"):
        ivif.evaluate(_rgb(1)[..., 0], _rgb(2)[..., 0], _rgb(3), metrics="Qabf", profile="vifb")


def test_qcb_gray_fused_with_rgb_sources_fails_like_vifb():
    with pytest.raises(MetricError, match="Qcb"):
        ivif.evaluate(_rgb(1), _rgb(2), _rgb(3)[..., 0], metrics="Qcb", profile="vifb")


def test_shared_intermediates_do_not_change_values():
    """ivif.evaluate shares per-channel edge maps, moments and spectra between metrics (and IR's between
    channels); each metric computed alone, with the feature cache off, gives exactly the same value."""
    from ivif.metrics import _matlab as ml

    rng = np.random.default_rng(5)
    vi, f = _rgb(11, (64, 60)), _rgb(12, (64, 60))
    ir = rng.integers(0, 256, size=(64, 60), dtype=np.uint8)
    ir[:20, :20] = 9  # flat patch
    together = ivif.evaluate(ir, vi, f, profile="vifb")
    prev = ml._cache_on
    ml.set_feature_cache(False)
    try:
        for name, d in P.metrics.items():
            np.testing.assert_equal(d.fn(ir, vi, f), together[name], err_msg=name)
    finally:
        ml.set_feature_cache(prev)
