"""Speed of every metric of every registered profile, one pair, single process, single thread.

    python benchmarks/metrics_speed.py                      # 640x480 and 1024x768
    python benchmarks/metrics_speed.py --sizes 768x576 --repeat 5 --profiles zoo,cddfuse

Prints, per profile, the median milliseconds of each metric and the median total of one cold evaluation
of the whole profile (image loading excluded). Each timed run evaluates every metric of the profile in
its order inside one ``shared_intermediates()`` block, as ``ivif.evaluate`` does, so intermediates one
metric computed (Sobel maps, filtered moments, histograms) are reused by the later metrics of that run:
a metric's time is what it adds after the metrics before it; nothing carries over between runs (the
per-source feature cache is off). Inputs are the real M3FD pair (1024x768) from ``../shared/data``
resized with area interpolation to each size, with their per-channel average as the (colour) fused
image; without the data folder a smooth synthetic pair is used. Never a timed test.
"""

from __future__ import annotations

import os

# one thread everywhere, before NumPy/OpenCV/torch are imported
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
# time cold evaluations: the vifb/tang per-source feature cache would serve repeated runs on one pair
os.environ["IVIF_FEATURE_CACHE"] = "0"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _pair(w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 IR (gray), VI (RGB) and fused (RGB: the per-channel mean of IR and VI) of size ``w x h``."""
    d = SHARED / "data" / "m3fd"
    ir_p, vi_p = d / "ir" / "M3FD_00471.png", d / "vi" / "M3FD_00471.png"
    if ir_p.exists() and vi_p.exists():
        ir = cv2.imread(str(ir_p), cv2.IMREAD_GRAYSCALE)
        vi = cv2.imread(str(vi_p), cv2.IMREAD_COLOR)[..., ::-1]
        ir = cv2.resize(ir, (w, h), interpolation=cv2.INTER_AREA)
        vi = np.ascontiguousarray(cv2.resize(vi, (w, h), interpolation=cv2.INTER_AREA))
    else:  # smooth random texture
        rng = np.random.default_rng(0)
        base = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 3)
        ir = np.uint8(255 * (base - base.min()) / np.ptp(base))
        vi = np.repeat(np.uint8(255 - ir // 2)[..., None], 3, axis=2)
    fused = ((ir[..., None].astype(np.uint16) + vi) // 2).astype(np.uint8)
    return ir, vi, fused


def bench_profile(
    name: str, ir, vi, fused, repeat: int, clock=time.perf_counter, skip: "tuple[str, ...]" = ()
) -> dict[str, float | str]:
    """Median ms per metric (in profile order, sharing intermediates within a run) and ``"total"``, the
    median of the per-run sums; a metric that fails is reported as ``"error: ..."``."""
    from ivif.metrics import get_profile
    from ivif.metrics.profiles import shared_intermediates

    prof = get_profile(name)
    a, b, f = prof.load(ir, "ir"), prof.load(vi, "vi"), prof.load(fused, "fused")
    names = [m for m in prof.metrics if not any(m.upper().startswith(p.upper()) for p in skip)]
    times: dict[str, list[float]] = {m: [] for m in names}
    errors: dict[str, str] = {}
    totals: list[float] = []
    for run in range(repeat + 1):  # run 0 warms up (lazy imports, torch's first calls)
        total = 0.0
        with shared_intermediates():
            for m in names:
                if m in errors:
                    continue
                t0 = clock()
                try:
                    prof.metrics[m].fn(a, b, f)
                except Exception as exc:  # report and go on
                    errors[m] = f"error: {type(exc).__name__}"
                    continue
                dt = clock() - t0
                total += dt
                if run:
                    times[m].append(dt)
        if run:
            totals.append(total)
    out: dict[str, float | str] = {m: errors.get(m) or 1000 * statistics.median(times[m]) for m in names}
    out["total"] = 1000 * statistics.median(totals)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="640x480,1024x768", help="comma-separated WxH (default 640x480,1024x768)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per metric; the median is printed")
    ap.add_argument("--profiles", default="all", help="comma-separated profile names (default: all registered)")
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: time.perf_counter; cpu: time.process_time (steadier on a shared machine)",
    )
    ap.add_argument(
        "--skip",
        default="",
        help="comma-separated metric-name prefixes to leave out, e.g. FMI (the FMI_* metrics)",
    )
    args = ap.parse_args(argv)
    skip = tuple(p.strip() for p in args.skip.split(",") if p.strip())
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    from ivif.metrics import list_profiles

    profiles = list_profiles() if args.profiles == "all" else [p.strip() for p in args.profiles.split(",")]
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    left_out = f", without {', '.join(p + '*' for p in skip)}" if skip else ""
    print(f"# metric speed: ms per metric for one pair, median of {args.repeat}, 1 thread, {args.clock} clock"
          f"{left_out}; total = one cold evaluation of the profile")
    for name in profiles:
        cols = {}
        for w, h in sizes:
            cols[f"{w}x{h}"] = bench_profile(name, *_pair(w, h), repeat=args.repeat, clock=clock, skip=skip)
        metrics = [m for m in next(iter(cols.values())) if m != "total"]
        print(f"\nprofile `{name}`\n")
        print("| metric | " + " | ".join(f"{c} (ms)" for c in cols) + " |")
        print("|---|" + "---:|" * len(cols))
        for m in metrics:
            cells = [v if isinstance(v := cols[c][m], str) else f"{v:.1f}" for c in cols]
            print(f"| {m} | " + " | ".join(cells) + " |")
        print("| **total** | " + " | ".join(f"**{cols[c]['total']:.1f}**" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
