"""Import every public submodule of a package so that their ``@register`` decorators run."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Iterable


def import_submodules(package: str, path: Iterable[str]) -> None:
    """Import ``package.<name>`` for each module in ``path`` whose name does not start with ``_``."""
    for info in pkgutil.iter_modules(list(path)):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
