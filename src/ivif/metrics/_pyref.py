"""Shared numerical primitives of the Python reference profiles (``cddfuse``, ``zoo``).

Everything here is vectorised: histograms are ``np.bincount`` on 8-bit levels, 2-D filters are separable
passes through OpenCV (``cv2.sepFilter2D``, correlation, in the dtype of the input), so that the profile
modules only spell out each reference's formula, dtype and border handling.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from ..errors import InvalidImageError, SizeMismatchError

Border = Literal["constant", "reflect101", "reflect", "valid"]

_CV_BORDER = {
    "constant": cv2.BORDER_CONSTANT,  # zero padding ('same' output of a zero-padded conv)
    "reflect101": cv2.BORDER_REFLECT_101,  # d c b | a b c d | c b a
    "reflect": cv2.BORDER_REFLECT,  # c b a | a b c d | d c b  (scipy.ndimage 'reflect')
}


# ------------------------------------------------------------------------------------------ filtering
def sep_correlate(img: np.ndarray, k_rows: np.ndarray, k_cols: np.ndarray, border: Border = "constant") -> np.ndarray:
    """Separable 2-D correlation ``sum_ij k_rows[i] k_cols[j] img[y+i-ci, x+j-cj]`` (no kernel flip).

    Args:
        img: 2-D float32 or float64 array; the filtering runs in that dtype.
        k_rows: 1-D kernel applied along axis 0 (odd length, centred at ``len//2``).
        k_cols: 1-D kernel applied along axis 1 (odd length).
        border: ``constant`` (zeros outside), ``reflect101``, ``reflect`` (same size output) or ``valid``
            (only positions where the kernel fits entirely, like ``scipy.signal.convolve2d(mode='valid')``).
    """
    dt = img.dtype
    kr = np.asarray(k_rows, dtype=dt).reshape(-1, 1)
    kc = np.asarray(k_cols, dtype=dt).reshape(-1, 1)
    if border == "valid":
        rr, rc = kr.shape[0] // 2, kc.shape[0] // 2
        out = cv2.sepFilter2D(img, -1, kc, kr, borderType=cv2.BORDER_CONSTANT)
        return out[rr : img.shape[0] - rr, rc : img.shape[1] - rc]
    return cv2.sepFilter2D(img, -1, kc, kr, borderType=_CV_BORDER[border])


def sobel_xy(img: np.ndarray, border: Border = "constant") -> tuple[np.ndarray, np.ndarray]:
    """Sobel responses ``(right - left, top - bottom)`` with weights (1, 2, 1), same size, in img's dtype.

    These are the correlations with ``[[-1,0,1],[-2,0,2],[-1,0,1]]`` and ``[[1,2,1],[0,0,0],[-1,-2,-1]]``.
    On integer-valued images every value is an exact integer, so the order of operations does not matter.
    """
    smooth = np.array([1.0, 2.0, 1.0])
    diff = np.array([-1.0, 0.0, 1.0])
    gx = sep_correlate(img, smooth, diff, border)
    gy = sep_correlate(img, -diff, smooth, border)
    return gx, gy


# ---------------------------------------------------------------------------------------- histograms
def level_hist(levels: np.ndarray, n: int = 256) -> np.ndarray:
    """Counts of each integer level ``0..n-1`` (int64, length ``n``)."""
    return np.bincount(levels.ravel(), minlength=n)[:n]


def joint_hist(a: np.ndarray, b: np.ndarray, n: int = 256) -> np.ndarray:
    """Joint histogram ``H[i, j] = #{a == i and b == j}`` of two integer level images (int64, ``n x n``)."""
    idx = a.ravel().astype(np.int64) * n + b.ravel().astype(np.int64)
    return np.bincount(idx, minlength=n * n)[: n * n].reshape(n, n)


def plogp_bits(p: np.ndarray) -> float:
    """``sum p log2 p`` over the nonzero entries of ``p`` (float64)."""
    q = p[p > 0]
    return float(np.sum(q * np.log2(q)))


def mutual_information_bits(a: np.ndarray, b: np.ndarray, n: int = 256) -> float:
    """Mutual information (bits) of two 8-bit level images from their joint histogram: H(a) + H(b) - H(a, b)."""
    h = joint_hist(a, b, n).astype(np.float64)
    h /= h.sum()
    return plogp_bits(h) - plogp_bits(h.sum(axis=0)) - plogp_bits(h.sum(axis=1))


def mutual_info_nats(a: np.ndarray, b: np.ndarray, n: int = 256) -> float:
    """Mutual information in nats with ``sklearn.metrics.mutual_info_score`` semantics (clipped at 0).

    ``a`` and ``b`` are integer labels in ``0..n-1``; the value equals ``mutual_info_score(a, b)``.
    """
    c = joint_hist(a, b, n).astype(np.float64)
    total = c.sum()
    pi = c.sum(axis=1)
    pj = c.sum(axis=0)
    nz = c > 0
    nij = c[nz]
    outer = np.outer(pi, pj)[nz]
    # sum_ij nij/N * log(N nij / (ni nj))
    mi = nij / total * (np.log(nij) + np.log(total) - np.log(outer))
    return float(max(np.sum(mi), 0.0))


# ------------------------------------------------------------------------------------------ checks
def check_pair(*imgs: np.ndarray, names: tuple[str, ...] = ("ir", "vi", "fused")) -> None:
    """Raise :class:`SizeMismatchError` unless all images share height and width."""
    ref = imgs[0]
    for im, nm in zip(imgs[1:], names[1:]):
        if im.shape[:2] != ref.shape[:2]:
            raise SizeMismatchError(
                f"{names[0]} is {ref.shape[1]}x{ref.shape[0]} but {nm} is {im.shape[1]}x{im.shape[0]} (WxH); "
                "metrics need the fused image and both sources at the same size"
            )


def to_levels8(x: np.ndarray, name: str) -> np.ndarray:
    """An array as 8-bit levels (uint8, ``HxW`` or ``HxWx3``), the way saving it as an 8-bit PNG would.

    uint8 passes through; float arrays must be finite and in [0, 1] and are scaled by 255 and rounded to
    the nearest level (``np.rint``, as :func:`ivif.io.imwrite`); uint16 is scaled by 255/65535.
    """
    from ..io import as_image

    a = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if a.dtype == np.uint8:
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[..., :3]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
            raise InvalidImageError(f"{name}: expected shape HxW or HxWx3, got {tuple(a.shape)}; pass channels last")
        return a
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    f = as_image(a, name=name)
    return np.rint(np.clip(f.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


# --------------------------------------------------------------------------------------------- Qabf
def qabf_edges(
    img: np.ndarray, angle_dtype: type = np.float32, grads: "tuple[np.ndarray, np.ndarray] | None" = None
) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength and orientation of Xydeas-Petrovic Q^{AB/F} on a float32 image (zero-padded Sobel).

    Strength ``sqrt(gx^2 + gy^2)`` is float32; orientation ``arctan(gy / gx)`` is computed in float32 and
    stored in ``angle_dtype`` (``pi/2`` where ``gx == 0``) -- the two Python references differ only there.
    ``grads`` may pass ``sobel_xy(img.astype(float32), "constant")`` already computed.
    """
    gx, gy = grads if grads is not None else sobel_xy(img.astype(np.float32), "constant")
    g = np.sqrt(gx * gx + gy * gy)
    a = np.full(img.shape, np.pi / 2, dtype=angle_dtype)
    nz = gx != 0
    a[nz] = np.arctan(gy[nz] / gx[nz])
    return g, a


def qabf_q(ga: np.ndarray, aa: np.ndarray, gf: np.ndarray, af: np.ndarray) -> np.ndarray:
    """Per-pixel edge preservation Q^{AF} = Q_g Q_a (dtype follows the inputs, as NumPy promotes them).

    Relative strength is min/max of (gA, gF) with the references' quirk ``G = gF`` where ``gA == gF``.
    """
    # min/max where the strengths differ; where equal, min = gF (the quirk). In-place steps with the
    # formula's operations and order (dtypes as the formula's NumPy promotion gives them).
    g = np.minimum(ga, gf)
    np.divide(g, np.maximum(ga, gf), out=g, where=ga != gf)
    g -= 0.5
    g *= -15
    np.exp(g, out=g)
    g += 1
    np.divide(0.9994, g, out=g)  # Q_g
    a = aa - af
    np.abs(a, out=a)
    a /= np.pi / 2
    np.subtract(1, a, out=a)
    a -= 0.8
    a *= -22
    np.exp(a, out=a)
    a += 1
    np.divide(0.9879, a, out=a)  # Q_a
    return g * a


# ---------------------------------------------------------------------------------------------- VIF
def vif_terms(s1: np.ndarray, s2: np.ndarray, s12: np.ndarray, eps: float = 1e-10, nsq: float = 2.0):
    """Per-pixel VIF-P numerator and denominator maps from local (co)variances, with the clamping order
    of the Python references (``sigma_nsq = 2``, ``eps = 1e-10``); the dtype of the inputs is kept."""
    # x(x < 0) = 0 as max(x, 0) and x(m) = 0 as x * ~m: branch-free, same values (all finite; only the
    # sign of some zeros can differ, which no later step sees)
    s1 = np.maximum(s1, 0)
    s2 = np.maximum(s2, 0)
    g = s12 / (s1 + eps)
    sv = s2 - g * s12
    m = s1 < eps
    keep = ~m
    g *= keep
    np.copyto(sv, s2, where=m)
    s1 *= keep
    keep = s2 >= eps
    g *= keep
    sv *= keep
    m = g < 0
    np.copyto(sv, s2, where=m)
    g *= ~m
    np.maximum(sv, eps, out=sv)
    return np.log10(1 + g * g * s1 / (sv + nsq)), np.log10(1 + s1 / nsq)


def vifp_scale_sums(refs: list[np.ndarray], dist: np.ndarray, windows: list[np.ndarray], border: Border, reduce):
    """Multi-scale VIF-P sums for several references against one distorted image.

    Scale ``s`` filters with the separable window ``windows[s]`` (``border``: ``valid`` or ``constant``);
    before every scale but the first, the images are filtered and subsampled by 2. The distorted image's
    pyramid and statistics are shared by all references. Returns, per reference, a list of
    ``(reduce(num_map), reduce(den_map))`` per scale.
    """
    out: list[list[tuple]] = [[] for _ in refs]
    refs = list(refs)
    for s, w in enumerate(windows):
        if s > 0:
            refs = [sep_correlate(r, w, w, border)[::2, ::2] for r in refs]
            dist = sep_correlate(dist, w, w, border)[::2, ::2]
        mu2 = sep_correlate(dist, w, w, border)
        s2 = sep_correlate(dist * dist, w, w, border) - mu2 * mu2
        for i, ref in enumerate(refs):
            mu1 = sep_correlate(ref, w, w, border)
            s1 = sep_correlate(ref * ref, w, w, border) - mu1 * mu1
            s12 = sep_correlate(ref * dist, w, w, border) - mu1 * mu2
            tn, td = vif_terms(s1, s2, s12)  # vif_terms does not modify s2
            out[i].append((reduce(tn), reduce(td)))
    return out
