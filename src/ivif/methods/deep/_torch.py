"""TorchFusionMethod: the base of every deep network in ivif.

A network module implements four small pieces; the base does device placement, lazy weight loading,
tiling, batching and the numpy/official path:

* ``build_network() -> nn.Module``: the official architecture with the official weights loaded
  (resolve files with ``self.weight_path(key)``).
* ``official_inputs(ir, vi) -> tuple[Tensor, ...]``: the network inputs (1xCxHxW, float32) exactly as
  the official script prepares them from the files/arrays (read with ``_pipeline.read_gray``, scaled,
  normalised). ``ir``/``vi`` are what ``FusionMethod.read`` returned (``SourcedImage`` for paths).
* ``official_output(raw, ir, vi) -> np.ndarray``: the official post-processing of the raw network
  output (numpy, as the network returned it, squeezed to ``HxW`` or ``CxHxW``) to the 8-bit image the
  official script saves, returned as uint8 ``HxW`` or ``HxWx3``. ``fuse`` divides by 255, so writing
  the result back to PNG gives the official bytes.
* ``tensor_inputs(ir, vi) -> tuple`` and ``tensor_output(raw) -> Tensor``: the same pipeline on batched
  float tensors in [0, 1] (``Bx1xHxW`` gray IR and VIS luminance), differentiable and without
  quantisation, for GPU batches, training and gradient attacks (``fuse_tensor``).

``raw(ir, vi)`` returns the network output before post-processing (fidelity tests compare it with the
official ``*_raw.npy``).
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ...errors import IvifError, WeightsError
from ..base import FusionMethod
from ..weights import WeightSpec, resolve


class TorchFusionMethod(FusionMethod):
    """Base class of the PyTorch networks (see the module docstring)."""

    color = "native"
    needs_weights = True
    #: weight files by key (``"default"`` or per variant / per part, e.g. ``"encoder"``)
    weight_specs: ClassVar[dict[str, WeightSpec]] = {}
    #: a network whose input size must be a multiple of this is padded (reflect) and cropped back
    size_multiple: ClassVar[int] = 1
    #: receptive-field margin (pixels) kept on each side of a tile; tiles overlap by twice this
    tile_margin: ClassVar[int] = 32

    def __init__(self, weights: "str | Path | None" = None, device: str = "cpu", tile: "int | None" = None,
                 **cfg: Any):
        super().__init__(**cfg)
        self.weights = weights
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise IvifError("device 'cuda' requested but PyTorch sees no CUDA device; use --device cpu")
        if tile is not None and tile < 2 * self.tile_margin + 16:
            raise IvifError(f"tile size {tile} is too small for {type(self).__name__}: use at least "
                            f"{2 * self.tile_margin + 16} pixels")
        self.tile = tile
        self._net: "torch.nn.Module | None" = None

    # ------------------------------------------------------------------------------------ weights
    def weight_path(self, key: str = "default") -> Path:
        """Resolve the file of ``weight_specs[key]`` (explicit ``weights`` first; a folder is searched
        for the spec's file name)."""
        if key not in self.weight_specs:
            raise WeightsError(f"{type(self).__name__} has no weight file {key!r}; "
                               f"known: {', '.join(self.weight_specs)}")
        spec = self.weight_specs[key]
        explicit = self.weights
        if explicit is not None and Path(explicit).is_file() and len(self.weight_specs) > 1:
            # One explicit file cannot serve several parts; look for siblings by name.
            explicit = Path(explicit).parent
        return resolve(spec, explicit)

    @abstractmethod
    def build_network(self) -> torch.nn.Module:
        """The official architecture with its official weights loaded (CPU, eval mode is set by the base)."""

    @property
    def network(self) -> torch.nn.Module:
        """The network on ``self.device`` in eval mode, built on first use."""
        if self._net is None:
            net = self.build_network()
            self._net = net.to(self.device).eval()
            for p in self._net.parameters():
                p.requires_grad_(False)
        return self._net

    # ----------------------------------------------------------------------------- official path
    @abstractmethod
    def official_inputs(self, ir: np.ndarray, vi: np.ndarray) -> tuple[torch.Tensor, ...]:
        """Network inputs (1xCxHxW float32, CPU) prepared exactly as the official script does."""

    @abstractmethod
    def official_output(self, raw: np.ndarray, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        """Official post-processing of the raw output to the saved 8-bit image (uint8 HxW or HxWx3)."""

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Call the network (override when the forward is not ``network(*inputs)``)."""
        return self.network(*inputs)

    @torch.no_grad()
    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Run the network on ``inputs`` (moved to the device), tiled when ``tile`` is set."""
        xs = tuple(x.to(self.device) for x in inputs)
        if self.tile and max(xs[0].shape[-2:]) > self.tile:
            return _tiled(self._padded_run, xs, self.tile, self.tile_margin)
        return self._padded_run(*xs)

    def _padded_run(self, *xs: torch.Tensor) -> torch.Tensor:
        m = self.size_multiple
        h, w = xs[0].shape[-2:]
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
            xs = tuple(torch.nn.functional.pad(x, (0, pw, 0, ph), mode=mode) for x in xs)
        out = self.run_network(*xs)
        return out[..., :h, :w]

    def raw(self, ir: Any, vi: Any) -> np.ndarray:
        """Raw network output (float32 numpy, batch dim dropped; ``HxW`` for one channel) for a pair."""
        ir_a, vi_a = self.read(ir, "ir"), self.read(vi, "vi")
        out = self.forward(*self.official_inputs(ir_a, vi_a))
        return _squeeze(out)

    def _fuse(self, ir: np.ndarray, vi: np.ndarray) -> np.ndarray:
        raw = _squeeze(self.forward(*self.official_inputs(ir, vi)))
        out = self.official_output(raw, ir, vi)
        return np.asarray(out, dtype=np.float32) / np.float32(255.0)

    # ------------------------------------------------------------------------------ tensor path
    @abstractmethod
    def tensor_inputs(self, ir: torch.Tensor, vi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Differentiable input preparation from ``Bx1xHxW`` tensors in [0, 1] (IR, VIS luminance)."""

    @abstractmethod
    def tensor_output(self, raw: torch.Tensor) -> torch.Tensor:
        """Differentiable map of the raw output to a fused luminance ``Bx1xHxW`` in [0, 1]."""

    def fuse_tensor(self, ir: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        """Fuse a batch: ``ir``, ``vi`` are ``Bx1xHxW`` float tensors in [0, 1] on any device (a
        ``Bx3xHxW`` VIS is reduced to BT.601 Y). Returns ``Bx1xHxW`` in [0, 1]; differentiable w.r.t.
        the inputs (weights are frozen), no 8-bit quantisation."""
        if ir.ndim != 4 or vi.ndim != 4 or ir.shape[0] != vi.shape[0] or ir.shape[-2:] != vi.shape[-2:]:
            raise IvifError(f"fuse_tensor: expected Bx1xHxW tensors of equal size, got {tuple(ir.shape)} "
                            f"and {tuple(vi.shape)}")
        if vi.shape[1] == 3:
            w = torch.tensor([0.299, 0.587, 0.114], dtype=vi.dtype, device=vi.device).view(1, 3, 1, 1)
            vi = (vi * w).sum(1, keepdim=True)
        if ir.shape[1] == 3:
            w = torch.tensor([0.299, 0.587, 0.114], dtype=ir.dtype, device=ir.device).view(1, 3, 1, 1)
            ir = (ir * w).sum(1, keepdim=True)
        net = self.network
        dev = next(net.parameters()).device if any(True for _ in net.parameters()) else self.device
        xs = tuple(x.to(dev) for x in self.tensor_inputs(ir.to(dev), vi.to(dev)))
        return self.tensor_output(self._padded_run(*xs))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={str(self.device)!r}, tile={self.tile})"


def _squeeze(t: torch.Tensor) -> np.ndarray:
    a = t.detach().float().cpu().numpy()
    a = a[0]
    return a[0] if a.shape[0] == 1 else a


def _tiled(run, xs: tuple[torch.Tensor, ...], tile: int, margin: int) -> torch.Tensor:
    """Run ``run`` on overlapping tiles of ``xs`` and stitch the central parts of the outputs.

    Each tile is ``tile`` pixels wide (clipped at the border) and overlaps its neighbours by
    ``2 * margin``; only the central part of each tile's output (``margin`` away from an inner edge)
    is kept, so every output pixel sees at least ``margin`` pixels of real context on every side.
    """
    h, w = xs[0].shape[-2:]
    step = tile - 2 * margin
    out: "torch.Tensor | None" = None
    for y0 in range(0, h, step):
        for x0 in range(0, w, step):
            ty0, tx0 = max(0, y0 - margin), max(0, x0 - margin)
            ty1, tx1 = min(h, y0 + step + margin), min(w, x0 + step + margin)
            o = run(*(x[..., ty0:ty1, tx0:tx1] for x in xs))
            if out is None:
                out = o.new_zeros(o.shape[:-2] + (h, w))
            cy1, cx1 = min(h, y0 + step), min(w, x0 + step)
            out[..., y0:cy1, x0:cx1] = o[..., y0 - ty0:cy1 - ty0, x0 - tx0:cx1 - tx0]
    assert out is not None
    return out
