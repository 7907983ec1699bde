"""Flow conventions, warping, inversion and the SuperFusion ``.mat`` ground-truth grids.

ivif's one flow convention: a **backward pixel displacement** ``flow`` of shape ``HxWx2`` holding
``(dx, dy)`` in pixels, pixel centres at integer coordinates, such that

    warped(x, y) = src(x + dx(x, y), y + dy(x, y))          (bilinear, zero outside ``src``)

This is PyTorch ``grid_sample`` with ``align_corners=False`` and zero padding, written in pixels. The
SuperFusion/UMF-CMGR files store absolute sampling grids in normalised [-1, 1] coordinates instead;
:func:`grid_to_flow` / :func:`flow_to_grid` convert.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from ..errors import ImageReadError, InvalidImageError

__all__ = ["grid_to_flow", "flow_to_grid", "load_flow_mat", "warp", "invert_flow", "valid_mask",
           "affine_to_flow", "reprojection_error", "check_flow"]


def check_flow(flow: np.ndarray, shape: "tuple[int, int] | None" = None, name: str = "flow") -> np.ndarray:
    """Validate an ``HxWx2`` finite float displacement field (pixels); returns it as float64."""
    f = np.asarray(flow)
    if f.ndim != 3 or f.shape[-1] != 2:
        raise InvalidImageError(f"{name}: expected an HxWx2 displacement field (dx, dy in pixels), got shape {f.shape}")
    if shape is not None and f.shape[:2] != tuple(shape):
        raise InvalidImageError(f"{name}: its size {f.shape[:2]} differs from the image size {tuple(shape)}")
    f = f.astype(np.float64)
    if not np.all(np.isfinite(f)):
        raise InvalidImageError(f"{name}: contains NaN/inf displacements")
    return f


def _base(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return xs, ys


def grid_to_flow(grid: np.ndarray) -> np.ndarray:
    """Absolute ``grid_sample`` grid (``[1,]HxWx2``, x then y in [-1, 1], ``align_corners=False``) -> pixel flow."""
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim == 4 and g.shape[0] == 1:
        g = g[0]
    if g.ndim != 3 or g.shape[-1] != 2:
        raise InvalidImageError(f"grid: expected HxWx2 or 1xHxWx2, got shape {np.shape(grid)}")
    h, w = g.shape[:2]
    xs, ys = _base(h, w)
    # align_corners=False: normalised -1 is the left edge of pixel 0, i.e. pixel coordinate -0.5
    px = ((g[..., 0] + 1.0) * w - 1.0) / 2.0
    py = ((g[..., 1] + 1.0) * h - 1.0) / 2.0
    return np.stack([px - xs, py - ys], axis=-1)


def flow_to_grid(flow: np.ndarray) -> np.ndarray:
    """Pixel flow ``HxWx2`` -> absolute normalised grid ``HxWx2`` (``grid_sample``, ``align_corners=False``)."""
    f = check_flow(flow)
    h, w = f.shape[:2]
    xs, ys = _base(h, w)
    gx = (2.0 * (xs + f[..., 0]) + 1.0) / w - 1.0
    gy = (2.0 * (ys + f[..., 1]) + 1.0) / h - 1.0
    return np.stack([gx, gy], axis=-1).astype(np.float32)


def load_flow_mat(path: "str | Path") -> np.ndarray:
    """Read a SuperFusion ground-truth ``<name>.png.mat`` (variable ``flow``, 1xHxWx2 grid) as a pixel flow.

    The result satisfies ``ir_warp ≈ warp(ir, flow)`` (see :func:`warp`).
    """
    from scipy.io import loadmat

    p = Path(path)
    try:
        d = loadmat(str(p))
    except (OSError, ValueError, TypeError) as exc:
        raise ImageReadError(f"{p}: cannot read as a MATLAB flow file ({exc}); expected SuperFusion's <name>.png.mat") from exc
    if "flow" not in d:
        keys = sorted(k for k in d if not k.startswith("__"))
        raise ImageReadError(f"{p}: no variable 'flow' (found {keys}); expected SuperFusion's <name>.png.mat")
    return grid_to_flow(d["flow"])


def warp(img: np.ndarray, flow: np.ndarray, order: int = 1) -> np.ndarray:
    """Backward-warp ``img`` (``HxW`` or ``HxWxC``) by ``flow``: ``out(p) = img(p + flow(p))``.

    Bilinear (``order=1``) with zeros outside the image, exactly ``grid_sample(..., align_corners=False,
    padding_mode='zeros')``. Returns float32 with ``img``'s shape.
    """
    a = np.asarray(img)
    if a.ndim not in (2, 3):
        raise InvalidImageError(f"warp: expected an HxW or HxWxC image, got shape {a.shape}")
    f = check_flow(flow, a.shape[:2])
    xs, ys = _base(*a.shape[:2])
    coords = np.stack([ys + f[..., 1], xs + f[..., 0]])
    a = a.astype(np.float32)
    if a.ndim == 2:
        return ndimage.map_coordinates(a, coords, order=order, mode="grid-constant", cval=0.0).astype(np.float32)
    return np.stack([ndimage.map_coordinates(a[..., c], coords, order=order, mode="grid-constant", cval=0.0)
                     for c in range(a.shape[2])], axis=-1).astype(np.float32)


def valid_mask(flow: np.ndarray) -> np.ndarray:
    """Boolean ``HxW``: where ``p + flow(p)`` falls inside the image (pixel centres' extent)."""
    f = check_flow(flow)
    h, w = f.shape[:2]
    xs, ys = _base(h, w)
    x, y = xs + f[..., 0], ys + f[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def invert_flow(flow: np.ndarray, iters: int = 30) -> np.ndarray:
    """Inverse displacement ``g`` with ``warp(warp(img, flow), g) ≈ img``, i.e. ``g(p) = -flow(p + g(p))``.

    Fixed-point iteration (converges for smooth fields whose Jacobian stays near identity, as all the
    synthesis protocols produce); ``flow`` is sampled with edge extension outside the image.
    """
    f = check_flow(flow)
    h, w = f.shape[:2]
    xs, ys = _base(h, w)
    f32 = f.astype(np.float32)
    xs32, ys32 = xs.astype(np.float32), ys.astype(np.float32)
    g = -f32
    for _ in range(iters):
        # cv2.remap (1/32-px interpolation weights) is ~10x faster than map_coordinates and exact enough here
        g = -cv2.remap(f32, xs32 + g[..., 0], ys32 + g[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return g.astype(np.float64)


def affine_to_flow(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Flow of a 2x3 affine or 3x3 homography ``M`` that maps output pixel ``p`` to source ``M p`` (pixels)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (2, 3):
        m = np.vstack([m, [0.0, 0.0, 1.0]])
    if m.shape != (3, 3):
        raise InvalidImageError(f"matrix: expected 2x3 (affine) or 3x3 (homography), got shape {m.shape}")
    h, w = shape
    xs, ys = _base(h, w)
    den = m[2, 0] * xs + m[2, 1] * ys + m[2, 2]
    sx = (m[0, 0] * xs + m[0, 1] * ys + m[0, 2]) / den
    sy = (m[1, 0] * xs + m[1, 1] * ys + m[1, 2]) / den
    return np.stack([sx - xs, sy - ys], axis=-1)


def reprojection_error(matrix: np.ndarray, matrix_gt: np.ndarray, shape: tuple[int, int]) -> float:
    """Mean distance in pixels between where ``matrix`` and ``matrix_gt`` map the four image corners.

    Both are 2x3 affine or 3x3 homographies in :func:`affine_to_flow`'s direction (output pixel -> source).
    """
    h, w = shape
    pts = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=np.float64).T

    def proj(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=np.float64)
        if m.shape == (2, 3):
            m = np.vstack([m, [0.0, 0.0, 1.0]])
        if m.shape != (3, 3):
            raise InvalidImageError(f"matrix: expected 2x3 or 3x3, got shape {m.shape}")
        q = m @ pts
        return q[:2] / q[2]

    return float(np.mean(np.linalg.norm(proj(matrix) - proj(matrix_gt), axis=0)))
