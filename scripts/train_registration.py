"""Train ivif's learned registration network (``regunet``) on synthesised misalignment, on CPU.

Data: the aligned IR images of ../shared/data/{tno,vifb,llvip,m3fd} and the 6 MSRS pairs that are not
SuperFusion test pairs (the registration test sets msrs/ir_warp and roadscene_reg are never used, and
roadscene/ is left out because its frames may coincide with roadscene_reg's). Each IR image is resized
to the working size and deformed with the ``superfusion`` (strength 0.3-1.3) or ``umf`` protocol; the
target is the inverse ground-truth flow. Loss: mean end-point error. Deterministic (seeded numpy and
torch, one thread). Usage::

    python scripts/train_registration.py [--minutes 8] [--out src/ivif/registration/weights/regunet.pt]
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
from ivif.registration.methods.learned import RegUNet, net_input
from ivif.registration.synth import superfusion, umf

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SIZE = (96, 128)  # (h, w) training working size (long side = learned.LONG_SIDE)
SF_TEST = {p.stem for p in (DATA / "msrs" / "ir_warp").glob("*")}


def train_pairs() -> list:
    pairs = []
    for ds in ("tno", "vifb", "llvip", "m3fd", "msrs"):
        for p in load_pairs(DATA / ds / "ir", DATA / ds / "vi"):
            if ds == "msrs" and p.name in SF_TEST:
                continue
            pairs.append(p)
    return pairs


def make_pool(pairs, per_image: int, seed: int):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    h, w = SIZE
    for i, p in enumerate(pairs):
        ir = cv2.resize(imread(p.ir, mode="gray"), (w, h), interpolation=cv2.INTER_AREA)
        vi = cv2.resize(imread(p.vi, mode="gray"), (w, h), interpolation=cv2.INTER_AREA)
        for k in range(per_image):
            s = int(rng.integers(1 << 30))
            if rng.random() < 0.7:
                # at 128 px wide, base=None keeps SuperFusion's displacement relative to the image size
                m = superfusion(ir, seed=s, strength=float(rng.uniform(0.3, 1.3)), angle=9.0, base=None)
            else:
                m = umf(ir, seed=s, strength=float(rng.uniform(0.5, 2.0)))
            xs.append(net_input(m.image, vi))
            ys.append(invert_flow(m.flow).transpose(2, 0, 1).astype(np.float32))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=8.0, help="wall-clock training budget (after data synthesis)")
    ap.add_argument("--per-image", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "src/ivif/registration/weights/regunet.pt")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    t0 = time.time()
    pairs = train_pairs()
    x, y = make_pool(pairs, a.per_image, a.seed)
    print(f"{len(pairs)} pairs, {len(x)} samples synthesised in {time.time() - t0:.0f} s", flush=True)
    net = RegUNet()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    g = torch.Generator().manual_seed(a.seed)
    t1, step, epoch = time.time(), 0, 0
    while time.time() - t1 < a.minutes * 60:
        perm = torch.randperm(len(x), generator=g)
        tot = 0.0
        for i in range(0, len(x) - a.batch + 1, a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = x[idx], y[idx]
            pred = net(xb)
            tgt = torch.nn.functional.avg_pool2d(yb, 2)  # the head predicts at half resolution
            loss = torch.linalg.vector_norm(pred - tgt, dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
            step += 1
        epoch += 1
        print(f"epoch {epoch} step {step} train EPE {tot / len(x):.3f} px ({time.time() - t1:.0f} s)", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in net.state_dict().items()}, a.out)
    print(f"saved {a.out} after {epoch} epochs / {step} steps", flush=True)


if __name__ == "__main__":
    main()
