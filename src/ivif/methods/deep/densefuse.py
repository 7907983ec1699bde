"""DenseFuse (Li & Wu, TIP 2019): dense-block autoencoder with the official TF1 weights.

Official pipeline (VIF-Benchmark ``DenseFuse/``, network and weights of ``hli1221/imagefusion_densefuse``):
both images read as 8-bit grey with PIL ``convert('L')`` and fed on the 0..255 scale; a shared encoder
(conv 1->16, then a dense block of three convs, each output concatenated *in front of* its input)
gives 64 feature maps per image; the maps are fused by ``addition`` (VIF-Benchmark) or the repository's
``l1`` rule; a 4-conv decoder reconstructs an unbounded grey-level image, which ``scipy.misc.imsave``
min-max stretches to 8 bit; PIL colourises it with the visible image's Cb/Cr. Every conv is reflection
padding 1 + 3x3 VALID conv.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import IvifError, WeightsError
from ...registry import METHODS
from ..tf_checkpoint import resolve_tf_variables
from ..weights import WeightSpec
from ._pipeline import assign_tf_variables, bytescale, is_colour, pil_colourise, read_gray
from ._torch import TorchFusionMethod

PAPER = ("H. Li, X.-J. Wu, \"DenseFuse: A Fusion Approach to Infrared and Visible Images\", IEEE "
         "Transactions on Image Processing 28(5) (2019) 2614-2623")

# VIF-Benchmark ships the checkpoint byte-identical to hli1221's densefuse_gray.zip
# (densefuse_model_bs2_epoch4_all_weight_1e2.ckpt), as plain files that can be fetched one by one.
_VB = "https://github.com/Linfeng-Tang/VIF-Benchmark/raw/23f2e51fc1b084310d998999222ce02dc364b6eb"
_SRC = ("hli1221/imagefusion_densefuse@ef23f0f06c4fce7a6c2c04c9d20119e3d96507b9 models/densefuse_gray.zip "
        "-> densefuse_model_bs2_epoch4_all_weight_1e2.ckpt (identical to Linfeng-Tang/VIF-Benchmark@23f2e51f "
        "Checkpoint/DenseFuse/DeseFuse.ckpt)")
_LICENSE = "not stated (hli1221/imagefusion_densefuse has no license; VIF-Benchmark copy: MIT)"
_LLVIP = "https://github.com/bupt-ai-cz/LLVIP/raw/60cdc80b47dd175c15ba849222126cbab89e7ff1"
_LLVIP_SHA = {
    "1e0": "e7607683a8bf7333a250df8715a276e442e62f746f4993650e4e8898feefb2ba",
    "1e1": "5851d64b08543d1c8c6509ca007c438ac9d7adb621b4ab90675173ca6696729c",
    "1e2": "410602b53185ada8f6ab1fce9809a2ac1d6f0eba8d1e9ee633cd3f5de8e52a5c",
    "1e3": "c186f6a9a53bf86ce2a47de0fd9514b447526abcdc06e905d0ed129adc6cd164",
}


def _llvip_spec(w: str) -> WeightSpec:
    name = f"densefuse_model_bs2_epoch4_all_weight_{w}.ckpt"
    return WeightSpec(
        folder="DenseFuse", filename=f"llvip/{name}.npz",
        # Only the TF checkpoint exists upstream; the .npz is its conversion (TF name -> array).
        url=f"{_LLVIP}/imagefusion_densefuse/models/densefuse_gray/{name}.data-00000-of-00001",
        sha256=_LLVIP_SHA[w],
        license="LLVIP terms of use: non-commercial research only",
        source=f"bupt-ai-cz/LLVIP@60cdc80b imagefusion_densefuse/models/densefuse_gray/{name} "
               "(LLVIP authors' re-training, converted to .npz)",
        paper=PAPER, meta={"ssim_weight": w, "trained_on": "LLVIP re-training"},
    )


class _ConvReLU(nn.Module):
    """Reflection pad 1 + 3x3 VALID conv (+ ReLU), the only layer type of DenseFuse."""

    def __init__(self, cin: int, cout: int, relu: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return F.relu(y) if self.relu else y


class DenseFuseNet(nn.Module):
    """Encoder + decoder of DenseFuse; ``encode(x)`` on ``Bx1xHxW`` (0..255) -> ``Bx64xHxW``,
    ``decode(f)`` -> ``Bx1xHxW`` (unbounded grey level)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1_1 = _ConvReLU(1, 16)
        self.dense_block_conv1 = _ConvReLU(16, 16)
        self.dense_block_conv2 = _ConvReLU(32, 16)
        self.dense_block_conv3 = _ConvReLU(48, 16)
        self.conv2_1 = _ConvReLU(64, 64)
        self.conv2_2 = _ConvReLU(64, 32)
        self.conv2_3 = _ConvReLU(32, 16)
        self.conv2_4 = _ConvReLU(16, 1, relu=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1_1(x)
        for layer in (self.dense_block_conv1, self.dense_block_conv2, self.dense_block_conv3):
            x = torch.cat([layer(x), x], 1)  # official order: new maps first
        return x

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return self.conv2_4(self.conv2_3(self.conv2_2(self.conv2_1(f))))

    def forward(self, ir: torch.Tensor, vi: torch.Tensor, strategy: str = "addition") -> torch.Tensor:
        # Both images go through the encoder as one batch (same weights, half the calls).
        f = self.encode(torch.cat([ir, vi], 0))
        fa, fb = f[: ir.shape[0]], f[ir.shape[0]:]
        return self.decode(fuse_features(fa, fb, strategy))


def fuse_features(fa: torch.Tensor, fb: torch.Tensor, strategy: str) -> torch.Tensor:
    """DenseFuse's fusion rules on encoder features ``BxCxHxW``.

    ``addition``: ``fa + fb``. ``l1``: per-pixel weights from the channel sums of ``|f|``
    (``w_a = l1_a / (l1_a + l1_b)``), no spatial window, as ``fusion_l1norm.py`` of the repository.
    Where both activities are zero the official code divides 0 by 0; here the weights are 1/2.
    """
    if strategy == "addition":
        return fa + fb
    la = fa.abs().sum(1, keepdim=True)
    lb = fb.abs().sum(1, keepdim=True)
    tot = la + lb
    wa = torch.where(tot > 0, la / torch.where(tot > 0, tot, torch.ones_like(tot)), torch.full_like(tot, 0.5))
    return wa * fa + (1 - wa) * fb


def _tf_table() -> dict[str, str]:
    """torch parameter name -> TF variable name (explicit, one line per layer)."""
    layers = {
        "conv1_1": "encoder/conv1_1",
        "dense_block_conv1": "encoder/dense_block_conv1",
        "dense_block_conv2": "encoder/dense_block_conv2",
        "dense_block_conv3": "encoder/dense_block_conv3",
        "conv2_1": "decoder/conv2_1",
        "conv2_2": "decoder/conv2_2",
        "conv2_3": "decoder/conv2_3",
        "conv2_4": "decoder/conv2_4",
    }
    table: dict[str, str] = {}
    for torch_name, tf_scope in layers.items():
        table[f"{torch_name}.conv.weight"] = f"{tf_scope}/kernel"
        table[f"{torch_name}.conv.bias"] = f"{tf_scope}/bias"
    return table


@METHODS.register("densefuse", tags=("deep", "autoencoder"), paper=PAPER)
class DenseFuse(TorchFusionMethod):
    """DenseFuse with the official weights (``densefuse_model_bs2_epoch4_all_weight_1e2``).

    Options:
      * ``strategy``: ``"addition"`` (default; VIF-Benchmark, the fidelity reference) or ``"l1"``
        (the repository's l1-norm rule);
      * ``variant``: ``"official"`` (default) or ``"llvip-1e0"``, ``"llvip-1e1"``, ``"llvip-1e2"``,
        ``"llvip-1e3"``: the same architecture re-trained by the LLVIP authors (SSIM weight 1, 10, 100,
        1000; non-commercial terms);
      * ``stretch``: ``True`` (default, official ``scipy.misc.imsave``): min-max stretch the decoder output
        to 0..255; ``False``: keep its grey levels, clipped to 0..255 and rounded (no per-image contrast
        change, and tiles/batches are independent of image-wide statistics).
    """

    display_name = "DenseFuse"
    family = "autoencoder"
    paper = PAPER
    global_statistics = True  # the official min-max stretch uses the whole image's range
    tile_margin = 12  # 8 stacked 3x3 convs: receptive-field radius 8
    weight_specs: ClassVar[dict[str, WeightSpec]] = {
        "default": WeightSpec(
            folder="DenseFuse", filename="DeseFuse.ckpt.npz",
            url=f"{_VB}/Checkpoint/DenseFuse/DeseFuse.ckpt.data-00000-of-00001",
            sha256="1ac13a7ddaab1496b018a65b7875727b5543a4351569743769b019a887a6cbbb",
            license=_LICENSE, source=_SRC + "; converted to .npz (TF name -> array)", paper=PAPER,
            meta={"format": "npz conversion of the TF1 checkpoint below"},
        ),
        "ckpt_index": WeightSpec(
            folder="DenseFuse", filename="tf_checkpoint/DeseFuse.ckpt.index",
            url=f"{_VB}/Checkpoint/DenseFuse/DeseFuse.ckpt.index",
            sha256="4fe80abfe63aa0feb62ee3230b8aff31a116d6d54a82bec55545baed76ebdcb8",
            license=_LICENSE, source=_SRC, paper=PAPER,
        ),
        "ckpt_data": WeightSpec(
            folder="DenseFuse", filename="tf_checkpoint/DeseFuse.ckpt.data-00000-of-00001",
            url=f"{_VB}/Checkpoint/DenseFuse/DeseFuse.ckpt.data-00000-of-00001",
            sha256="f98c931b21b1977e348627457037cfa73211e882c1cec66cef0010134040aae6",
            license=_LICENSE, source=_SRC, paper=PAPER,
        ),
        **{f"llvip-{w}": _llvip_spec(w) for w in ("1e0", "1e1", "1e2", "1e3")},
    }
    STRATEGIES: ClassVar[tuple[str, ...]] = ("addition", "l1")
    VARIANTS: ClassVar[tuple[str, ...]] = ("official", "llvip-1e0", "llvip-1e1", "llvip-1e2", "llvip-1e3")

    def __init__(self, strategy: str = "addition", variant: str = "official", stretch: bool = True,
                 **kw: Any):
        super().__init__(**kw)
        if strategy not in self.STRATEGIES:
            raise IvifError(f"DenseFuse: unknown strategy {strategy!r}; choose one of {', '.join(self.STRATEGIES)}")
        if variant not in self.VARIANTS:
            raise IvifError(f"DenseFuse: unknown variant {variant!r}; choose one of {', '.join(self.VARIANTS)}")
        self.strategy = strategy
        self.variant = variant
        if not isinstance(stretch, (bool, np.bool_)):
            raise IvifError(f"{type(self).__name__}: option stretch must be true or false, got {stretch!r}")
        self.stretch = bool(stretch)
        self.global_statistics = self.stretch

    def build_network(self) -> nn.Module:
        if self.variant == "official":
            ckpt = (self.weight_specs["ckpt_index"], self.weight_specs["ckpt_data"])
            variables, src = resolve_tf_variables(self.weight_specs["default"], ckpt, self.weights)
        else:
            spec = self.weight_specs[self.variant]
            try:
                variables, src = resolve_tf_variables(spec, None, self.weights)
            except WeightsError as exc:
                prefix = spec.url.rsplit(".data-", 1)[0]
                raise WeightsError(
                    f"{exc}. The LLVIP variant is published only as a TF checkpoint: download {prefix}.index "
                    f"and {prefix}.data-00000-of-00001 and pass weights=<folder or .index path>") from exc
        net = DenseFuseNet()
        assign_tf_variables(net, variables, _tf_table(), source=src)
        return net.to(memory_format=torch.channels_last)  # oneDNN's fast layout for these convs

    def run_network(self, ir: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        cl = torch.channels_last
        return self.network(ir.contiguous(memory_format=cl), vi.contiguous(memory_format=cl), self.strategy)

    # official path ------------------------------------------------------------------------------
    def official_inputs(self, ir: Any, vi: Any) -> tuple[torch.Tensor, ...]:
        a = read_gray(ir, "pil_L")  # 0..255, fed unscaled
        b = read_gray(vi, "pil_L")
        return torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]

    def official_output(self, raw: np.ndarray, ir: Any, vi: Any) -> np.ndarray:
        y = bytescale(raw) if self.stretch else np.clip(np.rint(raw), 0, 255).astype(np.uint8)
        return pil_colourise(y, vi) if is_colour(vi) else y

    # tensor path --------------------------------------------------------------------------------
    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir * 255.0, vi * 255.0

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        if not self.stretch:
            return (raw / 255.0).clamp(0.0, 1.0)
        lo = raw.amin(dim=(1, 2, 3), keepdim=True)
        hi = raw.amax(dim=(1, 2, 3), keepdim=True)
        return (raw - lo) / (hi - lo).clamp_min(1e-12)
