"""Method x metric tables of mean (± std) with ↑/↓ and best / second-best marks.

Markdown marks the best value in **bold** and the second best __underlined__ (``<u>..</u>``);
LaTeX uses ``\\textbf{}`` and ``\\underline{}``. Direction comes from each metric's
``higher_is_better`` (metrics without a direction are not marked). Every table names its profile.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def mark_ranks(values: dict[str, float], higher_is_better: "bool | None") -> dict[str, int]:
    """Rank 1 (best) and 2 (second) per method; ties share the rank; NaN and no-direction get 0."""
    if higher_is_better is None:
        return {k: 0 for k in values}
    finite = sorted({v for v in values.values() if v is not None and math.isfinite(v)}, reverse=higher_is_better)
    out = {}
    for k, v in values.items():
        if v is None or not math.isfinite(v):
            out[k] = 0
        elif v == finite[0]:
            out[k] = 1
        elif len(finite) > 1 and v == finite[1]:
            out[k] = 2
        else:
            out[k] = 0
    return out


@dataclass
class ScoreTable:
    """Means, standard deviations and counts per (method, metric) under one profile."""

    profile: str
    metrics: list[str]
    methods: list[str]
    mean: dict[tuple[str, str], float] = field(default_factory=dict)
    std: dict[tuple[str, str], float] = field(default_factory=dict)
    count: dict[tuple[str, str], int] = field(default_factory=dict)
    higher_is_better: dict[str, "bool | None"] = field(default_factory=dict)
    decimals: int = 4

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], profile: str, metrics: list[str],
                  higher_is_better: dict[str, "bool | None"], methods: "list[str] | None" = None) -> "ScoreTable":
        """Aggregate per-image rows (``method``, ``metric``, ``value``) into means and population stds."""
        import numpy as np

        vals: dict[tuple[str, str], list[float]] = {}
        order: list[str] = list(methods or [])
        for r in rows:
            vals.setdefault((r["method"], r["metric"]), []).append(float(r["value"]))
            if r["method"] not in order:
                order.append(r["method"])
        t = cls(profile, list(metrics), order, higher_is_better=dict(higher_is_better))
        for k, v in vals.items():
            a = np.asarray(v, dtype=np.float64)
            t.mean[k], t.std[k], t.count[k] = float(a.mean()), float(a.std()), len(a)
        return t

    def _cell(self, m: str, k: str, with_std: bool) -> str:
        if (m, k) not in self.mean:
            return "–"
        s = f"{self.mean[(m, k)]:.{self.decimals}f}"
        if with_std:
            s += f" ± {self.std[(m, k)]:.{self.decimals}f}"
        return s

    def _arrow(self, k: str) -> str:
        return {True: "↑", False: "↓"}.get(self.higher_is_better.get(k), "")

    def ranks(self, k: str) -> dict[str, int]:
        return mark_ranks({m: self.mean.get((m, k), float("nan")) for m in self.methods}, self.higher_is_better.get(k))

    def caption(self) -> str:
        return (f"Mean ± std over images, metric profile '{self.profile}'. "
                "↑/↓: higher/lower is better; best in bold, second underlined.")

    # ------------------------------------------------------------------------------------ formats
    def to_text(self, with_std: bool = True) -> str:
        head = ["method"] + [f"{k}{self._arrow(k)}" for k in self.metrics]
        rows = []
        for m in self.methods:
            row = [m]
            for k in self.metrics:
                r = self.ranks(k).get(m, 0)
                row.append(self._cell(m, k, with_std) + ("*" if r == 1 else "'" if r == 2 else ""))
            rows.append(row)
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        lines = [f"profile: {self.profile}   (* best, ' second best)",
                 "  ".join(h.ljust(w) for h, w in zip(head, widths))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        return "\n".join(lines)

    def to_markdown(self, with_std: bool = True) -> str:
        lines = [f"| method | " + " | ".join(f"{k} {self._arrow(k)}".strip() for k in self.metrics) + " |",
                 "|---|" + "---:|" * len(self.metrics)]
        for m in self.methods:
            cells = []
            for k in self.metrics:
                c, r = self._cell(m, k, with_std), self.ranks(k).get(m, 0)
                cells.append(f"**{c}**" if r == 1 else f"<u>{c}</u>" if r == 2 else c)
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + f"\n\n*{self.caption()}*\n"

    def to_latex(self, with_std: bool = True) -> str:
        def esc(s: str) -> str:
            return s.replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")

        arrows = {"↑": r"$\uparrow$", "↓": r"$\downarrow$", "": ""}
        lines = [r"\begin{table}[t]", r"\centering",
                 rf"\caption{{{esc(self.caption()).replace('↑/↓', arrows['↑'] + '/' + arrows['↓'])}}}",
                 r"\begin{tabular}{l" + "c" * len(self.metrics) + "}", r"\toprule",
                 "Method & " + " & ".join(esc(k) + arrows[self._arrow(k)] for k in self.metrics) + r" \\",
                 r"\midrule"]
        for m in self.methods:
            cells = []
            for k in self.metrics:
                c, r = self._cell(m, k, with_std).replace("±", r"$\pm$"), self.ranks(k).get(m, 0)
                cells.append(rf"\textbf{{{c}}}" if r == 1 else rf"\underline{{{c}}}" if r == 2 else c)
            lines.append(esc(m) + " & " + " & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["method", "metric", "mean", "std", "n", "higher_is_better", "profile"])
        for m in self.methods:
            for k in self.metrics:
                if (m, k) in self.mean:
                    w.writerow([m, k, repr(self.mean[(m, k)]), repr(self.std[(m, k)]), self.count[(m, k)],
                                self.higher_is_better.get(k), self.profile])
        return buf.getvalue()

    def to_json(self) -> str:
        return json.dumps({
            "profile": self.profile,
            "metrics": self.metrics,
            "higher_is_better": self.higher_is_better,
            "results": {m: {k: {"mean": self.mean[(m, k)], "std": self.std[(m, k)], "n": self.count[(m, k)]}
                            for k in self.metrics if (m, k) in self.mean} for m in self.methods},
        }, indent=2, ensure_ascii=False)

    def to_xlsx(self, path: Path) -> None:
        from ..errors import require

        openpyxl = require("openpyxl", "report")
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = f"{self.profile}"[:31]
        ws.append(["method"] + [f"{k} {self._arrow(k)}".strip() for k in self.metrics])
        bold = openpyxl.styles.Font(bold=True)
        under = openpyxl.styles.Font(underline="single")
        for i, m in enumerate(self.methods, start=2):
            ws.cell(i, 1, m)
            for j, k in enumerate(self.metrics, start=2):
                if (m, k) in self.mean:
                    c = ws.cell(i, j, self.mean[(m, k)])
                    r = self.ranks(k).get(m, 0)
                    if r:
                        c.font = bold if r == 1 else under
        ws.append([])
        ws.append([self.caption()])
        wb.save(str(path))

    def save(self, path: "str | Path") -> Path:
        """Write by extension: .csv, .md, .tex, .json, .xlsx, .txt."""
        p = Path(path)
        ext = p.suffix.lower()
        p.parent.mkdir(parents=True, exist_ok=True)
        if ext == ".xlsx":
            self.to_xlsx(p)
            return p
        writers = {".csv": self.to_csv, ".md": self.to_markdown, ".tex": self.to_latex, ".json": self.to_json,
                   ".txt": self.to_text}
        if ext not in writers:
            from ..errors import IvifError

            raise IvifError(f"{p}: unknown table format {ext!r}; use .csv, .md, .tex, .json, .xlsx or .txt")
        p.write_text(writers[ext](), encoding="utf-8")
        return p
