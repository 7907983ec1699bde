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
from ...registry import METHODS
from ..base import FusionMethod
from ._sparse import LATLRR_L8, load_projection, stack_uint8, vifb_channels

_CHUNK_ROWS = 48  # patch rows per block: bounds memory to ~ 48 * W * 64 * 8 bytes per array


def _windows(img: np.ndarray, unit: int) -> np.ndarray:
    # (H', W', b, a): patch at (y, x), element (a, b) stored at [y, x, b, a], i.e. MATLAB's column-major temp(:).
    # Patch projections and their overlap-adds run in float32 (half the memory traffic of the hot loops;
    # ~1e-4 grey levels at the output); bases, counts and the eigenproblems stay float64.
    img32 = np.asarray(img, dtype=np.float32)
    return np.lib.stride_tricks.sliding_window_view(img32, (unit, unit)).transpose(0, 1, 3, 2)


def _project(win: np.ndarray, r0: int, r1: int, lt: np.ndarray) -> np.ndarray:
    """``L * temp(:)`` for the patches of position rows r0..r1-1; returns (rows, W', unit*unit)."""
    blk = win[r0:r1]
    p = blk.reshape(-1, lt.shape[0])
    return (p @ lt).reshape(blk.shape[0], blk.shape[1], -1)


def _overlap_add(acc: np.ndarray, v: np.ndarray, r0: int, unit: int) -> None:
    """Add the patch vectors ``v`` (rows, W', unit^2; column-major patches) at position rows r0.. into ``acc``."""
    nr, nc = v.shape[:2]
    vv = v.reshape(nr, nc, unit, unit)  # [.., b, a]
    for b in range(unit):
        for a in range(unit):
            acc[r0 + a : r0 + a + nr, b : b + nc] += vv[:, :, b, a]


def nuclear_norms(v: np.ndarray, unit: int) -> np.ndarray:
    """Nuclear norm (sum of singular values) of each ``unit x unit`` patch matrix in the rows of ``v``.

    Computed as ``sum(sqrt(eig(M' M)))`` (one symmetric eigenproblem per patch, half the cost of an SVD);
    the singular values agree with ``svd`` to ~1e-8 relative, far below what the fusion weights resolve.
    """
    m = v.reshape(-1, unit, unit).astype(np.float64)
    g = np.matmul(m.transpose(0, 2, 1), m)
    ev = np.linalg.eigvalsh(g)
    return np.sqrt(np.clip(ev, 0.0, None)).sum(axis=1)


def _count(h: int, w: int, unit: int) -> np.ndarray:
    # number of stride-1 patches covering each pixel (count_matric in decomposition.m): separable
    def c(n: int) -> np.ndarray:
        i = np.arange(n)
        return (np.minimum(i, n - unit) - np.maximum(i - unit + 1, 0) + 1).astype(np.float64)

    return np.outer(c(h), c(w))


def latlrr_fuse(ir: np.ndarray, vi_channels: list[np.ndarray], proj: np.ndarray, levels: int = 4
                ) -> list[np.ndarray]:
    """Fuse the ``[0, 1]`` float64 IR image with each VIS channel; returns the fused channels (``[0, 1]`` scale)."""
    unit = int(round(np.sqrt(proj.shape[0])))
    h, w = ir.shape
    if h < unit or w < unit:
        raise InvalidImageError(f"latlrr: images must be at least {unit}x{unit} pixels, got {w}x{h}")
    lt = np.ascontiguousarray(proj.T, dtype=np.float32)
    cnt = _count(h, w, unit)
    npr = h - unit + 1

    # the IR decomposition is shared by the channels: keep its bases and patch norms per level
    ir_bases = [np.asarray(ir, dtype=np.float64)]
    ir_norms = []
    for _ in range(levels):
        base = ir_bases[-1]
        win = _windows(base, unit)
        det = np.zeros((h, w), dtype=np.float32)
        norms = np.empty((npr, w - unit + 1))
        for r0 in range(0, npr, _CHUNK_ROWS):
            r1 = min(r0 + _CHUNK_ROWS, npr)
            v = _project(win, r0, r1, lt)
            norms[r0:r1] = nuclear_norms(v, unit).reshape(r1 - r0, -1)
            _overlap_add(det, v, r0, unit)
        ir_norms.append(norms)
        ir_bases.append(base - det.astype(np.float64) / cnt)

    out = []
    for vi in vi_channels:
        base = np.asarray(vi, dtype=np.float64)
        fused_detail = np.zeros((h, w))
        running = np.zeros((h, w), dtype=np.float32)  # VIFB's accumulator, never reset between levels
        for lev in range(levels):
            win_v = _windows(base, unit)
            win_i = _windows(ir_bases[lev], unit)
            det = np.zeros((h, w), dtype=np.float32)
            for r0 in range(0, npr, _CHUNK_ROWS):
                r1 = min(r0 + _CHUNK_ROWS, npr)
                vv = _project(win_v, r0, r1, lt)
                vi_ = _project(win_i, r0, r1, lt)
                n2 = nuclear_norms(vv, unit).reshape(r1 - r0, -1, 1)
                n1 = ir_norms[lev][r0:r1, :, None]
                with np.errstate(invalid="ignore", divide="ignore"):
                    w1 = (n1 / (n1 + n2)).astype(np.float32)
                    w2 = (n2 / (n1 + n2)).astype(np.float32)
                f = w1 * vi_ + w2 * vv
                _overlap_add(running, f, r0, unit)
                _overlap_add(det, vv, r0, unit)
            fused_detail += running.astype(np.float64) / cnt
            base = base - det.astype(np.float64) / cnt
        out.append(0.5 * ir_bases[levels] + 0.5 * base + fused_detail)
    return out


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
        fused = latlrr_fuse(ir.astype(np.float64), chans, proj, self.levels)
        return stack_uint8([f * 255.0 for f in fused])
