"""Where NSCT_SR's time goes: per image of one pair, the NSCT, the patch count and the OMP cost.

    python benchmarks/sparse_speed.py [--pair 00004N] [--data ../shared/data/msrs] [--threads 1]

For the IR image and each VIS channel of one pair (default: the MSRS pair 640x480 that
``benchmarks/classical_speed.py`` times), prints the NSCT decomposition time, the number of 8x8 low-pass
patches on NSCT_SR's grid (step 2), how many of them are below the error target (0 atoms), how many are
exact duplicates of another, the mean number of OMP atoms, and the OMP CPU time (total and per patch);
then the end-to-end ``nsct_sr`` fuse time. CPU time is ``time.process_time`` with ``--threads`` BLAS
threads (default 1), so on a shared machine it is the number to compare; wall time is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", default="00004N", help="pair name (file stem) under DATA/ir and DATA/vi")
    ap.add_argument("--data", default=None, help="folder with ir/ and vi/ (default ../shared/data/msrs)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads (default 1)")
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)  # before numpy binds its BLAS pool
    shared = Path(__file__).resolve().parents[1].parent / "shared"
    os.environ.setdefault("IVIF_WEIGHTS_DIR", str(shared / "weights"))
    import numpy as np

    import ivif
    from ivif.io import imread
    from ivif.methods.classical._nsct import nsct_dec
    from ivif.methods.classical._sparse import extract_patches, load_dictionary, omp_error, patch_grid, to_levels
    from ivif.methods.classical._sparse import vifb_channels

    data = Path(a.data) if a.data else shared / "data" / "msrs"
    ir_p = next((data / "ir").glob(f"{a.pair}.*"), None)
    vi_p = next((data / "vi").glob(f"{a.pair}.*"), None)
    if ir_p is None or vi_p is None:
        print(f"error: pair {a.pair!r} not found under {data}/ir and {data}/vi", file=sys.stderr)
        return 2
    ir, vi = imread(ir_p), imread(vi_p)
    d = load_dictionary()
    print(f"pair {a.pair} ({ir.shape[1]}x{ir.shape[0]}), {a.threads} thread(s); OMP epsilon 0.1, 8x8 patches, step 2")
    print("| image | NSCT (s) | patches | below eps | duplicates | mean atoms | OMP cpu (s) | OMP us/patch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    images = [("ir", to_levels(ir))] + [(f"vi[{k}]", to_levels(c)) for k, c in enumerate(vifb_channels(vi))]
    total_omp = 0.0
    for label, img in images:
        c0 = time.process_time()
        low, _ = nsct_dec(img, 2)
        t_nsct = time.process_time() - c0
        ys, xs = patch_grid(low.shape[0], low.shape[1], 8, 2)
        p = extract_patches(low, ys, xs, 8)
        p = p - p.mean(axis=0)
        below = int(np.count_nonzero((p * p).sum(axis=0) <= 0.01))
        dup = p.shape[1] - np.unique(np.ascontiguousarray(p.T).view(np.dtype((np.void, 64 * 8)))).size
        c0 = time.process_time()
        g = omp_error(d, p, 0.1)
        t_omp = time.process_time() - c0
        total_omp += t_omp
        atoms = float(np.count_nonzero(g, axis=0).mean())
        print(f"| {label} | {t_nsct:.2f} | {p.shape[1]} | {below} | {dup} | {atoms:.1f} | {t_omp:.1f} | "
              f"{t_omp / p.shape[1] * 1e6:.0f} |")
        sys.stdout.flush()
    m = ivif.create_method("nsct_sr")
    c0, w0 = time.process_time(), time.perf_counter()
    m.fuse(ir, vi)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"\nOMP total {total_omp:.1f} s CPU; nsct_sr.fuse end to end: {cpu:.1f} s CPU, {wall:.1f} s wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
