"""Gradient attacks on fusion networks: FGSM and PGD under an L∞ budget in grey levels.

The attack perturbs the IR image, the visible image or both. For a colour visible image the
perturbation is added equally to R, G and B, which moves its BT.601 luminance (what every network
here fuses) by exactly the same amount and leaves its chroma unchanged, so the L∞ budget holds in RGB.
Gradients flow through :meth:`TorchFusionMethod.fuse_tensor` (the network with differentiable pre- and
post-processing); the adversarial fused image is then produced by the method's official path.

Objectives (maximised by the attacker):

* ``distance``: mean squared difference between the adversarial and the clean fused image;
* ``ssim``: minus (SSIM(F, IR) + SSIM(F, VIS)) against the *clean* sources (11x11 Gaussian window,
  σ 1.5, data range 1), i.e. degrade the structural-similarity metric;
* ``gradient``: minus the mean gradient magnitude of F (degrade the AG/SF sharpness metrics).

With ``quantize`` (default, for 8-bit inputs) the final perturbation is rounded to whole grey levels
and clipped to ``[-eps, eps]`` and to [0, 255], so the saved adversarial PNG is exactly the attack and
``max |adv - clean| <= eps`` grey levels holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import IvifError
from ..io import rgb_to_ycbcr


@dataclass
class AttackResult:
    """Adversarial inputs (float32 [0, 1], shapes as given), the method's official clean and adversarial
    fused images, the objective on the official outputs (clean, adversarial) and the largest change of
    each input in grey levels."""

    ir: np.ndarray
    vi: np.ndarray
    fused_clean: np.ndarray
    fused_adv: np.ndarray
    loss_clean: float
    loss_adv: float
    linf_ir: float
    linf_vi: float

    @property
    def fused_mse(self) -> float:
        """Mean squared difference between adversarial and clean fused images, in grey levels²."""
        return float(np.mean((self.fused_adv.astype(np.float64) - self.fused_clean) ** 2) * 255.0 ** 2)


def _gauss(size: int = 11, sigma: float = 1.5):
    import torch

    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_torch(a: Any, b: Any) -> Any:
    """Mean SSIM of two ``Bx1xHxW`` tensors in [0, 1] (Gaussian 11x11, σ 1.5, 'valid'), differentiable."""
    import torch.nn.functional as F

    w = _gauss().to(a.device, a.dtype)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_a, mu_b = F.conv2d(a, w), F.conv2d(b, w)
    saa = F.conv2d(a * a, w) - mu_a ** 2
    sbb = F.conv2d(b * b, w) - mu_b ** 2
    sab = F.conv2d(a * b, w) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return s.mean()


OBJECTIVES = ("distance", "ssim", "gradient")


def _loss(objective: str, fused: Any, clean: Any, ir0: Any, vi0: Any) -> Any:
    if objective == "distance":
        return ((fused - clean) ** 2).mean()
    if objective == "ssim":
        return -(ssim_torch(fused, ir0) + ssim_torch(fused, vi0))
    gx = fused[..., :, 1:] - fused[..., :, :-1]
    gy = fused[..., 1:, :] - fused[..., :-1, :]
    return -(gx[..., :-1, :].pow(2) + gy[..., :, :-1].pow(2) + 1e-12).sqrt().mean()


def _is_8bit(a: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.rint(a * 255) - a * 255) < 1e-3))


def attack(method: Any, ir: Any, vi: Any, kind: str = "pgd", eps: float = 8, steps: int = 10,
           step_size: "float | None" = None, random_start: bool = True, target: str = "both",
           objective: str = "distance", seed: int = 0, quantize: bool = True) -> AttackResult:
    """Attack a torch fusion method on one pair.

    Args:
        method: a ``TorchFusionMethod`` instance (or registered name).
        ir, vi: arrays or paths (VIS may be RGB).
        kind: ``"fgsm"`` (one signed-gradient step of size eps) or ``"pgd"`` (``steps`` steps of
            ``step_size`` grey levels, projected onto the L∞ ball; the strongest iterate, or the FGSM
            point if stronger, judged on the official output).
        eps: L∞ budget in grey levels (of 255). step_size: default eps/4.
        target: ``"ir"``, ``"vi"`` or ``"both"``. objective: one of :data:`OBJECTIVES`.
        seed: seeds the random start; results are deterministic for a seed.
    """
    import torch

    from ..methods.deep._torch import TorchFusionMethod

    if isinstance(method, str):
        import ivif

        method = ivif.create_method(method)
    if not isinstance(method, TorchFusionMethod):
        raise IvifError(f"{type(method).__name__} is not a PyTorch network: gradient attacks need a deep method")
    if kind not in ("fgsm", "pgd"):
        raise IvifError(f"attack must be fgsm or pgd, got {kind!r}")
    if objective not in OBJECTIVES:
        raise IvifError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if target not in ("ir", "vi", "both"):
        raise IvifError(f"target must be ir, vi or both, got {target!r}")
    if eps <= 0:
        raise IvifError(f"eps must be positive (grey levels), got {eps}")
    from ..io import load_image

    ir_a = np.asarray(load_image(ir, "ir"))
    vi_a = np.asarray(load_image(vi, "vi"))
    if ir_a.ndim == 3:
        ir_a = rgb_to_ycbcr(ir_a)[..., 0]
    vi_y = rgb_to_ycbcr(vi_a)[..., 0] if vi_a.ndim == 3 else vi_a
    dev = method.device
    e = float(eps) / 255.0
    alpha = (float(step_size) if step_size is not None else float(eps) / 4.0) / 255.0
    t_ir = torch.from_numpy(np.ascontiguousarray(ir_a))[None, None].to(dev)
    t_vi = torch.from_numpy(np.ascontiguousarray(vi_y, dtype=np.float32))[None, None].to(dev)
    # the luminance may move only as far as every RGB channel can (keeps the RGB image in [0, 1])
    if vi_a.ndim == 3:
        lo_vi = torch.from_numpy(-vi_a.min(axis=2))[None, None].to(dev)
        hi_vi = torch.from_numpy(1.0 - vi_a.max(axis=2))[None, None].to(dev)
    else:
        lo_vi, hi_vi = -t_vi, 1.0 - t_vi
    lo_ir, hi_ir = -t_ir, 1.0 - t_ir
    mask_ir = 1.0 if target in ("ir", "both") else 0.0
    mask_vi = 1.0 if target in ("vi", "both") else 0.0
    with torch.no_grad():
        clean = method.fuse_tensor(t_ir, t_vi)

    def project(d_ir, d_vi):
        d_ir = torch.max(torch.min(d_ir.clamp(-e, e), hi_ir), lo_ir) * mask_ir
        d_vi = torch.max(torch.min(d_vi.clamp(-e, e), hi_vi), lo_vi) * mask_vi
        return d_ir, d_vi

    def loss_grad(d_ir, d_vi):
        d_ir = d_ir.detach().requires_grad_(True)
        d_vi = d_vi.detach().requires_grad_(True)
        f = method.fuse_tensor(t_ir + d_ir, t_vi + d_vi)
        loss = _loss(objective, f, clean, t_ir, t_vi)
        g_ir, g_vi = torch.autograd.grad(loss, [d_ir, d_vi])
        return float(loss.detach()), g_ir, g_vi

    gen = torch.Generator().manual_seed(int(seed))
    fused_clean = method.fuse(ir_a, vi_a)

    def y_tensor(img: np.ndarray):
        y = rgb_to_ycbcr(img)[..., 0] if img.ndim == 3 else img
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None].to(dev)

    clean_off = y_tensor(fused_clean)

    def realise(d_ir, d_vi):
        """The adversarial pair as saved (quantised) and the method's official output on it."""
        dir_np = d_ir[0, 0].detach().cpu().numpy().astype(np.float64)
        dvi_np = d_vi[0, 0].detach().cpu().numpy().astype(np.float64)
        ir_adv = _apply(ir_a, dir_np, eps, quantize)
        vi_adv = _apply(vi_a, dvi_np[..., None] if vi_a.ndim == 3 else dvi_np, eps, quantize)
        fused = method.fuse(ir_adv, vi_adv)
        if objective == "distance":  # on the whole saved output (RGB when colour), as fused_mse reports it
            return float(np.mean((fused.astype(np.float64) - fused_clean) ** 2)), ir_adv, vi_adv, fused
        with torch.no_grad():
            loss = float(_loss(objective, y_tensor(fused), clean_off, t_ir, t_vi))
        return loss, ir_adv, vi_adv, fused

    # FGSM: one signed-gradient step of size eps. The gradient is taken a hair away from the clean pair
    # (1e-3 of eps, seeded): at the clean pair the ``distance`` objective is at its minimum, gradient zero.
    d0_ir = (torch.rand(t_ir.shape, generator=gen) * 2 - 1).to(dev) * (1e-3 * e)
    d0_vi = (torch.rand(t_vi.shape, generator=gen) * 2 - 1).to(dev) * (1e-3 * e)
    _, g_ir, g_vi = loss_grad(*project(d0_ir, d0_vi))
    best = realise(*project(e * g_ir.sign(), e * g_vi.sign()))
    if kind == "pgd":
        # PGD: projected signed-gradient steps from a random start; it returns the strongest of its
        # iterates and the FGSM point, judged on the official (saved, quantised) output, so it is never
        # weaker than FGSM on the output a user sees.
        if random_start:
            d_ir = (torch.rand(t_ir.shape, generator=gen) * 2 - 1).to(dev) * e
            d_vi = (torch.rand(t_vi.shape, generator=gen) * 2 - 1).to(dev) * e
            d_ir, d_vi = project(d_ir, d_vi)
        else:
            d_ir, d_vi = project(d0_ir, d0_vi)
        for _ in range(max(1, steps)):
            _, g_ir, g_vi = loss_grad(d_ir, d_vi)
            d_ir, d_vi = project(d_ir + alpha * g_ir.sign(), d_vi + alpha * g_vi.sign())
            cand = realise(d_ir, d_vi)
            if cand[0] > best[0]:
                best = cand
    loss_adv, ir_adv, vi_adv, fused_adv = best
    with torch.no_grad():
        loss_clean = float(_loss(objective, clean_off, clean_off, t_ir, t_vi))
    return AttackResult(ir_adv, vi_adv, fused_clean, fused_adv, loss_clean, loss_adv,
                        _linf(ir_adv, ir_a), _linf(vi_adv, vi_a))


def _linf(adv: np.ndarray, x: np.ndarray) -> float:
    """Largest change in grey levels (exact integer for 8-bit data)."""
    d = np.abs(adv.astype(np.float64) * 255 - x.astype(np.float64) * 255)
    return float(np.rint(d.max())) if _is_8bit(adv) and _is_8bit(x) else float(d.max())


def _apply(x: np.ndarray, d: np.ndarray, eps: float, quantize: bool) -> np.ndarray:
    """Add a perturbation, keeping [0, 1] and (quantize) whole grey levels within ±eps."""
    if quantize and _is_8bit(x):
        x8 = np.rint(x.astype(np.float64) * 255)
        d8 = np.clip(np.rint(d * 255), -np.floor(eps), np.floor(eps))
        return (np.clip(x8 + d8, 0, 255) / 255.0).astype(np.float32)
    return np.clip(x.astype(np.float64) + np.clip(d, -eps / 255, eps / 255), 0, 1).astype(np.float32)

