"""``ivif efficiency``: parameters, MACs/FLOPs, latency and peak memory per method."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.command("efficiency")
@click.option("--methods", default="deep", show_default=True,
              help="Comma-separated method names, or 'deep' / 'classical' / 'all'.")
@click.option("--size", default="1024x768", show_default=True, help="Input WIDTHxHEIGHT (IR 1 ch, VIS 3 ch).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--repeat", type=int, default=10, show_default=True, help="Timed runs after warm-up.")
@click.option("--warmup", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=None, help="torch threads (default: PyTorch's default).")
@click.option("--no-e2e", is_flag=True, help="Skip the end-to-end fuse() timing of deep methods.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write .csv or .json.")
def efficiency_cmd(methods: str, size: str, device: str, repeat: int, warmup: int, threads: "int | None",
                   no_e2e: bool, out: "Path | None") -> None:
    """Measure methods as the survey does (1024x768 by default); each method runs in a fresh process."""
    from ..efficiency import format_table, measure_many
    from ..registry import METHODS

    if methods in ("deep", "classical"):
        names = METHODS.list(tags=(methods,))
    elif methods == "all":
        names = METHODS.list()
    else:
        names = [METHODS.get_entry(m.strip()).name for m in methods.split(",") if m.strip()]
    rows = []
    with click.progressbar(names, label="measuring", file=click.get_text_stream("stderr")) as bar:
        for n in bar:
            rows += measure_many([n], size=size, device=device, repeat=repeat, warmup=warmup, threads=threads,
                                 e2e=not no_e2e)
    click.echo(format_table(rows))
    if out:
        import csv
        import json

        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".json":
            out.write_text(json.dumps([r.as_dict() for r in rows], indent=2))
        else:
            with open(out, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0].as_dict()))
                w.writeheader()
                w.writerows(r.as_dict() for r in rows)
        click.echo(f"-> {out}")
