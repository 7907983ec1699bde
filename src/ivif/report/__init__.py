"""Reports: tables (text, Markdown, LaTeX, CSV, JSON, XLSX) with best/second-best marks."""

from .tables import ScoreTable, mark_ranks

__all__ = ["ScoreTable", "mark_ranks"]
