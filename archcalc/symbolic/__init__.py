"""Symbolic input sizes: the layer rules run on formulas of N, C, H and W.

`archcalc table resnet50 --input 3xHxW` gives every shape, count and memory figure as an exact
formula of H and W, with the constraints under which the network is valid. The engine (sympy)
is imported only when a size is a symbol; this module itself imports nothing heavy.
"""

from __future__ import annotations

from archcalc import sizes
from archcalc.sizes import SYMBOL, is_symbol

__all__ = ["SYMBOL", "is_symbol", "parse_symbolic"]


def parse_symbolic(value) -> tuple | None:
    """'3xHxW' (or ['C', 'H', 'W']) → (3, 'H', 'W'); None when no size is a symbol. Each size
    is a whole number from 1 or a symbol; SpecError otherwise (archcalc.sizes)."""
    parts = sizes.split(value) if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not any(is_symbol(p) for p in parts):
        return None
    return sizes.parse_input(value, symbols=True)


def _formula_text(size) -> str:
    from archcalc.symbolic.printing import readable

    return readable(size)


sizes.FORMULA_TEXT = _formula_text
