"""The FusionMethod base class shared by classical and deep methods.

A method implements :meth:`FusionMethod._fuse` on validated inputs; :meth:`FusionMethod.fuse` does the
validation, size check and colour handling once, for every method:

* ``color = "luma"`` (the field's standard): a colour visible image is fused as its BT.601 Y channel and
  the result recombined with the visible image's Cb/Cr. ``_fuse`` receives two ``HxW`` arrays.
* ``color = "native"``: ``_fuse`` receives the visible image as given (``HxW`` or ``HxWx3``) and handles
  colour itself (methods whose official pipeline colourises in its own way, e.g. with PIL's integer
  YCbCr, declare this to reproduce that exactly).
* ``color = "per_channel"``: a colour visible image is fused channel by channel with the IR image
  (``_fuse(ir, vi[..., k])`` for k = R, G, B), as VIFB runs most classical methods.
* ``color = "gray"``: the output is always gray (``HxW``); a colour visible image is reduced to Y.

Paths given to :meth:`FusionMethod.fuse` are read by :meth:`FusionMethod.read`, which a method may
override to read files exactly as its official pipeline does (e.g. OpenCV's direct JPEG-to-gray decode).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np

from ..io import PathLike, check_same_size, fuse_luminance_with_chroma, load_image, rgb_to_ycbcr


class FusionMethod(ABC):
    """Base class: ``fuse(ir, vi) -> fused`` on float32 images in [0, 1].

    Class attributes are metadata shown by ``ivif list methods``: ``display_name`` (paper spelling),
    ``family`` (``classical``, ``autoencoder``, ``cnn``, ``gan``, ``transformer``, ``task-driven``,
    ``general``), ``paper`` (citation), ``color`` (see module docstring), ``needs_weights``.
    """

    display_name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    color: ClassVar[Literal["luma", "native", "per_channel", "gray"]] = "luma"
    needs_weights: ClassVar[bool] = False
    #: True when the output at a pixel depends on global image statistics (min-max stretch, per-image
    #: normalisation), so tiled inference differs from whole-image inference.
    global_statistics: ClassVar[bool] = False

    def __init__(self, **cfg: Any):
        if cfg:
            from ..errors import IvifError

            raise IvifError(f"{type(self).__name__}: unknown options {sorted(cfg)}")

    # ----------------------------------------------------------------------------------- public API
    def fuse(self, ir: "PathLike | np.ndarray", vi: "PathLike | np.ndarray") -> np.ndarray:
        """Fuse one registered pair; returns float32 in [0, 1], ``HxW`` or ``HxWx3`` (colour VIS).

        ``ir`` and ``vi`` are arrays (uint8, uint16 or float in [0, 1]; ``HxW`` or ``HxWx3``) or paths.
        A colour IR image is reduced to its luminance (BT.601 Y).
        """
        ir_a = self.read(ir, "ir")
        vi_a = self.read(vi, "vi")
        check_same_size(ir_a, vi_a, _label(ir, "ir"), _label(vi, "vi"))
        if self.color == "native":
            # Arrays read from files keep their path (SourcedImage) so the method can decode as its
            # official pipeline does; a colour IR image is the method's to convert.
            return np.clip(np.asarray(self._fuse(ir_a, vi_a), dtype=np.float32), 0.0, 1.0)
        if ir_a.ndim == 3:
            ir_a = rgb_to_ycbcr(ir_a)[..., 0]
        if self.color == "per_channel" and vi_a.ndim == 3:
            out = np.stack([self._fuse(ir_a, np.ascontiguousarray(vi_a[..., k])) for k in range(3)], axis=2)
        elif vi_a.ndim == 3:
            y = rgb_to_ycbcr(vi_a)[..., 0]
            fy = self._fuse(ir_a, np.clip(y, 0.0, 1.0))
            out = fy if self.color == "gray" else fuse_luminance_with_chroma(fy, vi_a)
        else:
            out = self._fuse(ir_a, vi_a)
        return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)

    __call__ = fuse

    def read(self, x: "PathLike | np.ndarray", role: str) -> np.ndarray:
        """Read a path (``ivif.io.imread``, mode ``auto``) or validate an array; ``role`` is ``ir``/``vi``."""
        return load_image(x, name=_label(x, role))

    @abstractmethod
    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        """Fuse validated float32 arrays (see the module docstring for what ``vi`` holds)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _label(x: Any, default: str) -> str:
    return default if isinstance(x, np.ndarray) else str(x)
