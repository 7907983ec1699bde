"""``ivif eval --compare-profiles``: the same metrics under every profile, side by side, with why they differ."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data.pairs import Pair
from .profiles import get_profile, list_profiles

#: Why a metric's value differs between profiles (facts from the reference implementations).
WHY: dict[str, str] = {
    "MI": "cddfuse and vifb report nats (natural log), tang and zoo bits (log2): x1.44; vifb min-max normalises "
          "the images first; histograms of differently converted gray images",
    "PSNR": "cddfuse uses peak max(F) on 0..255; tang and zoo 20*log10(255/sqrt(MSE on [0,1])) (about +48 dB); "
            "vifb takes its MSE as sqrt(SSE)/(M*N)",
    "MSE": "cddfuse on 0..255 levels; tang and zoo on [0,1] (x1/65025); all average MSE(F,IR) and MSE(F,VI)",
    "RMSE": "vifb only: sqrt of its MSE",
    "SSIM": "cddfuse: 7x7 uniform window, data range 2 (skimage 0.19 on float32), SSIM(F,IR)+SSIM(F,VI); "
            "zoo: 11-tap Gaussian with an effective data range of 1 grey level; tang: the average of the two; "
            "vifb: MATLAB ssim per channel, summed over the two sources",
    "VIF": "cddfuse: 4-scale VIF-P with 'valid' filtering, VIF(IR,F)+VIF(VI,F); zoo: off-centre Gaussian from "
           "linspace(-N//2, N//2, N) with zero 'same' padding; tang: its MATLAB VIF",
    "EN": "same Shannon entropy of the 256-bin histogram; values differ only through gray conversion "
          "(cv2 BGR2GRAY, PIL L, MATLAB rgb2gray) and zoo's log epsilon",
    "SD": "same definition; gray conversion differs; vifb scores colour images per channel",
    "SF": "vifb computes SF over the colour channels placed side by side; otherwise the same up to gray conversion",
    "AG": "same gradient definition up to border handling and gray conversion",
    "CC": "tang reproduces a typo of its MATLAB code; others average corr(F,IR) and corr(F,VI)",
    "SCD": "same definition (Aslantas); float32 vs float64 arithmetic and gray conversion",
    "Qabf": "same Petrovic definition; Sobel padding, float32 vs float64 and tie handling differ",
    "Nabf": "zoo uses Kumar's modified artifact measure; tang its MATLAB Nabf",
    "MS_SSIM": "zoo: pytorch_msssim-style with effective data range 1 grey level; tang: MATLAB multi-scale SSIM",
    "CE": "zoo applies a float32 sigmoid to 0..255 levels (saturates); vifb: MATLAB cross entropy of histograms",
    "EI": "zoo and vifb use Sobel edge intensity; vifb averages over all pixels of all bands",
    "Qcb": "Chen-Blum; zoo's float32 frequency grids vs vifb's MATLAB implementation",
}

GENERIC = ("images are read as each reference reads them: cddfuse cv2.imread + BGR2GRAY (float) + round, "
           "zoo PIL convert('L'), vifb MATLAB imread with colour fused images scored per channel, tang MATLAB")


def compare_profiles(pairs: Sequence[Pair], fused_dirs: dict[str, object], metrics: "str | list[str]" = "all",
                     profiles: "Sequence[str] | None" = None, jobs: int = 1) -> str:
    """Markdown: for each method, metric rows x profile columns (means over images), plus the notes."""
    from .batch import evaluate_folders

    profs = list(profiles or list_profiles())
    names: list[str] = []
    for p in profs:
        for k in get_profile(p).metrics:
            if k not in names:
                names.append(k)
    if not (isinstance(metrics, str) and metrics.strip().lower() == "all"):
        want = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
        names = [k for k in names if k.lower() in want]
    means: dict[tuple[str, str, str], float] = {}
    fails = 0
    for p in profs:
        prof = get_profile(p)
        mine = [k for k in names if k in prof.metrics]
        if not mine:
            continue
        res = evaluate_folders(list(pairs), dict(fused_dirs), profile=p, metrics=mine, jobs=jobs)
        fails += len(res.failures)
        acc: dict[tuple[str, str], list[float]] = {}
        for r in res.rows:
            acc.setdefault((r["method"], r["metric"]), []).append(r["value"])
        for (m, k), v in acc.items():
            means[(m, k, p)] = float(np.mean(v))
    out = []
    for m in fused_dirs:
        out.append(f"### {m}\n")
        out.append("| metric | " + " | ".join(profs) + " |")
        out.append("|---|" + "---:|" * len(profs))
        for k in names:
            cells = [f"{means[(m, k, p)]:.4f}" if (m, k, p) in means else "–" for p in profs]
            out.append(f"| {k} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Why they differ:")
    for k in names:
        defined = [p for p in profs if k in get_profile(p).metrics]
        if len(defined) > 1 and k in WHY:
            out.append(f"- {k}: {WHY[k]}.")
    out.append(f"- all: {GENERIC}.")
    if fails:
        out.append(f"\n{fails} (image, method, profile) evaluations failed and were excluded.")
    return "\n".join(out)
