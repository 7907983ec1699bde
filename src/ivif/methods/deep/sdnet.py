"""SDNet (Zhang & Ma, IJCV 2021): the squeeze (fusion) network with the official IR-VIS TF1 weights.

Only the squeeze half runs at test time: two dense 4-layer paths (IR, VIS) whose eight feature maps
are concatenated and reduced by a 1x1 conv + tanh to the fused image in [-1, 1]. The decomposition
layers 6-9 (trained to reconstruct the sources) are not needed for fusion and are not loaded.

Official pipeline (``SDNet.py`` of VIF-Benchmark, same as ``HaoZhang1018/SDNet``): luminance read with
``scipy.misc.imread(flatten=True, mode='YCbCr')``, scaled to [-1, 1]; output ``y*127.5+127.5`` saved
with ``scipy.misc.imsave`` (min-max stretch), then colourised with the visible image's PIL Cb/Cr.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...registry import METHODS
from ..tf_checkpoint import resolve_tf_variables
from ._pipeline import assign_tf_variables, gray_minus1_1, stretched_colour, tf1_specs
from ._torch import TorchFusionMethod

PAPER = ("H. Zhang, J. Ma, \"SDNet: A Versatile Squeeze-and-Decomposition Network for Real-Time Image "
         "Fusion\", IJCV 129 (2021) 2761-2785")

_REPO = "HaoZhang1018/SDNet"
_COMMIT = "bf6a2eeed1f723f0fd319b882d2bf38016bf6e55"


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    # TF 'SAME' with stride 1 and an odd kernel is symmetric zero padding k//2.
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class _Path(nn.Module):
    """One dense feature path: 5x5 1->16, 3x3 16->16, 3x3 32->16, 3x3 48->16, each + LReLU(0.2)."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([_conv(1, 16, 5), _conv(16, 16, 3), _conv(32, 16, 3), _conv(48, 16, 3)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats: list[torch.Tensor] = []
        for i, conv in enumerate(self.layers):
            inp = x if i == 0 else (feats[0] if i == 1 else torch.cat(feats, 1))
            feats.append(F.leaky_relu(conv(inp), 0.2, inplace=True))
        return feats


class SDNetSqueeze(nn.Module):
    """The fusion half of SDNet: ``forward(ir, vi)`` on ``Bx1xHxW`` in [-1, 1] -> fused ``Bx1xHxW`` (tanh)."""

    def __init__(self) -> None:
        super().__init__()
        self.ir = _Path()
        self.vi = _Path()
        self.fuse = nn.Conv2d(128, 1, 1)

    def forward(self, ir: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        fi, fv = self.ir(ir), self.vi(vi)
        # channel order of the official concat: ir1, vi1, ir2, vi2, ir3, vi3, ir4, vi4
        cat = torch.cat([t for pair in zip(fi, fv) for t in pair], 1)
        return torch.tanh(self.fuse(cat))


def _tf_table() -> dict[str, str]:
    """torch parameter name -> TF variable name of the official checkpoint."""
    table: dict[str, str] = {}
    for path in ("ir", "vi"):
        for i in range(4):
            scope = f"fusion_model/layer{i + 1}_{path}"
            table[f"{path}.layers.{i}.weight"] = f"{scope}/w{i + 1}_{path}"
            table[f"{path}.layers.{i}.bias"] = f"{scope}/b{i + 1}_{path}"
    table["fuse.weight"] = "fusion_model/layer5_fuse/w5_fuse"
    table["fuse.bias"] = "fusion_model/layer5_fuse/b5_fuse"
    return table


@METHODS.register("sdnet", tags=("deep", "cnn"), paper=PAPER)
class SDNet(TorchFusionMethod):
    """SDNet squeeze network with the official IR-VIS weights (TF1 checkpoint ``IRVIS.model-10``).

    Options: ``stretch`` (default ``True``, official): min-max stretch the output to 0..255 as
    ``scipy.misc.imsave`` does; ``False`` maps ``[-1, 1]`` to ``[0, 255]`` linearly (no per-image
    contrast change).
    """

    display_name = "SDNet"
    family = "cnn"
    paper = PAPER
    tile_margin = 8  # receptive-field radius 2 + 1 + 1 + 1 = 5
    weight_specs = tf1_specs(
        "SDNet", "SDNet.model", _REPO, _COMMIT, "IR_VIS/checkpoint/IRVIS.model-10", "MIT", PAPER,
        npz_sha="31236b2538d8587824126fb2387c102a254b26340cdf801ca8cdce276929869a",
        index_sha="bed2d4628732a36bc972de1189c4e139d8bc233077da20156e8e662a17df35aa",
        data_sha="17e4426453f09f3dae7887244f48eed54550bdd584792ac284597ee3713293a0",
    )

    def __init__(self, stretch: bool = True, **kw: Any):
        super().__init__(**kw)
        self.stretch = bool(stretch)

    def build_network(self) -> nn.Module:
        specs = self.weight_specs
        checkpoint = (specs["index"], specs["index_data"])
        variables, path = resolve_tf_variables(specs["default"], checkpoint, self.weights)
        net = SDNetSqueeze()
        assign_tf_variables(net, variables, _tf_table(), source=path)
        # oneDNN runs these narrow convolutions about twice as fast on NHWC tensors.
        return net.to(memory_format=torch.channels_last)

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        xs = [x.contiguous(memory_format=torch.channels_last) for x in inputs]
        return self.network(*xs).contiguous()

    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        return gray_minus1_1(ir), gray_minus1_1(vi)

    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        return stretched_colour(raw * np.float32(127.5) + np.float32(127.5), vi, self.stretch)

    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir * 2 - 1, vi * 2 - 1

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        return raw * 0.5 + 0.5
