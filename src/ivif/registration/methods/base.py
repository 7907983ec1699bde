"""The registration method protocol and result type shared by every registration method."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InvalidImageError
from ...io import as_image, check_same_size, load_image, to_gray
from ..flow import warp

__all__ = ["RegistrationResult", "RegistrationMethod", "gray01"]


@dataclass
class RegistrationResult:
    """What a registration method returns.

    Attributes:
        ir_registered: the IR image resampled into the VIS frame (float32 [0, 1], IR's channels).
        flow: ``HxWx2`` backward displacement in pixels (dx, dy): ``ir_registered = warp(ir, flow)``.
        matrix: 3x3 pixel matrix (VIS pixel -> IR pixel) for parametric methods, else ``None``.
        info: method diagnostics (iterations, final cost, ...).
    """

    ir_registered: np.ndarray
    flow: np.ndarray
    matrix: "np.ndarray | None" = None
    info: dict[str, Any] = field(default_factory=dict)


def gray01(img: np.ndarray) -> np.ndarray:
    """``HxW`` float32 [0, 1] gray of an ``HxW``/``HxWx3`` image (BT.601 luma for colour)."""
    return to_gray(img) if img.ndim == 3 else img.astype(np.float32)


class RegistrationMethod(ABC):
    """Base class: implement ``_estimate(ir_gray, vi_gray) -> (flow, matrix_or_None, info)``.

    ``register(ir, vi)`` accepts arrays or file paths (IR moving, VIS fixed, same size), converts both to
    gray for the estimation and warps the IR as given (gray or RGB).
    """

    name = "base"

    def register(self, ir: "np.ndarray | str", vi: "np.ndarray | str") -> RegistrationResult:
        """Align ``ir`` (moving) to ``vi`` (fixed); see :class:`RegistrationResult`."""
        a = as_image(load_image(ir, "ir"), name="ir")
        b = as_image(load_image(vi, "vi"), name="vi")
        check_same_size(a, b, "ir", "vi")
        if min(a.shape[:2]) < 32:
            raise InvalidImageError(f"ir/vi: images of {a.shape[:2]} are too small to register (need >= 32x32)")
        flow, matrix, info = self._estimate(gray01(a), gray01(b))
        return RegistrationResult(warp(a, flow), flow.astype(np.float32), matrix, info)

    __call__ = register

    @abstractmethod
    def _estimate(self, ir: np.ndarray, vi: np.ndarray) -> tuple[np.ndarray, "np.ndarray | None", dict]:
        """Flow (HxWx2 backward displacement, px), matrix (parametric methods) and info, on gray [0, 1]."""
