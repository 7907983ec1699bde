"""Sparse-representation machinery shared by VIFB's MST-SR methods (LP_SR, RP_SR, NSCT_SR) and LatLRR's data.

Facts follow Liu, Liu & Wang's MST-SR code as VIFB ships it (``sparsefusion/sparse_fusion.m``, ompbox's
``omp2``, Rockinger's pyramid toolbox ``es2``/``adb``/``selc``):

* The learned data: the 64x256 K-SVD dictionary ``D_100000_256_8.mat`` (8x8 patches) and LatLRR's projection
  matrices ``L_8.mat``/``L_16.mat``, declared as :class:`~ivif.methods.weights.WeightSpec` (resolved from
  ``$IVIF_WEIGHTS_DIR/vifb_classical``, the cache, or downloaded and sha256-checked; never copied here).
* :func:`omp_error` is ompbox's error-constrained Batch-OMP (``omp2(D, X, G, epsilon)``): greedy atom
  selection until ``||x - D gamma||_2 <= epsilon`` or 64 atoms, with its early exits (atom selected twice,
  ``alpha^2 < 1e-14``, dependent atoms ``1 - ||w||^2 <= 1e-14``). It runs on many signals at once: the
  correlations are one matrix product per iteration and the orthogonal projection is kept as a
  Gram-Schmidt basis (the same least-squares coefficients as ompbox's Cholesky updates).
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
        chunk: signals processed together (memory about ``2 * chunk * n * n * 8`` bytes; 256 keeps the
            per-signal bases in cache, measured fastest).

    Returns:
        ``m x N`` float64 coefficients (dense).
    """
    d = np.ascontiguousarray(d, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n, m = d.shape
    t_max = n if max_atoms is None or max_atoms < 0 or max_atoms > n else int(max_atoms)
    out = np.zeros((m, x.shape[1]), dtype=np.float64)
    for s in range(0, x.shape[1], chunk):
        out[:, s : s + chunk] = _omp_chunk(d, x[:, s : s + chunk].T.copy(), epsilon * epsilon, t_max).T
    return out


def _omp_chunk(d: np.ndarray, x: np.ndarray, eps2: float, t_max: int) -> np.ndarray:
    nsig, n = x.shape
    m = d.shape[1]
    dt = d.T.copy()
    gamma = np.zeros((nsig, m))
    # Working set: every row is updated each iteration with contiguous slices (no gathers); a finished
    # signal's row is frozen (zero step, count no longer advanced) and leaves the set at the next
    # compaction, when its coefficients are solved and written out.
    resnorm = np.einsum("ij,ij->i", x, x)
    sig = np.flatnonzero(resnorm > eps2)
    k = sig.size
    live = np.ones(k, dtype=bool)
    r = x[sig].copy()
    q = np.zeros((k, t_max, n))  # orthonormal basis of the selected atoms, row i = q_i
    rmat = np.zeros((k, t_max, t_max))  # D_I = Q R, R upper triangular
    z = np.zeros((k, t_max))  # coordinates of x in Q
    ind = np.zeros((k, t_max), dtype=np.int64)
    count = np.zeros(k, dtype=np.int64)
    selected = np.zeros((k, m), dtype=bool)
    i = 0
    while i < t_max and live.any():
        if live.sum() < 0.5 * live.size:
            done = np.flatnonzero(~live)
            _solve_into(gamma, sig[done], rmat[done], z[done], ind[done], count[done])
            keep = np.flatnonzero(live)
            sig, r, q, rmat, z, ind, count, selected, live = (
                a[keep] for a in (sig, r, q, rmat, z, ind, count, selected, live))
        k = sig.size
        ar = np.arange(k)
        alpha = r @ d
        pos = np.abs(alpha).argmax(axis=1)
        a = alpha[ar, pos]
        live &= ~selected[ar, pos] & (a * a >= 1e-14)
        atom = dt[pos]
        if i:
            qi = q[:, :i]
            proj = np.matmul(qi, atom[:, :, None])[:, :, 0]
            rest = 1.0 - np.einsum("ki,ki->k", proj, proj)
            live &= rest > 1e-14
            v = atom - np.matmul(proj[:, None, :], qi)[:, 0, :]
        else:
            proj = np.zeros((k, 0))
            rest = np.ones(k)
            v = atom
        if not live.any():
            break
        dead = ~live
        rest[dead] = 1.0
        proj[dead] = 0.0
        v /= np.sqrt(np.einsum("kj,kj->k", v, v) + dead)[:, None]
        v[dead] = 0.0
        q[:, i] = v
        rmat[:, :i, i] = proj
        rmat[:, i, i] = np.sqrt(rest)
        zi = np.einsum("kj,kj->k", v, r)
        z[:, i] = zi
        r -= zi[:, None] * v
        ind[:, i] = pos
        selected[ar[live], pos[live]] = True
        count[live] = i + 1
        i += 1
        live &= np.einsum("kj,kj->k", r, r) > eps2
    _solve_into(gamma, sig, rmat, z, ind, count)
    return gamma


def _solve_into(gamma: np.ndarray, sig: np.ndarray, rmat: np.ndarray, z: np.ndarray, ind: np.ndarray,
                count: np.ndarray) -> None:
    """Back-substitute ``R c = z`` (first ``count`` atoms of each row) and scatter ``c`` into ``gamma[sig]``."""
    if not sig.size:
        return
    t = int(count.max(initial=0))
    if t == 0:
        return
    c = np.zeros((sig.size, t))
    diag = np.diagonal(rmat, axis1=1, axis2=2)[:, :t].copy()
    used = np.arange(t)[None, :] < count[:, None]
    zz = np.where(used, z[:, :t], 0.0)
    diag[~used | (diag == 0)] = 1.0
    for j in range(t - 1, -1, -1):
        c[:, j] = (zz[:, j] - np.einsum("kl,kl->k", rmat[:, j, j + 1 : t], c[:, j + 1 :])) / diag[:, j]
    rows = np.repeat(sig, t)[used.ravel()]
    np.add.at(gamma, (rows, ind[:, :t].ravel()[used.ravel()]), c.ravel()[used.ravel()])


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
