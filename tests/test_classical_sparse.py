"""Sparse-representation classical methods (LP_SR, RP_SR, NSCT_SR), their shared machinery, and the
baselines maximum, weighted average, Laplacian pyramid and DWT (LatLRR has tests/test_classical_latlrr.py).

Fidelity: each VIFB method is run on the real VIFB pairs and compared with VIFB's own fused JPEG (mean
absolute difference of the MATLAB-gray luma, averaged over the images, must be <= 2.5 grey levels).
LP_SR and RP_SR are checked on all 21 pairs. NSCT_SR sparse-codes ~75k patches per channel of a 640x480
pair (about a minute of CPU per pair), so the default run checks it on a fixed subset of three pairs spread
over the sizes (NSCT_PAIRS: 328x254 with a single-channel IR, 452x332, 640x480; ~2.5 min of CPU on one
core); ``IVIF_FULL_FIDELITY=1`` checks all 21 (see docs/classical_sparse.md for the full-run numbers).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ivif import create_method
from ivif.errors import IvifError, WeightsError
from ivif.io import imread, to_gray

VIFB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vifb"
FULL = os.environ.get("IVIF_FULL_FIDELITY") == "1"
ALL_PAIRS = sorted(p.stem for p in (VIFB / "ir").glob("*.jpg")) if VIFB.is_dir() else []
# NSCT_SR's default subset, small / middle / largest size: walkingnight 328x254 (its IR file is a
# single-channel JPEG, so the gray-IR path is exercised), fight 452x332, labMan 640x480 (the pair with the
# largest difference in the full 21-pair run); a fourth pair (manCar 512x384) took the CPU past 3 minutes
NSCT_PAIRS = ["walkingnight", "fight", "labMan"]


@pytest.fixture(autouse=True)
def _weights(weights_env):
    return weights_env


def _fidelity(method: str, folder: str, names: list[str]) -> list[float]:
    m = create_method(method)
    diffs = []
    for n in names:
        out = m.fuse(VIFB / "ir" / f"{n}.jpg", VIFB / "vi" / f"{n}.jpg")
        ref = imread(VIFB / "fused" / folder / f"{n}.jpg")
        assert out.shape == ref.shape, n
        a = to_gray(out, "matlab").astype(np.float64) * 255.0
        b = to_gray(ref, "matlab").astype(np.float64) * 255.0
        diffs.append(float(np.abs(a - b).mean()))
    return diffs


@pytest.mark.parametrize(
    "method,folder,names",
    [
        ("lp_sr", "LP_SR", ALL_PAIRS),
        ("rp_sr", "RP_SR", ALL_PAIRS),
        ("nsct_sr", "NSCT_SR", ALL_PAIRS if FULL else NSCT_PAIRS),
    ],
)
def test_vifb_fidelity(method, folder, names, shared):
    assert names, "VIFB pairs missing"
    diffs = _fidelity(method, folder, names)
    assert np.mean(diffs) <= 2.5, dict(zip(names, np.round(diffs, 3)))
    assert max(diffs) <= 4.0, dict(zip(names, np.round(diffs, 3)))


# ------------------------------------------------------------------------------------ shared machinery
def test_omp_matches_sklearn(shared):
    from sklearn.linear_model import orthogonal_mp_gram

    from ivif.methods.classical._sparse import load_dictionary, omp_error

    d = load_dictionary()
    rng = np.random.default_rng(1)
    # smooth-ish zero-mean 8x8 patches on the 0..255 scale, and a few with a loose target
    x = rng.standard_normal((64, 40)) * 30.0
    x -= x.mean(axis=0)
    for eps in (0.1, 25.0):
        ours = omp_error(d, x, eps)
        ref = orthogonal_mp_gram(d.T @ d, d.T @ x, tol=eps * eps, norms_squared=(x * x).sum(axis=0))
        assert np.allclose(ours, ref, atol=1e-7 * np.abs(ref).max())
        assert np.all(np.linalg.norm(x - d @ ours, axis=0) <= eps + 1e-9)
    # a cap on the atom count (ompbox's maxatoms) with chunks that do not divide the signal count
    capped = omp_error(d, x, 0.1, max_atoms=5, chunk=7)
    ref = orthogonal_mp_gram(d.T @ d, d.T @ x, n_nonzero_coefs=5)
    assert np.array_equal(capped != 0, ref != 0) and np.allclose(capped, ref, atol=1e-9 * np.abs(ref).max())
    assert omp_error(d, np.zeros((64, 0)), 0.1).shape == (256, 0)


def test_omp_matches_sklearn_on_real_lowpass_patches(shared):
    # NSCT_SR's real workload: mean-removed 8x8 patches of an NSCT low-pass band, ~57 atoms each (most
    # of the 64 dimensions, so the late atoms are chosen on an ill-conditioned basis). Small chunks make
    # signals stop at different iterations and leave the working set (compaction) several times.
    from sklearn.linear_model import orthogonal_mp_gram

    from ivif.methods.classical._nsct import nsct_dec
    from ivif.methods.classical._sparse import extract_patches, load_dictionary, omp_error, patch_grid, to_levels

    img = to_levels(imread(VIFB / "vi" / "fight.jpg"))[:120, :160, 1]
    low, _ = nsct_dec(img, 2)
    ys, xs = patch_grid(low.shape[0], low.shape[1], 8, 2)
    x = extract_patches(low, ys, xs, 8)[:, ::12]
    x = x - x.mean(axis=0)
    d = load_dictionary()
    ours = omp_error(d, x, 0.1, chunk=64)
    ref = orthogonal_mp_gram(d.T @ d, d.T @ x, tol=0.01, norms_squared=(x * x).sum(axis=0))
    assert x.shape[1] > 300 and np.count_nonzero(ref, axis=0).mean() > 50
    assert np.array_equal(ours != 0, ref != 0)  # the same atoms for every patch
    assert np.abs(ours - ref).max() <= 1e-9 * np.abs(ref).max()
    assert np.all(np.linalg.norm(x - d @ ours, axis=0) <= 0.1 + 1e-9)


def test_omp_zero_signal_and_chunks(shared):
    from ivif.methods.classical._sparse import load_dictionary, omp_error

    d = load_dictionary()
    x = np.zeros((64, 5))
    x[:, 2] = d[:, 7] * 3.0
    g = omp_error(d, x, 0.1, chunk=2)
    assert np.count_nonzero(g[:, [0, 1, 3, 4]]) == 0  # zero signals get no atoms
    assert np.flatnonzero(g[:, 2]).tolist() == [7] and np.isclose(g[7, 2], 3.0)


def test_sparse_fusion_picks_larger_l1_and_keeps_means(shared):
    from ivif.methods.classical._sparse import load_dictionary, sparse_fusion

    d = load_dictionary()
    flat = np.full((12, 12), 100.0)
    textured = 50.0 + 40.0 * (np.indices((12, 12)).sum(axis=0) % 2)  # checkerboard: large codes
    f = sparse_fusion(flat, textured, d, overlap=6, epsilon=0.1)
    assert np.abs(f - textured).max() < 0.1  # every patch taken from the textured image
    # a flat image against itself: codes are empty, means are kept exactly
    assert np.allclose(sparse_fusion(flat, flat, d), 100.0)
    # 9x9: the 8x8 grid with step 2 misses the last row/column, which take the mean of the inputs
    a, b = np.full((9, 9), 10.0), np.full((9, 9), 30.0)
    out = sparse_fusion(a, b, d)
    assert np.allclose(out[:8, :8], 10.0) and np.allclose(out[8, :], 20.0) and np.allclose(out[:, 8], 20.0)


def test_es2_and_adb_by_hand():
    from ivif.methods.classical._sparse import adb, es2

    x = np.arange(1.0, 10.0).reshape(3, 3)
    e = es2(x, 1)
    expect = np.array([
        [0, 4, 5, 6, 0],
        [2, 1, 2, 3, 2],
        [5, 4, 5, 6, 5],
        [8, 7, 8, 9, 8],
        [0, 4, 5, 6, 0],
    ], dtype=float)
    assert np.array_equal(e, expect)  # mirror without the edge, corners left at 0 as in es2.m
    assert np.array_equal(adb(x, 1, 1)[3], [4.0, 5.0, 6.0, 5.0])


def test_select_consistent_majority():
    from ivif.methods.classical._sparse import select_consistent

    m1 = np.zeros((6, 6))
    m2 = np.ones((6, 6))
    m1[2, 2] = 10.0  # a single strong coefficient wins only where it dominates the 3x3 vote
    out = select_consistent(m1, m2)
    # 3x3 max of |m1| is 10 on rows/cols 1..3; a pixel takes m1 when > 4 of its 3x3 neighbours say so
    assert out[2, 2] == 10.0 and out[1, 2] == 0.0 and out[2, 3] == 0.0
    assert out[1, 1] == 1.0 and out[0, 5] == 1.0  # only 4 votes at the block's corner


def test_weights_missing_and_bad(tmp_path, monkeypatch):
    from ivif.methods.classical._sparse import DICTIONARY, LATLRR_L8, load_mat_array
    from ivif.methods.weights import resolve

    monkeypatch.setenv("IVIF_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("IVIF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WeightsError, match="D_100000_256_8.mat"):
        resolve(DICTIONARY, download=False)  # the message names the file, its URL and where to put it
    bad = tmp_path / "x.mat"
    bad.write_bytes(b"not a mat file")
    with pytest.raises(WeightsError, match="MATLAB .mat"):
        load_mat_array(DICTIONARY, bad)
    # a real .mat that lacks the variable (the LatLRR matrix offered as the dictionary)
    wrong = Path(__file__).resolve().parents[1].parent / "shared" / "weights" / "vifb_classical" / "L_8.mat"
    if wrong.is_file():
        with pytest.raises(WeightsError, match="variable 'D' missing"):
            load_mat_array(DICTIONARY, wrong)
        assert load_mat_array(LATLRR_L8, wrong).shape == (64, 64)


# ----------------------------------------------------------------------------------------------- NSCT
def test_nsct_filters_and_perfect_reconstruction():
    from ivif.methods.classical._nsct import atrousfilters, dfilters_vk, nsct_dec, nsct_rec

    h0, h1 = dfilters_vk("d")
    # McClellan transform of [1 2 1]/4 and [-1 -2 6 -2 -1]/4 with the diamond kernel, by hand
    assert np.allclose(h0, [[0, 1 / 8, 0], [1 / 8, 1 / 2, 1 / 8], [0, 1 / 8, 0]])
    assert h1.shape == (5, 5) and np.isclose(h1[2, 2], 1.75) and np.isclose(h1[0, 2], -1 / 16)
    assert np.isclose(h1.sum(), 0.0)
    a0, a1, g0, g1 = atrousfilters("pyrexc")
    assert a0.shape == (5, 5) and g0.shape == (7, 7) and np.isclose(a0.sum(), 1.0) and np.isclose(g0.sum(), 1.0)
    x = np.random.default_rng(0).random((29, 41)) * 255
    low, bands = nsct_dec(x, 2)
    assert len(bands) == 4 and all(b.shape == x.shape for b in bands)
    assert np.abs(nsct_rec(low, bands) - x).max() < 1e-9


def test_sr_gray_inputs_and_size_mismatch(shared):
    ir = imread(VIFB / "ir" / "walking.jpg")[:64, :80]
    vi = to_gray(imread(VIFB / "vi" / "walking.jpg"), "matlab")[:64, :80]
    for name in ("lp_sr", "rp_sr", "nsct_sr"):
        out = create_method(name).fuse(ir, vi)
        assert out.shape == (64, 80) and out.dtype == np.float32
        assert np.allclose(out * 255, np.rint(out * 255), atol=1e-3)  # uint8 levels, as VIFB stores
    for name in ("lp_sr", "nsct_sr"):
        with pytest.raises(IvifError, match="equal size"):
            create_method(name).fuse(ir, vi[:, :40])


# ------------------------------------------------------------------------------------------ baselines
def test_maximum_and_weighted_average():
    a = np.array([[0.1, 0.9], [0.5, 0.0]], np.float32)
    b = np.array([[0.4, 0.2], [0.5, 1.0]], np.float32)
    assert np.allclose(create_method("maximum").fuse(a, b), [[0.4, 0.9], [0.5, 1.0]])
    assert np.allclose(create_method("weighted_average", w=0.25).fuse(a, b), 0.25 * a + 0.75 * b)
    assert np.allclose(create_method("weighted_average").fuse(a, b), (a + b) / 2)
    for bad in (-0.1, 1.5, "x"):
        with pytest.raises(IvifError, match="w must"):
            create_method("weighted_average", w=bad)


def _burt_pyramid(x: np.ndarray, levels: int) -> list[np.ndarray]:
    # independent formula: binomial 5-tap filter with mirror (reflect-101) borders, keep even samples;
    # expansion by zero insertion, the same filter and a gain of 4
    from scipy.ndimage import convolve1d

    k = np.array([1, 4, 6, 4, 1], float) / 16

    def blur(y: np.ndarray) -> np.ndarray:
        return convolve1d(convolve1d(y, k, axis=0, mode="mirror"), k, axis=1, mode="mirror")

    out, g = [], x.astype(np.float64)
    for _ in range(levels):
        down = blur(g)[::2, ::2]
        up = np.zeros_like(g)
        up[::2, ::2] = down
        out.append(g - 4 * blur(up))
        g = down
    return out + [g]


def test_laplacian_pyramid_against_second_formula():
    from ivif.methods.classical.laplacian_pyramid import collapse_pyramid, laplacian_pyramid

    x = np.random.default_rng(3).random((32, 48))
    ours = laplacian_pyramid(x, 3)
    ref = _burt_pyramid(x, 3)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-9)
    assert np.allclose(collapse_pyramid(ours), x)
    a, b = np.random.default_rng(4).random((2, 32, 48)).astype(np.float32)
    fused = create_method("laplacian_pyramid", levels=3).fuse(a, b)
    pa, pb = _burt_pyramid(a, 3), _burt_pyramid(b, 3)
    bands = [np.where(np.abs(u) >= np.abs(v), u, v) for u, v in zip(pa[:-1], pb[:-1])] + [(pa[-1] + pb[-1]) / 2]
    assert np.allclose(fused, np.clip(collapse_pyramid(bands), 0, 1), atol=1e-6)
    with pytest.raises(IvifError, match="too deep"):
        create_method("laplacian_pyramid", levels=9).fuse(a, b)
    with pytest.raises(IvifError, match="positive integer"):
        create_method("laplacian_pyramid", levels=0)


def test_dwt_haar_by_hand():
    ir = np.array([[0.8, 0.8], [0.0, 0.0]], np.float32)  # horizontal edge: detail only in one band
    vi = np.array([[0.2, 0.4], [0.2, 0.4]], np.float32)  # vertical edge
    out = create_method("dwt", wavelet="haar", levels=1).fuse(ir, vi)
    # haar: cA = sum/2; IR has cH = (0.8+0.8-0-0)/2 = 0.8, VI has cV = (0.2-0.4+0.2-0.4)/2 = -0.2
    ca = (1.6 / 2 + 1.2 / 2) / 2  # averaged approximation = 0.7
    ch, cv = 0.8, -0.2
    # inverse haar of (ca, ch, cv, 0)
    expect = 0.5 * np.array([[ca + ch + cv, ca + ch - cv], [ca - ch + cv, ca - ch - cv]])
    assert np.allclose(out, np.clip(expect, 0, 1), atol=1e-6)
    x = np.random.default_rng(5).random((31, 45)).astype(np.float32)
    assert np.allclose(create_method("dwt", wavelet="db2", levels=2).fuse(x, x), x, atol=1e-6)
    with pytest.raises(IvifError, match="unknown discrete wavelet"):
        create_method("dwt", wavelet="nope")
    with pytest.raises(IvifError, match="too deep"):
        create_method("dwt", levels=12).fuse(x, x)


def test_registered_metadata():
    from ivif.registry import METHODS

    for name, disp in [("lp_sr", "LP_SR"), ("rp_sr", "RP_SR"), ("nsct_sr", "NSCT_SR")]:
        cls = METHODS.get(name)
        assert cls.display_name == disp and cls.family == "classical"
        assert METHODS.get(disp) is cls  # VIFB spelling is an alias
