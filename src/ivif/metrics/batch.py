"""Score folders of fused images (one folder per method) against the source pairs.

A fused image that is missing or unreadable is reported by name and left out of that method's
statistics, never counted as 0. Work is split by image; ``jobs > 1`` uses spawned worker processes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..data.pairs import Pair, list_images
from ..errors import IvifError
from .profiles import get_profile, shared_intermediates


@dataclass
class EvalResult:
    """Per-image rows (``image, method, metric, value, profile``), failures and the metric order."""

    profile: str
    metrics: list[str]
    methods: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (method, image, error)
    seconds: float = 0.0

    def table(self):
        """A :class:`ivif.report.ScoreTable` of means ± std."""
        from ..report.tables import ScoreTable

        prof = get_profile(self.profile)
        hib = {k: prof.metrics[k].higher_is_better for k in self.metrics}
        return ScoreTable.from_rows(self.rows, self.profile, self.metrics, hib, methods=self.methods)

    def write_per_image(self, path: "str | Path") -> Path:
        """CSV with columns ``image,method,metric,value,profile``."""
        import csv

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["image", "method", "metric", "value", "profile"])
            for r in self.rows:
                w.writerow([r["image"], r["method"], r["metric"], repr(r["value"]), r["profile"]])
        return p


def _score_image(profile: str, names: list[str], pair: Pair, fused: dict[str, "Path | None"]
                 ) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    prof = get_profile(profile)
    rows: list[dict[str, Any]] = []
    fails: list[tuple[str, str, str]] = []
    try:
        a, b = prof.load(pair.ir, "ir"), prof.load(pair.vi, "vi")
    except Exception as exc:
        return rows, [(m, pair.name, f"source pair unreadable: {exc}") for m in fused]
    for method, path in fused.items():
        if path is None:
            fails.append((method, pair.name, "fused image missing"))
            continue
        try:
            f = prof.load(path, "fused")
            if getattr(f, "shape", None) is not None and f.shape[:2] != a.shape[:2]:
                raise IvifError(f"{path}: size {f.shape[1]}x{f.shape[0]} differs from the source pair "
                                f"{a.shape[1]}x{a.shape[0]}")
            with shared_intermediates():  # one block per fused image bounds the memory
                vals = {n: float(prof.metrics[n].fn(a, b, f)) for n in names}
        except Exception as exc:
            fails.append((method, pair.name, str(exc)))
            continue
        rows += [{"image": pair.name, "method": method, "metric": n, "value": v, "profile": profile}
                 for n, v in vals.items()]
    return rows, fails


def evaluate_folders(
    pairs: list[Pair],
    fused_dirs: dict[str, "str | Path"],
    profile: str = "cddfuse",
    metrics: "str | list[str]" = "all",
    jobs: int = 1,
    progress: "Callable[[str], None] | None" = None,
) -> EvalResult:
    """Score every method folder in ``fused_dirs`` (``{method: folder}``) on ``pairs``.

    Fused files are matched to pairs by base name (any image extension).
    """
    prof = get_profile(profile)
    names = prof.resolve_names(metrics)
    index = {m: list_images(d) for m, d in fused_dirs.items()}
    res = EvalResult(profile, names, list(fused_dirs))
    t0 = time.perf_counter()
    tasks = [(p, {m: index[m].get(p.name) for m in fused_dirs}) for p in pairs]
    if jobs <= 1:
        for p, f in tasks:
            rows, fails = _score_image(profile, names, p, f)
            res.rows += rows
            res.failures += fails
            if progress:
                progress(p.name)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as ex:
            futs = [ex.submit(_score_image, profile, names, p, f) for p, f in tasks]
            for (p, _), fut in zip(tasks, futs):  # keep image order deterministic
                rows, fails = fut.result()
                res.rows += rows
                res.failures += fails
                if progress:
                    progress(p.name)
    res.seconds = time.perf_counter() - t0
    return res
