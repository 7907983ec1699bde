"""Data sets: pairing by name, the published folder layouts, labels, and a bundled sample."""

from __future__ import annotations

from pathlib import Path

from .labels import Box, read_classes, read_mask, read_voc, read_yolo
from .layouts import Dataset, open_dataset
from .pairs import Pair, PairList, load_pairs

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


def sample() -> Dataset:
    """The bundled demo set: 3 real MSRS pairs (640x480, IR gray + VIS RGB) with YOLO boxes.

    MIT-licensed (Linfeng-Tang/SuperFusion, Linfeng-Tang/PIAFusion); see ``sample/ATTRIBUTION.md``.
    """
    return open_dataset(SAMPLE_DIR)


__all__ = ["Box", "Dataset", "Pair", "PairList", "SAMPLE_DIR", "load_pairs", "open_dataset", "read_classes",
           "read_mask", "read_voc", "read_yolo", "sample"]
