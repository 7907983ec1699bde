"""Registry: register/create/list by name, aliases, tags, errors, and entry-point plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ivif
from ivif.errors import IvifError, RegistryError
from ivif.registry import Registry


def test_register_create_list_and_aliases():
    reg = Registry("widget")

    @reg.register("Alpha", aliases=("a1",), tags=("x", "y"), paper="P")
    class Alpha:
        """First line of the doc.

        More."""

        def __init__(self, k: int = 1):
            self.k = k

    reg.register("beta", lambda: "b", tags=("x",))
    assert reg.list() == ["alpha", "beta"]
    assert reg.list("a*") == ["alpha"]
    assert reg.list(tags=("y",)) == ["alpha"]
    assert reg.create("A1", k=3).k == 3
    e = reg.get_entry("alpha")
    assert e.description == "First line of the doc." and e.metadata["paper"] == "P"
    with pytest.raises(RegistryError, match="widget 'alpha' is already registered"):
        reg.register("alpha", object)
    with pytest.raises(RegistryError, match=r"unknown widget 'alpah'; did you mean alpha"):
        reg.get("alpah")


def test_builtin_methods_and_unknown_options():
    assert "average" in ivif.list_methods()
    m = ivif.create_method("avg")  # alias
    ir = np.zeros((4, 5), np.float32)
    vi = np.ones((4, 5), np.float32)
    np.testing.assert_allclose(m.fuse(ir, vi), 0.5)
    with pytest.raises(IvifError, match=r"Average: unknown options \['bogus'\]"):
        ivif.create_method("average", bogus=1)


def test_luma_colour_handling_keeps_visible_chroma():
    rng = np.random.default_rng(1)
    vi = rng.random((6, 7, 3)).astype(np.float32)
    ir = rng.random((6, 7)).astype(np.float32)
    out = ivif.fuse(ir, vi, method="average")
    assert out.shape == (6, 7, 3)
    from ivif.io import rgb_to_ycbcr

    y_out, y_vi = rgb_to_ycbcr(out), rgb_to_ycbcr(vi)
    inside = (out > 0.01).all(-1) & (out < 0.99).all(-1)  # clipping moves chroma only at the gamut edge
    np.testing.assert_allclose(y_out[..., 0][inside], ((y_vi[..., 0] + ir) / 2)[inside], atol=1e-5)
    np.testing.assert_allclose(y_out[..., 1:][inside], y_vi[..., 1:][inside], atol=1e-5)


def test_size_mismatch_names_both_inputs():
    from ivif.errors import SizeMismatchError

    with pytest.raises(SizeMismatchError, match=r"ir is 5x4 but vi is 6x4"):
        ivif.fuse(np.zeros((4, 5), np.float32), np.zeros((4, 6), np.float32))


def test_entry_point_plugin_registers_a_method(tmp_path):
    """A tiny third-party distribution registers a method through the ivif.methods entry-point group."""
    pkg = tmp_path / "ivif_dummy_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from ivif.methods.base import FusionMethod
        from ivif.registry import METHODS

        @METHODS.register("dummy_min", tags=("plugin",))
        class DummyMin(FusionMethod):
            """Pixel minimum (test plugin)."""
            def _fuse(self, ir, vi):
                return (ir < vi) * ir + (ir >= vi) * vi
    '''))
    dist = tmp_path / "ivif_dummy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ivif-dummy-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ivif.methods]\ndummy = ivif_dummy_plugin\n")
    code = ("import ivif, numpy as np; print(ivif.list_methods('dummy*')); "
            "print(float(ivif.fuse(np.full((2,2),.2,np.float32), np.full((2,2),.7,np.float32), method='dummy_min').max()))")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "['dummy_min']"
    assert abs(float(lines[1]) - 0.2) < 1e-6
