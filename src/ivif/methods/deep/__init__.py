"""Deep fusion networks (PyTorch), one module each with its WeightSpec.

Importing this package registers every network when PyTorch is installed (``pip install 'ivif[torch]'``);
without PyTorch, it registers nothing and ``ivif list methods`` says so.
"""

import importlib.util

from ..._discover import import_submodules

TORCH_AVAILABLE = importlib.util.find_spec("torch") is not None
if TORCH_AVAILABLE:
    import_submodules(__name__, __path__)
