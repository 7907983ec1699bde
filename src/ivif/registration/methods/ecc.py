"""Parametric registration: ECC maximisation on gradient-magnitude images, coarse to fine.

Raw IR and VIS intensities are not linearly related, but their edges largely coincide, so the
enhanced correlation coefficient (Evangelidis & Psarakis, 2008; OpenCV ``findTransformECC``) is
maximised between the gradient magnitudes of the two images, over a Gaussian pyramid.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import InvalidImageError
from ...registry import REGISTRATION
from ..flow import affine_to_flow
from .base import RegistrationMethod

_MOTIONS = {"translation": cv2.MOTION_TRANSLATION, "euclidean": cv2.MOTION_EUCLIDEAN,
            "affine": cv2.MOTION_AFFINE, "homography": cv2.MOTION_HOMOGRAPHY}


def gradient_magnitude(img: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Gradient magnitude of a Gaussian-smoothed gray image, scaled to unit maximum (float32)."""
    s = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    gx = cv2.Sobel(s, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(s, cv2.CV_32F, 0, 1, ksize=3)
    g = np.sqrt(gx * gx + gy * gy)
    # local contrast normalisation: dark night-time VIS and low-contrast IR edges count as much as
    # bright ones (IR and VIS edge strengths are unrelated, their positions are shared)
    local = cv2.GaussianBlur(g, (0, 0), 4.0 * sigma)
    g = g / (local + 0.1 * float(local.mean()) + 1e-6)
    return g / max(float(g.max()), 1e-12)


def _level(img: np.ndarray, f: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient magnitude at scale ``1/f`` and the pixel matrix S (level pixel -> full-resolution pixel)."""
    h, w = img.shape
    size = (max(8, int(round(w / f))), max(8, int(round(h / f))))
    fx, fy = w / size[0], h / size[1]
    s = np.array([[fx, 0.0, (fx - 1) / 2], [0.0, fy, (fy - 1) / 2], [0.0, 0.0, 1.0]])
    return gradient_magnitude(cv2.resize(img, size, interpolation=cv2.INTER_AREA), sigma), s


def _ecc(ga: np.ndarray, gb: np.ndarray, s: np.ndarray, m: np.ndarray, motion: str, iters: int,
         eps: float) -> tuple[np.ndarray, "float | None"]:
    """One ECC run at a level; ``m`` and the result are full-resolution 3x3 matrices (VIS px -> IR px)."""
    mc = np.linalg.inv(s) @ m @ s
    w0 = (mc / mc[2, 2]).astype(np.float32) if motion == "homography" else mc[:2].astype(np.float32)
    try:
        cc, w1 = cv2.findTransformECC(gb, ga, w0, _MOTIONS[motion],
                                      (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iters, eps), None, 5)
    except cv2.error:  # no convergence at this level: keep the previous estimate
        return m, None
    mc = np.vstack([w1, [0, 0, 1]]) if w1.shape == (2, 3) else w1
    return s @ mc.astype(np.float64) @ np.linalg.inv(s), float(cc)


def ecc_matrix(ir: np.ndarray, vi: np.ndarray, motion: str = "affine", levels: int = 0, iters: int = 200,
               eps: float = 1e-6, sigma: float = 1.5,
               starts: "tuple[float, ...]" = (0.0, -4.0, 4.0, -8.0, 8.0)) -> tuple[np.ndarray, dict]:
    """3x3 pixel matrix (VIS pixel -> IR pixel) maximising ECC of gradient magnitudes, and info.

    ECC is a local optimiser: every start (a rotation in degrees about the image centre) is run through
    all pyramid levels but the finest, the start with the highest correlation at the second-finest level
    wins and only it is refined at full resolution (rotations up to ~10 degrees, as SuperFusion's
    protocol draws, become reachable).
    """
    if motion not in _MOTIONS:
        raise InvalidImageError(f"ecc: motion must be one of {', '.join(_MOTIONS)}, got {motion!r}")
    h, w = ir.shape
    if levels <= 0:  # coarsest level about 80 px on the short side
        levels = max(1, int(np.floor(np.log2(min(h, w) / 80.0))) + 1)
    pyr = [(_level(ir, 2.0 ** k, sigma)[0],) + _level(vi, 2.0 ** k, sigma) for k in range(levels)]
    c = ((w - 1) / 2, (h - 1) / 2)
    best, best_cc = np.eye(3), -np.inf
    for ang in (starts if levels > 1 else (0.0,)):
        m = np.vstack([cv2.getRotationMatrix2D(c, ang, 1.0), [0, 0, 1]])
        cc = None
        for k in range(levels - 1, 0, -1):
            ga, gb, s = pyr[k]
            m, cc = _ecc(ga, gb, s, m, motion, iters, eps)
        if cc is not None and cc > best_cc:
            best, best_cc = m, cc
    ga, gb, s = pyr[0]
    m, cc = _ecc(ga, gb, s, best, motion, iters, eps)
    # guard: keep the identity when the estimate correlates worse than no motion at all (ECC's own
    # criterion, on the overlap); low-texture pairs otherwise drift to a spurious optimum
    cc0 = float(cv2.computeECC(gb, ga))
    warped = cv2.warpPerspective(ga, m.astype(np.float32), (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    inside = cv2.warpPerspective(np.ones_like(ga), m.astype(np.float32), (w, h),
                                 flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP).astype(np.uint8)
    cc1 = float(cv2.computeECC(gb, warped, inside)) if inside.any() else -1.0
    info = {"levels": levels, "cc_coarse": best_cc, "cc": cc, "cc_identity": cc0, "cc_final": cc1}
    if cc is None or cc1 <= cc0:
        info["kept_identity"] = True
        return np.eye(3), info
    return m, info


@REGISTRATION.register("ecc", aliases=("ecc_affine",), tags=("parametric", "classical"),
                       description="Affine/homography by ECC on gradient magnitudes, coarse to fine (OpenCV)",
                       paper="Evangelidis & Psarakis, TPAMI 2008")
class ECCRegistration(RegistrationMethod):
    """Parametric registration by ECC maximisation on gradient magnitudes.

    Args:
        motion: ``translation``, ``euclidean``, ``affine`` (default) or ``homography``.
        levels: pyramid levels (0 = automatic, coarsest ~80 px).
        iters: ECC iterations per level.
        sigma: Gaussian smoothing (px) before the gradient.
    """

    name = "ecc"

    def __init__(self, motion: str = "affine", levels: int = 0, iters: int = 200, sigma: float = 1.5):
        if motion not in _MOTIONS:
            raise InvalidImageError(f"ecc: motion must be one of {', '.join(_MOTIONS)}, got {motion!r}")
        self.motion, self.levels, self.iters, self.sigma = motion, int(levels), int(iters), float(sigma)

    def _estimate(self, ir, vi):
        m, info = ecc_matrix(ir, vi, self.motion, self.levels, self.iters, sigma=self.sigma)
        return affine_to_flow(m, ir.shape), m, info
