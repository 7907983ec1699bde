"""``ivif.evaluate``: score one fused image under a profile."""

from __future__ import annotations

from typing import Any

from .profiles import DEFAULT_PROFILE, get_profile, shared_intermediates


def evaluate(
    ir: Any, vi: Any, fused: Any, metrics: "str | list[str]" = "all", profile: str = DEFAULT_PROFILE
) -> dict[str, float]:
    """Compute fusion metrics of ``fused`` against the source pair ``(ir, vi)``.

    Args:
        ir, vi, fused: paths or arrays (uint8, uint16, or float32 in [0, 1]); read exactly as the
            profile's reference implementation reads them.
        metrics: ``"all"`` (every metric of the profile), a comma-separated string or a list of names.
        profile: ``cddfuse`` (default), ``zoo``, ``vifb`` or ``tang``.

    Returns:
        ``{metric name: value}`` in the profile's order, names as the reference writes them.
    """
    prof = get_profile(profile)
    names = prof.resolve_names(metrics)
    a, b, f = prof.load(ir, "ir"), prof.load(vi, "vi"), prof.load(fused, "fused")
    with shared_intermediates():  # metrics share Sobel maps, filtered moments, histograms of these arrays
        return {n: float(prof.metrics[n].fn(a, b, f)) for n in names}
