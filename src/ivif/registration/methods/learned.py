"""Learned registration: a small U-Net that regresses the backward flow, trained by ivif.

The network sees the IR and VIS images resized to a working size (long side 128 px, multiple of 16)
together with their contrast-normalised gradient magnitudes, and predicts the displacement at half the
working resolution; it is upsampled and rescaled to the input size. Weights ship in the package
(``ivif/registration/weights/regunet.pt``, see ``weights/TRAINING.md``; ``scripts/train_registration.py``
rebuilds them) and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ...errors import WeightsError, require
from ...registry import REGISTRATION
from .base import RegistrationMethod
from .ecc import gradient_magnitude

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "regunet.pt"
LONG_SIDE = 128

torch = require("torch", "torch")
nn = torch.nn
F = torch.nn.functional


def _block(cin: int, cout: int, stride: int = 1) -> "nn.Sequential":
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1),
                         nn.Conv2d(cout, cout, 3, 1, 1), nn.LeakyReLU(0.1))


class RegUNet(nn.Module):
    """4-level U-Net: (B, 4, H, W) -> (B, 2, H/2, W/2) flow in pixels of the input size. H, W multiples of 16."""

    def __init__(self, ch: tuple = (8, 16, 24, 32, 32)):
        super().__init__()
        self.enc0 = _block(4, ch[0])
        self.enc1 = _block(ch[0], ch[1], 2)
        self.enc2 = _block(ch[1], ch[2], 2)
        self.enc3 = _block(ch[2], ch[3], 2)
        self.enc4 = _block(ch[3], ch[4], 2)
        self.dec3 = _block(ch[4] + ch[3], ch[3])
        self.dec2 = _block(ch[3] + ch[2], ch[2])
        self.dec1 = _block(ch[2] + ch[1], ch[1])
        self.head = nn.Conv2d(ch[1], 2, 3, 1, 1)

    def forward(self, x):
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)

        def up(a, b):
            return torch.cat([F.interpolate(a, size=b.shape[-2:], mode="bilinear", align_corners=False), b], 1)

        d = self.dec3(up(e4, e3))
        d = self.dec2(up(d, e2))
        d = self.dec1(up(d, e1))
        # the flow is in input pixels; x2 because the head runs at half resolution
        return self.head(d) * 2.0


def working_size(h: int, w: int, long_side: int = LONG_SIDE) -> tuple[int, int]:
    """(h, w) resized so the long side is ``long_side``, each rounded to a multiple of 16."""
    s = long_side / max(h, w)
    return max(16, int(round(h * s / 16)) * 16), max(16, int(round(w * s / 16)) * 16)


def net_input(ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """(4, h, w) float32 network input from working-size gray images: standardised images + gradients."""
    def std(a):
        return (a - a.mean()) / (a.std() + 1e-6)

    return np.stack([std(ir), std(vi), gradient_magnitude(ir), gradient_magnitude(vi)]).astype(np.float32)


@REGISTRATION.register("regunet", aliases=("learned",), tags=("dense", "learned", "torch"),
                       description="Small U-Net flow regressor trained by ivif (8 CPU minutes; experimental: "
                                   "does not yet reduce EPE, see docs/registration.md)",
                       paper="ivif (weights/TRAINING.md)")
class LearnedRegistration(RegistrationMethod):
    """Dense registration by a small U-Net (ivif-trained weights shipped in the package).

    Args:
        weights: path to a state dict (default: the shipped ``regunet.pt``).
    """

    name = "regunet"

    def __init__(self, weights: "str | Path | None" = None):
        p = Path(weights) if weights is not None else WEIGHTS
        if not p.is_file():
            raise WeightsError(f"regunet weights not found at {p}; reinstall ivif or rebuild them with "
                               "scripts/train_registration.py")
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
            self.net = RegUNet()
            self.net.load_state_dict(state)
        except Exception as exc:  # unpickling refusals, wrong keys/shapes, truncated files
            raise WeightsError(f"{p}: not a valid regunet state dict ({exc}); rebuild it with "
                               "scripts/train_registration.py") from exc
        self.net.eval()

    def _estimate(self, ir, vi):
        h, w = ir.shape
        hs, ws = working_size(h, w)
        a = cv2.resize(ir, (ws, hs), interpolation=cv2.INTER_AREA)
        b = cv2.resize(vi, (ws, hs), interpolation=cv2.INTER_AREA)
        with torch.no_grad():
            f = self.net(torch.from_numpy(net_input(a, b))[None])
            f = F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
        return (f * np.array([w / ws, h / hs])).astype(np.float64), None, {"working_size": (hs, ws)}
