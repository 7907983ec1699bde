"""The ivif error hierarchy.

Every error raised for bad *input* derives from :class:`IvifError`; its message names the offending
file (or argument) and says how to fix it. The CLI turns an ``IvifError`` into one line on stderr and
exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class IvifError(Exception):
    """Base class of all errors ivif raises for bad input or configuration."""


class ImageReadError(IvifError, OSError):
    """An image file is missing, truncated, not an image, or in an unsupported mode."""


class ImageTooLargeError(IvifError, ValueError):
    """An image exceeds the configured pixel limit (``ivif.io.set_max_pixels``)."""


class InvalidImageError(IvifError, ValueError):
    """An array passed to the API has the wrong dtype, shape, range or contains NaN/inf."""


class PairingError(IvifError, ValueError):
    """IR and VIS folders cannot be paired (missing folder, empty folder, unpaired names)."""


class SizeMismatchError(IvifError, ValueError):
    """Two images that must have the same size do not."""


class DatasetError(IvifError, ValueError):
    """A dataset folder has no recognised layout, or labels cannot be parsed."""


class RegistryError(IvifError, KeyError):
    """Unknown method/metric name, or a duplicate registration."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class WeightsError(IvifError, OSError):
    """Weights cannot be found, downloaded, verified or safely loaded."""


class MetricError(IvifError, ValueError):
    """A metric is not defined by the chosen profile, or cannot be computed for this input."""


class DependencyError(IvifError, ImportError):
    """An optional dependency (extra) is needed but not installed."""


def require(module: str, extra: str):
    """Import an optional dependency or raise :class:`DependencyError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError(
            f"this feature needs the optional dependency '{module}': pip install 'ivif[{extra}]'"
        ) from exc
