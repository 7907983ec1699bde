"""Data compatibility: misalignment synthesis, registration methods, register-then-fuse.

Flow convention (everywhere in ivif): ``HxWx2`` backward pixel displacement, ``warped = warp(src, flow)``
means ``warped(p) = src(p + flow(p))``; see :mod:`ivif.registration.flow`.
"""

from __future__ import annotations

from .flow import (affine_to_flow, flow_to_grid, grid_to_flow, invert_flow, load_flow_mat, reprojection_error,
                   valid_mask, warp)
from .methods.base import RegistrationMethod, RegistrationResult
from .synth import Misalignment, misalign

__all__ = ["register", "create_registration", "list_registration", "RegistrationResult", "RegistrationMethod",
           "Misalignment", "misalign", "warp", "invert_flow", "grid_to_flow", "flow_to_grid", "load_flow_mat",
           "valid_mask", "affine_to_flow", "reprojection_error"]


def create_registration(name: str, **cfg) -> RegistrationMethod:
    """Instantiate a registered registration method by name (see ``ivif list registration``)."""
    from ..registry import REGISTRATION

    return REGISTRATION.create(name, **cfg)


def list_registration(pattern: str = "*") -> list[str]:
    """Names of the registered registration methods matching a glob."""
    from ..registry import REGISTRATION

    return REGISTRATION.list(pattern)


def register(ir, vi, method: str = "mind", **cfg) -> RegistrationResult:
    """Align ``ir`` (moving) to ``vi`` (fixed) with a named method; arrays or file paths."""
    return create_registration(method, **cfg).register(ir, vi)
