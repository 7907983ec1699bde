"""Figures as papers print them (matplotlib, Agg backend): qualitative comparison with zoomed insets,
per-metric rankings, quality vs latency."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _plt():
    from ..errors import require

    mpl = require("matplotlib", "report")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def default_box(shape: tuple[int, ...], frac: float = 0.22) -> tuple[int, int, int, int]:
    """A centred box ``(x, y, w, h)`` covering ``frac`` of the width (aspect of the image)."""
    h, w = shape[:2]
    bw, bh = max(8, int(w * frac)), max(8, int(h * frac))
    return (w - bw) // 2, (h - bh) // 2, bw, bh


def qualitative(rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]], out: Path,
                box: "tuple[int, int, int, int] | None" = None, zoom_scale: float = 2.0) -> list[Path]:
    """Comparison grid: one row per image, one column per source/method, a zoomed inset of ``box`` in the
    bottom-right corner of every tile (red frame on the region, red frame around the inset).

    ``rows`` is ``[(image_name, [(column_title, HxW or HxWx3 float image), ...]), ...]``. Writes
    ``out`` as PNG and PDF; returns both paths.
    """
    plt = _plt()
    from matplotlib.patches import Rectangle

    nr, nc = len(rows), max(len(c) for _, c in rows)
    h0, w0 = rows[0][1][0][1].shape[:2]
    fig, axes = plt.subplots(nr, nc, figsize=(1.9 * nc, 1.9 * nr * h0 / w0 + 0.35), squeeze=False)
    for i, (name, cols) in enumerate(rows):
        for j in range(nc):
            ax = axes[i][j]
            ax.set_axis_off()
            if j >= len(cols):
                continue
            title, img = cols[j]
            img = np.clip(np.asarray(img, dtype=np.float32), 0, 1)
            cmap = "gray" if img.ndim == 2 else None
            ax.imshow(img, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            x, y, bw, bh = box or default_box(img.shape)
            ax.add_patch(Rectangle((x, y), bw, bh, fill=False, edgecolor="red", linewidth=1.0))
            H, W = img.shape[:2]
            iw, ih = min(W * 0.45, bw * zoom_scale) / W, min(H * 0.45, bh * zoom_scale) / H
            inset = ax.inset_axes([1 - iw, 0, iw, ih])
            inset.imshow(img[y:y + bh, x:x + bw], cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            inset.set_xticks([])
            inset.set_yticks([])
            for s in inset.spines.values():
                s.set_edgecolor("red")
                s.set_linewidth(1.2)
            if i == 0:
                ax.set_title(title, fontsize=8)
            if j == 0:
                ax.text(-0.04, 0.5, name, transform=ax.transAxes, rotation=90, va="center", ha="right", fontsize=7)
    fig.tight_layout(pad=0.2, w_pad=0.1, h_pad=0.1)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=200)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def ranking(table, out: Path) -> Path:
    """Per-metric ranking: one panel per metric, methods sorted from best to worst (bars = means)."""
    plt = _plt()
    ms = table.metrics
    ncol = min(4, len(ms))
    nrow = int(np.ceil(len(ms) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 0.25 * len(table.methods) * nrow + 1.2 * nrow),
                             squeeze=False)
    for k, metric in enumerate(ms):
        ax = axes[k // ncol][k % ncol]
        vals = [(m, table.mean.get((m, metric))) for m in table.methods if (m, metric) in table.mean]
        hib = table.higher_is_better.get(metric)
        vals.sort(key=lambda t: t[1], reverse=bool(hib) if hib is not None else True)
        names = [v[0] for v in vals][::-1]
        ax.barh(names, [v[1] for v in vals][::-1], color="#4a7ab7")
        if vals and hib is not None:
            ax.get_children()[len(vals) - 1].set_color("#c0392b")  # the best method
        arrow = {True: "↑", False: "↓"}.get(hib, "")
        ax.set_title(f"{metric} {arrow}", fontsize=9)
        ax.tick_params(labelsize=6)
    for k in range(len(ms), nrow * ncol):
        axes[k // ncol][k % ncol].set_axis_off()
    fig.suptitle(f"Per-metric ranking (profile {table.profile}; best in red)", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out


def quality_vs_latency(points: Sequence[tuple[str, float, float]], metric: str, out: Path,
                       higher_is_better: "bool | None" = True) -> Path:
    """Scatter of (latency seconds per image, metric mean) per method, latency on a log axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, lat, q in points:
        ax.scatter(lat, q, s=18)
        ax.annotate(name, (lat, q), fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per image (median, this machine)")
    ax.set_ylabel(f"{metric} {'↑' if higher_is_better else '↓' if higher_is_better is False else ''}")
    ax.grid(alpha=0.3)
    ax.set_title("Quality vs latency")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out
