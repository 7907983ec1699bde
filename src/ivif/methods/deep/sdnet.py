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
from ..weights import WeightSpec
from ._pipeline import (assign_tf_variables, bytescale, load_tf_weights, pil_colourise, read_gray,
                        resolve_tf_checkpoint)
from ._torch import TorchFusionMethod

PAPER = ("H. Zhang, J. Ma, \"SDNet: A Versatile Squeeze-and-Decomposition Network for Real-Time Image "
         "Fusion\", IJCV 129 (2021) 2761-2785")

_REPO = "HaoZhang1018/SDNet"
_COMMIT = "bf6a2eeed1f723f0fd319b882d2bf38016bf6e55"
# VIF-Benchmark keeps byte-identical copies of the TF1 checkpoints under one naming scheme.
_VIFB = "Linfeng-Tang/VIF-Benchmark"
_VIFB_COMMIT = "23f2e51fc1b084310d998999222ce02dc364b6eb"


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


def tf1_specs(folder: str, stem: str, repo: str, commit: str, upstream: str, license: str, paper: str,
              npz_sha: str, index_sha: str, data_sha: str) -> dict[str, WeightSpec]:
    """WeightSpecs of a TF1 checkpoint: ``default`` (the ``.npz`` conversion, found locally only),
    ``index`` and ``index_data`` (the original files, downloadable from VIF-Benchmark, whose copies are
    byte-identical to ``repo@commit``'s ``upstream`` checkpoint)."""
    src = f"{repo}@{commit} {upstream}"
    base = f"https://github.com/{_VIFB}/raw/{_VIFB_COMMIT}/Checkpoint/{folder}/{stem}"
    return {
        "default": WeightSpec(folder, f"{stem}.npz", base + ".index", npz_sha, license,
                              src + " (converted: TF variable name -> array)", paper),
        "index": WeightSpec(folder, f"tf_checkpoint/{stem}.index", base + ".index", index_sha, license,
                            src, paper),
        "index_data": WeightSpec(folder, f"tf_checkpoint/{stem}.data-00000-of-00001",
                                 base + ".data-00000-of-00001", data_sha, license, src, paper),
    }


def gray_minus1_1(x: Any) -> torch.Tensor:
    """Official input of the HaoZhang/Tang TF1 scripts: ``scipy.misc.imread(flatten=True, mode='YCbCr')``
    luminance, ``(x - 127.5) / 127.5`` in float64, fed to the graph as float32; ``1x1xHxW``."""
    g = read_gray(x, "scipy_flatten_ycbcr").astype(np.float64)
    a = ((g - 127.5) / 127.5).astype(np.float32)
    return torch.from_numpy(a)[None, None]


def stretched_colour(y255: np.ndarray, vi: Any, stretch: bool) -> np.ndarray:
    """Official save of a fused image on the 0..255 scale: ``scipy.misc.imsave`` min-max stretch
    (``stretch=True``) or plain rounding with clipping (``stretch=False``), then PIL colourisation
    with the visible image's Cb/Cr. Returns uint8 ``HxWx3``."""
    y = np.asarray(y255, dtype=np.float32)
    u8 = bytescale(y) if stretch else np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return pil_colourise(u8, vi)


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
        path = resolve_tf_checkpoint(self)
        net = SDNetSqueeze()
        assign_tf_variables(net, load_tf_weights(path), _tf_table(), source=path)
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
