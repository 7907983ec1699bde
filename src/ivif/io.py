"""Image I/O and colour conversion.

Conventions (see DESIGN.md): inside ivif an image is ``numpy.float32`` in [0, 1], shape ``HxW`` (gray)
or ``HxWx3`` (RGB). 8-bit files are divided by 255, 16-bit files by 65535 (never truncated to 8 bit).

Gray conversion differs between the reference implementations of the field, so it is a named policy:

=========  ===============================================================================================
``pil_L``  PIL ``Image.convert('L')``: ``(19595 R + 38470 G + 7471 B + 2**15) >> 16`` on 8-bit values
``cv2``    OpenCV ``cvtColor(..., RGB2GRAY)`` itself: its fixed-point kernel on 8-bit values (OpenCV 4:
           ``(4899 R + 9617 G + 1868 B + 2**13) >> 14``), ``0.299 R + 0.587 G + 0.114 B`` on float data
``matlab`` MATLAB ``rgb2gray``: ``0.298936021293775 R + 0.587043074451121 G + 0.114020904255103 B``, rounded
           to the nearest 8-bit level (half away from zero) for 8-bit data
``y``      Y of BT.601 full-range YCbCr: ``0.299 R + 0.587 G + 0.114 B`` in float, no rounding
=========  ===============================================================================================

For 8-bit-representable inputs ``pil_L``, ``cv2`` and ``matlab`` return exact multiples of 1/255, as the
named library does; for other inputs they apply the same weights in float.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Union

import numpy as np

from .errors import ImageReadError, ImageTooLargeError, InvalidImageError

PathLike = Union[str, os.PathLike]
GrayPolicy = Literal["pil_L", "cv2", "matlab", "y"]
GRAY_POLICIES: tuple[str, ...] = ("pil_L", "cv2", "matlab", "y")
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

_DEFAULT_MAX_PIXELS = 200_000_000
_max_pixels = int(os.environ.get("IVIF_MAX_PIXELS", _DEFAULT_MAX_PIXELS))

# BT.601 full-range ("JPEG") RGB -> YCbCr, offsets 0.5 on [0, 1] data. The inverse is the exact matrix
# inverse (not the rounded 1.402/1.772 constants) so that a round trip is exact to float precision.
_RGB2YCBCR = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168735891647856, -0.331264108352144, 0.5],
        [0.5, -0.418687589158345, -0.081312410841655],
    ],
    dtype=np.float64,
)
_YCBCR2RGB = np.linalg.inv(_RGB2YCBCR)


def set_max_pixels(n: int | None) -> None:
    """Set the largest image (width x height, pixels) that :func:`imread` accepts; ``None`` restores the default.

    The default is 200 megapixels, or ``$IVIF_MAX_PIXELS``. It protects batch jobs from decompression bombs.
    """
    global _max_pixels
    _max_pixels = _DEFAULT_MAX_PIXELS if n is None else int(n)


def get_max_pixels() -> int:
    """The current pixel limit of :func:`imread`."""
    return _max_pixels


def is_image_file(path: PathLike) -> bool:
    """True when the file name has one of the image extensions ivif reads (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


# ----------------------------------------------------------------------------------------------- reading
def _png_bit_depth(raw: bytes) -> int | None:
    # IHDR is the first chunk: 8-byte signature, 4 length, 4 type, 4 width, 4 height, 1 bit depth.
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 24:
        return raw[24]
    return None


def imread_uint(path: PathLike) -> np.ndarray:
    """Decode an image file to its stored integer values, without any conversion of depth or channels.

    Returns ``uint8`` or ``uint16``, shape ``HxW``, ``HxWx3`` (RGB order) or ``HxWx4`` (RGBA); palette
    images are expanded to RGB(A), 1-bit images to 0/255. Raises :class:`ImageReadError` naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p}: file not found; check the path")
    if p.is_dir():
        raise ImageReadError(f"{p}: is a folder, expected an image file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ImageReadError(f"{p}: cannot be read ({exc.strerror}); check permissions") from exc
    if len(raw) == 0:
        raise ImageReadError(f"{p}: empty file (0 bytes); re-export or remove it")
    import io as _io

    try:
        im = Image.open(_io.BytesIO(raw))
    except UnidentifiedImageError as exc:
        raise ImageReadError(
            f"{p}: not a readable image (content is not PNG/JPEG/BMP/TIFF); replace it with a real image file"
        ) from exc
    w, h = im.size
    if w * h > _max_pixels:
        raise ImageTooLargeError(
            f"{p}: {w}x{h} = {w * h} pixels exceeds the limit of {_max_pixels}; "
            "raise it with ivif.io.set_max_pixels(n) or $IVIF_MAX_PIXELS, or use --tile"
        )
    try:
        im.load()
    except Exception as exc:  # PIL raises OSError/SyntaxError/ValueError for corrupt data
        raise ImageReadError(f"{p}: corrupt or truncated image data ({exc}); re-export the file") from exc

    depth16 = _png_bit_depth(raw) == 16
    if im.format == "TIFF":
        bps = im.tag_v2.get(258) if hasattr(im, "tag_v2") else None
        bps = bps if isinstance(bps, (tuple, list)) else (bps,)
        depth16 = any(b == 16 for b in bps if b is not None)
    if depth16 and im.mode not in ("I;16", "I;16B", "I;16L", "I", "L"):
        # PIL reduces 16-bit colour PNG/TIFF to 8 bits; OpenCV keeps all 16.
        import cv2

        arr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ImageReadError(f"{p}: 16-bit colour image could not be decoded; re-export it as 8- or 16-bit PNG")
        if arr.ndim == 3 and arr.shape[2] == 3:
            arr = arr[..., ::-1]
        elif arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[..., [2, 1, 0, 3]]
        return np.ascontiguousarray(arr)

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(im, dtype=np.uint16).copy()
    if mode == "I":
        a = np.asarray(im)
        if a.min() < 0 or a.max() > 65535:
            raise ImageReadError(f"{p}: 32-bit integer image with values outside 0..65535 is not supported")
        return a.astype(np.uint16)
    if mode == "F":
        raise ImageReadError(f"{p}: 32-bit float image files are not supported; save as 16-bit PNG/TIFF")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode == "LA":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        im = im.convert("RGB")
    elif mode not in ("L", "RGB", "RGBA"):
        raise ImageReadError(f"{p}: unsupported image mode {mode!r}; convert it to 8- or 16-bit gray or RGB")
    return np.asarray(im).copy()


def imread(path: PathLike, mode: Literal["auto", "gray", "rgb"] = "auto", gray: GrayPolicy = "y") -> np.ndarray:
    """Read an image file as float32 in [0, 1].

    Args:
        path: PNG, JPEG, BMP or TIFF file; 8- or 16-bit; gray, RGB, RGBA (alpha dropped, not composited)
            or palette.
        mode: ``"auto"`` returns ``HxW`` for gray files *and* for RGB files whose three channels are equal
            (gray stored as RGB, common in IVIF data sets), ``HxWx3`` otherwise; ``"gray"`` always ``HxW``
            (converted with the ``gray`` policy); ``"rgb"`` always ``HxWx3``.
        gray: gray-conversion policy used when ``mode="gray"`` meets a colour file (see module docstring).
    """
    arr = imread_uint(path)
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.ndim == 3 and mode != "rgb" and _channels_equal(arr):
        arr = arr[..., 0]
    if mode == "gray" and arr.ndim == 3:
        return to_gray(arr.astype(np.float32) / np.float32(scale), gray, _scale=scale)
    out = arr.astype(np.float32) / np.float32(scale)
    if mode == "rgb" and out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=2)
    return out


def _channels_equal(arr: np.ndarray) -> bool:
    return bool(np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]))


# ----------------------------------------------------------------------------------------------- writing
def imwrite(path: PathLike, img: np.ndarray, bits: Literal[8, 16] = 8, clip: bool = False) -> Path:
    """Write a float image in [0, 1] (``HxW`` or ``HxWx3``) as PNG (or another format by extension).

    Values are scaled by 255 (or 65535 for ``bits=16``) and rounded to the nearest integer, ties to even
    (``numpy.rint``). Values outside [0, 1] raise :class:`InvalidImageError` unless ``clip=True``, so that
    out-of-range network outputs are never clipped silently. Parent folders are created.
    """
    p = Path(path)
    a = np.asarray(img)
    if a.dtype == np.uint8 and bits == 8 or a.dtype == np.uint16 and bits == 16:
        q = a
    else:
        a = as_image(a, name=str(p), allow_out_of_range=clip)
        if clip:
            a = np.clip(a, 0.0, 1.0)
        peak = 65535.0 if bits == 16 else 255.0
        q = np.rint(a.astype(np.float64) * peak).astype(np.uint16 if bits == 16 else np.uint8)
    if bits == 16 and p.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise InvalidImageError(f"{p}: 16-bit output needs a .png or .tif file name")
    p.parent.mkdir(parents=True, exist_ok=True)
    import cv2

    bgr = q[..., ::-1] if q.ndim == 3 else q
    ok = cv2.imwrite(str(p), np.ascontiguousarray(bgr))
    if not ok:
        raise ImageReadError(f"{p}: could not write the image; check the extension and that the folder is writable")
    return p


# ------------------------------------------------------------------------------------- array validation
def as_image(
    arr: np.ndarray, name: str = "image", allow_out_of_range: bool = False, channels: tuple[int, ...] = (1, 3)
) -> np.ndarray:
    """Validate an array passed to the API and return it as float32 ``HxW`` or ``HxWx3`` in [0, 1].

    ``uint8`` is divided by 255 and ``uint16`` by 65535; float arrays must be finite and in [0, 1]
    (tolerance 1e-6). ``HxWx1`` is squeezed. Raises :class:`InvalidImageError` naming ``name``.
    """
    if not isinstance(arr, np.ndarray):
        try:
            arr = np.asarray(arr)
        except Exception as exc:
            raise InvalidImageError(f"{name}: expected a numpy array, got {type(arr).__name__}") from exc
    if arr.dtype == np.uint8:
        out = arr.astype(np.float32) / np.float32(255.0)
    elif arr.dtype == np.uint16:
        out = arr.astype(np.float32) / np.float32(65535.0)
    elif arr.dtype in (np.float16, np.float32, np.float64):
        out = arr.astype(np.float32, copy=False)
        if not np.all(np.isfinite(out)):
            n = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
            raise InvalidImageError(f"{name}: contains {n} NaN/inf values; clean the input (e.g. np.nan_to_num)")
        if not allow_out_of_range and out.size and (out.min() < -1e-6 or out.max() > 1 + 1e-6):
            raise InvalidImageError(
                f"{name}: float values must lie in [0, 1], got [{out.min():.4g}, {out.max():.4g}]; "
                "divide 8-bit data by 255 or pass uint8"
            )
    else:
        raise InvalidImageError(
            f"{name}: unsupported dtype {arr.dtype}; pass uint8, uint16 or float in [0, 1]"
        )
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[..., 0]
    if out.ndim not in (2, 3) or (out.ndim == 3 and out.shape[2] not in channels):
        raise InvalidImageError(
            f"{name}: expected shape HxW or HxWx3, got {tuple(arr.shape)}; pass channels last"
        )
    if out.shape[0] < 1 or out.shape[1] < 1:
        raise InvalidImageError(f"{name}: empty image of shape {tuple(arr.shape)}")
    return out


def check_same_size(a: np.ndarray, b: np.ndarray, name_a: str = "ir", name_b: str = "vi") -> None:
    """Raise :class:`SizeMismatchError` unless ``a`` and ``b`` have the same height and width."""
    from .errors import SizeMismatchError

    if a.shape[:2] != b.shape[:2]:
        raise SizeMismatchError(
            f"{name_a} is {a.shape[1]}x{a.shape[0]} but {name_b} is {b.shape[1]}x{b.shape[0]} (WxH); "
            "fusion needs registered pairs of equal size (resize or register them first)"
        )


class SourcedImage(np.ndarray):
    """A float32 image array that remembers the file it was read from (``source_path``).

    Fusion methods whose official pipeline decodes files in a library-specific way (e.g. OpenCV's
    direct JPEG-to-gray decode) use it to re-read the file exactly; elsewhere it is a plain ndarray.
    """

    source_path: "str | None"

    def __new__(cls, arr: np.ndarray, source_path: "str | None" = None) -> "SourcedImage":
        obj = np.asarray(arr).view(cls)
        obj.source_path = source_path
        return obj

    def __array_finalize__(self, obj: object) -> None:
        # Derived arrays (slices, arithmetic) no longer hold the file's pixels: forget the path.
        self.source_path = None


def load_image(x: "PathLike | np.ndarray", name: str = "image") -> np.ndarray:
    """Return ``x`` as a validated float32 image: read it when it is a path (as a :class:`SourcedImage`),
    validate it when an array."""
    if isinstance(x, (str, os.PathLike)):
        return SourcedImage(imread(x), str(x))
    return as_image(x, name=name)


# --------------------------------------------------------------------------------------------- colour
def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """BT.601 full-range RGB -> YCbCr on [0, 1] data (Cb, Cr offset by 0.5). Shape ``...x3``, float32.

    ``Y = 0.299 R + 0.587 G + 0.114 B``, ``Cb = (B - Y) / 1.772 + 0.5``, ``Cr = (R - Y) / 1.402 + 0.5``
    (the JPEG/JFIF matrix, which is also PIL's and most fusion codes' up to rounding).
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    ycc = rgb @ _RGB2YCBCR.T
    ycc[..., 1:] += 0.5
    return ycc.astype(np.float32)


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr` (exact matrix inverse; round-trip error below 1e-6). Not clipped."""
    ycc = np.asarray(ycc, dtype=np.float64).copy()
    ycc[..., 1:] -= 0.5
    return (ycc @ _YCBCR2RGB.T).astype(np.float32)


def _is_8bit(x: np.ndarray) -> bool:
    q = np.rint(x * 255.0)
    return bool(np.allclose(q / 255.0, x, atol=1e-6, rtol=0))


def to_gray(img: np.ndarray, policy: GrayPolicy = "y", _scale: float = 255.0) -> np.ndarray:
    """Convert ``HxWx3`` RGB in [0, 1] to ``HxW`` gray with a named policy (see module docstring).

    A 2-D input is returned unchanged (as float32).
    """
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 2:
        return img
    if img.ndim != 3 or img.shape[2] != 3:
        raise InvalidImageError(f"to_gray: expected HxWx3 RGB, got shape {img.shape}")
    if policy not in GRAY_POLICIES:
        raise InvalidImageError(f"to_gray: unknown policy {policy!r}; choose one of {', '.join(GRAY_POLICIES)}")
    r, g, b = (img[..., i].astype(np.float64) for i in range(3))
    if policy == "y":
        return (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32)
    eight = _scale == 255.0 and _is_8bit(img)
    if policy == "pil_L":
        if eight:
            R, G, B = (np.rint(c * 255).astype(np.int64) for c in (r, g, b))
            return (((19595 * R + 38470 * G + 7471 * B + 32768) >> 16) / 255.0).astype(np.float32)
        return ((299 * r + 587 * g + 114 * b) / 1000.0).astype(np.float32)
    if policy == "cv2":
        import cv2

        if eight:
            # OpenCV's own fixed-point kernel (its coefficients changed between major versions).
            u8 = np.rint(img * 255.0).astype(np.uint8)
            return cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY).astype(np.float32) / np.float32(255.0)
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    # matlab rgb2gray
    v = 0.298936021293775 * r + 0.587043074451121 * g + 0.114020904255103 * b
    if eight:
        v = np.floor(v * 255.0 + 0.5) / 255.0
    return v.astype(np.float32)


def fuse_luminance_with_chroma(fused_y: np.ndarray, vi_rgb: np.ndarray) -> np.ndarray:
    """Recombine a fused luminance with the chroma of a colour visible image (BT.601), clipped to [0, 1].

    The field's standard colour handling: fuse Y, keep the visible image's Cb and Cr.
    """
    ycc = rgb_to_ycbcr(vi_rgb)
    ycc[..., 0] = fused_y
    return np.clip(ycbcr_to_rgb(ycc), 0.0, 1.0)
