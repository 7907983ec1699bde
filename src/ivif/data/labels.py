"""Annotation readers: YOLO boxes, Pascal VOC boxes, segmentation masks; class lists of the IVIF data sets."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..io import PathLike

#: MFNet / MSRS segmentation classes (index = label value).
MFNET_CLASSES = ("unlabelled", "car", "person", "bike", "curve", "car_stop", "guardrail", "color_cone", "bump")
#: FMB (SegMiF, ICCV 2023) segmentation classes.
FMB_CLASSES = ("background", "road", "sidewalk", "building", "lamp", "sign", "vegetation", "sky", "person", "car",
               "truck", "bus", "motorcycle", "bicycle", "pole")
#: M3FD (TarDAL, CVPR 2022) detection classes.
M3FD_CLASSES = ("People", "Car", "Bus", "Motorcycle", "Lamp", "Truck")
#: LLVIP detection classes.
LLVIP_CLASSES = ("person",)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels (``x0, y0`` top-left, ``x1, y1`` bottom-right) with a class."""

    cls: int
    name: str
    x0: float
    y0: float
    x1: float
    y1: float
    difficult: bool = False


def read_classes(path: PathLike) -> list[str]:
    """Class names from a ``classes.txt`` (one per line, optionally ``<index> <name>``)."""
    names = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        names.append(" ".join(parts[1:]) if parts[0].isdigit() and len(parts) > 1 else " ".join(parts))
    return names


def read_yolo(path: PathLike, width: int, height: int, classes: "list[str] | tuple[str, ...] | None" = None
              ) -> list[Box]:
    """Boxes of a YOLO txt file (``class cx cy w h`` normalised to [0, 1], whitespace-separated).

    ``width``/``height`` (pixels) convert to pixel corners. Raises :class:`DatasetError` naming the
    file and line for malformed rows.
    """
    p = Path(path)
    boxes = []
    for i, line in enumerate(p.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            c, cx, cy, w, h = int(float(parts[0])), *(float(v) for v in parts[1:5])
            if len(parts) < 5:
                raise ValueError
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"{p}:{i}: expected 'class cx cy w h' (YOLO), got {line.strip()!r}") from exc
        name = classes[c] if classes is not None and 0 <= c < len(classes) else str(c)
        boxes.append(Box(c, name, (cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width,
                         (cy + h / 2) * height))
    return boxes


def read_voc(path: PathLike, classes: "list[str] | tuple[str, ...] | None" = None) -> list[Box]:
    """Boxes of a Pascal VOC XML file (pixel corners as stored). Unknown class names get index -1."""
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise DatasetError(f"{p}: not valid Pascal VOC XML ({exc})") from exc
    boxes = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if bb is None:
            raise DatasetError(f"{p}: object {name!r} has no <bndbox>")
        try:
            x0, y0, x1, y1 = (float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{p}: object {name!r} has a malformed <bndbox>") from exc
        idx = list(classes).index(name) if classes is not None and name in classes else -1
        boxes.append(Box(idx, name, x0, y0, x1, y1, (obj.findtext("difficult") or "0").strip() == "1"))
    return boxes


def read_mask(path: PathLike) -> np.ndarray:
    """A segmentation mask as ``HxW`` int64 class indices.

    Index PNGs (mode ``L`` or ``P``) give their stored indices (a palette PNG's indices, not its
    colours). An RGB mask is rejected with advice, since colours need the data set's palette.
    """
    from PIL import Image

    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()
            if im.mode in ("L", "P", "I", "I;16"):
                return np.asarray(im).astype(np.int64)
            raise DatasetError(f"{p}: mask has mode {im.mode}; use the index masks (values = class ids), "
                               "not the colour visualisation")
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{p}: cannot read the mask ({exc})") from exc
