"""``ivif eval``: score fused folders under a metric profile."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import IvifError
from . import cli
from ._common import progress_bar


@cli.command("eval")
@click.option("--ir", "ir", required=True, type=click.Path(path_type=Path), help="IR folder.")
@click.option("--vi", "vi", required=True, type=click.Path(path_type=Path), help="VIS folder.")
@click.option("--fused", "fused", multiple=True, type=click.Path(path_type=Path),
              help="Folder of one method's fused images (method = folder name); repeatable.")
@click.option("--fused-root", type=click.Path(path_type=Path), default=None,
              help="Folder whose sub-folders are methods.")
@click.option("--profile", default="cddfuse", show_default=True,
              help="Metric profile: cddfuse, zoo, vifb, tang (see `ivif list profiles`).")
@click.option("--metrics", default="all", show_default=True, help="'all' or a comma-separated list, e.g. EN,SD,MI.")
@click.option("--per-image", type=click.Path(path_type=Path), default=None,
              help="Write per-image values (image,method,metric,value,profile) to this CSV.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the table: .csv, .md, .tex, .json or .xlsx.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes (over images).")
@click.option("--no-std", is_flag=True, help="Means only, without ± std.")
@click.option("--compare-profiles", is_flag=True,
              help="Print the metrics under every profile side by side, with why they differ.")
def eval_cmd(ir: Path, vi: Path, fused: "tuple[Path, ...]", fused_root: "Path | None", profile: str, metrics: str,
             per_image: "Path | None", out: "Path | None", jobs: int, no_std: bool, compare_profiles: bool) -> None:
    """Score fused images against their IR/VIS pairs; prints a method x metric table of means (± std).

    A missing or unreadable fused image is reported by name and excluded from that method's mean.
    """
    from ..data.pairs import load_pairs
    from ..metrics.batch import evaluate_folders
    from ..metrics.profiles import get_profile

    dirs: dict[str, Path] = {}
    for d in fused:
        if not d.is_dir():
            raise IvifError(f"--fused {d}: folder not found")
        dirs[d.name] = d
    if fused_root is not None:
        if not fused_root.is_dir():
            raise IvifError(f"--fused-root {fused_root}: folder not found")
        for d in sorted(p for p in fused_root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            dirs.setdefault(d.name, d)
    if not dirs:
        raise IvifError("give --fused DIR (repeatable) or --fused-root ROOT")
    pairs = load_pairs(ir, vi)
    if compare_profiles:
        from ..metrics.compare import compare_profiles as _compare

        click.echo(_compare(pairs, dirs, metrics=metrics, jobs=jobs))
        return
    get_profile(profile)
    bar = progress_bar(len(pairs), f"eval[{profile}]")
    res = evaluate_folders(pairs, dirs, profile=profile, metrics=metrics, jobs=jobs, progress=lambda n: bar.update(1))
    bar.close()
    table = res.table()
    click.echo(table.to_text(with_std=not no_std))
    if per_image:
        res.write_per_image(per_image)
        click.echo(f"per-image values -> {per_image}")
    if out:
        table.save(out)
        click.echo(f"table -> {out}")
    if res.failures:
        click.echo(f"{len(res.failures)} fused images were not scored (excluded from the means):", err=True)
        for m, img, err in res.failures:
            click.echo(f"  {m}/{img}: {err}", err=True)
