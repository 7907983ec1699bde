"""ivif: infrared-visible image fusion — methods, reference-exact metrics, benchmarks."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from .errors import IvifError  # noqa: E402
from .io import imread, imwrite  # noqa: E402
from .registry import create_method, create_metric, list_methods, list_metrics  # noqa: E402


def evaluate(ir: Any, vi: Any, fused: Any, metrics: "str | list[str]" = "all", profile: str = "cddfuse"):
    """Fusion metrics of ``fused`` against ``(ir, vi)`` under a reference profile; see :mod:`ivif.metrics`."""
    from .metrics.evaluate import evaluate as _evaluate

    return _evaluate(ir, vi, fused, metrics=metrics, profile=profile)


def fuse(ir: Any, vi: Any, method: str = "average", **cfg: Any):
    """Fuse one pair (paths or arrays) with a registered method; returns float32 in [0, 1]."""
    return create_method(method, **cfg).fuse(ir, vi)


def load_pairs(ir_dir: Any, vi_dir: Any):
    """Pair the files of two folders by base name; see :func:`ivif.data.load_pairs`."""
    from .data import load_pairs as _load_pairs

    return _load_pairs(ir_dir, vi_dir)


__all__ = [
    "IvifError", "__version__", "create_method", "create_metric", "evaluate", "fuse", "imread", "imwrite",
    "list_methods", "list_metrics", "load_pairs",
]
