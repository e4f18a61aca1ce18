"""The layer kinds, one object each, registered under their spec key.

Every module of this package is read: each class with its own `key` is a kind (made once), and a
module's `KINDS` list adds kinds that are instances of one class (the activations). A new kind is
one object in one file here.
"""

from __future__ import annotations

import os
from importlib import import_module

from archcalc.layers.base import Attrs, Field, LayerKind, Params, Shape


def _kinds() -> list[LayerKind]:
    kinds: list[LayerKind] = []
    for module in _modules():
        namespace = vars(import_module(f"{__name__}.{module}"))
        kinds += [value() for value in namespace.values() if isinstance(value, type)
                  and issubclass(value, LayerKind) and "key" in vars(value) and value.__module__ == namespace["__name__"]]
        kinds += namespace.get("KINDS", [])
    return kinds


def _modules() -> list[str]:
    """The modules of this package, by name (listed from its folder: pkgutil would import inspect)."""
    return sorted(name[:-3] for name in os.listdir(__path__[0]) if name.endswith(".py") and name != "__init__.py")


LAYER_KINDS: dict[str, LayerKind] = {kind.key: kind for kind in _kinds()}

__all__ = ["LAYER_KINDS", "Attrs", "Field", "LayerKind", "Params", "Shape"]
