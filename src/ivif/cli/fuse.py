"""``ivif fuse``: fuse a pair or two folders with a registered method."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import IvifError
from . import cli
from ._common import echo_failures, parse_options, progress_bar


@cli.command("fuse")
@click.option("--method", "-m", required=True, help="Registered method name (see `ivif list methods`).")
@click.option("--ir", "ir", required=True, type=click.Path(path_type=Path), help="IR image or folder.")
@click.option("--vi", "vi", required=True, type=click.Path(path_type=Path), help="VIS image or folder.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output PNG or folder.")
@click.option("--weights", type=click.Path(path_type=Path), default=None, help="Weights file (deep methods).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None, help="Device (deep methods).")
@click.option("--tile", type=int, default=None, help="Tiled inference with this tile size (deep methods).")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--overwrite", is_flag=True, help="Re-fuse pairs whose output already exists.")
@click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE", help="Method option, repeatable.")
@click.option("--register", "register", default=None, metavar="NAME",
              help="Register each IR onto its VIS with this method first (see `ivif list registration`).")
def fuse_cmd(method: str, ir: Path, vi: Path, out: Path, weights: "Path | None", device: "str | None",
             tile: "int | None", jobs: int, overwrite: bool, opts: "tuple[str, ...]",
             register: "str | None" = None) -> None:
    """Fuse IR/VIS pairs. Folders are paired by base name; outputs are PNGs under the same names.

    Existing outputs are skipped unless --overwrite, so an interrupted run resumes. A failing pair is
    reported by name and the rest go on; the exit code is 1 if any pair failed. With --register NAME
    each IR is first aligned onto its VIS (registered IR kept in a temporary folder), then fused.
    """
    if register is not None:
        _fuse_registered(register, method, ir, vi, out, weights, device, tile, jobs, overwrite, opts)
        return
    from ..data.pairs import Pair, load_pairs
    from ..methods.run import fuse_pairs
    from ..registry import METHODS

    entry = METHODS.get_entry(method)
    cfg = parse_options(opts)
    deep = "deep" in entry.tags
    for flag, value, key in (("--weights", weights, "weights"), ("--device", device, "device"),
                             ("--tile", tile, "tile")):
        if value is not None:
            if not deep:
                raise IvifError(f"{flag} applies to deep methods only; {entry.name} is {', '.join(entry.tags)}")
            cfg[key] = str(value) if key == "weights" else value
    if ir.is_file() or vi.is_file():
        if not (ir.is_file() and vi.is_file()):
            raise IvifError(f"--ir {ir} and --vi {vi}: give two files or two folders")
        if out.suffix.lower() != ".png":
            raise IvifError(f"--out {out}: for a single pair give the output file name, e.g. fused.png")
        pair = Pair(out.stem, ir, vi)
        report = fuse_pairs(entry.name, [pair], out.parent, cfg=cfg, overwrite=True)
        if report.failed:
            raise IvifError(report.failed[0][1])
        click.echo(f"wrote {out}")
        return
    pairs = load_pairs(ir, vi)
    bar = progress_bar(len(pairs), entry.name)
    report = fuse_pairs(entry.name, pairs, out, cfg=cfg, overwrite=overwrite, jobs=jobs,
                        progress=lambda name, status: bar.update(1))
    bar.close()
    click.echo(f"{entry.name}: {len(report.written)} written, {len(report.skipped)} skipped (already there), "
               f"{len(report.failed)} failed in {report.seconds:.1f} s -> {out}")
    echo_failures(report.failed, "pairs")
    if report.failed:
        raise SystemExit(1)


def _fuse_registered(register: str, method: str, ir: Path, vi: Path, out: Path, weights, device, tile, jobs: int,
                     overwrite: bool, opts: "tuple[str, ...]") -> None:
    """``fuse --register``: register every pair into a temporary folder, then fuse (registered IR, VIS)."""
    import tempfile

    from ..data.pairs import Pair, load_pairs
    from ..registry import REGISTRATION
    from .register import register_pairs

    REGISTRATION.get_entry(register)  # unknown names fail before any work
    single = ir.is_file() or vi.is_file()
    if single and not (ir.is_file() and vi.is_file()):
        raise IvifError(f"--ir {ir} and --vi {vi}: give two files or two folders")
    pairs = [Pair(out.stem, ir, vi)] if single else load_pairs(ir, vi)
    with tempfile.TemporaryDirectory(prefix="ivif_reg_") as tmp:
        written, _, failed = register_pairs(register, pairs, Path(tmp), overwrite=True)
        echo_failures(failed, "registrations")
        if not written:
            raise IvifError(f"--register {register}: no pair could be registered")
        click.echo(f"{register}: {len(written)} pairs registered")
        reg_ir = Path(tmp)
        if single:
            ctx = click.get_current_context()
            ctx.invoke(fuse_cmd, method=method, ir=reg_ir / f"{out.stem}.png", vi=vi, out=out, weights=weights,
                       device=device, tile=tile, jobs=jobs, overwrite=overwrite, opts=opts)
        else:
            vdir = Path(tmp) / "_vi"
            vdir.mkdir()
            for p in pairs:  # link the VIS partners of the registered pairs under the same base names
                if p.name in written:
                    (vdir / f"{p.name}{p.vi.suffix}").symlink_to(p.vi.resolve())
            ctx = click.get_current_context()
            ctx.invoke(fuse_cmd, method=method, ir=reg_ir, vi=vdir, out=out, weights=weights, device=device,
                       tile=tile, jobs=jobs, overwrite=overwrite, opts=opts)
    if failed:
        raise SystemExit(1)
