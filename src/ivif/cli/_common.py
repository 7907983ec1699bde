"""Helpers shared by the CLI verbs."""

from __future__ import annotations

import sys
from typing import Any

import click
import yaml

from ..errors import IvifError


def parse_options(opts: "tuple[str, ...]") -> dict[str, Any]:
    """``("strategy=l1", "levels=4")`` -> ``{"strategy": "l1", "levels": 4}`` (values parsed as YAML scalars)."""
    out: dict[str, Any] = {}
    for o in opts:
        if "=" not in o:
            raise IvifError(f"--opt {o!r}: expected KEY=VALUE, e.g. --opt strategy=l1")
        k, v = o.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def progress_bar(total: int, desc: str):
    """A tqdm bar on stderr when it is a terminal, otherwise a silent stand-in."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=not sys.stderr.isatty(),
                leave=False)


def echo_failures(failed: "list[tuple[str, str]]", what: str) -> None:
    """Print the failures of a batch, one line each, on stderr."""
    if failed:
        click.echo(f"{len(failed)} {what} failed:", err=True)
        for name, err in failed:
            click.echo(f"  {name}: {err}", err=True)
