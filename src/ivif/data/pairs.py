"""Pairing IR and VIS files by base name."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PairingError, SizeMismatchError
from ..io import IMAGE_EXTENSIONS, PathLike, imread, imread_uint


@dataclass
class Pair:
    """One registered IR/VIS pair.

    Attributes:
        name: base name shared by the two files (no extension).
        ir, vi: file paths. For layouts that store both modalities in one file (MFNet's 4-channel PNG),
            ``ir_channel``/``vi_channels`` select the channels.
        labels: label files by kind (``det_yolo_ir``, ``det_voc``, ``seg_mask``, ...).
    """

    name: str
    ir: Path
    vi: Path
    labels: dict[str, Path] = field(default_factory=dict)
    ir_channel: "int | None" = None
    vi_channels: "tuple[int, ...] | None" = None

    def read_ir(self) -> np.ndarray:
        """The IR image as float32 [0, 1] (``HxW``; RGB-stored gray collapses to one channel)."""
        if self.ir_channel is not None:
            a = imread_uint(self.ir)
            return a[..., self.ir_channel].astype(np.float32) / (65535.0 if a.dtype == np.uint16 else 255.0)
        return imread(self.ir)

    def read_vi(self) -> np.ndarray:
        """The VIS image as float32 [0, 1] (``HxW`` or ``HxWx3``)."""
        if self.vi_channels is not None:
            a = imread_uint(self.vi)
            return a[..., list(self.vi_channels)].astype(np.float32) / (65535.0 if a.dtype == np.uint16 else 255.0)
        return imread(self.vi)


class PairList(list):
    """A list of :class:`Pair` that also reports the files left unpaired (``unpaired_ir``/``unpaired_vi``)."""

    def __init__(self, pairs: list[Pair], unpaired_ir: list[Path] | None = None,
                 unpaired_vi: list[Path] | None = None):
        super().__init__(pairs)
        self.unpaired_ir = unpaired_ir or []
        self.unpaired_vi = unpaired_vi or []


def list_images(folder: PathLike) -> dict[str, Path]:
    """Image files of a folder by base name (extension and case of the extension ignored).

    Raises :class:`PairingError` when the folder is missing or when two files share a base name.
    """
    d = Path(folder)
    if not d.exists():
        raise PairingError(f"{d}: folder not found; check the path")
    if not d.is_dir():
        raise PairingError(f"{d}: is a file, expected a folder of images")
    out: dict[str, Path] = {}
    for p in sorted(d.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."):
            stem = p.stem
            if stem in out:
                raise PairingError(f"{out[stem]} and {p} share the base name {stem!r}; keep one of them")
            out[stem] = p
    return out


def _size(p: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(p) as im:
            return im.size
    except Exception:
        return (-1, -1)  # unreadable files are reported when they are read, with the reason


def load_pairs(ir_dir: PathLike, vi_dir: PathLike, strict: bool = False, check_sizes: bool = True) -> PairList:
    """Pair the image files of ``ir_dir`` and ``vi_dir`` by base name.

    Extensions may differ (``a.png`` pairs with ``a.jpg``); names are matched exactly, extensions
    case-insensitively. Files without a partner are listed in ``unpaired_ir``/``unpaired_vi`` and
    reported with a warning (``strict=True`` raises instead). Raises :class:`PairingError` for a missing
    or empty folder or when nothing pairs, and :class:`SizeMismatchError` naming both files when a
    pair's sizes differ (``check_sizes``).
    """
    ir = list_images(ir_dir)
    vi = list_images(vi_dir)
    for d, files in ((ir_dir, ir), (vi_dir, vi)):
        if not files:
            raise PairingError(f"{d}: no images found (extensions: {', '.join(IMAGE_EXTENSIONS)})")
    names = sorted(set(ir) & set(vi))
    un_ir = [ir[n] for n in sorted(set(ir) - set(vi))]
    un_vi = [vi[n] for n in sorted(set(vi) - set(ir))]
    if not names:
        raise PairingError(
            f"no file of {ir_dir} has a partner with the same base name in {vi_dir} "
            f"(e.g. {ir[next(iter(ir))].name} vs {vi[next(iter(vi))].name}); rename the files so IR and VIS share names"
        )
    if un_ir or un_vi:
        listed = ", ".join(p.name for p in (un_ir + un_vi)[:10]) + (" ..." if len(un_ir) + len(un_vi) > 10 else "")
        msg = f"{len(un_ir)} IR and {len(un_vi)} VIS files have no partner: {listed}"
        if strict:
            raise PairingError(msg)
        warnings.warn(msg, stacklevel=2)
    pairs = []
    for n in names:
        if check_sizes:
            si, sv = _size(ir[n]), _size(vi[n])
            if -1 not in si + sv and si != sv:
                raise SizeMismatchError(
                    f"{ir[n]} is {si[0]}x{si[1]} but {vi[n]} is {sv[0]}x{sv[1]}; IR and VIS of a pair must have "
                    "the same size (register or resize them first)"
                )
        pairs.append(Pair(n, ir[n], vi[n]))
    return PairList(pairs, un_ir, un_vi)


def describe_file(p: Path) -> dict[str, Any]:
    """Size, mode and bit depth of an image file from its header (PIL), without decoding pixels."""
    from PIL import Image

    try:
        with Image.open(p) as im:
            mode = im.mode
            bits = 16 if mode.startswith("I;16") or mode == "I" else 8
            if im.format == "PNG":
                with open(p, "rb") as f:
                    head = f.read(26)
                if len(head) > 24:
                    bits = head[24] if head[24] in (1, 2, 4, 8, 16) else bits
            return {"size": im.size, "mode": mode, "bits": bits, "format": im.format}
    except Exception as exc:
        return {"size": None, "mode": None, "bits": None, "format": None, "error": str(exc)}


def is_hidden(p: PathLike) -> bool:
    """True for dot-files and folders (ignored when scanning datasets)."""
    return os.path.basename(str(p)).startswith(".")
