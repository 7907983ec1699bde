"""SeAFusion (Tang, Yuan, Ma, Information Fusion 2022): semantic-aware real-time fusion network.

The official network and pipeline as VIF-Benchmark runs it (``SeAFusion/SeAFusion.py``):

* inputs: the visible image opened with PIL as RGB, its Y = 0.299 R + 0.587 G + 0.114 B (float32 on
  [0, 1], clamped), and the infrared image opened with PIL as ``'L'``, both ``uint8 / 255``;
* network: two separately weighted encoders (conv + two RGBD blocks with a dense branch and a Sobel
  gradient branch), a four-layer decoder on the concatenated features, ``tanh(x) / 2 + 0.5``; the
  decoder's BatchNorm modules are stored in the checkpoint but never applied;
* output: the fused Y recombined with the visible Cb/Cr (``Cr = 0.713 (R - Y) + 0.5``,
  ``Cb = 0.564 (B - Y) + 0.5``, inverse 1.403 / 0.714 / 0.344 / 1.773), clamped, then **min-max
  stretched over the whole RGB image** and cast to uint8 by truncation.

``postprocess="clean"`` skips the min-max stretch (a lossy, image-dependent contrast change) and rounds
instead of truncating.
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

_PAPER = ("L. Tang, J. Yuan, J. Ma, \"Image fusion in the loop of high-level vision tasks: A semantic-aware "
          "real-time infrared and visible image fusion network\", Information Fusion 82 (2022) 28-42")
_COMMIT = "23f2e51fc1b084310d998999222ce02dc364b6eb"

# VIF-Benchmark's YCbCr -> RGB matrix (rows: Y, Cr, Cb; columns: R, G, B), float32 as in the official code.
_YCRCB2RGB = np.array([[1.0, 1.0, 1.0], [1.403, -0.714, 0.0], [0.0, -0.344, 1.773]], dtype=np.float32)


class _Conv(nn.Module):
    """Conv2d held as ``.conv`` (the checkpoint's parameter names)."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _ConvLReLU(_Conv):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv(x), 0.2)


class _Sobel(nn.Module):
    """|Sobel_x| + |Sobel_y| per channel (fixed depthwise kernels, loaded from the checkpoint)."""

    def __init__(self, ch: int):
        super().__init__()
        self.convx = nn.Conv2d(ch, ch, 3, padding=1, groups=ch, bias=False)
        self.convy = nn.Conv2d(ch, ch, 3, padding=1, groups=ch, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convx(x).abs() + self.convy(x).abs()


class _Dense(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = _ConvLReLU(ch, ch)
        self.conv2 = _ConvLReLU(2 * ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat((x, self.conv1(x)), 1)
        return torch.cat((x, self.conv2(x)), 1)


class _RGBD(nn.Module):
    """Residual gradient dense block: dense branch (1x1 down) + Sobel branch (1x1 up), LReLU(0.1)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.dense = _Dense(cin)
        self.convdown = _Conv(3 * cin, cout, 1)
        self.sobelconv = _Sobel(cin)
        self.convup = _Conv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.convdown(self.dense(x)) + self.convup(self.sobelconv(x)), 0.1)


class SeAFusionNet(nn.Module):
    """The SeAFusion fusion network; ``forward(vis_y, ir)`` -> fused Y in (0, 1), ``Bx1xHxW``."""

    def __init__(self) -> None:
        super().__init__()
        self.vis_conv = _ConvLReLU(1, 16)
        self.vis_rgbd1 = _RGBD(16, 32)
        self.vis_rgbd2 = _RGBD(32, 48)
        self.inf_conv = _ConvLReLU(1, 16)
        self.inf_rgbd1 = _RGBD(16, 32)
        self.inf_rgbd2 = _RGBD(32, 48)
        self.decode4 = _ConvLReLU(96, 64)
        self.decode3 = _ConvLReLU(64, 32)
        self.decode2 = _ConvLReLU(32, 16)
        self.decode1 = _Conv(16, 1)

    def forward(self, vis_y: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        v = self.vis_rgbd2(self.vis_rgbd1(self.vis_conv(vis_y)))
        i = self.inf_rgbd2(self.inf_rgbd1(self.inf_conv(ir)))
        x = self.decode2(self.decode3(self.decode4(torch.cat((v, i), 1))))
        return torch.tanh(self.decode1(x)) / 2 + 0.5


def load_seafusion_state(net: SeAFusionNet, path: Any) -> SeAFusionNet:
    """Load the official state dict into ``net`` (strict), dropping the decoder's unused BatchNorm entries."""
    sd = load_torch_state(path)
    if not isinstance(sd, dict):
        raise WeightsError(f"{path}: expected a SeAFusion state dict, got {type(sd).__name__}")
    # The official forward never applies decode*.bn (ConvBnLeakyRelu2d owns a BN it does not call).
    unused = [k for k in sd if k.startswith("decode") and ".bn." in k]
    sd = {k: v for k, v in sd.items() if k not in unused}
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{path}: not a SeAFusion checkpoint ({exc})") from exc
    return net


def _vi_rgb01(vi: object) -> np.ndarray:
    """Visible image as the official loader gives it: PIL RGB, ``uint8 / 255`` in float32 (HxWx3)."""
    return P.read_rgb_u8(vi).astype(np.float32) / np.float32(255.0)


@METHODS.register("seafusion", aliases=("seafuse",), tags=("deep", "task-driven"), paper=_PAPER)
class SeAFusion(TorchFusionMethod):
    """SeAFusion: semantic-aware real-time fusion network (official weights, VIF-Benchmark pipeline)."""

    display_name = "SeAFusion"
    family = "task-driven"
    paper = _PAPER
    # The official output is min-max stretched over the whole image (post-processing runs on the
    # stitched raw output, so tiling itself stays exact).
    global_statistics = True
    tile_margin = 16  # receptive-field radius 9 (1 + 2 + 2 encoder, 4 decoder 3x3 convs)
    weight_specs = {
        "default": WeightSpec(
            folder="SeAFusion",
            filename="SeAFusion.pth",
            url=("https://raw.githubusercontent.com/Linfeng-Tang/VIF-Benchmark/"
                 f"{_COMMIT}/Checkpoint/SeAFusion/SeAFusion.pth"),
            sha256="8d65a7f9a50f36349803368cf9920f40420776995e7e8cc8a56d8d30e499431d",
            license="not stated (SeAFusion); VIF-Benchmark copy: MIT",
            source=f"Linfeng-Tang/VIF-Benchmark@{_COMMIT}:Checkpoint/SeAFusion/SeAFusion.pth",
            paper=_PAPER,
        )
    }

    def __init__(self, postprocess: Literal["official", "clean"] = "official", **kw: Any):
        super().__init__(**kw)
        if postprocess not in ("official", "clean"):
            raise IvifError(f"SeAFusion: postprocess must be 'official' or 'clean', got {postprocess!r}")
        self.postprocess = postprocess

    def build_network(self) -> nn.Module:
        net = load_seafusion_state(SeAFusionNet(), self.weight_path())
        return net.to(memory_format=torch.channels_last)

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        # Channels-last is oneDNN's fast layout on CPU (about 25 % less time, same values to 1e-6).
        cl = torch.channels_last
        return self.network(*(x.contiguous(memory_format=cl) for x in inputs)).contiguous()

    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        rgb = torch.from_numpy(_vi_rgb01(vi)).permute(2, 0, 1)[None]
        y = (0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3]).clamp(0.0, 1.0)
        ir_t = torch.from_numpy(P.read_gray(ir, "pil_L") / np.float32(255.0))[None, None]
        return y.contiguous(), ir_t.contiguous()

    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        rgb = _vi_rgb01(vi)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = np.float32(0.299) * r + np.float32(0.587) * g + np.float32(0.114) * b
        cr = np.clip((r - y) * np.float32(0.713) + np.float32(0.5), 0, 1)
        cb = np.clip((b - y) * np.float32(0.564) + np.float32(0.5), 0, 1)
        ycrcb = np.stack([raw.astype(np.float32), cr - np.float32(0.5), cb - np.float32(0.5)], axis=-1)
        out = np.clip(ycrcb @ _YCRCB2RGB, 0.0, 1.0)
        if self.postprocess == "official":
            lo, hi = out.min(), out.max()
            out = (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)
            u8 = (out * np.float32(255.0)).astype(np.uint8)  # truncation, as np.uint8(...) / astype
        else:
            u8 = np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
        if not P.is_colour(vi):
            return u8[..., 0]  # gray VIS: the three channels carry the same fused grey
        return u8

    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return vi.clamp(0.0, 1.0), ir

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        return raw  # already the fused Y in (0, 1); the image-wide stretch is left out (not per-pixel)
