"""Read TensorFlow 1 checkpoints (tensor bundles) without TensorFlow.

A TF1 checkpoint ``<prefix>`` is two files:

* ``<prefix>.index``: an SSTable (LevelDB table format) mapping each variable name to a
  ``BundleEntryProto`` (dtype, shape, shard, byte offset, byte size, masked CRC-32C of the bytes);
  the entry with the empty key is the ``BundleHeaderProto`` (number of shards, endianness).
* ``<prefix>.data-SSSSS-of-NNNNN``: the raw little-endian tensor bytes of each shard.

Only the handful of protobuf fields needed are decoded (varint wire format, by hand). Every block
and every tensor is checked against its CRC-32C, so a truncated or corrupt file raises
:class:`~ivif.errors.WeightsError` instead of loading garbage.

``load_tf_variables`` accepts either that checkpoint or the ``.npz`` conversion (TF name -> array)
that ``../shared/weights`` ships, so the TF-ported methods take both as ``weights=``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..errors import WeightsError

if TYPE_CHECKING:
    from .weights import WeightSpec

__all__ = ["read_tf_checkpoint", "load_tf_variables", "resolve_tf_variables", "checkpoint_prefix", "crc32c"]

_TABLE_MAGIC = 0xDB4775248B80FB57  # LevelDB/TF table footer magic (fixed64, little-endian)
_FOOTER_LEN = 48  # two BlockHandles padded to 40 bytes + 8-byte magic
_BLOCK_TRAILER_LEN = 5  # 1-byte compression type + fixed32 masked CRC-32C

# TF DataType enum -> numpy dtype (little-endian); the ones a fusion checkpoint can hold.
_DTYPES: dict[int, str] = {
    1: "f4",  # DT_FLOAT
    2: "f8",  # DT_DOUBLE
    3: "i4",  # DT_INT32
    4: "u1",  # DT_UINT8
    5: "i2",  # DT_INT16
    6: "i1",  # DT_INT8
    9: "i8",  # DT_INT64
    10: "?",  # DT_BOOL
    17: "u2",  # DT_UINT16
    19: "f2",  # DT_HALF
    22: "u4",  # DT_UINT32
    23: "u8",  # DT_UINT64
}
_DTYPE_NAMES = {7: "DT_STRING", 8: "DT_COMPLEX64", 14: "DT_BFLOAT16", 18: "DT_COMPLEX128",
                20: "DT_RESOURCE", 21: "DT_VARIANT"}


class _Corrupt(Exception):
    """Internal: malformed bytes; turned into a WeightsError naming the file."""


# ------------------------------------------------------------------------------------------- CRC-32C
def _make_table() -> np.ndarray:
    poly = np.uint32(0x82F63B78)  # Castagnoli, reflected
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ poly, t >> 1).astype(np.uint32)
    return t


_CRC_TABLE = _make_table()
_CHUNK = 256  # bytes per lane of the vectorised CRC


def _raw_crc_lanes(lanes: np.ndarray) -> np.ndarray:
    """Raw reflected CRC-32C (init 0, no final xor) of each row of a ``N x L`` uint8 array."""
    crc = np.zeros(lanes.shape[0], dtype=np.uint32)
    for j in range(lanes.shape[1]):
        crc = _CRC_TABLE[(crc ^ lanes[:, j]) & 0xFF] ^ (crc >> 8)
    return crc


def _apply(cols: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Apply the GF(2)-linear map with columns ``cols`` (32 uint32, column b = image of bit b) to ``v``."""
    out = np.zeros_like(v)
    for b in range(32):
        out ^= np.where((v >> np.uint32(b)) & np.uint32(1), cols[b], np.uint32(0))
    return out


def _zeros_shift(nbytes: int) -> np.ndarray:
    """Columns of the map ``raw_crc(A) -> raw_crc(A || nbytes zero bytes)``."""
    crc = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)
    for _ in range(nbytes):  # nbytes == _CHUNK: 256 vectorised steps
        crc = _CRC_TABLE[crc & 0xFF] ^ (crc >> 8)
    return crc


_SHIFT_CHUNK: "np.ndarray | None" = None


def crc32c(data: "bytes | memoryview | np.ndarray") -> int:
    """Standard CRC-32C (Castagnoli; init and final xor 0xFFFFFFFF) of ``data``.

    Vectorised: the message is left-padded with zero bytes (which leaves the raw CRC unchanged) to
    ``N`` lanes of 256 bytes, the lanes are CRC'd in parallel and combined pairwise with the linear
    "append zero bytes" map, doubling the lane length at each level.
    """
    global _SHIFT_CHUNK
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    n = buf.size
    if n == 0:
        return 0
    # Init 0xFFFFFFFF == complementing the first four message bytes of a raw (init 0) CRC.
    head = min(4, n)
    msg = buf.copy()
    msg[:head] ^= 0xFF
    if n < 4:
        # For short messages the init register extends past the data: fold the remainder in.
        crc = np.uint32(0xFFFFFFFF)
        for b in buf:
            crc = _CRC_TABLE[(crc ^ np.uint32(b)) & 0xFF] ^ (crc >> np.uint32(8))
        return int(crc ^ np.uint32(0xFFFFFFFF))
    lanes_n = -(-n // _CHUNK)
    lanes_n = 1 << (lanes_n - 1).bit_length()  # power of two for the pairwise tree
    padded = np.zeros(lanes_n * _CHUNK, dtype=np.uint8)
    padded[padded.size - n:] = msg
    crc = _raw_crc_lanes(padded.reshape(lanes_n, _CHUNK))
    if _SHIFT_CHUNK is None:
        _SHIFT_CHUNK = _zeros_shift(_CHUNK)
    shift = _SHIFT_CHUNK
    while crc.size > 1:
        crc = _apply(shift, crc[0::2]) ^ crc[1::2]
        shift = _apply(shift, shift)  # the map for twice the length
    return int(crc[0] ^ np.uint32(0xFFFFFFFF))


def _unmask(masked: int) -> int:
    # LevelDB/TF store CRCs "masked" so that CRCs of data containing CRCs stay well distributed.
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# ----------------------------------------------------------------------------------- wire formats
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Corrupt("varint runs past the end of its buffer")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Corrupt("varint longer than 10 bytes")


def _proto_fields(buf: bytes) -> Iterator[tuple[int, int, "int | bytes"]]:
    """(field number, wire type, value) of a protobuf message; unknown fields are skipped by the caller."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise _Corrupt("fixed64 field runs past the end of its message")
            val, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            ln, pos = _varint(buf, pos)
            if pos + ln > len(buf):
                raise _Corrupt("length-delimited field runs past the end of its message")
            val, pos = bytes(buf[pos:pos + ln]), pos + ln
        elif wire == 5:
            if pos + 4 > len(buf):
                raise _Corrupt("fixed32 field runs past the end of its message")
            val, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise _Corrupt(f"unsupported protobuf wire type {wire}")
        yield field, wire, val


def _snappy_decompress(src: bytes) -> bytes:
    """Raw Snappy block decompression (TF writes bundles uncompressed; this covers other writers)."""
    n, pos = _varint(src, 0)
    out = bytearray()
    while pos < len(src):
        tag = src[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            ln = tag >> 2
            if ln >= 60:
                extra = ln - 59
                ln = int.from_bytes(src[pos:pos + extra], "little")
                pos += extra
            ln += 1
            out += src[pos:pos + ln]
            pos += ln
            continue
        if kind == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | src[pos]
            pos += 1
        elif kind == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(src[pos:pos + 2], "little")
            pos += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(src[pos:pos + 4], "little")
            pos += 4
        if off == 0 or off > len(out):
            raise _Corrupt("snappy back-reference out of range")
        for _ in range(ln):  # copies may overlap their own output
            out.append(out[-off])
    if len(out) != n:
        raise _Corrupt("snappy block decompressed to the wrong length")
    return bytes(out)


# ---------------------------------------------------------------------------------------- SSTable
def _read_block(data: bytes, handle: tuple[int, int]) -> bytes:
    off, size = handle
    end = off + size + _BLOCK_TRAILER_LEN
    if end > len(data):
        raise _Corrupt(f"block at byte {off} (+{size}) runs past the end of the file ({len(data)} bytes)")
    contents = data[off:off + size]
    ctype = data[off + size]
    stored = struct.unpack_from("<I", data, off + size + 1)[0]
    if crc32c(data[off:off + size + 1]) != _unmask(stored):
        raise _Corrupt(f"checksum mismatch in the block at byte {off}")
    if ctype == 0:
        return contents
    if ctype == 1:
        return _snappy_decompress(contents)
    raise _Corrupt(f"unknown block compression type {ctype}")


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Key/value pairs of a table block (prefix-compressed keys; restart array at the end)."""
    if len(block) < 4:
        raise _Corrupt("table block shorter than its restart count")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 * (n_restarts + 1)
    if limit < 0:
        raise _Corrupt("table block restart array is larger than the block")
    pos, key = 0, b""
    while pos < limit:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        if shared > len(key) or pos + non_shared + vlen > limit:
            raise _Corrupt("table entry runs past the end of its block")
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        yield key, block[pos:pos + vlen]
        pos += vlen


def _handle(buf: bytes, pos: int = 0) -> tuple[tuple[int, int], int]:
    off, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return (off, size), pos


def _table_items(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(data) < _FOOTER_LEN:
        raise _Corrupt(f"file is {len(data)} bytes, shorter than a table footer")
    footer = data[-_FOOTER_LEN:]
    if struct.unpack_from("<Q", footer, 40)[0] != _TABLE_MAGIC:
        raise _Corrupt("no table magic number at the end (not a TF checkpoint .index, or truncated)")
    _meta, pos = _handle(footer, 0)
    index_handle, _ = _handle(footer, pos)
    for _last_key, value in _block_entries(_read_block(data, index_handle)):
        block_handle, _ = _handle(value)
        yield from _block_entries(_read_block(data, block_handle))


# ----------------------------------------------------------------------------------------- bundle
def checkpoint_prefix(path: "str | os.PathLike") -> Path:
    """The checkpoint prefix of ``path``: the prefix itself, its ``.index`` / ``.data-*`` file, or a
    folder holding exactly one ``*.index``."""
    p = Path(path)
    if p.is_dir():
        idx = sorted(p.glob("*.index"))
        if len(idx) != 1:
            raise WeightsError(f"{p}: expected exactly one TF checkpoint '*.index' in the folder, "
                               f"found {len(idx)}; pass the checkpoint prefix or its .index file")
        p = idx[0]
    if p.suffix == ".index":
        return p.with_suffix("")
    if ".data-" in p.name:
        return p.with_name(p.name.split(".data-")[0])
    return p


def _shape(buf: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for field, wire, val in _proto_fields(buf):
        if field == 2 and wire == 2:  # TensorShapeProto.dim
            size = 0
            for f2, w2, v2 in _proto_fields(val):  # type: ignore[arg-type]
                if f2 == 1 and w2 == 0:
                    size = int(v2)  # type: ignore[arg-type]
            dims.append(size)
        elif field == 3 and wire == 0 and val:
            raise _Corrupt("tensor of unknown rank")
    return tuple(dims)


def read_tf_checkpoint(path: "str | os.PathLike", verify_crc: bool = True) -> dict[str, np.ndarray]:
    """All tensors of a TF1 checkpoint as ``{tf_variable_name: array}`` (shapes and dtypes as stored).

    ``path``: the checkpoint prefix (``.../model.ckpt``), its ``.index`` file, or a folder holding one
    checkpoint. ``verify_crc`` checks each tensor's CRC-32C (table blocks are always checked).
    Raises :class:`WeightsError` for missing, truncated or corrupt files and for tensor types a
    weight file should not contain (strings, partitioned variables).
    """
    prefix = checkpoint_prefix(path)
    index = Path(str(prefix) + ".index")
    if not index.is_file():
        raise WeightsError(f"{index}: TF checkpoint index not found; pass the checkpoint prefix "
                           "(e.g. .../model.ckpt) or its .index file, with the .data-* file beside it")
    data = index.read_bytes()
    try:
        entries: list[tuple[str, dict]] = []
        header: dict = {"num_shards": 1, "endian": 0}
        for key, value in _table_items(data):
            if key == b"":  # BundleHeaderProto
                for field, wire, val in _proto_fields(value):
                    if field == 1 and wire == 0:
                        header["num_shards"] = int(val)  # type: ignore[arg-type]
                    elif field == 2 and wire == 0:
                        header["endian"] = int(val)  # type: ignore[arg-type]
                continue
            e: dict = {"dtype": 0, "shape": (), "shard": 0, "offset": 0, "size": 0, "crc": None,
                       "sliced": False}
            for field, wire, val in _proto_fields(value):
                if field == 1 and wire == 0:
                    e["dtype"] = int(val)  # type: ignore[arg-type]
                elif field == 2 and wire == 2:
                    e["shape"] = _shape(val)  # type: ignore[arg-type]
                elif field == 3 and wire == 0:
                    e["shard"] = int(val)  # type: ignore[arg-type]
                elif field == 4 and wire == 0:
                    e["offset"] = int(val)  # type: ignore[arg-type]
                elif field == 5 and wire == 0:
                    e["size"] = int(val)  # type: ignore[arg-type]
                elif field == 6 and wire == 5:
                    e["crc"] = int(val)  # type: ignore[arg-type]
                elif field == 7:
                    e["sliced"] = True
            entries.append((key.decode("utf-8"), e))
    except (_Corrupt, UnicodeDecodeError, struct.error, IndexError) as exc:
        raise WeightsError(f"{index}: corrupt or truncated TF checkpoint index ({exc}); download the "
                           "checkpoint again") from exc
    if not entries:
        raise WeightsError(f"{index}: the TF checkpoint index holds no tensors")

    byteorder = "<" if header["endian"] == 0 else ">"
    nshards = header["num_shards"]
    shards: dict[int, bytes] = {}
    out: dict[str, np.ndarray] = {}
    for name, e in entries:
        if e["sliced"]:
            raise WeightsError(f"{index}: variable {name!r} is partitioned into slices, which this reader "
                               "does not support; re-save the checkpoint unpartitioned")
        code = e["dtype"]
        if code not in _DTYPES:
            raise WeightsError(f"{index}: variable {name!r} has TF dtype "
                               f"{_DTYPE_NAMES.get(code, code)}, not a numeric weight type this reader supports")
        shard = e["shard"]
        if shard not in shards:
            fn = Path(f"{prefix}.data-{shard:05d}-of-{nshards:05d}")
            if not fn.is_file():
                raise WeightsError(f"{fn}: TF checkpoint data file not found (the .index refers to it); "
                                   "put it beside the .index file")
            shards[shard] = fn.read_bytes()
        buf = shards[shard]
        lo, n = e["offset"], e["size"]
        dt = np.dtype(byteorder + _DTYPES[code]) if _DTYPES[code] != "?" else np.dtype("?")
        count = int(np.prod(e["shape"], dtype=np.int64))
        if lo + n > len(buf) or n != count * dt.itemsize:
            raise WeightsError(f"{prefix}.data-{shard:05d}-of-{nshards:05d}: variable {name!r} "
                               f"(bytes {lo}..{lo + n}, shape {e['shape']}) does not fit the data file "
                               f"({len(buf)} bytes): truncated or mismatched; download the checkpoint again")
        raw = memoryview(buf)[lo:lo + n]
        if verify_crc and e["crc"] is not None and crc32c(raw) != _unmask(e["crc"]):
            raise WeightsError(f"{prefix}.data-{shard:05d}-of-{nshards:05d}: checksum mismatch for "
                               f"variable {name!r}: the file is corrupt; download the checkpoint again")
        arr = np.frombuffer(raw, dtype=dt, count=count).reshape(e["shape"])
        out[name] = arr.astype(dt.newbyteorder("="), copy=True)
    return out


def load_tf_variables(path: "str | os.PathLike", verify_crc: bool = True) -> dict[str, np.ndarray]:
    """TF variables ``{name: array}`` from a ``.npz`` conversion or an original TF1 checkpoint
    (prefix, ``.index`` file, or folder holding one checkpoint)."""
    from .weights import load_npz

    p = Path(path)
    if p.suffix == ".npz":
        if not p.is_file():
            raise WeightsError(f"{p}: weights file not found")
        return load_npz(p)
    return read_tf_checkpoint(p, verify_crc=verify_crc)


def resolve_tf_variables(npz: "WeightSpec", checkpoint: "tuple[WeightSpec, WeightSpec] | None" = None,
                         weights: "str | os.PathLike | None" = None) -> tuple[dict[str, np.ndarray], Path]:
    """Find and load the TF variables of a TF1-ported network; returns ``(variables, path)``.

    ``weights`` (explicit) may be a ``.npz``, a checkpoint prefix / ``.index`` file, or a folder holding
    either. Otherwise the ``.npz`` conversion is looked up (``$IVIF_WEIGHTS_DIR``, then the cache), then
    the original checkpoint (``checkpoint`` = the specs of its ``.index`` and ``.data-*`` files), which is
    downloaded (sha256-checked) when missing; with no network the error names URLs and target paths.
    """
    from .weights import resolve

    if weights is not None:
        p = Path(weights)
        if p.is_dir():
            for cand in (p / npz.filename, p / Path(npz.filename).name):
                if cand.is_file():
                    return load_tf_variables(cand), cand
        if p.suffix == ".npz":
            return load_tf_variables(p), p
        return read_tf_checkpoint(p), checkpoint_prefix(p)
    try:
        p = resolve(npz, download=False)
        return load_tf_variables(p), p
    except WeightsError:
        if checkpoint is None:
            raise
    index_spec, data_spec = checkpoint
    idx = resolve(index_spec)
    resolve(data_spec)  # both files must be present (and verified) before reading
    return read_tf_checkpoint(idx), checkpoint_prefix(idx)
