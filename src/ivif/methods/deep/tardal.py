"""TarDAL (Liu et al., CVPR 2022): target-aware dual adversarial fusion, the generator with the official
``tardal.pt`` / ``tardal+.pt`` / ``tardal++.pt`` checkpoints (JinyuanLiu-CV/TarDAL @ 1d1d1e99).

Official pipeline (TarDAL's ``ImagePair`` + ``Eval`` as VIF-Benchmark runs them):

* inputs: infrared ``cv2.imread(p, IMREAD_GRAYSCALE)``, visible ``cv2.imread(p, IMREAD_COLOR)`` then
  ``BGR2GRAY``; both ``/ 255`` (float64, then float32); network input ``cat([ir, vi])``;
* network: 3x3 conv 2->32 + BN + ReLU, three dense layers (each conv + BN + ReLU, output appended after
  the running features), four fuse convs (128->128 ReLU, 128->64 BN ReLU, 64->32 BN ReLU, 32->1 tanh);
  **BatchNorm in eval mode** (running statistics) and float32 (fp16 overflows ``tardal.pt``'s
  ``fuse.1.1.running_var``);
* output: clip to [0, 1], ``* 255``, truncation to uint8, colourised with OpenCV: visible BGR -> YCrCb,
  the fused grey as Y, YCrCb -> BGR (OpenCV integer conversion).

Checkpoints (``variant``): ``tardal`` (default; "optimised for human vision"), ``tardal+`` ("for object
detection"), ``tardal++`` (joint; VIF-Benchmark's default). ``postprocess="clean"`` rounds instead of
truncating.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ...errors import IvifError, WeightsError
from ...registry import METHODS
from ..weights import WeightSpec, load_torch_state
from . import _pipeline as P
from ._torch import TorchFusionMethod

_PAPER = ("J. Liu, X. Fan, Z. Huang, G. Wu, R. Liu, W. Zhong, Z. Luo, \"Target-aware Dual Adversarial Learning "
          "and a Multi-scenario Multi-Modality Benchmark to Fuse Infrared and Visible for Object Detection\", "
          "CVPR 2022")
_COMMIT = "1d1d1e99b96e7de0cd4e4f57aa0d321e5b5e2727"
_SHA = {
    "tardal": "e0fa61e25cffa9fb14ff17b47ea7ba237a6e8c6f37e1b9b115d63354ff0f13e1",
    "tardal+": "cff3756548b511e3e415616debc557cdc85b3bb19393ca158cac8d08f232897c",
    "tardal++": "7009d125e36db043d6918d9358e10c6dca7fdf2dd08ada09c5ecd294f45f98c5",
}
_PURPOSE = {"tardal": "optimised for human vision (default)", "tardal+": "optimised for object detection",
            "tardal++": "joint optimum of vision and detection"}
Variant = Literal["tardal", "tardal+", "tardal++"]


def _cbr(cin: int, cout: int, bn: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TarDALGenerator(nn.Module):
    """TarDAL's generator (dim 32, depth 3); ``forward(ir, vi)`` -> tanh output in (-1, 1), ``Bx1xHxW``."""

    def __init__(self, dim: int = 32, depth: int = 3):
        super().__init__()
        self.encoder = _cbr(2, dim)
        self.dense = nn.ModuleList(_cbr(dim * (i + 1), dim) for i in range(depth))
        self.fuse = nn.Sequential(
            _cbr(dim * (depth + 1), dim * 4, bn=False),
            _cbr(dim * 4, dim * 2),
            _cbr(dim * 2, dim),
            nn.Sequential(nn.Conv2d(dim, 1, 3, padding=1), nn.Tanh()),
        )

    def forward(self, ir: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        x = self.encoder(torch.cat((ir, vi), 1))
        for layer in self.dense:
            x = torch.cat((x, layer(x)), 1)
        return self.fuse(x)


def load_tardal_state(net: TarDALGenerator, path: Any) -> TarDALGenerator:
    """Load an official generator state dict (strict)."""
    sd = load_torch_state(path)
    if not isinstance(sd, dict):
        raise WeightsError(f"{path}: expected a TarDAL generator state dict, got {type(sd).__name__}")
    # tardal+.pt and tardal++.pt hold thousands of subnormal floats (|x| < 1.2e-38), which make CPU
    # convolutions many times slower; each contributes < 1e-35 to an output, so they are set to zero.
    tiny = torch.finfo(torch.float32).tiny
    sd = {k: (torch.where(v.abs() < tiny, torch.zeros_like(v), v) if v.is_floating_point() else v)
          for k, v in sd.items()}
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{path}: not a TarDAL generator checkpoint ({exc})") from exc
    return net


def _vi_bgr(vi: object) -> np.ndarray:
    """Visible image as ``cv2.imread(p, IMREAD_COLOR)`` gives it (8-bit BGR); arrays are converted."""
    import cv2

    src = P.source_of(vi)
    if src is not None:
        a = cv2.imread(src, cv2.IMREAD_COLOR)
        if a is not None:
            return a
    return np.ascontiguousarray(P.read_rgb_u8(vi)[..., ::-1])


def _spec(variant: str) -> WeightSpec:
    return WeightSpec(
        folder="TarDAL",
        filename=f"{variant}.pt",
        url=f"https://raw.githubusercontent.com/JinyuanLiu-CV/TarDAL/{_COMMIT}/weights/{variant}.pt",
        sha256=_SHA[variant],
        license="GPL-3.0",
        source=f"JinyuanLiu-CV/TarDAL@{_COMMIT}:weights/{variant}.pt",
        paper=_PAPER,
        meta={"purpose": _PURPOSE[variant]},
    )


@METHODS.register("tardal", aliases=("tar_dal",), tags=("deep", "gan", "task-driven"), paper=_PAPER)
class TarDAL(TorchFusionMethod):
    """TarDAL generator (official checkpoints, eval-mode BatchNorm, official OpenCV pipeline)."""

    display_name = "TarDAL"
    family = "gan"
    paper = _PAPER
    tile_margin = 12  # receptive-field radius 8 (eight 3x3 convs)
    weight_specs = {v: _spec(v) for v in _SHA}
    default_variant: str = "tardal"

    def __init__(self, variant: "Variant | None" = None,
                 postprocess: Literal["official", "clean"] = "official", **kw: Any):
        super().__init__(**kw)
        variant = (variant or self.default_variant).lower()
        if variant not in _SHA:
            raise IvifError(f"TarDAL: unknown variant {variant!r}; choose one of {', '.join(_SHA)}")
        if postprocess not in ("official", "clean"):
            raise IvifError(f"TarDAL: postprocess must be 'official' or 'clean', got {postprocess!r}")
        self.variant = variant
        self.postprocess = postprocess
        if variant != "tardal":
            self.display_name = {"tardal+": "TarDAL+", "tardal++": "TarDAL++"}[variant]

    def build_network(self) -> nn.Module:
        # An explicit single file is the checkpoint for the chosen variant.
        from ..weights import resolve

        spec = self.weight_specs[self.variant]
        net = load_tardal_state(TarDALGenerator(), resolve(spec, self.weights))
        return net.to(memory_format=torch.channels_last)

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        # Channels-last is oneDNN's fast layout on CPU (about 25 % less time, same values to 1e-6).
        cl = torch.channels_last
        return self.network(*(x.contiguous(memory_format=cl) for x in inputs)).contiguous()

    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        import cv2

        ir_g = P.read_gray(ir, "cv2_gray").astype(np.uint8)
        vi_g = cv2.cvtColor(_vi_bgr(vi), cv2.COLOR_BGR2GRAY)
        # The official code divides uint8 by 255. in float64 and then casts to float32.
        a = torch.from_numpy((ir_g / 255.0).astype(np.float32))[None, None]
        b = torch.from_numpy((vi_g / 255.0).astype(np.float32))[None, None]
        return a, b

    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        import cv2

        x = np.clip(raw.astype(np.float32), 0.0, 1.0) * np.float32(255.0)
        y = x.astype(np.uint8) if self.postprocess == "official" else np.clip(np.rint(x), 0, 255).astype(np.uint8)
        if not P.is_colour(vi):
            return y
        ycrcb = cv2.cvtColor(_vi_bgr(vi), cv2.COLOR_BGR2YCrCb)
        ycrcb[..., 0] = y
        return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)

    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir, vi

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        return raw.clamp(0.0, 1.0)


@METHODS.register("tardal+", aliases=("tardal_plus", "tardal-det"), tags=("deep", "gan", "task-driven"),
                  paper=_PAPER)
class TarDALPlus(TarDAL):
    """TarDAL+ : the generator checkpoint optimised for object detection (``tardal+.pt``)."""

    display_name = "TarDAL+"
    default_variant = "tardal+"


@METHODS.register("tardal++", aliases=("tardal_plusplus", "tardal-joint"), tags=("deep", "gan", "task-driven"),
                  paper=_PAPER)
class TarDALPlusPlus(TarDAL):
    """TarDAL++ : the jointly optimised generator checkpoint (``tardal++.pt``, VIF-Benchmark's default)."""

    display_name = "TarDAL++"
    default_variant = "tardal++"
