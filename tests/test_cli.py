"""The command line: list, info, fuse, eval; bad input gives one clear line and exit code 2."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ivif
from ivif.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _img(path, h=8, w=10, mode="L", dtype=np.uint8):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (h, w) if mode == "L" else (h, w, 3)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)).save(path)


def test_version_and_lists():
    r = run("--version")
    assert r.exit_code == 0 and ivif.__version__ in r.output
    r = run("list", "methods")
    assert r.exit_code == 0 and "average" in r.output and "classical" in r.output
    r = run("list", "datasets")
    assert "llvip" in r.output and "mfnet" in r.output
    r = run("list", "metrics")
    assert r.exit_code == 0


def test_info_vifb(data_dir):
    r = run("info", data_dir / "vifb")
    assert r.exit_code == 0, r.output
    assert "pairs:   21" in r.output and "fused: 25 methods" in r.output and "unpaired: none" in r.output


def test_info_msrs_labels(data_dir):
    r = run("info", data_dir / "msrs")
    assert "pairs:   26" in r.output and "det_yolo_ir (26 files)" in r.output
    assert "classes: person, bicycle, car" in r.output and "ir_warp: 20 files" in r.output


@pytest.mark.parametrize("setup,needle", [
    ("missing", "folder not found; check the path"),
    ("empty", "folder is empty"),
    ("unknown", "no known data set layout found"),
])
def test_info_bad_folders(tmp_path, setup, needle):
    root = tmp_path / "d"
    if setup == "empty":
        root.mkdir()
    elif setup == "unknown":
        _img(root / "x" / "a.png")
    r = run("info", root)
    assert r.exit_code == 2
    assert needle in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_debug_flag_shows_traceback(tmp_path):
    r = run("--debug", "info", tmp_path / "nope")
    assert r.exit_code != 0 and r.exception is not None


def test_info_reports_unpaired(tmp_path):
    _img(tmp_path / "ir" / "a.png")
    _img(tmp_path / "vi" / "a.png")
    _img(tmp_path / "ir" / "lonely.png")
    r = run("info", tmp_path)
    assert r.exit_code == 0 and "unpaired: 1 files" in r.output and "lonely.png" in r.output


def test_fuse_folder_resume_and_failures(tmp_path):
    ir, vi, out = tmp_path / "ir", tmp_path / "vi", tmp_path / "out"
    for n in ("a", "b", "c"):
        _img(ir / f"{n}.png")
        _img(vi / f"{n}.png", mode="RGB")
    (ir / "c.png").write_text("not an image")  # a text file named .png
    r = run("fuse", "--method", "average", "--ir", ir, "--vi", vi, "--out", out)
    assert r.exit_code == 1
    assert "2 written, 0 skipped" in r.output and "1 failed" in r.output
    assert "c: " in r.stderr and "c.png: not a readable image" in r.stderr
    assert ivif.imread(out / "a.png").shape == (8, 10, 3)  # RGB because the visible input is colour
    r = run("fuse", "--method", "average", "--ir", ir, "--vi", vi, "--out", out)
    assert "0 written, 2 skipped" in r.output  # resumes: existing outputs are kept
    r = run("fuse", "--method", "average", "--ir", ir / "a.png", "--vi", vi / "a.png", "--out", tmp_path / "one.png")
    assert r.exit_code == 0 and (tmp_path / "one.png").exists()


@pytest.mark.parametrize("kind,needle", [
    ("truncated", "corrupt or truncated image data"),
    ("size", "is 10x8 but"),
])
def test_fuse_bad_inputs(tmp_path, kind, needle):
    ir, vi = tmp_path / "ir", tmp_path / "vi"
    _img(ir / "a.png", 64, 64)
    _img(vi / "a.png", 64, 64)
    if kind == "truncated":
        raw = (ir / "a.png").read_bytes()
        (ir / "a.png").write_bytes(raw[: len(raw) // 2])
        r = run("fuse", "-m", "average", "--ir", ir / "a.png", "--vi", vi / "a.png", "--out", tmp_path / "o.png")
    else:
        _img(ir / "b.png", 8, 10)
        _img(vi / "b.png", 9, 10)
        r = run("fuse", "-m", "average", "--ir", ir, "--vi", vi, "--out", tmp_path / "o")
    assert r.exit_code == 2 and needle in r.stderr


def test_fuse_special_files(tmp_path):
    """16-bit TIFF IR, RGBA and palette VIS, 1x1 images are read, fused and written."""
    import tifffile

    tifffile.imwrite(tmp_path / "ir16.tif", np.full((1, 1), 65535, np.uint16))
    Image.fromarray(np.zeros((1, 1, 4), np.uint8), "RGBA").save(tmp_path / "rgba.png")
    r = run("fuse", "-m", "average", "--ir", tmp_path / "ir16.tif", "--vi", tmp_path / "rgba.png",
            "--out", tmp_path / "f.png")
    assert r.exit_code == 0, r.output + r.stderr
    assert ivif.imread(tmp_path / "f.png")[0, 0] == pytest.approx(128 / 255)
    Image.fromarray(np.full((3, 3, 3), 200, np.uint8)).convert("P").save(tmp_path / "pal.png")
    _img(tmp_path / "ir3.png", 3, 3)
    r = run("fuse", "-m", "maximum", "--ir", tmp_path / "ir3.png", "--vi", tmp_path / "pal.png",
            "--out", tmp_path / "g.png")
    assert r.exit_code == 0, r.stderr


def test_fuse_unknown_method_and_option(tmp_path):
    _img(tmp_path / "a.png")
    r = run("fuse", "-m", "averag", "--ir", tmp_path / "a.png", "--vi", tmp_path / "a.png", "--out", tmp_path / "o.png")
    assert r.exit_code == 2 and "unknown method 'averag'; did you mean average" in r.stderr
    r = run("fuse", "-m", "average", "--tile", "64", "--ir", tmp_path / "a.png", "--vi", tmp_path / "a.png",
            "--out", tmp_path / "o.png")
    assert r.exit_code == 2 and "--tile applies to deep methods only" in r.stderr
