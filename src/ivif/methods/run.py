"""Fuse many pairs into a folder: resumable, failure-tolerant, optionally parallel.

Used by ``ivif fuse`` and the benchmark. Outputs are PNGs named after the pair; a file that already
exists is skipped unless ``overwrite`` (so an interrupted run resumes), and each output is written to a
temporary name and renamed, so a killed run never leaves a half-written PNG behind.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..data.pairs import Pair
from ..errors import IvifError
from ..io import imwrite


@dataclass
class FuseReport:
    """What a batch did: written, skipped (already there) and failed pairs (name, error message)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def output_path(out_dir: Path, pair: Pair) -> Path:
    """Where the fused image of ``pair`` goes: ``<out_dir>/<name>.png``."""
    return out_dir / f"{pair.name}.png"


def write_atomic(path: Path, img: Any) -> None:
    """Write a PNG through a temporary file in the same folder and rename it into place."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    try:
        imwrite(tmp, img)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fuse_one(method: Any, pair: Pair, out: Path) -> None:
    if pair.ir_channel is not None or pair.vi_channels is not None:
        fused = method.fuse(pair.read_ir(), pair.read_vi())
    else:
        fused = method.fuse(pair.ir, pair.vi)
    write_atomic(out, fused)


# One method instance per worker process, built once (weights loaded once).
_WORKER: dict[str, Any] = {}


def _init_worker(name: str, cfg: dict[str, Any]) -> None:
    import ivif

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    _WORKER["method"] = ivif.create_method(name, **cfg)


def _worker_task(pair: Pair, out: str) -> "tuple[str, str | None]":
    try:
        _fuse_one(_WORKER["method"], pair, Path(out))
        return pair.name, None
    except Exception as exc:  # reported per pair, the batch goes on
        return pair.name, _describe(exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, IvifError):
        return str(exc)
    return f"{type(exc).__name__}: {exc} ({traceback.extract_tb(exc.__traceback__)[-1].name})"


def fuse_pairs(
    method: str,
    pairs: Iterable[Pair],
    out_dir: "str | os.PathLike",
    cfg: "dict[str, Any] | None" = None,
    overwrite: bool = False,
    jobs: int = 1,
    progress: "Callable[[str, str], None] | None" = None,
) -> FuseReport:
    """Fuse ``pairs`` with the registered ``method`` into ``out_dir``.

    Args:
        method: registered method name; ``cfg`` its options (weights, device, tile, ...).
        overwrite: re-fuse pairs whose output exists (default: skip them, which resumes a run).
        jobs: worker processes (spawned, one method instance and one torch thread each).
        progress: called as ``progress(name, status)`` after each pair (``written``/``skipped``/``failed``).
    Returns:
        A :class:`FuseReport`; failures never stop the batch.
    """
    import ivif

    cfg = dict(cfg or {})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = FuseReport()
    t0 = time.perf_counter()
    todo = []
    for p in pairs:
        if not overwrite and output_path(out, p).exists():
            report.skipped.append(p.name)
            if progress:
                progress(p.name, "skipped")
        else:
            todo.append(p)

    def done(name: str, err: "str | None") -> None:
        if err is None:
            report.written.append(name)
        else:
            report.failed.append((name, err))
        if progress:
            progress(name, "written" if err is None else "failed")

    if jobs <= 1 or len(todo) <= 1:
        m = ivif.create_method(method, **cfg) if todo else None
        for p in todo:
            try:
                _fuse_one(m, p, output_path(out, p))
                done(p.name, None)
            except Exception as exc:
                done(p.name, _describe(exc))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(method, cfg)) as ex:
            futs = [ex.submit(_worker_task, p, str(output_path(out, p))) for p in todo]
            for f in as_completed(futs):
                done(*f.result())
    report.seconds = time.perf_counter() - t0
    return report
