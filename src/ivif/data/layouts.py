"""Folder layouts of the published IVIF data sets, detected automatically by :func:`open_dataset`.

Each layout says where IR, VIS and labels live relative to the data set root, as the data set is
published (checked against the releases and the loaders of the papers that use them):

==========  ==========================================================================================
generic     ``ir/`` + ``vi/`` (also ``infrared|Inf|IR`` + ``visible|Vis|VI``); labels under ``labels/``
tno         the original TNO_Image_Fusion_Dataset: one folder per scene holding ``IR*`` and ``VIS*`` files
roadscene   ``cropinfrared/`` + ``crop_LR_visible/`` (hanna-xu/RoadScene; the HR crops are not aligned)
vifb        ``input/IR/`` + ``input/VI/`` (xingchenzhang/VIFB)
msrs        ``{train,test}/ir`` + ``{train,test}/vi``; masks ``{split}/Segmentation_labels`` (MFNet classes)
m3fd        ``Ir/`` + ``Vis/``; VOC boxes in ``Annotation/`` (M3FD_Detection)
llvip       ``infrared/{train,test}`` + ``visible/{train,test}``; VOC boxes in ``Annotations/``
fmb         ``{train,test}/Infrared`` + ``{train,test}/Visible``; index masks ``{split}/Label``
mfnet       ``images/*.png`` with 4 channels (RGB + thermal); masks ``labels/``; splits ``{train,val,test}.txt``
==========  ==========================================================================================
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import DatasetError, PairingError
from ..io import IMAGE_EXTENSIONS, PathLike
from ..registry import DATASETS
from .labels import FMB_CLASSES, LLVIP_CLASSES, M3FD_CLASSES, MFNET_CLASSES, read_classes
from .pairs import Pair, PairList, list_images, load_pairs

IR_NAMES = ("ir", "IR", "Ir", "infrared", "Infrared", "inf", "Inf", "thermal", "lwir")
VI_NAMES = ("vi", "VI", "Vi", "vis", "Vis", "VIS", "visible", "Visible", "rgb", "RGB")


@dataclass
class Dataset:
    """A data set opened by :func:`open_dataset`: its pairs, labels and what was found.

    Attributes:
        root: the folder opened. layout: the layout name. pairs: all pairs (all splits).
        splits: pair names per split (empty when the layout has no splits).
        classes: class names of the labels (``None`` when unknown). label_kinds: label kinds found
        with their file counts. unpaired: files without a partner. extras: other folders found
        (``fused`` methods, ``ir_warp``, ``flow``) with their counts.
    """

    root: Path
    layout: str
    pairs: PairList
    splits: dict[str, list[str]] = field(default_factory=dict)
    classes: "list[str] | None" = None
    label_kinds: dict[str, int] = field(default_factory=dict)
    unpaired: list[Path] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self):
        return iter(self.pairs)

    def __getitem__(self, i: int) -> Pair:
        return self.pairs[i]


@dataclass(frozen=True)
class Layout:
    """How a data set is laid out; ``detect(root)`` says whether ``root`` has this layout."""

    name: str
    description: str
    detect: Callable[[Path], bool]
    open: Callable[[Path], Dataset]
    source: str = ""


def _first(root: Path, names: tuple[str, ...]) -> "Path | None":
    for n in names:
        if (root / n).is_dir():
            return root / n
    return None


def _attach(pairs: list[Pair], kind: str, folder: "Path | None", exts: tuple[str, ...]) -> int:
    """Attach label files named like each pair to ``pair.labels[kind]``; returns how many matched."""
    if folder is None or not folder.is_dir():
        return 0
    files = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in exts}
    n = 0
    for pr in pairs:
        if pr.name in files:
            pr.labels[kind] = files[pr.name]
            n += 1
    return n


def _scan_labels(root: Path, pairs: list[Pair]) -> tuple[dict[str, int], "list[str] | None"]:
    """Find labels under ``root/labels``: YOLO txt, VOC xml, index-PNG masks; ``classes.txt``."""
    kinds: dict[str, int] = {}
    classes = None
    lab = root / "labels"
    if not lab.is_dir():
        return kinds, classes
    if (lab / "classes.txt").is_file():
        classes = read_classes(lab / "classes.txt")
    for sub in [lab] + sorted(p for p in lab.iterdir() if p.is_dir()):
        suffixes = {p.suffix.lower() for p in sub.iterdir() if p.is_file() and p.name != "classes.txt"}
        tag = "" if sub == lab else sub.name
        if ".txt" in suffixes:
            k = tag if tag.startswith("det_yolo") else f"det_yolo{('_' + tag) if tag else ''}"
            n = _attach(pairs, k, sub, (".txt",))
            if n:
                kinds[k] = n
        if ".xml" in suffixes:
            k = tag if tag.startswith("det_voc") else f"det_voc{('_' + tag) if tag else ''}"
            n = _attach(pairs, k, sub, (".xml",))
            if n:
                kinds[k] = n
        if ".png" in suffixes:
            k = tag if tag.startswith("seg") else f"seg_mask{('_' + tag) if tag else ''}"
            n = _attach(pairs, k, sub, (".png",))
            if n:
                kinds[k] = n
    return kinds, classes


def _extras(root: Path, pairs: list[Pair]) -> dict[str, Any]:
    ex: dict[str, Any] = {}
    fused = root / "fused"
    if fused.is_dir():
        ex["fused"] = {d.name: len(list_images(d)) for d in sorted(fused.iterdir()) if d.is_dir()}
    for name in ("ir_warp", "vi_hr"):
        if (root / name).is_dir():
            ex[name] = len(list_images(root / name))
    if (root / "flow").is_dir():
        ex["flow"] = len([p for p in (root / "flow").iterdir() if p.suffix.lower() == ".mat"])
    return ex


def _from_dirs(root: Path, layout: str, ir: Path, vi: Path, classes: "list[str] | tuple[str, ...] | None" = None
               ) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = load_pairs(ir, vi)
    kinds, found_classes = _scan_labels(root, pairs)
    return Dataset(root, layout, pairs, classes=found_classes or (list(classes) if classes else None),
                   label_kinds=kinds, unpaired=pairs.unpaired_ir + pairs.unpaired_vi, extras=_extras(root, pairs))


def _split_dataset(root: Path, layout: str, splits: tuple[str, ...], ir_rel: str, vi_rel: str,
                   label_rel: "tuple[str, str, tuple[str, ...]] | None", classes: "tuple[str, ...] | None"
                   ) -> Dataset:
    """Pairs of ``root/<split>/<ir_rel>`` style layouts (``{split}`` in the relative paths)."""
    all_pairs: list[Pair] = []
    unpaired: list[Path] = []
    split_names: dict[str, list[str]] = {}
    kinds: dict[str, int] = {}
    for s in splits:
        ir, vi = root / ir_rel.format(split=s), root / vi_rel.format(split=s)
        if not (ir.is_dir() and vi.is_dir()):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pl = load_pairs(ir, vi)
        if label_rel is not None:
            kind, rel, exts = label_rel
            n = _attach(pl, kind, root / rel.format(split=s), exts)
            if n:
                kinds[kind] = kinds.get(kind, 0) + n
        for p in pl:
            if len(splits) > 1:
                p.name = f"{s}/{p.name}" if any(q.name == p.name for q in all_pairs) else p.name
        split_names[s] = [p.name for p in pl]
        all_pairs.extend(pl)
        unpaired += pl.unpaired_ir + pl.unpaired_vi
    if not all_pairs:
        raise PairingError(f"{root}: no pairs found in the {layout} layout")
    return Dataset(root, layout, PairList(all_pairs), split_names, list(classes) if classes else None, kinds,
                   unpaired, _extras(root, all_pairs))


# ------------------------------------------------------------------------------------- the layouts
def _generic_detect(root: Path) -> bool:
    return _first(root, IR_NAMES) is not None and _first(root, VI_NAMES) is not None


def _generic_open(root: Path) -> Dataset:
    ir, vi = _first(root, IR_NAMES), _first(root, VI_NAMES)
    assert ir is not None and vi is not None
    return _from_dirs(root, "generic", ir, vi)


def _tno_scene_files(folder: Path) -> "tuple[Path, Path] | None":
    ir = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.name.upper().startswith("IR")]
    vi = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.name.upper().startswith("VIS")]
    return (ir[0], vi[0]) if len(ir) == 1 and len(vi) == 1 else None


def _tno_detect(root: Path) -> bool:
    return any(_tno_scene_files(d) for d in root.rglob("*") if d.is_dir())


def _tno_open(root: Path) -> Dataset:
    pairs = []
    for d in sorted(p for p in [root, *root.rglob("*")] if p.is_dir()):
        f = _tno_scene_files(d)
        if f:
            name = str(d.relative_to(root)) if d != root else d.name
            pairs.append(Pair(name.replace("\\", "/"), f[0], f[1]))
    return Dataset(root, "tno", PairList(pairs))


def _mfnet_detect(root: Path) -> bool:
    return (root / "images").is_dir() and (root / "labels").is_dir() and (root / "train.txt").is_file()


def _mfnet_open(root: Path) -> Dataset:
    imgs = list_images(root / "images")
    pairs = [Pair(n, p, p, ir_channel=3, vi_channels=(0, 1, 2)) for n, p in imgs.items()]
    n = _attach(pairs, "seg_mask", root / "labels", (".png",))
    splits = {}
    for s in ("train", "val", "test"):
        f = root / f"{s}.txt"
        if f.is_file():
            splits[s] = [ln.strip() for ln in f.read_text().splitlines() if ln.strip()]
    return Dataset(root, "mfnet", PairList(pairs), splits, list(MFNET_CLASSES), {"seg_mask": n} if n else {})


def _register(name: str, description: str, detect, open_, source: str = "") -> None:
    DATASETS.register(name, Layout(name, description, detect, open_, source), description=description)


_register("mfnet", "MFNet: 4-channel PNGs (RGB + thermal) in images/, masks in labels/, {train,val,test}.txt",
          _mfnet_detect, _mfnet_open, "Ha et al., IROS 2017")
_register("fmb", "FMB: {train,test}/Infrared + Visible, index masks in {split}/Label (15 classes)",
          lambda r: (r / "train" / "Infrared").is_dir() or (r / "test" / "Infrared").is_dir(),
          lambda r: _split_dataset(r, "fmb", ("train", "test"), "{split}/Infrared", "{split}/Visible",
                                   ("seg_mask", "{split}/Label", (".png",)), FMB_CLASSES),
          "Liu et al., SegMiF, ICCV 2023")
_register("msrs", "MSRS: {train,test}/ir + vi, masks in {split}/Segmentation_labels (MFNet classes)",
          lambda r: (r / "train" / "ir").is_dir() or (r / "test" / "ir").is_dir(),
          lambda r: _split_dataset(r, "msrs", ("train", "test"), "{split}/ir", "{split}/vi",
                                   ("seg_mask", "{split}/Segmentation_labels", (".png",)), MFNET_CLASSES),
          "Tang et al., PIAFusion, Information Fusion 2022")
_register("llvip", "LLVIP: infrared/{train,test} + visible/{train,test}, VOC boxes in Annotations/",
          lambda r: (r / "infrared" / "train").is_dir() or (r / "infrared" / "test").is_dir(),
          lambda r: _split_dataset(r, "llvip", ("train", "test"), "infrared/{split}", "visible/{split}",
                                   ("det_voc", "Annotations", (".xml",)), LLVIP_CLASSES),
          "Jia et al., ICCV Workshops 2021")
_register("m3fd", "M3FD: Ir/ + Vis/, VOC boxes in Annotation/ (6 classes)",
          lambda r: (r / "Ir").is_dir() and (r / "Vis").is_dir(),
          lambda r: _split_dataset(r, "m3fd", ("",), "Ir", "Vis", ("det_voc", "Annotation", (".xml",)),
                                   M3FD_CLASSES),
          "Liu et al., TarDAL, CVPR 2022")
_register("vifb", "VIFB: input/IR + input/VI (21 pairs)",
          lambda r: (r / "input" / "IR").is_dir() and (r / "input" / "VI").is_dir(),
          lambda r: _split_dataset(r, "vifb", ("",), "input/IR", "input/VI", None, None),
          "Zhang et al., CVPR Workshops 2020")
_register("roadscene", "RoadScene: cropinfrared/ + crop_LR_visible/ (pixel-aligned crops)",
          lambda r: (r / "cropinfrared").is_dir() and (r / "crop_LR_visible").is_dir(),
          lambda r: _split_dataset(r, "roadscene", ("",), "cropinfrared", "crop_LR_visible", None, None),
          "Xu et al., U2Fusion, TPAMI 2020")
_register("generic", "ir/ + vi/ folders (also infrared|IR + visible|VI); labels/ with YOLO txt, VOC xml, masks",
          _generic_detect, _generic_open)
_register("tno", "TNO original: one folder per scene with IR* and VIS* files", _tno_detect, _tno_open,
          "Toet, TNO Image Fusion Dataset")

#: Detection order: specific layouts before the generic ones.
DETECTION_ORDER = ("mfnet", "fmb", "msrs", "llvip", "m3fd", "vifb", "roadscene", "generic", "tno")


def open_dataset(root: PathLike, layout: "str | None" = None) -> Dataset:
    """Open a data set folder, detecting its layout (or using ``layout=``, see ``ivif list datasets``).

    Raises :class:`DatasetError` when no layout matches, naming the folders it looked for.
    """
    r = Path(root)
    if not r.exists():
        raise PairingError(f"{r}: folder not found; check the path")
    if not r.is_dir():
        raise PairingError(f"{r}: is a file; pass the data set folder")
    if layout is not None:
        lay: Layout = DATASETS.get(layout)
        if not lay.detect(r):
            raise DatasetError(f"{r}: does not look like the {layout} layout ({lay.description})")
        return lay.open(r)
    for name in DETECTION_ORDER:
        lay = DATASETS.get(name)
        if lay.detect(r):
            return lay.open(r)
    if not any(r.iterdir()):
        raise PairingError(f"{r}: folder is empty; expected ir/ and vi/ sub-folders with images")
    raise DatasetError(
        f"{r}: no known data set layout found; expected ir/ + vi/ sub-folders (or a published layout, "
        "see `ivif list datasets`), or pass --ir DIR --vi DIR"
    )
