"""``ivif list`` and ``ivif info``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from . import cli


@cli.command("list")
@click.argument("what", type=click.Choice(["methods", "metrics", "datasets", "profiles", "registration"]))
@click.argument("pattern", required=False, default="*")
def list_cmd(what: str, pattern: str) -> None:
    """List registered methods, metrics, data set layouts, metric profiles or registration methods (PATTERN is a glob)."""
    from ..registry import DATASETS, METHODS, METRICS, REGISTRATION

    if what == "profiles":
        from ..metrics.profiles import get_profile, list_profiles

        for name in list_profiles():
            p = get_profile(name)
            click.echo(f"{name:10s} {len(p.metrics):2d} metrics  {p.description}")
        return
    reg = {"methods": METHODS, "metrics": METRICS, "datasets": DATASETS, "registration": REGISTRATION}[what]
    entries = reg.entries(pattern)
    if what == "methods":
        from ..methods.deep import TORCH_AVAILABLE

        if not TORCH_AVAILABLE:
            click.echo("(deep methods need PyTorch: pip install 'ivif[torch]')", err=True)
    for e in entries:
        if what == "metrics":
            arrow = {True: "↑", False: "↓"}.get(e.metadata.get("higher_is_better"), " ")
            extra = f"{arrow} [{', '.join(e.metadata.get('profiles', ()))}]"
        elif what in ("methods", "registration"):
            extra = f"[{', '.join(e.tags)}]"
        else:
            extra = ""
        click.echo(f"{e.name:20s} {extra:34s} {e.description}")
    if not entries:
        click.echo(f"no {what} match {pattern!r}", err=True)


@cli.command("info")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--layout", default=None, help="Force a layout (see `ivif list datasets`).")
def info_cmd(path: Path, layout: "str | None") -> None:
    """Describe a data set folder: layout, pairs, sizes, modes, bit depth, labels, unpaired files."""
    from ..data import open_dataset
    from ..data.pairs import describe_file

    ds = open_dataset(path, layout=layout)
    click.echo(f"dataset: {ds.root}")
    click.echo(f"layout:  {ds.layout}")
    click.echo(f"pairs:   {len(ds)}")
    if ds.splits:
        click.echo("splits:  " + ", ".join(f"{k or '-'}={len(v)}" for k, v in ds.splits.items() if k))
    sizes: Counter = Counter()
    modes: dict[str, Counter] = {"ir": Counter(), "vi": Counter()}
    bits: Counter = Counter()
    for p in ds.pairs:
        for role, f in (("ir", p.ir), ("vi", p.vi)):
            d = describe_file(f)
            if role == "ir":
                sizes[d["size"]] += 1
            modes[role][f"{d['format']} {d['mode']}"] += 1
            bits[d["bits"]] += 1
    top = ", ".join(f"{w}x{h} ({n})" for (w, h), n in sizes.most_common(5) if w is not None)
    more = f" and {len(sizes) - 5} more" if len(sizes) > 5 else ""
    click.echo(f"sizes:   {top}{more}")
    for role in ("ir", "vi"):
        click.echo(f"{role} modes: " + ", ".join(f"{k} ({n})" for k, n in modes[role].most_common()))
    click.echo("bit depth: " + ", ".join(f"{b}-bit ({n})" for b, n in sorted(bits.items(), key=str)))
    if ds.label_kinds:
        click.echo("labels:  " + ", ".join(f"{k} ({n} files)" for k, n in ds.label_kinds.items()))
        if ds.classes:
            click.echo("classes: " + ", ".join(ds.classes))
    else:
        click.echo("labels:  none")
    for k, v in ds.extras.items():
        if isinstance(v, dict):
            click.echo(f"{k}: {len(v)} methods (" + ", ".join(f"{m}={n}" for m, n in v.items()) + ")")
        else:
            click.echo(f"{k}: {v} files")
    if ds.unpaired:
        click.echo(f"unpaired: {len(ds.unpaired)} files: " + ", ".join(str(u) for u in ds.unpaired[:20]))
    else:
        click.echo("unpaired: none")
