"""Throughput of the benchmark executors on one workload: serial, process pool (1 and 2 workers), local Dask (2).

    python benchmarks/bench_scaling.py [--dataset ../shared/data/vifb] [--methods a,b] [--metrics all] [--batch 3]

Each configuration runs the same workload into a fresh run folder (nothing cached). Throughput is
(pairs x methods) per second of wall time, start-up of the workers included. Overhead per task is
(wall time x workers - compute time) / tasks, where compute time is the sum of the per-image fusion and
metric seconds the workers recorded in the store.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from ivif.bench import load_spec, run

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "data" / "vifb"))
    ap.add_argument("--methods", default="laplacian_pyramid,dwt,msvd,gff,tif")
    ap.add_argument("--metrics", default="EN,SD,SF,AG,MI,SCD,Qabf,SSIM")
    ap.add_argument("--batch", type=int, default=3)
    a = ap.parse_args()
    configs = [("serial", "serial", 1), ("process (1 worker)", "process", 1), ("process (2 workers)", "process", 2),
               ("dask local (2 workers)", "dask", 2)]
    results = []
    for label, ex, n in configs:
        tmp = Path(tempfile.mkdtemp(prefix="ivif_scaling_"))
        spec = load_spec(methods=a.methods.split(","), datasets=[a.dataset], metrics=a.metrics.split(","),
                         run=str(tmp / "run"), executor=ex, jobs=n, workers=n, batch=a.batch)
        t0 = time.perf_counter()
        s = run(spec)
        wall = time.perf_counter() - t0
        con = sqlite3.connect(tmp / "run" / "results.sqlite")
        work = (con.execute("SELECT COALESCE(SUM(seconds), 0) FROM fusions").fetchone()[0]
                + con.execute("SELECT COALESCE(SUM(seconds), 0) FROM scores").fetchone()[0])
        items = con.execute("SELECT COUNT(*) FROM fusions WHERE status='ok'").fetchone()[0]
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        results.append((label, n, wall, items, s.tasks, work))
    base = results[0][3] / results[0][2]
    proc2 = next(r for r in results if r[0].startswith("process (2"))
    print("| executor | workers | wall (s) | pairs·methods | tasks | throughput (pairs·methods/s) | vs serial |"
          " overhead per task (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, n, wall, items, tasks, work in results:
        thr = items / wall
        over = max(0.0, (wall * n - work) / max(tasks, 1)) * 1000
        print(f"| {label} | {n} | {wall:.1f} | {items} | {tasks} | {thr:.2f} | {thr / base:.2f}x | {over:.0f} |")
    dask = results[-1]
    print(f"\nDask local vs process pool (2 workers): {(dask[3] / dask[2]) / (proc2[3] / proc2[2]):.2f}x throughput; "
          f"dataset {a.dataset}, methods {a.methods}, metrics {a.metrics}, batch {a.batch} images per task.")


if __name__ == "__main__":
    main()
