"""LatLRR (MDLatLRR): multi-level latent low-rank decomposition fusion (Li, Wu & Kittler), as VIFB runs it.

``run_LatLRR.m`` (VIFB): sources read with ``im2double``; the learned 64x64 projection ``L_8`` is applied to
every overlapping 8x8 patch (stride 1) of the current base image; the projected patches, put back and
averaged over their overlaps, form the detail layer, and base minus detail is the next base (4 levels,
``deep_latent.m``/``decomposition.m``). Bases: averaged. Details, per level and patch: weighted by the
nuclear norms of the two projected patches (``norm = 'nu'``), put back and averaged (``fusion_method.m``).
VIFB's ``fusion_method.m`` does not reset its accumulator between levels, so the fused detail it adds is
``(4 R_1 + 3 R_2 + 2 R_3 + R_4) / count`` (``R_i`` the overlap-added fused patches of level ``i``), not
``sum R_i / count``; this port reproduces that, as it produced VIFB's published images. A colour visible
image is fused channel by channel with the infrared image; the output is ``im2uint8`` of the result.

Speed: a colour pair needs ``4 x (1 + 3)`` nuclear norms per pixel (one 8x8 SVD each in VIFB). They are
computed for all patches of a block at once (:func:`_nuclear_norms_cols`: float32 Householder
bidiagonalisation, vectorised implicit QL on ``B'B``) instead of one LAPACK call per patch, which is
~4 us of call overhead at this size; the IR decomposition and norms are computed once per level and
shared by the channels. 8-bit output equals the per-patch LAPACK implementation except for a few
values in a million (by 1 level), see docs/classical_latlrr.md.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ...errors import InvalidImageError
from ...io import rgb_to_ycbcr
from ...registry import METHODS
from ..base import FusionMethod
from ._sparse import LATLRR_L8, load_projection, stack_uint8, vifb_channels

try:  # optional (scikit-learn's dependency): keeps BLAS to one thread, see _one_blas_thread
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - without it BLAS keeps its default pool
    threadpool_limits = None

_CHUNK_PATCHES = 16384  # patches per block: 4 MB of float32 projections; the float64 QL rows stay in L2


def _im2col(img32: np.ndarray, r0: int, rows: int, unit: int) -> np.ndarray:
    """Patches with top-left row r0..r0+rows-1 (all columns) as ``(unit^2, rows * W')`` float32.

    Row ``a + unit * b`` holds patch element (a, b) (MATLAB's column-major ``temp(:)``); building it from
    ``unit^2`` shifted slices keeps every copy contiguous, and the projection becomes one GEMM.
    """
    wp = img32.shape[1] - unit + 1
    x = np.empty((unit * unit, rows, wp), dtype=np.float32)
    for b in range(unit):
        for a in range(unit):
            x[a + unit * b] = img32[r0 + a : r0 + a + rows, b : b + wp]
    return x.reshape(unit * unit, -1)


def _overlap_add(acc: np.ndarray, v: np.ndarray, r0: int, unit: int) -> None:
    """Add the patch columns ``v`` (``unit^2 x rows*W'``, layout of :func:`_im2col`) at rows r0.. into ``acc``."""
    wp = acc.shape[1] - unit + 1
    vv = v.reshape(unit * unit, -1, wp)
    rows = vv.shape[1]
    for b in range(unit):
        for a in range(unit):
            acc[r0 + a : r0 + a + rows, b : b + wp] += vv[a + unit * b]


def nuclear_norms(v: np.ndarray, unit: int) -> np.ndarray:
    """Nuclear norm (sum of singular values) of each ``unit x unit`` patch matrix in the rows of ``v``.

    ``v`` is ``N x unit^2`` (each row a patch in MATLAB's column-major order); returns ``N`` float64 values.
    Relative accuracy ~1e-6 (the patches are taken in float32), see :func:`_nuclear_norms_cols`.
    """
    v = np.asarray(v)
    if v.ndim != 2 or v.shape[1] != unit * unit:
        raise InvalidImageError(f"latlrr: nuclear_norms needs an N x {unit * unit} array, got shape {v.shape}")
    return _nuclear_norms_cols(np.ascontiguousarray(v.T, dtype=np.float32), unit)


# Deflation threshold on the normalised (trace 1) Gram matrix: a deflated eigenvalue is then off by at most
# ~e^2/gap, measured <= 4e-7 relative on the nuclear norm (real patches, see tests).
_QL_TOL = 1e-10
_QL_SWEEPS = (2, 1, 1, 1, 1, 1, 1)  # sweeps on the whole batch per deflation stage (8x8 patches)
_QL_EXTRA = 6  # further sweeps on the unconverged subset before the rest goes to LAPACK (~0.05 % left)
_QL_SMALL = 8  # an unconverged subset this small goes straight to LAPACK


def _nuclear_norms_cols(cols: np.ndarray, unit: int) -> np.ndarray:
    """Nuclear norms of the patch columns ``cols`` (``unit^2 x N`` float32, layout of :func:`_im2col`).

    A batched ``svd``/``eigvalsh`` costs ~4 us per 8x8 patch in LAPACK (call overhead dominates at this
    size), and LatLRR needs 16 per pixel of a colour pair. Here every step runs on all patches at once:
    Householder bidiagonalisation ``M = U B V'`` in float32 (singular values, hence the norms, to ~1e-7
    of the largest), then the eigenvalues of the tridiagonal ``B'B`` (float64, scaled to trace 1) by
    implicit QL sweeps with Wilkinson shifts (``tqli``), deflating from the bottom of ``B'B`` where the
    bidiagonalisation leaves the smallest values. Patches not deflated after a few sweeps, or whose
    eigenvalues lost the trace, are recomputed with ``numpy.linalg.svd`` (~0.05 % of them). Measured on
    real projected patches: at most 3e-7 relative from LAPACK's SVD.
    """
    n = unit
    npatch = cols.shape[1]
    out = np.empty(npatch)
    if npatch == 0:
        return out
    a = cols.reshape(n, n, npatch).copy()  # a[j, i, p] = M_p[i, j]
    q, f = _bidiag_squares(a)
    scale = q.sum(axis=0) + f.sum(axis=0)  # ||M||_F^2 = trace(B'B)
    inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    # B'B reversed (index n-1-i), so that QL, which deflates at the top, deflates B'B's bottom first
    d = np.empty((n, npatch))
    d[::-1] = q
    d[-2::-1] += f
    d *= inv
    e = np.empty((n - 1, npatch))
    e[::-1] = np.sqrt(q[:-1] * f)
    e *= inv
    zero = scale == 0  # all-zero patches (norm 0): a stand-in with distinct eigenvalues keeps the sweeps finite
    d[:, zero] = (np.arange(n, dtype=np.float64) / (n * (n - 1) / 2))[:, None]
    e[:, zero] = 0.01
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = _tridiag_eig_ql(d, e)
    lam = np.clip(d, 0.0, None)
    bad |= ~(np.abs(lam.sum(axis=0) - 1.0) <= 1e-9)  # similarity broken (or NaN): recompute
    bad &= ~zero
    out[:] = np.sqrt(lam).sum(axis=0) * np.sqrt(scale)
    if bad.any():
        m = cols[:, bad].astype(np.float64).T.reshape(-1, n, n)
        out[bad] = np.linalg.svd(m, compute_uv=False).sum(axis=1)
    return out


def _bidiag_squares(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Householder bidiagonalisation of the batch ``a[j, i, p] = M_p[i, j]`` (overwritten).

    Returns the squared diagonal ``q`` (``n x P``) and squared superdiagonal ``f`` (``n-1 x P``) of the
    upper bidiagonal ``B`` (signs do not matter: they leave the singular values unchanged), in float64.
    """
    n, _, npatch = a.shape
    q = np.empty((n, npatch))
    f = np.empty((n - 1, npatch))
    for k in range(n):
        x = a[k, k:]  # column k, rows k..
        nrm2 = np.einsum("ip,ip->p", x, x)
        q[k] = nrm2
        if k == n - 1:
            break
        # reflector H = I - v v' / (alpha v0), v = x + sign(x0) ||x|| e1, applied to columns k+1..
        alpha = np.copysign(np.sqrt(nrm2), x[0])
        v = x.copy()
        v[0] += alpha
        den = alpha * v[0]
        beta = np.divide(1.0, den, out=np.zeros_like(den), where=den != 0)
        y = a[k + 1 :, k:]
        w = np.einsum("jip,ip->jp", y, v)
        w *= beta
        y -= w[:, None, :] * v[None]
        r = a[k + 1 :, k]  # row k, columns k+1..
        f2 = np.einsum("jp,jp->p", r, r)
        f[k] = f2
        if k == n - 2:
            continue
        gam = np.copysign(np.sqrt(f2), r[0])
        u = r.copy()
        u[0] += gam
        den = gam * u[0]
        bu = np.divide(1.0, den, out=np.zeros_like(den), where=den != 0)
        z = a[k + 1 :, k + 1 :]  # rows k+1.., columns k+1..
        t = np.einsum("jip,jp->ip", z, u)
        t *= bu
        z -= u[:, None, :] * t[None]
    return q, f


def _tridiag_eig_ql(d: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Eigenvalues of the symmetric tridiagonals (``d`` ``n x P``, ``e`` ``n-1 x P``) into ``d``, in place.

    Stage ``l`` deflates ``e[l]``: ``_QL_SWEEPS[l]`` sweeps on the whole batch, up to ``_QL_EXTRA`` more on
    the patches still above ``_QL_TOL``. Returns the mask of patches that did not converge.
    """
    n, npatch = d.shape
    bad = np.zeros(npatch, dtype=bool)
    for lo in range(n - 1):
        for _ in range(_QL_SWEEPS[min(lo, len(_QL_SWEEPS) - 1)]):
            _ql_sweep(d, e, lo)
        unc = ~(np.abs(e[lo]) <= _QL_TOL)
        for _ in range(_QL_EXTRA):
            idx = np.flatnonzero(unc)
            if idx.size <= _QL_SMALL:
                break
            ds, es = d[:, idx], e[:, idx]
            _ql_sweep(ds, es, lo)
            d[:, idx] = ds
            e[:, idx] = es
            unc[idx] = ~(np.abs(es[lo]) <= _QL_TOL)
        bad |= unc
    return bad


def _ql_sweep(d: np.ndarray, e: np.ndarray, lo: int) -> None:
    """One implicit QL sweep (Wilkinson shift from the top 2x2) on rows ``lo..n-1`` of every tridiagonal.

    The rotations are ``tqli``'s; each step is written with ``out=`` into scratch rows (12 % faster than
    fresh temporaries at this size).
    """
    n, npatch = d.shape
    m = n - 1
    f, b, r, s, c, g, p, t = np.empty((8, npatch))
    el = np.where(e[lo] == 0, 1e-300, e[lo])  # an already split block: keep the shift finite
    with np.errstate(over="ignore"):
        h = (d[lo + 1] - d[lo]) / (2.0 * el)
        h += np.copysign(np.sqrt(h * h + 1.0), h)
    np.divide(el, h, out=g)
    g += d[m]
    g -= d[lo]
    s.fill(1.0)
    c.fill(1.0)
    p.fill(0.0)
    for i in range(m - 1, lo - 1, -1):
        np.multiply(s, e[i], out=f)
        np.multiply(c, e[i], out=b)
        np.multiply(f, f, out=r)
        np.multiply(g, g, out=t)
        r += t
        # f = g = 0 (an exactly split block) gives 0/0: the NaN reaches the trace check and that patch
        # is recomputed by SVD; all-zero patches are kept out of here by the caller
        np.sqrt(r, out=r)
        if i + 1 < m:
            e[i + 1] = r
        np.divide(f, r, out=s)
        np.divide(g, r, out=c)
        np.subtract(d[i + 1], p, out=g)
        np.subtract(d[i], g, out=r)
        r *= s
        np.multiply(c, b, out=t)
        t *= 2.0
        r += t
        np.multiply(s, r, out=p)
        np.add(g, p, out=d[i + 1])
        np.multiply(c, r, out=g)
        g -= b
    d[lo] -= p
    e[lo] = g


def _count(h: int, w: int, unit: int) -> np.ndarray:
    # number of stride-1 patches covering each pixel (count_matric in decomposition.m): separable
    def c(n: int) -> np.ndarray:
        i = np.arange(n)
        return (np.minimum(i, n - unit) - np.maximum(i - unit + 1, 0) + 1).astype(np.float64)

    return np.outer(c(h), c(w))


def _one_blas_thread() -> contextlib.AbstractContextManager:
    # The 64x64 projections are small GEMMs: a multi-threaded BLAS pool gains nothing on them and, on a
    # busy machine (or pytest -n 2), its spinning threads more than doubled LatLRR's CPU time.
    if threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def latlrr_fuse(ir: np.ndarray | list[np.ndarray], vi_channels: list[np.ndarray], proj: np.ndarray,
                levels: int = 4) -> list[np.ndarray]:
    """Fuse ``[0, 1]`` float64 images: the IR image with each VIS channel; returns the fused channels ``[0, 1]``.

    ``ir`` is one ``HxW`` image shared by every channel (its decomposition and patch norms are computed
    once), or a list with one IR channel per VIS channel (VIFB's colour-IR branch).

    Levels run outermost: at each level the IR patches of a block are projected and their nuclear norms
    taken once, then reused by every VIS channel. Per level and image this is one GEMM, one batched
    eigenproblem per patch and two overlap-adds; the eigenproblems (``4 x (1 + channels)`` per pixel)
    dominate the time.
    """
    with _one_blas_thread():
        return _latlrr_fuse(ir, vi_channels, proj, levels)


def _latlrr_fuse(ir: np.ndarray | list[np.ndarray], vi_channels: list[np.ndarray], proj: np.ndarray,
                 levels: int) -> list[np.ndarray]:
    shared_ir = not isinstance(ir, list)
    irs = [np.asarray(ir, dtype=np.float64)] if shared_ir else [np.asarray(c, dtype=np.float64) for c in ir]
    if not shared_ir and len(irs) != len(vi_channels):
        raise InvalidImageError(f"latlrr: {len(irs)} IR channels for {len(vi_channels)} visible channels")
    unit = int(round(np.sqrt(proj.shape[0])))
    h, w = irs[0].shape
    if h < unit or w < unit:
        raise InvalidImageError(f"latlrr: images must be at least {unit}x{unit} pixels, got {w}x{h}")
    lmat = np.ascontiguousarray(proj, dtype=np.float32)
    cnt = _count(h, w, unit)
    npr, wp = h - unit + 1, w - unit + 1
    step = max(1, _CHUNK_PATCHES // wp)

    vis = [np.asarray(c, dtype=np.float64) for c in vi_channels]
    fused_detail = [np.zeros((h, w)) for _ in vis]
    running = [np.zeros((h, w), dtype=np.float32) for _ in vis]  # VIFB's accumulator, never reset between levels
    fbuf = np.empty((unit * unit, step * wp), dtype=np.float32)
    tbuf = np.empty_like(fbuf)
    for _ in range(levels):
        ir32 = [b.astype(np.float32) for b in irs]
        vi32 = [b.astype(np.float32) for b in vis]
        det_ir = [np.zeros((h, w), dtype=np.float32) for _ in irs]
        det_vi = [np.zeros((h, w), dtype=np.float32) for _ in vis]
        for r0 in range(0, npr, step):
            rows = min(step, npr - r0)
            proj_ir, norm_ir = [], []
            for k, img in enumerate(ir32):
                v = lmat @ _im2col(img, r0, rows, unit)
                proj_ir.append(v)
                norm_ir.append(_nuclear_norms_cols(v, unit))
                _overlap_add(det_ir[k], v, r0, unit)
            for c, img in enumerate(vi32):
                vv = lmat @ _im2col(img, r0, rows, unit)
                vi_ = proj_ir[0 if shared_ir else c]
                n1 = norm_ir[0 if shared_ir else c]
                n2 = _nuclear_norms_cols(vv, unit)
                with np.errstate(invalid="ignore", divide="ignore"):
                    w1 = (n1 / (n1 + n2)).astype(np.float32)
                    w2 = (n2 / (n1 + n2)).astype(np.float32)
                fp = np.multiply(vi_, w1, out=fbuf[:, : vv.shape[1]])  # w1 * vi_ + w2 * vv, no temporaries
                fp += np.multiply(vv, w2, out=tbuf[:, : vv.shape[1]])
                _overlap_add(running[c], fp, r0, unit)
                _overlap_add(det_vi[c], vv, r0, unit)
        irs = [b - d.astype(np.float64) / cnt for b, d in zip(irs, det_ir)]
        for c in range(len(vis)):
            fused_detail[c] += running[c].astype(np.float64) / cnt
            vis[c] = vis[c] - det_vi[c].astype(np.float64) / cnt
    return [0.5 * irs[0 if shared_ir else c] + 0.5 * vis[c] + fused_detail[c] for c in range(len(vis))]


@METHODS.register(
    "latlrr",
    aliases=("LatLRR", "mdlatlrr"),
    tags=("classical", "low-rank", "slow"),
    paper="H. Li, X.-J. Wu, J. Kittler, MDLatLRR: A novel decomposition method for infrared and visible image "
    "fusion, IEEE Transactions on Image Processing 29 (2020) 4733-4746 (VIFB cites arXiv:1804.08992)",
)
class LatLRR(FusionMethod):
    """4-level latent low-rank decomposition (L_8, overlapping patches) with nuclear-norm detail weights."""

    display_name = "LatLRR"
    family = "classical"
    paper = "Li, Wu & Kittler, IEEE TIP 2020 (MDLatLRR)"
    color = "native"  # VIFB's per-channel loop, done here so that the IR decomposition is computed once
    needs_weights = True
    weight_specs = {"L_8": LATLRR_L8}

    def __init__(self, weights: str | None = None, levels: int = 4):
        if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
            raise InvalidImageError(f"latlrr: levels must be a positive integer, got {levels!r}")
        super().__init__()
        self.weights = weights
        self.levels = int(levels)

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        proj = load_projection(8, self.weights)
        chans = [c.astype(np.float64) for c in vifb_channels(vi)]
        if ir.ndim == 3 and vi.ndim == 3:
            # run_LatLRR.m's third branch: a colour IR image is fused channel by channel with the VIS one
            irs: np.ndarray | list[np.ndarray] = [c.astype(np.float64) for c in vifb_channels(ir)]
        elif ir.ndim == 3:
            # VIFB's gray-VIS branch is undefined for a colour IR image; use its luma (ivif's convention)
            irs = rgb_to_ycbcr(ir)[..., 0].astype(np.float64)
        else:
            irs = ir.astype(np.float64)
        if not isinstance(irs, list) and len(chans) == 3 and all(np.array_equal(chans[0], c) for c in chans[1:]):
            # a gray image stored as RGB: the channels are fused independently, so one run gives all three
            fused = latlrr_fuse(irs, chans[:1], proj, self.levels) * 3
        else:
            fused = latlrr_fuse(irs, chans, proj, self.levels)
        return stack_uint8([f * 255.0 for f in fused])
