"""LatLRR (MDLatLRR as VIFB's ``run_LatLRR.m`` runs it): fidelity to VIFB's fused images, the vectorised
machinery against patch-by-patch references, and bad input.

Fidelity: the port fuses every one of the 21 real VIFB pairs at full size and is compared with VIFB's own
fused JPEG: mean absolute difference of the MATLAB-gray luma (x255). The issue's tolerance is a mean of
<= 2.5 grey levels over the pairs; each pair is asserted within 0.1 of its recorded value (their mean is
1.51, JPEG re-encoding alone costs ~1.5) and below 4. One test per pair, so that ``pytest -n`` spreads
them (~155 s CPU in all on the shared 2-core machine).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ivif import create_method
from ivif.errors import IvifError
from ivif.io import imread, to_gray

VIFB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vifb"

#: mean |luma(ivif) - luma(VIFB's LatLRR JPEG)| per pair, grey levels (measured 2026-11-26, all 21 pairs)
RECORDED = {
    "carLight": 0.815, "carShadow": 0.932, "carWhite": 1.720, "elecbike": 1.150, "fight": 1.484,
    "kettle": 1.698, "labMan": 1.724, "man": 1.322, "manCall": 1.302, "manCar": 1.146,
    "manWalking": 1.524, "manlight": 1.492, "manwithbag": 1.453, "nightCar": 1.480,
    "peopleshadow": 2.551, "running": 2.159, "snow": 1.846, "tricycle": 1.222, "walking": 2.314,
    "walking2": 1.392, "walkingnight": 0.994,
}


@pytest.fixture(autouse=True)
def _weights(weights_env):
    return weights_env


@pytest.fixture(scope="module")
def latlrr():
    return create_method("latlrr")


def _proj() -> np.ndarray:
    from ivif.methods.classical._sparse import load_projection

    return load_projection(8)


# ------------------------------------------------------------------------------------------- fidelity
def test_recorded_pairs_are_the_vifb_set(shared):
    assert sorted(p.stem for p in (VIFB / "ir").glob("*.jpg")) == sorted(RECORDED)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_vifb_fidelity(name, latlrr, shared):
    out = latlrr.fuse(VIFB / "ir" / f"{name}.jpg", VIFB / "vi" / f"{name}.jpg")
    ref = imread(VIFB / "fused" / "LatLRR" / f"{name}.jpg")
    assert out.shape == ref.shape
    a = to_gray(out, "matlab").astype(np.float64) * 255.0
    b = to_gray(ref, "matlab").astype(np.float64) * 255.0
    diff = float(np.abs(a - b).mean())
    assert diff <= 4.0 and abs(diff - RECORDED[name]) <= 0.1, diff


# ----------------------------------------------------------------------------- patch-by-patch reference
def _ref_decompose(img: np.ndarray, lmat: np.ndarray, levels: int) -> tuple[np.ndarray, list, np.ndarray]:
    """deep_latent.m / decomposition.m with explicit loops: base, per-level patch vectors, count."""
    h, w = img.shape
    base = img.copy()
    vecs = []
    cnt = np.zeros((h, w))
    for y in range(h - 7):
        for x in range(w - 7):
            cnt[y : y + 8, x : x + 8] += 1
    for _ in range(levels):
        v = {}
        det = np.zeros((h, w))
        for y in range(h - 7):
            for x in range(w - 7):
                p = lmat @ base[y : y + 8, x : x + 8].flatten(order="F")
                v[y, x] = p
                det[y : y + 8, x : x + 8] += p.reshape(8, 8, order="F")
        vecs.append(v)
        base = base - det / cnt
    return base, vecs, cnt


def _ref_fuse(ir: np.ndarray, vi: np.ndarray, lmat: np.ndarray, levels: int) -> np.ndarray:
    """fusion_method.m with loops and ``svd`` nuclear norms (accumulator not reset between levels)."""
    b1, v1, cnt = _ref_decompose(ir, lmat, levels)
    b2, v2, _ = _ref_decompose(vi, lmat, levels)
    acc = np.zeros(ir.shape)
    fused = np.zeros(ir.shape)
    for lev in range(levels):
        for (y, x), p1 in v1[lev].items():
            p2 = v2[lev][y, x]
            n1 = np.linalg.svd(p1.reshape(8, 8, order="F"), compute_uv=False).sum()
            n2 = np.linalg.svd(p2.reshape(8, 8, order="F"), compute_uv=False).sum()
            f = n1 / (n1 + n2) * p1 + n2 / (n1 + n2) * p2
            acc[y : y + 8, x : x + 8] += f.reshape(8, 8, order="F")
        fused += acc / cnt
    return 0.5 * b1 + 0.5 * b2 + fused


def test_latlrr_fuse_matches_loop_reference(shared):
    from ivif.methods.classical.latlrr import latlrr_fuse

    rng = np.random.default_rng(5)
    h, w = 13, 17
    # smooth images plus texture, on im2double's [0, 1] scale
    yy, xx = np.mgrid[0:h, 0:w]
    ir = 0.5 + 0.3 * np.sin(yy / 3.0) * np.cos(xx / 4.0) + 0.05 * rng.standard_normal((h, w))
    vi = 0.4 + 0.2 * np.cos(yy / 2.0 + xx / 5.0) + 0.05 * rng.standard_normal((h, w))
    lmat = _proj()
    ref = _ref_fuse(ir, vi, lmat, levels=3)
    (ours,) = latlrr_fuse(ir, [vi], lmat, levels=3)
    # float32 projections/overlap-adds: ~1e-6 of the [0, 1] scale, i.e. ~3e-4 grey levels
    assert np.abs(ours - ref).max() < 5e-6


def test_colour_ir_list_equals_shared_ir(shared):
    from ivif.methods.classical.latlrr import latlrr_fuse

    rng = np.random.default_rng(6)
    ir = rng.random((20, 24))
    vis = [rng.random((20, 24)) for _ in range(3)]
    shared_out = latlrr_fuse(ir, vis, _proj(), levels=2)
    list_out = latlrr_fuse([ir, ir, ir], vis, _proj(), levels=2)
    for a, b in zip(shared_out, list_out):
        assert np.array_equal(a, b)
    # each channel is fused independently of the others
    (alone,) = latlrr_fuse(ir, [vis[1]], _proj(), levels=2)
    assert np.array_equal(alone, shared_out[1])


def test_nuclear_norms_match_svd():
    from ivif.methods.classical.latlrr import nuclear_norms

    rng = np.random.default_rng(2)
    v = rng.standard_normal((500, 64))
    v[:50] *= 1e-6  # tiny patches
    v[50:100, 32:] = 0.0  # rank-deficient patches (right half of each 8x8 matrix zero)
    v[100] = 0.0  # an all-zero patch has nuclear norm 0 (VIFB's weights are then 0/0)
    ref = np.linalg.svd(v.reshape(-1, 8, 8), compute_uv=False).sum(axis=1)
    ours = nuclear_norms(v, 8)
    assert ours[100] == 0.0
    assert np.allclose(ours, ref, rtol=2e-6, atol=0)


def test_count_im2col_overlap_add_by_hand():
    from ivif.methods.classical.latlrr import _count, _im2col, _overlap_add

    h, w = 11, 13
    brute = np.zeros((h, w))
    for i in range(h - 7):
        for j in range(w - 7):
            brute[i : i + 8, j : j + 8] += 1
    assert np.array_equal(_count(h, w, 8), brute)

    img = np.arange(h * w, dtype=np.float32).reshape(h, w)
    cols = _im2col(img, 1, 2, 8)  # patch rows 1 and 2, all 6 patch columns
    assert cols.shape == (64, 12)
    # patch (y=2, x=3) is column 1 * 6 + 3, stored column-major (MATLAB temp(:))
    assert np.array_equal(cols[:, 9], img[2:10, 3:11].flatten(order="F"))
    acc = np.zeros((h, w), np.float32)
    _overlap_add(acc, cols, 1, 8)
    expect = np.zeros((h, w), np.float32)
    for k in range(12):
        y, x = 1 + k // 6, k % 6
        expect[y : y + 8, x : x + 8] += cols[:, k].reshape(8, 8, order="F")
    assert np.array_equal(acc, expect)


def test_gray_and_colour_inputs(shared):
    ir = imread(VIFB / "ir" / "walking.jpg")[:40, :48]
    vi = imread(VIFB / "vi" / "walking.jpg")[:40, :48]
    m = create_method("latlrr")
    rgb = m.fuse(ir, vi)
    assert rgb.shape == (40, 48, 3) and rgb.dtype == np.float32
    # a gray VIS is one channel: the same as the matching channel of the colour run
    g = m.fuse(ir, np.ascontiguousarray(vi[..., 1]))
    assert g.shape == (40, 48)
    assert np.array_equal(g, rgb[..., 1])
    # a colour IR array with equal channels is VIFB's per-channel branch and gives the same image
    assert np.array_equal(m.fuse(np.stack([ir] * 3, axis=2), vi), rgb)
    # a gray VIS stored as RGB is fused once and copied: the same as three independent channels
    gray3 = np.stack([vi[..., 1]] * 3, axis=2)
    assert np.array_equal(m.fuse(ir, gray3), np.stack([g] * 3, axis=2))
    # outputs are im2uint8 levels
    lv = rgb.astype(np.float64) * 255.0
    assert np.abs(lv - np.rint(lv)).max() < 1e-3


def test_latlrr_bad_input(shared):
    with pytest.raises(IvifError, match="at least 8x8"):
        create_method("latlrr").fuse(np.zeros((5, 20), np.float32), np.zeros((5, 20), np.float32))
    with pytest.raises(IvifError, match="levels"):
        create_method("latlrr", levels=0)
    with pytest.raises(IvifError, match="levels"):
        create_method("latlrr", levels=True)
    with pytest.raises(IvifError):
        create_method("latlrr").fuse(np.zeros((20, 20), np.float32), np.zeros((20, 24), np.float32))
    from ivif.methods.classical.latlrr import latlrr_fuse, nuclear_norms

    with pytest.raises(IvifError, match="N x 64 array"):
        nuclear_norms(np.zeros((3, 8, 8)), 8)
    with pytest.raises(IvifError, match="2 IR channels for 3 visible"):
        latlrr_fuse([np.zeros((9, 9))] * 2, [np.zeros((9, 9))] * 3, _proj())
