"""The benchmark: resume after kill -9, corrupt cache, failures recorded, Dask with a killed worker,
the report and its HTML rendered in headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ivif.bench import load_spec, run
from ivif.cli import cli

METHODS = "average,maximum,weighted_average,laplacian_pyramid,dwt"
METRICS = "EN,SD,MSE"


def _table(run_dir: Path) -> dict:
    con = sqlite3.connect(run_dir / "results.sqlite")
    rows = con.execute("SELECT method, metric, AVG(value), COUNT(*) FROM scores WHERE status='ok' "
                       "GROUP BY method, metric").fetchall()
    con.close()
    return {(m, k): (v, n) for m, k, v, n in rows}


def _count(run_dir: Path) -> int:
    p = run_dir / "results.sqlite"
    if not p.exists():
        return 0
    try:
        con = sqlite3.connect(p, timeout=1)
        n = con.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def test_bench_survives_kill9_and_resumes_to_the_same_table(tmp_path, data_dir):
    vifb = data_dir / "vifb"
    args = ["bench", "-m", METHODS, "-d", str(vifb), "--metrics", METRICS, "--executor", "serial", "--batch", "3",
            "--no-report"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "ivif", *args, "--run", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _count(killed) < 40 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _count(killed)
    assert 0 < partial < 5 * 21 * 3
    r = CliRunner().invoke(cli, [*args, "--run", str(killed)])
    assert r.exit_code == 0, r.output + r.stderr
    assert "already done" in r.output
    full = tmp_path / "full"
    r = CliRunner().invoke(cli, [*args, "--run", str(full)])
    assert r.exit_code == 0
    a, b = _table(killed), _table(full)
    assert a.keys() == b.keys() and len(a) == 15
    for k in a:
        assert a[k][1] == b[k][1] == 21  # one row per image: nothing lost, no duplicates
        assert a[k][0] == pytest.approx(b[k][0], rel=1e-12)


def _mini_dataset(root: Path, n: int = 4) -> Path:
    rng = np.random.default_rng(3)
    for i in range(n):
        for d in ("ir", "vi"):
            (root / d).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (40, 48), dtype=np.uint8)).save(root / d / f"p{i}.png")
    return root


def test_corrupt_cache_is_recomputed_and_failures_recorded(tmp_path):
    ds = _mini_dataset(tmp_path / "ds")
    (ds / "ir" / "p3.png").write_text("not a png")  # one bad source image
    spec = load_spec(methods=["average"], datasets=[str(ds)], metrics=["EN", "SD"], run=str(tmp_path / "run"),
                     executor="serial")
    s = run(spec)
    assert len(s.fusion_failures) == 1 and "p3.png" in s.fusion_failures[0]["error"]
    cached = next((tmp_path / "run" / "fused" / "ds").glob("average-*/p0.png"))
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 3])  # truncated cache file
    con = sqlite3.connect(tmp_path / "run" / "results.sqlite")
    con.execute("DELETE FROM scores WHERE image='p0'")  # pretend its scores were never written
    con.commit()
    con.close()
    s2 = run(spec)
    assert s2.images_todo == 2  # p0 (scores missing) and p3 (failed before) are retried
    assert cached.read_bytes() == good  # recomputed, identical
    t = _table(tmp_path / "run")
    assert t[("average", "EN")][1] == 3  # the failed image never enters the mean


def test_dask_local_cluster_survives_a_killed_worker(tmp_path):
    distributed = pytest.importorskip("distributed")
    ds = _mini_dataset(tmp_path / "ds", n=8)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        spec = load_spec(methods=["average", "maximum"], datasets=[str(ds)], metrics=["EN", "SD", "SF"],
                         run=str(tmp_path / "run"), executor="dask", scheduler=cluster.scheduler_address, batch=1)
        killed = []

        def progress(n, total):
            if n == 2 and not killed:
                nanny = next(iter(cluster.workers.values()))
                pid = nanny.process.process.pid
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        s = run(spec, progress=progress)
    assert killed
    assert not s.fusion_failures and not s.score_failures and not s.task_errors
    t = _table(tmp_path / "run")
    assert all(n == 8 for _, n in t.values()) and len(t) == 6


def _chromium() -> "str | None":
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_report_and_html_in_chromium(tmp_path):
    from ivif.data import SAMPLE_DIR
    from ivif.report.build import build_report

    spec = load_spec(methods=["average", "maximum"], datasets=[str(SAMPLE_DIR)], metrics=["EN", "SD", "Qabf"],
                     run=str(tmp_path / "run"), executor="serial")
    run(spec)
    out = build_report(tmp_path / "run")
    for f in ("tables/sample.md", "tables/sample.tex", "tables/sample.csv", "figures/sample_qualitative.png",
              "figures/sample_qualitative.pdf", "figures/sample_ranking.png", "figures/sample_quality_latency.png"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    md = (out / "tables" / "sample.md").read_text()
    assert "**" in md and "<u>" in md and "profile 'cddfuse'" in md
    tex = (out / "tables" / "sample.tex").read_text()
    assert r"\textbf{" in tex and r"\underline{" in tex
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    probe = out / "_probe.html"
    probe.write_text((out / "index.html").read_text().replace(
        "</body>", "<script>window.addEventListener('load', () => {"
        "const imgs = [...document.images];"
        "document.body.setAttribute('data-images', imgs.length);"
        "document.body.setAttribute('data-images-ok', imgs.filter(i => i.complete && i.naturalWidth > 0).length);"
        "document.body.setAttribute('data-tables', document.querySelectorAll('table.scores tbody tr').length);"
        "});</script></body>"))
    res = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'chrome'}", "--virtual-time-budget=5000", "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=120)
    dom = res.stdout
    import re

    n_img = int(re.search(r'data-images="(\d+)"', dom).group(1))
    n_ok = int(re.search(r'data-images-ok="(\d+)"', dom).group(1))
    n_rows = int(re.search(r'data-tables="(\d+)"', dom).group(1))
    assert n_img == 3 and n_ok == n_img  # qualitative, ranking, quality-vs-latency all rendered
    assert n_rows == 2  # one table row per method
