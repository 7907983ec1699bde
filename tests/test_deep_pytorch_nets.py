"""Fidelity and behaviour of SeAFusion, IFCNN (MAX) and TarDAL against the official outputs.

Each network's ``raw`` output is compared with the official ``<name>_raw.npy`` (max |diff| <= 1e-3) and
its fused 8-bit image with the official ``<name>.png`` (mean |diff| <= 0.5, max <= 2 grey levels) on the
three VIFB pairs in ``../shared/weights/<Method>/expected/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from ivif.errors import IvifError, WeightsError  # noqa: E402
from ivif.registry import METHODS as REGISTRY  # noqa: E402
from ivif.registry import create_method, list_methods  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WEIGHTS = SHARED / "weights"
VIFB = SHARED / "data" / "vifb"
PAIRS = ("carLight", "carShadow", "carWhite")
METHODS = {"seafusion": "SeAFusion", "ifcnn": "IFCNN", "tardal": "TarDAL"}

pytestmark = pytest.mark.skipif(not WEIGHTS.is_dir(), reason="../shared/weights not available")


@pytest.fixture(scope="module", autouse=True)
def _weights_dir():
    old = os.environ.get("IVIF_WEIGHTS_DIR")
    os.environ["IVIF_WEIGHTS_DIR"] = str(WEIGHTS)
    threads = torch.get_num_threads()
    # One intra-op thread: bounded run time even when the suite shares the CPU (with several threads
    # on a busy machine every small op waits for descheduled workers, often 10x slower).
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    if old is None:
        os.environ.pop("IVIF_WEIGHTS_DIR", None)
    else:
        os.environ["IVIF_WEIGHTS_DIR"] = old


@pytest.fixture(scope="module")
def nets():
    """One instance per network (built once for the module)."""
    return {name: create_method(name) for name in METHODS}


def _pair(name: str) -> tuple[str, str]:
    return str(VIFB / "ir" / f"{name}.jpg"), str(VIFB / "vi" / f"{name}.jpg")


# ------------------------------------------------------------------------------------------- fidelity
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("pair", PAIRS)
def test_official_fidelity(nets, method, pair, monkeypatch):
    m = nets[method]
    folder = WEIGHTS / METHODS[method] / "expected"
    ir, vi = _pair(pair)
    # Record the raw network output during fuse() (one forward pass per pair keeps the test fast);
    # it is what m.raw(ir, vi) returns.
    seen = []
    forward = m.forward

    def spy(*xs):
        out = forward(*xs)
        seen.append(out[0, 0] if out.shape[1] == 1 else out[0])
        return out

    monkeypatch.setattr(m, "forward", spy)
    fused = m.fuse(ir, vi)
    assert len(seen) == 1
    raw = seen[0].numpy()
    expected_raw = np.load(folder / f"{pair}_raw.npy")
    assert raw.shape == expected_raw.shape
    assert np.abs(raw - expected_raw).max() <= 1e-3

    expected = np.asarray(Image.open(folder / f"{pair}.png"), dtype=np.float64)
    assert fused.shape == expected.shape and fused.dtype == np.float32
    diff = np.abs(np.rint(fused.astype(np.float64) * 255.0) - expected)
    assert diff.mean() <= 0.5
    assert diff.max() <= 2


def test_raw_is_the_network_output(nets):
    from ivif.io import imread

    ir, vi = _pair("carWhite")
    crop = (slice(0, 64), slice(0, 80))
    m = nets["ifcnn"]
    a, b = imread(ir)[crop], imread(vi)[crop]
    raw = m.raw(a, b)
    direct = m.network(*m.official_inputs(a, b))[0].numpy()
    assert raw.shape == (3, 64, 80) and np.abs(raw - direct).max() < 1e-6


def test_registered_names_and_metadata():
    names = set(list_methods())
    assert {"seafusion", "ifcnn", "tardal", "tardal+", "tardal++"} <= names
    m = create_method("tardal++")
    assert m.variant == "tardal++" and m.display_name == "TarDAL++"
    assert create_method("tardal", variant="tardal+").variant == "tardal+"
    for name in ("seafusion", "ifcnn", "tardal"):
        m = create_method(name)
        assert m.paper and m.family and "deep" in REGISTRY.get_entry(name).tags
        for spec in m.weight_specs.values():
            assert spec.url.startswith("https://") and len(spec.sha256) == 64 and spec.license


# ---------------------------------------------------------------------------------------- variants
def test_tardal_variants_load_and_differ():
    """All three official checkpoints load strictly and are different generators."""
    ir, vi = _pair("carWhite")
    crop = (slice(100, 196), slice(150, 278))
    from ivif.io import imread

    a, b = imread(ir)[crop], imread(vi)[crop]
    outs = {v: create_method("tardal", variant=v).fuse(a, b) for v in ("tardal", "tardal+", "tardal++")}
    for v, o in outs.items():
        assert o.shape == b.shape and 0.0 <= o.min() and o.max() <= 1.0, v
    assert np.abs(outs["tardal"] - outs["tardal+"]).mean() > 1 / 255
    assert np.abs(outs["tardal+"] - outs["tardal++"]).mean() > 1 / 255


def test_tardal_fp16_hazard_documented():
    """tardal.pt holds BatchNorm variances beyond float16's range: why TarDAL runs in float32."""
    from ivif.methods.weights import load_torch_state

    sd = load_torch_state(WEIGHTS / "TarDAL" / "tardal.pt")
    assert int((sd["fuse.1.1.running_var"] > 65504).sum()) == 26


def test_bad_options():
    with pytest.raises(IvifError, match=r"unknown variant 'tardal\+\+\+'"):
        create_method("tardal", variant="tardal+++")
    with pytest.raises(IvifError, match="postprocess"):
        create_method("seafusion", postprocess="pretty")
    with pytest.raises(IvifError, match="normalize"):
        create_method("ifcnn", normalize="zscore")


def test_clean_postprocess_differs_only_by_stretch_and_rounding(nets):
    from ivif.io import imread

    ir, vi = _pair("carWhite")
    crop = (slice(60, 188), slice(100, 260))
    a, b = imread(ir)[crop], imread(vi)[crop]
    official = nets["seafusion"].fuse(a, b)
    clean_m = create_method("seafusion", postprocess="clean")
    clean_m._net = nets["seafusion"].network
    clean = clean_m.fuse(a, b)
    # The official min-max stretch spreads the range to exactly [0, 255]; clean keeps the network's.
    assert official.min() == 0.0 and official.max() == 1.0
    assert clean.shape == official.shape and 0 < np.abs(clean - official).mean() < 20 / 255
    raw = nets["seafusion"].raw(a, b)
    # Clean output's luminance is the network's fused Y, rounded (up to chroma clipping).
    y = clean.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert np.median(np.abs(y - raw)) < 1 / 255


# ------------------------------------------------------------------------------------------ arrays
@pytest.mark.parametrize("method", list(METHODS))
def test_array_inputs_match_file_inputs(nets, method, tmp_path):
    """Arrays are converted as the official script converts the decoded file (lossless PNG input).

    Files are decoded exactly as the official script decodes them; for arrays the same conversion is
    applied to the 8-bit values. The one known difference: ``cv2.imread(png, IMREAD_GRAYSCALE)`` lets
    libpng convert RGB to grey, which differs from ``cvtColor`` by 1 level on some pixels (IFCNN reads
    the visible image this way), so the bar is the fidelity bar, not bit equality.
    """
    from ivif.io import imread

    ir, vi = _pair("carWhite")
    a = (imread(ir, mode="gray", gray="cv2")[:96, :128] * 255).round().astype(np.uint8)
    b = (imread(vi, mode="rgb")[:96, :128] * 255).round().astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "ir.png")
    Image.fromarray(b).save(tmp_path / "vi.png")
    m = nets[method]
    from_files = m.fuse(str(tmp_path / "ir.png"), str(tmp_path / "vi.png"))
    from_arrays = m.fuse(a, b)
    assert from_arrays.shape == (96, 128, 3)
    diff = np.abs(from_files - from_arrays) * 255
    assert diff.mean() <= 0.5 and diff.max() <= 2 + 1e-4
    if method != "ifcnn":
        assert diff.max() <= 1e-4


def test_gray_visible_gives_gray_output(nets):
    from ivif.io import imread

    ir, vi = _pair("carWhite")
    a = imread(ir)[:64, :96]
    b = imread(vi, mode="gray", gray="pil_L")[:64, :96]
    for name, m in nets.items():
        out = m.fuse(a, b)
        assert out.shape == (64, 96), name


# ------------------------------------------------------------------------------------------- tiling
@pytest.mark.parametrize("method", list(METHODS))
def test_tiled_matches_untiled(nets, method):
    from ivif.io import imread

    ir, vi = _pair("carWhite")
    crop = (slice(40, 200), slice(60, 284))
    a, b = imread(ir)[crop], imread(vi)[crop]
    whole = nets[method].fuse(a, b)
    tiled_m = create_method(method, tile=96)
    tiled_m._net = nets[method].network  # same weights; skip re-loading
    tiled = tiled_m.fuse(a, b)
    assert np.abs(whole - tiled).max() * 255 <= 1.0 + 1e-4


# ------------------------------------------------------------------------------------- tensor path
@pytest.mark.parametrize("method", list(METHODS))
def test_fuse_tensor_batch_gradients(nets, method):
    g = torch.Generator().manual_seed(0)
    ir = torch.rand(2, 1, 40, 48, generator=g, requires_grad=True)
    vi = torch.rand(2, 3, 40, 48, generator=g, requires_grad=True)
    out = nets[method].fuse_tensor(ir, vi)
    assert out.shape == (2, 1, 40, 48)
    assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0
    out.mean().backward()
    assert ir.grad is not None and float(ir.grad.abs().sum()) > 0
    assert vi.grad is not None and float(vi.grad.abs().sum()) > 0
    # Each batch item is fused independently.
    single = nets[method].fuse_tensor(ir[1:].detach(), vi[1:].detach())
    assert torch.allclose(single, out[1:].detach(), atol=1e-5)


def test_fuse_tensor_matches_official_raw_path(nets):
    """TarDAL's tensor path is the official path without 8-bit quantisation."""
    from ivif.io import imread

    ir, vi = _pair("carWhite")
    crop = (slice(0, 80), slice(0, 96))
    a, b = imread(ir)[crop], imread(vi)[crop]
    m = nets["tardal"]
    raw = m.raw(a, b)
    ta, tb = m.official_inputs(a, b)
    out = m.fuse_tensor(ta, tb)[0, 0].numpy()
    assert np.abs(out - np.clip(raw, 0, 1)).max() < 1e-5


# ------------------------------------------------------------------------------------------- weights
def test_bad_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "SeAFusion.pth"
    bad.write_bytes(b"this is not a checkpoint")
    m = create_method("seafusion", weights=bad)
    with pytest.warns(UserWarning, match="sha256 differs"):
        with pytest.raises(WeightsError, match="refused to load"):
            m.fuse(*_pair("carWhite"))


def test_wrong_network_checkpoint_is_a_clear_error():
    m = create_method("seafusion", weights=WEIGHTS / "IFCNN" / "IFCNN-MAX.pth")
    with pytest.raises(WeightsError, match="not a SeAFusion checkpoint"):
        _ = m.network
    m = create_method("tardal", weights=WEIGHTS / "SeAFusion" / "SeAFusion.pth")
    with pytest.raises(WeightsError, match="not a TarDAL generator checkpoint"):
        _ = m.network


def test_pickle_with_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.getcwd, ())

    path = tmp_path / "IFCNN-MAX.pth"
    torch.save({"conv1.weight": Payload()}, path)
    m = create_method("ifcnn", weights=path)
    with pytest.warns(UserWarning):
        with pytest.raises(WeightsError, match="arbitrary unpickling"):
            _ = m.network


def test_corrupted_file_in_weights_dir_fails_hash(tmp_path, monkeypatch):
    (tmp_path / "IFCNN").mkdir()
    (tmp_path / "IFCNN" / "IFCNN-MAX.pth").write_bytes(b"\0" * 100)
    monkeypatch.setenv("IVIF_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="does not match the official"):
        _ = create_method("ifcnn").network


@pytest.mark.parametrize("method,fname", [("seafusion", "SeAFusion.pth"), ("ifcnn", "IFCNN-MAX.pth"),
                                          ("tardal++", "tardal++.pt")])
def test_missing_weights_message_names_url_and_target(tmp_path, monkeypatch, method, fname):
    import urllib.request

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.delenv("IVIF_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("IVIF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    m = create_method(method)
    spec = next(s for s in m.weight_specs.values() if s.filename == fname)
    with pytest.raises(WeightsError) as exc:
        _ = m.network
    msg = str(exc.value)
    assert spec.url in msg
    assert str(tmp_path / "cache" / "weights" / spec.folder / fname) in msg
    assert "IVIF_WEIGHTS_DIR" in msg
