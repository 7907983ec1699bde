"""Learned registration: ECC affine alignment, then a small U-Net that predicts the non-rigid residual.

The large part of a misalignment (rotation, translation, scale: 14-31 px on SuperFusion's test pairs)
is found by :mod:`ecc`; the network only refines what an affine model leaves, a smooth field of a few
pixels. It sees modality-robust features of the ECC-warped IR and of the VIS at a working size (long
side 256 px, multiple of 16): MIND descriptors (4 channels each) and contrast-normalised gradient
magnitudes (1 channel each), compares them in a local cost volume at half the working resolution
(displacements up to +-8 working px) and predicts the residual backward displacement there, which is bilinearly upsampled, rescaled to input pixels and composed with the affine map.

Weights ship in the package (``ivif/registration/weights/ecc_unet.pt``, see ``weights/TRAINING.md``;
``scripts/train_registration.py`` rebuilds them) and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ...errors import WeightsError, require
from ...registry import REGISTRATION
from ..flow import warp
from .base import RegistrationMethod
from .ecc import ecc_matrix, gradient_magnitude
from .mind import mind_descriptor

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "ecc_unet.pt"
LONG_SIDE = 256
IN_CH = 10

torch = require("torch", "torch")
nn = torch.nn
F = torch.nn.functional


def _block(cin: int, cout: int, stride: int = 1) -> "nn.Sequential":
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1),
                         nn.Conv2d(cout, cout, 3, 1, 1), nn.LeakyReLU(0.1))


def cost_volume(fi: "torch.Tensor", fv: "torch.Tensor", radius: int) -> "torch.Tensor":
    """Local matching costs (B, (2r+1)^2, H, W): mean |fv(p) - fi(p + d)| over channels, d in [-r, r]^2 px.

    Displacements are ordered row-major (dy outer, dx inner); ``fi`` is zero outside the image, as
    :func:`ivif.registration.warp` samples it.
    """
    r = radius
    h, w = fi.shape[-2:]
    fp = F.pad(fi, (r, r, r, r))
    return torch.cat([(fv - fp[..., r + dy:r + dy + h, r + dx:r + dx + w]).abs().mean(1, keepdim=True)
                      for dy in range(-r, r + 1) for dx in range(-r, r + 1)], 1)


class ResidualUNet(nn.Module):
    """(B, 10, H, W) features -> (B, 2, H/2, W/2) residual flow in pixels of the input size; H, W multiples of 16.

    The five IR and five VIS feature channels are average-pooled to half resolution and compared by a
    local cost volume (displacements up to ``RADIUS`` half-resolution px, i.e. +-8 working px); a
    3-level U-Net turns the costs (centred per pixel) into the flow.
    """

    RADIUS = 4

    def __init__(self, ch: tuple = (24, 32, 40, 48)):
        super().__init__()
        n = (2 * self.RADIUS + 1) ** 2
        self.enc0 = _block(n, ch[0])
        self.enc1 = _block(ch[0], ch[1], 2)
        self.enc2 = _block(ch[1], ch[2], 2)
        self.enc3 = _block(ch[2], ch[3], 2)
        self.dec2 = _block(ch[3] + ch[2], ch[2])
        self.dec1 = _block(ch[2] + ch[1], ch[1])
        self.dec0 = _block(ch[1] + ch[0], ch[0])
        self.head = nn.Conv2d(ch[0], 2, 3, 1, 1)
        # start from the zero field: the affine estimate is the prior the network corrects
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = F.avg_pool2d(x, 2)
        c = cost_volume(x[:, :5], x[:, 5:], self.RADIUS)
        # only cost differences between displacements matter; x10 brings them to order 1
        c = (c - c.mean(1, keepdim=True)) * 10.0
        e0 = self.enc0(c)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)

        def up(a, b):
            return torch.cat([F.interpolate(a, size=b.shape[-2:], mode="bilinear", align_corners=False), b], 1)

        d = self.dec2(up(e3, e2))
        d = self.dec1(up(d, e1))
        d = self.dec0(up(d, e0))
        # the head runs at half resolution; the flow is in input pixels, hence x2
        return self.head(d) * 2.0


def working_size(h: int, w: int, long_side: int = LONG_SIDE) -> tuple[int, int]:
    """(h, w) resized so the long side is ``long_side``, each rounded to a multiple of 16."""
    s = long_side / max(h, w)
    return max(16, int(round(h * s / 16)) * 16), max(16, int(round(w * s / 16)) * 16)


def features(img: np.ndarray) -> np.ndarray:
    """(5, h, w) float32 modality-robust features of a gray [0, 1] image: MIND (4) + gradient magnitude (1)."""
    m = mind_descriptor(img)[0].numpy()
    return np.concatenate([m, gradient_magnitude(img)[None]]).astype(np.float32)


def net_input(ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """(10, h, w) network input from working-size gray images (IR already affinely aligned, VIS)."""
    return np.concatenate([features(ir), features(vi)])


def _compose_affine(m: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Total backward flow of ``p -> M (p + r(p))``: the residual ``r`` (HxWx2 px) applied before ``M``."""
    h, w = r.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    qx, qy = xs + r[..., 0], ys + r[..., 1]
    den = m[2, 0] * qx + m[2, 1] * qy + m[2, 2]
    sx = (m[0, 0] * qx + m[0, 1] * qy + m[0, 2]) / den
    sy = (m[1, 0] * qx + m[1, 1] * qy + m[1, 2]) / den
    return np.stack([sx - xs, sy - ys], axis=-1)


@REGISTRATION.register("ecc_unet", aliases=("regunet", "learned"), tags=("dense", "learned", "torch"),
                       description="ECC affine, then a small U-Net predicting the non-rigid residual from "
                                   "MIND/gradient features (trained by ivif, CPU)",
                       paper="ivif (weights/TRAINING.md)")
class LearnedRegistration(RegistrationMethod):
    """ECC affine registration refined by a learned residual field (ivif-trained weights in the package).

    Args:
        weights: path to a state dict (default: the shipped ``ecc_unet.pt``).
    """

    name = "ecc_unet"

    def __init__(self, weights: "str | Path | None" = None):
        p = Path(weights) if weights is not None else WEIGHTS
        if not p.is_file():
            raise WeightsError(f"ecc_unet weights not found at {p}; reinstall ivif or rebuild them with "
                               "scripts/train_registration.py")
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
            self.net = ResidualUNet()
            self.net.load_state_dict(state)
        except Exception as exc:  # unpickling refusals, wrong keys/shapes, truncated files
            raise WeightsError(f"{p}: not a valid ecc_unet state dict ({exc}); rebuild it with "
                               "scripts/train_registration.py") from exc
        self.net.eval()

    def residual(self, ir_aligned: np.ndarray, vi: np.ndarray) -> np.ndarray:
        """HxWx2 residual backward flow (input px) between an affinely aligned IR and the VIS (gray [0, 1])."""
        h, w = ir_aligned.shape
        hs, ws = working_size(h, w)
        a = cv2.resize(ir_aligned, (ws, hs), interpolation=cv2.INTER_AREA)
        b = cv2.resize(vi, (ws, hs), interpolation=cv2.INTER_AREA)
        with torch.no_grad():
            f = self.net(torch.from_numpy(net_input(a, b))[None])
            f = F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
        return (f * np.array([w / ws, h / hs])).astype(np.float64)

    def _estimate(self, ir, vi):
        m, info = ecc_matrix(ir, vi)
        ir_a = warp(ir, _compose_affine(m, np.zeros(ir.shape + (2,))))
        r = self.residual(ir_a, vi)
        info = {"ecc": info, "residual_mean_px": float(np.linalg.norm(r, axis=-1).mean())}
        return _compose_affine(m, r), None, info
