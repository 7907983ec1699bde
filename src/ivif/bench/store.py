"""The results store: one SQLite file per run, written only by the driver process.

Tables:

* ``scores``: one row per (method, config hash, dataset, image, metric, profile, ivif version) with
  value, status (``ok``/``failed``), error and the seconds the metric took. The key is the primary
  key, so re-running writes no duplicates.
* ``fusions``: one row per (method, config hash, dataset, image): status, error, seconds, cached PNG.
* ``efficiency``: optional per-method cost rows (``ivif efficiency`` fields as JSON).
* ``meta``: the run's spec and method configs.

Every batch of rows is one transaction (WAL journal), so a run killed at any moment (``kill -9``)
keeps every committed batch and loses at most the batch in flight, which the next run recomputes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
  method TEXT NOT NULL, config_hash TEXT NOT NULL, dataset TEXT NOT NULL, image TEXT NOT NULL,
  metric TEXT NOT NULL, profile TEXT NOT NULL, version TEXT NOT NULL,
  value REAL, status TEXT NOT NULL, error TEXT, seconds REAL,
  PRIMARY KEY (method, config_hash, dataset, image, metric, profile, version)
);
CREATE TABLE IF NOT EXISTS fusions (
  method TEXT NOT NULL, config_hash TEXT NOT NULL, dataset TEXT NOT NULL, image TEXT NOT NULL,
  status TEXT NOT NULL, error TEXT, seconds REAL, path TEXT,
  PRIMARY KEY (method, config_hash, dataset, image)
);
CREATE TABLE IF NOT EXISTS efficiency (
  method TEXT NOT NULL, config_hash TEXT NOT NULL, size TEXT NOT NULL, device TEXT NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (method, config_hash, size, device)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """SQLite results store of one run folder (``<run>/results.sqlite``)."""

    def __init__(self, path: "str | Path"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # ---------------------------------------------------------------------------------------- write
    def write(self, fusions: Iterable[dict[str, Any]], scores: Iterable[dict[str, Any]]) -> None:
        """Insert or replace fusion and score rows in one transaction."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO fusions VALUES (:method, :config_hash, :dataset, :image, :status, :error, "
                ":seconds, :path)", list(fusions))
            self.db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (:method, :config_hash, :dataset, :image, :metric, :profile, "
                ":version, :value, :status, :error, :seconds)", list(scores))

    def set_meta(self, key: str, value: Any) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def write_efficiency(self, method: str, config_hash: str, size: str, device: str, data: dict[str, Any]) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO efficiency VALUES (?, ?, ?, ?, ?)",
                            (method, config_hash, size, device, json.dumps(data)))

    # ----------------------------------------------------------------------------------------- read
    def done_images(self, method: str, config_hash: str, dataset: str, profile: str, version: str,
                    metrics: list[str]) -> set[str]:
        """Images whose every requested metric is stored ``ok`` (nothing left to do for them)."""
        if not metrics:
            return set()
        q = ("SELECT image FROM scores WHERE method=? AND config_hash=? AND dataset=? AND profile=? AND version=? "
             f"AND status='ok' AND metric IN ({','.join('?' * len(metrics))}) GROUP BY image "
             "HAVING COUNT(DISTINCT metric) = ?")
        rows = self.db.execute(q, (method, config_hash, dataset, profile, version, *metrics, len(metrics)))
        return {r[0] for r in rows}

    def scores(self, status: "str | None" = "ok") -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT * FROM scores" + (" WHERE status = ?" if status else ""),
                              (status,) if status else ())
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def failures(self) -> list[dict[str, Any]]:
        """Failed fusions and failed scores (``kind`` says which)."""
        out = []
        for kind, table in (("fusion", "fusions"), ("score", "scores")):
            cur = self.db.execute(f"SELECT * FROM {table} WHERE status != 'ok'")
            cols = [c[0] for c in cur.description]
            out += [{"kind": kind, **dict(zip(cols, r))} for r in cur.fetchall()]
        return out

    def efficiency(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.db.execute("SELECT data FROM efficiency")]

    def counts(self) -> dict[str, int]:
        """Row counts by table and status."""
        out = {}
        for table in ("fusions", "scores"):
            for status, n in self.db.execute(f"SELECT status, COUNT(*) FROM {table} GROUP BY status"):
                out[f"{table}:{status}"] = n
        return out
