"""``ivif report``: tables, figures and index.html of a benchmark run."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import IvifError
from . import cli


@cli.command("report")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Report folder (default RUN/report).")
@click.option("--images", default=None, help="Comma-separated image names for the qualitative figure.")
@click.option("--box", default=None, help="Zoom box x,y,w,h (pixels) for the insets (default: centre).")
def report_cmd(run: Path, out: "Path | None", images: "str | None", box: "str | None") -> None:
    """Write Markdown/LaTeX/CSV tables, a qualitative figure with zoomed insets, ranking and
    quality-vs-latency plots, and a self-contained index.html."""
    from ..report.build import build_report

    b = None
    if box:
        try:
            b = tuple(int(v) for v in box.split(","))
            assert len(b) == 4 and b[2] > 0 and b[3] > 0
        except (ValueError, AssertionError) as exc:
            raise IvifError(f"--box {box!r}: expected x,y,w,h in pixels") from exc
    folder = build_report(run, out, images=images.split(",") if images else None, box=b)
    click.echo(f"report -> {folder / 'index.html'}")
