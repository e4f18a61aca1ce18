"""Symbolic input sizes: the layer rules run on formulas of N, C, H and W.

`archcalc table resnet50 --input 3xHxW` gives every shape, count and memory figure as an exact
formula of H and W, with the constraints under which the network is valid. The engine (sympy)
is imported only when a size is a symbol; this module itself imports nothing heavy.
"""

from __future__ import annotations

import re

SYMBOL = re.compile(r"[A-Z][A-Z0-9_]*")
"""A symbolic size: capital letters, digits and '_', starting with a letter (N, H, W, H2)."""


def is_symbol(text: str) -> bool:
    return bool(SYMBOL.fullmatch(text))


def parse_symbolic(value) -> tuple | None:
    """'3xHxW' (or ['C', 'H', 'W']) → (3, 'H', 'W'); None when no size is a symbol. Each size
    is a whole number from 1 or a symbol; SpecError otherwise."""
    parts = re.split(r"\s*[x×,]\s*", value.strip()) if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not any(isinstance(p, str) and is_symbol(p) for p in parts):
        return None
    from archcalc.errors import SpecError
    from archcalc.limits import MAX_DIMENSION

    sizes = []
    for part in parts:
        if isinstance(part, str) and is_symbol(part):
            sizes.append(part)
        elif isinstance(part, int) and not isinstance(part, bool) or isinstance(part, str) and part.isdigit():
            sizes.append(int(part))
        else:
            sizes.append(None)
    numbers = [s for s in sizes if isinstance(s, int)]
    if len(sizes) != 3 or None in sizes or not all(1 <= n <= MAX_DIMENSION for n in numbers):
        raise SpecError(f"input must be channels × height × width, each a whole number from 1 to "
                        f"{MAX_DIMENSION:,} or a symbol, like 3xHxW, got {value!r}",
                        hint="symbols are capital letters, digits and _, starting with a letter")
    return tuple(sizes)
