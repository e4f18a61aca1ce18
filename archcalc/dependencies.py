"""The optional packages (the `torch` extra), imported only by the commands that need them."""

from __future__ import annotations

import importlib
from types import ModuleType

from archcalc.errors import MissingDependency

INSTALL_HINT = "pip install 'archcalc[torch]'"

__all__ = ["INSTALL_HINT", "MissingDependency", "require"]


def require(module: str, purpose: str) -> ModuleType:
    """Import `module` (torch, fvcore), or raise MissingDependency naming `purpose`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".", 1)[0]
        raise MissingDependency(f"{purpose} needs {package}, which is not installed: "
                                f"{INSTALL_HINT}") from None
