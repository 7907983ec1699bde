"""Benchmark tasks: fuse a batch of images with one method (reusing cached PNGs) and score them.

A task is a plain picklable dict, so the same function runs in-process, in a process pool or on a
Dask worker. Workers return rows; only the driver writes the store.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data.pairs import Pair
from ..metrics.profiles import shared_intermediates

# Methods built once per worker process and reused by all its tasks (weights load once).
_METHODS: dict[tuple[str, str], Any] = {}


def _method(name: str, cfg: dict[str, Any], config_hash: str) -> Any:
    key = (name, config_hash)
    if key not in _METHODS:
        import ivif

        _METHODS[key] = ivif.create_method(name, **cfg)
    return _METHODS[key]


def _cached(path: Path, shape: tuple[int, ...]) -> "np.ndarray | None":
    """The cached fused image if it exists, decodes completely and has the pair's size; else ``None``."""
    if not path.is_file():
        return None
    from ..io import imread

    try:
        img = imread(path)
    except Exception:
        return None  # corrupt or truncated (e.g. killed mid-write by an older version): recompute
    return img if img.shape[:2] == shape[:2] else None


def _err(exc: BaseException) -> str:
    from ..errors import IvifError

    return str(exc) if isinstance(exc, IvifError) else f"{type(exc).__name__}: {exc}"


def run_task(task: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fuse (or reuse) and score each image of ``task``; returns ``(fusion_rows, score_rows)``.

    A failing image yields a ``failed`` row with its error and the task goes on with the next image.
    """
    from ..metrics.profiles import get_profile
    from ..methods.run import write_atomic

    prof = get_profile(task["profile"])
    key = {"method": task["method"], "config_hash": task["config_hash"], "dataset": task["dataset"]}
    fusions: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    fused_dir = Path(task["fused_dir"])
    fused_dir.mkdir(parents=True, exist_ok=True)
    for pair in task["pairs"]:
        pair: Pair
        out = fused_dir / f"{pair.name.replace('/', '__')}.png"
        t0 = time.perf_counter()
        try:
            ir = pair.read_ir() if pair.ir_channel is not None else pair.ir
            vi = pair.read_vi() if pair.vi_channels is not None else pair.vi
            shape = prof.load(ir, "ir").shape
            img = _cached(out, shape)
            if img is None:
                img = _method(task["method"], task["cfg"], task["config_hash"]).fuse(ir, vi)
                write_atomic(out, img)
                img = _cached(out, shape)  # score what is on disk, exactly as a re-run would
                if img is None:
                    raise RuntimeError(f"{out}: fused image could not be written or has the wrong size")
            fusions.append({**key, "image": pair.name, "status": "ok", "error": None,
                            "seconds": time.perf_counter() - t0, "path": str(out)})
        except Exception as exc:
            fusions.append({**key, "image": pair.name, "status": "failed", "error": _err(exc),
                            "seconds": time.perf_counter() - t0, "path": None})
            continue
        try:
            a, b, f = prof.load(ir, "ir"), prof.load(vi, "vi"), prof.load(out, "fused")
        except Exception as exc:
            for m in task["metrics"]:
                scores.append({**key, "image": pair.name, "metric": m, "profile": task["profile"],
                               "version": task["version"], "value": None, "status": "failed", "error": _err(exc),
                               "seconds": 0.0})
            continue
        # one evaluation per fused image, as ivif.evaluate does: intermediates shared by several metrics
        # (gradients, moments, pyramids) are computed once; each metric's time still counts its first use
        with shared_intermediates():
            for m in task["metrics"]:
                t1 = time.perf_counter()
                try:
                    v, status, err = float(prof.metrics[m].fn(a, b, f)), "ok", None
                    if not np.isfinite(v):
                        v, status, err = None, "failed", f"{m} is not finite for this image"
                except Exception as exc:
                    v, status, err = None, "failed", _err(exc)
                scores.append({**key, "image": pair.name, "metric": m, "profile": task["profile"],
                               "version": task["version"], "value": v, "status": status, "error": err,
                               "seconds": time.perf_counter() - t1})
    return fusions, scores
