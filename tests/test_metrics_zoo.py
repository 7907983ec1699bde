"""The ``zoo`` profile against independent computations.

Oracles: direct PyTorch computations of each definition (2-D ``conv2d`` windows, ``torch.histc``,
``torch.fft``, ``binary_cross_entropy``: the operations the survey's code is built from, written here
independently of ivif's separable NumPy/OpenCV implementation), plain-NumPy loops on tiny images, and
hand-computed values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import ivif
from ivif.errors import ImageReadError, InvalidImageError, MetricError, SizeMismatchError
from ivif.metrics import get_profile

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data"

PAIRS = [
    ("tno", "01.png", "DenseFuse"),
    ("vifb", "carLight.jpg", "CBF"),
    ("msrs", None, "PIAFusion"),
]


def _triplet(ds: str, name: str | None, method: str):
    d = DATA / ds
    if name is None:
        name = sorted(p.name for p in (d / "fused" / method).iterdir())[0]
    fused = next((d / "fused" / method).glob(Path(name).stem + ".*"))
    ir = next((d / "ir").glob(Path(name).stem + ".*"))
    vi = next((d / "vi").glob(Path(name).stem + ".*"))
    return ir, vi, fused


def _available():
    out = []
    for ds, name, method in PAIRS:
        try:
            out.append(_triplet(ds, name, method))
        except (StopIteration, FileNotFoundError):
            pass
    return out


REAL = _available()
P = get_profile("zoo")


# ------------------------------------------------------------------------------------- torch oracles
def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def t_vifp(ref, dist):
    torch = _torch()
    import torch.nn.functional as F

    num = den = 0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        x = torch.linspace(-n // 2, n // 2, n)
        xx, yy = torch.meshgrid(x, x, indexing="ij")
        win = torch.exp(-(xx**2 + yy**2) / (2 * (n / 5) ** 2))
        win = (win / win.sum())[None, None]

        def conv(z):
            return F.conv2d(z[None, None], win, padding=n // 2)[0, 0]

        if scale > 1:
            ref, dist = conv(ref)[::2, ::2], conv(dist)[::2, ::2]
        mu1, mu2 = conv(ref), conv(dist)
        s1 = conv(ref * ref) - mu1 * mu1
        s2 = conv(dist * dist) - mu2 * mu2
        s12 = conv(ref * dist) - mu1 * mu2
        s1 = s1.clamp(min=0)
        s2 = s2.clamp(min=0)
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        m = s1 < 1e-10
        g[m] = 0
        sv[m] = s2[m]
        s1[m] = 0
        m = s2 < 1e-10
        g[m] = 0
        sv[m] = 0
        m = g < 0
        sv[m] = s2[m]
        g[m] = 0
        sv[sv <= 1e-10] = 1e-10
        num = num + torch.sum(torch.log10(1 + g**2 * s1 / (sv + 2)))
        den = den + torch.sum(torch.log10(1 + s1 / 2))
    return num / den


def t_ssim_cs(x, y):
    torch = _torch()
    import torch.nn.functional as F

    c = torch.arange(11, dtype=torch.float32) - 5
    g = torch.exp(-(c**2) / (2 * 1.5**2))
    g = g / g.sum()
    x, y = x[None, None], y[None, None]

    def filt(z):
        if z.shape[2] >= 11:
            z = F.conv2d(z, g.view(1, 1, 11, 1))
        if z.shape[3] >= 11:
            z = F.conv2d(z, g.view(1, 1, 1, 11))
        return z

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = filt(x), filt(y)
    s1 = filt(x * x) - mu1**2
    s2 = filt(y * y) - mu2**2
    s12 = filt(x * y) - mu1 * mu2
    cs = (2 * s12 + c2) / (s1 + s2 + c2)
    ss = ((2 * mu1 * mu2 + c1) / (mu1**2 + mu2**2 + c1)) * cs
    return ss.mean(), cs.mean()


def t_ms_ssim(x, y):
    torch = _torch()
    import torch.nn.functional as F

    w = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    vals = []
    for lvl in range(5):
        s, cs = t_ssim_cs(x, y)
        if lvl < 4:
            vals.append(torch.relu(cs))
            pad = [z % 2 for z in x.shape]
            x = F.avg_pool2d(x[None, None], 2, padding=pad)[0, 0]
            y = F.avg_pool2d(y[None, None], 2, padding=pad)[0, 0]
    vals.append(torch.relu(s))
    return torch.prod(torch.stack(vals) ** w)


def torch_zoo(ir_u8, vi_u8, f_u8) -> dict[str, float]:
    """All float32/torch-computed zoo metrics, written directly in torch."""
    torch = _torch()
    import torch.nn.functional as F

    a, b, f = (torch.tensor(z.astype(np.float32)) for z in (ir_u8, vi_u8, f_u8))
    out = {}
    h = torch.histc(f, bins=256, min=0, max=255)
    h = h / h.sum()
    out["EN"] = float(-torch.sum(h * torch.log2(h + 1e-7)))

    def ent(z):
        p = torch.histc(z, bins=256, min=0, max=255)
        p = p / p.sum()
        return float(-torch.sum(p * torch.log2(p + 1e-10)))

    out["TE"] = ent(a) + ent(b) - ent(f)
    sa, sb, sf_ = torch.sigmoid(a), torch.sigmoid(b), torch.sigmoid(f)
    tgt = ((sa + sb) / 2).clamp(1e-7, 1 - 1e-7)
    out["CE"] = float(F.binary_cross_entropy(sf_.clamp(1e-7, 1 - 1e-7), tgt))
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])[None, None]
    gx = F.conv2d(f[None, None], kx, padding=1)
    gy = F.conv2d(f[None, None], kx.transpose(2, 3), padding=1)
    out["EI"] = float(torch.sqrt(gx**2 + gy**2).mean())
    rf = f[1:, :] - f[:-1, :]
    cf = f[:, 1:] - f[:, :-1]
    out["SF"] = float(torch.sqrt(torch.mean(rf**2) + torch.mean(cf**2)))
    out["SD"] = float(torch.sqrt(torch.sum((f - f.mean()) ** 2) / f.numel()))
    gyy, gxx = torch.gradient(f)
    out["AG"] = float(torch.sum(torch.sqrt((gxx**2 + gyy**2) / 2)) / f.numel())
    a1, b1, f1 = a / 255, b / 255, f / 255
    mse = 0.5 * torch.mean((f1 - a1) ** 2) + 0.5 * torch.mean((f1 - b1) ** 2)
    out["MSE"] = float(mse)
    out["PSNR"] = float(20 * torch.log10(255 / torch.sqrt(mse)))

    def corr(x, y):
        x = x - x.mean()
        y = y - y.mean()
        return torch.sum(x * y) / torch.sqrt(torch.sum(x * x) * torch.sum(y * y))

    out["CC"] = float((corr(a, f) + corr(b, f)) / 2)
    out["SCD"] = float(corr(f - b, a) + corr(f - a, b))

    def nrm(z):
        return (z - z.min()) / (z.max() - z.min())

    na, nb, nf = nrm(a), nrm(b), nrm(f)

    def ncc(x, y):
        x = x - x.mean()
        y = y - y.mean()
        return torch.sum(x * y) / (torch.sqrt(torch.sum(x**2) * torch.sum(y**2)) + 1e-10)

    r = torch.tensor([[1, ncc(na, nb), ncc(na, nf)], [ncc(na, nb), 1, ncc(nb, nf)], [ncc(na, nf), ncc(nb, nf), 1]])
    ev = torch.linalg.eigvals(r).real
    out["QNCIE"] = 1 - float(-torch.sum(ev * torch.log2(ev / 3) / 3) / 8)
    out["VIF"] = float(t_vifp(a, f) + t_vifp(b, f))
    A, B, Fs = a * 255, b * 255, f * 255
    out["SSIM"] = float(t_ssim_cs(A, Fs)[0] + t_ssim_cs(B, Fs)[0])
    if min(f.shape) > 160:
        out["MS_SSIM"] = float(t_ms_ssim(A, Fs) + t_ms_ssim(B, Fs))
    return out


def torch_qy(ir_u8, vi_u8, f_u8) -> float:
    torch = _torch()
    import torch.nn.functional as F

    g = torch.tensor([math.exp(-((x - 3) ** 2) / 4.5) for x in range(7)], dtype=torch.float64)
    win = (g / g.sum()).view(1, 1, 1, 7).expand(1, 1, 7, 7)

    def sy(x, y):
        mu1 = F.conv2d(x, win, padding=3)
        mu2 = F.conv2d(y, win, padding=3)
        s1 = F.conv2d(x * x, win, padding=3) - mu1**2
        s2 = F.conv2d(y * y, win, padding=3) - mu2**2
        s12 = F.conv2d(x * y, win, padding=3) - mu1 * mu2
        m = ((2 * mu1 * mu2 + 1e-4) * (2 * s12 + 9e-4)) / ((mu1**2 + mu2**2 + 1e-4) * (s1 + s2 + 9e-4))
        return m, s1, s2

    a, b, f = (torch.tensor(z, dtype=torch.float64)[None, None] for z in (ir_u8, vi_u8, f_u8))
    m1, s1, s2 = sy(a, b)
    m2 = sy(a, f)[0]
    m3 = sy(b, f)[0]
    bm = (m1 >= 0.75).double()
    lam = s1 / (s1 + s2 + 1e-10)
    return float(((lam * m2 + (1 - lam) * m3) * bm + torch.max(m2, m3) * (1 - bm)).mean())


def torch_qcb(ir_u8, vi_u8, f_u8) -> float:
    torch = _torch()
    import torch.nn.functional as F

    imgs = []
    for z in (ir_u8, vi_u8, f_u8):
        t = torch.tensor(z, dtype=torch.float64)
        imgs.append((t - t.min()) / (t.max() - t.min()))
    hh, ww = imgs[0].shape
    u, v = torch.meshgrid(torch.fft.fftfreq(hh), torch.fft.fftfreq(ww), indexing="ij")
    r = torch.sqrt((u * (hh / 30)) ** 2 + (v * (ww / 30)) ** 2)
    sd = torch.exp(-((r / 15.3870) ** 2)) - 0.7622 * torch.exp(-((r / 1.3456) ** 2))
    x = torch.arange(-15, 16, dtype=torch.float64)
    xx, yy = torch.meshgrid(x, x, indexing="ij")

    def gauss(s):
        return (torch.exp(-(xx**2 + yy**2) / (2 * s**2)) / (2 * math.pi * s**2))[None, None]

    g1, g2 = gauss(2.0), gauss(4.0)

    def cp(z):
        z = torch.fft.ifft2(torch.fft.fft2(z) * sd).real[None, None]
        c = F.conv2d(z, g1, padding=15) / (F.conv2d(z, g2, padding=15) + 1e-10) - 1
        return torch.abs(c) ** 3 / (torch.abs(c) ** 2 + 1e-4)

    c1, c2, cf = (cp(z) for z in imgs)
    m1 = (c1 < cf).double()
    q1 = (c1 / cf) * m1 + (cf / c1) * (1 - m1)
    m2 = (c2 < cf).double()
    q2 = (c2 / cf) * m2 + (cf / c2) * (1 - m2)
    lam1 = c1**2 / (c1**2 + c2**2 + 1e-10)
    lam2 = c2**2 / (c1**2 + c2**2 + 1e-10)
    return float((lam1 * q1 + lam2 * q2).mean())


# --------------------------------------------------------------------------------- numpy oracles
def np_mi_bits_loop(x: np.ndarray, y: np.ndarray) -> float:
    """MI in bits from a joint histogram filled pixel by pixel (tiny images only)."""
    h = np.zeros((256, 256))
    for u, v in zip(x.ravel(), y.ravel()):
        h[u, v] += 1
    h /= h.sum()
    px, py = h.sum(1), h.sum(0)
    mi = 0.0
    for i in range(256):
        for j in range(256):
            if h[i, j] > 0:
                mi += h[i, j] * math.log2(h[i, j] / (px[i] * py[j]))
    return mi


def np_sobel_loop(x: np.ndarray, mode: str):
    """(gv, gh) = ((left - right)/8, (top - bottom)/8) with explicit neighbour sums on a padded image."""
    xp = np.pad(x.astype(np.float64), 1, mode="reflect" if mode == "mirror" else "constant")
    h, w = x.shape
    gv = np.zeros((h, w))
    gh = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            p = xp[i : i + 3, j : j + 3]
            gv[i, j] = (p[0, 0] + 2 * p[1, 0] + p[2, 0] - p[0, 2] - 2 * p[1, 2] - p[2, 2]) / 8
            gh[i, j] = (p[0, 0] + 2 * p[0, 1] + p[0, 2] - p[2, 0] - 2 * p[2, 1] - p[2, 2]) / 8
    return gv, gh


def np_nabf_loop(a, b, f) -> float:
    """Kumar's N^{AB/F} with pixel loops (tiny images)."""
    (gva, gha), (gvb, ghb), (gvf, ghf) = (np_sobel_loop(z, "mirror") for z in (a, b, f))
    num = wsum = 0.0
    h, w = a.shape
    for i in range(h):
        for j in range(w):
            gA, gB, gF = (math.hypot(gv[i, j], gh[i, j]) for gv, gh in ((gva, gha), (gvb, ghb), (gvf, ghf)))

            def ang(gv, gh):
                if gv[i, j] == 0 and gh[i, j] == 0:
                    return 0.0
                return math.atan(gv[i, j] / gh[i, j]) if gh[i, j] != 0 else math.copysign(math.pi / 2, gv[i, j])

            def q(gX, aX):
                rel = 0.0 if gX == 0 or gF == 0 else min(gX, gF) / max(gX, gF)
                aXF = abs(abs(aX - ang(gvf, ghf)) - math.pi / 2) * 2 / math.pi
                return math.sqrt(0.9999 / (1 + math.exp(-19 * (rel - 0.5))) * 0.9995 / (1 + math.exp(-22 * (aXF - 0.5))))

            wa = gA**1.5 if gA >= 2 else 0.0
            wb = gB**1.5 if gB >= 2 else 0.0
            wsum += wa + wb
            if gF > gA and gF > gB:
                num += (1 - q(gA, ang(gva, gha))) * wa + (1 - q(gB, ang(gvb, ghb))) * wb
    return num / wsum


# --------------------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def real_loaded():
    if not REAL:
        pytest.skip("../shared/data not available")
    return [tuple(P.load(p, r) for p, r in zip(t, ("ir", "vi", "fused"))) for t in REAL]


TIGHT = ["EN", "TE", "EI", "SF", "SD", "AG", "MSE", "PSNR", "CC", "SCD", "QNCIE"]


def test_float32_metrics_match_torch(real_loaded):
    # 200x256 crops keep the direct 17x17 torch convolutions fast (full images: see docs/metrics_cddfuse_zoo.md)
    for a, b, f in (tuple(z[:168, :172] for z in t) for t in real_loaded):
        ref = torch_zoo(a, b, f)
        got = ivif.evaluate(a, b, f, metrics=list(ref), profile="zoo")
        for k in TIGHT:
            assert got[k] == pytest.approx(ref[k], rel=1e-6, abs=1e-9), k
        # with torch installed ivif runs torch's own conv2d on the reference's tensor layouts: bit-identical
        assert got["VIF"] == pytest.approx(ref["VIF"], rel=1e-12), "VIF"
        assert got["CE"] == pytest.approx(ref["CE"], abs=1e-2), "CE"
        assert got["SSIM"] == pytest.approx(ref["SSIM"], abs=1e-2), "SSIM"
        if "MS_SSIM" in ref:
            assert got["MS_SSIM"] == pytest.approx(ref["MS_SSIM"], abs=1e-2), "MS_SSIM"


def vifp_f64_direct(ref: np.ndarray, dist: np.ndarray, centred: bool = False) -> float:
    """The survey's VIF-P definition in float64 with scipy.signal.correlate2d (no float32 round-off)."""
    from scipy.signal import correlate2d

    ref, dist = ref.astype(np.float64), dist.astype(np.float64)
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        t = np.linspace(-(n // 2), n // 2, n) if centred else np.linspace(-(n // 2) - 1, n // 2, n)
        win = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * (n / 5) ** 2))
        win /= win.sum()

        def c(z):
            return correlate2d(z, win, mode="same", boundary="fill")

        if scale > 1:
            ref, dist = c(ref)[::2, ::2], c(dist)[::2, ::2]
        mu1, mu2 = c(ref), c(dist)
        s1 = np.maximum(c(ref * ref) - mu1**2, 0)
        s2 = np.maximum(c(dist * dist) - mu2**2, 0)
        s12 = c(ref * dist) - mu1 * mu2
        g = np.where(s1 < 1e-10, 0, s12 / (s1 + 1e-10))
        sv = np.where(s1 < 1e-10, s2, s2 - s12 * s12 / (s1 + 1e-10))
        s1 = np.where(s1 < 1e-10, 0, s1)
        g = np.where(s2 < 1e-10, 0, g)
        sv = np.where(s2 < 1e-10, 0, sv)
        sv = np.where(g < 0, s2, sv)
        g = np.maximum(g, 0)
        sv = np.maximum(sv, 1e-10)
        num += np.sum(np.log10(1 + g * g * s1 / (sv + 2)))
        den += np.sum(np.log10(1 + s1 / 2))
    return num / den


def test_vif_against_float64_definition(real_loaded):
    """Independent check of the torch path: the same definition in float64 (scipy) agrees to float32
    round-off, and a centred Gaussian window (the usual VIF) gives a clearly different value."""
    pytest.importorskip("torch")
    a, b, f = (z[:120, :150] for z in real_loaded[0])
    exact = P.metrics["VIF"].fn(a, b, f)
    assert exact == pytest.approx(vifp_f64_direct(a, f) + vifp_f64_direct(b, f), rel=5e-4)
    centred = vifp_f64_direct(a, f, centred=True) + vifp_f64_direct(b, f, centred=True)
    assert abs(centred - exact) > 1e-3


def test_qy_qcb_match_torch_direct_2d(real_loaded):
    a, b, f = (z[:110, :130] for z in real_loaded[0])  # 31x31 direct conv2d is slow; a crop suffices
    m = P.metrics
    assert m["Qy"].fn(a, b, f) == pytest.approx(torch_qy(a, b, f), rel=1e-6)
    assert m["Qcb"].fn(a, b, f) == pytest.approx(torch_qcb(a, b, f), rel=1e-6)


def test_mi_nmi_against_loop_and_sklearn():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (12, 9)).astype(np.uint8)
    b = (a // 3 + rng.integers(0, 40, a.shape)).astype(np.uint8)
    f = ((a.astype(int) + b) // 2).astype(np.uint8)
    m = P.metrics
    mi_ref = np_mi_bits_loop(a, f) + np_mi_bits_loop(b, f)
    assert m["MI"].fn(a, b, f) == pytest.approx(mi_ref, rel=1e-12)
    sk = pytest.importorskip("sklearn.metrics")
    nats = sk.mutual_info_score(a.ravel(), f.ravel()) + sk.mutual_info_score(b.ravel(), f.ravel())
    assert m["MI"].fn(a, b, f) == pytest.approx(nats / math.log(2), rel=1e-10)

    def h(x):
        p = np.bincount(x.ravel(), minlength=256) / x.size
        return -np.sum(p * np.log2(p + 1e-10))

    assert m["NMI"].fn(a, b, f) == pytest.approx(2 * mi_ref / (h(a) + h(b) + 1e-10), rel=1e-12)


def test_nabf_qabf_against_loops():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (9, 11)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    f = np.clip(0.6 * a + 0.5 * b, 0, 255).astype(np.uint8)
    assert P.metrics["Nabf"].fn(a, b, f) == pytest.approx(np_nabf_loop(a, b, f), rel=1e-9)
    # Qabf: zero-padded Sobel; orientation arctan(gy/gx) (pi/2 where gx == 0); tie quirk G = gF
    def edges(x):
        gv, gh = np_sobel_loop(x, "zero")
        gx, gy = -8 * gv, 8 * gh
        g = np.hypot(gx, gy)
        with np.errstate(divide="ignore", invalid="ignore"):
            ang = np.where(gx == 0, np.pi / 2, np.arctan(gy / gx))
        return g, ang

    (ga, aa), (gb, ab), (gf, af) = (edges(z) for z in (a, b, f))

    def q(g, an):
        with np.errstate(divide="ignore", invalid="ignore"):
            G = np.where(g > gf, gf / g, np.where(g == gf, gf, g / gf))
        A = 1 - np.abs(an - af) / (np.pi / 2)
        return 0.9994 / (1 + np.exp(-15 * (G - 0.5))) * 0.9879 / (1 + np.exp(-22 * (A - 0.8)))

    ref = np.sum(q(ga, aa) * ga + q(gb, ab) * gb) / np.sum(ga + gb)
    assert P.metrics["Qabf"].fn(a, b, f) == pytest.approx(ref, rel=1e-6)


def test_hand_computed_values():
    z = np.zeros((20, 20), np.uint8)
    o = np.full((20, 20), 255, np.uint8)
    half = np.zeros((20, 20), np.uint8)
    half[:, 10:] = 255
    m = P.metrics
    assert m["EN"].fn(z, z, half) == pytest.approx(-2 * 0.5 * math.log2(0.5 + 1e-7), rel=1e-6)
    assert m["SD"].fn(z, z, half) == pytest.approx(127.5, rel=1e-7)
    # MSE on [0,1]: F = 1 vs IR = 0 and VI = 0 -> 1; PSNR = 20 log10(255 / 1)
    assert m["MSE"].fn(z, z, o) == pytest.approx(1.0)
    assert m["PSNR"].fn(z, z, o) == pytest.approx(20 * math.log10(255), rel=1e-6)
    # CE: sigmoid(0) = 0.5 everywhere on both sides -> BCE(0.5, 0.5) = ln 2
    assert m["CE"].fn(z, z, z) == pytest.approx(math.log(2), rel=1e-6)
    # one vertical edge: SF = sqrt(255^2 / 19) (columns only), TE = 0 + 0 - 1
    assert m["SF"].fn(z, z, half) == pytest.approx(255 / math.sqrt(19), rel=1e-6)
    assert m["TE"].fn(z, z, half) == pytest.approx(-1.0, abs=1e-6)


def test_loading_matches_pil_and_arrays():
    from PIL import Image

    if not REAL:
        pytest.skip("../shared/data not available")
    vi = REAL[1][1] if len(REAL) > 1 else REAL[0][1]
    with Image.open(vi) as im:
        ref = np.array(im.convert("L"))
        rgb = np.array(im.convert("RGB"))
    assert np.array_equal(P.load(vi, "vi"), ref)
    assert np.array_equal(P.load(rgb, "vi"), ref)
    assert np.array_equal(P.load(rgb.astype(np.float32) / 255, "vi"), ref)


def test_bad_input_errors(tmp_path):
    a = np.zeros((30, 30), np.float32)
    with pytest.raises(InvalidImageError, match="NaN"):
        ivif.evaluate(a, a, np.full((30, 30), np.nan, np.float32), profile="zoo")
    with pytest.raises(InvalidImageError, match="dtype"):
        ivif.evaluate(a, a, np.zeros((30, 30), np.int64), profile="zoo")
    with pytest.raises(SizeMismatchError, match="20x30"):
        ivif.evaluate(a, a, np.zeros((30, 20), np.float32), metrics="MI", profile="zoo")
    with pytest.raises(MetricError, match="160"):
        ivif.evaluate(a, a, a, metrics="MS_SSIM", profile="zoo")
    with pytest.raises(MetricError, match="'Bogus' is not defined by profile 'zoo'"):
        ivif.evaluate(a, a, a, metrics="EN,Qy, Qcb ,Bogus", profile="zoo")

    with pytest.raises(ImageReadError, match="missing.png"):
        ivif.evaluate(tmp_path / "missing.png", a, a, profile="zoo")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="bad.png"):
        ivif.evaluate(bad, a, a, profile="zoo")


def test_profile_names_and_directions():
    assert list(P.metrics) == [
        "CE", "NMI", "QNCIE", "TE", "EI", "Qy", "Qcb", "EN", "MI", "SF", "AG", "SD", "CC", "SCD", "VIF",
        "MSE", "PSNR", "Qabf", "Nabf", "SSIM", "MS_SSIM",
    ]
    lower = {k for k, d in P.metrics.items() if d.higher_is_better is False}
    assert lower == {"CE", "MSE", "Nabf"}
    with pytest.raises(MetricError, match="zoo"):
        get_profile("cddfuse").metric("Qcb")


def test_torch_metrics_need_torch(monkeypatch):
    import sys

    from ivif.errors import DependencyError

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    a = np.zeros((200, 200), np.uint8)
    for name in ("VIF", "SSIM", "MS_SSIM"):
        with pytest.raises(DependencyError, match="ivif\\[torch\\]"):
            P.metrics[name].fn(a, a, a)
    assert P.metrics["EN"].fn(a, a, a) == pytest.approx(0.0, abs=1e-5)  # NumPy metrics unaffected


# ------------------------------------------------------------------------------- shared intermediates
def _smooth_u8(seed: int, shape=(170, 180)) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 2)
    img = np.uint8(255 * (base - base.min()) / np.ptp(base))
    img[:40, :50] = 77  # a flat patch: the masked branches of VIF/Qy/Qcb/Nabf are taken
    return img


def test_shared_intermediates_do_not_change_values():
    """ivif.evaluate shares Sobel maps, SSIM's first scale and float conversions between metrics; each
    metric computed alone (no shared block) must give exactly the same value."""
    _torch()
    from ivif.metrics.profiles import _scopes, shared, shared_intermediates

    a, b, f = _smooth_u8(1), _smooth_u8(2), _smooth_u8(3)
    together = ivif.evaluate(a, b, f, profile="zoo")
    assert not _scopes()  # the block is closed and its store released
    for name, d in P.metrics.items():
        np.testing.assert_equal(d.fn(a, b, f), together[name], err_msg=name)
    # inside a block: one computation per (name, arrays); outside: computed afresh
    calls = []

    def work(x):
        calls.append(1)
        return x.sum()

    with shared_intermediates():
        with shared_intermediates():  # nested blocks share the outer store
            assert shared("t", work, a) == shared("t", work, a)
        shared("t", work, b)
    shared("t", work, a)
    assert len(calls) == 3
    # a block belongs to its thread: another thread computes afresh
    import threading

    with shared_intermediates():
        shared("t", work, a)
        th = threading.Thread(target=shared, args=("t", work, a))
        th.start()
        th.join()
    assert len(calls) == 5
