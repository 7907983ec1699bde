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
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidImageError
from ...io import rgb_to_ycbcr
from ...registry import METHODS
from ..base import FusionMethod
from ._sparse import LATLRR_L8, load_projection, stack_uint8, vifb_channels

_CHUNK_PATCHES = 16384  # patches per block: ~4 MB of float32 projections, 8 MB of float64 Gram matrices


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

    Computed as ``sum(sqrt(eig(M' M)))`` (one symmetric eigenproblem per patch, half the cost of an SVD);
    the Gram matrix is formed in float64 so that small singular values keep ~1e-8 relative accuracy, far
    below what the fusion weights resolve.
    """
    m = np.ascontiguousarray(v, dtype=np.float64).reshape(-1, unit, unit)
    g = np.matmul(m.transpose(0, 2, 1), m)
    ev = np.linalg.eigvalsh(g)
    return np.sqrt(np.clip(ev, 0.0, None)).sum(axis=1)


def _count(h: int, w: int, unit: int) -> np.ndarray:
    # number of stride-1 patches covering each pixel (count_matric in decomposition.m): separable
    def c(n: int) -> np.ndarray:
        i = np.arange(n)
        return (np.minimum(i, n - unit) - np.maximum(i - unit + 1, 0) + 1).astype(np.float64)

    return np.outer(c(h), c(w))


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
                norm_ir.append(nuclear_norms(v.T, unit))
                _overlap_add(det_ir[k], v, r0, unit)
            for c, img in enumerate(vi32):
                vv = lmat @ _im2col(img, r0, rows, unit)
                vi_ = proj_ir[0 if shared_ir else c]
                n1 = norm_ir[0 if shared_ir else c]
                n2 = nuclear_norms(vv.T, unit)
                with np.errstate(invalid="ignore", divide="ignore"):
                    w1 = (n1 / (n1 + n2)).astype(np.float32)
                    w2 = (n2 / (n1 + n2)).astype(np.float32)
                _overlap_add(running[c], w1 * vi_ + w2 * vv, r0, unit)
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
        fused = latlrr_fuse(irs, chans, proj, self.levels)
        return stack_uint8([f * 255.0 for f in fused])
