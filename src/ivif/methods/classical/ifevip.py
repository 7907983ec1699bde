"""IFEVIP: infrared feature extraction + visual information preservation (Zhang et al. 2017), as run by VIFB.

VIFB (``methods/IFEVIP/run_IFEVIP.m``, ``BGR_Fuse.m``, ``QuadReconstructRefined.m``) works on 8-bit data
and on the colour visible image as a whole:

1. the IR background is estimated by a quadtree decomposition (``qtdecomp``, threshold 0.2, min block 32)
   of the IR image resized to 512x512, a 32x32 grey erosion, and a cubic Bezier surface per block from
   4x4 control points of the eroded image; it is resized back, smoothed (9x9 Gaussian, sigma 4.5, zero
   padding) and rounded to uint8;
2. the bright IR features ``IR - background`` (saturating uint8) plus ``(IR - VIS) * H(IR) / H(VIS)``
   (entropies) are added to the visible image, scaled so that the mean of the brightest 0.1 % of the
   sums stays below 255 (ratio at most 0.8); the addition saturates in uint8.

MATLAB's ``imresize`` (bicubic, antialiased when shrinking, uint8 rounding after each axis) and ``qtdecomp``
are reproduced here.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import sparse

from ...registry import METHODS
from ..base import FusionMethod
from ._common import gaussian_filter_matlab, matlab_uint8

_BEZIER = np.array([[-1.0, 3.0, -3.0, 1.0], [3.0, -6.0, 3.0, 0.0], [-3.0, 3.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])


def _cubic(x: np.ndarray) -> np.ndarray:
    # Keys' cubic kernel with a = -0.5 (MATLAB imresize 'bicubic')
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def _bicubic_matrix(n_in: int, n_out: int, antialias: bool = True) -> "scipy.sparse.csr_matrix":
    """Sparse ``n_out x n_in`` matrix of MATLAB's bicubic ``imresize`` along one axis (symmetric border)."""
    scale = n_out / n_in
    width = 4.0
    if scale < 1 and antialias:
        kernel = lambda t: scale * _cubic(scale * t)  # noqa: E731  (stretched kernel: antialiasing)
        width = 4.0 / scale
    else:
        kernel = _cubic
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    p = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(p)[None, :]  # 1-based source positions
    wgt = kernel(u[:, None] - idx)
    wgt /= wgt.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])  # mirror, edge pixel repeated
    src = aux[np.mod(idx.astype(np.int64) - 1, aux.size)]
    # duplicate (row, col) entries from mirrored taps are summed by the COO -> CSR conversion
    return sparse.coo_matrix((wgt.ravel(), (np.repeat(np.arange(n_out), p), src.ravel())),
                             shape=(n_out, n_in)).tocsr()


def imresize_bicubic(img: np.ndarray, size: tuple[int, int], uint8: bool = False) -> np.ndarray:
    """MATLAB ``imresize(img, [rows cols])`` with the default bicubic kernel and antialiasing (float64).

    The axis with the smaller scale factor is resized first, as MATLAB does; ``uint8=True`` emulates a
    uint8 input, whose intermediate and final results MATLAB rounds (half away) and saturates to 0..255.
    """
    a = np.asarray(img, dtype=np.float64)
    h, w = a.shape
    oh, ow = int(size[0]), int(size[1])
    my = _bicubic_matrix(h, oh)
    mx = _bicubic_matrix(w, ow)
    q = matlab_uint8 if uint8 else (lambda t: t)
    if oh / h <= ow / w:
        return q((mx @ q(my @ a).T).T)
    return q(my @ q((mx @ a.T).T))


def qtdecomp(img: np.ndarray, threshold: float, min_dim: int) -> list[tuple[int, int, int]]:
    """MATLAB ``qtdecomp(I, threshold, mindim)`` of a square power-of-two image on the 0..255 scale.

    A block is split into four while ``max - min > threshold * 255`` and its size exceeds ``min_dim``.
    Returns the leaf blocks as ``(row, col, size)`` (0-based upper-left corner).
    """
    n = img.shape[0]
    thr = threshold * 255.0
    todo = [(0, 0, n)]
    leaves = []
    while todo:
        nxt = []
        for r, c, s in todo:
            blk = img[r:r + s, c:c + s]
            if s > min_dim and float(blk.max()) - float(blk.min()) > thr:
                h2 = s // 2
                nxt += [(r, c, h2), (r + h2, c, h2), (r, c + h2, h2), (r + h2, c + h2, h2)]
            else:
                leaves.append((r, c, s))
        todo = nxt
    return leaves


def quad_reconstruct(leaves: list[tuple[int, int, int]], img: np.ndarray) -> np.ndarray:
    """Bezier-surface background from quadtree leaves (``QuadReconstructRefined.m``), float64.

    Each leaf of size b is rebuilt on (b+1)x(b+1) pixels (one pixel into the next block, edge-replicated at
    the image border) from control points at rows/cols ``0, b/2-1, 3b/4-1, b``; larger blocks are written
    first and, within a size, blocks in MATLAB's column-major order, so later writes win on the overlap.
    """
    n = img.shape[0]
    p = np.pad(np.asarray(img, dtype=np.float64), ((0, 1), (0, 1)), mode="edge")
    out = np.zeros_like(p)
    for s in sorted({s for _, _, s in leaves}, reverse=True):
        d = s + 1
        sub = s // 4
        ctrl = np.array([0, 2 * sub - 1, 3 * sub - 1, 4 * sub])
        u = np.arange(d, dtype=np.float64) / (d - 1)
        lm = np.stack([u ** 3, u ** 2, u, np.ones_like(u)], axis=1) @ _BEZIER
        for r, c, _ in sorted((b for b in leaves if b[2] == s), key=lambda b: (b[1], b[0])):
            blk = p[r:r + d, c:c + d]
            out[r:r + d, c:c + d] = lm @ blk[np.ix_(ctrl, ctrl)] @ lm.T
    return out[:n, :n]


def entropy8(levels: np.ndarray) -> float:
    """MATLAB ``entropy`` of 8-bit data (all values of all channels, 256-bin histogram), bits."""
    cnt = np.bincount(np.asarray(levels, dtype=np.int64).ravel(), minlength=256).astype(np.float64)
    p = cnt[cnt > 0] / levels.size
    return float(-(p * np.log2(p)).sum())


def ifevip_fuse(ir8: np.ndarray, vi8: np.ndarray, quad_dim: int = 512, min_dim: int = 32, gauss: int = 9,
                max_ratio: float = 0.001, std_ratio: float = 0.8) -> np.ndarray:
    """``BGR_Fuse.m`` on grey levels: ``ir8`` ``HxW``, ``vi8`` ``HxW`` or ``HxWx3``, values 0..255 (float).

    Returns the fused grey levels (integers 0..255, float64, shape of ``vi8``).
    """
    h, w = ir8.shape
    small = imresize_bicubic(ir8, (quad_dim, quad_dim), uint8=True)
    leaves = qtdecomp(small, 0.2, min_dim)
    # imerode with strel('square', 32): MATLAB's centre of an even window is at index 15 (0-based),
    # so the window spans -15..+16; pixels outside the image do not count (+inf padding).
    k = min_dim
    eroded = cv2.erode(small.astype(np.float32), np.ones((k, k), np.uint8), anchor=((k - 1) // 2, (k - 1) // 2),
                       borderType=cv2.BORDER_CONSTANT, borderValue=float("inf")).astype(np.float64)
    bg = quad_reconstruct(leaves, eroded)
    bg = imresize_bicubic(bg, (h, w))
    bg = matlab_uint8(gaussian_filter_matlab(bg, gauss, gauss / 2.0, mode="zero"))
    inf_feat = np.maximum(ir8 - bg, 0.0)  # uint8 subtraction saturates at 0
    vis = vi8.astype(np.float64)
    irb = ir8[..., None] if vis.ndim == 3 else ir8
    add = (inf_feat[..., None] if vis.ndim == 3 else inf_feat) + (irb - vis) * (entropy8(ir8) / entropy8(vis))
    summed = np.where(add > 0, add, 0.0) + vis
    n_top = int(np.floor(max_ratio * summed.size + 0.5))
    flat = summed.ravel()
    top = np.partition(flat, flat.size - n_top)[flat.size - n_top:] if n_top > 0 else flat[:0]
    max_mean = top.mean() if n_top > 0 else np.nan  # MATLAB: mean([]) is NaN, and min(NaN, r) is r
    ratio = std_ratio if not np.isfinite(max_mean) or max_mean == 0 else min(255.0 / max_mean, std_ratio)
    return np.minimum(vis + matlab_uint8(add * ratio), 255.0)


@METHODS.register("ifevip", aliases=("IFEVIP",), tags=("classical", "saliency"),
                  paper="Y. Zhang, L. Zhang, X. Bai, L. Zhang, Infrared and visual image fusion through infrared "
                        "feature extraction and visual information preservation, Infrared Phys. Technol. "
                        "83:227-237, 2017")
class IFEVIP(FusionMethod):
    """Quadtree-Bezier IR background removal, entropy-weighted feature injection (VIFB implementation)."""

    display_name = "IFEVIP"
    family = "classical"
    color = "native"  # VIFB adds the IR features to all three VIS channels with shared statistics

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        ir8 = matlab_uint8(ir.astype(np.float64) * 255.0)
        vi8 = matlab_uint8(vi.astype(np.float64) * 255.0)
        return (ifevip_fuse(ir8, vi8) / 255.0).astype(np.float32)
