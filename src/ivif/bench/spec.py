"""The benchmark spec: methods (with configs) x datasets, metric profile, executor; from YAML and/or flags.

Example ``bench.yaml``::

    methods:
      - average
      - {name: densefuse, strategy: l1}
    datasets:
      - ../shared/data/vifb                      # name = folder name, layout detected
      - {name: tno, path: ../shared/data/tno}
    profile: cddfuse
    metrics: all                                 # or [EN, SD, MI]
    run: runs/vifb                               # run folder (store, cached fused PNGs, report)
    executor: process                            # serial | process | dask
    jobs: 2
    batch: 4                                     # images per task
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import IvifError


@dataclass(frozen=True)
class MethodSpec:
    """A method and its options; ``config_hash`` identifies the configuration in the store."""

    name: str
    cfg: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def config_hash(self) -> str:
        blob = json.dumps({"name": self.name, **self.cfg}, sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """Display label: the name, plus the options when there are any (``densefuse[strategy=l1]``)."""
        if not self.cfg:
            return self.name
        return f"{self.name}[" + ",".join(f"{k}={v}" for k, v in sorted(self.cfg.items())) + "]"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    path: str
    layout: "str | None" = None


@dataclass
class BenchSpec:
    methods: list[MethodSpec]
    datasets: list[DatasetSpec]
    profile: str = "cddfuse"
    metrics: "str | list[str]" = "all"
    run: str = "runs/default"
    executor: str = "process"
    jobs: int = 2
    batch: int = 4
    scheduler: "str | None" = None
    workers: int = 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["methods"] = [{"name": m.name, **m.cfg} for m in self.methods]
        return d


def _method(x: Any) -> MethodSpec:
    if isinstance(x, str):
        return MethodSpec(x.lower())
    if isinstance(x, dict) and "name" in x:
        cfg = {k: v for k, v in x.items() if k != "name"}
        return MethodSpec(str(x["name"]).lower(), cfg)
    raise IvifError(f"bench spec: a method must be a name or a mapping with 'name', got {x!r}")


def _dataset(x: Any, base: Path) -> DatasetSpec:
    if isinstance(x, str):
        p = (base / x).resolve() if not Path(x).is_absolute() else Path(x)
        return DatasetSpec(p.name, str(p))
    if isinstance(x, dict) and "path" in x:
        p = Path(x["path"])
        p = (base / p).resolve() if not p.is_absolute() else p
        return DatasetSpec(str(x.get("name") or p.name), str(p), x.get("layout"))
    raise IvifError(f"bench spec: a dataset must be a path or a mapping with 'path', got {x!r}")


def load_spec(path: "str | Path | None" = None, **overrides: Any) -> BenchSpec:
    """Read a YAML spec (relative paths are relative to the YAML file) and apply non-empty overrides."""
    raw: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise IvifError(f"{p}: bench spec not found")
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise IvifError(f"{p}: invalid YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise IvifError(f"{p}: the spec must be a mapping (methods:, datasets:, ...)")
        base = p.resolve().parent
        if "run" in raw and not Path(raw["run"]).is_absolute():
            raw["run"] = str(base / raw["run"])
    unknown = set(raw) - {"methods", "datasets", "profile", "metrics", "run", "executor", "jobs", "batch",
                          "scheduler", "workers"}
    if unknown:
        raise IvifError(f"bench spec: unknown keys {sorted(unknown)}")
    ds_base = base
    for k, v in overrides.items():
        if v not in (None, (), []):
            raw[k] = v
            if k == "datasets":
                ds_base = Path.cwd()  # paths given on the command line are relative to the shell
    methods = [_method(m) for m in raw.get("methods") or []]
    datasets = [_dataset(d, ds_base) for d in raw.get("datasets") or []]
    spec = BenchSpec(methods, datasets, **{k: raw[k] for k in ("profile", "metrics", "run", "executor", "jobs",
                                                               "batch", "scheduler", "workers") if k in raw})
    if spec.executor not in ("serial", "process", "dask"):
        raise IvifError(f"--executor {spec.executor!r}: choose serial, process or dask")
    if spec.batch < 1 or spec.jobs < 1:
        raise IvifError("batch and jobs must be at least 1")
    return spec
