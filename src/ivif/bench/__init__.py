"""The benchmark: specs, tasks, executors (serial | process | dask), SQLite store, resume."""

from .runner import run, status
from .spec import BenchSpec, DatasetSpec, MethodSpec, load_spec
from .store import Store

__all__ = ["BenchSpec", "DatasetSpec", "MethodSpec", "Store", "load_spec", "run", "status"]
