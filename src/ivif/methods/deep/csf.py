"""CSF (Xu, Zhang & Ma, TCI 2021): classification-saliency-based fusion with the official TF1 weights.

An encoder (four 5x5 convs, reflection padding, LReLU(0.2)) maps each source to 24 feature maps; a
classifier (four 5x5 conv + BN + LReLU + 2x2 max-pool stages, then a spatial mean -> 2 logits
[visible, infrared]) scores them; the fusion weight of each feature element is a two-way softmax of
the absolute gradients of the class logits w.r.t. the features; the fused features are decoded by
four 5x5 convs (the last with tanh).

**Saliency as the official script computes it** (``generate.py``, VIF-Benchmark = ``hanna-xu/CSF``):
it builds ten interpolated inputs per class (from the mean-shifted visible image towards the infrared
image for the infrared score, and back for the visible score), but differentiates ``out[0, k]``, the
logit of the *first* batch element only. The classifier has no cross-batch terms (inference BN), so
the other nine gradients are exactly zero and the saliency is ``|grad at step 1| / 10``. ivif
computes just that one step per class (``saliency="official"``, default): one encoder pass over
four images, one classifier forward/backward over two, one decoder pass. ``saliency="all_steps"``
is the rule the paper describes (each step's own gradient, weighted by 0.25**i and averaged), which
the official script does not run.

Official pre/post-processing: luminance via ``scipy.misc.imread(flatten=True, mode='YCbCr')`` (float32),
``(x / 255 - 0.5) * 2``; output ``y / 2 + 0.5`` saved with ``scipy.misc.imsave`` (min-max stretch),
colourised with the visible image's PIL Cb/Cr. The fusion depends on image-wide statistics (the
mean shift, the saliency-map means, the classifier's global pooling): ``global_statistics``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import IvifError
from ...registry import METHODS
from ..weights import WeightSpec
from ..tf_checkpoint import load_tf_variables
from ._pipeline import assign_tf_variables, read_gray, stretched_colour
from ._torch import TorchFusionMethod

PAPER = ("H. Xu, H. Zhang, J. Ma, \"Classification Saliency-Based Rule for Visible and Infrared Image "
         "Fusion\", IEEE Transactions on Computational Imaging 7 (2021) 824-836")

_REPO = "hanna-xu/CSF"
_COMMIT = "0eb2b0759b688e513b1d8f9a5c307d42d3876dc4"
SAMPLES = 10          # interpolation steps of the official script
DECAY = 0.25          # weight of step i is DECAY ** i
TEMPERATURE = 0.00015  # softmax temperature c of the official script
BN_EPS = 1e-3         # tf.layers.batch_normalization default
MIN_SIZE = 17         # smallest side the official network accepts


def _conv_reflect(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    return conv(F.pad(x, (2, 2, 2, 2), mode="reflect"))


class _Stack(nn.Module):
    """Convs 5x5 'VALID' after reflection padding by 2, LReLU(0.2) after each except (optionally) the last."""

    def __init__(self, names: list[str], chans: list[int], last_act: bool) -> None:
        super().__init__()
        self.names = names
        self.last_act = last_act
        for name, cin, cout in zip(names, chans[:-1], chans[1:]):
            self.add_module(name, nn.Conv2d(cin, cout, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, name in enumerate(self.names):
            x = _conv_reflect(x, getattr(self, name))
            if i < len(self.names) - 1 or self.last_act:
                x = F.leaky_relu(x, 0.2)
        return x


class _BN(nn.Module):
    """Inference batch normalisation with TF's four stored tensors (no ``num_batches_tracked``)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        for name, init in (("gamma", torch.ones), ("beta", torch.zeros), ("moving_mean", torch.zeros),
                           ("moving_variance", torch.ones)):
            self.register_buffer(name, init(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, False, 0.0, BN_EPS)


class _Classifier(nn.Module):
    """Four stages conv 5x5 (reflect) + inference BN + LReLU(0.2) + 2x2 max-pool ('SAME'); spatial mean."""

    def __init__(self) -> None:
        super().__init__()
        self.names = ["conv1_6", "conv1_8", "conv1_9", "conv1_11"]
        for name, cin, cout in zip(self.names, (24, 32, 64, 32), (32, 64, 32, 2)):
            self.add_module(name, nn.Conv2d(cin, cout, 5))
            self.add_module(name + "_bn", _BN(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.names:
            x = getattr(self, name + "_bn")(_conv_reflect(x, getattr(self, name)))
            x = F.leaky_relu(x, 0.2)
            # TF 'SAME' 2x2/2 pooling pads odd sizes at the end: the same windows as ceil_mode
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        return x.mean(dim=(2, 3))


def _image_mean(x: torch.Tensor) -> torch.Tensor:
    """Per-image mean (``Bx1x1x1``) as the official ``np.mean`` of a float32 image (pairwise float32
    summation); differentiable torch mean when gradients are needed or the tensor is not on the CPU."""
    if x.requires_grad or x.device.type != "cpu" or x.dtype != torch.float32:
        return x.double().mean(dim=(1, 2, 3), keepdim=True).to(x.dtype)
    a = x.detach().contiguous().numpy()
    means = np.array([np.mean(a[i]) for i in range(a.shape[0])], dtype=np.float32)
    return torch.from_numpy(means).view(-1, 1, 1, 1)


class CSFNet(nn.Module):
    """Encoder, classifier and decoder of CSF; :meth:`fuse` runs the classification-saliency rule."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = _Stack(["conv1_1", "conv1_4", "conv1_6", "conv1_8"], [1, 16, 24, 24, 24], last_act=True)
        self.classifier = _Classifier()
        self.decoder = _Stack(["conv1_1", "conv1_2", "conv1_3", "conv1_4"], [24, 16, 16, 16, 1], last_act=False)

    def saliency_grads(self, feats: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
        """|d logit[cls[b]] / d feats[b]| for each batch element (elements are independent)."""
        with torch.enable_grad():
            f = feats.detach().requires_grad_(True)
            logits = self.classifier(f)
            sel = logits.gather(1, cls.view(-1, 1)).sum()
            (g,) = torch.autograd.grad(sel, f)
        return g.abs()

    def fuse(self, ir: torch.Tensor, vi: torch.Tensor, saliency: str = "official") -> torch.Tensor:
        """``ir``, ``vi``: ``Bx1xHxW`` in [-1, 1]; returns the decoder output ``Bx1xHxW`` (tanh)."""
        b = ir.shape[0]
        m_vi, m_ir = _image_mean(vi), _image_mean(ir)
        vi_shift = vi - m_vi + m_ir                 # visible image with the infrared mean
        d_ir = ir - vi_shift                        # official diff_vis_ir
        d_vi = vi_shift - ir                        # official diff_ir_vis
        steps = range(1) if saliency == "official" else range(SAMPLES)
        # step i (0-based) of the official interpolation, same float32 operation order
        x_ir = [vi_shift + d_ir * (i + 1) / SAMPLES for i in steps]
        x_vi = [ir + (i + 1) / SAMPLES * d_vi for i in steps]
        n = len(x_ir)
        feats = self.encoder(torch.cat([vi, ir] + x_ir + x_vi, 0))
        f_vi, f_ir, f_steps = feats[:b], feats[b:2 * b], feats[2 * b:]
        # class 1 (infrared) for the ir-interpolation, class 0 (visible) for the vi-interpolation
        cls = torch.cat([torch.ones(n * b, dtype=torch.long), torch.zeros(n * b, dtype=torch.long)]).to(ir.device)
        g = self.saliency_grads(f_steps, cls)
        w = [DECAY ** i / SAMPLES for i in steps]
        g_ir = sum(w[i] * g[i * b:(i + 1) * b] for i in range(n))
        g_vi = sum(w[i] * g[(n + i) * b:(n + i + 1) * b] for i in range(n))
        # the official script shifts the infrared map to the visible map's mean
        shift = g_vi.double().mean(dim=(1, 2, 3), keepdim=True) - g_ir.double().mean(dim=(1, 2, 3), keepdim=True)
        g_ir = g_ir + shift.to(g_ir.dtype)
        # exp(a)/(exp(a)+exp(b)) (float64 in the official script) as a float32 sigmoid: equal up to
        # ~1e-7, far below the rule's own conditioning (see the module docstring), and overflow-free
        w_vi = torch.sigmoid((g_vi - g_ir) / TEMPERATURE)
        fused = torch.lerp(f_ir, f_vi, w_vi)  # w_vi * f_vi + (1 - w_vi) * f_ir
        return torch.tanh(self.decoder(fused))


def _tf_table(net: CSFNet) -> dict[str, str]:
    """torch name -> TF variable name (``encoder.conv1_4.weight`` <-> ``Encoder/encoder/conv1_4/kernel``,
    ``classifier.conv1_8_bn.gamma`` <-> ``Classification/classification/b1/batch_normalization/gamma``)."""
    table = {}
    for name in net.state_dict():
        part, layer, leaf = name.split(".")
        if part == "classifier" and layer.endswith("_bn"):
            i = net.classifier.names.index(layer[:-3])
            table[name] = f"Classification/classification/b{i}/batch_normalization/{leaf}"
        else:
            scope = {"encoder": "Encoder/encoder", "decoder": "Decoder/decoder",
                     "classifier": "Classification/classification"}[part]
            table[name] = f"{scope}/{layer}/{'kernel' if leaf == 'weight' else 'bias'}"
    return table


def _spec(part: str, sha: str) -> WeightSpec:
    folder = "models_EC" if part == "EC" else "models_ED"
    return WeightSpec(
        "CSF", f"{part}.ckpt.npz",
        f"https://github.com/{_REPO}/tree/{_COMMIT}/{folder}/4", sha, "not stated",
        f"{_REPO}@{_COMMIT} {folder}/4/4.ckpt (converted: TF variable name -> array)", PAPER,
    )


@METHODS.register("csf", tags=("deep", "autoencoder"), paper=PAPER)
class CSF(TorchFusionMethod):
    """CSF with the official weights (``models_ED/4`` encoder+decoder, ``models_EC/4`` classifier).

    Options: ``saliency`` (``"official"``, default: the official script's effective rule, one
    interpolation step per class; ``"all_steps"``: all ten steps as the paper describes, about 5x
    the time and memory);
    ``stretch`` (default ``True``, official): min-max stretch the output to 0..255 as
    ``scipy.misc.imsave`` does; ``False`` maps ``[-1, 1]`` to ``[0, 255]`` linearly.
    """

    display_name = "CSF"
    family = "autoencoder"
    paper = PAPER
    global_statistics = True
    tile_margin = 32  # encoder + decoder radius 16; the saliency rule stays per tile
    weight_specs = {
        "default": _spec("ED", "9b71c41683aaca1d9332ea32773026a1539834cad7a86a62c1a493695c9c5e9d"),
        "classifier": _spec("EC", "9f0de0909f2c47fd580a4b4e154d0065fc4c9101bc36e36f007723c7a17930b9"),
    }

    def __init__(self, saliency: Literal["official", "all_steps"] = "official", stretch: bool = True, **kw: Any):
        super().__init__(**kw)
        if saliency not in ("official", "all_steps"):
            raise IvifError(f"CSF: saliency must be 'official' or 'all_steps', not {saliency!r}")
        self.saliency = saliency
        self.stretch = bool(stretch)

    def build_network(self) -> nn.Module:
        net = CSFNet()
        ed_path, ec_path = self.weight_path("default"), self.weight_path("classifier")
        # As the official script: encoder + decoder from ED, classifier from EC (both files hold the
        # same Encoder tensors).
        ec = {k: v for k, v in load_tf_variables(ec_path).items() if k.startswith("Classification/")}
        variables = {**load_tf_variables(ed_path), **ec}
        assign_tf_variables(net, variables, _tf_table(net), source=f"{ed_path} + {ec_path}")
        return net.to(memory_format=torch.channels_last)

    def weight_path(self, key: str = "default"):  # type: ignore[override]
        if self.weights is not None:
            return super().weight_path(key)
        from ...errors import WeightsError
        from ..weights import resolve

        spec = self.weight_specs[key]
        try:
            # only the .npz conversions are published here: nothing to download with a hash check
            return resolve(spec, download=False)
        except WeightsError as exc:
            raise WeightsError(f"{exc}. The .npz is numpy.savez of the TF variables of the official "
                               f"checkpoint {spec.url} (variable name -> array)") from None

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        h, w = inputs[0].shape[-2:]
        if min(h, w) < MIN_SIZE:
            # the classifier's reflection padding (2 px) needs 3 px after three 2x poolings
            raise IvifError(f"CSF needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels, got {w}x{h} (WxH); "
                            "upscale the pair or use another method")
        # oneDNN runs the 5x5 convolutions ~1.4x faster on NHWC tensors
        ir, vi = (x.contiguous(memory_format=torch.channels_last) for x in inputs)
        return self.network.fuse(ir, vi, self.saliency).contiguous()

    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        def prep(x: Any) -> torch.Tensor:
            g = read_gray(x, "scipy_flatten_ycbcr")  # float32, as scipy returns it
            a = (g / np.float32(255.0) - np.float32(0.5)) * np.float32(2)
            return torch.from_numpy(a.astype(np.float32))[None, None]

        return prep(ir), prep(vi)

    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        y = raw / np.float32(2) + np.float32(0.5)  # the array the official script passes to imsave
        return stretched_colour(y if self.stretch else y * np.float32(255), vi, self.stretch)

    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ir * 2 - 1, vi * 2 - 1

    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        return raw * 0.5 + 0.5
