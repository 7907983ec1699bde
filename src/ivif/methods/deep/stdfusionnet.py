"""STDFusionNet (Ma, Tang et al., TIM 2021) with the official TF1 weights (``Fusion.model-29``).

Two feature-extraction networks (visible, infrared; identical structure, separate weights) of a 5x5
conv and three residual blocks, their 64-channel outputs concatenated ``[vi, ir]`` and decoded by
four residual blocks to a tanh image in [-1, 1]. Explicit zero padding (``tf.pad``) + VALID convs,
i.e. symmetric zero padding k//2. LeakyReLU is TF's default ``tf.nn.leaky_relu`` (slope 0.2).

Official pipeline (``STDFusionNet.py`` of VIF-Benchmark, same as ``Linfeng-Tang/STDFusionNet``):
luminance via ``scipy.misc.imread(flatten=True, mode='YCbCr')``, ``x / 127.5 - 1``; output
``(y + 1) * 127.5`` saved with ``scipy.misc.imsave`` (min-max stretch), colourised with PIL Cb/Cr.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...registry import METHODS
from ..tf_checkpoint import resolve_tf_variables
from ._pipeline import assign_tf_variables, read_gray, stretched_colour, tf1_specs
from ._torch import TorchFusionMethod

PAPER = ("J. Ma, L. Tang, M. Xu, H. Zhang, G. Xiao, \"STDFusionNet: An Infrared and Visible Image Fusion "
         "Network Based on Salient Target Detection\", IEEE TIM 70 (2021) 1-13")

_REPO = "Linfeng-Tang/STDFusionNet"
_COMMIT = "4a8772c0c3fcec18e6fc0f81ff9fb7ae1ec12743"
_SCOPE = "STDFusion_model"


class _Block(nn.Module):
    """Residual block: 1x1 + act, 3x3 + act, 1x1; skip = identity or a bias-free 1x1 projection."""

    def __init__(self, cin: int, cmid: int, cout: int, project: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cmid, 1)
        self.conv2 = nn.Conv2d(cmid, cmid, 3, padding=1)
        self.conv3 = nn.Conv2d(cmid, cout, 1)
        self.identity_conv = nn.Conv2d(cin, cout, 1, bias=False) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x2 = _rows(x)
        y = F.leaky_relu(_nhwc(_pointwise(x2, self.conv1), b, h, w), 0.2, inplace=True)
        y = F.leaky_relu(self.conv2(y), 0.2, inplace=True)
        out = _pointwise(_rows(y), self.conv3)
        # the skip is accumulated into the same buffer (no separate tensor and add pass)
        if self.identity_conv is None:
            out.add_(x2)
        else:
            out.addmm_(x2, self.identity_conv.weight.view(-1, c).t())
        return _nhwc(out, b, h, w)


def _rows(t: torch.Tensor) -> torch.Tensor:
    """``BxCxHxW`` -> ``(B*H*W)xC`` rows (a view for NHWC-stored tensors)."""
    return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])


def _nhwc(rows: torch.Tensor, b: int, h: int, w: int) -> torch.Tensor:
    """``(B*H*W)xC`` rows -> ``BxCxHxW`` tensor stored NHWC (a view)."""
    return rows.view(b, h, w, -1).permute(0, 3, 1, 2)


def _pointwise(rows: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    # A 1x1 conv is a GEMM over pixel rows: one MKL call, ~17% faster here than the conv path.
    wt = conv.weight.view(conv.weight.shape[0], -1).t()
    return torch.addmm(conv.bias, rows, wt) if conv.bias is not None else rows @ wt


class _Extraction(nn.Module):
    """5x5 conv 1->16 + LReLU, then blocks 16->16 (identity), 16->32, 32->64, each + LReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.block1 = _Block(16, 16, 16, project=False)
        self.block2 = _Block(16, 16, 32, project=True)
        self.block3 = _Block(32, 32, 64, project=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(x), 0.2)
        for b in (self.block1, self.block2, self.block3):
            x = F.leaky_relu(b(x), 0.2, inplace=True)
        return x


class _Reconstruction(nn.Module):
    """Blocks 128->64 (ELU), 64->32 (ELU), 32->16 (LReLU), 16->1 (tanh), all with 1x1 projections."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = _Block(128, 128, 64, project=True)
        self.block2 = _Block(64, 64, 32, project=True)
        self.block3 = _Block(32, 32, 16, project=True)
        self.block4 = _Block(16, 16, 1, project=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.elu(self.block1(x))
        x = F.elu(self.block2(x))
        x = F.leaky_relu(self.block3(x), 0.2)
        return torch.tanh(self.block4(x))


class STDFusionNetModel(nn.Module):
    """``forward(vi, ir)`` on ``Bx1xHxW`` in [-1, 1] -> fused ``Bx1xHxW`` (tanh), as the official model."""

    def __init__(self) -> None:
        super().__init__()
        self.vi_extraction_network = _Extraction()
        self.ir_extraction_network = _Extraction()
        self.reconstruction_network = _Reconstruction()

    def forward(self, vi: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        feat = torch.cat([self.vi_extraction_network(vi), self.ir_extraction_network(ir)], 1)
        return self.reconstruction_network(feat)


def _tf_table(net: nn.Module) -> dict[str, str]:
    """torch parameter name -> TF variable name: the module tree mirrors the TF scopes one to one
    (``a.block1.conv2.weight`` <-> ``STDFusion_model/a/block1/conv2/w``)."""
    table = {}
    for name in net.state_dict():
        *scope, leaf = name.split(".")
        table[name] = f"{_SCOPE}/{'/'.join(scope)}/{'w' if leaf == 'weight' else 'b'}"
    return table


def _minus1_1(x: Any) -> torch.Tensor:
    # The official script computes x / 127.5 - 1.0 in float64 (not (x - 127.5) / 127.5).
    g = read_gray(x, "scipy_flatten_ycbcr").astype(np.float64)
    return torch.from_numpy((g / 127.5 - 1.0).astype(np.float32))[None, None]


@METHODS.register("stdfusionnet", aliases=("stdfusion",), tags=("deep", "cnn"), paper=PAPER)
class STDFusionNet(TorchFusionMethod):
    """STDFusionNet with the official weights (TF1 checkpoint ``Fusion.model-29``).

    Options: ``stretch`` (default ``True``, official): min-max stretch the output to 0..255 as
    ``scipy.misc.imsave`` does; ``False`` maps ``[-1, 1]`` to ``[0, 255]`` linearly.
    """

    display_name = "STDFusionNet"
    family = "cnn"
    paper = PAPER
    tile_margin = 12  # receptive-field radius 2 + 3 x 1 (encoder) + 4 x 1 (decoder) = 9
    weight_specs = tf1_specs(
        "STDFusionNet", "Fusion.model-29", _REPO, _COMMIT, "checkpoint/Fusion.model-29", "MIT", PAPER,
        npz_sha="c210db29ae2cdcca1299ff54981a54ccfbe15b49182cb5fbd8fdd0b30e6aca76",
        index_sha="72141e22e9da68e15d6d8341c6d998869e5a113b1b01659c15a255ed3a35b3fc",
        data_sha="3c7ff5b01671dbf59039dd80c6b7df8f149237a4f8bd05405fe22ca9959db92e",
    )

    def __init__(self, stretch: bool = True, **kw: Any):
        super().__init__(**kw)
        self.stretch = bool(stretch)

    def build_network(self) -> nn.Module:
        specs = self.weight_specs
        checkpoint = (specs["index"], specs["index_data"])
        variables, path = resolve_tf_variables(specs["default"], checkpoint, self.weights)
        net = STDFusionNetModel()
        assign_tf_variables(net, variables, _tf_table(net), source=path)
        # oneDNN runs these narrow convolutions markedly faster on NHWC tensors.
        return net.to(memory_format=torch.channels_last)

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        ir, vi = (x.contiguous(memory_format=torch.channels_last) for x in inputs)
        return self.network(vi, ir).contiguous()

    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        return _minus1_1(ir), _minus1_1(vi)

    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        return stretched_colour((raw + np.float32(1.0)) * np.float32(127.5), vi, self.stretch)

    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir * 2 - 1, vi * 2 - 1

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        return raw * 0.5 + 0.5
