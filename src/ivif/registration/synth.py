"""Seeded misalignment synthesis: the protocols of UMF-CMGR, SuperFusion and MURF.

Each protocol takes an aligned image (IR, ``HxW`` or ``HxWxC`` float in [0, 1]) and returns a
:class:`Misalignment`: the warped image and its ground-truth backward flow in ivif's convention
(``warped = warp(img, flow)``, pixels, see :mod:`ivif.registration.flow`), plus the ground-truth
pixel matrix where the deformation is parametric. The random draws use ``numpy.random.default_rng(seed)``,
so a seed reproduces a set exactly; the *distributions* follow the papers' code (facts from
``wdhudiekou/UMF-CMGR`` ``functions/{affine,elastic}_transform.py``, ``Linfeng-Tang/SuperFusion``
``utils/utils.py::randflow`` and ``hanna-xu/MURF`` ``utils.py::create_{rigid,non_rigid}_defor_field``).
Differences, all deliberate: the image is resampled once by the total field (UMF-CMGR resamples twice
and stores the *sum* of the two fields), and MURF's softmax-sharpened bilinear sampler is replaced by
plain bilinear sampling, so that image and flow always agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InvalidImageError
from ..io import as_image
from .flow import grid_to_flow, valid_mask, warp

__all__ = ["Misalignment", "PROTOCOLS", "misalign", "umf", "superfusion", "murf"]


@dataclass
class Misalignment:
    """A synthesised misaligned image with its ground truth.

    Attributes:
        image: the warped image (float32, same shape as the input).
        flow: ``HxWx2`` backward displacement in pixels: ``image = warp(input, flow)``.
        matrix: 3x3 pixel matrix (output pixel -> input pixel) when the deformation is purely parametric.
        mask: ``HxW`` bool, True where the sampled position lies inside the input image.
    """

    image: np.ndarray
    flow: np.ndarray
    matrix: "np.ndarray | None" = None
    mask: "np.ndarray | None" = None


def _lin_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    # kornia.create_meshgrid / np.linspace(-1, 1, n): the normalised grid both papers build on
    x = np.linspace(-1.0, 1.0, w)
    y = np.linspace(-1.0, 1.0, h)
    return np.meshgrid(x, y)


def _check(img: np.ndarray, strength: float) -> np.ndarray:
    a = as_image(img, name="img")
    if not (isinstance(strength, (int, float)) and np.isfinite(strength) and strength >= 0):
        raise InvalidImageError(f"strength must be a finite number >= 0 (1 = the paper's setting), got {strength!r}")
    if min(a.shape[:2]) < 8:
        raise InvalidImageError(f"img: too small to misalign ({a.shape[:2]}); need at least 8x8 pixels")
    return a


def _finish(a: np.ndarray, flow: np.ndarray, matrix: "np.ndarray | None" = None) -> Misalignment:
    return Misalignment(warp(a, flow), flow, matrix, valid_mask(flow))


def umf(img: np.ndarray, seed: int = 0, strength: float = 1.0, translate: float = 0.01,
        kernel_size: int = 101, sigma: float = 16.0) -> Misalignment:
    """UMF-CMGR: a translation of at most ``translate`` x width/height pixels, then an elastic field.

    The elastic field is uniform noise in [-1, 1] (normalised units) per pixel and axis, convolved with a
    ``kernel_size`` Gaussian of ``sigma`` px with zero border, added to the normalised grid and clamped
    to [-1, 1]. ``strength`` scales both parts (1 = the paper).
    """
    a = _check(img, strength)
    rng = np.random.default_rng(seed)
    h, w = a.shape[:2]
    t = rng.uniform(-1.0, 1.0, 2) * translate * np.array([w, h])
    noise = rng.uniform(-1.0, 1.0, (2, h, w))
    k = int(kernel_size)
    disp = [cv2.GaussianBlur(n, (k, k), sigma, sigma, borderType=cv2.BORDER_CONSTANT) for n in noise]
    gx, gy = _lin_grid(h, w)
    grid = np.stack([gx + strength * disp[0], gy + strength * disp[1]], -1).clip(-1.0, 1.0)
    # the content moves by +t (kornia RandomAffine), so the output samples the input at p - t
    flow = grid_to_flow(grid) - strength * t
    return _finish(a, flow)


def _superfusion_grid(h: int, w: int, rng: np.random.Generator, strength: float, angle: float,
                      trans: float, ratio: float, sigma: float, base: "float | None") -> np.ndarray:
    if base is not None:
        base_scale = base / np.array([w, h], dtype=np.float64)
        angle = max(w, h) / base * angle
    else:
        base_scale = np.ones(2)
    a = np.deg2rad(rng.uniform(-1.0, 1.0) * angle)
    t = rng.uniform(-1.0, 1.0, 2) * trans
    # kornia get_affine_matrix2d about centre 0: M = [R | t], R = [[cos, sin], [-sin, cos]]; the grid
    # is mapped through M^-1 in normalised coordinates
    m = np.array([[np.cos(a), np.sin(a), t[0]], [-np.sin(a), np.cos(a), t[1]], [0.0, 0.0, 1.0]])
    mi = np.linalg.inv(m)
    gx, gy = _lin_grid(h, w)
    wx = mi[0, 0] * gx + mi[0, 1] * gy + mi[0, 2]
    wy = mi[1, 0] * gx + mi[1, 1] * gy + mi[1, 2]
    k = int(3 * sigma) // 2 * 2 + 1
    disp = rng.uniform(-1.0, 1.0, (2, h, w))
    for _ in range(6):  # six Gaussian blurs, kornia's default reflect border
        disp = np.stack([cv2.GaussianBlur(d, (k, k), sigma, sigma, borderType=cv2.BORDER_REFLECT_101) for d in disp])
    dx = (ratio * disp[0] + wx - gx) * base_scale[0] * strength
    dy = (ratio * disp[1] + wy - gy) * base_scale[1] * strength
    return np.stack([gx + dx, gy + dy], -1)


def superfusion(img: np.ndarray, seed: int = 0, strength: float = 1.0, angle: float = 7.0, trans: float = 0.07,
                ratio: float = 1.0, sigma: float = 15.0, base: "float | None" = 500.0) -> Misalignment:
    """SuperFusion ``randflow``: random rotation (±``angle``·max(H,W)/``base`` degrees) and translation
    (±``trans`` normalised), plus an elastic field of uniform noise blurred six times with a Gaussian
    of ``sigma`` px; the total normalised displacement is scaled by ``base``/(W, H).

    The grid is absolute in [-1, 1] and sampled with ``align_corners=False`` (as the shipped ``.mat`` files);
    ``strength`` scales the displacement (1 = the paper).
    """
    a = _check(img, strength)
    rng = np.random.default_rng(seed)
    grid = _superfusion_grid(a.shape[0], a.shape[1], rng, strength, angle, trans, ratio, sigma, base)
    return _finish(a, grid_to_flow(grid))


def _aligned_px_matrix(theta: np.ndarray, h: int, w: int) -> np.ndarray:
    """Pixel matrix of a normalised (align_corners=True) 2x3 ``theta``: N^-1 · Θ · N."""
    n = np.array([[2.0 / (w - 1), 0.0, -1.0], [0.0, 2.0 / (h - 1), -1.0], [0.0, 0.0, 1.0]])
    t = np.vstack([theta, [0.0, 0.0, 1.0]])
    return np.linalg.inv(n) @ t @ n


def murf(img: np.ndarray, seed: int = 0, strength: float = 1.0, kind: str = "mix") -> Misalignment:
    """MURF: ``rigid`` (identity affine plus uniform noise of ±(6/√2)/(max(H,W)/2) on all six normalised
    parameters), ``non_rigid`` (uniform ±0.3 normalised noise, a 15x15 box blur then twenty 15x15
    Gaussian blurs) or ``mix`` (one of the two, chosen at random). Normalised coordinates are
    ``align_corners=True`` as MURF's sampler; ``strength`` scales the deviation from identity.
    """
    a = _check(img, strength)
    if kind not in ("rigid", "non_rigid", "mix"):
        raise InvalidImageError(f"murf: kind must be 'rigid', 'non_rigid' or 'mix', got {kind!r}")
    rng = np.random.default_rng(seed)
    h, w = a.shape[:2]
    if kind == "mix":
        kind = "non_rigid" if rng.integers(2) else "rigid"
    if kind == "rigid":
        r = (6.0 / np.sqrt(2.0)) / (max(h, w) / 2.0)
        theta = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) + strength * rng.uniform(-r, r, 6).reshape(2, 3)
        m = _aligned_px_matrix(theta, h, w)
        from .flow import affine_to_flow

        return _finish(a, affine_to_flow(m, (h, w)), m)
    d = rng.uniform(-0.3, 0.3, (2, h, w))
    out = []
    for c in d:
        c = cv2.blur(c, (15, 15))
        for _ in range(20):
            c = cv2.GaussianBlur(c, (15, 15), 0)
        out.append(c)
    flow = np.stack([out[0] * (w - 1) / 2.0, out[1] * (h - 1) / 2.0], -1) * strength
    return _finish(a, flow)


PROTOCOLS = {"umf": umf, "superfusion": superfusion, "murf": murf}


def misalign(img: np.ndarray, protocol: str, seed: int = 0, strength: float = 1.0, **kw) -> Misalignment:
    """Misalign ``img`` with a named protocol (``umf``, ``superfusion``, ``murf``); see each function."""
    if protocol not in PROTOCOLS:
        raise InvalidImageError(f"unknown misalignment protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[protocol](img, seed=seed, strength=strength, **kw)
