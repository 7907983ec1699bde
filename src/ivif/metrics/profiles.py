"""Metric profiles: each reproduces one reference implementation, image reading included.

A :class:`Profile` owns

* ``load(x, role)``: turn a path or an array (float32 in [0, 1], uint8 or uint16) into the representation
  its reference computes on (e.g. the ``cddfuse`` profile reads with OpenCV, converts BGR->GRAY in
  float32 and rounds to 0..255 levels; ``vifb`` keeps RGB for per-channel scoring). ``role`` is one of
  ``"ir"``, ``"vi"``, ``"fused"``.
* ``metrics``: an ordered mapping of output name (case as the reference writes it, e.g. ``"Qabf"``) to
  :class:`MetricDef`, whose ``fn(ir, vi, fused)`` takes the loaded representations and returns a float.

Profiles are defined in ``ivif/metrics/<profile>.py`` and registered with :func:`register_profile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import MetricError

DEFAULT_PROFILE = "cddfuse"


@dataclass(frozen=True)
class MetricDef:
    """One metric as a profile defines it.

    Attributes:
        name: output name, case as the reference writes it (``"EN"``, ``"Qabf"``, ``"MS_SSIM"``).
        fn: ``fn(ir, vi, fused) -> float`` on the profile's loaded representations.
        higher_is_better: ``True`` (↑), ``False`` (↓) or ``None`` (no direction, e.g. a raw distance).
        display: display name in tables (paper spelling, e.g. ``"Q_AB/F"``).
        description: one line with the unit/range.
        inputs: which images the metric uses (``("ir", "vi", "fused")`` or ``("fused",)``).
    """

    name: str
    fn: Callable[[Any, Any, Any], float]
    higher_is_better: bool | None = True
    display: str = ""
    description: str = ""
    inputs: tuple[str, ...] = ("ir", "vi", "fused")


@dataclass
class Profile:
    """A reference implementation: how it reads images and how it defines each of its metrics."""

    name: str
    description: str
    reference: str
    load: Callable[[Any, str], Any]
    metrics: dict[str, MetricDef] = field(default_factory=dict)
    notes: str = ""

    def metric(self, name: str) -> MetricDef:
        """The :class:`MetricDef` for ``name`` (case-insensitive); :class:`MetricError` names the profiles
        that do define it."""
        for k, m in self.metrics.items():
            if k.lower() == name.lower():
                return m
        others = [p.name for p in PROFILES.values() if any(k.lower() == name.lower() for k in p.metrics)]
        where = f"; it is defined by: {', '.join(others)}" if others else "; no profile defines it"
        raise MetricError(f"metric {name!r} is not defined by profile {self.name!r}{where}")

    def resolve_names(self, metrics: "str | list[str] | tuple[str, ...]") -> list[str]:
        """Canonical output names for ``"all"``, a comma-separated string, or a list."""
        if isinstance(metrics, str):
            if metrics.strip().lower() == "all":
                return list(self.metrics)
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        return [self.metric(m).name for m in metrics]


PROFILES: dict[str, Profile] = {}


def register_profile(profile: Profile) -> Profile:
    """Add a profile (and register each of its metrics in ``ivif.registry.METRICS``)."""
    if profile.name in PROFILES:
        raise MetricError(f"profile {profile.name!r} is already registered")
    PROFILES[profile.name] = profile
    return profile


def get_profile(name: str) -> Profile:
    """The registered profile ``name``; :class:`MetricError` lists the available ones."""
    from . import builtin  # noqa: F401  (registers the built-in profiles)

    if name not in PROFILES:
        raise MetricError(f"unknown metric profile {name!r}; choose one of: {', '.join(sorted(PROFILES))}")
    return PROFILES[name]


def list_profiles() -> list[str]:
    """Names of the registered profiles."""
    from . import builtin  # noqa: F401

    return list(PROFILES)
