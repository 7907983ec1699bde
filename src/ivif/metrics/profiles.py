"""Metric profiles: each reproduces one reference implementation, image reading included.

A :class:`Profile` owns

* ``load(x, role)``: turn a path or an array (float32 in [0, 1], uint8 or uint16) into the representation
  its reference computes on (e.g. the ``cddfuse`` profile reads with OpenCV, converts BGR->GRAY in
  float32 and rounds to 0..255 levels; ``vifb`` keeps RGB for per-channel scoring). ``role`` is one of
  ``"ir"``, ``"vi"``, ``"fused"``.
* ``metrics``: an ordered mapping of output name (case as the reference writes it, e.g. ``"Qabf"``) to
  :class:`MetricDef`, whose ``fn(ir, vi, fused)`` takes the loaded representations and returns a float.

Profiles are defined in ``ivif/metrics/<profile>.py`` and registered with :func:`register_profile`.

Metrics of one profile often need the same intermediates (Sobel maps, Gaussian moments, histograms). Inside
:func:`shared_intermediates` (entered by ``ivif.evaluate`` and the batch scorer for each fused image), a
metric asks :func:`shared` for them and gets the value another metric already computed from the same
array objects; outside such a block every call computes afresh.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

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


# ------------------------------------------------------------------------ shared intermediates
# One dict per active block (per thread), keyed on (name, id(array), ...). The block holds a reference to
# every array it keyed on, so an id cannot be reused by another array while the block is alive; the block
# ends with one evaluation, which bounds the memory to one pair's intermediates.
_LOCAL = threading.local()


def _scopes() -> "list[dict]":
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


@contextmanager
def shared_intermediates() -> Iterator[None]:
    """Within the block, :func:`shared` computes each intermediate once per (name, input arrays).

    The arrays passed to metrics must not be modified in place inside the block. Nested blocks share the
    outermost block's store; each thread has its own.
    """
    scopes = _scopes()
    if scopes:
        yield
        return
    scopes.append({})
    try:
        yield
    finally:
        scopes.pop().clear()


def shared(name: str, fn: Callable[..., Any], *arrays: Any) -> Any:
    """``fn(*arrays)``, computed once per :func:`shared_intermediates` block for the same ``name`` and the
    same array objects (identity, not content); computed afresh when no block is active."""
    scopes = _scopes()
    if not scopes:
        return fn(*arrays)
    store = scopes[-1]
    key = (name, *map(id, arrays))
    hit = store.get(key)
    if hit is None:
        hit = store[key] = (arrays, fn(*arrays))
    return hit[1]

