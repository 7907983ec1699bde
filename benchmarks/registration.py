"""Registration benchmark: alignment before/after each method, and fusion of misaligned vs registered pairs.

Sets: SuperFusion's misaligned test pairs ``../shared/data/msrs`` and ``../shared/data/roadscene_reg``
(``ir_warp`` registered onto ``vi``; ``ir`` is the aligned ground truth; EPE on the pairs that ship a GT
flow) and synthesised sets (the first 10 TNO IR images misaligned with the ``superfusion`` and ``umf`` protocols, seed = index,
every pair with its GT flow). Alignment metrics compare the registered IR with the aligned IR (MSE,
NCC, MI of ``ivif.metrics.alignment``; EPE against the inverse GT flow inside the valid region).
Fusion: each fusion method fuses (misaligned IR, VIS) and (registered IR, VIS); the fused image is
scored with the default profile (cddfuse) against the *aligned* IR and the VIS.

    python benchmarks/registration.py [--methods ecc,mind,ecc_unet] [--limit N] [--fusion average,gff]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import ivif
from ivif.io import imread
from ivif.metrics.alignment import epe, mi, mse, ncc
from ivif.registration import create_registration, invert_flow, load_flow_mat, misalign, valid_mask

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FUSED_METRICS = ("MI", "SCD", "Qabf", "SSIM")


def load_set(name: str, limit: int):
    """[(pair name, aligned ir, misaligned ir, vi, gt flow or None)]."""
    out = []
    if name in ("msrs", "roadscene_reg"):
        root = DATA / name
        names = sorted(p.stem for p in (root / "ir_warp").glob("*.png"))
        with_gt = [n for n in names if (root / "flow" / f"{n}.png.mat").exists()]
        names = with_gt + [n for n in names if n not in with_gt]  # GT-flow pairs always included
        for n in names[:limit] if limit else names:
            f = root / "flow" / f"{n}.png.mat"
            out.append((n, imread(root / "ir" / f"{n}.png", mode="gray"), imread(root / "ir_warp" / f"{n}.png", mode="gray"),
                        imread(root / "vi" / f"{n}.png"), load_flow_mat(f) if f.exists() else None))
        return out
    proto = name.split(":")[1]
    pairs = ivif.load_pairs(DATA / "tno" / "ir", DATA / "tno" / "vi")
    for i, p in enumerate(pairs[: limit or 10]):
        ir = imread(p.ir, mode="gray")
        m = misalign(ir, proto, seed=i)
        out.append((p.name, ir, m.image, imread(p.vi), m.flow))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="msrs,roadscene_reg,tno:superfusion,tno:umf")
    ap.add_argument("--methods", default="ecc,mind,ecc_unet")
    ap.add_argument("--fusion", default="average,gff", help="fusion methods for the fused-image table")
    ap.add_argument("--limit", type=int, default=0, help="pairs per set (0 = all; synthesised sets: 10)")
    ap.add_argument("--fusion-limit", type=int, default=3, help="pairs per set in the fused-image table")
    a = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)  # single-threaded timings
    except ImportError:
        pass
    methods = ["none"] + [m for m in a.methods.split(",") if m]
    regs = {m: create_registration(m) for m in methods if m != "none"}
    fusers = [f for f in a.fusion.split(",") if f]
    rows, frows = [], []
    for s in a.sets.split(","):
        data = load_set(s, a.limit)
        for m in methods:
            acc = {"EPE": [], "NCC": [], "MI": [], "MSE": [], "s": []}
            fused = {f: [] for f in fusers}
            for i, (name, ir, irw, vi, flow) in enumerate(data):
                t = time.perf_counter()
                if m == "none":
                    reg, est = irw, np.zeros(ir.shape + (2,))
                else:
                    r = regs[m].register(irw, vi)
                    reg, est = r.ir_registered, r.flow
                acc["s"].append(time.perf_counter() - t)
                if flow is not None:
                    gt = invert_flow(flow)
                    acc["EPE"].append(epe(est, gt, valid_mask(gt)))
                acc["NCC"].append(ncc(reg, ir))
                acc["MI"].append(mi(reg, ir))
                acc["MSE"].append(mse(reg, ir))
                for f in fusers if i < a.fusion_limit else ():
                    fz = ivif.fuse(reg, vi, f)
                    res = ivif.evaluate(ir, vi, fz, metrics=list(FUSED_METRICS))
                    fused[f].append([res[k] for k in FUSED_METRICS])
            n_gt = len(acc["EPE"])
            rows.append((s, m, len(data), n_gt, np.mean(acc["EPE"]) if n_gt else float("nan"),
                         np.mean(acc["NCC"]), np.mean(acc["MI"]), np.mean(acc["MSE"]), np.mean(acc["s"])))
            for f in fusers:
                frows.append((s, f, m, *np.mean(fused[f], axis=0)))
            print(f"done {s} {m}", flush=True)
    print("\n## Alignment (registered IR vs aligned IR; EPE on pairs with a GT flow)\n")
    print("| set | method | pairs | GT flows | EPE (px) ↓ | NCC ↑ | MI (bits) ↑ | MSE ↓ | s/pair |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:.3f} | {r[6]:.3f} | {r[7]:.5f} | {r[8]:.2f} |")
    if frows:
        print(f"\n## Fusion of misaligned (none) vs registered IR (profile cddfuse, first {a.fusion_limit} pairs per set; "
              "scored against the aligned IR + VIS)\n")
        print("| set | fusion | registration | " + " | ".join(f"{k} ↑" for k in FUSED_METRICS) + " |")
        print("|---|---|---|" + "---|" * len(FUSED_METRICS))
        for r in frows:
            print(f"| {r[0]} | {r[1]} | {r[2]} | " + " | ".join(f"{v:.4f}" for v in r[3:]) + " |")


if __name__ == "__main__":
    main()
