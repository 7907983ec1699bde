"""``ivif register`` (align IR to VIS with a registration method) and ``ivif misalign`` (deformed test sets)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import click

from ..errors import IvifError
from . import cli
from ._common import echo_failures, parse_options, progress_bar


def pair_seed(seed: int, name: str) -> int:
    """Per-image seed from the set seed and the base name (independent of file order)."""
    import numpy as np

    return int(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)[0])


def register_pairs(method: str, pairs, out: Path, cfg: "dict | None" = None, save_flow: bool = False,
                   overwrite: bool = False, progress=None) -> "tuple[list[str], list[str], list[tuple[str, str]]]":
    """Register each pair's IR onto its VIS; write ``out/<name>.png`` (and ``<name>.npy`` flows).

    Returns (written, skipped, failed) names; a failing pair is recorded and the rest go on.
    """
    import numpy as np

    from ..io import imwrite
    from ..registration import create_registration

    reg = create_registration(method, **(cfg or {}))
    out.mkdir(parents=True, exist_ok=True)
    written, skipped, failed = [], [], []
    for p in pairs:
        dst = out / f"{p.name}.png"
        if dst.exists() and not overwrite:
            skipped.append(p.name)
        else:
            try:
                res = reg.register(p.ir, p.vi)
                imwrite(dst, res.ir_registered, clip=True)
                if save_flow:
                    np.save(out / f"{p.name}.npy", res.flow.astype(np.float32))
                written.append(p.name)
            except IvifError as exc:
                failed.append((p.name, str(exc)))
        if progress:
            progress(p.name)
    return written, skipped, failed


@cli.command("register")
@click.option("--method", "-m", required=True, help="Registration method (see `ivif list registration`).")
@click.option("--ir", "ir", required=True, type=click.Path(path_type=Path), help="Misaligned IR image or folder.")
@click.option("--vi", "vi", required=True, type=click.Path(path_type=Path), help="VIS image or folder (fixed).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--save-flow", is_flag=True, help="Also write <name>.npy: HxWx2 float32 backward flow (dx, dy) in px.")
@click.option("--overwrite", is_flag=True, help="Re-register pairs whose output exists.")
@click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE", help="Method option, repeatable.")
def register_cmd(method: str, ir: Path, vi: Path, out: Path, save_flow: bool, overwrite: bool,
                 opts: "tuple[str, ...]") -> None:
    """Align IR images onto their VIS partners; writes the registered IR as <out>/<name>.png.

    Flows follow ivif's convention: registered(p) = ir(p + flow(p)), pixels, (dx, dy) last axis.
    """
    from ..data.pairs import Pair, load_pairs
    from ..registry import REGISTRATION

    entry = REGISTRATION.get_entry(method)
    if ir.is_file() or vi.is_file():
        if not (ir.is_file() and vi.is_file()):
            raise IvifError(f"--ir {ir} and --vi {vi}: give two files or two folders")
        pairs = [Pair(ir.stem, ir, vi)]
    else:
        pairs = load_pairs(ir, vi)
    bar = progress_bar(len(pairs), entry.name)
    written, skipped, failed = register_pairs(entry.name, pairs, out, parse_options(opts), save_flow, overwrite,
                                              lambda n: bar.update(1))
    bar.close()
    click.echo(f"{entry.name}: {len(written)} registered, {len(skipped)} skipped (already there), "
               f"{len(failed)} failed -> {out}")
    echo_failures(failed, "pairs")
    if failed:
        raise SystemExit(1)


@cli.command("misalign")
@click.option("--protocol", "-p", required=True, type=click.Choice(["umf", "superfusion", "murf"]),
              help="Misalignment protocol (UMF-CMGR, SuperFusion, MURF).")
@click.option("--ir", "ir", required=True, type=click.Path(path_type=Path, exists=True), help="Aligned IR folder.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--seed", type=int, default=0, show_default=True, help="Set seed (each image: seed + its name).")
@click.option("--strength", type=float, default=1.0, show_default=True, help="Displacement scale (1 = paper).")
def misalign_cmd(protocol: str, ir: Path, out: Path, seed: int, strength: float) -> None:
    """Write a reproducible deformed test set: <out>/ir_warp/<name>.png and <out>/flow/<name>.npy.

    Each flow is the ground truth in ivif's convention (ir_warp = warp(ir, flow), HxWx2 float32 px);
    <out>/misalign.json records the protocol, seed and strength.
    """
    import numpy as np

    from ..data.pairs import list_images
    from ..io import imread, imwrite
    from ..registration.synth import misalign

    files = list_images(ir) if ir.is_dir() else {ir.stem: ir}
    if not files:
        raise IvifError(f"--ir {ir}: no image files found")
    (out / "ir_warp").mkdir(parents=True, exist_ok=True)
    (out / "flow").mkdir(parents=True, exist_ok=True)
    failed = []
    for name, path in sorted(files.items()):
        try:
            m = misalign(imread(path), protocol, seed=pair_seed(seed, name), strength=strength)
        except IvifError as exc:
            failed.append((name, str(exc)))
            continue
        imwrite(out / "ir_warp" / f"{name}.png", m.image, clip=True)
        np.save(out / "flow" / f"{name}.npy", m.flow.astype(np.float32))
    (out / "misalign.json").write_text(json.dumps(
        {"protocol": protocol, "seed": seed, "strength": strength, "flow": "HxWx2 float32 backward px (dx, dy)",
         "images": len(files) - len(failed)}, indent=1))
    click.echo(f"{protocol}: {len(files) - len(failed)} images misaligned -> {out}")
    echo_failures(failed, "images")
    if failed:
        raise SystemExit(1)
