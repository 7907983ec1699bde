"""Filtering / multi-scale classical methods (GFF, GFCE, HMSD_GF, Hybrid_MSD, MGFF, TIF) and their shared
MATLAB-semantics helpers.

Fidelity: each method is run on real VIFB pairs and compared with VIFB's own fused JPEG (mean absolute
difference of the MATLAB-gray luma, averaged over the images, must be <= 2.5 grey levels). VIFB's files
are JPEG (quality 75) encodings of the MATLAB outputs, so encoding our output the same way must give
(almost) the same file: that stricter check runs too, and catches errors far below the JPEG noise.
All six methods are checked on all 21 pairs (``SUBSET``, every third pair unless ``IVIF_FULL_FIDELITY=1``,
is kept for slower checks).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from ivif import create_method
from ivif.errors import InvalidImageError, IvifError, SizeMismatchError
from ivif.io import imread, to_gray
from ivif.methods.classical import _common as C

VIFB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vifb"
ALL_PAIRS = sorted(p.stem for p in (VIFB / "ir").glob("*.jpg")) if VIFB.is_dir() else []
FULL = os.environ.get("IVIF_FULL_FIDELITY") == "1"
SUBSET = ALL_PAIRS if FULL else ALL_PAIRS[::3]

# (name, VIFB folder, options, pairs, bound on the mean |d| after re-encoding our output as VIFB did)
CASES = [
    ("tif", "TIF", {}, "all", 0.05),
    ("gff", "GFF", {"emulate_vifb_io": True}, "all", 0.1),
    ("mgff", "MGFF", {}, "all", 0.05),
    ("hmsd_gf", "HMSD_GF", {}, "all", 0.005),  # 21 pairs: 0.0002
    ("gfce", "GFCE", {}, "all", 0.02),  # 21 pairs: 0.011 (JPEG re-encoding noise on a few pairs)
    ("hybrid_msd", "Hybrid_MSD", {}, "all", 0.005),  # 21 pairs: 0.0003
]


def _luma(img: np.ndarray) -> np.ndarray:
    return to_gray(img, "matlab").astype(np.float64) * 255.0 if img.ndim == 3 else img.astype(np.float64) * 255.0


@pytest.mark.parametrize("name,folder,opts,pairs,jpeg_bound", CASES, ids=[c[0] for c in CASES])
def test_vifb_fidelity(shared, name, folder, opts, pairs, jpeg_bound):
    assert len(ALL_PAIRS) == 21
    m = create_method(name, **opts)
    plain, reencoded = [], []
    for n in ALL_PAIRS if pairs == "all" else SUBSET:
        out = m.fuse(VIFB / "ir" / f"{n}.jpg", VIFB / "vi" / f"{n}.jpg")
        ref = imread(VIFB / "fused" / folder / f"{n}.jpg")
        assert out.shape == ref.shape and out.dtype == np.float32, n
        b = _luma(ref)
        plain.append(np.abs(_luma(out) - b).mean())
        q = C.jpeg_roundtrip(np.rint(out * 255.0).astype(np.uint8)) / 255.0
        reencoded.append(np.abs(_luma(q) - b).mean())
    assert np.mean(plain) <= 2.5, (name, np.round(plain, 3))
    assert np.mean(reencoded) <= jpeg_bound, (name, np.round(reencoded, 3))


# ----------------------------------------------------------------------------------- shared helpers
def test_guided_filter_matches_brute_force_windows():
    rng = np.random.default_rng(0)
    I, p = rng.random((23, 31)), rng.random((23, 31))
    r, eps = 3, 0.01

    def win_mean(x):  # mean over the clipped (2r+1)^2 window, by explicit window extraction
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = x[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1].mean()
        return out

    a = (win_mean(I * p) - win_mean(I) * win_mean(p)) / (win_mean(I * I) - win_mean(I) ** 2 + eps)
    b = win_mean(p) - a * win_mean(I)
    ref = win_mean(a) * I + win_mean(b)
    np.testing.assert_allclose(C.guided_filter(I, p, r, eps), ref, atol=1e-12)
    np.testing.assert_allclose(C.guided_filter(I, I, r, eps), C.guided_filter(I, I.copy() + 0.0, r, eps), atol=1e-14)
    # channel-wise HxWxC equals the per-channel calls
    I3, p3 = rng.random((12, 14, 3)), rng.random((12, 14, 3))
    per = np.stack([C.guided_filter(I3[..., k], p3[..., k], 2, 0.1) for k in range(3)], axis=2)
    np.testing.assert_allclose(C.guided_filter(I3, p3, 2, 0.1), per, atol=1e-13)


@pytest.mark.parametrize("mode,np_mode", [("zero", "constant"), ("replicate", "nearest"),
                                          ("symmetric", "reflect"), ("circular", "wrap")])
def test_imfilter_matches_scipy_with_matlab_centre(mode, np_mode):
    rng = np.random.default_rng(1)
    a = rng.random((17, 20))
    k = rng.random((4, 5))  # even height: MATLAB's centre row is 2 (1-based), scipy's default is 3
    ref = ndimage.correlate(a, k, mode=np_mode, origin=(-1, 0))
    np.testing.assert_allclose(C.imfilter(a, k, mode), ref, atol=1e-12)
    g = C.gaussian_1d(7, 1.0)
    np.testing.assert_allclose(C.imfilter_sep(a, g, g, mode), C.imfilter(a, C.fspecial_gaussian(7, 1.0), mode),
                               atol=1e-12)


@pytest.mark.parametrize("mode", ["symmetric", "replicate", "zero"])
def test_long_separable_kernel_matrix_path(mode):
    # The BLAS path for long kernels (> 63 taps), with a pad larger than half the image.
    rng = np.random.default_rng(2)
    a = rng.random((40, 90))
    g = C.gaussian_1d(77, 12.0)
    np_mode = {"symmetric": "symmetric", "replicate": "edge", "zero": "constant"}[mode]
    p = np.pad(a, 38, mode=np_mode)
    ref = ndimage.correlate1d(ndimage.correlate1d(p, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    ref = ref[38:-38, 38:-38]
    np.testing.assert_allclose(C.imfilter_sep(a, g, g, mode), ref, atol=1e-12)


def test_fspecial_gaussian_and_matlab_rounding():
    h = C.fspecial_gaussian(3, 1.0)
    e = np.exp(-0.5)
    ref = np.array([[e * e, e, e * e], [e, 1, e], [e * e, e, e * e]])
    np.testing.assert_allclose(h, ref / ref.sum(), atol=1e-15)
    np.testing.assert_array_equal(C.matlab_round(np.array([-2.5, -0.5, 0.5, 1.5, 2.5])), [-3, -1, 1, 2, 3])
    np.testing.assert_array_equal(C.matlab_uint8(np.array([np.nan, -3.0, 254.5, 300.0, 1.49])), [0, 0, 255, 255, 1])


def test_imresize_matlab_nearest_and_bilinear_hand_values():
    row = np.arange(10.0)[None, :]
    # scale 0.4: u = 2.5 x - 0.75 (1-based) -> columns 2, 4, 7, 9 -> values 1, 3, 6, 8
    np.testing.assert_array_equal(C.imresize_matlab(row, scale=0.4, method="nearest"), [[1, 3, 6, 8]])
    up = C.imresize_matlab(np.array([[0.0, 1.0, 2.0, 3.0]]), size=(1, 10), method="bilinear")
    np.testing.assert_allclose(up, [[0, 0.1, 0.5, 0.9, 1.3, 1.7, 2.1, 2.5, 2.9, 3.0]], atol=1e-12)
    with pytest.raises(ValueError, match="shrinking"):
        C.imresize_matlab(np.ones((8, 8)), scale=0.5, method="bilinear")


def test_medfilt2_zero_padding():
    a = np.arange(1.0, 10.0).reshape(3, 3)
    # corner (0,0): window {0,0,0,0,1,2,0,4,5} -> median 0 with MATLAB's zero padding
    ref = ndimage.median_filter(a, size=3, mode="constant", cval=0.0)
    np.testing.assert_array_equal(C.medfilt2_3x3(a), ref)
    assert C.medfilt2_3x3(a)[0, 0] == 0 and C.medfilt2_3x3(a)[1, 1] == 5


# ----------------------------------------------------------------------------------- method internals
def test_perceptual_saliency_against_literal_blockwise_formula():
    from ivif.methods.classical.hmsd_gf import perceptual_saliency

    rng = np.random.default_rng(3)
    img = ndimage.uniform_filter(rng.random((97, 123)) * 255, 3)
    # Literal PS.m: Sobel 'valid', blockproc 40x40 with partial blocks, fftshift + freqspace CSF.
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    gx = ndimage.correlate(img, sx)[1:-1, 1:-1]
    gy = ndimage.correlate(img, sx.T)[1:-1, 1:-1]
    g2 = gx**2 + gy**2
    core = img[1:-1, 1:-1]
    num = den = 0.0
    for i in range(0, core.shape[0], 40):
        for j in range(0, core.shape[1], 40):
            blk = core[i : i + 40, j : j + 40]
            m, n = blk.shape
            u, v = np.meshgrid(((np.arange(n) - n // 2) * 2 / n) / 2 * 32, ((np.arange(m) - m // 2) * 2 / m) / 2 * 32)
            r = np.sqrt(u**2 + v**2)
            fw = 2.6 * (0.0192 + 0.114 * r) * np.exp(-((0.114 * r) ** 1.1))
            f = np.abs(np.fft.fftshift(np.fft.fft2(blk)) * fw)
            e = np.sqrt((f**2).sum()) / (m * n)
            lam = (g2[i : i + 40, j : j + 40]).sum()
            num += e * lam
            den += lam
    assert perceptual_saliency(img) == pytest.approx(num / den, rel=1e-12)


def test_bilateral_grid_properties():
    from ivif.methods.classical.hybrid_msd import fast_bilateral

    flat = np.full((30, 41), 0.37)
    np.testing.assert_allclose(fast_bilateral(flat, 2.0, 0.05), 0.37, atol=1e-12)
    # A step of 0.5 with range sigma 0.05 is kept (edge-preserving); a Gaussian of the same width is not.
    step = np.zeros((30, 40))
    step[:, 20:] = 0.5
    out = fast_bilateral(step, 2.0, 0.05)
    assert np.abs(out - step).max() < 1e-9
    smooth = fast_bilateral(step, 2.0, 10.0)  # range sigma far above the step: plain spatial blur
    assert 0.1 < smooth[15, 20] < 0.4 and 0.1 < smooth[15, 19] < 0.4


def _literal_fast_blf(img: np.ndarray, s: float, sr: float) -> np.ndarray:
    # fast_blf.h as written: nearest-cell splatting, per axis two [1 2 1]/4 passes over the cells that are
    # interior in all three axes (the rest stay 0), trilinear slicing with float32 alphas and weights.
    h, w = img.shape
    vmin = img.min()
    z = img - vmin
    sw, sh, sd = int((w - 1) / s) + 5, int((h - 1) / s) + 5, int((img.max() - vmin) / sr) + 5
    X, Y = np.meshgrid(np.arange(w), np.arange(h))
    cells = ((X / s + 0.5).astype(int) + 2, (Y / s + 0.5).astype(int) + 2, (z / sr + 0.5).astype(int) + 2)
    val, wt = np.zeros((sw, sh, sd)), np.zeros((sw, sh, sd))
    np.add.at(val, cells, img)
    np.add.at(wt, cells, 1.0)
    inner = (slice(1, -1),) * 3
    for axis in range(3):
        lo, hi = list(inner), list(inner)
        lo[axis], hi[axis] = slice(0, -2), slice(2, None)
        for _ in range(2):
            for arr in (val, wt):
                src = arr.copy()
                arr[inner] = (src[tuple(lo)] + src[tuple(hi)] + 2.0 * src[inner]) / 4.0
    fx, fy, fz = X / s + 2, Y / s + 2, z / sr + 2
    ix, iy, iz = fx.astype(int), fy.astype(int), fz.astype(int)
    ax, ay, az = [(f - i).astype(np.float32) for f, i in ((fx, ix), (fy, iy), (fz, iz))]
    one = np.float32(1)
    num = den = 0.0
    for dx, wx in ((0, one - ax), (1, ax)):
        for dy, wy in ((0, one - ay), (1, ay)):
            for dz, wz in ((0, one - az), (1, az)):
                wgt = (wx * wy * wz).astype(np.float64)
                num = num + wgt * val[ix + dx, iy + dy, iz + dz]
                den = den + wgt * wt[ix + dx, iy + dy, iz + dz]
    return num / den


@pytest.mark.parametrize("shape,s,sr,lo,hi", [((38, 52), 2.0, 0.05, 0.1, 0.83), ((45, 61), 4.0, 0.025, 0.2, 0.97),
                                              ((70, 93), 8.0, 0.0125, 0.0, 1.0), ((50, 66), 3.0, 0.07, 0.3, 0.6)])
def test_bilateral_grid_matches_literal_mex_port(monkeypatch, shape, s, sr, lo, hi):
    # Sizes and ranges chosen so that the last cell row/column/slice before the padding gets pixels (the
    # one-pass 5-tap blur needs its correction there); sigma_s 3 takes the general (gather) slicing path.
    from ivif.methods.classical import hybrid_msd as H

    rng = np.random.default_rng(8)
    img = ndimage.uniform_filter(rng.random(shape), 3)
    img = lo + (img - img.min()) / (img.max() - img.min()) * (hi - lo)
    img[5:20, 10:30] = hi  # a bright block: a real edge for the range weights
    ref = _literal_fast_blf(img, s, sr)
    out = H.fast_bilateral(img, s, sr)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref, atol=1e-9 * (hi - lo))  # remap path: z blended in float64
    monkeypatch.setattr(H, "_REMAP_LIMIT", 0)
    np.testing.assert_allclose(H.fast_bilateral(img, s, sr), ref, rtol=0, atol=1e-14)  # same arithmetic
    monkeypatch.undo()
    out32 = H.fast_bilateral(img.astype(np.float32), s, sr, np.float32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, ref, atol=2e-6)
    monkeypatch.setattr(H, "_FAST_UFUNC_AT", not H._FAST_UFUNC_AT)  # the other splatting path
    np.testing.assert_allclose(H.fast_bilateral(img, s, sr), ref, atol=1e-9 * (hi - lo))


def _hybrid_msd_literal(vis: np.ndarray, ir: np.ndarray) -> np.ndarray:
    # run_Hybrid_MSD.m's Hybrid_MSD(img1 = visible, img2 = infrared) line by line in float64.
    from ivif.methods.classical.hybrid_msd import fast_bilateral

    def decompose(img):
        M, ML, D, E = [img], [img], [None], [None]
        sigma = 2.0
        for j in range(4):
            g = C.gaussian_1d(2 * int(np.floor(3 * sigma)) + 1, sigma)
            M.append(C.imfilter_sep(M[-1], g, g, "symmetric"))
            ML.append(255 * fast_bilateral(ML[-1] / 255, sigma, 0.05 / 2**j))
            D.append(M[-2] - ML[-1])
            E.append(ML[-1] - M[-1])
            sigma *= 2
        return M, D, E

    (M1, D1, E1), (M2, D2, E2) = decompose(vis), decompose(ir)
    g1, gb = C.gaussian_1d(7, 1.0), C.gaussian_1d(385, 64.0)
    for j in (4, 3, 2):
        R = np.maximum(np.abs(E2[j]) - np.abs(E1[j]), 0)
        Cj = np.arctan(30 * R / R.max()) / np.arctan(30)
        if j == 4:
            CN = C.imfilter_sep(Cj, gb, gb, "symmetric")
            MF = CN * M2[j] + (1 - CN) * M1[j]
        Cj = C.imfilter_sep(Cj, g1, g1, "symmetric")
        MF = MF + (Cj * E2[j] + (1 - Cj) * E1[j])
        MF = MF + (Cj * D2[j] + (1 - Cj) * D1[j])
    C0 = (np.abs(E1[1]) < np.abs(E2[1])).astype(float)
    MF = MF + (C0 * E2[1] + (1 - C0) * E1[1])
    C0 = (np.abs(D1[1]) < np.abs(D2[1])).astype(float)
    MF = MF + (C0 * D2[1] + (1 - C0) * D1[1])
    return C.matlab_uint8(np.clip(MF, 0, 255))


def _vifb_crop(name: str, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    ir = imread(VIFB / "ir" / f"{name}.jpg")
    vi = imread(VIFB / "vi" / f"{name}.jpg")
    ir = ir[..., 0] if ir.ndim == 3 else ir
    return np.ascontiguousarray(ir[rows, cols]), np.ascontiguousarray(vi[rows, cols])


@pytest.mark.skipif(not ALL_PAIRS, reason="VIFB data not available")
def test_hybrid_msd_float32_pipeline_matches_literal_float64_matlab():
    # The port runs in float32 and sums the layers in a telescoped order; the literal float64 MATLAB
    # formula must give the same 8-bit image up to rare rounding ties.
    ir, vi = _vifb_crop("manCall", slice(150, 278), slice(200, 376))
    out = create_method("hybrid_msd").fuse(ir, vi)
    for k in range(3):
        ref = _hybrid_msd_literal(vi[..., k].astype(np.float64) * 255, ir.astype(np.float64) * 255)
        d = np.abs(np.rint(out[..., k] * 255.0) - ref)
        assert (d > 0).mean() <= 1e-3 and d.mean() <= 5e-3, (k, (d > 0).sum(), d.max())


def _hmsd_gf_literal(vi: np.ndarray, ir: np.ndarray, lam: float) -> np.ndarray:
    # VIFB's HMSD_GF fusion of one channel (levels 0..255, float64) line by line: guided-filter hybrid
    # decomposition, arctan weights, 385-tap base Gaussian, 7x7 smoothing, FI = round(275 MB) clipped.
    def decompose(img):
        M, ML, D, E = [img], [img], [None], [None]
        r, eps = 2, 0.1
        for _ in range(4):
            M.append(C.guided_filter(M[-1], M[-1], r, 100.0**2))
            ML.append(C.guided_filter(ML[-1], ML[-1], r, eps**2))
            D.append(M[-2] - ML[-1])
            E.append(ML[-1] - M[-1])
            r, eps = 2 * r, eps / 2
        return M, D, E

    (M1, D1, E1), (M2, D2, E2) = decompose(vi / 255), decompose(ir / 255)
    g1, gb = C.gaussian_1d(7, 1.0), C.gaussian_1d(385, 64.0)
    for j in (4, 3, 2):
        R = np.maximum(np.abs(E2[j]) - np.abs(E1[j]), 0)
        Cj = np.arctan(lam * R / R.max()) / np.arctan(lam)
        if j == 4:
            CB = C.imfilter_sep(Cj, gb, gb, "symmetric")
            MB = CB * M2[4] + (1 - CB) * M1[4]
        Cj = C.imfilter_sep(Cj, g1, g1, "symmetric")
        MB = MB + (Cj * E2[j] + (1 - Cj) * E1[j])
        MB = MB + (Cj * D2[j] + (1 - Cj) * D1[j])
    C0 = C.imfilter_sep((np.abs(E1[1]) < np.abs(E2[1])).astype(float), g1, g1, "symmetric")
    MB = MB + (C0 * E2[1] + (1 - C0) * E1[1])
    C0 = (np.abs(D1[1]) < np.abs(D2[1])).astype(float)
    MB = MB + (C0 * D2[1] + (1 - C0) * D1[1])
    return np.clip(np.floor(MB * 275 + 0.5), 0, 255)


@pytest.mark.skipif(not ALL_PAIRS, reason="VIFB data not available")
@pytest.mark.parametrize("name", ["hmsd_gf", "gfce"])
def test_hmsd_gf_float32_fusion_matches_literal_float64_matlab(name):
    # HMSD_GF and GFCE share one float32 fusion (IR side shared, telescoped bands); the literal float64
    # MATLAB formulas, with lambda from the same saliency rule, must give the same 8-bit image up to
    # rare rounding ties.
    from ivif.methods.classical.gfce import enhance_visible, normalise_infrared
    from ivif.methods.classical.hmsd_gf import select_lambda

    ir, vi = _vifb_crop("carLight", slice(100, 260), slice(150, 362))
    out = create_method(name).fuse(ir, vi)
    i = ir.astype(np.float64) * 255
    i = normalise_infrared(i) if name == "gfce" else i
    for k in range(3):
        v = vi[..., k].astype(np.float64) * 255
        v = enhance_visible(v) if name == "gfce" else v
        ref = _hmsd_gf_literal(v, i, select_lambda(i, v))
        d = np.abs(np.rint(out[..., k] * 255.0) - ref)
        assert (d > 0).mean() <= 1e-3 and d.mean() <= 5e-3, (k, (d > 0).sum(), d.max())


def test_lambda_rule_hand_values():
    from ivif.methods.classical.hmsd_gf import lambda_from_ratio

    # GFCE.m: 100 if Rs < 0.8, 2000 if Rs > 1.6, else 2500 Rs - 1900 (so 2100 at exactly 1.6, as written)
    assert [lambda_from_ratio(r) for r in (0.5, 0.8, 1.2, 1.6, 1.61, 3.0)] == [100, 100, 1100, 2100, 2000, 2000]


@pytest.mark.parametrize("shape,r", [((120, 160), 6), ((97, 61), 9), ((50, 7), 2)])
def test_gfce_fast_guided_filter_matches_imresize_formula(shape, r):
    # fastguidedfilter_md.m written with imresize_matlab (nearest down, bilinear up) and clipped box means;
    # the method uses index lookups, OpenCV's INTER_LINEAR and the self-guided shortcut.
    from ivif.methods.classical.gfce import fast_guided_filter

    rng = np.random.default_rng(11)
    I, p = rng.random(shape), rng.random(shape)
    s = max(1.0, r / 4.0)

    def ref(I, p):
        i_sub, p_sub = (C.imresize_matlab(x, scale=1.0 / s, method="nearest") for x in (I, p))
        rs = int(round(r / s))
        mi, mp = C.box_mean(i_sub, rs), C.box_mean(p_sub, rs)
        a = (C.box_mean(i_sub * p_sub, rs) - mi * mp) / (C.box_mean(i_sub * i_sub, rs) - mi * mi + 0.01)
        b = mp - a * mi
        up = (C.imresize_matlab(C.box_mean(x, rs), size=shape, method="bilinear") for x in (a, b))
        return next(up) * I + next(up)

    np.testing.assert_allclose(fast_guided_filter(I, I, r, 0.01, s), ref(I, I), atol=1e-13)
    np.testing.assert_allclose(fast_guided_filter(I, p, r, 0.01, s), ref(I, p), atol=1e-13)


@pytest.mark.parametrize("r,eps", [(2, 100.0**2), (2, 0.1**2), (16, 0.0125**2)])
def test_gfce_float32_self_guided_filter_matches_float64(r, eps):
    from ivif.methods.classical.hmsd_gf import _self_guided_f32

    rng = np.random.default_rng(9)
    img = ndimage.uniform_filter(rng.random((57, 83)), 4)
    (q,) = _self_guided_f32(img.astype(np.float32), r, (eps,))
    assert q.dtype == np.float32
    np.testing.assert_allclose(q, C.guided_filter(img, img, r, eps), atol=2e-6)
    both = _self_guided_f32(img.astype(np.float32), r, (eps, 0.5))  # shared statistics, two regularisers
    np.testing.assert_array_equal(both[0], q)
    np.testing.assert_allclose(both[1], C.guided_filter(img, img, r, 0.5), atol=2e-6)


@pytest.mark.parametrize("name", ["tif", "mgff", "gff", "hybrid_msd"])
def test_identical_inputs_give_the_input(name):
    rng = np.random.default_rng(4)
    img = np.round(ndimage.uniform_filter(rng.random((64, 80)), 5) * 255) / 255
    out = create_method(name).fuse(img, img)
    assert np.abs(out.astype(np.float64) - img).max() <= 1.0 / 255 + 1e-6


def test_hmsd_gf_identical_inputs_give_the_275_gain():
    # No infrared excess anywhere: the layers telescope back to the source, times the authors' 275/255.
    rng = np.random.default_rng(5)
    img = np.round(ndimage.uniform_filter(rng.random((64, 80)), 5) * 200) / 255
    out = create_method("hmsd_gf").fuse(img, img).astype(np.float64)
    ref = np.clip(np.floor(img * 275.0 + 0.5), 0, 255) / 255
    assert np.abs(out - ref).max() <= 1.0 / 255 + 1e-6


@pytest.mark.parametrize("name", ["tif", "gff", "mgff", "hmsd_gf", "gfce", "hybrid_msd"])
def test_colour_and_gray_outputs(name):
    rng = np.random.default_rng(6)
    ir = ndimage.uniform_filter(rng.random((48, 60)), 3).astype(np.float32)
    vi = ndimage.uniform_filter(rng.random((48, 60, 3)), (3, 3, 0)).astype(np.float32)
    m = create_method(name)
    rgb = m.fuse(ir, vi)
    gray = m.fuse(ir, vi[..., 1])
    assert rgb.shape == (48, 60, 3) and gray.shape == (48, 60)
    assert rgb.dtype == np.float32 and 0.0 <= rgb.min() and rgb.max() <= 1.0
    # VIFB fuses RGB channel by channel (GFF: shared gray weights, per-channel blend); per-channel methods
    # must give for the green channel what they give for the green image alone.
    if name != "gff":
        np.testing.assert_array_equal(rgb[..., 1], gray)


def test_gff_vifb_loader_emulation_puts_ir_in_green():
    # VIFB's load_images.m puts a single-channel IR into the visible image's green channel and leaves the
    # IR slot black, so the "fused" image is the visible image with the IR as its green channel.
    rng = np.random.default_rng(7)
    ir = (ndimage.uniform_filter(rng.random((40, 52)), 3) * 255).astype(np.uint8)  # bright texture
    vi = np.full((40, 52, 3), 30, np.uint8)  # dark, flat visible image
    out = create_method("gff", emulate_vifb_io=True).fuse(ir, vi)
    g = C.jpeg_roundtrip(ir) / 255.0
    assert np.abs(out[..., 1] - g).mean() < 3.0 / 255
    assert np.abs(out[..., 0] - 30 / 255).mean() < 3.0 / 255  # red: the visible image alone
    real = create_method("gff").fuse(ir, vi)
    assert real[..., 0].mean() > 60 / 255  # real fusion brings the IR into every channel


# ----------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", ["tif", "gff", "mgff", "hmsd_gf", "gfce", "hybrid_msd"])
def test_bad_input_errors(name):
    m = create_method(name)
    with pytest.raises(SizeMismatchError, match="fusion needs registered pairs"):
        m.fuse(np.zeros((20, 30), np.float32), np.zeros((21, 30), np.float32))
    bad = np.zeros((20, 30), np.float32)
    bad[3, 4] = np.nan
    with pytest.raises(InvalidImageError, match="NaN"):
        m.fuse(bad, np.zeros((20, 30), np.float32))
    with pytest.raises(IvifError, match="unknown options"):
        create_method(name, radius=3)


def test_select_lambda_counts_a_flat_image_as_not_salient():
    # PS is 0/0 for an image without gradients (the MATLAB gets NaN weights): a flat visible channel counts
    # as not salient (largest lambda), two flat images as equally salient.
    from ivif.methods.classical.hmsd_gf import select_lambda, select_lambda_from_saliency

    assert select_lambda_from_saliency(0.3, float("nan")) == 2000.0
    assert select_lambda_from_saliency(float("nan"), float("nan")) == 600.0  # 2500 * 1 - 1900
    assert select_lambda_from_saliency(float("nan"), 0.3) == 100.0
    assert select_lambda_from_saliency(0.3, 0.25) == pytest.approx(2500 * 1.2 - 1900)
    rng = np.random.default_rng(12)
    tex = ndimage.uniform_filter(rng.random((45, 50)), 3) * 255
    assert select_lambda(tex, np.full((45, 50), 77.0)) == 2000.0


@pytest.mark.parametrize("name", ["hmsd_gf", "gfce"])
def test_flat_channels_give_finite_output_and_tiny_images_a_clear_error(name):
    rng = np.random.default_rng(10)
    ir = ndimage.uniform_filter(rng.random((40, 50)), 3).astype(np.float32)
    vi = ndimage.uniform_filter(rng.random((40, 50, 3)), (3, 3, 0)).astype(np.float32)
    vi[..., 2] = 0.3
    with np.errstate(all="raise"):  # no 0/0 left anywhere
        out = create_method(name).fuse(ir, vi)
    assert np.isfinite(out).all() and out[..., 2].std() > 0.01  # the infrared's structure comes through
    # the textured channels do not depend on the flat one
    np.testing.assert_array_equal(out[..., 0], create_method(name).fuse(ir, vi[..., 0]))
    flat = create_method(name).fuse(np.full((40, 50), 0.2, np.float32), np.full((40, 50), 0.5, np.float32))
    assert np.isfinite(flat).all() and np.ptp(flat) == 0
    flat_ir = create_method(name).fuse(np.full((40, 50), 0.2, np.float32), vi)
    assert np.isfinite(flat_ir).all()
    with pytest.raises(InvalidImageError, match=f"{name} needs images of at least 3x3 pixels.*got 2x9"):
        create_method(name).fuse(np.zeros((2, 9), np.float32), np.zeros((2, 9), np.float32))


def test_gff_option_must_be_boolean():
    with pytest.raises(IvifError, match="emulate_vifb_io must be true or false"):
        create_method("gff", emulate_vifb_io="false")
