"""The ``zoo`` profile: the IVIF survey's own metric code (RollingPlain/IVIF_ZOO ``Metric/``), 21 metrics.

Reference: https://github.com/RollingPlain/IVIF_ZOO (``Metric/Metric_torch.py``, ``Qabf.py``, ``Nabf.py``,
``ssim.py``, ``eval_torch.py``), run on CPU. Facts reproduced (code our own; NumPy/SciPy/OpenCV, plus torch
for VIF, SSIM and MS_SSIM, see below):

* Images: ``PIL.Image.open(path).convert('L')``; metrics get float32 levels 0..255 (torch tensors in the
  reference), int32 levels (MI, NMI) or float32 NumPy arrays (Qabf, SSIM, MS_SSIM).
* float32 element-wise arithmetic where the reference computes in torch float32 (reductions here are
  float64 sums rounded to float32, within ~1e-7 of torch's float32 sums); float64 for MI, NMI, Qy, Qcb, Nabf.
* Quirks kept on purpose: EN adds 1e-7 inside the log and TE 1e-10; CE applies a float32 sigmoid to
  0..255 levels (saturates at 1 from level 17 on) before a clamped binary cross-entropy; MI/NMI in bits;
  PSNR = 20 log10(255 / sqrt(MSE)) with MSE on [0, 1] data; VIF builds its Gaussian from
  ``linspace(-N//2, N//2, N)`` (off-centre) with zero 'same' padding in float32; SSIM/MS_SSIM scale the
  0..255 data by 255 again while keeping data_range = 255 (effective data range 1 grey level), 11-tap
  Gaussian, 'valid' filtering, float32; Qy's 7x7 window is a Gaussian row repeated over 7 rows (sums to
  7); Qabf keeps the G = gF tie quirk; Nabf uses the Kumar (2013) modified artifact measure.
* VIF, SSIM and MS_SSIM run torch's own float32 ``conv2d``/``avg_pool2d`` on the reference's tensor
  layouts (bit-identical results) and need torch: in flat regions their local variances are float32
  round-off divided by tiny constants, and a NumPy float32 emulation was off by up to 2.4e-4 (VIF,
  relative) and 0.054 (SSIM, absolute) on real images.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft as sfft

from ..errors import DependencyError, ImageReadError, MetricError
from ._matlab import row_blocks
from ._pyref import (
    check_pair,
    level_hist,
    mutual_information_bits,
    qabf_edges,
    qabf_q,
    sep_correlate,
    sobel_xy,
    to_levels8,
)
from .profiles import MetricDef, Profile, register_profile, shared

F32 = np.float32


# ------------------------------------------------------------------------------------------- loading
def load(x: Any, role: str = "image") -> np.ndarray:
    """Read ``x`` as ``eval_torch.py`` does: ``PIL.Image.open(path).convert('L')`` -> uint8 ``HxW``.

    Arrays (uint8, or float in [0, 1], gray or RGB) are quantised to 8-bit levels (as an 8-bit PNG would
    store them) and converted with PIL's ``convert('L')`` (ITU-R 601-2 luma, fixed point).
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(x, (str, os.PathLike)):
        p = Path(x)
        if not p.is_file():
            raise ImageReadError(f"{p}: file not found ({role} image); check the path")
        try:
            with Image.open(p) as im:
                return np.array(im.convert("L"))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ImageReadError(f"{p}: PIL cannot decode this {role} image ({exc}); re-export it as PNG/JPEG") from exc
    lv = to_levels8(x, name=role)
    if lv.ndim == 3:
        lv = np.array(Image.fromarray(np.ascontiguousarray(lv), "RGB").convert("L"))
    return lv


# ------------------------------------------------------------------------------------- float32 helpers
def _to32(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32)


def _f(img: np.ndarray) -> np.ndarray:
    """The levels as float32, converted once per evaluation (callers must not modify it in place)."""
    return shared("zoo.f32", _to32, img)


def _mean32(x: np.ndarray) -> np.float32:
    # torch's float32 mean, emulated as the float64 mean rounded to float32 (differs by a few ulp at most).
    return F32(np.mean(x, dtype=np.float64))


def _sum32(x: np.ndarray) -> np.float32:
    return F32(np.sum(x, dtype=np.float64))


# ------------------------------------------------------------------------------------------ metrics
def _entropy32(levels: np.ndarray, eps: float) -> np.float32:
    # torch.histc(bins=256, min=0, max=255) puts grey level k in bin k; p = hist / sum in float32.
    h = level_hist(levels).astype(np.float32)
    p = h / F32(h.sum())
    return -_sum32(p * np.log2(p + F32(eps)))


def en(f: np.ndarray) -> float:
    """Entropy of F in bits with the reference's ``log2(p + 1e-7)`` (0..8)."""
    return float(_entropy32(f, 1e-7))


def te(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Tsallis entropy with q = 1 (Shannon, ``log2(p + 1e-10)``): H(IR) + H(VI) - H(F), bits."""
    return float(_entropy32(ir, 1e-10)) + float(_entropy32(vi, 1e-10)) - float(_entropy32(f, 1e-10))


def _sigmoid32_lut() -> np.ndarray:
    x = np.arange(256, dtype=np.float64)
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


_SIG = _sigmoid32_lut()


def ce(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Cross-entropy BCE(sigmoid(F), (sigmoid(IR) + sigmoid(VI)) / 2) on 0..255 levels (nats; lower better).

    The float32 sigmoid saturates to exactly 1 from level 17 on, then both sides are clamped to
    [1e-7, 1 - 1e-7] as in the reference; logs are clamped at -100 as ``torch.nn.functional.binary_cross_entropy``.
    """
    lo, hi = F32(1e-7), F32(1.0 - 1e-7)
    t = np.clip((_SIG[ir] + _SIG[vi]) / F32(2), lo, hi)
    p = np.clip(_SIG[f], lo, hi)
    lp = np.maximum(np.log(p), F32(-100))
    l1p = np.maximum(np.log1p(-p), F32(-100))
    return float(_mean32((t - F32(1)) * l1p - t * lp))


def _hist_entropy_density(levels: np.ndarray) -> float:
    # np.histogram(bins=256, range=(0, 256), density=True) on 8-bit levels is count / N; log2(p + 1e-10).
    p = level_hist(levels).astype(np.float64) / levels.size
    return float(-np.sum(p * np.log2(p + 1e-10)))


def mi(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """MI(IR, F) + MI(VI, F) in bits (joint 256-bin histogram, float64)."""
    return mutual_information_bits(ir, f) + mutual_information_bits(vi, f)


def nmi(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """2 (MI(IR,F) + MI(VI,F)) / (H(IR) + H(VI) + 1e-10), bits/bits, as the reference defines NMI."""
    return 2 * mi(ir, vi, f) / (_hist_entropy_density(ir) + _hist_entropy_density(vi) + 1e-10)


def _ncc32(x: np.ndarray, y: np.ndarray) -> np.float32:
    dx = x - _mean32(x)
    dy = y - _mean32(y)
    return _sum32(dx * dy) / (np.sqrt(_sum32(dx * dx) * _sum32(dy * dy)) + F32(1e-10))


def qncie(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Nonlinear correlation information entropy Q_NCIE from the 3x3 NCC matrix of min-max normalised
    images: 1 + sum(r log2(r/3) / 3) / log2(256) over its eigenvalues r (0..1)."""

    def norm(a: np.ndarray) -> np.ndarray:
        a = _f(a)
        lo, hi = a.min(), a.max()
        return (a - lo) / (hi - lo)

    a, b, c = norm(ir), norm(vi), norm(f)
    nab, naf, nbf = _ncc32(a, b), _ncc32(a, c), _ncc32(b, c)
    r_mat = np.array([[1, nab, naf], [nab, 1, nbf], [naf, nbf, 1]], dtype=np.float32)
    r = np.linalg.eigvals(r_mat.astype(np.float64)).real.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        hr = np.sum(r * np.log2(r / F32(3)) / F32(3), dtype=np.float32)
    return float(1 - float(-hr / F32(8.0)))


def _sobel32(img: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    return sobel_xy(_f(img), "constant")


def _qabf_edges(img: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    return qabf_edges(_f(img), np.float64, grads=shared("zoo.sobel32", _sobel32, img))


def ei(f: np.ndarray) -> float:
    """Edge intensity: mean Sobel gradient magnitude of F (zero padding), grey levels."""
    g, _ = shared("zoo.qabf_edges", _qabf_edges, f)  # the float32 zero-padded Sobel magnitude, as Qabf's
    return float(_mean32(g))


def sf(f: np.ndarray) -> float:
    """Spatial frequency sqrt(RF^2 + CF^2), RF/CF the RMS row/column differences of F (grey levels)."""
    x = _f(f)
    rf = np.sqrt(_mean32((x[1:, :] - x[:-1, :]) ** 2))
    cf = np.sqrt(_mean32((x[:, 1:] - x[:, :-1]) ** 2))
    return float(np.sqrt(rf * rf + cf * cf))


def ag(f: np.ndarray) -> float:
    """Average gradient mean(sqrt((gx^2 + gy^2) / 2)) with ``torch.gradient`` differences (grey levels)."""
    gy, gx = np.gradient(_f(f))
    return float(_sum32(np.sqrt((gx**2 + gy**2) / F32(2))) / F32(f.size))


def sd(f: np.ndarray) -> float:
    """Standard deviation of F (population, grey levels)."""
    x = _f(f)
    d = x - _mean32(x)
    return float(np.sqrt(_sum32(d * d) / F32(f.size)))


def _mse01(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> np.float32:
    a, b, c = _f(ir) / F32(255), _f(vi) / F32(255), _f(f) / F32(255)
    return F32(0.5) * _mean32((c - a) ** 2) + F32(0.5) * _mean32((c - b) ** 2)


def mse(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """(MSE(IR,F) + MSE(VI,F)) / 2 on [0, 1] data (lower is better)."""
    return float(_mse01(ir, vi, f))


def psnr(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """20 log10(255 / sqrt(MSE)) with MSE on [0, 1] data (dB; the reference's peak/scale mismatch)."""
    return float(F32(20) * np.log10(F32(255) / np.sqrt(_mse01(ir, vi, f))))


def _corr32(x: np.ndarray, y: np.ndarray) -> np.float32:
    dx = x - _mean32(x)
    dy = y - _mean32(y)
    return _sum32(dx * dy) / np.sqrt(_sum32(dx * dx) * _sum32(dy * dy))


def cc(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Mean of corr(IR, F) and corr(VI, F) (-1..1)."""
    a, b, c = _f(ir), _f(vi), _f(f)
    return float((_corr32(a, c) + _corr32(b, c)) / F32(2))


def scd(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """corr(F - VI, IR) + corr(F - IR, VI) (-2..2)."""
    a, b, c = _f(ir), _f(vi), _f(f)
    return float(_corr32(c - b, a) + _corr32(c - a, b))


# ---------------------------------------------------------------------------------------------- VIF
def _vif_torch(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """The survey's float32 VIF with torch's own ``conv2d``, called on the same tensor layouts as the
    reference (one 1x1xHxW image per call; after subsampling, strided views), so every filtered value is
    bit-identical to the reference's (a stride-2 convolution for filter-and-subsample is not: it differs
    by ~1e-7 relative on TNO). The fused image's pyramid and statistics are shared by IR and VI.

    In flat regions the local variances are float32 round-off of E[x^2] - E[x]^2 (x up to 255); which of
    them come out positive depends on the convolution's accumulation order, so only torch's own
    convolution reproduces the reference to better than ~2e-4.
    """
    import torch
    import torch.nn.functional as tF

    refs = [torch.from_numpy(a), torch.from_numpy(b)]
    dist = torch.from_numpy(f)
    num = [torch.zeros((), dtype=torch.float32) for _ in refs]
    den = [torch.zeros((), dtype=torch.float32) for _ in refs]
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        t = torch.linspace(-n // 2, n // 2, n)
        gx, gy = torch.meshgrid(t, t, indexing="ij")
        w = torch.exp(-(gx**2 + gy**2) / (2 * (n / 5) ** 2))
        w = (w / w.sum())[None, None]

        def conv(z: "torch.Tensor") -> "torch.Tensor":
            return tF.conv2d(z.unsqueeze(0).unsqueeze(0), w, padding=n // 2)[0][0]

        if scale > 1:
            refs = [conv(r)[::2, ::2] for r in refs]
            dist = conv(dist)[::2, ::2]
        mu2 = conv(dist)
        s2_raw = conv(dist * dist) - mu2 * mu2
        # the reference's masked assignments (x[m] = v), written as torch.where: same values, no gathers
        s2 = torch.where(s2_raw < 0, 0.0, s2_raw)
        low2 = s2 < 1e-10
        # The element-wise chain runs on cache-resident blocks of rows whose sizes are multiples of 64
        # elements (so torch's vectorised loops split them as they split the whole map: same values); the
        # terms are summed over the whole map as in the reference.
        h, w_ = mu2.shape
        step = 64 // math.gcd(w_, 64)
        rows = -(-48 // step) * step
        for i, ref in enumerate(refs):
            mu1 = conv(ref)
            e11 = conv(ref * ref)
            e12 = conv(ref * dist)
            tn = torch.empty_like(mu1)
            td = torch.empty_like(mu1)
            for r0 in range(0, h, rows):
                b = slice(r0, r0 + rows)
                m1 = mu1[b]
                s1 = e11[b] - m1 * m1
                s12 = e12[b] - m1 * mu2[b]
                s2b = s2[b]
                s1 = torch.where(s1 < 0, 0.0, s1)
                g = s12 / (s1 + 1e-10)
                sv = s2b - g * s12
                m = s1 < 1e-10
                g = torch.where(m, 0.0, g)
                sv = torch.where(m, s2b, sv)
                s1 = torch.where(m, 0.0, s1)
                g = torch.where(low2[b], 0.0, g)
                sv = torch.where(low2[b], 0.0, sv)
                m = g < 0
                sv = torch.where(m, s2b, sv)
                g = torch.where(m, 0.0, g)
                sv = torch.where(sv <= 1e-10, 1e-10, sv)
                tn[b] = torch.log10(1 + g**2 * s1 / (sv + 2))
                td[b] = torch.log10(1 + s1 / 2)
            num[i] = num[i] + torch.sum(tn)
            den[i] = den[i] + torch.sum(td)
    return float(num[0] / den[0] + num[1] / den[1])


def _require_torch(metric: str):
    """torch, or :class:`DependencyError`: these zoo metrics are defined by torch's float32 round-off."""
    try:
        import torch

        return torch
    except ImportError as exc:
        raise DependencyError(
            f"zoo {metric} reproduces the survey's torch float32 computation and needs torch: "
            "pip install 'ivif[torch]' (a NumPy float32 emulation differs by up to 2.4e-4 relative on VIF "
            "and 0.05 on SSIM on real images, beyond the profile's tolerance)"
        ) from exc


def vif(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """VIF(IR, F) + VIF(VI, F), 4-scale VIF-P as the survey computes it (float32, zero padding).

    Needs torch: the value is computed with torch's own ``conv2d`` exactly as the reference runs it.
    """
    _require_torch("VIF")
    return _vif_torch(_f(ir), _f(vi), _f(f))


# --------------------------------------------------------------------------------------- SSIM family
class _TorchSSIM:
    """SSIM/MS-SSIM of ``ssim.py`` with torch's own float32 ``conv2d``/``avg_pool2d`` on the same tensor
    layouts (contiguous 1x1xHxW, an 11x1 then a 1x11 Gaussian, 'valid'). With the data scaled by 255 and
    data_range 255, flat regions divide float32 round-off by C2 = 58.5, so only the reference's own
    accumulation order reproduces its values (a NumPy emulation was off by up to 0.05 on VIFB images)."""

    def __init__(self, torch):
        self.torch = torch
        import torch.nn.functional as tF

        self.F = tF
        c = torch.arange(11, dtype=torch.float32)
        c -= 11 // 2
        g = torch.exp(-(c**2) / (2 * 1.5**2))
        g /= g.sum()
        self.win = g.unsqueeze(0).unsqueeze(0).repeat([1, 1, 1, 1])  # (1, 1, 1, 11)

    def tensor(self, img: np.ndarray):
        # torchvision's to_tensor keeps float32 arrays unscaled; the reference multiplies by 255 again
        return (self.torch.from_numpy(_f(img)[None]).contiguous().unsqueeze(0).unsqueeze(0) * 255.0).squeeze(2)

    def filt(self, x):
        out = x
        for i, s in enumerate(x.shape[2:]):
            if s >= self.win.shape[-1]:
                perms = list(range(self.win.ndim))
                perms[2 + i] = perms[-1]
                perms[-1] = 2 + i
                out = self.F.conv2d(out, weight=self.win.permute(perms), stride=1, padding=0, groups=1)
        return out

    def stats(self, x):
        mu = self.filt(x)
        mu_sq = mu.pow(2)
        return mu, mu_sq, self.filt(x * x) - mu_sq

    def ssim_cs(self, x, y, sy=None):
        mu1, mu1_sq, s1 = self.stats(x)
        mu2, mu2_sq, s2 = sy if sy is not None else self.stats(y)
        mu12 = mu1 * mu2
        s12 = self.filt(x * y) - mu12
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        cs_map = (2 * s12 + c2) / (s1 + s2 + c2)
        ssim_map = ((2 * mu12 + c1) / (mu1_sq + mu2_sq + c1)) * cs_map
        return self.torch.flatten(ssim_map, 2).mean(-1), self.torch.flatten(cs_map, 2).mean(-1)

    def level0(self, ir, vi, f) -> tuple:
        """Tensors of IR, VI, F and the full-resolution ``(ssim, cs)`` of IR and VI against F: SSIM's
        values and MS_SSIM's first scale (computed once when both metrics are evaluated)."""
        xs = [self.tensor(ir), self.tensor(vi)]
        y = self.tensor(f)
        sy = self.stats(y)
        return xs, y, [self.ssim_cs(x, y, sy) for x in xs]

    def ssim(self, ir, vi, f) -> float:
        _, _, sc = shared("zoo.ssim0", self.level0, ir, vi, f)
        sa = sc[0][0].mean()
        sb = sc[1][0].mean()
        return float(1 * sa + 1 * sb)

    def ms_ssim(self, ir, vi, f) -> float:
        torch = self.torch
        w = torch.tensor(_MS_W.tolist(), dtype=torch.float32)
        xs, y, sc0 = shared("zoo.ssim0", self.level0, ir, vi, f)
        mcs: list[list] = [[], []]
        last: list = [None, None]
        for level in range(5):
            sy = self.stats(y) if level else None
            for i, x in enumerate(xs):
                s, cs = self.ssim_cs(x, y, sy) if level else sc0[i]
                if level < 4:
                    mcs[i].append(self.F.relu(cs))
                else:
                    last[i] = s
            if level < 4:
                pad = [v % 2 for v in y.shape[2:]]
                xs = [self.F.avg_pool2d(x, kernel_size=2, padding=pad) for x in xs]
                y = self.F.avg_pool2d(y, kernel_size=2, padding=pad)
        vals = []
        for i in range(2):
            stack = torch.stack(mcs[i] + [self.F.relu(last[i])], dim=0)
            vals.append(torch.prod(stack ** w.reshape((-1, 1, 1)), dim=0).mean())
        return float(1 * vals[0] + 1 * vals[1])


_TSSIM: list = []


def _torch_ssim() -> _TorchSSIM:
    torch = _require_torch("SSIM/MS_SSIM")
    if not _TSSIM:
        _TSSIM.append(_TorchSSIM(torch))
    return _TSSIM[0]


def ssim(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """SSIM(IR, F) + SSIM(VI, F) with the survey's scaling (effective data range 1 grey level); needs
    torch (the reference's float32 convolution, see :class:`_TorchSSIM`)."""
    return _torch_ssim().ssim(ir, vi, f)


_MS_W = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333], dtype=np.float32)



def ms_ssim(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """MS-SSIM(IR, F) + MS-SSIM(VI, F), 5 scales, the survey's scaling; images must exceed 160 px.

    Needs torch (the reference's float32 convolution and pooling, see :class:`_TorchSSIM`)."""
    if min(f.shape) <= 160:
        raise MetricError(
            f"MS_SSIM (zoo) needs both sides larger than 160 pixels (4 downsamplings of an 11-tap window), "
            f"got {f.shape[1]}x{f.shape[0]}; the reference asserts the same"
        )
    return _torch_ssim().ms_ssim(ir, vi, f)


# ------------------------------------------------------------------------------------------ Q_y, Q_cb
def _to64(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64)


def _qy_window() -> tuple[np.ndarray, np.ndarray]:
    # Yang's SSIM with the reference's window: a 7-tap Gaussian row (sigma 1.5) repeated on 7 rows, so the
    # window sums to 7 (rows kernel = ones, columns kernel = the Gaussian); zero 'same' padding; float64.
    g = np.exp(-((np.arange(7) - 3.0) ** 2) / 4.5)
    return np.ones(7), g / g.sum()


def qy(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Yang's structural-similarity fusion metric Q_Y (about 0..1), C1 = 1e-4, C2 = 9e-4 on 0..255 data."""
    kr, kc = _qy_window()
    imgs = [shared("zoo.f64", _to64, z) for z in (ir, vi, f)]
    mu = [sep_correlate(z, kr, kc, "constant") for z in imgs]
    mu_sq = [m * m for m in mu]
    var = [sep_correlate(z * z, kr, kc, "constant") - m2 for z, m2 in zip(imgs, mu_sq)]

    s12 = {(i, j): sep_correlate(imgs[i] * imgs[j], kr, kc, "constant") for i, j in ((0, 1), (0, 2), (1, 2))}

    def ssim_map(i: int, j: int, b: slice) -> np.ndarray:
        # ((2 mu_i mu_j + C1)(2 s_ij + C2)) / ((mu_i^2 + mu_j^2 + C1)(var_i + var_j + C2)), in place
        num = mu[i][b] * mu[j][b]
        sij = s12[i, j][b] - num
        num *= 2
        num += 1e-4
        sij *= 2
        sij += 9e-4
        num *= sij
        den = mu_sq[i][b] + mu_sq[j][b]
        den += 1e-4
        sij = var[i][b] + var[j][b]
        sij += 9e-4
        den *= sij
        num /= den
        return num

    total = 0.0
    for r0, r1 in row_blocks(imgs[0].shape[0]):  # element-wise, in cache-resident blocks of rows
        b = slice(r0, r1)
        m1, m2, m3 = ssim_map(0, 1, b), ssim_map(0, 2, b), ssim_map(1, 2, b)
        strong = (m1 >= 0.75).astype(np.float64)
        lam = var[0][b] / (var[0][b] + var[1][b] + 1e-10)
        # products with the 0/1 map (not np.where) so that a NaN in either branch propagates as in the reference
        q = (lam * m2 + (1 - lam) * m3) * strong + np.maximum(m2, m3) * (1 - strong)
        total += float(q.sum())
    return total / imgs[0].size


@lru_cache(maxsize=8)
def _csf_filter(shape: tuple[int, int]) -> np.ndarray:
    # Mannos-Sakrison-style band-pass on torch.fft.fftfreq grids (float32 in the reference), rfft half.
    h, w = shape
    fu = (np.fft.fftfreq(h).astype(np.float32) * F32(h / 30)).astype(np.float32)
    fv = (np.fft.rfftfreq(w).astype(np.float32) * F32(w / 30)).astype(np.float32)
    if w % 2 == 0:
        fv[-1] = -fv[-1]  # fftfreq's Nyquist entry is negative; only its square is used
    r = np.sqrt(fu[:, None] ** 2 + fv[None, :] ** 2)
    return np.exp(-((r / F32(15.3870)) ** 2)) - F32(0.7622) * np.exp(-((r / F32(1.3456)) ** 2))


def _gauss31(sigma: float) -> np.ndarray:
    x = np.arange(-15, 16, dtype=np.float64)
    return np.exp(-(x * x) / (2 * sigma**2))


def qcb(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Chen-Blum perceptual quality Q_CB (CSF filtering, local contrast, 31x31 Gaussians; about 0..1)."""
    imgs = []
    for z in (ir, vi, f):
        z = shared("zoo.f64", _to64, z)
        imgs.append((z - z.min()) / (z.max() - z.min()))
    sd = _csf_filter(tuple(imgs[0].shape)).astype(np.float64)
    # G = exp(-(x^2 + y^2) / (2 s^2)) / (2 pi s^2) on a 31x31 grid = outer product of 1-D profiles
    g1, g2 = _gauss31(2.0), _gauss31(4.0)
    g1n, g2n = g1 / (2 * np.pi * 4.0), g2 / (2 * np.pi * 16.0)

    def contrast_p(z: np.ndarray) -> np.ndarray:
        zf = sfft.irfft2(sfft.rfft2(z) * sd, s=z.shape)
        c = sep_correlate(zf, g1n, g1, "constant")
        d = sep_correlate(zf, g2n, g2, "constant")
        for r0, r1 in row_blocks(c.shape[0]):  # element-wise, in place, in cache-resident blocks of rows
            cb, db = c[r0:r1], d[r0:r1]
            db += 1e-10
            cb /= db
            cb -= 1
            np.abs(cb, out=cb)
            c2 = cb * cb  # |C|^p / (|C|^q + Z) with p = 3, q = 2 (torch evaluates these powers as products)
            cb *= c2
            c2 += 0.0001
            cb /= c2
        return c

    c1, c2, cf = (contrast_p(z) for z in imgs)
    # a zero contrast makes the reference's masked sum (x/0)*0 = NaN; keep that behaviour
    has_zero = not (np.all(cf) and np.all(c1) and np.all(c2))
    total = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for r0, r1 in row_blocks(cf.shape[0]):
            a, b, g = c1[r0:r1], c2[r0:r1], cf[r0:r1]
            if has_zero:
                m1 = (a < g).astype(np.float64)
                q1 = (a / g) * m1 + (g / a) * (1 - m1)
                m2 = (b < g).astype(np.float64)
                q2 = (b / g) * m2 + (g / b) * (1 - m2)
            else:
                q1 = np.where(a < g, a / g, g / a)
                q2 = np.where(b < g, b / g, g / b)
            s1 = a * a
            s2 = b * b
            den = s1 + s2
            den += 1e-10
            s1 *= q1
            s2 *= q2
            s1 += s2
            s1 /= den
            total += float(s1.sum())
    return total / cf.size


# -------------------------------------------------------------------------------------- Qabf, Nabf
def qabf(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Q^{AB/F} edge preservation (0..1): float32 strengths, float64 orientations, as ``Qabf.py``."""
    (ga, aa), (gb, ab), (gf, af) = (shared("zoo.qabf_edges", _qabf_edges, x) for x in (ir, vi, f))
    qa = qabf_q(ga, aa, gf, af)
    qb = qabf_q(gb, ab, gf, af)
    return float(np.sum(qa * ga + qb * gb) / np.sum(ga + gb))


def _nabf_edges(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Sobel/8 on a mirror (reflect-101) extended float64 image; gv = (left - right)/8, gh = (top - bottom)/8.
    gx, gy = sobel_xy(x.astype(np.float64), "reflect101")
    gv = -gx / 8 + 0.0  # + 0.0 turns -0.0 into +0.0, as a convolution sum yields
    gh = gy / 8 + 0.0
    return gv, gh, np.sqrt(gh * gh + gv * gv)


def nabf(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Fusion artifacts N^{AB/F} (Kumar's modification of Petrovic's measure), 0..1, lower is better.

    ``sum(na ((1 - Q^AF) w_A + (1 - Q^BF) w_B)) / sum(w_A + w_B)`` with ``na`` the pixels where F has a
    stronger edge than both sources and ``w = g^1.5`` for ``g >= 2``; Q is evaluated only where ``na`` holds.
    """
    gva, gha, ga = _nabf_edges(ir)
    gvb, ghb, gb = _nabf_edges(vi)
    gvf, ghf, gf = _nabf_edges(f)
    wa = np.where(ga >= 2, ga**1.5, 0.0)
    wb = np.where(gb >= 2, gb**1.5, 0.0)
    wsum = np.sum(wa + wb)
    # the masked pixels as flat indices: take() gathers much faster than boolean indexing
    idx = np.flatnonzero((gf > ga) & (gf > gb))

    def at(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x).ravel().take(idx)

    gfn = at(gf)
    with np.errstate(divide="ignore", invalid="ignore"):

        def ang(gv: np.ndarray, gh: np.ndarray) -> np.ndarray:
            gv, gh = at(gv), at(gh)
            return np.where((gv == 0) & (gh == 0), 0.0, np.arctan(gv / gh))

        af = ang(gvf, ghf)

        def q(g: np.ndarray, gv: np.ndarray, gh: np.ndarray) -> np.ndarray:
            g = at(g)
            rel = np.where((g == 0) | (gfn == 0), 0.0, np.where(g > gfn, gfn / g, g / gfn))
            axf = np.abs(np.abs(ang(gv, gh) - af) - np.pi / 2) * 2 / np.pi
            return np.sqrt(0.9999 / (1 + np.exp(-19 * (rel - 0.5))) * (0.9995 / (1 + np.exp(-22 * (axf - 0.5)))))

        num = np.sum((1 - q(ga, gva, gha)) * at(wa) + (1 - q(gb, gvb, ghb)) * at(wb))
    return float(num / wsum)


# ------------------------------------------------------------------------------------------ profile
def _fused_only(fn):
    def run(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
        return fn(f)

    run.__doc__ = fn.__doc__
    return run


def _checked(fn):
    def run(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
        check_pair(ir, vi, f)
        return fn(ir, vi, f)

    run.__doc__ = fn.__doc__
    return run


_DEFS = [
    MetricDef("CE", _checked(ce), False, "CE", "cross-entropy of sigmoid levels, nats (lower is better)"),
    MetricDef("NMI", _checked(nmi), True, "NMI", "2 MI / (H(IR) + H(VI)), bits/bits"),
    MetricDef("QNCIE", _checked(qncie), True, "Q_NCIE", "nonlinear correlation information entropy (0..1)"),
    MetricDef("TE", _checked(te), True, "TE", "Tsallis entropy (q=1): H(IR)+H(VI)-H(F), bits"),
    MetricDef("EI", _fused_only(ei), True, "EI", "edge intensity, mean Sobel magnitude of F, grey levels", ("fused",)),
    MetricDef("Qy", _checked(qy), True, "Q_Y", "Yang's SSIM-based fusion quality (about 0..1)"),
    MetricDef("Qcb", _checked(qcb), True, "Q_CB", "Chen-Blum perceptual quality (about 0..1)"),
    MetricDef("EN", _fused_only(en), True, "EN", "entropy of F, bits (0..8), log2(p + 1e-7)", ("fused",)),
    MetricDef("MI", _checked(mi), True, "MI", "MI(IR,F)+MI(VI,F), bits"),
    MetricDef("SF", _fused_only(sf), True, "SF", "spatial frequency of F, grey levels", ("fused",)),
    MetricDef("AG", _fused_only(ag), True, "AG", "average gradient of F, grey levels per pixel", ("fused",)),
    MetricDef("SD", _fused_only(sd), True, "SD", "standard deviation of F, grey levels", ("fused",)),
    MetricDef("CC", _checked(cc), True, "CC", "mean Pearson correlation of F with IR and VI (-1..1)"),
    MetricDef("SCD", _checked(scd), True, "SCD", "sum of correlations of differences (-2..2)"),
    MetricDef("VIF", _checked(vif), True, "VIF", "VIF-P(IR,F)+VIF-P(VI,F), zero-padded off-centre Gaussians"),
    MetricDef("MSE", _checked(mse), False, "MSE", "mean of MSE(IR,F) and MSE(VI,F) on [0,1] data"),
    MetricDef("PSNR", _checked(psnr), True, "PSNR", "20 log10(255/sqrt(MSE)) with MSE on [0,1] data, dB"),
    MetricDef("Qabf", _checked(qabf), True, "Q_AB/F", "edge preservation Q^AB/F (0..1)"),
    MetricDef("Nabf", _checked(nabf), False, "N_AB/F", "fusion artifacts N^AB/F (0..1, lower is better)"),
    MetricDef("SSIM", _checked(ssim), True, "SSIM", "SSIM(IR,F)+SSIM(VI,F), 11x11 Gaussian, effective range 1"),
    MetricDef("MS_SSIM", _checked(ms_ssim), True, "MS-SSIM", "MS-SSIM(IR,F)+MS-SSIM(VI,F), 5 scales"),
]

PROFILE = register_profile(
    Profile(
        name="zoo",
        description="IVIF_ZOO survey metric code (21 metrics); PIL convert('L')",
        reference="https://github.com/RollingPlain/IVIF_ZOO (Metric/Metric_torch.py, Qabf.py, Nabf.py, ssim.py)",
        load=load,
        metrics={d.name: d for d in _DEFS},
        notes="MI/NMI in bits; PSNR = 20 log10(255/sqrt(MSE on [0,1])); SSIM effective data range 1.",
    )
)
