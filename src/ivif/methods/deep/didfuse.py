"""DIDFuse (Zhao et al., IJCAI 2020): deep image decomposition autoencoder, official PyTorch weights.

Official pipeline (VIF-Benchmark ``DIDFuse/`` on ``Zhaozixiang1228/IVIF-DIDFuse``'s network and weights):
the infrared image (8-bit grey) and the visible image's Y (``0.299 R + 0.587 G + 0.114 B`` on RGB/255)
go through one shared encoder giving four feature maps each (shallow f1, f2, base B, detail D); each
pair is fused by the ``l1_norm`` rule (VIF-Benchmark; the original ``test.py`` defaults to ``Sum``);
the decoder returns the fused Y through a sigmoid. Y is recombined with the visible Cb/Cr using
SeAFusion's float formulas, clamped to [0, 1], scaled by 255 and **truncated** to uint8.

Weights are ``torch.save`` dicts ``{"weight": state_dict, "epoch": n}``, loaded with
``weights_only=True`` (a pickle carrying code is refused).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import IvifError, WeightsError
from ...registry import METHODS
from ..weights import WeightSpec, load_torch_state
from ._pipeline import is_colour, read_gray, read_rgb_u8
from ._torch import TorchFusionMethod

PAPER = ("Z. Zhao, S. Xu, C. Zhang, J. Liu, J. Zhang, P. Li, \"DIDFuse: Deep Image Decomposition for "
         "Infrared and Visible Image Fusion\", IJCAI 2020, pp. 970-976")

_COMMIT = "5f287300dce7cbc90b9e08e6872455af6baa279f"
_REPO = f"https://github.com/Zhaozixiang1228/IVIF-DIDFuse/raw/{_COMMIT}"
_LICENSE = "not stated (Zhaozixiang1228/IVIF-DIDFuse has no license; VIF-Benchmark copy: MIT)"


def _bn_block(cin: int, cout: int, act: nn.Module, reflect: bool) -> nn.Sequential:
    # Index layout matches the official Sequential: [ReflectionPad2d,] Conv2d, BatchNorm2d, activation.
    layers: list[nn.Module] = [nn.ReflectionPad2d(1)] if reflect else []
    layers += [nn.Conv2d(cin, cout, 3, padding=0 if reflect else 1), nn.BatchNorm2d(cout), act]
    return nn.Sequential(*layers)


class DIDFuseNet(nn.Module):
    """Shared encoder + decoder. ``encode(x)`` (``Bx1xHxW`` in [0, 1]) -> ``(f1, f2, base, detail)``;
    ``decode(f1, f2, base, detail)`` -> ``Bx1xHxW`` in (0, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.cov1 = _bn_block(1, 64, nn.PReLU(), reflect=True)
        self.cov2 = _bn_block(64, 64, nn.PReLU(), reflect=False)
        self.cov3 = _bn_block(64, 64, nn.Tanh(), reflect=False)
        self.cov4 = _bn_block(64, 64, nn.Tanh(), reflect=False)
        self.cov5 = _bn_block(128, 64, nn.PReLU(), reflect=False)
        self.cov6 = _bn_block(128, 64, nn.PReLU(), reflect=False)
        self.cov7 = _bn_block(128, 1, nn.Sigmoid(), reflect=True)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f1 = self.cov1(x)
        f2 = self.cov2(f1)
        if self._cov34 is not None:  # inference: base and detail convs as one 64->128 conv
            bd = torch.tanh(self._cov34(f2))
            return f1, f2, bd[:, :64], bd[:, 64:]
        return f1, f2, self.cov3(f2), self.cov4(f2)

    _cov34: "nn.Conv2d | None" = None

    @torch.no_grad()
    def fold_for_inference(self) -> "DIDFuseNet":
        """Fold each eval-mode BatchNorm into its conv (same function, one pass less over the maps) and
        merge the base/detail convs, which share their input. Inference only: BN can no longer train."""
        for name in ("cov1", "cov2", "cov3", "cov4", "cov5", "cov6", "cov7"):
            seq: nn.Sequential = getattr(self, name)
            i = next(k for k, mod in enumerate(seq) if isinstance(mod, nn.Conv2d))
            conv, bn = seq[i], seq[i + 1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias.copy_((conv.bias - bn.running_mean) * scale + bn.bias)
            seq[i + 1] = nn.Identity()
        merged = nn.Conv2d(64, 128, 3, padding=1)
        merged.weight.copy_(torch.cat([self.cov3[0].weight, self.cov4[0].weight], 0))
        merged.bias.copy_(torch.cat([self.cov3[0].bias, self.cov4[0].bias], 0))
        self._cov34 = merged
        return self

    def decode(self, f1: torch.Tensor, f2: torch.Tensor, base: torch.Tensor, detail: torch.Tensor) -> torch.Tensor:
        x = self.cov5(torch.cat([base, detail], 1))
        x = self.cov6(torch.cat([x, f2], 1))
        return self.cov7(torch.cat([x, f1], 1))

    def forward(self, ir: torch.Tensor, vi: torch.Tensor, rule: str = "l1_norm") -> torch.Tensor:
        b = ir.shape[0]
        feats = self.encode(torch.cat([ir, vi], 0))  # shared weights: one batched pass
        fused = [fuse_features(f[:b], f[b:], rule) for f in feats]
        return self.decode(*fused)


def fuse_features(a: torch.Tensor, b: torch.Tensor, rule: str) -> torch.Tensor:
    """DIDFuse's fusion rules on ``BxCxHxW`` features.

    ``l1_norm``: activity ``|f|`` box-filtered 3x3 (zero padding) *and summed over all channels* (the
    official kernel is ``CxCx3x3`` filled with 1/9), weights ``A_a / (A_a + A_b)``;
    ``sum``: ``a + b`` (the original ``test.py`` default); ``average``: ``(a + b) / 2``.
    """
    if rule == "sum":
        return a + b
    if rule == "average":
        return (a + b) / 2
    # Summing channels first, then one 3x3 box filter, equals the official CxCx3x3 conv (every output
    # channel of which is the same map) with C times less work.
    ones = torch.full((1, 1, 3, 3), 1.0 / 9.0, dtype=a.dtype, device=a.device)
    act_a = F.conv2d(a.abs().sum(1, keepdim=True), ones, padding=1)
    act_b = F.conv2d(b.abs().sum(1, keepdim=True), ones, padding=1)
    wa = act_a / (act_a + act_b)
    return wa * a + (1 - wa) * b


@METHODS.register("didfuse", tags=("deep", "autoencoder"), paper=PAPER)
class DIDFuse(TorchFusionMethod):
    """DIDFuse with the official IJCAI weights, run as VIF-Benchmark runs it.

    Options: ``rule``: ``"l1_norm"`` (default, VIF-Benchmark) or ``"sum"`` / ``"average"`` (the original
    ``test.py``'s rules; ``sum`` is its default). ``rounding``: ``False`` (default, official) truncates
    the scaled output to uint8; ``True`` rounds to the nearest level (no systematic -0.5 level bias).
    """

    display_name = "DIDFuse"
    family = "autoencoder"
    paper = PAPER
    tile_margin = 12  # 7 stacked 3x3 convs + the 3x3 activity window: receptive-field radius 8
    weight_specs: ClassVar[dict[str, WeightSpec]] = {
        "encoder": WeightSpec(
            folder="DIDFuse", filename="Encoder.pkl", url=f"{_REPO}/Models/Encoder_weight_IJCAI.pkl",
            sha256="4d84a4e64e58469d3d4591f83c6683ead3e422498519db99bb617cb29d268471",
            license=_LICENSE, source=f"Zhaozixiang1228/IVIF-DIDFuse@{_COMMIT} Models/Encoder_weight_IJCAI.pkl",
            paper=PAPER, meta={"format": "torch.save {'weight': state_dict, 'epoch': int}"},
        ),
        "decoder": WeightSpec(
            folder="DIDFuse", filename="Decoder.pkl", url=f"{_REPO}/Models/Decoder_weight_IJCAI.pkl",
            sha256="c6974e2a7c66ab579a77bacb086023237a229e769d459783bad8ff43e52e9986",
            license=_LICENSE, source=f"Zhaozixiang1228/IVIF-DIDFuse@{_COMMIT} Models/Decoder_weight_IJCAI.pkl",
            paper=PAPER, meta={"format": "torch.save {'weight': state_dict, 'epoch': int}"},
        ),
    }
    RULES: ClassVar[tuple[str, ...]] = ("l1_norm", "sum", "average")

    def __init__(self, rule: str = "l1_norm", rounding: bool = False, **kw: Any):
        super().__init__(**kw)
        if rule not in self.RULES:
            raise IvifError(f"DIDFuse: unknown rule {rule!r}; choose one of {', '.join(self.RULES)}")
        self.rule = rule
        if not isinstance(rounding, (bool, np.bool_)):
            raise IvifError(f"{type(self).__name__}: option rounding must be true or false, got {rounding!r}")
        self.rounding = bool(rounding)

    def build_network(self) -> nn.Module:
        net = DIDFuseNet()
        state: dict[str, torch.Tensor] = {}
        for key in ("encoder", "decoder"):
            path = self.weight_path(key)
            obj = load_torch_state(path)
            sd = obj.get("weight") if isinstance(obj, dict) else None
            if not isinstance(sd, dict):
                keys = list(obj)[:5] if isinstance(obj, dict) else "-"
                raise WeightsError(f"{path}: expected a DIDFuse checkpoint {{'weight': state_dict, 'epoch': n}}, "
                                   f"got {type(obj).__name__} with keys {keys}")
            for k, v in sd.items():
                # Official keys repeat the block name ("cov1.cov1.1.weight"); ours are "cov1.1.weight".
                head, _, rest = k.partition(".")
                if not rest.startswith(head + "."):
                    raise WeightsError(f"{path}: unexpected parameter {k!r}; is this a DIDFuse {key} file?")
                state[rest] = v
        missing = sorted(set(net.state_dict()) - set(state))
        extra = sorted(set(state) - set(net.state_dict()))
        if missing or extra:
            raise WeightsError(f"DIDFuse weights do not fit the network: missing {missing[:4]}, unexpected "
                               f"{extra[:4]}; pass the official Encoder/Decoder .pkl files")
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise WeightsError(f"DIDFuse weights have the wrong shapes: {exc}") from exc
        return net.eval().fold_for_inference().to(memory_format=torch.channels_last)

    def run_network(self, ir: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        cl = torch.channels_last  # oneDNN's fast layout for these convs
        return self.network(ir.contiguous(memory_format=cl), vi.contiguous(memory_format=cl), self.rule)

    # official path ------------------------------------------------------------------------------
    @staticmethod
    def _vi_ycrcb(vi: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rgb = read_rgb_u8(vi).astype(np.float32) / np.float32(255.0)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = np.float32(0.299) * r + np.float32(0.587) * g + np.float32(0.114) * b
        cr = np.clip((r - y) * np.float32(0.713) + np.float32(0.5), 0.0, 1.0)
        cb = np.clip((b - y) * np.float32(0.564) + np.float32(0.5), 0.0, 1.0)
        return np.clip(y, 0.0, 1.0), cr, cb

    def official_inputs(self, ir: Any, vi: Any) -> tuple[torch.Tensor, ...]:
        a = read_gray(ir, "pil_L") / np.float32(255.0)
        y, _, _ = self._vi_ycrcb(vi)
        return torch.from_numpy(np.ascontiguousarray(a))[None, None], torch.from_numpy(y)[None, None]

    def official_output(self, raw: np.ndarray, ir: Any, vi: Any) -> np.ndarray:
        y = raw.astype(np.float32)
        if not is_colour(vi):  # grey visible image: the fused Y is the image
            g = np.clip(y, 0.0, 1.0) * np.float32(255.0)
            return (np.rint(g) if self.rounding else g).astype(np.uint8)
        _, cr, cb = self._vi_ycrcb(vi)
        rgb = np.stack([y + np.float32(1.403) * (cr - np.float32(0.5)),
                        y - np.float32(0.714) * (cr - np.float32(0.5)) - np.float32(0.344) * (cb - np.float32(0.5)),
                        y + np.float32(1.773) * (cb - np.float32(0.5))], axis=2)
        scaled = np.clip(rgb, 0.0, 1.0) * np.float32(255.0)
        out = np.rint(scaled) if self.rounding else scaled
        return out.astype(np.uint8)

    # tensor path --------------------------------------------------------------------------------
    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir, vi

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        return raw

