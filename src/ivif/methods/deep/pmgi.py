"""PMGI (Zhang et al., AAAI 2020) with the official IR-VIS TF1 weights (``CGAN.model-1``).

Two paths, gradient (input ``[ir, ir, vi]``) and intensity (input ``[vi, vi, ir]``), of dense
conv layers that exchange information through 1x1 convs after layers 2 and 3; the eight feature
maps are fused by a 1x1 conv + tanh. Every conv is followed by batch normalisation and LReLU(0.2).

**Batch normalisation as the official test runs it**: the script builds ``tf.contrib.layers.batch_norm``
in training mode and restores only the conv weights, so every BN layer normalises with the *current
image's own* mean and biased variance over HxW, gamma = 1, beta = 0, epsilon 1e-5 raised to 1.001e-5
by TensorFlow's fused kernel. The stored ``BatchNorm/*`` values are ignored. The output therefore
depends on image-wide statistics (``global_statistics``): tiled inference normalises per tile.

Official pipeline (``PMGI.py`` of VIF-Benchmark, same as ``HaoZhang1018/PMGI_AAAI2020``): luminance via
``scipy.misc.imread(flatten=True, mode='YCbCr')``, ``(x - 127.5) / 127.5``; output ``y*127.5+127.5``
saved with ``scipy.misc.imsave`` (min-max stretch), colourised with the visible image's PIL Cb/Cr.
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

PAPER = ("H. Zhang, H. Xu, Y. Xiao, X. Guo, J. Ma, \"Rethinking the Image Fusion: A Fast Unified Image "
         "Fusion Network based on Proportional Maintenance of Gradient and Intensity\", AAAI 2020, 12797-12804")

_REPO = "HaoZhang1018/PMGI_AAAI2020"
_COMMIT = "61a85e49a306f5e9cdb05479696ad7c66253f83d"
#: TensorFlow's fused batch norm raises any smaller epsilon to this value
BN_EPS = 1.001e-5

# (name, in, out, kernel) of each path's layers; "_vi" names are the intensity path
_LAYERS = [("layer1", 3, 16, 5), ("layer2", 16, 16, 3), ("layer2_3", 32, 16, 1), ("layer3", 48, 16, 3),
           ("layer3_4", 32, 16, 1), ("layer4", 64, 16, 3)]


class PMGINet(nn.Module):
    """``forward(ir, vi)`` on ``Bx1xHxW`` in [-1, 1] -> fused ``Bx1xHxW`` (tanh); each image of a batch
    is normalised with its own statistics, as the official batch-of-one test."""

    def __init__(self) -> None:
        super().__init__()
        for name, cin, cout, k in _LAYERS:
            for suffix in ("", "_vi"):
                self.add_module(name + suffix, nn.Conv2d(cin, cout, k, padding=k // 2))
        self.layer5 = nn.Conv2d(128, 1, 1)

    def _bn_act(self, layer: str, x: torch.Tensor) -> torch.Tensor:
        y = getattr(self, layer)(x)
        # per-image statistics over HxW, biased variance, gamma 1, beta 0. For one image, training-mode
        # batch_norm is exactly that and runs ~4x faster than instance_norm on NHWC tensors.
        if y.shape[0] == 1:
            y = F.batch_norm(y, None, None, training=True, eps=BN_EPS)
        else:
            y = F.instance_norm(y, eps=BN_EPS)
        return F.leaky_relu(y, 0.2, inplace=True)

    def forward(self, ir: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        bn = self._bn_act
        i1, v1 = bn("layer1", torch.cat([ir, ir, vi], 1)), bn("layer1_vi", torch.cat([vi, vi, ir], 1))
        i2, v2 = bn("layer2", i1), bn("layer2_vi", v1)
        mid2 = torch.cat([i2, v2], 1)
        i23, v23 = bn("layer2_3", mid2), bn("layer2_3_vi", mid2)
        i3, v3 = bn("layer3", torch.cat([i1, i2, i23], 1)), bn("layer3_vi", torch.cat([v1, v2, v23], 1))
        mid3 = torch.cat([i3, v3], 1)
        i34, v34 = bn("layer3_4", mid3), bn("layer3_4_vi", mid3)
        i4 = bn("layer4", torch.cat([i1, i2, i3, i34], 1))
        v4 = bn("layer4_vi", torch.cat([v1, v2, v3, v34], 1))
        return torch.tanh(self.layer5(torch.cat([i1, v1, i2, v2, i3, v3, i4, v4], 1)))


def _tf_table(net: nn.Module) -> dict[str, str]:
    """torch parameter name -> TF variable name (``layer2_3_vi.weight`` <-> ``fusion_model/layer2_3_vi/w2_3_vi``)."""
    table = {}
    for name in net.state_dict():
        layer, leaf = name.split(".")
        table[name] = f"fusion_model/{layer}/{'w' if leaf == 'weight' else 'b'}{layer[len('layer'):]}"
    return table


@METHODS.register("pmgi", tags=("deep", "cnn"), paper=PAPER)
class PMGI(TorchFusionMethod):
    """PMGI with the official IR-VIS weights; per-image batch normalisation as the official test.

    Options: ``stretch`` (default ``True``, official): min-max stretch the output to 0..255 as
    ``scipy.misc.imsave`` does; ``False`` maps ``[-1, 1]`` to ``[0, 255]`` linearly.
    """

    display_name = "PMGI"
    family = "cnn"
    paper = PAPER
    global_statistics = True  # every BN layer uses the whole image's mean/variance
    tile_margin = 16  # radius 2 + 1 + 1 + 1 = 5 for the convolutions; BN statistics stay per tile
    weight_specs = tf1_specs(
        "PMGI", "PMGI", _REPO, _COMMIT, "Code_PMGI/IR_VI/checkpoint/CGAN_120/CGAN.model-1", "MIT", PAPER,
        npz_sha="d91866ad2136931c2643314723570f00a036593ece1b1a8fecd3626ed3b44acd",
        index_sha="043868b3410d237300f80d1d023192f01bd5fd3d7360c2832ffdeb90c01939ea",
        data_sha="005d29cd3fdbf3805369a8372ce3fb15190905db6aed7dee661880776b8cfccf",
    )

    def __init__(self, stretch: bool = True, **kw: Any):
        super().__init__(**kw)
        self.stretch = bool(stretch)

    def build_network(self) -> nn.Module:
        specs = self.weight_specs
        checkpoint = (specs["index"], specs["index_data"])
        variables, path = resolve_tf_variables(specs["default"], checkpoint, self.weights)
        net = PMGINet()
        assign_tf_variables(net, variables, _tf_table(net), source=path)
        return net.to(memory_format=torch.channels_last)

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        ir, vi = (x.contiguous(memory_format=torch.channels_last) for x in inputs)
        return self.network(ir, vi).contiguous()

    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        return gray_minus1_1(ir), gray_minus1_1(vi)

    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        return stretched_colour(raw * np.float32(127.5) + np.float32(127.5), vi, self.stretch)

    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir * 2 - 1, vi * 2 - 1

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        return raw * 0.5 + 0.5
