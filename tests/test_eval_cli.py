"""``ivif eval``: tables, per-image CSV, missing fused images excluded (never counted as 0), VIFB averages."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict

import numpy as np
import pytest
from click.testing import CliRunner

import ivif
from ivif.cli import cli


def _subset(data_dir, tmp_path, n=3):
    root = tmp_path / "tno"
    for sub in ("ir", "vi", "fused/DenseFuse", "fused/U2Fusion"):
        (root / sub).mkdir(parents=True)
        for i in range(1, n + 1):
            shutil.copy(data_dir / "tno" / sub / f"{i:02d}.png", root / sub)
    return root


def test_eval_table_per_image_and_missing(tmp_path, data_dir):
    root = _subset(data_dir, tmp_path)
    (root / "fused" / "U2Fusion" / "02.png").unlink()  # one missing fused image
    per = tmp_path / "per.csv"
    out = tmp_path / "t.md"
    r = CliRunner().invoke(cli, ["eval", "--ir", root / "ir", "--vi", root / "vi", "--fused-root", root / "fused",
                                 "--metrics", "EN,SD,MI", "--per-image", per, "--out", out])
    assert r.exit_code == 0, r.output + r.stderr
    assert "profile: cddfuse" in r.output and "DenseFuse" in r.output and "EN↑" in r.output
    assert "U2Fusion/02: fused image missing" in r.stderr
    rows = list(csv.DictReader(open(per)))
    assert set(rows[0]) == {"image", "method", "metric", "value", "profile"}
    u2 = [float(x["value"]) for x in rows if x["method"] == "U2Fusion" and x["metric"] == "EN"]
    assert len(u2) == 2  # excluded, not counted as 0
    direct = [ivif.evaluate(root / "ir" / f"{i}.png", root / "vi" / f"{i}.png", root / "fused" / "U2Fusion" / f"{i}.png",
                            metrics="EN")["EN"] for i in ("01", "03")]
    assert np.mean(u2) == pytest.approx(np.mean(direct), rel=1e-12)
    md = out.read_text()
    assert "**" in md and "profile 'cddfuse'" in md


def test_eval_errors(tmp_path, data_dir):
    root = _subset(data_dir, tmp_path, n=1)
    r = CliRunner().invoke(cli, ["eval", "--ir", root / "ir", "--vi", root / "vi"])
    assert r.exit_code == 2 and "give --fused DIR" in r.stderr
    r = CliRunner().invoke(cli, ["eval", "--ir", root / "ir", "--vi", root / "vi", "--fused-root", root / "fused",
                                 "--metrics", "Qcb"])
    assert r.exit_code == 2 and "metric 'Qcb' is not defined by profile 'cddfuse'" in r.stderr and "zoo" in r.stderr
    r = CliRunner().invoke(cli, ["eval", "--ir", root / "ir", "--vi", root / "vi", "--fused-root", root / "fused",
                                 "--profile", "nope"])
    assert r.exit_code == 2 and "unknown metric profile 'nope'" in r.stderr


def test_eval_vifb_profile_equals_vifb_averages(data_dir, tmp_path):
    """A VIFB method through the CLI: the table means equal VIFB's own per-image values averaged."""
    from ivif.metrics.profiles import list_profiles

    if "vifb" not in list_profiles():
        pytest.skip("vifb profile not registered")
    gold = defaultdict(list)
    names = {"Avg_gradient": "AG", "Cross_entropy": "CE", "Edge_intensity": "EI", "Entropy": "EN",
             "Mutinf": "MI", "Psnr": "PSNR", "Qabf": "Qabf", "Qcb": "Qcb", "Qcv": "Qcv", "Rmse": "RMSE",
             "Spatial_frequency": "SF", "Ssim": "SSIM", "Variance": "SD"}
    for row in csv.DictReader(open(data_dir / "vifb" / "reference_metrics" / "vifb_metrics_per_image.csv")):
        if row["method"] == "GFF" and row["metric"] in names:
            gold[(row["method"], names[row["metric"]])].append(float(row["value"]))
    v = data_dir / "vifb"
    out = tmp_path / "t.json"
    r = CliRunner().invoke(cli, ["eval", "--ir", v / "ir", "--vi", v / "vi", "--fused", v / "fused" / "GFF",
                                 "--profile", "vifb", "--out", out])
    assert r.exit_code == 0, r.output + r.stderr
    import json

    res = json.loads(out.read_text())["results"]
    assert len(gold) == 13
    for (m, k), vals in gold.items():
        assert res[m][k]["n"] == 21
        assert res[m][k]["mean"] == pytest.approx(np.mean(vals), abs=1e-3, rel=1e-3), (m, k)
