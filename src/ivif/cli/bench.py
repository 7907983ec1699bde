"""``ivif bench``: run methods x datasets, resumably; ``bench status``; ``bench export``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import IvifError
from . import cli


def default_methods() -> list[str]:
    """Every registered method that needs no download (no weights, or weights already available locally),
    except those tagged ``slow`` (NSCT_SR, LatLRR: minutes per image; name them to include them)."""
    from ..methods.weights import resolve
    from ..registry import METHODS

    out = []
    for e in METHODS.entries():
        if "slow" in e.tags:
            continue
        specs = getattr(e.obj, "weight_specs", None) or {}
        if not getattr(e.obj, "needs_weights", False) and not specs:
            out.append(e.name)
            continue
        try:
            for s in specs.values():
                resolve(s, download=False)
            out.append(e.name)
        except Exception:
            continue
    return out


class _BenchGroup(click.Group):
    """``ivif bench [OPTIONS] [SPEC]`` runs; ``ivif bench status|export RUN`` inspect."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A first argument that is not a sub-command is the spec file of the run itself.
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            ctx.meta["ivif_spec"] = args.pop(0)
        return super().parse_args(ctx, args)


@cli.group("bench", cls=_BenchGroup, invoke_without_command=True)
@click.option("--methods", "-m", default=None, help="Comma-separated methods (default: all needing no download).")
@click.option("--dataset", "-d", "datasets", multiple=True, type=click.Path(path_type=Path),
              help="Data set folder (any layout ivif knows); repeatable. Default: the bundled sample.")
@click.option("--profile", default=None, help="Metric profile (default cddfuse).")
@click.option("--metrics", default=None, help="'all' or comma-separated metric names.")
@click.option("--run", "run_dir", type=click.Path(path_type=Path), default=None,
              help="Run folder (store, cached fused images, report). Default runs/default.")
@click.option("--executor", type=click.Choice(["serial", "process", "dask"]), default=None)
@click.option("--jobs", "-j", type=int, default=None, help="Process-pool workers (default 2).")
@click.option("--batch", type=int, default=None, help="Images per task (default 4).")
@click.option("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT (dask executor).")
@click.option("--workers", type=int, default=None, help="Local Dask cluster workers (default 2).")
@click.option("--no-report", is_flag=True, help="Do not write the report folder.")
@click.pass_context
def bench_cmd(ctx: click.Context, methods: "str | None", datasets: "tuple[Path, ...]", profile: "str | None",
              metrics: "str | None", run_dir: "Path | None", executor: "str | None", jobs: "int | None",
              batch: "int | None", scheduler: "str | None", workers: "int | None", no_report: bool) -> None:
    """Benchmark methods x datasets from a YAML SPEC and/or flags; re-running resumes.

    With no arguments: every method that needs no download, on the bundled sample, default profile,
    and a report in runs/default/report.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..bench.runner import run
    from ..bench.spec import DatasetSpec, MethodSpec, load_spec
    from ..data import SAMPLE_DIR

    spec_file = ctx.meta.get("ivif_spec")
    spec = load_spec(
        spec_file,
        methods=[m.strip() for m in methods.split(",") if m.strip()] if methods else None,
        datasets=[str(d) for d in datasets] or None, profile=profile,
        metrics=[m.strip() for m in metrics.split(",")] if metrics and metrics != "all" else metrics,
        run=str(run_dir) if run_dir else None, executor=executor, jobs=jobs, batch=batch, scheduler=scheduler,
        workers=workers,
    )
    if not spec.methods:
        spec.methods = [MethodSpec(n) for n in default_methods()]
    if not spec.datasets:
        spec.datasets = [DatasetSpec("sample", str(SAMPLE_DIR))]
    click.echo(f"run {spec.run}: {len(spec.methods)} methods x {len(spec.datasets)} datasets, profile "
               f"{spec.profile}, executor {spec.executor}")
    bar = None

    def progress(n: int, total: int) -> None:
        nonlocal bar
        from ._common import progress_bar

        if bar is None:
            bar = progress_bar(total, "bench")
        bar.update(1)

    summary = run(spec, progress=progress)
    if bar is not None:
        bar.close()
    click.echo(f"{summary.tasks} tasks, {summary.images_todo} method-images run, {summary.images_skipped} already "
               f"done, {summary.seconds:.1f} s")
    if not no_report:
        from ..report.build import build_report

        out = build_report(spec.run)
        click.echo(f"report -> {out / 'index.html'}")
    fails = summary.fusion_failures + summary.score_failures
    if fails:
        click.echo(f"{len(fails)} failures (recorded in the store, excluded from the means):", err=True)
        for f in fails[:50]:
            what = f.get("metric") or "fusion"
            click.echo(f"  {f['method']}/{f['dataset']}/{f['image']} [{what}]: {f['error']}", err=True)


@bench_cmd.command("status")
@click.argument("run", type=click.Path(path_type=Path))
def status_cmd(run: Path) -> None:
    """Progress of a run: stored scores per method and dataset, failures."""
    from ..bench.runner import status

    st = status(run)
    labels = st["labels"]
    fus = {(m, h, d): {} for m, h, d, _, _ in st["fusions"]}
    for m, h, d, s, n in st["fusions"]:
        fus[(m, h, d)][s] = n
    sc: dict = {}
    for m, h, d, s, n in st["scores"]:
        sc.setdefault((m, h, d), {})[s] = n
    spec = st["spec"]
    click.echo(f"run {run}: profile {spec.get('profile')}, {len(spec.get('methods', []))} methods, "
               f"{len(spec.get('datasets', []))} datasets")
    click.echo(f"{'method':34s} {'dataset':14s} {'fused ok':>9s} {'failed':>7s} {'scores ok':>10s} {'failed':>7s}")
    for key in sorted(set(fus) | set(sc)):
        m, h, d = key
        f, s = fus.get(key, {}), sc.get(key, {})
        click.echo(f"{labels.get(h, m):34s} {d:14s} {f.get('ok', 0):9d} {f.get('failed', 0):7d} "
                   f"{s.get('ok', 0):10d} {s.get('failed', 0):7d}")
    if st["failures"]:
        click.echo(f"{len(st['failures'])} failures; first: {st['failures'][0]['image']}: {st['failures'][0]['error']}")


@bench_cmd.command("export")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output file (default RUN/scores.<fmt>).")
@click.option("--all", "all_rows", is_flag=True, help="Include failed rows (value empty, error set).")
def export_cmd(run: Path, fmt: str, out: "Path | None", all_rows: bool) -> None:
    """Export the score rows of a run (one row per method, config, dataset, image, metric, profile)."""
    from ..bench.runner import store_path
    from ..bench.store import Store

    p = store_path(run)
    if not p.is_file():
        raise IvifError(f"{run}: no results.sqlite here; is it a run folder of `ivif bench`?")
    store = Store(p)
    rows = store.scores(status=None if all_rows else "ok")
    store.close()
    out = out or Path(run) / f"scores.{fmt}"
    if fmt == "csv":
        import csv

        with open(out, "w", newline="") as f:
            cols = ["method", "config_hash", "dataset", "image", "metric", "profile", "version", "value", "status",
                    "error", "seconds"]
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
    else:
        from ..errors import require

        pa = require("pyarrow", "report")
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), str(out))
    click.echo(f"{len(rows)} rows -> {out}")
