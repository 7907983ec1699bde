"""Pre/post-processing steps of the official fusion pipelines, shared by the deep methods.

The official scripts read, convert and save images in library-specific ways that change pixel values
(OpenCV's direct JPEG-to-gray decode, PIL's integer YCbCr, ``scipy.misc`` min-max stretching). These
functions reproduce each step exactly, on the 8-bit data the official scripts see. Inputs may be a
path (read as the official script reads it) or an array (uint8, or float32 in [0, 1] from
``ivif.io.imread``; then the same conversion is applied to its 8-bit values).
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from ...io import imread_uint

GrayRead = Literal["pil_L", "cv2_gray", "cv2_bgr2gray", "scipy_flatten_ycbcr"]


def source_of(x: object) -> "str | None":
    """The file a (``SourcedImage``) array was read from, or the path itself; ``None`` for plain arrays."""
    if isinstance(x, (str, os.PathLike)):
        return str(x)
    return getattr(x, "source_path", None)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 by rounding (exact for arrays read from 8-bit files); uint8 passes through."""
    a = np.asarray(x)
    if a.dtype == np.uint8:
        return a
    return np.clip(np.rint(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def _rgb_u8(x: object) -> np.ndarray:
    """8-bit RGB (HxWx3) of a path or array; gray is replicated."""
    src = source_of(x)
    a = imread_uint(src) if isinstance(x, (str, os.PathLike)) else to_uint8(np.asarray(x))
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a[..., :3])


def read_gray(x: object, how: GrayRead) -> np.ndarray:
    """8-bit gray as an official script reads it; returns float32 on the 0..255 scale (``HxW``).

    ``how``:
      * ``pil_L``: PIL ``Image.open(p).convert('L')`` (``scipy.misc.imread(mode='L')`` too);
      * ``cv2_gray``: ``cv2.imread(p, IMREAD_GRAYSCALE)`` — for JPEG files libjpeg decodes straight to
        gray (differs from converting the decoded RGB by up to ~14 levels); for arrays, OpenCV's
        ``RGB2GRAY`` on the 8-bit values;
      * ``cv2_bgr2gray``: ``cv2.imread(p)`` then ``cvtColor(BGR2GRAY)`` (8-bit fixed point);
      * ``scipy_flatten_ycbcr``: ``scipy.misc.imread(p, flatten=True, mode='YCbCr')``: PIL converts to
        8-bit YCbCr, then to float luminance (``convert('F')``) — gray with ±1 rounding noise.
    """
    import cv2
    from PIL import Image

    src = source_of(x)
    if how == "cv2_gray" and src is not None:
        g = cv2.imread(src, cv2.IMREAD_GRAYSCALE)
        if g is not None:
            return g.astype(np.float32)
    rgb = _rgb_u8(src if src is not None and isinstance(x, (str, os.PathLike)) else x)
    if how in ("cv2_gray", "cv2_bgr2gray"):
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    im = Image.fromarray(rgb, "RGB")
    if how == "pil_L":
        return np.asarray(im.convert("L"), dtype=np.float32)
    if how == "scipy_flatten_ycbcr":
        return np.asarray(im.convert("YCbCr").convert("F"), dtype=np.float32)
    raise ValueError(f"unknown gray reading {how!r}")


def read_rgb_u8(x: object) -> np.ndarray:
    """8-bit RGB of a path (as PIL/OpenCV decode it) or array; gray inputs are replicated."""
    return _rgb_u8(x)


def bytescale(x: np.ndarray) -> np.ndarray:
    """``scipy.misc.imsave``/``bytescale`` of a float image: min-max stretch to 0..255, rounded.

    ``uint8 = trunc((x - min) * 255 / (max - min) + 0.5)``; a constant image maps to 0.
    Computed in float32 as scipy did (``cmax - cmin`` and the scale in the array's float type).
    """
    a = np.asarray(x, dtype=np.float32)
    lo, hi = a.min(), a.max()
    rng = hi - lo
    if rng == 0:
        rng = np.float32(1.0)
    scale = np.float32(255.0) / rng
    out = (a - lo) * scale + np.float32(0.5)
    return np.clip(out, 0, 255).astype(np.uint8)


def pil_colourise(gray_u8: np.ndarray, vi: object) -> np.ndarray:
    """Colourise a fused 8-bit gray image with the visible image's chroma, as the official scripts do
    with PIL: ``vi.convert('YCbCr')``, replace Y by the fused gray, ``merge(...).convert('RGB')``.

    Returns uint8 ``HxWx3``. A gray visible image gives a gray result (replicated to 3 channels).
    """
    from PIL import Image

    vi_rgb = read_rgb_u8(vi)
    ycc = np.asarray(Image.fromarray(vi_rgb, "RGB").convert("YCbCr")).copy()
    ycc[..., 0] = gray_u8
    return np.asarray(Image.fromarray(ycc, "YCbCr").convert("RGB"))


def is_colour(x: object) -> bool:
    """True when the visible input has three distinct channels (a real colour image)."""
    a = read_rgb_u8(x)
    return not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2]))


def assign_tf_variables(module: "object", variables: dict, table: dict, source: object = "") -> None:
    """Copy TF variables into a torch module by an explicit ``{torch parameter name: TF name}`` table.

    Conv kernels (4-D, HWIO in TF) are transposed to torch's OIHW; every other array is copied as is.
    Raises :class:`~ivif.errors.WeightsError` naming ``source`` when a variable is missing or its shape
    does not fit, and when the table leaves a torch parameter or buffer without a value.
    """
    import torch

    from ...errors import WeightsError

    state = module.state_dict()  # type: ignore[attr-defined]
    missing = sorted(set(state) - set(table))
    if missing:
        raise WeightsError(f"{source}: no TF variable mapped to {', '.join(missing)}")
    new = {}
    for name, tf_name in table.items():
        if tf_name not in variables:
            raise WeightsError(f"{source}: TF variable {tf_name!r} not found; is this the right checkpoint?")
        a = np.asarray(variables[tf_name], dtype=np.float32)
        if a.ndim == 4:
            a = a.transpose(3, 2, 0, 1)
        if tuple(a.shape) != tuple(state[name].shape):
            raise WeightsError(f"{source}: TF variable {tf_name!r} has shape {a.shape}, expected "
                               f"{tuple(state[name].shape)} for {name}")
        new[name] = torch.from_numpy(np.ascontiguousarray(a))
    module.load_state_dict(new)  # type: ignore[attr-defined]


# VIF-Benchmark keeps byte-identical copies of the original TF1 checkpoints under one naming scheme.
_VIFB = "Linfeng-Tang/VIF-Benchmark"
_VIFB_COMMIT = "23f2e51fc1b084310d998999222ce02dc364b6eb"


def tf1_specs(folder: str, stem: str, repo: str, commit: str, upstream: str, license: str, paper: str,
              npz_sha: str, index_sha: str, data_sha: str) -> dict:
    """WeightSpecs of a TF1 checkpoint: ``default`` (the ``.npz`` conversion, found locally only),
    ``index`` and ``index_data`` (the original files, downloadable from VIF-Benchmark, whose copies are
    byte-identical to ``repo@commit``'s ``upstream`` checkpoint)."""
    from ..weights import WeightSpec

    src = f"{repo}@{commit} {upstream}"
    base = f"https://github.com/{_VIFB}/raw/{_VIFB_COMMIT}/Checkpoint/{folder}/{stem}"
    return {
        "default": WeightSpec(folder, f"{stem}.npz", base + ".index", npz_sha, license,
                              src + " (converted: TF variable name -> array)", paper),
        "index": WeightSpec(folder, f"tf_checkpoint/{stem}.index", base + ".index", index_sha, license,
                            src, paper),
        "index_data": WeightSpec(folder, f"tf_checkpoint/{stem}.data-00000-of-00001",
                                 base + ".data-00000-of-00001", data_sha, license, src, paper),
    }


def gray_minus1_1(x: Any) -> "torch.Tensor":
    """Official input of the HaoZhang/Tang TF1 scripts: ``scipy.misc.imread(flatten=True, mode='YCbCr')``
    luminance, ``(x - 127.5) / 127.5`` in float64, fed to the graph as float32; ``1x1xHxW``."""
    import torch

    g = read_gray(x, "scipy_flatten_ycbcr").astype(np.float64)
    a = ((g - 127.5) / 127.5).astype(np.float32)
    return torch.from_numpy(a)[None, None]


def stretched_colour(y255: np.ndarray, vi: Any, stretch: bool) -> np.ndarray:
    """Official save of a fused image on the 0..255 scale: ``scipy.misc.imsave`` min-max stretch
    (``stretch=True``) or plain rounding with clipping (``stretch=False``), then PIL colourisation
    with the visible image's Cb/Cr. Returns uint8 ``HxWx3``."""
    y = np.asarray(y255, dtype=np.float32)
    u8 = bytescale(y) if stretch else np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return pil_colourise(u8, vi)
