"""Deep-network speed: parameters and CPU latency per 640x480 and 1024x768 pair, beside the official pipelines.

    python benchmarks/fuse_speed.py [--methods a,b] [--repeat 5] [--threads 2]

Latency is ``method.fuse`` on in-memory arrays (pre-processing + network + post-processing, no file I/O),
median of ``--repeat`` runs after one warm-up, ``--threads`` torch threads.
The official column is the official script's time per MSRS 640x480 image on this machine type (read + network +
post-processing + save, 2 cores), as measured for the issue; the speed-up compares it with our 640x480 fuse().
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("IVIF_WEIGHTS_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "weights"))

import ivif  # noqa: E402
from ivif.efficiency import measure  # noqa: E402

OFFICIAL_S = {"seafusion": 6.8, "ifcnn": 2.6, "tardal": 3.9, "didfuse": 11.9, "densefuse": 1.0, "u2fusion": 5.1,
              "pmgi": 0.7, "sdnet": 0.5, "stdfusionnet": 2.1, "csf": 23.7}
NOTES = {
    "seafusion": "full-resolution dense blocks (16-48 ch) + Sobel branches",
    "ifcnn": "7x7 conv 64 ch on 3 replicated channels, twice (one per input)",
    "tardal": "dense block + 128-ch fuse convs at full resolution",
    "didfuse": "four 64-ch encoder convs per input + l1 fusion box filters",
    "densefuse": "64-ch dense encoder per input; decoder",
    "u2fusion": "264-ch dense block at full resolution (largest)",
    "pmgi": "two 16-ch paths; per-image batch statistics",
    "sdnet": "two 16-ch paths, 1x1 fuse",
    "stdfusionnet": "residual blocks, two encoders",
    "csf": "20 classifier forward/backward passes for the saliency weights",
    "cnn": "siamese score CNN on patches + pyramid blending",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=None, help="comma-separated (default: every deep method)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    names = a.methods.split(",") if a.methods else ivif.list_methods(tags=("deep",))
    print("| method | params (M) | fuse 640x480 (s) | fuse 1024x768 (s) | official 640x480 (s) |"
          " speed-up | what dominates |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for n in names:
        try:
            r1 = measure(n, size="640x480", repeat=a.repeat, warmup=1, threads=a.threads, net=False)
            r2 = measure(n, size="1024x768", repeat=a.repeat, warmup=1, threads=a.threads, net=False)
        except Exception as exc:  # report and go on
            print(f"| {n} | error: {exc} |||||||")
            continue
        base = n.split("+")[0]
        off = OFFICIAL_S.get(base)
        sp = f"{off / (r1.e2e_ms / 1000):.1f}x" if off else "–"
        params = "–" if r1.params is None else f"{r1.params / 1e6:.3f}"
        print(f"| {n} | {params} | {r1.e2e_ms / 1000:.2f} | {r2.e2e_ms / 1000:.2f} | "
              f"{off if off else '–'} | {sp} | {NOTES.get(base, '')} |")
    print(f"\nCPU, {a.threads} torch threads, median of {a.repeat} runs after warm-up; official times from the issue.")


if __name__ == "__main__":
    main()
