"""Train ivif's learned residual registration network (``ecc_unet``) on synthesised residual fields, on CPU.

``ecc_unet`` registers with ECC (affine) first; the network predicts only what remains, a smooth
non-rigid field of a few pixels. Training therefore needs no ECC run: each *aligned* pair is resized to
the working size (long side ``learned.LONG_SIDE``), its IR is deformed by a ``umf`` protocol field
(elastic noise blurred by a 101x101 Gaussian of sigma 16 working px, translation <= 0.5 % of the size,
strength U(0, 3): 0-4 working px, i.e. about 0-10 px on a 640x480 image) and the network regresses
the inverse field from the MIND + gradient features of (deformed IR, VIS). Loss: mean end-point error
(supervised, half resolution). Crops of 128x128 working px.

Data: the aligned pairs of ../shared/data/{tno,vifb,llvip,m3fd} and the MSRS pairs that are not
SuperFusion test pairs. Never used: msrs/ir_warp and its GT flows, roadscene_reg (the evaluation sets),
and roadscene/ (its frames may coincide with roadscene_reg's). Deterministic: seeded numpy and torch,
one thread. Usage::

    python scripts/train_registration.py [--epochs 9] [--out src/ivif/registration/weights/ecc_unet.pt]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from ivif.data.pairs import load_pairs
from ivif.io import imread
from ivif.registration.flow import invert_flow
from ivif.registration.methods.learned import ResidualUNet, features, working_size
from ivif.registration.synth import umf

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CROP = 128
SF_TEST = {p.stem for p in (DATA / "msrs" / "ir_warp").glob("*")}


def train_pairs() -> list:
    """Aligned training pairs, SuperFusion test pairs excluded."""
    pairs = []
    for ds in ("tno", "vifb", "llvip", "m3fd", "msrs"):
        for p in load_pairs(DATA / ds / "ir", DATA / ds / "vi"):
            if ds == "msrs" and p.name in SF_TEST:
                continue
            pairs.append(p)
    return pairs


def make_pool(pairs, per_image: int, seed: int):
    """(inputs (N, 10, CROP, CROP), targets (N, 2, CROP/2, CROP/2)) float32, drawn once with ``seed``."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for p in pairs:
        ir0, vi0 = imread(p.ir, mode="gray"), imread(p.vi, mode="gray")
        hs, ws = working_size(*ir0.shape)
        hs, ws = max(hs, CROP), max(ws, CROP)
        ir = cv2.resize(ir0, (ws, hs), interpolation=cv2.INTER_AREA)
        vi = cv2.resize(vi0, (ws, hs), interpolation=cv2.INTER_AREA)
        fv = features(vi)
        for _ in range(per_image):
            m = umf(ir, seed=int(rng.integers(1 << 30)), strength=float(rng.uniform(0.0, 3.0)), translate=0.005)
            fi = features(m.image)
            tgt = invert_flow(m.flow).transpose(2, 0, 1).astype(np.float32)
            y0, x0 = int(rng.integers(0, hs - CROP + 1)) // 2 * 2, int(rng.integers(0, ws - CROP + 1)) // 2 * 2
            sl = (slice(None), slice(y0, y0 + CROP), slice(x0, x0 + CROP))
            xs.append(np.concatenate([fi[sl], fv[sl]]))
            ys.append(tgt[sl])
    x = torch.from_numpy(np.stack(xs))
    y = torch.nn.functional.avg_pool2d(torch.from_numpy(np.stack(ys)), 2)  # the head predicts at half resolution
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=9, help="passes over the pool (fixed, so the result is deterministic)")
    ap.add_argument("--per-image", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "src/ivif/registration/weights/ecc_unet.pt")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    t0 = time.time()
    pairs = train_pairs()
    x, y = make_pool(pairs, a.per_image, a.seed)
    zero = float(torch.linalg.vector_norm(y, dim=1).mean())
    print(f"{len(pairs)} pairs, {len(x)} samples synthesised in {time.time() - t0:.0f} s; "
          f"zero-field EPE {zero:.3f} working px", flush=True)
    net = ResidualUNet()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    g = torch.Generator().manual_seed(a.seed)
    t1, step = time.time(), 0
    for epoch in range(1, a.epochs + 1):
        if epoch == a.epochs - 1:  # lower the step size for the last two epochs
            for pg in opt.param_groups:
                pg["lr"] = a.lr * 0.3
        perm = torch.randperm(len(x), generator=g)
        tot, n = 0.0, 0
        for i in range(0, len(x) - a.batch + 1, a.batch):
            idx = perm[i:i + a.batch]
            pred = net(x[idx])
            loss = torch.linalg.vector_norm(pred - y[idx], dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot, n, step = tot + float(loss.detach()) * len(idx), n + len(idx), step + 1
        print(f"epoch {epoch} step {step} train EPE {tot / max(n, 1):.3f} working px ({time.time() - t1:.0f} s)",
              flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in net.state_dict().items()}, a.out)
    print(f"saved {a.out} after {epoch} epochs / {step} steps; total {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
