"""Robustness tables: metric drops of fused images under perturbations and attacks.

For each method, pair and condition (a perturbation at a severity, or an attack at an ε), the method
fuses the perturbed pair; the fused image is scored against the *clean* sources and compared with the
method's clean fused image. ``drop = clean value - perturbed value`` (positive = worse for
higher-is-better metrics); ``fused_psnr`` is the PSNR (dB, peak 1) between clean and perturbed fused
images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..data.pairs import Pair


@dataclass
class RobustnessResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """Markdown: method x condition, mean drop of each metric and mean fused PSNR."""
        metrics = sorted({r["metric"] for r in self.rows if r["metric"] != "fused_psnr"})
        groups: dict[tuple[str, str, str], dict[str, list[float]]] = {}
        for r in self.rows:
            g = groups.setdefault((r["method"], r["condition"], str(r["level"])), {})
            g.setdefault(r["metric"], []).append(r["drop"] if r["metric"] != "fused_psnr" else r["perturbed"])
        head = "| method | condition | level | " + " | ".join(f"Δ{m}" for m in metrics) + " | fused PSNR (dB) |"
        lines = [head, "|---|---|---:|" + "---:|" * (len(metrics) + 1)]
        for (m, c, lv), g in groups.items():
            cells = [f"{np.mean(g[k]):.4f}" if k in g else "–" for k in metrics]
            psnr = f"{np.mean(g['fused_psnr']):.2f}" if "fused_psnr" in g else "–"
            lines.append(f"| {m} | {c} | {lv} | " + " | ".join(cells) + f" | {psnr} |")
        return "\n".join(lines)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def robustness(methods: Sequence[str], pairs: Sequence[Pair], perturbations: Sequence[str] = (),
               severities: Sequence[int] = (1, 3, 5), attacks: Sequence[str] = (), eps: Sequence[float] = (8,),
               target: str = "both", profile: str = "cddfuse", metrics: "str | list[str]" = ("SSIM", "Qabf", "VIF"),
               steps: int = 10, seed: int = 0) -> RobustnessResult:
    """Evaluate ``methods`` on ``pairs`` under each perturbation x severity and attack x ε."""
    import ivif

    from .attacks import attack
    from .perturbations import perturb_pair

    res = RobustnessResult()
    from ..methods.deep._torch import TorchFusionMethod

    for mname in methods:
        m = ivif.create_method(mname)
        deep = isinstance(m, TorchFusionMethod)
        if attacks and not deep:
            res.notes.append(f"{mname}: gradient attacks skipped (not a PyTorch network)")
        for pair in pairs:
            try:
                ir, vi = pair.read_ir(), pair.read_vi()
                clean = m.fuse(ir, vi)
                base = ivif.evaluate(ir, vi, clean, metrics=list(metrics), profile=profile)
            except Exception as exc:
                res.failures.append((mname, pair.name, str(exc)))
                continue
            conditions: list[tuple[str, Any, Any]] = []
            for p in perturbations:
                for s in severities:
                    conditions.append((p, s, lambda p=p, s=s: m.fuse(*perturb_pair(ir, vi, p, s, target, seed))))
            for a in attacks if deep else ():
                for e in eps:
                    conditions.append((a, e, lambda a=a, e=e: attack(m, ir, vi, a, eps=e, steps=steps, target=target,
                                                                      seed=seed).fused_adv))
            for cond, level, run in conditions:
                try:
                    fused = run()
                    vals = ivif.evaluate(ir, vi, fused, metrics=list(metrics), profile=profile)
                except Exception as exc:
                    res.failures.append((mname, pair.name, f"{cond}@{level}: {exc}"))
                    continue
                for k, v in vals.items():
                    res.rows.append({"method": mname, "image": pair.name, "condition": cond, "level": level,
                                     "metric": k, "clean": base[k], "perturbed": v, "drop": base[k] - v})
                res.rows.append({"method": mname, "image": pair.name, "condition": cond, "level": level,
                                 "metric": "fused_psnr", "clean": float("inf"), "perturbed": _psnr(fused, clean),
                                 "drop": float("nan")})
    return res
