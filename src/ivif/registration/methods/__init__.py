"""Built-in registration methods (imported by ``ivif.registry.REGISTRATION``)."""

from . import ecc  # noqa: F401

try:  # the dense and learned methods need PyTorch
    import torch  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    pass
else:
    from . import learned, mind  # noqa: F401
