"""Robustness: corruptions (seeded, bounded, monotone in severity) and FGSM/PGD attacks on every deep method."""

from __future__ import annotations

import numpy as np
import pytest

import ivif
from ivif.errors import IvifError
from ivif.robust import PERTURBATIONS, perturb, perturb_pair


@pytest.fixture(scope="module")
def pair(data_dir_module):
    ir = ivif.imread(data_dir_module / "vifb" / "ir" / "carLight.jpg")[150:182, 250:282]
    vi = ivif.imread(data_dir_module / "vifb" / "vi" / "carLight.jpg")[150:182, 250:282]
    return ir, vi


@pytest.fixture(scope="module")
def data_dir_module():
    from conftest import DATA

    if not DATA.is_dir():
        pytest.skip("../shared is not present")
    return DATA


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_perturbations_seeded_bounded_monotone(name, pair):
    _, vi = pair
    a = perturb(vi, name, 3, seed=7)
    assert a.shape == vi.shape and a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, perturb(vi, name, 3, seed=7))
    d1 = np.abs(perturb(vi, name, 1, seed=7) - vi).mean()
    d5 = np.abs(perturb(vi, name, 5, seed=7) - vi).mean()
    assert d5 > d1 > 0


def test_perturbation_errors(pair):
    ir, vi = pair
    with pytest.raises(IvifError, match="severity must be 1..5"):
        perturb(vi, "jpeg", 6)
    with pytest.raises(IvifError, match="unknown perturbation 'fog'"):
        perturb(vi, "fog", 1)
    ir2, vi2 = perturb_pair(ir, vi, "gaussian_noise", 2, target="ir")
    assert vi2 is vi and not np.array_equal(ir2, ir)


def _deep():
    from ivif.methods.deep._torch import TorchFusionMethod
    from ivif.registry import METHODS

    return [n for n in METHODS.list(tags=("deep",)) if issubclass(METHODS.get(n), TorchFusionMethod)]


@pytest.mark.parametrize("name", _deep())
def test_pgd_at_least_as_strong_as_fgsm_and_eps_exact(name, pair, weights_env):
    pytest.importorskip("torch")
    from ivif.robust.attacks import attack

    ir, vi = pair
    m = ivif.create_method(name)
    f = attack(m, ir, vi, "fgsm", eps=8, seed=0)
    p = attack(m, ir, vi, "pgd", eps=8, steps=3, seed=0)
    for r in (f, p):
        assert r.linf_ir <= 8 and r.linf_vi <= 8  # exact: whole grey levels within the budget
        assert np.abs(np.rint(r.ir * 255) - np.rint(ir * 255)).max() <= 8
        assert np.abs(np.rint(r.vi * 255) - np.rint(vi * 255)).max() <= 8
    assert p.loss_adv >= f.loss_adv
    assert p.fused_mse >= f.fused_mse > 0


def test_attacks_deterministic_with_a_seed(pair, weights_env):
    pytest.importorskip("torch")
    from ivif.robust.attacks import attack

    ir, vi = pair
    if "sdnet" not in ivif.list_methods():
        pytest.skip("sdnet not registered")
    a = attack("sdnet", ir, vi, "pgd", eps=4, steps=3, seed=3, objective="ssim", target="vi")
    b = attack("sdnet", ir, vi, "pgd", eps=4, steps=3, seed=3, objective="ssim", target="vi")
    np.testing.assert_array_equal(a.vi, b.vi)
    np.testing.assert_array_equal(a.fused_adv, b.fused_adv)
    assert a.linf_ir == 0 and 0 < a.linf_vi <= 4


def test_attack_errors(pair):
    from ivif.robust.attacks import attack

    ir, vi = pair
    with pytest.raises(IvifError, match="not a PyTorch network"):
        attack("average", ir, vi)
