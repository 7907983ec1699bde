"""IFCNN (Zhang et al., Information Fusion 2020), MAX fusion rule, with the official ``IFCNN-MAX.pth``.

The official network and pipeline as VIF-Benchmark runs it (``IFCNN/IFCNN.py``):

* inputs: both images read with ``cv2.imread(path, 0)`` (libjpeg's direct grey decode for JPEG files),
  replicated to three channels, ``/ 255`` and normalised with the ImageNet mean/std;
* network: per input, replicate-pad 3 -> ``conv1`` (ResNet-101's 7x7 first convolution, stride 1, no
  padding, no bias) -> ``conv2`` (replicate-pad 1, 3x3 conv, BatchNorm, ReLU); element-wise **maximum**
  of the two feature maps; ``conv3`` (as conv2); ``conv4`` (1x1, 64 -> 3, bias);
* output: ``x * std + mean``, clamp to [0, 1], ``* 255``, truncation to uint8; the 3-channel result is
  reduced with OpenCV ``BGR2GRAY`` (channel 0 taken as blue), then colourised with PIL: the visible
  image's PIL YCbCr chroma with the fused grey as Y, converted back to RGB.

Options: ``normalize="none"`` feeds plain [0, 1] inputs as uzeful/IFCNN's own infrared-visible script
does (the checkpoint was trained with ImageNet normalisation; results differ); ``postprocess="clean"``
rounds instead of truncating.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import IvifError, WeightsError
from ...registry import METHODS
from ..weights import WeightSpec, load_torch_state
from . import _pipeline as P
from ._torch import TorchFusionMethod

_PAPER = ("Y. Zhang, Y. Liu, P. Sun, H. Yan, X. Zhao, L. Zhang, \"IFCNN: A general image fusion framework "
          "based on convolutional neural network\", Information Fusion 54 (2020) 99-118")
_COMMIT = "8fe59c2b1553e52acc793986208ca479d134a8da"
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class _ConvBlock(nn.Module):
    """Replicate-pad 1, 3x3 conv (no bias), BatchNorm, ReLU (parameter names ``conv``/``bn``)."""

    def __init__(self, ch: int = 64):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, bias=False)
        self.bn = nn.BatchNorm2d(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(F.pad(x, (1, 1, 1, 1), mode="replicate"))))


class IFCNNNet(nn.Module):
    """IFCNN with the element-wise MAX fusion rule; ``forward(a, b)`` on ``Bx3xHxW`` -> ``Bx3xHxW``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, bias=False)
        self.conv2 = _ConvBlock()
        self.conv3 = _ConvBlock()
        self.conv4 = nn.Conv2d(64, 3, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(F.pad(x, (3, 3, 3, 3), mode="replicate")))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # Both inputs go through the shared extractor in one batch (same result, one conv call each).
        f = self.features(torch.cat((a, b), 0))
        n = a.shape[0]
        return self.conv4(self.conv3(torch.maximum(f[:n], f[n:])))


def load_ifcnn_state(net: IFCNNNet, path: Any) -> IFCNNNet:
    """Load the official state dict (strict). The file predates ``num_batches_tracked``; those
    counters (unused in eval mode) are the only keys allowed to be missing."""
    sd = load_torch_state(path)
    if not isinstance(sd, dict):
        raise WeightsError(f"{path}: expected an IFCNN state dict, got {type(sd).__name__}")
    sd = dict(sd)
    for k, v in net.state_dict().items():
        if k.endswith("num_batches_tracked") and k not in sd:
            sd[k] = torch.zeros_like(v)
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{path}: not an IFCNN-MAX checkpoint ({exc})") from exc
    return net


@METHODS.register("ifcnn", aliases=("ifcnn-max", "ifcnn_max"), tags=("deep", "cnn"), paper=_PAPER)
class IFCNN(TorchFusionMethod):
    """IFCNN (MAX rule): general CNN fusion framework (official weights, VIF-Benchmark pipeline)."""

    display_name = "IFCNN"
    family = "cnn"
    paper = _PAPER
    tile_margin = 12  # receptive-field radius 5 (7x7, 3x3, 3x3, 1x1)
    weight_specs = {
        "default": WeightSpec(
            folder="IFCNN",
            filename="IFCNN-MAX.pth",
            url=f"https://raw.githubusercontent.com/uzeful/IFCNN/{_COMMIT}/Code/snapshots/IFCNN-MAX.pth",
            sha256="6022b44c88a2f0367ba9b08fcdf0d663745d9a966fca0ee1f41867797b6ff53f",
            license="not stated (uzeful/IFCNN has no license file)",
            source=f"uzeful/IFCNN@{_COMMIT}:Code/snapshots/IFCNN-MAX.pth",
            paper=_PAPER,
        )
    }

    def __init__(self, normalize: Literal["imagenet", "none"] = "imagenet",
                 postprocess: Literal["official", "clean"] = "official", **kw: Any):
        super().__init__(**kw)
        if normalize not in ("imagenet", "none"):
            raise IvifError(f"IFCNN: normalize must be 'imagenet' or 'none', got {normalize!r}")
        if postprocess not in ("official", "clean"):
            raise IvifError(f"IFCNN: postprocess must be 'official' or 'clean', got {postprocess!r}")
        self.normalize = normalize
        self.postprocess = postprocess
        m, s = (_MEAN, _STD) if normalize == "imagenet" else ((0.0,) * 3, (1.0,) * 3)
        self._mean = torch.tensor(m, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(s, dtype=torch.float32).view(1, 3, 1, 1)

    def build_network(self) -> nn.Module:
        net = load_ifcnn_state(IFCNNNet(), self.weight_path())
        return net.to(memory_format=torch.channels_last)

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        # Channels-last is oneDNN's fast layout on CPU (about 25 % less time, same values to 1e-6).
        cl = torch.channels_last
        return self.network(*(x.contiguous(memory_format=cl) for x in inputs)).contiguous()

    def _prep(self, g01: torch.Tensor) -> torch.Tensor:
        # torchvision Normalize: (x - mean) / std per channel, float32.
        return ((g01.expand(-1, 3, -1, -1) - self._mean.to(g01)) / self._std.to(g01)).contiguous()

    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        # ToTensor divides uint8 by 255 in float32.
        a = torch.from_numpy(P.read_gray(ir, "cv2_gray") / np.float32(255.0))[None, None]
        b = torch.from_numpy(P.read_gray(vi, "cv2_gray") / np.float32(255.0))[None, None]
        return self._prep(a), self._prep(b)

    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        import cv2

        x = torch.from_numpy(np.ascontiguousarray(raw))[None]
        x = (x * self._std + self._mean).clamp(0, 1) * 255
        x = x[0].numpy()
        u8 = (x.astype(np.uint8) if self.postprocess == "official"
              else np.clip(np.rint(x), 0, 255).astype(np.uint8))
        gray = cv2.cvtColor(np.ascontiguousarray(u8.transpose(1, 2, 0)), cv2.COLOR_BGR2GRAY)
        if not P.is_colour(vi):
            return gray
        return P.pil_colourise(gray, vi)

    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self._prep(ir), self._prep(vi)

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        x = (raw * self._std.to(raw) + self._mean.to(raw)).clamp(0, 1)
        # OpenCV BGR2GRAY on the channels as stored (channel 0 is read as blue).
        return 0.114 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.299 * x[:, 2:3]
