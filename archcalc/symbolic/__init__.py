"""Symbolic input sizes: the layer rules run on formulas of N, C, H and W.

`archcalc table resnet50 --input 3xHxW` gives every shape, count and memory figure as an exact
formula of H and W, with the constraints under which the network is valid. The engine (sympy)
is imported only when a size is a symbol; this module itself imports nothing heavy, and gives
`archcalc.sizes` its way of writing a formula for people.
"""

from __future__ import annotations

from archcalc import sizes


def _formula_text(size) -> str:
    from archcalc.symbolic.printing import readable

    return readable(size)


sizes.FORMULA_TEXT = _formula_text
