"""Sparse-representation machinery shared by VIFB's MST-SR methods (LP_SR, RP_SR, NSCT_SR) and LatLRR's data.

Facts follow Liu, Liu & Wang's MST-SR code as VIFB ships it (``sparsefusion/sparse_fusion.m``, ompbox's
``omp2``, Rockinger's pyramid toolbox ``es2``/``adb``/``selc``):

* The learned data: the 64x256 K-SVD dictionary ``D_100000_256_8.mat`` (8x8 patches) and LatLRR's projection
  matrices ``L_8.mat``/``L_16.mat``, declared as :class:`~ivif.methods.weights.WeightSpec` (resolved from
  ``$IVIF_WEIGHTS_DIR/vifb_classical``, the cache, or downloaded and sha256-checked; never copied here).
* :func:`omp_error` is ompbox's error-constrained Batch-OMP (``omp2(D, X, G, epsilon)``): greedy atom
  selection until ``||x - D gamma||_2 <= epsilon`` or 64 atoms, with its early exits (atom selected twice,
  ``alpha^2 < 1e-14``, dependent atoms ``1 - ||w||^2 <= 1e-14``). It runs on a chunk of signals at once:
  the correlation update is one GEMM per iteration for the whole chunk, the orthogonal projection is a
  Gram-Schmidt basis per signal (the same least-squares coefficients as ompbox's Cholesky updates), and
  signals that have stopped leave the working set.
* :func:`sparse_fusion` is the max-L1 rule on a grid of 8x8 patches with step ``8 - overlap``: each patch
  is coded after removing its mean, the code with the larger L1 norm wins (ties keep the first image), its
  patch plus its own mean is accumulated, overlaps are averaged, and pixels no patch reaches take the
  mean of the two inputs.
* Rockinger's helpers: :func:`es2` (mirror extension that leaves the corner blocks at zero, as the MATLAB
  code does), :func:`adb` (append one mirrored row/column for odd sizes), :func:`select_consistent`
  (``selc`` mode 3: 3x3 max-abs activity, majority vote over 3x3).

All images here are float64 on the 0..255 scale of ``double(imread(...))``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Callable

import numpy as np

from ...errors import InvalidImageError, WeightsError
from ..weights import WeightSpec, resolve

_VIFB = "xingchenzhang/VIFB"
_VIFB_COMMIT = "22b2ea9d91499cc5962d9bdcae9c290270f0fade"
_RAW = f"https://raw.githubusercontent.com/{_VIFB}/{_VIFB_COMMIT}/methods"

DICTIONARY = WeightSpec(
    folder="vifb_classical",
    filename="D_100000_256_8.mat",
    url=f"{_RAW}/LP_SR/sparsefusion/Dictionary/D_100000_256_8.mat",
    sha256="ca4e6fc769ccdab7e0854c0f76d8103802fce05f8e56a8c0b461c9a7c37f4e10",
    license="not stated (VIFB repository has no license); cite VIFB and Liu et al. 2015",
    source=f"{_VIFB} @ {_VIFB_COMMIT}: methods/{{LP_SR,NSCT_SR,RP_SR}}/sparsefusion/Dictionary/D_100000_256_8.mat",
    paper="Y. Liu, S. Liu, Z. Wang, A general framework for image fusion based on multi-scale transform and "
    "sparse representation, Information Fusion 24 (2015) 147-164",
    meta={"variable": "D", "shape": (64, 256), "patch": 8},
)

LATLRR_L8 = WeightSpec(
    folder="vifb_classical",
    filename="L_8.mat",
    url=f"{_RAW}/LatLRR/models/L_8.mat",
    sha256="7cba0d58551eae76d935bb3190c1b0e96fbfffb427a669e872c26cb00aa30c8d",
    license="not stated (VIFB repository has no license); cite VIFB and Li et al.",
    source=f"{_VIFB} @ {_VIFB_COMMIT}: methods/LatLRR/models/L_8.mat",
    paper="H. Li, X.-J. Wu, J. Kittler, MDLatLRR: A novel decomposition method for infrared and visible image "
    "fusion, IEEE Transactions on Image Processing 29 (2020) 4733-4746",
    meta={"variable": "L_8", "shape": (64, 64), "patch": 8},
)

LATLRR_L16 = WeightSpec(
    folder="vifb_classical",
    filename="L_16.mat",
    url=f"{_RAW}/LatLRR/models/L_16.mat",
    sha256="9eae145befde2f454f5d521f61e8e8ef370295b609acb04eb1a6b3021ba7cad4",
    license="not stated (VIFB repository has no license); cite VIFB and Li et al.",
    source=f"{_VIFB} @ {_VIFB_COMMIT}: methods/LatLRR/models/L_16.mat",
    paper=LATLRR_L8.paper,
    meta={"variable": "L_16", "shape": (256, 256), "patch": 16},
)


def load_mat_array(spec: WeightSpec, weights: "str | os.PathLike | None" = None) -> np.ndarray:
    """Resolve ``spec`` and return its single matrix (``spec.meta['variable']``) as float64.

    ``.mat`` files are read with ``scipy.io.loadmat`` (plain numeric arrays, nothing executable). Raises
    :class:`WeightsError` when the file lacks the variable or has the wrong shape.
    """
    import scipy.io

    path = resolve(spec, weights)
    try:
        data = scipy.io.loadmat(str(path))
    except Exception as exc:  # corrupt / not a MAT file
        raise WeightsError(
            f"{path}: not a readable MATLAB .mat file ({exc}); download it again from {spec.url}"
        ) from exc
    var = spec.meta["variable"]
    if var not in data:
        found = sorted(k for k in data if not k.startswith("__"))
        raise WeightsError(f"{path}: variable {var!r} missing (found {found}); download it again from {spec.url}")
    arr = np.asarray(data[var], dtype=np.float64)
    if arr.shape != tuple(spec.meta["shape"]):
        raise WeightsError(f"{path}: {var} has shape {arr.shape}, expected {tuple(spec.meta['shape'])}")
    return arr


@lru_cache(maxsize=4)
def _cached(spec: WeightSpec, env: str | None) -> np.ndarray:
    # keyed by $IVIF_WEIGHTS_DIR so that tests pointing it elsewhere get a fresh load
    arr = load_mat_array(spec)
    arr.setflags(write=False)
    return arr


def load_dictionary(weights: "str | os.PathLike | None" = None) -> np.ndarray:
    """VIFB's 64x256 dictionary with unit-norm columns (``sparse_fusion.m`` normalises it again)."""
    if weights is not None:
        d = load_mat_array(DICTIONARY, weights)
    else:
        d = _cached(DICTIONARY, os.environ.get("IVIF_WEIGHTS_DIR"))
    return d / np.sqrt((d * d).sum(axis=0, keepdims=True))


def load_projection(unit: int, weights: "str | os.PathLike | None" = None) -> np.ndarray:
    """LatLRR's learned projection matrix for ``unit`` x ``unit`` patches (``unit`` 8 or 16)."""
    spec = {8: LATLRR_L8, 16: LATLRR_L16}.get(unit)
    if spec is None:
        raise InvalidImageError(f"LatLRR projection: unit must be 8 or 16, got {unit!r}")
    return load_mat_array(spec, weights) if weights is not None else _cached(spec, os.environ.get("IVIF_WEIGHTS_DIR"))


# --------------------------------------------------------------------------------------------- OMP
def omp_error(
    d: np.ndarray, x: np.ndarray, epsilon: float, max_atoms: int | None = None, chunk: int = 256
) -> np.ndarray:
    """Error-constrained OMP of the columns of ``x`` over the unit-norm dictionary ``d`` (ompbox ``omp2``).

    Args:
        d: ``n x m`` dictionary, unit-norm columns.
        x: ``n x N`` signals.
        epsilon: target residual L2 norm (stop once ``||r||^2 <= epsilon^2``), in the units of ``x``.
        max_atoms: at most this many atoms (default ``n``, as ompbox).
        chunk: signals advanced together (memory about ``chunk * (m + 2 n + t) * t * 8`` bytes for ``t``
            atoms: 256 signals of 8x8 patches over 256 atoms need ~50 MB).

    Returns:
        ``m x N`` float64 coefficients (dense).
    """
    d = np.ascontiguousarray(d, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n, m = d.shape
    t_max = n if max_atoms is None or max_atoms < 0 or max_atoms > n else int(max_atoms)
    out = np.zeros((m, x.shape[1]), dtype=np.float64)
    if x.shape[1] == 0 or t_max == 0:
        return out
    ws = _OmpWorkspace(d, min(chunk, x.shape[1]), t_max)
    for s in range(0, x.shape[1], chunk):
        out[:, s : s + chunk] = ws.run(np.ascontiguousarray(x[:, s : s + chunk].T), epsilon * epsilon).T
    return out


class _OmpWorkspace:
    """Buffers of one batched OMP, allocated once and reused by every chunk.

    The algorithm is ompbox's Batch-OMP in Gram-Schmidt form with no residual vector. For each signal
    it keeps the selected atoms' orthonormal basis ``q_j`` (``D_I = Q R``) stored scaled as
    ``s_j = z_j q_j`` (``z_j = q_j . x``, the coordinates of ``x``), the rows ``w_j = D^T s_j``, the
    correlations ``alpha = D^T r`` and the residual energy ``||r||^2 = ||x||^2 - sum z_j^2``. Per
    iteration ``i``:

    * atom ``pos = argmax |alpha|`` (the first of equal maxima, as MATLAB's ``max``);
    * ``p = Q^T d_pos`` is a gather ``w_j[pos] / z_j`` (no pass over ``Q``);
    * ``v = d_pos - Q p`` (one batched mat-vec over the stored ``s_j``), ``rho = ||v||``;
    * ``z_i = alpha[pos] / rho`` (as ``q_i . r`` with ``r`` orthogonal to ``Q``), ``s_i = z_i v / rho``;
    * ``w_i = D^T s_i`` is one GEMM for the whole chunk, ``alpha -= w_i``, ``||r||^2 -= z_i^2``.

    The coefficients solve ``R c = z`` (``R[j, i] = p_j``, ``R[i, i] = sqrt(1 - ||p||^2)``) once the signal
    stops. Signals that stop are frozen (zero step) and leave the working set when fewer than half are
    still running. Multi-megabyte temporaries would cost a page fault per 4 kB on every iteration, so the
    per-iteration arrays are written in place.
    """

    def __init__(self, d: np.ndarray, k: int, t_max: int):
        n, m = d.shape
        self.d, self.dt, self.t_max = d, np.ascontiguousarray(d.T), t_max
        self.s = np.empty((t_max, k, n))  # s[i, j] = z_i q_i of signal j (slot i is contiguous)
        self.w = np.empty((t_max, k, m))  # w[i, j] = D^T s[i, j]; not moved by compactions (see cols)
        self.rt = np.empty((k, t_max, t_max))  # R transposed: row i holds p, then rho on the diagonal
        self.z = np.empty((k, t_max))
        self.zdiv = np.empty((k, t_max))  # z with 0 (frozen signals) replaced by 1, for the divisions
        self.ind = np.empty((k, t_max), dtype=np.int64)
        self.alpha = np.empty((k, m))
        self.wrow = np.empty((k, m))
        self.qp = np.empty((k, 1, n))
        self.selected = np.empty((k, m), dtype=bool)

    def run(self, x: np.ndarray, eps2: float) -> np.ndarray:
        """OMP of the rows of ``x`` (``K x n``, ``K <= chunk``); returns ``K x m`` coefficients."""
        d, dt, t_max = self.d, self.dt, self.t_max
        m = d.shape[1]
        gamma = np.zeros((x.shape[0], m))
        r2 = np.einsum("ij,ij->i", x, x)
        sig = np.flatnonzero(r2 > eps2)  # the others need no atom (ompbox too)
        k = sig.size
        if k == 0:
            return gamma
        s, w, rt, z, zdiv, ind = self.s, self.w, self.rt, self.z, self.zdiv, self.ind
        alpha, wrow, qp, selected = self.alpha[:k], self.wrow[:k], self.qp[:k], self.selected[:k]
        r2 = r2[sig]
        np.matmul(x[sig], d, out=alpha)
        selected[:] = False
        count = np.zeros(k, dtype=np.int64)
        live = np.ones(k, dtype=bool)
        cols = None  # after a compaction: the column of ``w`` that holds each running signal
        i = 0
        while i < t_max:
            nlive = int(np.count_nonzero(live))
            if nlive == 0:
                break
            if nlive < 0.5 * k:
                # compact: solve the finished signals, move the running ones to the front (w stays put)
                done = np.flatnonzero(~live)
                _solve_into(gamma, sig, rt[:k, :i, :i], z[:k, :i], ind[:k, :i], count, done)
                keep = np.flatnonzero(live)
                k = keep.size
                s[:i, :k] = s[:i, keep]
                rt[:k, :i, :i] = rt[keep, :i, :i]
                z[:k, :i] = z[keep, :i]
                zdiv[:k, :i] = zdiv[keep, :i]
                ind[:k, :i] = ind[keep, :i]
                alpha[:k] = alpha[keep]
                selected[:k] = selected[keep]
                cols = keep if cols is None else cols[keep]
                sig, r2, count, live = sig[keep], r2[keep], count[keep], live[keep]
                alpha, wrow, qp, selected = alpha[:k], wrow[:k], qp[:k], selected[:k]
            ar = np.arange(k)
            # first index of max |alpha| without writing |alpha|: compare the largest and the smallest
            hi = alpha.argmax(axis=1)
            lo = alpha.argmin(axis=1)
            ahi, alo = alpha[ar, hi], alpha[ar, lo]
            pos = np.where(ahi > -alo, hi, np.where(ahi < -alo, lo, np.minimum(hi, lo)))
            a = np.where(pos == hi, ahi, alo)
            live &= ~selected[ar, pos]
            live &= a * a >= 1e-14
            v = s[i, :k]
            np.take(dt, pos, axis=0, out=v)
            if i:
                zd = zdiv[:k, :i].T
                p = w[:i, ar if cols is None else cols, pos] / zd  # (i, k): Q^T d_pos
                rest = 1.0 - np.einsum("ik,ik->k", p, p)
                live &= rest > 1e-14
                p[:, ~live] = 0.0
                np.matmul((p / zd).T[:, None, :], s[:i, :k].transpose(1, 0, 2), out=qp)
                v -= qp[:, 0, :]
            else:
                p = np.zeros((0, k))
                rest = np.ones(k)
            if not live.any():
                break
            dead = ~live
            rest[dead] = 1.0
            rho = np.sqrt(np.einsum("kj,kj->k", v, v))
            rho[dead] = 1.0
            zi = np.where(live, a, 0.0) / rho
            v *= (zi / rho)[:, None]
            z[:k, i] = zi
            zdiv[:k, i] = np.where(live, zi, 1.0)
            rt[:k, i, :i] = p.T
            rt[:k, i, i] = np.sqrt(rest)
            if cols is None:
                np.matmul(v, d, out=w[i, :k])
                alpha -= w[i, :k]
            else:
                np.matmul(v, d, out=wrow)
                w[i, cols] = wrow
                alpha -= wrow
            ind[:k, i] = pos
            selected[ar[live], pos[live]] = True
            count[live] = i + 1
            i += 1
            r2 -= zi * zi
            live &= r2 > eps2
        _solve_into(gamma, sig, rt[:k, :i, :i], z[:k, :i], ind[:k, :i], count, np.arange(k))
        return gamma


def _solve_into(gamma: np.ndarray, sig: np.ndarray, rt: np.ndarray, z: np.ndarray, ind: np.ndarray,
                count: np.ndarray, rows: np.ndarray) -> None:
    """Back-substitute ``R c = z`` for the signals ``rows`` of the workspace and write ``c`` into
    ``gamma[sig[rows]]`` at their selected atoms (distinct per signal: a repeated atom stops OMP).

    ``rt`` holds ``R`` transposed. Entries past a signal's ``count`` are those of its frozen steps
    (``p = 0``, ``rho = 1``, ``z = 0``), so they solve to 0 and need no masking.
    """
    cnt = count[rows]
    t = int(cnt.max(initial=0))
    if t == 0:
        return
    rm = np.take(rt[:, :t, :t], rows, axis=0).transpose(0, 2, 1).copy()  # R with contiguous rows
    c = np.take(z[:, :t], rows, axis=0)
    diag = np.diagonal(rm, axis1=1, axis2=2).copy()
    for j in range(t - 1, -1, -1):
        c[:, j] -= np.einsum("kl,kl->k", rm[:, j, j + 1 :], c[:, j + 1 :])
        c[:, j] /= diag[:, j]
    k_idx, j_idx = np.nonzero(np.arange(t)[None, :] < cnt[:, None])
    gamma[sig[rows[k_idx]], ind[rows[k_idx], j_idx]] = c[k_idx, j_idx]


# ---------------------------------------------------------------------------------- patch fusion
def patch_grid(h: int, w: int, patch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-left rows and columns of the patch grid ``1:step:h-patch+1`` (0-based)."""
    return np.arange(0, h - patch + 1, step), np.arange(0, w - patch + 1, step)


def extract_patches(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, patch: int) -> np.ndarray:
    """Patches at the grid ``ys x xs`` as columns (``patch^2 x N``, MATLAB column-major ``(:)`` order).

    Patch order is x-major (all ``ys`` for the first ``x``, ...), as the loops of ``sparse_fusion.m``.
    """
    win = np.lib.stride_tricks.sliding_window_view(img, (patch, patch))
    p = win[ys][:, xs]  # (ny, nx, patch, patch)
    p = p.transpose(1, 0, 3, 2)  # x-major, and column-major inside the patch
    return p.reshape(-1, patch * patch).T


def accumulate_patches(cols: np.ndarray, ys: np.ndarray, xs: np.ndarray, patch: int, shape: tuple[int, int]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Overlap-add patch columns (layout of :func:`extract_patches`); returns (sum, count) images."""
    acc = np.zeros(shape)
    cnt = np.zeros(shape)
    blocks = cols.T.reshape(xs.size, ys.size, patch, patch).transpose(1, 0, 3, 2)  # (ny, nx, py, px)
    for dy in range(patch):
        for dx in range(patch):
            acc[np.ix_(ys + dy, xs + dx)] += blocks[:, :, dy, dx]
            cnt[np.ix_(ys + dy, xs + dx)] += 1.0
    return acc, cnt


def sparse_codes(img: np.ndarray, d: np.ndarray, overlap: int, epsilon: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Codes (``m x N``) and means (``N``) of the mean-removed 8x8 grid patches of ``img``."""
    patch = int(round(np.sqrt(d.shape[0])))
    ys, xs = patch_grid(img.shape[0], img.shape[1], patch, patch - overlap)
    if ys.size == 0 or xs.size == 0:  # smaller than one patch: no codes (sparse_fusion averages)
        return np.zeros((d.shape[1], 0)), np.zeros(0)
    p = extract_patches(img, ys, xs, patch)
    mean = p.mean(axis=0)
    return omp_error(d, p - mean, epsilon), mean


def sparse_fusion(
    a: np.ndarray,
    b: np.ndarray,
    d: np.ndarray,
    overlap: int = 6,
    epsilon: float = 0.1,
    codes_a: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``sparse_fusion.m``: max-L1 fusion of the sparse codes of two equal-size ``HxW`` images.

    ``codes_a`` may pass precomputed :func:`sparse_codes` of ``a`` (the IR image shared by three channels).
    """
    h, w = a.shape
    patch = int(round(np.sqrt(d.shape[0])))
    ys, xs = patch_grid(h, w, patch, patch - overlap)
    if ys.size == 0 or xs.size == 0:
        return (a + b) / 2.0
    wa, ma = codes_a if codes_a is not None else sparse_codes(a, d, overlap, epsilon)
    wb, mb = sparse_codes(b, d, overlap, epsilon)
    take_b = np.abs(wa).sum(axis=0) < np.abs(wb).sum(axis=0)
    wf = np.where(take_b[None, :], wb, wa)
    mf = np.where(take_b, mb, ma)
    cols = d @ wf + mf[None, :]
    acc, cnt = accumulate_patches(cols, ys, xs, patch, (h, w))
    uncovered = cnt < 1
    acc[uncovered] = (a[uncovered] + b[uncovered]) / 2.0
    cnt[uncovered] = 1.0
    return acc / cnt


# ----------------------------------------------------------------------- Rockinger's toolbox helpers
def es2(x: np.ndarray, n: int) -> np.ndarray:
    """``es2.m``: mirror ``n`` rows/columns on every side (edge not repeated); the corner blocks stay 0."""
    h, w = x.shape
    y = np.zeros((h + 2 * n, w + 2 * n))
    y[n : n + h, n : n + w] = x
    y[n : n + h, :n] = x[:, n:0:-1]
    y[n : n + h, n + w :] = x[:, w - 2 : w - 2 - n : -1] if w - 2 - n >= 0 else x[:, w - 2 :: -1][:, :n]
    y[:n, n : n + w] = x[n:0:-1, :]
    y[n + h :, n : n + w] = x[h - 2 : h - 2 - n : -1, :] if h - 2 - n >= 0 else x[h - 2 :: -1, :][:n]
    return y


def adb(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``adb.m`` for one row/column: append mirrored rows/columns (edge not repeated) at bottom/right."""
    return np.pad(x, ((0, rows), (0, cols)), mode="reflect")


def conv_valid_sep(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``conv2(conv2(x, k, 'valid'), k', 'valid')`` for a symmetric odd-length 1-D kernel ``k``."""
    import cv2

    r = k.size // 2
    k = np.asarray(k, dtype=np.float64)
    out = cv2.sepFilter2D(np.asarray(x, dtype=np.float64), cv2.CV_64F, k, k, borderType=cv2.BORDER_CONSTANT)
    return out[r : x.shape[0] - r, r : x.shape[1] - r]


def max3x3_es2(x: np.ndarray) -> np.ndarray:
    """``ordfilt2(abs(es2(x, 1)), 9, ones(3))``: 3x3 maximum of ``|x|`` on the es2-extended array."""
    from scipy.ndimage import maximum_filter

    return maximum_filter(np.abs(es2(x, 1)), size=3, mode="constant", cval=0.0)


def select_consistent(m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """``selc(m1, m2, 3)`` (Li et al.): 3x3 max-abs activity, majority over 3x3 neighbours picks ``m1``."""
    a1 = max3x3_es2(m1)
    a2 = max3x3_es2(m2)
    votes = conv_valid_sep((a1 > a2).astype(np.float64), np.ones(3))
    return np.where(votes > 4, m1, m2)


def mst_sr_pyramid_fuse(
    m1: np.ndarray,
    m2: np.ndarray,
    levels: int,
    base_rule: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ratio: bool = False,
) -> np.ndarray:
    """Rockinger's Laplacian (``lp_sr_fuse.m``) or ratio (``rp_sr_fuse.m``, ``ratio=True``) pyramid fusion.

    Detail layers are fused by :func:`select_consistent`, the last low-pass by ``base_rule``. Odd sizes
    are extended by :func:`adb` before each reduction and cropped after each expansion.
    """
    w = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    eps = 1e-6
    bands = []
    sizes = []
    for _ in range(levels):
        z, s = m1.shape
        sizes.append((z, s))
        if z % 2 or s % 2:
            m1 = adb(m1, z % 2, s % 2)
            m2 = adb(m2, z % 2, s % 2)
        g1 = conv_valid_sep(es2(m1, 2), w)
        g2 = conv_valid_sep(es2(m2, 2), w)
        t1 = _expand(g1[::2, ::2], w)
        t2 = _expand(g2[::2, ::2], w)
        if ratio:
            bands.append(select_consistent(m1 / (t1 + eps), m2 / (t2 + eps)))
        else:
            bands.append(select_consistent(m1 - t1, m2 - t2))
        m1 = g1[::2, ::2]
        m2 = g2[::2, ::2]
    f = base_rule(m1, m2)
    for band, (z, s) in zip(reversed(bands), reversed(sizes)):
        t = _expand(f, w)
        f = (t + eps) * band if ratio else t + band
        f = f[:z, :s]
    return f


def _expand(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    # undec2 (zeros between samples) then the 2w interpolation filter on the es2 extension
    up = np.zeros((2 * x.shape[0], 2 * x.shape[1]))
    up[::2, ::2] = x
    return conv_valid_sep(es2(up, 2), 2.0 * w)


def to_levels(x: np.ndarray) -> np.ndarray:
    """ivif float [0, 1] -> float64 on the 0..255 scale of MATLAB's ``double(imread(...))``.

    8-bit data (multiples of 1/255) come back as exact integers, as MATLAB holds them.
    """
    v = np.asarray(x, dtype=np.float64) * 255.0
    r = np.rint(v)
    return r if np.allclose(v, r, atol=1e-3, rtol=0) else v


def vifb_channels(vi: np.ndarray) -> list[np.ndarray]:
    """The channels VIFB's ``run_*.m`` loop over: the gray image itself, or R, G, B of a colour one."""
    return [vi] if vi.ndim == 2 else [np.ascontiguousarray(vi[..., k]) for k in range(vi.shape[2])]


def stack_uint8(channels: list[np.ndarray]) -> np.ndarray:
    """MATLAB ``uint8`` of each fused channel (0..255 scale), stacked, back to float32 in [0, 1]."""
    from ._common import matlab_uint8

    out = [matlab_uint8(c) / 255.0 for c in channels]
    return (out[0] if len(out) == 1 else np.stack(out, axis=2)).astype(np.float32)


def mst_sr_fuse_image(ir: np.ndarray, vi: np.ndarray, d: np.ndarray, levels: int = 4, ratio: bool = False,
                      overlap: int = 6, epsilon: float = 0.1) -> np.ndarray:
    """LP_SR (``ratio=False``) or RP_SR of a gray IR (``HxW``) with a gray or colour VIS, ivif float in/out.

    Each VIS channel is fused with the IR image (IR first), as ``run_LP_SR.m``/``run_RP_SR.m``; the IR
    low-pass codes are computed once and shared by the three channels.
    """
    memo: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def base(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if "ir" not in memo:
            memo["ir"] = sparse_codes(a, d, overlap, epsilon)
        return sparse_fusion(a, b, d, overlap, epsilon, codes_a=memo["ir"])

    irl = to_levels(ir)
    return stack_uint8([mst_sr_pyramid_fuse(irl, to_levels(c), levels, base, ratio=ratio) for c in vifb_channels(vi)])
