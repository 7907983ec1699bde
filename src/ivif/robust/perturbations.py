"""Common corruptions of IR/VIS inputs with a severity level 1..5 (ImageNet-C style), seeded.

Each perturbation maps a float32 image in [0, 1] (``HxW`` or ``HxWx3``) to a corrupted one of the same
shape, clipped to [0, 1]. Severity parameters:

=================  ===========================================================================
gaussian_noise     σ = (4, 8, 12, 18, 25) grey levels (of 255)
gaussian_blur      σ = (0.5, 1, 1.5, 2.5, 3.5) px
jpeg               quality = (80, 60, 40, 20, 10)
salt_pepper        fraction of pixels = (0.01, 0.02, 0.05, 0.1, 0.2), half salt, half pepper
occlusion          one grey (0.5) rectangle covering (2, 5, 10, 15, 25) % of the image at a random place
stripe_noise       column offsets (IR fixed-pattern noise), σ = (3, 6, 10, 15, 22) grey levels
low_light          gamma (1.5, 2, 2.5, 3, 3.5) then scale (0.8, 0.6, 0.45, 0.3, 0.2), plus noise σ = severity grey levels
contrast           contrast kept = (0.8, 0.6, 0.45, 0.3, 0.2) around the image mean
=================  ===========================================================================

``stripe_noise`` is meant for IR and ``low_light`` for VIS, but any applies to either.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import IvifError

Perturbation = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def _check(severity: int) -> int:
    if severity not in (1, 2, 3, 4, 5):
        raise IvifError(f"severity must be 1..5, got {severity!r}")
    return severity - 1


def gaussian_noise(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    s = (4, 8, 12, 18, 25)[_check(severity)] / 255.0
    return img + rng.normal(0.0, s, img.shape).astype(np.float32)


def gaussian_blur(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    s = (0.5, 1.0, 1.5, 2.5, 3.5)[_check(severity)]
    return cv2.GaussianBlur(img, (0, 0), sigmaX=s, borderType=cv2.BORDER_REFLECT)


def jpeg(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    q = (80, 60, 40, 20, 10)[_check(severity)]
    u8 = np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)
    bgr = u8[..., ::-1] if u8.ndim == 3 else u8
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(bgr), [cv2.IMWRITE_JPEG_QUALITY, q])
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    dec = dec[..., ::-1] if dec.ndim == 3 else dec
    return dec.astype(np.float32) / 255.0


def salt_pepper(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    p = (0.01, 0.02, 0.05, 0.1, 0.2)[_check(severity)]
    out = img.copy()
    u = rng.random(img.shape[:2])
    out[u < p / 2] = 0.0
    out[(u >= p / 2) & (u < p)] = 1.0
    return out


def occlusion(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    frac = (0.02, 0.05, 0.10, 0.15, 0.25)[_check(severity)]
    h, w = img.shape[:2]
    side = np.sqrt(frac * h * w)
    bh, bw = max(1, min(h, int(round(side)))), max(1, min(w, int(round(frac * h * w / max(side, 1)))))
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    out = img.copy()
    out[y:y + bh, x:x + bw] = 0.5
    return out


def stripe_noise(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    s = (3, 6, 10, 15, 22)[_check(severity)] / 255.0
    cols = rng.normal(0.0, s, img.shape[1]).astype(np.float32)
    return img + (cols[None, :, None] if img.ndim == 3 else cols[None, :])


def low_light(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    k = _check(severity)
    g, scale = (1.5, 2.0, 2.5, 3.0, 3.5)[k], (0.8, 0.6, 0.45, 0.3, 0.2)[k]
    dark = np.power(np.clip(img, 0, 1), g) * scale
    return dark + rng.normal(0.0, severity / 255.0, img.shape).astype(np.float32)


def contrast(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    c = (0.8, 0.6, 0.45, 0.3, 0.2)[_check(severity)]
    m = img.mean(axis=(0, 1), keepdims=True)
    return (img - m) * c + m


PERTURBATIONS: dict[str, Perturbation] = {
    "gaussian_noise": gaussian_noise, "gaussian_blur": gaussian_blur, "jpeg": jpeg, "salt_pepper": salt_pepper,
    "occlusion": occlusion, "stripe_noise": stripe_noise, "low_light": low_light, "contrast": contrast,
}


def perturb(img: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    """Apply perturbation ``name`` at ``severity`` (1..5) with a seeded generator; float32 in [0, 1]."""
    from ..io import as_image

    if name not in PERTURBATIONS:
        raise IvifError(f"unknown perturbation {name!r}; choose one of {', '.join(PERTURBATIONS)}")
    a = as_image(img, name="image")
    out = PERTURBATIONS[name](a, severity, np.random.default_rng(seed))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def perturb_pair(ir: np.ndarray, vi: np.ndarray, name: str, severity: int, target: str = "both", seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Perturb the IR, the VIS or both images of a pair (different seeds per modality)."""
    if target not in ("ir", "vi", "both"):
        raise IvifError(f"target must be ir, vi or both, got {target!r}")
    ir2 = perturb(ir, name, severity, seed) if target in ("ir", "both") else ir
    vi2 = perturb(vi, name, severity, seed + 1) if target in ("vi", "both") else vi
    return ir2, vi2
