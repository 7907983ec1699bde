"""DIDFuse, DenseFuse and U2Fusion against the official code's outputs in ../shared/weights/*/expected."""

from __future__ import annotations

import os
import pickle
import urllib.request
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from ivif.errors import IvifError, WeightsError  # noqa: E402
from ivif.registry import METHODS  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WEIGHTS = SHARED / "weights"
VIFB = SHARED / "data" / "vifb"
PAIRS = ("carLight", "carShadow", "carWhite")
METHODS_UNDER_TEST = {"didfuse": "DIDFuse", "densefuse": "DenseFuse", "u2fusion": "U2Fusion"}

pytestmark = [
    pytest.mark.skipif(not (WEIGHTS / "U2Fusion").is_dir() or not VIFB.is_dir(),
                       reason="../shared weights/data not present"),
    # custom/bad weight files in these tests are expected to differ from the official sha256
    pytest.mark.filterwarnings("ignore:.*sha256 differs from the official"),
    pytest.mark.filterwarnings("ignore:Detected pickle protocol"),
]


@pytest.fixture(scope="module", autouse=True)
def _env():
    old = os.environ.get("IVIF_WEIGHTS_DIR")
    os.environ["IVIF_WEIGHTS_DIR"] = str(WEIGHTS)
    # One intra-op thread: as fast as two on an idle 2-core machine for these sizes, and far faster
    # when other processes compete for the cores (OpenMP barriers then spin).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    if old is None:
        os.environ.pop("IVIF_WEIGHTS_DIR", None)
    else:
        os.environ["IVIF_WEIGHTS_DIR"] = old


@pytest.fixture(scope="module")
def nets() -> dict:
    """One instance per method, network built once for the module."""
    return {name: METHODS.create(name) for name in METHODS_UNDER_TEST}


def _fuse_capturing_raw(m, ir, vi):
    """``m.fuse(ir, vi)`` and the raw network output of that same call."""
    seen: list = []
    orig = m.forward

    def spy(*xs):
        out = orig(*xs)
        seen.append(out)
        return out

    m.forward = spy
    try:
        fused = m.fuse(ir, vi)
    finally:
        del m.forward
    raw = seen[0].detach().float().numpy()[0, 0]
    return fused, raw


@pytest.mark.parametrize("name", list(METHODS_UNDER_TEST))
def test_official_fidelity(nets, name):
    m, folder = nets[name], METHODS_UNDER_TEST[name]
    for pair in PAIRS:
        fused, raw = _fuse_capturing_raw(m, VIFB / "ir" / f"{pair}.jpg", VIFB / "vi" / f"{pair}.jpg")
        exp_raw = np.load(WEIGHTS / folder / "expected" / f"{pair}_raw.npy")
        assert raw.shape == exp_raw.shape
        assert np.abs(raw - exp_raw).max() <= 1e-3, (name, pair)
        exp = np.asarray(Image.open(WEIGHTS / folder / "expected" / f"{pair}.png"), dtype=np.float64)
        got = np.rint(fused.astype(np.float64) * 255.0)
        assert got.shape == exp.shape
        d = np.abs(got - exp)
        assert d.mean() <= 0.5 and d.max() <= 2, (name, pair, d.mean(), d.max())


def _crop_pair(h: int = 120, w: int = 150):
    ir = np.asarray(Image.open(VIFB / "ir" / "carLight.jpg").convert("L"))[100:100 + h, 200:200 + w]
    vi = np.asarray(Image.open(VIFB / "vi" / "carLight.jpg"))[100:100 + h, 200:200 + w]
    return ir, vi


@pytest.mark.parametrize("name", list(METHODS_UNDER_TEST))
def test_tiled_matches_untiled(nets, name):
    ir, vi = _crop_pair()
    whole = nets[name].fuse(ir, vi)
    margin = type(nets[name]).tile_margin
    tiled_m = METHODS.create(name, tile=2 * margin + 24)
    tiled_m._net = nets[name].network  # same weights, no rebuild
    tiled = tiled_m.fuse(ir, vi)
    assert np.abs(tiled * 255.0 - whole * 255.0).max() <= 1.0 + 1e-4


@pytest.mark.parametrize("name", list(METHODS_UNDER_TEST))
def test_fuse_tensor_batch(nets, name):
    g = torch.Generator().manual_seed(0)
    ir = torch.rand(2, 1, 40, 52, generator=g, requires_grad=True)
    vi = torch.rand(2, 3, 40, 52, generator=g, requires_grad=True)
    out = nets[name].fuse_tensor(ir, vi)
    assert out.shape == (2, 1, 40, 52)
    assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0
    out.mean().backward()
    assert ir.grad is not None and float(ir.grad.abs().sum()) > 0
    assert vi.grad is not None and float(vi.grad.abs().sum()) > 0


def test_densefuse_l1_rule_by_hand():
    from ivif.methods.deep.densefuse import fuse_features

    a = torch.tensor([[[[1.0, 0.0]], [[-2.0, 0.0]]]])  # 1x2x1x2
    b = torch.tensor([[[[3.0, 0.0]], [[0.0, 0.0]]]])
    out = fuse_features(a, b, "l1")
    # pixel 0: l1_a = 3, l1_b = 3 -> weights 1/2; pixel 1: both zero -> 1/2 (official: 0/0)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([2.0, -1.0]))
    assert torch.equal(out[0, :, 0, 1], torch.zeros(2))
    assert torch.equal(fuse_features(a, b, "addition"), a + b)


def test_didfuse_l1_rule_equals_official_kernel():
    from ivif.methods.deep.didfuse import fuse_features

    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(1, 8, 9, 11, generator=g), torch.randn(1, 8, 9, 11, generator=g)
    k = torch.full((8, 8, 3, 3), 1.0 / 9.0)  # the official CxCx3x3 averaging kernel
    aa = torch.nn.functional.conv2d(a.abs(), k, padding=1)
    ab = torch.nn.functional.conv2d(b.abs(), k, padding=1)
    ref = aa / (aa + ab) * a + ab / (aa + ab) * b
    assert torch.allclose(fuse_features(a, b, "l1_norm"), ref, atol=1e-6)


def test_densefuse_options(nets):
    ir, vi = _crop_pair(64, 80)
    m = nets["densefuse"]
    add = m.raw(ir, vi)
    l1 = METHODS.create("densefuse", strategy="l1")
    l1._net = m.network
    assert not np.allclose(l1.raw(ir, vi), add)
    llvip = METHODS.create("densefuse", variant="llvip-1e2")
    r = llvip.raw(ir, vi)
    assert r.shape == add.shape and not np.allclose(r, add)
    plain = METHODS.create("densefuse", stretch=False)
    plain._net = m.network
    gray = vi[..., 0]
    expect = np.clip(np.rint(m.raw(ir, gray)), 0, 255)
    assert np.array_equal(np.rint(plain.fuse(ir, gray) * 255.0), expect)
    with pytest.raises(IvifError, match="unknown strategy 'max'"):
        METHODS.create("densefuse", strategy="max")
    with pytest.raises(IvifError, match="unknown variant"):
        METHODS.create("densefuse", variant="tno")


def test_u2fusion_options_and_checkpoint_format(nets):
    ir, vi = _crop_pair(64, 80)
    m = nets["u2fusion"]
    ref = m.raw(ir, vi)
    swapped = METHODS.create("u2fusion", order="vi_ir")
    swapped._net = m.network
    assert np.abs(swapped.raw(ir, vi) - ref).max() > 1e-2  # the network is not symmetric
    plain = METHODS.create("u2fusion", stretch=False)
    plain._net = m.network
    gray = vi[..., 1]
    got = np.rint(plain.fuse(ir, gray) * 255.0)
    assert np.array_equal(got, np.clip(np.rint(m.raw(ir, gray) * 255.0), 0, 255))
    # the original TF checkpoint (prefix, .index, or folder) gives the same network as the .npz
    ckpt = WEIGHTS / "U2Fusion" / "tf_checkpoint"
    for w in (ckpt / "model.ckpt", ckpt / "model.ckpt.index", ckpt):
        assert np.array_equal(METHODS.create("u2fusion", weights=w).raw(ir, vi), ref)
    with pytest.raises(IvifError, match="unknown order"):
        METHODS.create("u2fusion", order="ir")
    with pytest.raises(IvifError, match="option stretch must be true or false, got 'no'"):
        METHODS.create("u2fusion", stretch="no")
    with pytest.raises(IvifError, match="unknown rule"):
        METHODS.create("didfuse", rule="max")
    with pytest.raises(IvifError, match="option rounding must be true or false"):
        METHODS.create("didfuse", rounding="yes")


def test_densefuse_checkpoint_format(nets):
    ir, vi = _crop_pair(48, 48)
    ref = nets["densefuse"].raw(ir, vi)
    got = METHODS.create("densefuse", weights=WEIGHTS / "DenseFuse" / "tf_checkpoint").raw(ir, vi)
    assert np.array_equal(got, ref)


def test_bad_weights_files(tmp_path):
    ir, vi = _crop_pair(32, 32)
    junk = tmp_path / "junk.npz"
    np.savez(junk, something=np.zeros(3, np.float32))
    with pytest.raises(WeightsError, match="junk.npz: TF variable 'encoder/conv1_1/kernel' not found"):
        METHODS.create("densefuse", weights=junk).fuse(ir, vi)
    notckpt = tmp_path / "model.ckpt.index"
    notckpt.write_bytes(b"not a checkpoint at all" * 4)
    with pytest.raises(WeightsError, match="model.ckpt.index: corrupt or truncated TF checkpoint index"):
        METHODS.create("u2fusion", weights=notckpt).fuse(ir, vi)
    enc, dec = tmp_path / "Encoder.pkl", tmp_path / "Decoder.pkl"
    torch.save({"weight": {"cov1.cov1.1.weight": torch.zeros(64, 1, 3, 3)}, "epoch": 1}, enc)
    dec.write_bytes(b"\x00garbage")
    with pytest.raises(WeightsError, match="DIDFuse weights do not fit the network|refused to load"):
        METHODS.create("didfuse", weights=tmp_path).fuse(ir, vi)


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo hacked > {self.marker}",))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_pickle_carrying_code_is_refused(tmp_path, how):
    marker = tmp_path / "ran.txt"
    enc = tmp_path / "Encoder.pkl"
    if how == "torch.save":
        torch.save({"weight": _Evil(marker), "epoch": 1}, enc)
    else:
        with open(enc, "wb") as f:
            pickle.dump({"weight": _Evil(marker), "epoch": 1}, f)
    (tmp_path / "Decoder.pkl").write_bytes(enc.read_bytes())
    with pytest.raises(WeightsError, match=r"Encoder\.pkl: refused to load.*arbitrary unpickling"):
        METHODS.create("didfuse", weights=tmp_path).fuse(np.zeros((16, 16)), np.zeros((16, 16)))
    assert not marker.exists()  # the payload never ran


@pytest.mark.parametrize("name,url_part,target", [
    ("didfuse", "IVIF-DIDFuse/raw/", "DIDFuse/Encoder.pkl"),
    ("densefuse", "Checkpoint/DenseFuse/DeseFuse.ckpt.index", "DenseFuse/tf_checkpoint/DeseFuse.ckpt.index"),
    ("u2fusion", "hanna-xu/U2Fusion/raw/", "U2Fusion/tf_checkpoint/model.ckpt.index"),
])
def test_missing_weights_message(tmp_path, monkeypatch, name, url_part, target):
    monkeypatch.delenv("IVIF_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("IVIF_CACHE", str(tmp_path / "cache"))

    def offline(*a, **k):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(WeightsError) as ei:
        METHODS.create(name).fuse(np.zeros((16, 16)), np.zeros((16, 16)))
    msg = str(ei.value)
    assert "https://github.com/" in msg and url_part in msg
    assert str(tmp_path / "cache" / "weights" / target) in msg
