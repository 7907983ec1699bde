"""Dense non-rigid registration: a smooth displacement field fitted on MIND descriptors (PyTorch).

MIND (Heinrich et al., MedIA 2012) describes each pixel by how similar its patch is to the patches at a
few neighbouring offsets, ``exp(-D_k / V)``; the description is largely independent of the modality's
intensity mapping. The field starts from the ECC affine estimate and is refined by Adam on
``mean |MIND(vi) - warp(MIND(ir), u)| + lambda |grad u|^2``, with ``u`` on a coarse control grid
(bilinearly upsampled, so the field stays smooth), coarse to fine.
"""

from __future__ import annotations

import numpy as np

from ...errors import require
from ...registry import REGISTRATION
from .base import RegistrationMethod
from .ecc import ECCRegistration

_OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def mind_descriptor(img, radius: int = 2, sigma: float = 1.0):
    """MIND with a 4-neighbourhood at ``radius`` px: ``(1, 4, H, W)`` torch tensor in (0, 1]."""
    torch = require("torch", "torch")
    import torch.nn.functional as F

    x = img if torch.is_tensor(img) else torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    k = int(2 * round(2 * sigma) + 1)
    g = torch.exp(-((torch.arange(k, dtype=torch.float32) - k // 2) ** 2) / (2 * sigma * sigma))
    g = (g / g.sum())
    r = radius
    xp = F.pad(x, (r, r, r, r), mode="replicate")
    h, w = x.shape[-2:]
    d = []
    for dy, dx in _OFFSETS:
        sh = xp[..., r + dy * r: r + dy * r + h, r + dx * r: r + dx * r + w]
        d.append((x - sh) ** 2)
    d = torch.cat(d, 1)
    # separable Gaussian patch sum of the squared differences
    d = F.conv2d(F.pad(d, (k // 2, k // 2, 0, 0), mode="replicate"), g.view(1, 1, 1, k).repeat(4, 1, 1, 1), groups=4)
    d = F.conv2d(F.pad(d, (0, 0, k // 2, k // 2), mode="replicate"), g.view(1, 1, k, 1).repeat(4, 1, 1, 1), groups=4)
    v = d.mean(1, keepdim=True).clamp_min(1e-6)
    v = v.clamp(max=v.mean() * 1e3, min=v.mean() * 1e-3)  # keep flat regions from dividing by ~0
    m = torch.exp(-d / v)
    return m / m.amax(1, keepdim=True)


def _warp_t(x, flow):
    """grid_sample ``x`` (1,C,H,W) by a pixel flow (1,2,H,W), align_corners=False, zeros outside."""
    import torch
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=x.dtype), torch.arange(w, dtype=x.dtype), indexing="ij")
    gx = (2 * (xs + flow[:, 0]) + 1) / w - 1
    gy = (2 * (ys + flow[:, 1]) + 1) / h - 1
    return F.grid_sample(x, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="zeros", align_corners=False)


@REGISTRATION.register("mind", aliases=("mind_dense",), tags=("dense", "classical", "torch"),
                       description="Dense smooth field on MIND descriptors (Adam, coarse to fine), ECC affine start",
                       paper="Heinrich et al., MedIA 2012 (MIND)")
class MINDRegistration(RegistrationMethod):
    """Dense registration on MIND descriptors.

    Args:
        scales: image down-scaling factors, coarse to fine (default (2,): half resolution).
        spacing: control-grid spacing in pixels of each scale.
        iters: Adam iterations per scale.
        lam: weight of the diffusion regulariser (per pixel, displacements in px of the scale).
        init: ``"ecc"`` (affine start, default) or ``"identity"``.
    """

    name = "mind"

    def __init__(self, scales: tuple = (2,), spacing: int = 8, iters: int = 60, lam: float = 1.0,
                 lr: float = 0.1, init: str = "ecc"):
        self.scales, self.spacing, self.iters, self.lam, self.lr, self.init = (
            tuple(int(s) for s in scales), int(spacing), int(iters), float(lam), float(lr), init)

    def _estimate(self, ir, vi):
        torch = require("torch", "torch")

        h, w = ir.shape
        info: dict = {}
        if self.init == "ecc":
            flow0, m, info["ecc"] = ECCRegistration()._estimate(ir, vi)
        else:
            flow0, m = np.zeros((h, w, 2)), None
        total = torch.from_numpy(flow0.astype(np.float32)).permute(2, 0, 1)[None]
        # small tensors: one intra-op thread is ~10x faster than several on a shared machine
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            total, loss = self._refine(ir, vi, total)
        finally:
            torch.set_num_threads(threads)
        info["final_loss"] = float(loss)
        return total[0].permute(1, 2, 0).numpy().astype(np.float64), None, info

    def _refine(self, ir, vi, total):
        """Adam refinement of ``total`` (1, 2, H, W) px, coarse to fine; returns (field, last loss)."""
        torch = require("torch", "torch")
        import cv2
        import torch.nn.functional as F

        h, w = ir.shape
        loss = torch.zeros(())
        with torch.enable_grad():
            for s in self.scales:
                hs, ws = max(16, h // s), max(16, w // s)
                a = cv2.resize(ir, (ws, hs), interpolation=cv2.INTER_AREA)
                b = cv2.resize(vi, (ws, hs), interpolation=cv2.INTER_AREA)
                ma, mb = mind_descriptor(a), mind_descriptor(b)
                fx, fy = ws / w, hs / h
                base = F.interpolate(total, size=(hs, ws), mode="bilinear", align_corners=False)
                base = base * torch.tensor([fx, fy]).view(1, 2, 1, 1)
                cp = torch.zeros(1, 2, max(2, hs // self.spacing), max(2, ws // self.spacing), requires_grad=True)
                opt = torch.optim.Adam([cp], lr=self.lr)
                for _ in range(self.iters):
                    u = F.interpolate(cp, size=(hs, ws), mode="bilinear", align_corners=False)
                    warped = _warp_t(ma, base + u)
                    # outside the IR the warped descriptor is 0, so leaving the image is penalised
                    data = (warped - mb).abs().mean()
                    reg = ((cp[..., 1:, :] - cp[..., :-1, :]) ** 2).mean() + ((cp[..., 1:] - cp[..., :-1]) ** 2).mean()
                    loss = data + self.lam * reg
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                u = F.interpolate(cp.detach(), size=(h, w), mode="bilinear", align_corners=False)
                total = total + u / torch.tensor([fx, fy]).view(1, 2, 1, 1)
        return total, loss.detach()
