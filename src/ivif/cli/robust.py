"""``ivif attack`` and ``ivif robustness``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import IvifError
from . import cli
from ._common import echo_failures, progress_bar


@cli.command("attack")
@click.option("--method", "-m", required=True, help="A deep (PyTorch) method.")
@click.option("--attack", "kind", type=click.Choice(["fgsm", "pgd"]), default="pgd", show_default=True)
@click.option("--eps", type=float, default=8, show_default=True, help="L-inf budget in grey levels (of 255).")
@click.option("--steps", type=int, default=10, show_default=True, help="PGD steps.")
@click.option("--step-size", type=float, default=None, help="PGD step in grey levels (default eps/4).")
@click.option("--no-random-start", is_flag=True, help="PGD starts at the clean pair.")
@click.option("--target", type=click.Choice(["ir", "vi", "both"]), default="both", show_default=True)
@click.option("--objective", type=click.Choice(["distance", "ssim", "gradient"]), default="distance",
              show_default=True, help="What the attacker maximises (see ivif.robust.attacks).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ir", "ir", required=True, type=click.Path(path_type=Path))
@click.option("--vi", "vi", required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def attack_cmd(method: str, kind: str, eps: float, steps: int, step_size: "float | None", no_random_start: bool,
               target: str, objective: str, seed: int, ir: Path, vi: Path, out: Path, device: str) -> None:
    """Write adversarial inputs (OUT/ir, OUT/vi) and the clean and adversarial fused images
    (OUT/fused_clean, OUT/fused_adv) for every pair; prints the fused-image damage per pair."""
    import ivif
    from ..data.pairs import Pair, load_pairs
    from ..io import imwrite
    from ..robust.attacks import attack

    m = ivif.create_method(method, device=device) if device != "cpu" else ivif.create_method(method)
    pairs = [Pair(ir.stem, ir, vi)] if ir.is_file() and vi.is_file() else load_pairs(ir, vi)
    failed = []
    bar = progress_bar(len(pairs), f"{kind}")
    for p in pairs:
        try:
            r = attack(m, p.ir, p.vi, kind, eps=eps, steps=steps, step_size=step_size,
                       random_start=not no_random_start, target=target, objective=objective, seed=seed)
            for sub, img in (("ir", r.ir), ("vi", r.vi), ("fused_clean", r.fused_clean), ("fused_adv", r.fused_adv)):
                imwrite(out / sub / f"{p.name}.png", img)
            click.echo(f"{p.name}: fused MSE {r.fused_mse:.2f} grey levels², loss {r.loss_clean:.5f} -> "
                       f"{r.loss_adv:.5f}, max change IR {r.linf_ir:g} VIS {r.linf_vi:g} grey levels")
        except IvifError:
            raise
        except Exception as exc:
            failed.append((p.name, f"{type(exc).__name__}: {exc}"))
        bar.update(1)
    bar.close()
    echo_failures(failed, "pairs")
    if failed:
        raise SystemExit(1)


@cli.command("robustness")
@click.option("--methods", "-m", required=True, help="Comma-separated methods.")
@click.option("--ir", "ir", required=True, type=click.Path(path_type=Path))
@click.option("--vi", "vi", required=True, type=click.Path(path_type=Path))
@click.option("--perturbations", default="gaussian_noise,gaussian_blur,jpeg", show_default=True,
              help="Comma-separated (see ivif.robust.PERTURBATIONS), or 'none'.")
@click.option("--severities", default="1,3,5", show_default=True)
@click.option("--attacks", default="none", show_default=True, help="fgsm,pgd (deep methods) or 'none'.")
@click.option("--eps", default="8", show_default=True, help="Comma-separated budgets in grey levels.")
@click.option("--target", type=click.Choice(["ir", "vi", "both"]), default="both", show_default=True)
@click.option("--profile", default="cddfuse", show_default=True)
@click.option("--metrics", default="SSIM,Qabf,VIF", show_default=True)
@click.option("--limit", type=int, default=None, help="Use only the first N pairs.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the table (.md) or rows (.csv).")
def robustness_cmd(methods: str, ir: Path, vi: Path, perturbations: str, severities: str, attacks: str, eps: str,
                   target: str, profile: str, metrics: str, limit: "int | None", out: "Path | None") -> None:
    """Metric drops per method, perturbation/attack and severity/ε (fused scored against the clean pair)."""
    from ..data.pairs import load_pairs
    from ..robust.evaluate import robustness

    pairs = load_pairs(ir, vi)[: limit or None]
    split = lambda s: [] if s.strip().lower() == "none" else [x.strip() for x in s.split(",") if x.strip()]  # noqa
    res = robustness(split(methods), pairs, split(perturbations), [int(s) for s in split(severities)],
                     split(attacks), [float(e) for e in split(eps)], target, profile, split(metrics))
    table = res.table()
    click.echo(f"profile {profile}; Δ = clean − perturbed (positive = degraded)\n" + table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            import csv

            with open(out, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(res.rows[0]))
                w.writeheader()
                w.writerows(res.rows)
        else:
            out.write_text(table + "\n")
        click.echo(f"-> {out}")
    for n in res.notes:
        click.echo(f"note: {n}", err=True)
    echo_failures([(f"{m}/{i}", e) for m, i, e in res.failures], "evaluations")
