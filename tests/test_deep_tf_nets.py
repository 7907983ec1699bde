"""Fidelity and behaviour of the TF1-ported networks PMGI, SDNet, STDFusionNet and CSF.

Each network's ``raw`` output is compared with the official ``<name>_raw.npy`` (max |diff| <= 1e-3) and
its fused 8-bit image with the official ``<name>.png`` (mean |diff| <= 0.5, max <= 2 grey levels) on the
three VIFB pairs in ``../shared/weights/<Method>/expected/`` (produced by the official TF code).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from ivif.errors import IvifError, WeightsError  # noqa: E402
from ivif.registry import create_method, list_methods  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WEIGHTS = SHARED / "weights"
VIFB = SHARED / "data" / "vifb"
PAIRS = ("carLight", "carShadow", "carWhite")
METHODS = {"pmgi": "PMGI", "sdnet": "SDNet", "stdfusionnet": "STDFusionNet", "csf": "CSF"}
CHECKPOINTS = {"pmgi": "PMGI", "sdnet": "SDNet.model", "stdfusionnet": "Fusion.model-29"}

pytestmark = pytest.mark.skipif(not WEIGHTS.is_dir(), reason="../shared/weights not available")


@pytest.fixture(scope="module", autouse=True)
def _env():
    old = os.environ.get("IVIF_WEIGHTS_DIR")
    os.environ["IVIF_WEIGHTS_DIR"] = str(WEIGHTS)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bounded run time on a shared CPU
    yield
    torch.set_num_threads(threads)
    if old is None:
        os.environ.pop("IVIF_WEIGHTS_DIR", None)
    else:
        os.environ["IVIF_WEIGHTS_DIR"] = old


@pytest.fixture(scope="module")
def nets():
    return {name: create_method(name) for name in METHODS}


def _pair(name: str) -> tuple[str, str]:
    return str(VIFB / "ir" / f"{name}.jpg"), str(VIFB / "vi" / f"{name}.jpg")


def _crop(name: str, rows: slice, cols: slice):
    from ivif.io import imread

    ir, vi = _pair(name)
    return imread(ir)[rows, cols], imread(vi)[rows, cols]


# ------------------------------------------------------------------------------------------ fidelity
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("pair", PAIRS)
def test_official_fidelity(nets, method, pair, monkeypatch):
    m = nets[method]
    expected_dir = WEIGHTS / METHODS[method] / "expected"
    seen = []
    forward = m.forward

    def spy(*xs):  # keep the raw output of the single forward pass fuse() makes
        out = forward(*xs)
        seen.append(out[0, 0].numpy())
        return out

    monkeypatch.setattr(m, "forward", spy)
    fused = m.fuse(*_pair(pair))
    assert len(seen) == 1
    expected_raw = np.load(expected_dir / f"{pair}_raw.npy")
    assert seen[0].shape == expected_raw.shape
    assert np.abs(seen[0] - expected_raw).max() <= 1e-3

    expected = np.asarray(Image.open(expected_dir / f"{pair}.png"), dtype=np.float64)
    assert fused.shape == expected.shape and fused.dtype == np.float32
    diff = np.abs(np.rint(fused.astype(np.float64) * 255) - expected)
    assert diff.mean() <= 0.5
    assert diff.max() <= 2


def test_raw_matches_fuse_forward(nets):
    m = nets["sdnet"]
    a, b = _crop("carWhite", slice(0, 48), slice(0, 64))
    raw = m.raw(a, b)
    direct = m.network(*m.official_inputs(a, b))[0, 0].numpy()
    assert raw.shape == (48, 64) and np.abs(raw - direct).max() < 1e-6


def test_array_inputs_match_file_inputs(nets):
    """Arrays read by ivif.io go through the same 8-bit conversion as the official file reader."""
    from ivif.io import imread

    ir, vi = _pair("carWhite")
    m = nets["sdnet"]
    assert np.array_equal(m.fuse(ir, vi), m.fuse(imread(ir), imread(vi)))


# ---------------------------------------------------------------------------------- official quirks
def test_csf_official_rule_uses_only_the_first_step(nets):
    """The official script differentiates the logit of batch element 0 only: the classifier has no
    cross-batch terms, so the other interpolation steps get exactly zero gradient."""
    net = nets["csf"].network
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 24, 24, 28, generator=g).contiguous(memory_format=torch.channels_last)
    feats.requires_grad_(True)
    (grad,) = torch.autograd.grad(net.classifier(feats)[0, 1], feats)
    assert float(grad[0].abs().sum()) > 0
    assert float(grad[1:].abs().max()) == 0.0


def test_csf_all_steps_option(nets):
    a, b = _crop("carWhite", slice(100, 164), slice(100, 180))
    official = nets["csf"].fuse(a, b)
    m = create_method("csf", saliency="all_steps")
    m._net = nets["csf"].network  # same weights
    full = m.fuse(a, b)
    assert full.shape == official.shape
    assert 0 < np.abs(full - official).max() < 0.5
    with pytest.raises(IvifError, match="saliency must be"):
        create_method("csf", saliency="ten")


def test_pmgi_normalises_with_the_image_statistics(nets):
    """Official PMGI runs training-mode BN: the output is invariant to a shift of every conv bias
    (the per-image mean removes it), which fixed (stored) statistics would not be."""
    net = nets["pmgi"].network
    x = torch.rand(1, 1, 32, 40, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ref = net(x, x.flip(-1))
        saved = net.layer2.bias.clone()
        net.layer2.bias.add_(3.0)
        shifted = net(x, x.flip(-1))
        net.layer2.bias.copy_(saved)
    assert torch.allclose(ref, shifted, atol=1e-5)


@pytest.mark.parametrize("method", ["sdnet", "stdfusionnet"])
def test_no_stretch_option_is_linear(nets, method):
    a, b = _crop("carShadow", slice(0, 64), slice(200, 296))
    m = nets[method]
    raw = m.raw(a, b)
    gray_vi = np.ascontiguousarray(b.mean(axis=2))  # gray chroma: PIL's YCbCr -> RGB keeps Y exactly
    clean = create_method(method, stretch=False).official_output(raw, a, gray_vi)
    y = np.clip(np.rint((raw.astype(np.float64) + 1) * 127.5), 0, 255)
    assert np.array_equal(clean[..., 0], y) and np.array_equal(clean[..., 2], y)
    stretched = m.official_output(raw, a, gray_vi)[..., 0].astype(np.float64)
    assert stretched.min() == 0 and stretched.max() == 255 and not np.array_equal(stretched, y)


def test_gray_visible_gives_gray_rgb(nets):
    a, b = _crop("carWhite", slice(0, 40), slice(0, 56))
    gray = np.ascontiguousarray(b.mean(axis=2))
    out = nets["sdnet"].fuse(a, gray)
    assert out.shape == (40, 56, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])


def test_csf_too_small_image_is_a_clear_error(nets):
    a, b = _crop("carWhite", slice(0, 12), slice(0, 40))
    with pytest.raises(IvifError, match="at least 17x17"):
        nets["csf"].fuse(a, b)


# -------------------------------------------------------------------------------------------- tiling
@pytest.mark.parametrize("method", ["sdnet", "stdfusionnet"])
def test_tiled_matches_untiled(nets, method):
    a, b = _crop("carWhite", slice(40, 200), slice(60, 284))
    whole = nets[method].raw(a, b)
    tiled_m = create_method(method, tile=72)
    tiled_m._net = nets[method].network
    tiled = tiled_m.raw(a, b)
    assert np.abs(whole - tiled).max() < 1e-5
    assert np.abs(nets[method].fuse(a, b) - tiled_m.fuse(a, b)).max() * 255 <= 1 + 1e-4


def test_global_statistics_flags():
    from ivif.registry import METHODS as REG

    assert REG.get("pmgi").global_statistics and REG.get("csf").global_statistics
    assert not REG.get("sdnet").global_statistics and not REG.get("stdfusionnet").global_statistics


# --------------------------------------------------------------------------------------- tensor path
@pytest.mark.parametrize("method", list(METHODS))
def test_fuse_tensor_batch_gradients(nets, method):
    g = torch.Generator().manual_seed(0)
    ir = torch.rand(2, 1, 40, 48, generator=g, requires_grad=True)
    vi = torch.rand(2, 3, 40, 48, generator=g, requires_grad=True)
    out = nets[method].fuse_tensor(ir, vi)
    assert out.shape == (2, 1, 40, 48)
    assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0
    out.mean().backward()
    assert float(ir.grad.abs().sum()) > 0 and float(vi.grad.abs().sum()) > 0
    single = nets[method].fuse_tensor(ir[1:].detach(), vi[1:].detach())
    assert torch.allclose(single, out[1:].detach(), atol=1e-4)  # batch items are independent


def test_fuse_tensor_is_the_official_network_without_quantisation(nets):
    a, b = _crop("carLight", slice(0, 64), slice(0, 72))
    m = nets["stdfusionnet"]
    raw = m.raw(a, b)
    ta, tb = (t * 0.5 + 0.5 for t in m.official_inputs(a, b))
    out = m.fuse_tensor(ta, tb)[0, 0].numpy()
    assert np.abs(out - (raw * 0.5 + 0.5)).max() < 1e-5


# ------------------------------------------------------------------------------------------- weights
def test_registered_names_and_metadata():
    names = list_methods()
    for name, display in METHODS.items():
        assert name in names
        m = create_method(name)
        assert m.display_name == display and m.paper and "deep" in m.family or m.family
        assert all(len(s.sha256) == 64 for s in m.weight_specs.values())


@pytest.mark.parametrize("method", list(CHECKPOINTS))
def test_original_tf_checkpoint_loads_the_same_weights(nets, method):
    folder = WEIGHTS / METHODS[method] / "tf_checkpoint"
    m = create_method(method, weights=folder / f"{CHECKPOINTS[method]}.index")
    a = m.network.state_dict()
    b = nets[method].network.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "SDNet.model.npz"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(WeightsError):
        _ = create_method("sdnet", weights=bad).network


def test_wrong_network_checkpoint_is_a_clear_error():
    m = create_method("pmgi", weights=WEIGHTS / "SDNet" / "SDNet.model.npz")
    with pytest.raises(WeightsError, match="TF variable 'fusion_model/layer1/w1' not found"):
        _ = m.network


def test_pickle_with_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.getcwd, ())

    path = tmp_path / "PMGI.npz"
    np.savez(path, **{"fusion_model/layer1/w1": np.array([Payload()], dtype=object)})
    with pytest.raises(WeightsError, match="refused to load pickled objects"):
        _ = create_method("pmgi", weights=path).network


@pytest.mark.parametrize("method", list(METHODS))
def test_missing_weights_message_names_url_and_target(tmp_path, monkeypatch, method):
    import urllib.request

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.delenv("IVIF_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("IVIF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    m = create_method(method)
    with pytest.raises(WeightsError) as exc:
        _ = m.network
    msg = str(exc.value)
    spec = next(s for s in m.weight_specs.values() if f"{s.folder}/{s.filename} not found" in msg)
    assert spec.url in msg
    assert str(tmp_path / "cache" / "weights" / spec.folder / spec.filename) in msg
    assert "IVIF_WEIGHTS_DIR" in msg
