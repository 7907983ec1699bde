"""The ``tang`` metric profile: Linfeng Tang's MATLAB evaluation (``Linfeng-Tang/Evaluation-for-Image-Fusion``,
the same code as ``Linfeng-Tang/Image-Fusion`` ``General Evaluation Metric/Evaluation/``), as used by
SeAFusion, PIAFusion and later papers. ``analysis_Reference.m`` (current version) drives 17 metrics.

How the code computes (facts from it, reproduced here):

* ``imread`` then ``rgb2gray`` (``uint8``, rounded) for any 3-channel image; all three images are ``uint8``
  gray. ``analysis_Reference(fused, ir, vis)``: image 1 is the infrared, image 2 the visible image.
* EN and MI use the ``uint8`` images; every other metric uses ``im2double(img) * 255`` (0..255 floats).
* EN: MATLAB ``entropy`` (256 bins, bits). MI: ``MI(F,IR) + MI(F,VI)`` in bits, from ``entropy`` and a joint
  histogram built after ``uint8 + 1``, which saturates, so levels 254 and 255 share a joint bin.
* PSNR: ``20 log10(255 / sqrt(MSE))`` with MSE on [0, 1] data (so ~60 dB for typical images); MSE: the mean
  of MSE(F, IR) and MSE(F, VI) on [0, 1].
* SD, SF, AG on the 0..255 fused image (SD population; SF = sqrt(mean(row diff^2) + mean(col diff^2)));
  VIF = VIFp(IR, F) + VIFp(VI, F) (pixel-domain, 4 scales, sigma_nsq = 2).
* CC: mean of corr(IR, F) and a "corr(VI, F)" whose numerator centres VI with the IR mean (a typo kept; its
  effect is rounding-level, since F - mean(F) sums to zero); SCD: corr2(F - VI, IR) + corr2(F - IR, VI).
* Qabf: Xydeas–Petrovic on 0..255 data. Nabf: Shreyamsha Kumar's modified fusion artefacts measure, called
  as ``analysis_nabf(ir, vis, fused)`` although the function's first argument is the fused image: the
  current code therefore scores the *infrared* image as the fusion result of (VI, F); kept as the reference
  computes it.
* SSIM: ``0.5 ssim(F, IR) + 0.5 ssim(F, VI)`` with MATLAB's built-in ``ssim`` (Gaussian sigma 1.5, 11x11,
  replicate padding, mean of the full map) on 0..255 doubles with its default ``DynamicRange`` for
  doubles, 1 (so C1 = 1e-4, C2 = 9e-4). MS_SSIM: Ma et al.'s MEF-SSIM over 3 scales
  (``analysis_ms_ssim``) of the source pair against F.
* FMI_pixel, FMI_dct, FMI_w: Haghighat's Fast-FMI (``analysis_fmi``, 3x3 windows) on MATLAB ``edge`` maps
  (the default feature: Sobel, automatic threshold, thinning), orthonormal 2-D DCT-II coefficients and the tiled
  one-level 102-tap discrete Meyer subbands of the 0..255 images, with the reference's shortcuts (identical
  windows score 1; the second source is compared with the already normalised fused window); see :mod:`._fmi`.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

from ..errors import MetricError
from . import _matlab as ml
from ._fmi import TANG_FMI
from .profiles import MetricDef, Profile, register_profile, shared


# ------------------------------------------------------------------------------------------ loading
def load(x: Any, role: str) -> np.ndarray:
    """Read a path with ``imread`` + ``rgb2gray`` (``uint8`` gray), or convert an array (``uint8``, or float
    in [0, 1] holding 8-bit levels) the same way."""
    return ml.rgb2gray(ml.load_uint8(x, name=role))


def _to255(x: np.ndarray) -> np.ndarray:
    return ml.im2double(x) * 255.0


def _f255(x: np.ndarray) -> np.ndarray:
    """``im2double(x) * 255`` (exactly the integer levels as doubles), computed once per evaluation;
    callers must not modify it in place."""
    return shared("tang.f255", _to255, x)


def _checked(fn):
    def wrapped(ir: np.ndarray, vi: np.ndarray, fused: np.ndarray) -> float:
        ml.check_sizes(ir, vi, fused)
        return float(fn(ir, vi, fused))

    wrapped.__doc__ = fn.__doc__
    return wrapped


# ------------------------------------------------------------------------------------- information
def _en(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    return ml.entropy_uint8(f)


def _hab(a: np.ndarray, b: np.ndarray) -> float:
    # Hab.m adds 1 to uint8 images: 255 + 1 saturates to 255, so 254 and 255 fall in one bin.
    h = ml.joint_hist(np.minimum(a, 254), np.minimum(b, 254))
    return ml.entropy_from_counts(h)


def _mi(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    hf = ml.entropy_uint8(f)
    mifa = ml.entropy_uint8(ir) + hf - _hab(f, ir)
    mifb = ml.entropy_uint8(vi) + hf - _hab(f, vi)
    return mifa + mifb


# ------------------------------------------------------------------------------------------ errors
def _mse01_compute(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    a, b, F = (_f255(x) / 255.0 for x in (ir, vi, f))
    n = F.size
    return 0.5 * ((F - a) ** 2).sum() / n + 0.5 * ((F - b) ** 2).sum() / n


def _mse01(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    """Mean of MSE(F, IR) and MSE(F, VI) on [0, 1]; PSNR and MSE share it within an evaluation."""
    return shared("tang.mse01", _mse01_compute, ir, vi, f)


def _psnr(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        return float(20.0 * np.log10(255.0 / np.sqrt(_mse01(ir, vi, f))))


# ---------------------------------------------------------------------------------- fused statistics
def _sd(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    return ml.std2_population(_f255(f))


def _sf(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    F = _f255(f)
    rf = np.mean(np.diff(F, axis=0) ** 2)
    cf = np.mean(np.diff(F, axis=1) ** 2)
    return float(np.sqrt(rf + cf))


def _ag(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    return ml.avg_gradient(_f255(f))


# ------------------------------------------------------------------------------------- correlation
def _cc(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    A, B, F = _f255(ir), _f255(vi), _f255(f)
    fc = F - F.mean()
    ff = (fc * fc).sum()
    ac = A - A.mean()
    r_af = (ac * fc).sum() / np.sqrt((ac * ac).sum() * ff)
    bc = B - B.mean()
    # the reference centres B with mean(A) in the numerator (typo kept)
    r_bf = ((B - A.mean()) * fc).sum() / np.sqrt((bc * bc).sum() * ff)
    return float((r_af + r_bf) / 2.0)


def _scd(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    A, B, F = _f255(ir), _f255(vi), _f255(f)
    return ml.corr2(F - B, A) + ml.corr2(F - A, B)


# ------------------------------------------------------------------------------------------- VIF
def vifp_mscale_multi(refs: "list[np.ndarray]", dist: np.ndarray) -> "list[float]":
    """Sheikh–Bovik pixel-domain VIF (``vifp_mscale.m``) of each reference against one distorted image:
    4 scales, Gaussian windows of size ``2^(5-s)+1`` and sigma ``N/5``, ``'valid'`` filtering,
    sigma_nsq = 2. Inputs float64, 0..255. The distorted image's pyramid and moments are computed once,
    each scale's maps in blocks of output rows (``_matlab.ROW_BLOCK``; every value as on the whole image)."""
    num = [0.0] * len(refs)
    den = [0.0] * len(refs)
    refs = [np.asarray(r, dtype=np.float64) for r in refs]
    dist = np.asarray(dist, dtype=np.float64)
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        win = ml.fspecial_gaussian(n, n / 5.0)
        if scale > 1:
            refs = [ml.filter2(win, r, "valid")[::2, ::2] for r in refs]
            dist = ml.filter2(win, dist, "valid")[::2, ::2]
        for r0, r1 in ml.row_blocks(dist.shape[0] - n + 1, max(ml.ROW_BLOCK, 4 * (n - 1))):
            rows = slice(r0, r1 + n - 1)
            terms = _vif_terms([r[rows] for r in refs], dist[rows], win)
            for i, (tn, td) in enumerate(terms):
                num[i] += tn
                den[i] += td
    return [float(a / b) for a, b in zip(num, den)]


def _vif_terms(refs: "list[np.ndarray]", dist: np.ndarray, win: np.ndarray) -> "list[tuple[float, float]]":
    """Per reference, the sums of VIF's numerator and denominator terms over the 'valid' region."""
    sigma_nsq = 2.0
    mu2 = ml.filter2(win, dist, "valid")
    s2 = ml.filter2(win, dist * dist, "valid") - mu2 * mu2
    # The reference's masked assignments, branch-free: x(x < 0) = 0 as max(x, 0), x(m) = 0 as x * ~m
    # (all values are finite; only the sign of some zeros can differ, which no later step sees).
    np.maximum(s2, 0, out=s2)
    keep2 = s2 >= 1e-10
    out = []
    for ref in refs:
        mu1 = ml.filter2(win, ref, "valid")
        s1 = ml.filter2(win, ref * ref, "valid") - mu1 * mu1
        s12 = ml.filter2(win, ref * dist, "valid") - mu1 * mu2
        np.maximum(s1, 0, out=s1)
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        low1 = s1 < 1e-10
        keep1 = ~low1
        g *= keep1
        np.copyto(sv, s2, where=low1)
        s1 *= keep1
        g *= keep2
        sv *= keep2
        neg = g < 0
        np.copyto(sv, s2, where=neg)
        g *= ~neg
        np.maximum(sv, 1e-10, out=sv)
        out.append((np.log10(1 + g * g * s1 / (sv + sigma_nsq)).sum(), np.log10(1 + s1 / sigma_nsq).sum()))
    return out


def vifp_mscale(ref: np.ndarray, dist: np.ndarray) -> float:
    """Sheikh–Bovik pixel-domain VIF (``vifp_mscale.m``) of one reference, see :func:`vifp_mscale_multi`."""
    return vifp_mscale_multi([ref], dist)[0]


def _vif(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    va, vb = vifp_mscale_multi([_f255(ir), _f255(vi)], _f255(f))
    return va + vb


# ---------------------------------------------------------------------------------------- edges
def _qabf(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    # On im2double [0, 1] data, as analysis_Reference passed it when Metric_TNO.xlsx was computed (the
    # newest version passes 0..255 floats, which moves Qabf by up to 1.4e-2 relative on TNO through the
    # scale-dependent gA == gF branch). With MATLAB's conv2 rounding the published values are reproduced
    # to 1e-15.
    e = [ml.cached_feature("tang.qabf", x, lambda y: ml.qabf_edges(ml.im2double(y))) for x in (ir, vi, f)]
    return ml.qabf_from_edges(*e)


_NABF_VTEMP = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0


def _sobel_fn(x: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    # sobel_fn.m: correlation on a mirror extension without repeating the border pixel ('valid' filtering
    # of the padded image = same-size filtering with that border)
    x = np.asarray(x, dtype=np.float64)
    return ml._correlate(x, _NABF_VTEMP, "mirror"), ml._correlate(x, _NABF_VTEMP.T, "mirror")


def nabf_kumar(f: np.ndarray, i1: np.ndarray, i2: np.ndarray) -> float:
    """Shreyamsha Kumar's modified fusion artefacts N_abf (``analysis_nabf.m``: ``f`` is the image scored,
    ``i1, i2`` the sources; Td=2, wt_min=0.001, L=1.5, Nrg=0.9999, kg=19, sigma_g=0.5, Nra=0.9995, ka=22,
    sigma_a=0.5). Range [0, 1]; lower is better.

    The numerator's mask ``na`` (F's edge stronger than both sources) multiplies finite terms, so the
    preservation values are evaluated at the ``na`` pixels only."""
    gvA, ghA = _sobel_fn(i1)
    gvB, ghB = _sobel_fn(i2)
    gvF, ghF = _sobel_fn(f)
    gA, gB, gF = (np.sqrt(gh * gh + gv * gv) for gh, gv in ((ghA, gvA), (ghB, gvB), (ghF, gvF)))
    wtA = np.full(gA.shape, 0.001)
    np.power(gA, 1.5, out=wtA, where=gA >= 2)
    wtB = np.full(gB.shape, 0.001)
    np.power(gB, 1.5, out=wtB, where=gB >= 2)
    wsum = (wtA + wtB).sum()
    # the pixels where F's edge is stronger than both sources', as flat indices (take() gathers much
    # faster than boolean indexing)
    idx = np.flatnonzero((gF > gA) & (gF > gB))

    def at(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x).ravel().take(idx)

    gFn = at(gF)

    def rel(gS: np.ndarray) -> np.ndarray:
        gS = at(gS)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(gS > gFn, gFn / gS, gS / gFn)
        return np.where((gS == 0) | (gFn == 0), 0.0, r)

    def orient(gv: np.ndarray, gh: np.ndarray) -> np.ndarray:
        gv, gh = at(gv), at(gh)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.arctan(gv / gh)  # gh == 0, gv != 0 gives +-pi/2 as in MATLAB
        return np.where((gv == 0) & (gh == 0), 0.0, a)

    aF = orient(gvF, ghF)

    def artefact(gS: np.ndarray, gv: np.ndarray, gh: np.ndarray, wt: np.ndarray) -> np.ndarray:
        aSF = np.abs(np.abs(orient(gv, gh) - aF) - np.pi / 2) * 2 / np.pi
        Q = np.sqrt(0.9999 / (1 + np.exp(-19 * (rel(gS) - 0.5))) * 0.9995 / (1 + np.exp(-22 * (aSF - 0.5))))
        return (1 - Q) * at(wt)

    return float((artefact(gA, gvA, ghA, wtA) + artefact(gB, gvB, ghB, wtB)).sum() / wsum)


def _nabf(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    # analysis_Reference calls analysis_nabf(img1_float, img2_float, img_f_float) = (IR, VI, F) while the
    # function's signature is (fused, source1, source2): reproduced as called.
    return nabf_kumar(_f255(ir), _f255(vi), _f255(f))


# ------------------------------------------------------------------------------------------ SSIM
_SSIM_GAUSS = ml.fspecial_gaussian(11, 1.5)


def ssim_matlab_means(a: np.ndarray, refs: "list[np.ndarray]", dynamic_range: float = 1.0) -> "list[float]":
    """MATLAB's built-in ``ssim(A, ref)`` for each ``ref`` with default options: 11x11 Gaussian (sigma 1.5),
    ``'replicate'`` padding, ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``, ``C3 = C2 / 2``, mean of the
    full-size map. ``dynamic_range`` L is 1 for double inputs (MATLAB's default for the class), whatever
    their scale. The maps are computed in blocks of rows (``_matlab.ROW_BLOCK``) of the images padded by 5
    replicated rows (every value as on the whole image); ``a``'s moments are shared by the references."""
    c1, c2 = (0.01 * dynamic_range) ** 2, (0.03 * dynamic_range) ** 2
    a = np.asarray(a, dtype=np.float64)

    def pad(x: np.ndarray) -> np.ndarray:
        return np.pad(np.asarray(x, dtype=np.float64), ((5, 5), (0, 0)), mode="edge")

    def filt(z: np.ndarray) -> np.ndarray:
        # 'replicate' across columns; rows: only those whose window lies inside the block
        return ml.imfilter(z, _SSIM_GAUSS, "replicate")[5:-5]

    ap, rps = pad(a), [pad(r) for r in refs]
    sums = [0.0] * len(refs)
    for r0, r1 in ml.row_blocks(a.shape[0], ml.ROW_BLOCK):
        rows = slice(r0, r1 + 10)
        A = ap[rows]
        mux = filt(A)
        mux2 = mux * mux
        sx = filt(A * A) - mux2
        for i, rp in enumerate(rps):
            R = rp[rows]
            muy = filt(R)
            muy2 = muy * muy
            sy = filt(R * R) - muy2
            muxy = mux * muy
            sxy = filt(A * R) - muxy
            m = ((2 * muxy + c1) * (2 * sxy + c2)) / ((mux2 + muy2 + c1) * (sx + sy + c2))
            sums[i] += float(m.sum())
    return [v / a.size for v in sums]


def ssim_matlab(a: np.ndarray, ref: np.ndarray, dynamic_range: float = 1.0) -> float:
    """MATLAB's built-in ``ssim(A, ref)`` with default options (see :func:`ssim_matlab_means`)."""
    return ssim_matlab_means(a, [ref], dynamic_range)[0]


def _ssim(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    s_ir, s_vi = ssim_matlab_means(_f255(f), [_f255(ir), _f255(vi)])
    return 0.5 * s_ir + 0.5 * s_vi


_MEF_K = 0.03
_MEF_LEVELS = 3
_MEF_WEIGHTS = np.array([0.0448, 0.2856, 0.3001]) / (0.0448 + 0.2856 + 0.3001)




def mef_ssim(seq: "list[np.ndarray]", fused: np.ndarray) -> float:
    """Ma–Zeng–Wang MEF-SSIM at one scale (``mef_ssim.m``: 11x11 box window for the structure/consistency
    terms, Gaussian 11x11 sigma 1.5 for the comparison, K = 0.03, C = (K 255)^2, ``'valid'`` region).

    The reference loops over pixels; here the same sums are written as filtered moments (the desired
    structure vector is a weighted sum of the centred source patches, so its norm, mean and covariances
    follow from box/Gaussian-filtered products of the sources). The map is computed in blocks of
    ``_matlab.ROW_BLOCK`` output rows (every value as on the whole image) and averaged."""
    xs = [np.asarray(x, dtype=np.float64) for x in seq]
    F = np.asarray(fused, dtype=np.float64)
    out_h, out_w = F.shape[0] - 10, F.shape[1] - 10
    if out_h <= 0 or out_w <= 0:
        return float(_mef_map(xs, F).mean())
    total = 0.0
    for r0, r1 in ml.row_blocks(out_h, ml.ROW_BLOCK):
        total += float(_mef_map([x[r0 : r1 + 10] for x in xs], F[r0 : r1 + 10]).sum())
    return total / (out_h * out_w)


def _mef_map(xs: "list[np.ndarray]", F: np.ndarray) -> np.ndarray:
    """The MEF-SSIM map over the 'valid' region of float64 sources ``xs`` and fused ``F``."""
    eps = np.finfo(np.float64).eps
    ws = 11
    box = np.ones((ws, ws)) / ws**2
    gw = _SSIM_GAUSS
    K = len(xs)
    mu = [ml.filter2(box, x, "valid") for x in xs]
    # box (un-normalised) and Gaussian second moments of the sources and of sources x fused; the
    # diagonal box moments ws^2 (box(x^2) - mu^2) also give the patch norms below (computed once).
    # Sums start from their first term (0 + x == x) and products shared by both windows are formed once.
    pairs = [(i, j) for i in range(K) for j in range(i, K)]
    prods = {(i, j): xs[i] * xs[j] for i, j in pairs}
    bcov = {}
    for i, j in pairs:
        bcov[i, j] = ws * ws * (ml.filter2(box, prods[i, j], "valid") - mu[i] * mu[j])
    sq = [np.sqrt(np.maximum(bcov[i, i], 0)) for i in range(K)]
    ed = [v + 0.001 for v in sq]
    # consistency R: |sum of centred patches| / sum of |centred patch|
    ssum = reduce(np.add, xs)
    msum = ml.filter2(box, ssum, "valid")
    t = ml.filter2(box, ssum * ssum, "valid")
    t -= msum * msum
    t *= ws * ws
    num = np.sqrt(np.maximum(t, 0, out=t), out=t)
    num += eps
    den = reduce(np.add, sq)
    den += eps
    R = np.divide(num, den, out=num)
    R[R > 1] = 1 - eps
    R[R < 0] = eps
    R *= np.pi / 2
    p = np.minimum(np.tan(R, out=R), 10.0, out=R)
    wmap = []
    for e in ed:
        w = e / ws
        np.power(w, p, out=w)
        w += eps
        wmap.append(w)
    norm = reduce(np.add, wmap)
    a = []
    for w, e in zip(wmap, ed):  # coefficient of each centred source patch
        w /= norm
        w /= e
        a.append(w)
    max_ed = np.maximum.reduce(ed)
    gmu = [ml.filter2(gw, x, "valid") for x in xs]
    gmf = ml.filter2(gw, F, "valid")
    gcov = {}
    for i, j in pairs:
        gcov[i, j] = ml.filter2(gw, prods[i, j], "valid") - gmu[i] * gmu[j]
    del prods
    gcf = [ml.filter2(gw, x * F, "valid") - g * gmf for x, g in zip(xs, gmu)]
    gvf = ml.filter2(gw, F * F, "valid")
    gvf -= gmf * gmf
    nterms, vterms = [], []
    for i, j in pairs:
        cij = a[i] * a[j] if i == j else 2.0 * a[i] * a[j]  # 1.0 * a_i == a_i
        nterms.append(cij * bcov[i, j])
        cij *= gcov[i, j]
        vterms.append(cij)
    rnorm2 = reduce(np.add, nterms)
    rvar = reduce(np.add, vterms)
    rcov = reduce(np.add, [ai * c for ai, c in zip(a, gcf)])
    rnorm = np.sqrt(np.maximum(rnorm2, 0, out=rnorm2), out=rnorm2)
    pos = rnorm > 0
    scale = np.ones_like(rnorm)
    np.divide(max_ed, rnorm, out=scale, where=pos)
    C = (_MEF_K * 255) ** 2
    rcov *= 2 * scale
    rcov += C
    rvar *= scale * scale
    rvar += gvf
    rvar += C
    rcov /= rvar
    return rcov


def _down2(x: np.ndarray) -> np.ndarray:
    # imfilter(x, ones(2)/4, 'symmetric', 'same') then x(1:2:end, 1:2:end): the 2x2 kernel's origin is its
    # top-left element, so each output averages x[i:i+2, j:j+2] with the last row/column mirrored.
    p = np.pad(x, ((0, 1), (0, 1)), mode="symmetric")
    avg = (p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4.0
    return avg[::2, ::2]


def ms_mef_ssim(seq: "list[np.ndarray]", fused: np.ndarray) -> float:
    """``analysis_ms_ssim``: MEF-SSIM at 3 scales (2x2 mean + decimation), combined as
    ``prod(Q_l ^ w_l)`` with weights (0.0448, 0.2856, 0.3001) normalised; ``-inf`` when the image is too
    small for the coarsest scale (min side / 4 < 11), as the reference returns."""
    h, w = fused.shape
    if min(h, w) / 2 ** (_MEF_LEVELS - 1) < 11:
        return float("-inf")
    qs = []
    xs = [np.asarray(x, dtype=np.float64) for x in seq]
    F = np.asarray(fused, dtype=np.float64)
    for level in range(_MEF_LEVELS):
        qs.append(mef_ssim(xs, F))
        if level < _MEF_LEVELS - 1:
            xs = [_down2(x) for x in xs]
            F = _down2(F)
    q = np.array(qs)
    if np.any(q < 0):
        raise MetricError("MS_SSIM: a scale has a negative MEF-SSIM; MATLAB would return a complex number")
    return float(np.prod(q**_MEF_WEIGHTS))


def _ms_ssim(ir: np.ndarray, vi: np.ndarray, f: np.ndarray) -> float:
    return ms_mef_ssim([_f255(ir), _f255(vi)], _f255(f))


# ------------------------------------------------------------------------------------------ profile
_DEFS = [
    MetricDef("EN", _checked(_en), True, "EN", "entropy of F, bits (0..8)", ("fused",)),
    MetricDef("SF", _checked(_sf), True, "SF", "spatial frequency of F, grey levels (0..255 scale)", ("fused",)),
    MetricDef("SD", _checked(_sd), True, "SD", "standard deviation of F (population), grey levels", ("fused",)),
    MetricDef("PSNR", _checked(_psnr), True, "PSNR", "dB, 20 log10(255 / sqrt(MSE)) with MSE on [0, 1]"),
    MetricDef("MSE", _checked(_mse01), False, "MSE", "mean of MSE(F,IR) and MSE(F,VI) on [0, 1]; lower is better"),
    MetricDef("MI", _checked(_mi), True, "MI", "MI(F,IR) + MI(F,VI), bits"),
    MetricDef("VIF", _checked(_vif), True, "VIF", "VIFp(IR,F) + VIFp(VI,F)"),
    MetricDef("AG", _checked(_ag), True, "AG", "average gradient of F, grey levels per pixel", ("fused",)),
    MetricDef("CC", _checked(_cc), True, "CC", "mean correlation of F with IR and VI (-1..1)"),
    MetricDef("SCD", _checked(_scd), True, "SCD", "sum of the correlations of differences (-2..2)"),
    MetricDef("Qabf", _checked(_qabf), True, "Q_AB/F", "Xydeas-Petrovic edge preservation, 0..1"),
    MetricDef("Nabf", _checked(_nabf), False, "N_AB/F", "modified fusion artefacts, as called (IR scored); 0..1"),
    MetricDef("SSIM", _checked(_ssim), True, "SSIM", "mean of MATLAB ssim(F,IR), ssim(F,VI) (DynamicRange 1)"),
    MetricDef("MS_SSIM", _checked(_ms_ssim), True, "MS-SSIM", "3-scale MEF-SSIM of (IR, VI) against F, 0..1"),
    *(MetricDef(n, _checked(fn), True, disp, doc) for n, fn, disp, doc in TANG_FMI),
]

PROFILE = register_profile(
    Profile(
        name="tang",
        description="Linfeng Tang's MATLAB evaluation (analysis_Reference.m), gray uint8 via rgb2gray",
        reference="Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/*.m (= Linfeng-Tang/Image-Fusion "
        "General Evaluation Metric/Evaluation)",
        load=load,
        metrics={d.name: d for d in _DEFS},
        notes=(
            "MI in bits; PSNR 20 log10(255/sqrt(MSE)) with MSE on [0,1]; SSIM averages two MATLAB ssim values "
            "with DynamicRange 1; CC keeps the reference's mean(A) typo; Nabf is computed as the reference "
            "calls it (IR in the fused slot). FMI_pixel/FMI_dct/FMI_w: Fast-FMI on MATLAB edge maps, dct2 coefficients and 102-tap dmey subbands."
        ),
    )
)

