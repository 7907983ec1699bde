"""Classical fusion methods, one module each; importing this package registers all of them."""

from ..._discover import import_submodules

import_submodules(__name__, __path__)
