"""Nonsubsampled contourlet transform (NSCT) as the NSCT toolbox in VIFB's NSCT_SR folder computes it.

No maintained Python package provides the NSCT, so this module implements the part VIFB uses: a
nonsubsampled pyramid level (``nsfbdec``/``nsfbrec`` at level 0 with the ``'pyrexc'`` filters and the
toolbox's symmetric extension ``symext``), followed by a nonsubsampled directional filter bank of up to
two levels (``nsdfbdec``/``nsdfbrec``: fan filters from the ``'vk'`` diamond pair by McClellan
transform and modulation, periodic ``efilter2``, and the quincunx-upsampled ``zconv2``). Filter
coefficients and index conventions are the toolbox's (Cunha, Zhou & Do, IEEE TIP 2006).

Decomposition and reconstruction are exact inverses (perfect reconstruction to ~1e-12).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import convolve

# 'pyr'/'pyrexc' pyramid filters of atrousfilters.m: one quadrant each, extended symmetrically below.
_H0_Q = np.array([
    [-0.003236043456039806, -0.012944173824159223, -0.019416260736238835],
    [-0.012944173824159223, 0.0625, 0.15088834764831843],
    [-0.019416260736238835, 0.15088834764831843, 0.3406092167691145],
])
_G0_Q = np.array([
    [-0.00016755163599004882, -0.001005309815940293, -0.002513274539850732, -0.003351032719800976],
    [-0.001005309815940293, -0.005246663087920392, -0.01193886400821893, -0.015395021472477663],
    [-0.002513274539850732, -0.01193886400821893, 0.06769410071569153, 0.15423938036811946],
    [-0.003351032719800976, -0.015395021472477663, 0.15423938036811946, 0.3325667382415921],
])
_HI3_Q = np.array([  # 3x3 quadrant: the analysis highpass of 'pyrexc' (synthesis highpass of 'pyr')
    [-0.003236043456039806, -0.012944173824159223, -0.019416260736238835],
    [-0.012944173824159223, -0.0625, -0.09911165235168155],
    [-0.019416260736238835, -0.09911165235168155, 0.8406092167691145],
])
_HI4_Q = np.array([  # 4x4 quadrant: the synthesis highpass of 'pyrexc' (analysis highpass of 'pyr')
    [0.00016755163599004882, 0.001005309815940293, 0.002513274539850732, 0.003351032719800976],
    [0.001005309815940293, -0.0012254238241592198, -0.013949483640099517, -0.023437500000000007],
    [0.002513274539850732, -0.013949483640099517, -0.06769410071569153, -0.10246268507148255],
    [0.003351032719800976, -0.023437500000000007, -0.10246268507148255, 0.8486516952966369],
])


def _sym_extend_quadrant(q: np.ndarray) -> np.ndarray:
    row = np.concatenate([q, q[:, -2::-1]], axis=1)
    return np.concatenate([row, row[-2::-1, :]], axis=0)


def atrousfilters(name: str = "pyrexc") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``atrousfilters.m`` for ``'pyr'`` and ``'pyrexc'``: analysis (h0, h1) and synthesis (g0, g1) filters."""
    if name not in ("pyr", "pyrexc"):
        raise ValueError(f"atrousfilters: only 'pyr' and 'pyrexc' are implemented, got {name!r}")
    h1q, g1q = (_HI3_Q, _HI4_Q) if name == "pyrexc" else (_HI4_Q, _HI3_Q)
    return tuple(_sym_extend_quadrant(q) for q in (_H0_Q, h1q, _G0_Q, g1q))  # type: ignore[return-value]


def mcclellan(b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """MATLAB ``ftrans2(b, t)`` for an odd-length zero-phase 1-D filter ``b`` (Chebyshev recursion)."""
    b = np.asarray(b, dtype=np.float64).ravel()
    n = (b.size - 1) // 2
    a = np.concatenate([[b[n]], 2.0 * b[n + 1 :]])
    t = np.asarray(t, dtype=np.float64)
    size = (2 * n * (t.shape[0] // 2) + 1, 2 * n * (t.shape[1] // 2) + 1)

    def centred(p: np.ndarray) -> np.ndarray:
        out = np.zeros(size)
        r0 = (size[0] - p.shape[0]) // 2
        c0 = (size[1] - p.shape[1]) // 2
        out[r0 : r0 + p.shape[0], c0 : c0 + p.shape[1]] = p
        return out

    from scipy.signal import convolve2d

    p_prev, p_cur = np.ones((1, 1)), t
    h = a[0] * centred(p_prev) + (a[1] * centred(p_cur) if n >= 1 else 0.0)
    for k in range(2, n + 1):
        p_next = 2.0 * convolve2d(t, p_cur)
        p_next = p_next - _pad_to(p_prev, p_next.shape)
        h = h + a[k] * centred(p_next)
        p_prev, p_cur = p_cur, p_next
    return h[::-1, ::-1]


def _pad_to(p: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape)
    r0 = (shape[0] - p.shape[0]) // 2
    c0 = (shape[1] - p.shape[1]) // 2
    out[r0 : r0 + p.shape[0], c0 : c0 + p.shape[1]] = p
    return out


def modulate2(x: np.ndarray, kind: str) -> np.ndarray:
    """``modulate2.m``: multiply by (-1)^n along rows ('r'), columns ('c') or both ('b'), origin at floor(size/2)."""
    s = x.shape
    n1 = np.arange(s[0]) - s[0] // 2
    n2 = np.arange(s[1]) - s[1] // 2
    m1 = np.where(n1 % 2 == 0, 1.0, -1.0)
    m2 = np.where(n2 % 2 == 0, 1.0, -1.0)
    if kind == "r":
        return x * m1[:, None]
    if kind == "c":
        return x * m2[None, :]
    return x * np.outer(m1, m2)


def dfilters_vk(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``dfilters('vk', kind)``: the diamond filter pair, McClellan-transformed from the VK-book 1-D filters."""
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]) / 4.0
    if kind == "d":
        b0, b1 = np.array([1.0, 2.0, 1.0]) / 4.0, np.array([-1.0, -2.0, 6.0, -2.0, -1.0]) / 4.0
    else:
        b0, b1 = np.array([-1.0, 2.0, 6.0, 2.0, -1.0]) / 4.0, np.array([-1.0, 2.0, -1.0]) / 4.0
    return mcclellan(b0, t), mcclellan(b1, t)


def fan_filters(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """First-level fan filters of the nonsubsampled DFB (``'vk'``, scaled by 1/sqrt(2), modulated along columns)."""
    h1, h2 = dfilters_vk(kind)
    return modulate2(h1 / np.sqrt(2.0), "c"), modulate2(h2 / np.sqrt(2.0), "c")


# ---------------------------------------------------------------------------------------- filtering
def sym_conv(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``conv2(symext(x, h, [1 1]), h, 'valid')`` for odd square ``h``: half-sample symmetric borders."""
    return convolve(x, h, mode="reflect")


def efilter2_per(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``efilter2(x, f)`` with the default periodic extension and no shift (odd-size ``f``)."""
    return convolve(x, f, mode="wrap")


def zconv2(x: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``zconv2.c``: periodic convolution with ``f`` upsampled by the 2x2 integer matrix ``m`` (no upsampling done).

    Output ``y[r, c] = sum f[l2, l1] x[(r + s2 - l1 m21 - l2 m22) mod R, (c + s1 - l1 m11 - l2 m12) mod C]`` with
    the start offsets ``s1, s2`` the C code derives from the upsampled filter's extent.
    """
    rows, cols = x.shape
    fr, fc = f.shape
    m11, m21, m12, m22 = int(m[0, 0]), int(m[1, 0]), int(m[0, 1]), int(m[1, 1])
    new_c = int((m11 - 1) * (fc - 1) + m12 * (fr - 1) + fc - 1)
    new_r = int((m22 - 1) * (fr - 1) + m21 * (fc - 1) + fr - 1)
    s1, s2 = int(new_c / 2), int(new_r / 2)  # C integer division truncates toward zero
    out = np.zeros_like(x, dtype=np.float64)
    for l1 in range(fc):
        for l2 in range(fr):
            w = f[l2, l1]
            if w == 0.0:
                continue
            dr = (s2 - l1 * m21 - l2 * m22) % rows
            dc = (s1 - l1 * m11 - l2 * m12) % cols
            out += w * np.roll(x, (-dr, -dc), axis=(0, 1))
    return out


_Q1 = np.array([[1, -1], [1, 1]])


def nsdfb_dec(x: np.ndarray, nlev: int) -> list[np.ndarray]:
    """``nsdfbdec(x, 'vk', nlev)`` for ``nlev`` in 0..2: 2**nlev directional subbands."""
    if nlev == 0:
        return [x]
    k1, k2 = fan_filters("d")
    x1, x2 = efilter2_per(x, k1), efilter2_per(x, k2)
    if nlev == 1:
        return [x1, x2]
    if nlev == 2:
        return [zconv2(x1, k1, _Q1), zconv2(x1, k2, _Q1), zconv2(x2, k1, _Q1), zconv2(x2, k2, _Q1)]
    raise ValueError(f"nsdfb_dec: {nlev} directional levels requested; VIFB's NSCT_SR uses at most 2 (4 subbands)")


def nsdfb_rec(y: list[np.ndarray]) -> np.ndarray:
    """``nsdfbrec(y, 'vk')``, the inverse of :func:`nsdfb_dec`."""
    if len(y) == 1:
        return y[0]
    k1, k2 = fan_filters("r")
    if len(y) == 2:
        return efilter2_per(y[0], k1) + efilter2_per(y[1], k2)
    if len(y) == 4:
        x1 = zconv2(y[0], k1, _Q1) + zconv2(y[1], k2, _Q1)
        x2 = zconv2(y[2], k1, _Q1) + zconv2(y[3], k2, _Q1)
        return efilter2_per(x1, k1) + efilter2_per(x2, k2)
    raise ValueError(f"nsdfb_rec: {len(y)} subbands given; expected 1, 2 or 4 (VIFB's NSCT_SR uses at most 4)")


def nsct_dec(x: np.ndarray, dir_levels: int = 2) -> tuple[np.ndarray, list[np.ndarray]]:
    """``nsctdec(x, [dir_levels], 'vk', 'pyrexc')``: one pyramid level; returns (lowpass, directional bands)."""
    h0, h1, _, _ = atrousfilters("pyrexc")
    x = np.asarray(x, dtype=np.float64)
    return sym_conv(x, h0), nsdfb_dec(sym_conv(x, h1), dir_levels)


def nsct_rec(low: np.ndarray, bands: list[np.ndarray]) -> np.ndarray:
    """``nsctrec({low, bands}, 'vk', 'pyrexc')``, the inverse of :func:`nsct_dec`."""
    _, _, g0, g1 = atrousfilters("pyrexc")
    return sym_conv(low, g0) + sym_conv(nsdfb_rec(bands), g1)
