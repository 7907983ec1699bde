"""Plan and run a benchmark: skip what the store already holds, run the rest, write rows as they arrive."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..errors import IvifError
from .spec import BenchSpec
from .store import Store


@dataclass
class RunSummary:
    """What one invocation did."""

    run: Path
    tasks: int = 0
    images_todo: int = 0
    images_skipped: int = 0
    fusion_failures: list[dict[str, Any]] = field(default_factory=list)
    score_failures: list[dict[str, Any]] = field(default_factory=list)
    task_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def store_path(run: "str | Path") -> Path:
    return Path(run) / "results.sqlite"


def plan(spec: BenchSpec, store: Store) -> tuple[list[dict[str, Any]], int, int]:
    """Task dicts for every (method, dataset, batch of images) not yet fully scored.

    Returns ``(tasks, images to do, images skipped)``.
    """
    from ..data import open_dataset
    from ..metrics.profiles import get_profile
    from ..registry import METHODS

    prof = get_profile(spec.profile)
    metrics = prof.resolve_names(spec.metrics)
    tasks: list[dict[str, Any]] = []
    todo = skipped = 0
    for m in spec.methods:
        METHODS.get_entry(m.name)  # unknown names fail before any work
    for d in spec.datasets:
        ds = open_dataset(d.path, layout=d.layout)
        for m in spec.methods:
            done = store.done_images(m.name, m.config_hash, d.name, spec.profile, __version__, metrics)
            pending = [p for p in ds.pairs if p.name not in done]
            skipped += len(ds.pairs) - len(pending)
            todo += len(pending)
            fused_dir = Path(spec.run) / "fused" / d.name / f"{m.name}-{m.config_hash}"
            for i in range(0, len(pending), spec.batch):
                tasks.append({"method": m.name, "cfg": m.cfg, "config_hash": m.config_hash, "label": m.label,
                              "dataset": d.name, "pairs": pending[i:i + spec.batch], "fused_dir": str(fused_dir),
                              "profile": spec.profile, "metrics": metrics, "version": __version__})
    return tasks, todo, skipped


def run(spec: BenchSpec, progress: "Callable[[int, int], None] | None" = None) -> RunSummary:
    """Run ``spec`` into ``spec.run``; resumable (re-running skips stored results)."""
    from . import executors
    from .tasks import run_task

    if not spec.methods:
        raise IvifError("no methods to benchmark: give --methods or a spec with 'methods:'")
    if not spec.datasets:
        raise IvifError("no datasets: give --dataset PATH or a spec with 'datasets:'")
    t0 = time.perf_counter()
    run_dir = Path(spec.run)
    store = Store(store_path(run_dir))
    try:
        store.set_meta("spec", spec.to_dict())
        store.set_meta("labels", {m.config_hash: m.label for m in spec.methods})
        tasks, todo, skipped = plan(spec, store)
        summary = RunSummary(run_dir, len(tasks), todo, skipped)
        if spec.executor == "serial" or len(tasks) <= 1:
            stream = executors.run_serial(run_task, tasks)
        elif spec.executor == "process":
            stream = executors.run_process(run_task, tasks, spec.jobs)
        else:
            stream = executors.run_dask(run_task, tasks, spec.scheduler, spec.workers)
        n = 0
        for task, res in stream:
            n += 1
            if isinstance(res, BaseException):
                # The whole task failed (e.g. its worker died twice): record each image as failed.
                err = f"{type(res).__name__}: {res}"
                summary.task_errors.append(f"{task['method']}/{task['dataset']}: {err}")
                store.write([{"method": task["method"], "config_hash": task["config_hash"], "dataset": task["dataset"],
                              "image": p.name, "status": "failed", "error": err, "seconds": None, "path": None}
                             for p in task["pairs"]], [])
            else:
                store.write(*res)
            if progress:
                progress(n, len(tasks))
        for f in store.failures():
            (summary.fusion_failures if f["kind"] == "fusion" else summary.score_failures).append(f)
        summary.seconds = time.perf_counter() - t0
        return summary
    finally:
        store.close()


def status(run: "str | Path") -> dict[str, Any]:
    """Progress of a run folder: expected vs stored score rows, failures, per method."""
    p = store_path(run)
    if not p.is_file():
        raise IvifError(f"{run}: no results.sqlite here; is it a run folder of `ivif bench`?")
    store = Store(p)
    try:
        spec = store.get_meta("spec", {})
        rows = store.db.execute(
            "SELECT method, config_hash, dataset, status, COUNT(*) FROM scores GROUP BY method, config_hash, "
            "dataset, status").fetchall()
        fus = store.db.execute(
            "SELECT method, config_hash, dataset, status, COUNT(*) FROM fusions GROUP BY method, config_hash, "
            "dataset, status").fetchall()
        return {"spec": spec, "scores": rows, "fusions": fus, "labels": store.get_meta("labels", {}),
                "failures": store.failures()}
    finally:
        store.close()
