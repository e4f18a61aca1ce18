"""The optional packages (the `torch` and `onnx` extras), imported only by the commands that need them."""

from __future__ import annotations

import importlib
from types import ModuleType

from archcalc.errors import MissingDependency

INSTALL_HINT = "pip install 'archcalc[torch]'"

__all__ = ["INSTALL_HINT", "MissingDependency", "require"]


def require(module: str, purpose: str, install: str = INSTALL_HINT) -> ModuleType:
    """Import `module` (torch, fvcore, onnx), or raise MissingDependency naming `purpose` and how to
    install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".", 1)[0]
        raise MissingDependency(f"{purpose} needs {package}, which is not installed: "
                                f"{install}") from None
