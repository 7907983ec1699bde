"""GFF: image fusion with guided filtering (Li, Kang & Hu 2013), as VIFB runs it.

Two-scale decomposition (31x31 mean filter) of each source; saliency = Gaussian-smoothed |Laplacian| of
the gray source; the one-hot "largest saliency" maps are refined by guided filtering with the gray source
as guide (r1=45, eps1=0.3 for the base layers; r2=7, eps2=1e-6 for the details), quantised to 8 bit as
in the authors' code, normalised, and used to blend base and detail layers. A colour visible image is
fused in RGB: the weights come from the gray images (MATLAB ``rgb2gray``), every channel is blended with
them; a gray infrared image counts as three equal channels.

VIFB's ``run_GFF.m`` writes both inputs to JPEG (quality 75) and reads them back through
``load_images.m``; for a single-channel infrared file that loader writes the infrared into the green
channel of the visible image and leaves the infrared slot black, so VIFB's GFF results for those pairs
are the visible image with its green channel replaced (no fusion). ``GFF(emulate_vifb_io=True)``
reproduces both effects to compare with VIFB's files; the default fuses the inputs as given.
"""

from __future__ import annotations

import numpy as np

from ...io import PathLike, imread_uint, to_gray
from ...registry import METHODS
from ..base import FusionMethod
from ._common import gaussian_1d, guided_filter, imfilter, imfilter_sep, jpeg_roundtrip, matlab_uint8

_LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _gray_levels(img: np.ndarray) -> np.ndarray:
    # MATLAB rgb2gray on uint8 data (rounded to integer levels); gray input passes through.
    if img.ndim == 2:
        return img
    return np.rint(to_gray(img / 255.0, "matlab").astype(np.float64) * 255.0)


def gff_fuse(sources: list[np.ndarray], r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6) -> np.ndarray:
    """Fuse N sources given as 8-bit levels (float64, all ``HxW`` or all ``HxWx3``); returns levels 0..255."""
    G = [_gray_levels(s) / 255.0 for s in sources]
    g5 = gaussian_1d(11, 5.0)
    # Saliency: Gaussian-smoothed absolute Laplacian, normalised over the sources.
    S = np.stack([imfilter_sep(np.abs(imfilter(g, _LAPLACIAN, "replicate")), g5, g5, "replicate") for g in G])
    S = S + 1e-12
    S = S / S.sum(axis=0)
    labels = np.argmax(S, axis=0)  # first maximum on ties, like MATLAB's max

    def optimise(r: int, eps: float) -> np.ndarray:
        W = np.stack([guided_filter(g, (labels == i).astype(np.float64), r, eps) for i, g in enumerate(G)])
        W = matlab_uint8(W * 255.0) / 255.0 + 1e-12  # the authors clip the weights to [0, 1] through uint8
        return W / W.sum(axis=0)

    wb = optimise(r1, eps1)
    wd = optimise(r2, eps2)
    avg = np.full(31, 1.0 / 31.0)
    fused = np.zeros_like(sources[0], dtype=np.float64)
    for i, s in enumerate(sources):
        x = s / 255.0
        base = imfilter_sep(x, avg, avg, "replicate")
        if x.ndim == 3:
            fused += base * wb[i][..., None] + (x - base) * wd[i][..., None]
        else:
            fused += base * wb[i] + (x - base) * wd[i]
    return matlab_uint8(fused * 255.0)


@METHODS.register(
    "gff",
    aliases=("GFF",),
    tags=("classical", "filtering"),
    paper="S. Li, X. Kang, J. Hu, Image fusion with guided filtering, IEEE Transactions on Image Processing "
    "22(7) (2013) 2864-2875",
)
class GFF(FusionMethod):
    """Guided-filtering fusion; colour VIS fused in RGB with weights from gray images (VIFB's MATLAB code).

    Args:
        emulate_vifb_io: reproduce VIFB's ``run_GFF.m`` I/O (JPEG quality-75 round trip of both inputs,
            and its loader's channel mix-up for a single-channel infrared file). For comparison with
            VIFB's published results only.
    """

    display_name = "GFF"
    family = "classical"
    paper = "Li, Kang & Hu, IEEE TIP 2013"
    color = "native"

    def __init__(self, emulate_vifb_io: bool = False, **cfg):
        super().__init__(**cfg)
        if not isinstance(emulate_vifb_io, (bool, np.bool_)):
            from ...errors import IvifError

            raise IvifError(f"GFF: emulate_vifb_io must be true or false, got {emulate_vifb_io!r}")
        self.emulate_vifb_io = bool(emulate_vifb_io)
        self._ir_single_channel: bool | None = None

    def read(self, x: "PathLike | np.ndarray", role: str) -> np.ndarray:
        if role == "ir" and self.emulate_vifb_io:
            if isinstance(x, np.ndarray):
                self._ir_single_channel = x.ndim == 2 or (x.ndim == 3 and x.shape[2] == 1)
            else:
                self._ir_single_channel = imread_uint(x).ndim == 2
        return super().read(x, role)

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        ir8 = np.rint(ir.astype(np.float64) * 255.0)
        vi8 = np.rint(vi.astype(np.float64) * 255.0)
        if self.emulate_vifb_io:
            ir8 = jpeg_roundtrip(ir8.astype(np.uint8)).astype(np.float64)
            vi8 = jpeg_roundtrip(vi8.astype(np.uint8)).astype(np.float64)
            if vi8.ndim == 3 and self._ir_single_channel:
                # load_images.m: I(:,:,2) = IR on the 4-D stack lands in the visible image's green channel.
                vi8 = vi8.copy()
                vi8[..., 1] = ir8
                ir8 = np.zeros_like(vi8)
        if vi8.ndim == 3 and ir8.ndim == 2:
            ir8 = np.repeat(ir8[..., None], 3, axis=2)
        return (gff_fuse([vi8, ir8]) / 255.0).astype(np.float32)
