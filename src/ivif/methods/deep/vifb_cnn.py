"""CNN fusion of Liu, Chen, Cheng, Peng and Wang (IJWMIP 2018), as VIFB runs it (``methods/CNN/run_CNN.m``).

A siamese CNN (MatConvNet weights ``cnnmodel.mat``) scores, for every 16x16 patch at stride 2, which of
the two images is "more informative"; the scores are spread back over the patches they came from and
averaged into a full-resolution weight map. The images are then fused with Laplacian pyramids: at each
level a local-similarity rule (Burt's match measure over 3x3 windows, threshold 0.6) takes the weighted
average ``W * IR + (1 - W) * VIS`` (``W`` the Gaussian pyramid of the weight map) where the two bands are
similar, and the coefficient with the larger local energy elsewhere.

Facts reproduced from VIFB's MATLAB code:

* the network runs on the grey images (``rgb2gray`` in double, no rounding; gray IR used as is):
  conv 3x3 1->64, ReLU; conv 3x3 64->128, ReLU; 2x2 max-pool (stride 2, odd sizes zero-padded);
  conv 3x3 128->256, ReLU (all ``'same'``, zero padding, shared weights for both branches); then a
  "valid" 8x8 conv over the concatenated [IR, VIS] 512 features to 2 logits, **without** the stored
  ``biases_output`` (VIFB's script never adds them), and a softmax; the weight map is the probability
  of the second class;
* patch averaging: score ``(j, i)`` covers rows ``2j .. 2j+15`` and columns ``2i .. 2i+15``, clipped at
  the image border; the weight map is the per-pixel mean of the covering scores;
* pyramids (Mertens' ``pyramid`` code): ``nlev = floor(log(min(H, W)) / log 2)``, 5-tap filter
  [1 4 6 4 1] / 16, symmetric border when reducing, replicate pad + zero-border filtering when expanding;
* fusion per RGB channel (IR channel k with VIS channel k, a gray image used for all three) whenever
  either image has colour, with the single weight map; the coarsest level uses the same rule;
* the local sums use Rockinger's ``es2`` mirror extension, whose four corner pixels are zero;
* output ``uint8(imgf * 255)`` (rounding half away from zero, saturating).

VIFB saved its results as JPEG (quality 75); this module returns the image before that compression.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...errors import InvalidImageError, IvifError, WeightsError
from ...io import as_image
from ...registry import METHODS
from ..base import FusionMethod
from ..classical._common import imfilter_sep, matlab_uint8
from ..weights import WeightSpec, resolve
from . import _pipeline as P

_PAPER = ("Y. Liu, X. Chen, J. Cheng, H. Peng, Z. Wang, \"Infrared and visible image fusion with convolutional "
          "neural networks\", International Journal of Wavelets, Multiresolution and Information Processing "
          "16(3) (2018) 1850018")
_COMMIT = "22b2ea9d91499cc5962d9bdcae9c290270f0fade"
_PYR_FILTER = np.array([0.0625, 0.25, 0.375, 0.25, 0.0625])
_THRESHOLD = 0.6
_PATCH = 16
_STRIDE = 2
# MATLAB rgb2gray coefficients (double input: no rounding).
_RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])

SPEC = WeightSpec(
    folder="VIFB_CNN",
    filename="cnnmodel.mat",
    url=f"https://raw.githubusercontent.com/xingchenzhang/VIFB/{_COMMIT}/methods/CNN/model/cnnmodel.mat",
    sha256="f826e6739aa6cea943a1323642468760102fc735ff090cd83ab28d998ba76a20",
    license="not stated (xingchenzhang/VIFB)",
    source=f"xingchenzhang/VIFB@{_COMMIT}:methods/CNN/model/cnnmodel.mat",
    paper=_PAPER,
    meta={"format": "MatConvNet weights, read with scipy.io.loadmat"},
)

_EXPECTED = {
    "weights_b1_1": (9, 64), "biases_b1_1": (64, 1),
    "weights_b1_2": (64, 9, 128), "biases_b1_2": (128, 1),
    "weights_b1_3": (128, 9, 256), "biases_b1_3": (256, 1),
    "weights_output": (512, 64, 2),
}


def load_cnn_weights(path: "str | Path") -> dict[str, np.ndarray]:
    """Read ``cnnmodel.mat`` and return torch-layout (``OIHW``) float32 kernels and biases.

    MATLAB stores kernel ``k`` of filter ``i`` as column ``k = r + 3 c`` (column-major ``reshape``); the
    script convolves with ``rot90(kernel, 2)``, i.e. it correlates with the kernel as stored, which is
    what ``torch.nn.functional.conv2d`` does.
    """
    import scipy.io

    try:
        m = scipy.io.loadmat(str(path))
    except Exception as exc:  # scipy raises ValueError/TypeError/OSError for non-MAT content
        raise WeightsError(f"{path}: not a readable MATLAB .mat file ({exc}); download cnnmodel.mat again "
                           f"from {SPEC.url}") from exc
    for k, shape in _EXPECTED.items():
        if k not in m or tuple(m[k].shape) != shape:
            got = tuple(m[k].shape) if k in m else "missing"
            raise WeightsError(f"{path}: variable {k} should have shape {shape}, got {got}; this is not "
                               f"VIFB's CNN model (cnnmodel.mat from {SPEC.url})")

    def kernels(w: np.ndarray, k: int) -> np.ndarray:
        cin, _, cout = w.shape
        return np.ascontiguousarray(w.reshape(cin, k, k, cout, order="F").transpose(3, 0, 1, 2), np.float32)

    w1 = m["weights_b1_1"].reshape(3, 3, 64, order="F").transpose(2, 0, 1)[:, None]
    return {
        "w1": np.ascontiguousarray(w1, np.float32), "b1": m["biases_b1_1"].ravel().astype(np.float32),
        "w2": kernels(m["weights_b1_2"], 3), "b2": m["biases_b1_2"].ravel().astype(np.float32),
        "w3": kernels(m["weights_b1_3"], 3), "b3": m["biases_b1_3"].ravel().astype(np.float32),
        "w4": kernels(m["weights_output"], 8),
    }


def score_map(w: dict[str, Any], ir_gray: np.ndarray, vi_gray: np.ndarray, precision: str = "fp32",
              device: str = "cpu") -> np.ndarray:
    """Probability of the second class for each 16x16 patch at stride 2 (float64, ``ceil(H/2) - 7`` by
    ``ceil(W/2) - 7``); ``ir_gray``/``vi_gray`` are ``HxW`` in [0, 1].

    ``precision="fp32"`` is the reference (MATLAB runs the network in single precision);
    ``"bf16"`` runs the convolutions in bfloat16 with float32 accumulation (several times faster on
    CPUs with AMX/AVX512-BF16, logits within about 1 %).
    """
    import torch
    import torch.nn.functional as F

    dt = torch.bfloat16 if precision == "bf16" else torch.float32
    cl = torch.channels_last
    dev = torch.device(device)
    t = {k: torch.from_numpy(v).to(dev) for k, v in w.items()}
    with torch.inference_mode():
        x = torch.from_numpy(np.stack([ir_gray, vi_gray]).astype(np.float32))[:, None].to(dev)
        x = F.conv2d(x, t["w1"], t["b1"], padding=1).relu_()  # 1 input channel: cheap in float32
        # The wide layers run channels-last (oneDNN's fast layout), optionally in bfloat16.
        x = x.to(dt).contiguous(memory_format=cl)
        x = F.conv2d(x, t["w2"].to(dt).contiguous(memory_format=cl), t["b2"].to(dt), padding=1).relu_()
        # maxpooling_s2 zero-pads odd sizes; after ReLU (>= 0) that equals ceil-mode pooling.
        x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        x = F.conv2d(x, t["w3"].to(dt).contiguous(memory_format=cl), t["b3"].to(dt), padding=1).relu_()
        # [IR, VIS] feature concatenation, kept channels-last: (h, w, 512).
        hwc = x.permute(0, 2, 3, 1)
        logit_diff = _valid_conv_diff(torch.cat((hwc[0], hwc[1]), 2).float(), t["w4"])
    # softmax: p2 = 1 - exp(a) / (exp(a) + exp(b)) = 1 - 1 / (1 + exp(b - a)), overflow-safe.
    return 1.0 - 1.0 / (1.0 + np.exp(logit_diff.double().cpu().numpy()))


def _valid_conv_diff(feats: "Any", w4: "Any") -> "Any":
    """``b - a`` of the two-class 'valid' 8x8 convolution over ``feats`` (``h x w x C``, channels last).

    Only the logit difference enters the softmax. An 8x8 kernel over 512 channels with two outputs is
    slow as a direct convolution; as one matrix product (all 64 kernel taps at once) followed by 64
    shifted additions it runs at GEMM speed.
    """
    import torch

    h, w, c = feats.shape
    k = w4.shape[-1]
    taps = (w4[1] - w4[0]).permute(1, 2, 0).reshape(k * k, c)  # (dy, dx) x C
    per_tap = (taps @ feats.reshape(h * w, c).T).reshape(k, k, h, w)
    oh, ow = h - k + 1, w - k + 1
    out = torch.zeros(oh, ow, dtype=feats.dtype, device=feats.device)
    for dy in range(k):
        for dx in range(k):
            out += per_tap[dy, dx, dy : dy + oh, dx : dx + ow]
    return out


#: context (full-resolution pixels) a tile needs around the scores it keeps: a score at row 2j reads
#: input rows 2j - 4 .. 2j + 19 (three 3x3 convs, the 2x2 pool, the 8x8 output conv); kept even.
SCORE_MARGIN = 24


def tiled_score_map(w: dict[str, Any], ir_gray: np.ndarray, vi_gray: np.ndarray, tile: int,
                    precision: str = "fp32", device: str = "cpu") -> np.ndarray:
    """:func:`score_map` computed on overlapping tiles of at most ``tile`` pixels (bounded memory).

    Every kept score sees its whole receptive field inside its tile (or the true image border, where the
    zero padding is the same as for the whole image), so the result equals the untiled map up to float
    summation order.
    """
    h, w_ = ir_gray.shape
    m = SCORE_MARGIN
    step = (tile - 2 * m) // 2 * 2
    if step < 16:
        raise IvifError(f"CNN: tile size {tile} is too small; use at least {2 * m + 16} pixels")
    out = np.zeros((-(-h // 2) - 7, -(-w_ // 2) - 7))
    for y0 in range(0, h, step):
        for x0 in range(0, w_, step):
            ys, xs = max(0, y0 - m), max(0, x0 - m)
            ye, xe = min(h, y0 + step + m), min(w_, x0 + step + m)
            j0, j1 = y0 // 2, min(out.shape[0], (y0 + step) // 2)
            i0, i1 = x0 // 2, min(out.shape[1], (x0 + step) // 2)
            if j0 >= j1 or i0 >= i1:
                continue
            s = score_map(w, ir_gray[ys:ye, xs:xe], vi_gray[ys:ye, xs:xe], precision, device)
            out[j0:j1, i0:i1] = s[j0 - ys // 2 : j1 - ys // 2, i0 - xs // 2 : i1 - xs // 2]
    return out


def patch_average(scores: np.ndarray, h: int, w: int) -> np.ndarray:
    """Spread each patch score over its 16x16 patch (stride 2, clipped at the border) and average."""
    def spread(v: np.ndarray) -> np.ndarray:
        g = np.zeros((h + _PATCH - 1, w + _PATCH - 1))
        g[_PATCH - 1::_STRIDE, _PATCH - 1::_STRIDE][: v.shape[0], : v.shape[1]] = v
        s = np.zeros((h + _PATCH, w + _PATCH))
        s[1:, 1:] = g.cumsum(0).cumsum(1)
        return s[_PATCH:, _PATCH:] - s[:-_PATCH, _PATCH:] - s[_PATCH:, :-_PATCH] + s[:-_PATCH, :-_PATCH]

    # Integral-image differences carry ~1e-15 rounding; clip to the probability range.
    return np.clip(spread(scores) / spread(np.ones_like(scores)), 0.0, 1.0)


def _n_levels(h: int, w: int) -> int:
    return int(np.floor(np.log(min(h, w)) / np.log(2)))


def _reduce(img: np.ndarray) -> np.ndarray:
    return imfilter_sep(img, _PYR_FILTER, _PYR_FILTER, "symmetric")[::2, ::2]


def _expand(img: np.ndarray, odd: tuple[int, int]) -> np.ndarray:
    p = np.pad(img, 1, mode="edge")
    r, c = 2 * p.shape[0], 2 * p.shape[1]
    up = np.zeros((r, c))
    up[::2, ::2] = 4.0 * p
    up = imfilter_sep(up, _PYR_FILTER, _PYR_FILTER, "zero")
    return up[2 : r - 2 - odd[0], 2 : c - 2 - odd[1]]


def gaussian_pyramid(img: np.ndarray, nlev: int) -> list[np.ndarray]:
    """Gaussian pyramid with ``nlev`` levels (level 0 is the image)."""
    pyr = [np.asarray(img, dtype=np.float64)]
    for _ in range(1, nlev):
        pyr.append(_reduce(pyr[-1]))
    return pyr


def laplacian_pyramid(img: np.ndarray, nlev: int) -> list[np.ndarray]:
    """Laplacian pyramid with ``nlev`` levels (the last one is the low-pass residual)."""
    pyr, j = [], np.asarray(img, dtype=np.float64)
    for _ in range(nlev - 1):
        i = _reduce(j)
        odd = (2 * i.shape[0] - j.shape[0], 2 * i.shape[1] - j.shape[1])
        pyr.append(j - _expand(i, odd))
        j = i
    pyr.append(j)
    return pyr


def reconstruct(pyr: list[np.ndarray]) -> np.ndarray:
    """Invert :func:`laplacian_pyramid`."""
    r = pyr[-1]
    for band in pyr[-2::-1]:
        odd = (2 * r.shape[0] - band.shape[0], 2 * r.shape[1] - band.shape[1])
        r = band + _expand(r, odd)
    return r


def _local_sum(x: np.ndarray) -> np.ndarray:
    """3x3 sums over Rockinger's ``es2`` extension: mirrored without repeating the edge, corners zero."""
    p = np.pad(x, 1, mode="reflect")
    p[0, 0] = p[0, -1] = p[-1, 0] = p[-1, -1] = 0.0
    h, w = x.shape
    out = np.zeros_like(x)
    for dy in range(3):
        for dx in range(3):
            out += p[dy : dy + h, dx : dx + w]
    return out


def band_fuse(m1: np.ndarray, m2: np.ndarray, weight: np.ndarray, th: float = _THRESHOLD) -> np.ndarray:
    """Burt's match-and-salience rule: weighted average where the bands match (> ``th``), the band with
    the larger local energy elsewhere."""
    s1, s2 = _local_sum(m1 * m1), _local_sum(m2 * m2)
    match = 2.0 * _local_sum(m1 * m2) / (s1 + s2 + np.finfo(np.float64).eps)
    select = np.where(s1 > s2, m1, m2)
    return np.where(match > th, weight * m1 + (1.0 - weight) * m2, select)


def _u8(x: object) -> np.ndarray:
    """8-bit data as MATLAB ``imread`` returns it: files (and arrays read from files) are decoded again
    with their stored channels; plain arrays are converted to 8 bit."""
    from ...io import imread_uint

    src = P.source_of(x)
    a = imread_uint(src) if src is not None else P.to_uint8(as_image(np.asarray(x)))
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    return a[..., :3] if a.ndim == 3 else a


@METHODS.register("cnn", aliases=("liu_cnn", "vifb_cnn"), tags=("deep", "cnn"), paper=_PAPER)
class VIFBCNN(FusionMethod):
    """CNN-based fusion of Liu et al. (2018): CNN weight map + Laplacian pyramid, as run by VIFB."""

    display_name = "CNN"
    family = "cnn"
    paper = _PAPER
    color = "native"
    needs_weights = True
    # Pyramid depth follows the image size and the Gaussian pyramid spans the whole image.
    global_statistics = True
    weight_specs = {"default": SPEC}

    def __init__(self, weights: "str | Path | None" = None, precision: Literal["fp32", "bf16"] = "fp32",
                 device: str = "cpu", tile: "int | None" = None, **cfg: Any):
        super().__init__(**cfg)
        if precision not in ("fp32", "bf16"):
            raise IvifError(f"CNN: precision must be 'fp32' (reference) or 'bf16' (fast), got {precision!r}")
        self.weights = weights
        self.precision = precision
        self.device = device
        if tile is not None and tile < 2 * SCORE_MARGIN + 16:
            raise IvifError(f"CNN: tile size {tile} is too small; use at least {2 * SCORE_MARGIN + 16} pixels")
        #: tile size (pixels) for the network's score map; the pyramid fusion always spans the whole image
        self.tile = tile
        self._w: "dict[str, np.ndarray] | None" = None

    @property
    def network_weights(self) -> dict[str, np.ndarray]:
        """The CNN kernels (loaded on first use)."""
        if self._w is None:
            self._w = load_cnn_weights(resolve(SPEC, self.weights))
        return self._w

    def weight_map(self, ir: Any, vi: Any) -> np.ndarray:
        """Full-resolution weight of the infrared image (float64 ``HxW`` in [0, 1])."""
        return self._weight_map(_u8(ir) / 255.0, _u8(vi) / 255.0)

    def _weight_map(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ga = a @ _RGB2GRAY if a.ndim == 3 else a
        gb = b @ _RGB2GRAY if b.ndim == 3 else b
        h, w = ga.shape
        if min(h, w) < 32:
            raise InvalidImageError(f"CNN fusion needs images of at least 32x32 pixels, got {w}x{h}")
        if self.tile and max(h, w) > self.tile:
            scores = tiled_score_map(self.network_weights, ga, gb, self.tile, self.precision, self.device)
        else:
            scores = score_map(self.network_weights, ga, gb, self.precision, self.device)
        return patch_average(scores, h, w)

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        a, b = _u8(ir) / 255.0, _u8(vi) / 255.0
        h, w = a.shape[:2]
        wmap = self._weight_map(a, b)
        nlev = _n_levels(h, w)
        pw = gaussian_pyramid(wmap, nlev)

        def fuse_channel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            px, py = laplacian_pyramid(x, nlev), laplacian_pyramid(y, nlev)
            return reconstruct([band_fuse(u, v, wt) for u, v, wt in zip(px, py, pw)])

        if a.ndim == 3 or b.ndim == 3:
            ac = a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2)
            bc = b if b.ndim == 3 else np.repeat(b[..., None], 3, axis=2)
            out = np.stack([fuse_channel(ac[..., k], bc[..., k]) for k in range(3)], axis=2)
        else:
            out = fuse_channel(a, b)
        return (matlab_uint8(out * 255.0) / 255.0).astype(np.float32)
