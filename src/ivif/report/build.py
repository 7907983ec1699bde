"""``ivif report RUN``: tables, figures and a self-contained ``index.html`` from a benchmark run folder."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IvifError
from .tables import ScoreTable


def _load(run: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[str, str],
                             list[dict[str, Any]], list[dict[str, Any]]]:
    from ..bench.runner import store_path
    from ..bench.store import Store

    p = store_path(run)
    if not p.is_file():
        raise IvifError(f"{run}: no results.sqlite here; run `ivif bench --run {run}` first")
    st = Store(p)
    try:
        cur = st.db.execute("SELECT method, config_hash, dataset, image, seconds, path FROM fusions WHERE status='ok'")
        fusions = [dict(zip(["method", "config_hash", "dataset", "image", "seconds", "path"], r)) for r in cur]
        return (st.get_meta("spec", {}), st.scores("ok"), fusions, st.get_meta("labels", {}), st.failures(),
                st.efficiency())
    finally:
        st.close()


def _table_html(t: ScoreTable) -> str:
    head = "".join(f"<th>{html.escape(k)} {t._arrow(k)}</th>" for k in t.metrics)
    body = []
    for m in t.methods:
        cells = []
        for k in t.metrics:
            c, r = html.escape(t._cell(m, k, True)), t.ranks(k).get(m, 0)
            cells.append(f"<td><b>{c}</b></td>" if r == 1 else f"<td><u>{c}</u></td>" if r == 2 else f"<td>{c}</td>")
        body.append(f"<tr><th>{html.escape(m)}</th>{''.join(cells)}</tr>")
    return (f"<table class='scores'><caption>{html.escape(t.caption())}</caption><thead><tr><th>method</th>{head}"
            f"</tr></thead><tbody>{''.join(body)}</tbody></table>")


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0;
font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th:first-child{text-align:left}
caption{caption-side:bottom;font-size:12px;color:#555;text-align:left}img{max-width:100%;border:1px solid #ddd}
code{background:#f4f4f4;padding:1px 4px}"""


def build_report(run: "str | Path", out: "str | Path | None" = None, images: "list[str] | None" = None,
                 box: "tuple[int, int, int, int] | None" = None, max_images: int = 2) -> Path:
    """Write the report of ``run`` into ``out`` (default ``RUN/report``); returns the report folder.

    Per dataset: Markdown/LaTeX/CSV tables (means ± std, best bold, second underlined, profile in the
    caption), a qualitative figure (``images`` or the first ``max_images``, every method, zoomed inset of
    ``box`` = x,y,w,h) as PNG and PDF, a per-metric ranking plot, and quality vs latency (median
    seconds per image from the run). ``index.html`` embeds the tables and links every file.
    """
    from ..data import open_dataset
    from ..io import imread
    from . import figures

    run = Path(run)
    spec, scores, fusions, labels, failures, eff = _load(run)
    out = Path(out) if out else run / "report"
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    profile = spec.get("profile", "cddfuse")
    from ..metrics.profiles import get_profile

    prof = get_profile(profile)
    metric_order = [k for k in prof.metrics if any(r["metric"] == k for r in scores)]
    hib = {k: prof.metrics[k].higher_is_better for k in metric_order}
    label = lambda m, h: labels.get(h, m)  # noqa: E731
    method_order = []
    for m in spec.get("methods", []):
        from ..bench.spec import MethodSpec

        ms = MethodSpec(m["name"], {k: v for k, v in m.items() if k != "name"})
        method_order.append(ms.label)
    sections = []
    datasets = {d["name"]: d for d in spec.get("datasets", [])}
    for dname in sorted({r["dataset"] for r in scores}, key=lambda d: list(datasets).index(d) if d in datasets else 0):
        rows = [{**r, "method": label(r["method"], r["config_hash"])} for r in scores if r["dataset"] == dname]
        t = ScoreTable.from_rows(rows, profile, metric_order, hib, methods=[m for m in method_order
                                                                          if any(r["method"] == m for r in rows)])
        files = {ext: t.save(out / "tables" / f"{dname}.{ext}") for ext in ("md", "tex", "csv")}
        rank_png = figures.ranking(t, out / "figures" / f"{dname}_ranking.png")
        # quality vs latency from the run's own per-image fusion times
        lat: dict[str, list[float]] = {}
        for f in fusions:
            if f["dataset"] == dname and f["seconds"] is not None:
                lat.setdefault(label(f["method"], f["config_hash"]), []).append(f["seconds"])
        qm = next((k for k in ("VIF", "Qabf", "SSIM", "MI") if k in metric_order), metric_order[0])
        pts = [(m, float(np.median(lat[m])), t.mean[(m, qm)]) for m in t.methods if m in lat and (m, qm) in t.mean]
        qvl = figures.quality_vs_latency(pts, qm, out / "figures" / f"{dname}_quality_latency.png", hib.get(qm)) \
            if pts else None
        # qualitative figure
        qual = []
        d = datasets.get(dname)
        if d is not None:
            try:
                ds = open_dataset(d["path"], layout=d.get("layout"))
                by_name = {p.name: p for p in ds.pairs}
                names = [n for n in (images or []) if n in by_name] or [p.name for p in ds.pairs][:max_images]
                fused_paths = {(label(f["method"], f["config_hash"]), f["image"]): f["path"] for f in fusions
                               if f["dataset"] == dname}
                grid = []
                for n in names:
                    p = by_name[n]
                    cols = [("IR", p.read_ir()), ("VIS", p.read_vi())]
                    cols += [(m, imread(fused_paths[(m, n)])) for m in t.methods if (m, n) in fused_paths]
                    grid.append((n, cols))
                if grid:
                    qual = figures.qualitative(grid, out / "figures" / f"{dname}_qualitative", box=box)
            except Exception as exc:  # a report without the figure is still a report
                qual = []
                sections.append(f"<p>qualitative figure for {html.escape(dname)} failed: {html.escape(str(exc))}</p>")
        links = " · ".join(f"<a href='tables/{p.name}'>{p.suffix[1:]}</a>" for p in files.values())
        sec = [f"<h2>{html.escape(dname)}</h2>", f"<p>Tables: {links}</p>", _table_html(t)]
        if qual:
            sec.append(f"<h3>Qualitative comparison</h3><p><a href='figures/{qual[1].name}'>PDF</a></p>"
                       f"<img alt='qualitative {html.escape(dname)}' src='figures/{qual[0].name}'>")
        sec.append(f"<h3>Per-metric ranking</h3><img alt='ranking {html.escape(dname)}' src='figures/{rank_png.name}'>")
        if qvl:
            sec.append(f"<h3>Quality ({html.escape(qm)}) vs latency</h3>"
                       f"<img alt='quality vs latency {html.escape(dname)}' src='figures/{qvl.name}'>")
        sections.append("\n".join(sec))
    if eff:
        from ..efficiency import Efficiency, format_table

        sections.append("<h2>Efficiency</h2><pre>" + html.escape(format_table([Efficiency(**e) for e in eff]))
                        + "</pre>")
    if failures:
        items = "".join(f"<li>{html.escape(f['method'])}/{html.escape(f['dataset'])}/{html.escape(f['image'])}"
                        f"{(' [' + html.escape(f['metric']) + ']') if f.get('metric') else ''}: "
                        f"{html.escape(str(f['error']))}</li>" for f in failures[:200])
        sections.append(f"<h2>Failures ({len(failures)}, excluded from the means)</h2><ul>{items}</ul>")
    if not sections:
        raise IvifError(f"{run}: the run holds no scores yet")
    from .. import __version__

    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>ivif report — {html.escape(run.name)}</title>"
            f"<style>{CSS}</style></head><body><h1>ivif benchmark report</h1>"
            f"<p>Run <code>{html.escape(str(run))}</code>, metric profile <b>{html.escape(profile)}</b> "
            f"({html.escape(prof.reference)}), ivif {__version__}.</p>{''.join(sections)}</body></html>")
    (out / "index.html").write_text(page, encoding="utf-8")
    return out
