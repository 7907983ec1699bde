"""Score tables: best/second marks follow each metric's direction; formats; per-image aggregation."""

from __future__ import annotations

import json

import pytest

from ivif.errors import IvifError
from ivif.report.tables import ScoreTable, mark_ranks


def test_mark_ranks_directions_ties_and_nan():
    assert mark_ranks({"a": 1.0, "b": 3.0, "c": 2.0}, True) == {"a": 0, "b": 1, "c": 2}
    assert mark_ranks({"a": 1.0, "b": 3.0, "c": 2.0}, False) == {"a": 1, "b": 0, "c": 2}
    assert mark_ranks({"a": 2.0, "b": 2.0, "c": 1.0}, True) == {"a": 1, "b": 1, "c": 2}
    assert mark_ranks({"a": float("nan"), "b": 1.0}, True) == {"a": 0, "b": 1}
    assert mark_ranks({"a": 1.0, "b": 2.0}, None) == {"a": 0, "b": 0}


def _table():
    rows = [{"method": m, "metric": k, "value": v} for m, k, v in [
        ("A", "EN", 6.0), ("A", "EN", 8.0), ("B", "EN", 5.0), ("C", "EN", 9.0),
        ("A", "MSE", 0.1), ("B", "MSE", 0.3), ("C", "MSE", 0.2)]]
    return ScoreTable.from_rows(rows, "vifb", ["EN", "MSE"], {"EN": True, "MSE": False})


def test_aggregation_and_formats(tmp_path):
    t = _table()
    assert t.mean[("A", "EN")] == 7.0 and t.std[("A", "EN")] == 1.0 and t.count[("A", "EN")] == 2
    md = t.to_markdown()
    assert "| C | **9.0000 ± 0.0000** | <u>0.2000 ± 0.0000</u> |" in md
    assert "| A | <u>7.0000 ± 1.0000</u> | **0.1000 ± 0.0000** |" in md
    assert "EN ↑" in md and "MSE ↓" in md and "profile 'vifb'" in md
    tex = t.to_latex(with_std=False)
    assert r"C & \textbf{9.0000} & \underline{0.2000} \\" in tex and r"$\downarrow$" in tex
    data = json.loads(t.to_json())
    assert data["profile"] == "vifb" and data["results"]["B"]["MSE"]["mean"] == 0.3
    assert "C,EN,9.0," in t.to_csv()
    for ext in ("md", "tex", "csv", "json", "txt", "xlsx"):
        assert t.save(tmp_path / f"t.{ext}").stat().st_size > 0
    with pytest.raises(IvifError, match="unknown table format '.doc'"):
        t.save(tmp_path / "t.doc")
