"""Imports the profile modules of ``ivif.metrics`` and registers every metric name in ``METRICS``.

A profile module is any public module of this package that calls :func:`register_profile` at import
(``cddfuse.py``, ``zoo.py``, ``vifb.py``, ``tang.py``). Each metric name (lower-cased) is registered
once, with the profiles that define it in its metadata.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from ..registry import METRICS
from .profiles import DEFAULT_PROFILE, PROFILES, get_profile

_NOT_PROFILES = {"profiles", "builtin", "functional", "evaluate", "alignment", "batch", "compare"}


class Metric:
    """A fusion metric bound to a profile: ``Metric("qabf", profile="vifb")(ir, vi, fused) -> float``.

    Inputs are paths or arrays; they are read/converted exactly as the profile's reference does.
    """

    def __init__(self, name: str, profile: str = DEFAULT_PROFILE):
        self.profile = get_profile(profile)
        self.definition = self.profile.metric(name)
        self.name = self.definition.name
        self.higher_is_better = self.definition.higher_is_better

    def __call__(self, ir: Any, vi: Any, fused: Any) -> float:
        p = self.profile
        return float(self.definition.fn(p.load(ir, "ir"), p.load(vi, "vi"), p.load(fused, "fused")))

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, profile={self.profile.name!r})"


def _factory(metric_name: str):
    def make(profile: str = DEFAULT_PROFILE) -> Metric:
        return Metric(metric_name, profile=profile)

    make.__doc__ = f"{metric_name} under a metric profile"
    return make


def _discover() -> None:
    pkg = importlib.import_module("ivif.metrics")
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name in _NOT_PROFILES:
            continue
        importlib.import_module(f"ivif.metrics.{info.name}")
    seen: dict[str, dict[str, Any]] = {}
    for prof in PROFILES.values():
        for name, m in prof.metrics.items():
            d = seen.setdefault(name.lower(), {"name": name, "profiles": [], "defs": []})
            d["profiles"].append(prof.name)
            d["defs"].append(m)
    for key, d in seen.items():
        if key in METRICS._entries:
            continue
        first = d["defs"][0]
        METRICS.register(
            key,
            _factory(d["name"]),
            tags=("fusion",),
            description=first.description or first.display or d["name"],
            display=first.display or d["name"],
            higher_is_better=first.higher_is_better,
            profiles=tuple(d["profiles"]),
        )


_discover()
