"""HMSD_GF: hybrid multi-scale decomposition with guided filters (Zhou, Dong, Xie & Gao 2016), as in VIFB.

Each source is decomposed over four scales by two guided filters (self-guided, radius 2, 4, 8, 16): one
with a huge regulariser (eps = 100^2, practically a smoothing filter) and one edge-preserving (eps =
0.1, 0.05, 0.025, 0.0125, squared), giving "edge" and "detail" layers per scale. Large-scale layers are
blended with infrared-dominance weights ``atan(lambda P) / atan(lambda)`` where ``P`` is the normalised
excess of infrared over visible edge energy and ``lambda`` (100..2000) is chosen from the relative
perceptual saliency of the two images (``PS``, Mannos-Sakrison weighted spectral energy over 40x40
blocks); the smallest scale uses max-absolute selection. The result is scaled by 275/255, rounded and
clipped as in the authors' code. VIFB fuses a colour visible image channel by channel with the infrared.

GFCE (:mod:`ivif.methods.classical.gfce`) is the same fusion after a visibility enhancement of the
visible image and a min-max normalisation of the infrared one.
"""

from __future__ import annotations

import numpy as np

from ...registry import METHODS
from ..base import FusionMethod
from ._common import gaussian_1d, guided_filter, imfilter_sep, matlab_round

_N_LEVEL = 4
_PS_BLOCK = 40  # PS.m: wS
_PS_R = 32  # PS.m: R
_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _csf_weights(m: int, n: int, R: float) -> np.ndarray:
    # WinAvgPE.m: Mannos-Sakrison CSF on freqspace([m n], 'meshgrid') scaled by R/2, in FFT order
    # (ifftshift undoes the fftshift applied to the spectrum there).
    f1 = (np.arange(n) - n // 2) * (2.0 / n) / 2.0 * R
    f2 = (np.arange(m) - m // 2) * (2.0 / m) / 2.0 * R
    r = np.sqrt(f1[None, :] ** 2 + f2[:, None] ** 2)
    fw = 2.6 * (0.0192 + 0.114 * r) * np.exp(-((0.114 * r) ** 1.1))
    return np.fft.ifftshift(fw)


def _block_energy(blocks: np.ndarray, R: float) -> np.ndarray:
    # blocks: (..., m, n) -> per-block sqrt(sum |FFT * CSF|^2) / (m n)
    m, n = blocks.shape[-2:]
    spec = np.fft.fft2(blocks, axes=(-2, -1))
    w2 = _csf_weights(m, n, R) ** 2
    return np.sqrt((np.abs(spec) ** 2 * w2).sum(axis=(-2, -1))) / (m * n)


def perceptual_saliency(img: np.ndarray) -> float:
    """PS.m: perceptual saliency of a single-channel image on the 0..255 scale (float).

    Sobel gradient magnitude (valid part) weights the per-block (40x40, MATLAB ``blockproc`` tiling with
    partial edge blocks) Mannos-Sakrison spectral energy: ``sum(E_b * sum_b g^2) / sum(sum_b g^2)``.
    """
    import cv2

    a = np.asarray(img, dtype=np.float64)
    # conv2(img, S, 'valid') with S and its transpose: the sign is irrelevant for the magnitude.
    gx = cv2.filter2D(a, cv2.CV_64F, _SOBEL_X)[1:-1, 1:-1]
    gy = cv2.filter2D(a, cv2.CV_64F, _SOBEL_X.T)[1:-1, 1:-1]
    g2 = gx * gx + gy * gy  # g.^alpha with alpha = 2
    core = a[1:-1, 1:-1]
    h, w = core.shape
    bs = _PS_BLOCK
    hf, wf = (h // bs) * bs, (w // bs) * bs
    energies, lambdas = [], []
    # Full blocks in one batched FFT; partial blocks on the right/bottom edges, grouped by shape.
    if hf and wf:
        blk = core[:hf, :wf].reshape(hf // bs, bs, wf // bs, bs).swapaxes(1, 2)
        gb = g2[:hf, :wf].reshape(hf // bs, bs, wf // bs, bs).swapaxes(1, 2)
        energies.append(_block_energy(blk, _PS_R).ravel())
        lambdas.append(gb.sum(axis=(-2, -1)).ravel())
    if w > wf and hf:
        blk = core[:hf, wf:].reshape(hf // bs, bs, w - wf)
        energies.append(_block_energy(blk, _PS_R))
        lambdas.append(g2[:hf, wf:].reshape(hf // bs, bs, w - wf).sum(axis=(-2, -1)))
    if h > hf and wf:
        blk = core[hf:, :wf].reshape(h - hf, wf // bs, bs).swapaxes(0, 1)
        energies.append(_block_energy(blk, _PS_R))
        lambdas.append(g2[hf:, :wf].reshape(h - hf, wf // bs, bs).sum(axis=(0, 2)))
    if h > hf and w > wf:
        energies.append(_block_energy(core[hf:, wf:][None], _PS_R))
        lambdas.append(g2[hf:, wf:].sum()[None])
    e = np.concatenate(energies)
    lam = np.concatenate(lambdas)
    return float((e * lam).sum() / lam.sum())


def select_lambda(ir: np.ndarray, vi: np.ndarray) -> float:
    """The authors' automatic parameter: ``Rs = PS(IR) / PS(VIS)`` mapped to lambda in [100, 2000]."""
    return lambda_from_ratio(perceptual_saliency(ir) / perceptual_saliency(vi))


def lambda_from_ratio(rs: float) -> float:
    """Map the relative perceptual saliency ``Rs`` to lambda (100 below 0.8, 2000 above 1.6, linear between)."""
    if rs < 0.8:
        return 100.0
    if rs > 1.6:
        return 2000.0
    return 2500.0 * rs - 1900.0


def _decompose(img01: np.ndarray) -> tuple[list, list, list]:
    # Returns M (smoothed, eps=100^2), D (detail) and E (edge) layers, indexed like the MATLAB cells
    # M{1..5} -> 0..4 (D, E defined from index 1).
    m, ml = [img01], [img01]
    d, e = [None], [None]
    r, eps = 2, 0.1
    for _ in range(_N_LEVEL):
        m.append(guided_filter(m[-1], m[-1], r, 100.0**2))
        ml.append(guided_filter(ml[-1], ml[-1], r, eps**2))
        d.append(m[-2] - ml[-1])
        e.append(ml[-1] - m[-1])
        r *= 2
        eps /= 2
    return m, d, e


def hmsd_gf_fuse(vi: np.ndarray, ir: np.ndarray, lam: float, ir_layers: tuple | None = None) -> np.ndarray:
    """Fuse one visible channel with the infrared (both float64 levels 0..255); returns levels 0..255.

    ``lam`` is the infrared-dominance parameter (see :func:`select_lambda`); ``ir_layers`` may pass
    ``_decompose(ir / 255)`` computed once for several visible channels.
    """
    m1, d1, e1 = _decompose(vi / 255.0)
    m2, d2, e2 = ir_layers if ir_layers is not None else _decompose(ir / 255.0)
    g1 = gaussian_1d(7, 1.0)  # sigma_c = sigma_t = 1 -> 7x7
    sigma_b = 2.0 * 2.0 * 2.0**_N_LEVEL  # 2 * sigma0 after the decomposition loop (sigma 2, k 2)
    wb = int(np.floor(3 * sigma_b))
    gb = gaussian_1d(2 * wb + 1, sigma_b)
    atan_l = np.arctan(lam)
    mb = None
    for j in range(_N_LEVEL, 1, -1):
        rj = np.maximum(np.abs(e2[j]) - np.abs(e1[j]), 0.0)
        # MATLAB divides by max(R) even when it is 0 (all-NaN weights, a white image); no infrared
        # excess anywhere means no infrared dominance, P = 0 (never the case on the VIFB pairs).
        rmax = rj.max()
        p = rj / rmax if rmax > 0 else np.zeros_like(rj)
        c = np.arctan(lam * p) / atan_l
        if mb is None:
            cb = imfilter_sep(c, gb, gb, "symmetric")
            mb = cb * m2[_N_LEVEL] + (1.0 - cb) * m1[_N_LEVEL]
        c = imfilter_sep(c, g1, g1, "symmetric")
        mb = mb + (c * e2[j] + (1.0 - c) * e1[j])
        mb = mb + (c * d2[j] + (1.0 - c) * d1[j])
    c11 = imfilter_sep((np.abs(e1[1]) < np.abs(e2[1])).astype(np.float64), g1, g1, "symmetric")
    mb = mb + (c11 * e2[1] + (1.0 - c11) * e1[1])
    c10 = (np.abs(d1[1]) < np.abs(d2[1])).astype(np.float64)
    mb = mb + (c10 * d2[1] + (1.0 - c10) * d1[1])
    # FI = max(min(round(MB*275), 255), 0): the authors' output gain of 275/255.
    return np.clip(matlab_round(mb * 275.0), 0.0, 255.0)


@METHODS.register(
    "hmsd_gf",
    aliases=("HMSD_GF", "hmsd-gf"),
    tags=("classical", "multiscale"),
    paper="Z. Zhou, M. Dong, X. Xie, Z. Gao, Fusion of infrared and visible images for night-vision context "
    "enhancement, Applied Optics 55(23) (2016) 6480-6490",
)
class HMSD_GF(FusionMethod):
    """Guided-filter hybrid multi-scale decomposition fusion (VIFB's MATLAB code, per RGB channel)."""

    display_name = "HMSD_GF"
    family = "classical"
    paper = "Zhou, Dong, Xie & Gao, Applied Optics 2016"
    color = "native"  # per RGB channel as VIFB, with the infrared decomposition shared by the channels
    global_statistics = True  # image-wide maxima (weights, lambda / bilateral grid range)

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        return fuse_channels(ir, vi, enhance=False)


def fuse_channels(ir: np.ndarray, vi: np.ndarray, enhance: bool) -> np.ndarray:
    """Run HMSD_GF (``enhance=False``) or GFCE (``enhance=True``) on each channel of ``vi`` (``HxW`` or
    ``HxWx3`` in [0, 1]) with the gray infrared ``ir``; returns float32 in [0, 1] (8-bit levels)."""
    from .gfce import enhance_visible, normalise_infrared

    i = ir.astype(np.float64) * 255.0
    if enhance:
        i = normalise_infrared(i)
    ps_ir = perceptual_saliency(i)
    ir_layers = _decompose(i / 255.0)
    chans = [vi] if vi.ndim == 2 else [vi[..., k] for k in range(vi.shape[2])]
    out = []
    for c in chans:
        v = c.astype(np.float64) * 255.0
        if enhance:
            v = enhance_visible(v)
        lam = lambda_from_ratio(ps_ir / perceptual_saliency(v))
        out.append(hmsd_gf_fuse(v, i, lam, ir_layers) / 255.0)
    f = out[0] if vi.ndim == 2 else np.stack(out, axis=2)
    return f.astype(np.float32)
