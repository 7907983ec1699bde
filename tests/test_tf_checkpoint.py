"""The TF1 tensor-bundle reader against the .npz conversions of the same checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ivif.errors import WeightsError
from ivif.methods.tf_checkpoint import checkpoint_prefix, crc32c, load_tf_variables, read_tf_checkpoint
from ivif.methods.weights import load_npz

WEIGHTS = Path(__file__).resolve().parents[1].parent / "shared" / "weights"
INDEXES = sorted(WEIGHTS.glob("*/tf_checkpoint/*.index"))
U2 = WEIGHTS / "U2Fusion" / "tf_checkpoint" / "model.ckpt"

needs_weights = pytest.mark.skipif(not INDEXES, reason="../shared/weights not present")


def _npz_for(index: Path) -> Path:
    npz = sorted(index.parent.parent.glob("*.npz"))
    assert len(npz) == 1, npz
    return npz[0]


def _bitwise_crc32c(data: bytes) -> int:
    # Independent reference: the textbook bit-at-a-time CRC-32C.
    c = 0xFFFFFFFF
    for x in data:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def test_crc32c_known_vectors():
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert crc32c(b"") == 0
    rng = np.random.default_rng(0)
    for n in (1, 3, 4, 5, 255, 256, 257, 1000, 5000):
        b = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c(b) == _bitwise_crc32c(b), n


@needs_weights
@pytest.mark.parametrize("index", INDEXES, ids=lambda p: p.parent.parent.name)
def test_checkpoint_equals_npz(index: Path):
    got = read_tf_checkpoint(index)
    ref = load_npz(_npz_for(index))
    assert sorted(got) == sorted(ref)
    for k, v in ref.items():
        assert got[k].dtype == v.dtype, k
        assert got[k].shape == v.shape, k
        assert np.array_equal(got[k], v), k


@needs_weights
def test_path_forms():
    ref = read_tf_checkpoint(U2)
    for form in (U2, Path(str(U2) + ".index"), Path(str(U2) + ".data-00000-of-00001"), U2.parent):
        assert checkpoint_prefix(form) == U2
    via_dir = load_tf_variables(U2.parent)
    via_npz = load_tf_variables(WEIGHTS / "U2Fusion" / "model.ckpt.npz")
    assert sorted(via_dir) == sorted(ref) == sorted(via_npz)
    assert all(np.array_equal(via_npz[k], ref[k]) for k in ref)


def _copy(tmp_path: Path) -> Path:
    for f in U2.parent.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / U2.name


@needs_weights
def test_truncated_index(tmp_path: Path):
    prefix = _copy(tmp_path)
    idx = Path(str(prefix) + ".index")
    idx.write_bytes(idx.read_bytes()[:-20])
    with pytest.raises(WeightsError, match=r"model\.ckpt\.index: corrupt or truncated TF checkpoint index"):
        read_tf_checkpoint(prefix)


@needs_weights
def test_corrupt_index_block(tmp_path: Path):
    prefix = _copy(tmp_path)
    idx = Path(str(prefix) + ".index")
    raw = bytearray(idx.read_bytes())
    raw[40] ^= 0x01  # inside the first data block
    idx.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="checksum mismatch"):
        read_tf_checkpoint(prefix)


@needs_weights
def test_corrupt_and_truncated_data(tmp_path: Path):
    prefix = _copy(tmp_path)
    data = Path(str(prefix) + ".data-00000-of-00001")
    raw = bytearray(data.read_bytes())
    raw[1000] ^= 0x40
    data.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="checksum mismatch for variable"):
        read_tf_checkpoint(prefix)
    assert len(read_tf_checkpoint(prefix, verify_crc=False)) == 20
    data.write_bytes(bytes(raw[:1000]))
    with pytest.raises(WeightsError, match="truncated"):
        read_tf_checkpoint(prefix)
    data.unlink()
    with pytest.raises(WeightsError, match="data file not found"):
        read_tf_checkpoint(prefix)


def test_missing_and_not_a_checkpoint(tmp_path: Path):
    with pytest.raises(WeightsError, match="index not found"):
        read_tf_checkpoint(tmp_path / "nothing.ckpt")
    bogus = tmp_path / "x.index"
    bogus.write_bytes(b"\x00" * 100)
    with pytest.raises(WeightsError, match="no table magic"):
        read_tf_checkpoint(bogus)
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(WeightsError, match="exactly one"):
        read_tf_checkpoint(empty)
