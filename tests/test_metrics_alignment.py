"""Registration metrics (``ivif.metrics.alignment``) against loops, sklearn and hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ivif.errors import InvalidImageError, MetricError, SizeMismatchError
from ivif.metrics import alignment as al

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _imgs(h=13, w=11, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((h, w)).astype(np.float32)
    b = np.clip(0.7 * a + 0.3 * rng.random((h, w)), 0, 1).astype(np.float32)
    return a, b


def lncc_loop(a, b, win, eps=1e-5):
    """Window sums pixel by pixel on a zero-padded image, the UMF-CMGR formulas."""
    r = win // 2
    x = np.pad(a.astype(np.float64), r)
    y = np.pad(b.astype(np.float64), r)
    n = win * win
    vals = []
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            px, py = x[i : i + win, j : j + win], y[i : i + win, j : j + win]
            sx, sy = px.sum(), py.sum()
            ux, uy = sx / n, sy / n
            cross = (px * py).sum() - uy * sx - ux * sy + ux * uy * n
            vx = (px * px).sum() - 2 * ux * sx + ux * ux * n
            vy = (py * py).sum() - 2 * uy * sy + uy * uy * n
            vals.append(cross * cross / (vx * vy + eps))
    return float(np.mean(vals))


def test_mse_ncc_hand_and_numpy():
    a = np.zeros((4, 4), np.uint8)
    b = np.full((4, 4), 51, np.uint8)  # 0.2
    assert al.mse(a, b) == pytest.approx(0.04)
    x, y = _imgs()
    assert al.ncc(x, y, eps=(0, 0)) == pytest.approx(np.corrcoef(x.ravel(), y.ravel())[0, 1], rel=1e-6)
    # UMF-CMGR epsilons: cov / sqrt((var+1e-5)(var+1e-6))
    xd, yd = x.astype(float), y.astype(float)
    ref = np.mean((xd - xd.mean()) * (yd - yd.mean())) / math.sqrt((xd.var() + 1e-5) * (yd.var() + 1e-6))
    assert al.ncc(x, y) == pytest.approx(ref, rel=1e-9)
    assert al.ncc(x, x) < 1.0


@pytest.mark.parametrize("win", [1, 3, 5, 17])
def test_lncc_against_loop(win):
    x, y = _imgs()
    assert al.lncc(x, y, window=win) == pytest.approx(lncc_loop(x, y, win), rel=1e-9, abs=1e-12)


def test_mi_against_sklearn_and_entropy():
    sk = pytest.importorskip("sklearn.metrics")
    x, y = _imgs(40, 30)
    qa, qb = np.rint(x * 255).astype(int), np.rint(y * 255).astype(int)
    assert al.mi(x, y) == pytest.approx(sk.mutual_info_score(qa.ravel(), qb.ravel()) / math.log(2), rel=1e-10)
    half = np.zeros((8, 8), np.uint8)
    half[:, 4:] = 255
    assert al.mi(half, half) == pytest.approx(1.0)  # H = 1 bit


def test_epe():
    gt = np.zeros((5, 6, 2))
    fl = gt.copy()
    fl[..., 0] = 3.0
    fl[..., 1] = 4.0
    assert al.epe(fl, gt) == pytest.approx(5.0)
    mask = np.zeros((5, 6), bool)
    mask[0, 0] = True
    fl2 = gt.copy()
    fl2[0, 0] = (1.0, 1.0)
    fl2[1, 1] = (10.0, 0.0)
    assert al.epe(fl2, gt, mask=mask) == pytest.approx(math.sqrt(2))
    assert al.epe(np.moveaxis(fl, -1, 0), gt) == pytest.approx(5.0)  # 2xHxW accepted


def test_epe_against_real_flow_shape():
    flows = sorted((SHARED / "data" / "msrs" / "flow").glob("*.mat"))
    if not flows:
        pytest.skip("../shared/data not available")
    sio = pytest.importorskip("scipy.io")
    d = sio.loadmat(flows[0])
    arr = next(v for k, v in d.items() if not k.startswith("__") and isinstance(v, np.ndarray) and v.ndim >= 3)
    f = np.squeeze(arr).astype(np.float64)
    if f.ndim == 3 and f.shape[0] == 2:
        f = np.moveaxis(f, 0, -1)
    assert al.epe(f, f) == 0.0
    assert al.epe(f + np.array([0.0, 2.0]), f) == pytest.approx(2.0)


def test_errors():
    x, y = _imgs()
    with pytest.raises(SizeMismatchError):
        al.mse(x, y[:-1])
    with pytest.raises(InvalidImageError, match="NaN"):
        al.ncc(np.full_like(x, np.nan), y)
    with pytest.raises(InvalidImageError, match="dtype"):
        al.mse(x.astype(np.int64), y)
    with pytest.raises(InvalidImageError, match="to_gray"):
        al.mi(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(MetricError, match="odd"):
        al.lncc(x, y, window=4)
    with pytest.raises(MetricError, match="constant"):
        al.ncc(np.zeros((4, 4)), np.zeros((4, 4)), eps=(0, 0))
    with pytest.raises(InvalidImageError, match="HxWx2"):
        al.epe(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(MetricError, match="no pixel"):
        al.epe(np.zeros((4, 4, 2)), np.zeros((4, 4, 2)), mask=np.zeros((4, 4), bool))
