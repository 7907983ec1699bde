"""Efficiency: MAC/FLOP counts against thop and a hand count; latency statistics; CLI table."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ivif.efficiency import count_flops, count_params, measure, parse_size, thop_macs  # noqa: E402
from ivif.errors import IvifError  # noqa: E402


def _net():
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=2), torch.nn.PReLU(), torch.nn.Conv2d(8, 1, 1),
    ).eval()


def test_counts_against_hand_count_and_thop():
    net, x = _net(), torch.rand(1, 2, 20, 30)
    hw = 20 * 30
    conv_macs = hw * 8 * 2 * 9 + hw * 8 * 4 * 9 + hw * 1 * 8
    flops = count_flops(lambda: net(x))
    assert flops == 2 * conv_macs  # FlopCounterMode counts the convolutions: 2 FLOPs per multiply-add
    ours = thop_macs(net, lambda: net(x))
    assert ours == conv_macs + 4 * hw * 8 + hw * 8  # + affine BN (4 per element) + PReLU (1 per element)
    thop = pytest.importorskip("thop")
    macs, params = thop.profile(net, (x,), verbose=False)
    assert ours == int(macs)
    assert count_params(net) == int(params)


def test_deep_method_matches_thop(weights_env):
    import ivif

    names = ivif.list_methods(tags=("deep",))
    if "sdnet" not in names:
        pytest.skip("sdnet not registered")
    r = measure("sdnet", size="64x48", repeat=2, warmup=1, threads=1)
    m = ivif.create_method("sdnet")
    thop = pytest.importorskip("thop")
    ir = torch.rand(1, 1, 48, 64)
    xs = m.tensor_inputs(ir, ir)
    macs, params = thop.profile(m.network, xs, verbose=False)
    assert r.thop_macs == int(macs) and r.params == count_params(m.network)
    assert r.flops > 0 and r.latency_ms > 0 and r.latency_iqr_ms >= 0 and r.e2e_ms > 0


def test_classical_latency_only():
    r = measure("average", size="64x48", repeat=3, warmup=1)
    assert r.params is None and r.flops is None and r.e2e_ms > 0 and r.kind == "classical"
    with pytest.raises(IvifError, match="classical method: it runs on the CPU only"):
        measure("average", size="64x48", device="cuda")


def test_size_parsing():
    assert parse_size("1024x768") == (1024, 768)
    with pytest.raises(IvifError, match="expected WIDTHxHEIGHT"):
        parse_size("big")
