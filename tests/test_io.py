"""Image I/O: formats, depths, modes, gray policies against the libraries they name, YCbCr, errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ivif import io
from ivif.errors import ImageReadError, ImageTooLargeError, InvalidImageError

RNG = np.random.default_rng(0)


def _rgb8(h=17, w=23):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif"])
def test_read_8bit_formats(tmp_path, ext):
    a = _rgb8()
    p = tmp_path / f"x{ext}"
    Image.fromarray(a).save(p, quality=100) if ext == ".jpg" else Image.fromarray(a).save(p)
    img = io.imread(p)
    assert img.dtype == np.float32 and img.shape == a.shape
    expected = np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255
    np.testing.assert_array_equal(img, expected)


def test_read_16bit_gray_png_and_tiff_not_truncated(tmp_path):
    import cv2
    import tifffile

    a = RNG.integers(0, 65536, (9, 11), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "g.png"), a)
    tifffile.imwrite(tmp_path / "g.tif", a)
    for name in ("g.png", "g.tif"):
        img = io.imread(tmp_path / name)
        np.testing.assert_allclose(img, a / 65535.0, atol=1e-7)
        # distinct 16-bit levels survive (8-bit truncation would merge them)
        assert len(np.unique(img)) > 256 or len(np.unique(a)) == len(np.unique(img))


def test_read_16bit_rgb_png_keeps_16_bits(tmp_path):
    import cv2

    a = RNG.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c.png"), a[..., ::-1])  # OpenCV writes BGR
    img = io.imread(tmp_path / "c.png")
    np.testing.assert_allclose(img, a / 65535.0, atol=1e-7)


def test_rgba_palette_and_gray_as_rgb(tmp_path):
    a = _rgb8()
    rgba = np.dstack([a, np.full(a.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(io.imread(tmp_path / "a.png"), a / np.float32(255))  # alpha dropped

    pal = Image.fromarray(a).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(tmp_path / "p.png")
    np.testing.assert_array_equal(io.imread(tmp_path / "p.png"),
                                  np.asarray(pal.convert("RGB"), np.float32) / 255)

    g = RNG.integers(0, 256, (8, 9), dtype=np.uint8)
    Image.fromarray(np.dstack([g, g, g])).save(tmp_path / "g3.png")
    out = io.imread(tmp_path / "g3.png")
    assert out.shape == (8, 9)  # gray stored as 3 equal channels collapses
    assert io.imread(tmp_path / "g3.png", mode="rgb").shape == (8, 9, 3)


def test_one_pixel_image(tmp_path):
    Image.fromarray(np.array([[200]], np.uint8)).save(tmp_path / "one.png")
    img = io.imread(tmp_path / "one.png")
    assert img.shape == (1, 1) and img[0, 0] == np.float32(200 / 255)


def test_gray_policies_match_their_libraries():
    import cv2

    a = _rgb8(31, 37)
    f = a.astype(np.float32) / 255
    pil = np.asarray(Image.fromarray(a).convert("L"), np.float32) / 255
    np.testing.assert_array_equal(io.to_gray(f, "pil_L"), pil)
    ocv = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    np.testing.assert_array_equal(io.to_gray(f, "cv2"), ocv)
    # MATLAB rgb2gray on uint8: weighted sum with its published coefficients, rounded half away from zero
    R, G, B = (a[..., i].astype(np.float64) for i in range(3))
    mat = np.floor(0.298936021293775 * R + 0.587043074451121 * G + 0.114020904255103 * B + 0.5) / 255
    np.testing.assert_allclose(io.to_gray(f, "matlab"), mat, atol=1e-7)
    np.testing.assert_allclose(io.to_gray(f, "y"), io.rgb_to_ycbcr(f)[..., 0], atol=1e-6)
    with pytest.raises(InvalidImageError, match="unknown policy 'nope'"):
        io.to_gray(f, "nope")  # type: ignore[arg-type]


def test_ycbcr_roundtrip_and_constants():
    f = RNG.random((40, 50, 3)).astype(np.float32)
    back = io.ycbcr_to_rgb(io.rgb_to_ycbcr(f))
    assert np.abs(back - f).max() <= 1e-6
    # pure colours against the BT.601 full-range definition
    ycc = io.rgb_to_ycbcr(np.array([[[1, 0, 0], [0, 0, 1]]], np.float32))
    np.testing.assert_allclose(ycc[0, 0], [0.299, 0.5 - 0.299 / 1.772, 1.0], atol=1e-6)
    np.testing.assert_allclose(ycc[0, 1], [0.114, 1.0, 0.5 - 0.114 / 1.402], atol=1e-6)
    # PIL's integer YCbCr agrees within its rounding
    a = _rgb8()
    pil = np.asarray(Image.fromarray(a).convert("YCbCr"), np.float32)
    assert np.abs(io.rgb_to_ycbcr(a / np.float32(255)) * 255 - pil).max() <= 1.01


def test_imwrite_rounding_16bit_and_range(tmp_path):
    f = np.array([[0.0, 0.5, 1.0, 0.2]], np.float32)
    io.imwrite(tmp_path / "o.png", f)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "o.png")), np.rint(f * 255).astype(np.uint8))
    io.imwrite(tmp_path / "o16.png", f, bits=16)
    np.testing.assert_allclose(io.imread(tmp_path / "o16.png"), f, atol=1 / 65535)
    with pytest.raises(InvalidImageError, match=r"values must lie in \[0, 1\].*got \[0, 1.5\]"):
        io.imwrite(tmp_path / "bad.png", np.array([[0, 1.5]], np.float32))
    io.imwrite(tmp_path / "clip.png", np.array([[0, 1.5]], np.float32), clip=True)
    rgb = RNG.random((4, 5, 3)).astype(np.float32)
    io.imwrite(tmp_path / "rgb.png", rgb)
    np.testing.assert_allclose(io.imread(tmp_path / "rgb.png"), rgb, atol=0.5 / 255 + 1e-6)


def test_bad_files(tmp_path):
    with pytest.raises(ImageReadError, match="missing.png: file not found"):
        io.imread(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("this is not an image")
    with pytest.raises(ImageReadError, match="text.png: not a readable image"):
        io.imread(tmp_path / "text.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.png: empty file"):
        io.imread(tmp_path / "empty.png")
    Image.fromarray(_rgb8(64, 64)).save(tmp_path / "full.png")
    raw = (tmp_path / "full.png").read_bytes()
    (tmp_path / "trunc.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ImageReadError, match="trunc.png: corrupt or truncated"):
        io.imread(tmp_path / "trunc.png")


def test_pixel_limit(tmp_path):
    Image.fromarray(_rgb8(40, 50)).save(tmp_path / "big.png")
    io.set_max_pixels(1000)
    try:
        with pytest.raises(ImageTooLargeError, match=r"big.png: 50x40 = 2000 pixels exceeds the limit of 1000"):
            io.imread(tmp_path / "big.png")
    finally:
        io.set_max_pixels(None)
    assert io.imread(tmp_path / "big.png").shape == (40, 50, 3)


def test_array_validation():
    with pytest.raises(InvalidImageError, match="ir: contains 1 NaN/inf"):
        io.as_image(np.array([[0.1, np.nan]], np.float32), name="ir")
    with pytest.raises(InvalidImageError, match="vi: unsupported dtype int64"):
        io.as_image(np.zeros((3, 3), np.int64), name="vi")
    with pytest.raises(InvalidImageError, match="expected shape HxW or HxWx3"):
        io.as_image(np.zeros((3, 3, 2), np.float32))
    np.testing.assert_allclose(io.as_image(np.full((2, 2), 255, np.uint8)), 1.0)
    np.testing.assert_allclose(io.as_image(np.full((2, 2), 65535, np.uint16)), 1.0)
