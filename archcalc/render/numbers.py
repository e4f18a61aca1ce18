"""How numbers and shapes are written in every output. A figure of a symbolic analysis is a
formula (a sympy expression); it is written as a person reads it (archcalc.symbolic.printing)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from archcalc.sizes import format_shape

DECIMAL_UNITS = ((10**18, "E"), (10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
"""The decimal prefixes counts are written with, largest first."""


def grouped(n) -> str:
    """25557032 → '25,557,032'; a formula → '9,408·⌊(H + 1)/2⌋·⌊(W + 1)/2⌋'."""
    if isinstance(n, int):
        return f"{n:,}"
    from archcalc.symbolic.printing import readable

    return readable(n)


def human(n: float, space: str = " ") -> str:
    """4089184256 → '4.09 G' (decimal prefixes, three significant figures, rounded before the
    prefix is chosen: 999,999 → '1 M'); `space` between the number and the prefix."""
    rounded = float(f"{n:.3g}")
    for size, unit in DECIMAL_UNITS:
        if abs(rounded) >= size:
            return f"{three_figures(rounded / size)}{space}{unit}"
    return f"{rounded:g}"


def three_figures(x: float, zeros: bool = False) -> str:
    """x to three significant figures, never in exponent form: 4.09, 0.0000362, 1,230 (past the
    largest prefix); a trailing zero left out (1.2, 0.081), unless `zeros` (1.20, 0.0810: a
    column of figures alike, docs/zoo.md)."""
    x = float(f"{x:.3g}")  # rounded first: 9.9996e-05 is 0.0001, not 0.0001000
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 1e-4:
        text = f"{x:#.3g}".rstrip(".")
    else:
        text = f"{x:.{2 - math.floor(math.log10(abs(x)))}f}"
    return text if zeros or "." not in text else text.rstrip("0").rstrip(".")


def shape_text(shape: tuple, sep: str = "×") -> str:
    """(1, 64, 112, 112) → '1×64×112×112'; a size that is a sum is put in brackets: 1×6×(H - 4)."""
    return format_shape(shape, sep)


def field_texts(field) -> list[str]:
    """A receptive field as table cells: size, jump and start ('99', '16', '7.5'), each
    'height×width' when the axes differ; size 'all' when a broadcast path sees the whole input."""
    if field is None:
        return ["—", "—", "—"]
    if field.count(field[0]) == len(field):  # the same along every axis (a square's height and width): written once
        field = field[:1]
    return [_each(["all" if axis.whole else str(axis.size) for axis in field]),
            _each([str(axis.jump) for axis in field]),
            _each(["—" if axis.start is None else str(axis.start) for axis in field])]


def _each(texts: list[str]) -> str:
    """One text when every axis has it, else one per axis: '7', '7×5'."""
    return texts[0] if texts.count(texts[0]) == len(texts) else "×".join(texts)


def percent(share: float) -> str:
    """0.0287 → '2.9%'."""
    return f"{share:.1%}"


def each_once(write: Callable[[Any], str], values: list) -> Iterable[str]:
    """`write` of each value, each distinct value written once: the cells of a column, whose
    shapes and figures repeat from layer to layer."""
    texts = {value: write(value) for value in set(values)}
    return map(texts.__getitem__, values)


def seconds_text(seconds: float) -> str:
    """0.000005401 → '5.40 µs', 0.0009148 → '915 µs', 0.0123 → '12.3 ms' (three significant figures)."""
    seconds = float(f"{seconds:.3g}")  # rounded first, so that 999.9 µs is written 1.00 ms
    for size, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= size:
            return f"{seconds / size:#.3g} {unit}".replace(". ", " ")
    return "0" if not seconds else f"{seconds / 1e-9:#.3g} ns".replace(". ", " ")


def intensity_text(intensity: float | None) -> str:
    """FLOPs per byte: '122.6', '0'; '—' for a layer that moves nothing."""
    return "—" if intensity is None else "0" if not intensity else f"{intensity:.1f}"
