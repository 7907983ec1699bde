"""Pairing, data set layouts, labels and the bundled sample, on ../shared/data and synthetic folders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ivif
from ivif.data import load_pairs, open_dataset, read_mask, read_voc, read_yolo, sample
from ivif.errors import DatasetError, PairingError, SizeMismatchError


def _img(path, h=8, w=10, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (h, w) if mode == "L" else (h, w, 3)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)).save(path)


# expected (pairs, label kinds) for each folder of ../shared/data, as its README.md states
EXPECTED = {
    "vifb": (21, {}), "tno": (42, {}), "msrs": (26, {"det_yolo_ir": 26, "det_yolo_vi": 26, "det_yolo_fusion": 26}),
    "roadscene": (40, {}), "roadscene_reg": (20, {}), "llvip": (44, {"det_voc": 9}), "m3fd": (1, {}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_datasets(data_dir, name):
    ds = open_dataset(data_dir / name)
    pairs, kinds = EXPECTED[name]
    assert len(ds) == pairs
    assert ds.label_kinds == kinds
    assert ds.unpaired == []


def test_msrs_extras_and_labels(data_dir):
    ds = open_dataset(data_dir / "msrs")
    assert ds.classes == ["person", "bicycle", "car"]
    assert ds.extras["ir_warp"] == 20 and ds.extras["flow"] == 3 and ds.extras["fused"] == {"PIAFusion": 5}
    p = next(p for p in ds if p.name == "00537D")
    boxes = read_yolo(p.labels["det_yolo_ir"], 640, 480, ds.classes)
    assert boxes[0].name == "person"
    assert boxes[0].x0 == pytest.approx((0.603125 - 0.109375 / 2) * 640)
    n_ir = sum(len(read_yolo(p.labels["det_yolo_ir"], 640, 480)) for p in ds)
    assert n_ir == 143  # README: IR files have 143 boxes


def test_llvip_voc_boxes(data_dir):
    ds = open_dataset(data_dir / "llvip")
    total = sum(len(read_voc(p.labels["det_voc"])) for p in ds if "det_voc" in p.labels)
    assert total == 45  # README: 45 boxes in 9 files
    b = read_voc(ds.pairs[0].labels["det_voc"], classes=("person",))[0]
    assert b.cls == 0 and b.name == "person" and b.x1 > b.x0


def test_load_pairs_by_base_name_with_different_extensions(tmp_path):
    _img(tmp_path / "ir" / "a.png")
    _img(tmp_path / "vi" / "a.JPG", mode="RGB")
    _img(tmp_path / "ir" / "b.bmp")
    _img(tmp_path / "vi" / "b.png")
    _img(tmp_path / "ir" / "only_ir.png")
    _img(tmp_path / "vi" / "only_vi.png")
    with pytest.warns(UserWarning, match="1 IR and 1 VIS files have no partner: only_ir.png, only_vi.png"):
        pairs = load_pairs(tmp_path / "ir", tmp_path / "vi")
    assert [p.name for p in pairs] == ["a", "b"]
    assert [p.name for p in pairs.unpaired_ir] == ["only_ir.png"]
    with pytest.raises(PairingError, match="only_ir.png, only_vi.png"):
        load_pairs(tmp_path / "ir", tmp_path / "vi", strict=True)


def test_pairing_errors(tmp_path):
    with pytest.raises(PairingError, match="nope: folder not found"):
        load_pairs(tmp_path / "nope", tmp_path / "vi")
    (tmp_path / "ir").mkdir()
    (tmp_path / "vi").mkdir()
    with pytest.raises(PairingError, match="ir: no images found"):
        load_pairs(tmp_path / "ir", tmp_path / "vi")
    _img(tmp_path / "ir" / "x.png", 8, 10)
    _img(tmp_path / "vi" / "x.png", 9, 10)
    with pytest.raises(SizeMismatchError, match=r"ir/x.png is 10x8 but .*vi/x.png is 10x9"):
        load_pairs(tmp_path / "ir", tmp_path / "vi")
    _img(tmp_path / "ir" / "y.png")
    _img(tmp_path / "vi" / "z.png")
    _img(tmp_path / "ir2" / "q.png")
    _img(tmp_path / "vi2" / "r.png")
    with pytest.raises(PairingError, match="no file of .*ir2 has a partner"):
        load_pairs(tmp_path / "ir2", tmp_path / "vi2")


def test_published_layouts_detected(tmp_path):
    _img(tmp_path / "llvip" / "infrared" / "test" / "1.jpg")
    _img(tmp_path / "llvip" / "visible" / "test" / "1.jpg", mode="RGB")
    (tmp_path / "llvip" / "Annotations").mkdir()
    (tmp_path / "llvip" / "Annotations" / "1.xml").write_text(
        "<annotation><object><name>person</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>5</xmax>"
        "<ymax>6</ymax></bndbox></object></annotation>")
    ds = open_dataset(tmp_path / "llvip")
    assert ds.layout == "llvip" and len(ds) == 1 and ds.label_kinds == {"det_voc": 1}
    assert ds.classes == ["person"]

    for s in ("train", "test"):
        _img(tmp_path / "fmb" / s / "Infrared" / f"{s}1.png")
        _img(tmp_path / "fmb" / s / "Visible" / f"{s}1.png", mode="RGB")
        _img(tmp_path / "fmb" / s / "Label" / f"{s}1.png")
    ds = open_dataset(tmp_path / "fmb")
    assert ds.layout == "fmb" and len(ds) == 2 and ds.splits == {"train": ["train1"], "test": ["test1"]}
    assert ds.label_kinds == {"seg_mask": 2} and ds.classes[0] == "background"
    assert read_mask(ds.pairs[0].labels["seg_mask"]).dtype == np.int64

    _img(tmp_path / "msrs" / "test" / "ir" / "00001D.png")
    _img(tmp_path / "msrs" / "test" / "vi" / "00001D.png", mode="RGB")
    assert open_dataset(tmp_path / "msrs").layout == "msrs"
    _img(tmp_path / "m3fd" / "Ir" / "00001.png")
    _img(tmp_path / "m3fd" / "Vis" / "00001.png", mode="RGB")
    assert open_dataset(tmp_path / "m3fd").layout == "m3fd"
    _img(tmp_path / "vifb" / "input" / "IR" / "a.jpg")
    _img(tmp_path / "vifb" / "input" / "VI" / "a.jpg", mode="RGB")
    assert open_dataset(tmp_path / "vifb").layout == "vifb"
    _img(tmp_path / "rs" / "cropinfrared" / "FLIR_1.jpg")
    _img(tmp_path / "rs" / "crop_LR_visible" / "FLIR_1.jpg", mode="RGB")
    assert open_dataset(tmp_path / "rs").layout == "roadscene"
    _img(tmp_path / "tno" / "Athena" / "scene1" / "IR_x.bmp")
    _img(tmp_path / "tno" / "Athena" / "scene1" / "VIS_x.bmp")
    ds = open_dataset(tmp_path / "tno")
    assert ds.layout == "tno" and ds.pairs[0].name == "Athena/scene1"


def test_mfnet_four_channel_pairs(tmp_path):
    rgba = np.random.default_rng(2).integers(0, 256, (6, 8, 4), dtype=np.uint8)
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "images" / "00001D.png")
    Image.fromarray(np.zeros((6, 8), np.uint8)).save(tmp_path / "labels" / "00001D.png")
    (tmp_path / "train.txt").write_text("00001D\n")
    ds = open_dataset(tmp_path)
    assert ds.layout == "mfnet" and ds.splits["train"] == ["00001D"] and ds.classes[1] == "car"
    p = ds.pairs[0]
    np.testing.assert_array_equal(p.read_ir(), rgba[..., 3] / np.float32(255))
    np.testing.assert_array_equal(p.read_vi(), rgba[..., :3] / np.float32(255))


def test_unknown_and_empty_dataset(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PairingError, match="empty: folder is empty"):
        open_dataset(tmp_path / "empty")
    _img(tmp_path / "odd" / "stuff" / "a.png")
    with pytest.raises(DatasetError, match="no known data set layout found; expected ir/ \\+ vi/"):
        open_dataset(tmp_path / "odd")
    with pytest.raises(DatasetError, match="does not look like the llvip layout"):
        open_dataset(tmp_path / "odd", layout="llvip")


def test_bundled_sample():
    ds = sample()
    assert len(ds) == 3 and ds.label_kinds["det_yolo_ir"] == 3
    total = sum(p.stat().st_size for p in ds.pairs[0].ir.parent.parent.rglob("*") if p.is_file())
    assert total <= 2 * 1024 * 1024
    out = ivif.fuse(ds.pairs[0].ir, ds.pairs[0].vi, method="average")
    assert out.shape == (480, 640, 3)
