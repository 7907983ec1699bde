"""Fusion methods: ``classical`` (numpy/OpenCV/PyWavelets) and ``deep`` (PyTorch, official weights)."""

from .base import FusionMethod

__all__ = ["FusionMethod"]
