"""U2Fusion (Xu et al., TPAMI 2022): unified unsupervised dense fusion network, official TF1 weights.

Official pipeline (VIF-Benchmark ``U2Fusion/U2Fusion.py`` with ``hanna-xu/U2Fusion``'s network and
checkpoint): both images read as 8-bit grey with PIL ``convert('L')``, /255; the network sees the
two-channel input ``concat[SOURCE1, SOURCE2]`` with SOURCE1 = infrared, SOURCE2 = visible (the original
``test_main.py`` feeds them the other way round; the network is not symmetric). Encoder: conv 2->44 and a
dense block of five convs (each output concatenated *in front of* its input, 264 channels); decoder:
four convs down to 1 channel, ``tanh(x)/2 + 0.5``. Every conv is reflection padding 1 + 3x3 VALID conv with
leaky ReLU ``max(x, 0.2x)`` except the last. The [0, 1] output is saved with ``scipy.misc.imsave``
(min-max stretch to 0..255) and colourised by PIL with the visible image's Cb/Cr.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import IvifError
from ...registry import METHODS
from ..tf_checkpoint import resolve_tf_variables
from ..weights import WeightSpec
from ._pipeline import assign_tf_variables, bytescale, is_colour, pil_colourise, read_gray
from ._torch import TorchFusionMethod

PAPER = ("H. Xu, J. Ma, J. Jiang, X. Guo, H. Ling, \"U2Fusion: A Unified Unsupervised Image Fusion "
         "Network\", IEEE TPAMI 44(1) (2022) 502-518")

_REPO = "https://github.com/hanna-xu/U2Fusion/raw/0a5882140df67b3e0b588e1f2233e18cf944f1a4"
_SRC = "hanna-xu/U2Fusion@0a5882140df67b3e0b588e1f2233e18cf944f1a4 model/model.ckpt"
_LICENSE = "not stated (hanna-xu/U2Fusion has no license; VIF-Benchmark copy: MIT)"


class _Conv(nn.Module):
    """Reflection pad 1 + 3x3 VALID conv, optionally followed by leaky ReLU(0.2)."""

    def __init__(self, cin: int, cout: int, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return F.leaky_relu(y, 0.2) if self.act else y


class U2FusionNet(nn.Module):
    """``forward(s1, s2)`` on ``Bx1xHxW`` in [0, 1] -> fused ``Bx1xHxW`` in (0, 1) (``tanh/2 + 0.5``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1_1 = _Conv(2, 44)
        self.dense = nn.ModuleList([_Conv(44 * (i + 1), 44) for i in range(5)])
        self.conv2_1 = _Conv(264, 128)
        self.conv2_2 = _Conv(128, 64)
        self.conv2_3 = _Conv(64, 32)
        self.conv2_4 = _Conv(32, 1, act=False)

    def forward(self, s1: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
        x = self.conv1_1(torch.cat([s1, s2], 1))
        for layer in self.dense:
            x = torch.cat([layer(x), x], 1)  # official order: new maps first
        y = self.conv2_4(self.conv2_3(self.conv2_2(self.conv2_1(x))))
        return torch.tanh(y) / 2 + 0.5


def _tf_table() -> dict[str, str]:
    """torch parameter name -> TF variable name of ``model.ckpt`` (explicit)."""
    layers = {"conv1_1": "Generator/encoder/conv1_1"}
    layers.update({f"dense.{i}": f"Generator/encoder/dense_block_conv{i + 1}" for i in range(5)})
    layers.update({f"conv2_{i}": f"Generator_1/decoder/conv2_{i}" for i in range(1, 5)})
    table: dict[str, str] = {}
    for torch_name, tf_scope in layers.items():
        table[f"{torch_name}.conv.weight"] = f"{tf_scope}/kernel"
        table[f"{torch_name}.conv.bias"] = f"{tf_scope}/bias"
    return table


@METHODS.register("u2fusion", tags=("deep", "general"), paper=PAPER)
class U2Fusion(TorchFusionMethod):
    """U2Fusion with the official weights, run as VIF-Benchmark runs it.

    Options (defaults reproduce VIF-Benchmark, the fidelity reference):
      * ``order``: ``"ir_vi"`` (default; SOURCE1 = infrared) or ``"vi_ir"`` (the original
        ``test_main.py``'s order; gives a different image);
      * ``stretch``: ``True`` (default) min-max stretches the output to 0..255 as ``scipy.misc.imsave``;
        ``False`` maps the network's [0, 1] output to 0..255 directly (rounded), without the image-wide,
        contrast-changing stretch.
    """

    display_name = "U2Fusion"
    family = "general"
    paper = PAPER
    global_statistics = True  # the official min-max stretch uses the whole image's range
    tile_margin = 14  # 10 stacked 3x3 convs: receptive-field radius 10
    weight_specs: ClassVar[dict[str, WeightSpec]] = {
        "default": WeightSpec(
            folder="U2Fusion", filename="model.ckpt.npz",
            url=f"{_REPO}/model/model.ckpt.data-00000-of-00001",
            sha256="70554ff33dc1b5d06f76e4b83da194a9f1013cc1ccca6052c93a275b9c6ed4bd",
            license=_LICENSE, source=_SRC + " (converted to .npz: TF name -> array)", paper=PAPER,
            meta={"format": "npz conversion of the TF1 checkpoint below"},
        ),
        "ckpt_index": WeightSpec(
            folder="U2Fusion", filename="tf_checkpoint/model.ckpt.index",
            url=f"{_REPO}/model/model.ckpt.index",
            sha256="15b7d283a1de8f616cc42978346bd24d47a9c380d624370368b956beb593014e",
            license=_LICENSE, source=_SRC, paper=PAPER,
        ),
        "ckpt_data": WeightSpec(
            folder="U2Fusion", filename="tf_checkpoint/model.ckpt.data-00000-of-00001",
            url=f"{_REPO}/model/model.ckpt.data-00000-of-00001",
            sha256="e50cada8d4ec92f2577ad5db5d212fba521dffb35d04e00a20364b43512c64c8",
            license=_LICENSE, source=_SRC, paper=PAPER,
        ),
    }
    ORDERS: ClassVar[tuple[str, ...]] = ("ir_vi", "vi_ir")

    def __init__(self, order: str = "ir_vi", stretch: bool = True, **kw: Any):
        super().__init__(**kw)
        if order not in self.ORDERS:
            raise IvifError(f"U2Fusion: unknown order {order!r}; choose 'ir_vi' (VIF-Benchmark) or 'vi_ir' "
                            "(original test_main.py)")
        self.order = order
        if not isinstance(stretch, (bool, np.bool_)):
            raise IvifError(f"{type(self).__name__}: option stretch must be true or false, got {stretch!r}")
        self.stretch = bool(stretch)
        self.global_statistics = self.stretch

    def build_network(self) -> nn.Module:
        ckpt = (self.weight_specs["ckpt_index"], self.weight_specs["ckpt_data"])
        variables, src = resolve_tf_variables(self.weight_specs["default"], ckpt, self.weights)
        net = U2FusionNet()
        assign_tf_variables(net, variables, _tf_table(), source=src)
        return net.to(memory_format=torch.channels_last)  # oneDNN's fast layout for these convs

    def run_network(self, ir: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        cl = torch.channels_last
        ir, vi = ir.contiguous(memory_format=cl), vi.contiguous(memory_format=cl)
        return self.network(ir, vi) if self.order == "ir_vi" else self.network(vi, ir)

    # official path ------------------------------------------------------------------------------
    def official_inputs(self, ir: Any, vi: Any) -> tuple[torch.Tensor, ...]:
        # scipy.misc.imread(mode='L') / 255.0 is float64; the graph's placeholder casts to float32.
        a = (read_gray(ir, "pil_L").astype(np.float64) / 255.0).astype(np.float32)
        b = (read_gray(vi, "pil_L").astype(np.float64) / 255.0).astype(np.float32)
        return torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]

    def official_output(self, raw: np.ndarray, ir: Any, vi: Any) -> np.ndarray:
        y = bytescale(raw) if self.stretch else np.clip(np.rint(raw * 255.0), 0, 255).astype(np.uint8)
        return pil_colourise(y, vi) if is_colour(vi) else y

    # tensor path --------------------------------------------------------------------------------
    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir, vi

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        if not self.stretch:
            return raw
        lo = raw.amin(dim=(1, 2, 3), keepdim=True)
        hi = raw.amax(dim=(1, 2, 3), keepdim=True)
        return (raw - lo) / (hi - lo).clamp_min(1e-12)
