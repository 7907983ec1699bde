"""Single metrics as functions: ``ivif.metrics.functional.qabf(ir, vi, fused, profile="vifb") -> float``.

Every metric name of every profile is available here in lower case; inputs are paths or arrays, read
exactly as the profile's reference reads them. ``functional.names()`` lists them.
"""

from __future__ import annotations

from typing import Any, Callable

from .profiles import DEFAULT_PROFILE


def names() -> list[str]:
    """Lower-case names of all metrics of all profiles."""
    from ..registry import METRICS

    return METRICS.list()


def __getattr__(name: str) -> Callable[..., float]:
    if name.startswith("__"):
        raise AttributeError(name)
    from ..registry import METRICS

    if name.lower() not in METRICS:
        raise AttributeError(f"ivif.metrics.functional has no metric {name!r}; see functional.names()")

    def metric(ir: Any, vi: Any, fused: Any, profile: str = DEFAULT_PROFILE) -> float:
        from .builtin import Metric

        return Metric(name, profile=profile)(ir, vi, fused)

    metric.__name__ = name
    metric.__doc__ = f"{name} of a fused image under a metric profile (default {DEFAULT_PROFILE!r})."
    return metric


def __dir__() -> list[str]:
    return ["names"] + names()
