"""Official weights: declaration (URL + sha256 + metadata) and resolution.

Resolution order for a :class:`WeightSpec`:

1. an explicit ``weights=PATH`` (file, or folder holding ``spec.filename``);
2. ``$IVIF_WEIGHTS_DIR/<spec.folder>/<spec.filename>`` (tests point it at ``../shared/weights``);
3. the user cache ``$IVIF_CACHE`` or ``~/.cache/ivif/weights/<spec.folder>/<spec.filename>``;
4. download from ``spec.url`` into the cache, verifying sha256.

With no network the error names the file, the URL and where to put it. Loading never unpickles
arbitrary objects: PyTorch files go through ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import WeightsError


@dataclass(frozen=True)
class WeightSpec:
    """One official weight file.

    Attributes:
        folder: sub-folder under ``$IVIF_WEIGHTS_DIR`` / the cache (e.g. ``"SeAFusion"``).
        filename: file name, may contain sub-folders (``"tf_checkpoint/model.ckpt.index"``).
        url: official download URL (upstream release or repository raw file).
        sha256: hex digest of the file.
        license: license of the weights as stated upstream.
        source: repository @ commit and path the file comes from.
        paper: citation.
        meta: free-form facts (training data, input range, ...).
    """

    folder: str
    filename: str
    url: str
    sha256: str
    license: str = "not stated"
    source: str = ""
    paper: str = ""
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def cache_dir() -> Path:
    """The user weight cache (``$IVIF_CACHE/weights`` or ``~/.cache/ivif/weights``)."""
    base = os.environ.get("IVIF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ivif")
    return Path(base) / "weights"


def sha256_file(path: "str | os.PathLike", chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, spec: WeightSpec) -> Path:
    """Check ``path`` against ``spec.sha256``; :class:`WeightsError` on mismatch."""
    digest = sha256_file(path)
    if digest != spec.sha256:
        raise WeightsError(
            f"{path}: sha256 {digest[:16]}... does not match the official {spec.sha256[:16]}... for "
            f"{spec.folder}/{spec.filename}; delete it and download it again from {spec.url}"
        )
    return path


def resolve(spec: WeightSpec, weights: "str | os.PathLike | None" = None, download: bool = True,
            check_hash: bool = True) -> Path:
    """Find (or download) the file of ``spec`` following the module's resolution order.

    An explicit ``weights`` path is used as given; it is hash-checked only when ``check_hash`` and its
    name equals ``spec.filename`` (fine-tuned files of the same architecture load without a hash).
    """
    if weights is not None:
        p = Path(weights)
        if p.is_dir():
            p = p / spec.filename
        if not p.is_file():
            raise WeightsError(f"{p}: weights file not found; pass the path of {Path(spec.filename).name}")
        if check_hash and p.name == Path(spec.filename).name and sha256_file(p) != spec.sha256:
            import warnings

            warnings.warn(f"{p}: sha256 differs from the official {spec.folder}/{spec.filename}; "
                          "using it as a custom checkpoint", stacklevel=2)
        return p
    env = os.environ.get("IVIF_WEIGHTS_DIR")
    if env:
        p = Path(env) / spec.folder / spec.filename
        if p.is_file():
            return verify(p, spec) if check_hash else p
    p = cache_dir() / spec.folder / spec.filename
    if p.is_file():
        return verify(p, spec) if check_hash else p
    if not download:
        raise WeightsError(_missing_message(spec, p))
    return _download(spec, p)


def _missing_message(spec: WeightSpec, target: Path) -> str:
    return (
        f"weights {spec.folder}/{spec.filename} not found; download {spec.url} "
        f"(sha256 {spec.sha256}) and put it at {target}, or set $IVIF_WEIGHTS_DIR to a folder holding "
        f"{spec.folder}/{spec.filename}, or pass weights=PATH"
    )


def _download(spec: WeightSpec, target: Path) -> Path:
    import shutil
    import tempfile
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(spec.url, timeout=30) as r, tempfile.NamedTemporaryFile(
            dir=target.parent, delete=False
        ) as tmp:
            shutil.copyfileobj(r, tmp)
            tmp_path = Path(tmp.name)
    except Exception as exc:
        raise WeightsError(_missing_message(spec, target) + f" (download failed: {exc})") from exc
    try:
        verify(tmp_path, spec)
    except WeightsError:
        tmp_path.unlink(missing_ok=True)
        raise
    os.replace(tmp_path, target)
    return target


def load_torch_state(path: "str | os.PathLike") -> dict:
    """``torch.load`` with ``weights_only=True``: tensors and plain containers only, never code.

    A file that needs arbitrary unpickling raises :class:`WeightsError` saying so.
    """
    import pickle

    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, ValueError, IndexError,
            EOFError, KeyError) as exc:  # the last three: truncated or non-checkpoint bytes
        raise WeightsError(
            f"{path}: refused to load: the file is not a plain tensor checkpoint (it would need arbitrary "
            f"unpickling, which can run code). Only load files you trust, converted to a state dict. ({exc})"
        ) from exc


def load_npz(path: "str | os.PathLike") -> dict[str, Any]:
    """Arrays of a ``.npz`` file (``allow_pickle=False``), keyed by their stored names."""
    import numpy as np

    try:
        with np.load(str(path), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as exc:
        raise WeightsError(f"{path}: refused to load pickled objects from a .npz weights file") from exc
