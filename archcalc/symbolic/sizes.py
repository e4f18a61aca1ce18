"""The sizes at which a condition on one symbol holds, found exactly and said in words.

A condition the layer rules give is `g ⋈ 0` with g a sum of multiples of X, of ⌊aX + b⌋ (a, b
rational) and a constant: a quasi-linear function. With M the least common denominator of the
a's, g(X + M) = g(X) + σ·M for a fixed slope σ, so past a point where g's sign settles in every
residue class, whether the condition holds depends only on X mod M. Testing [1, start + M)
therefore decides it for every X ≥ 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor, lcm
from typing import Callable

import sympy as sp

from archcalc.symbolic.printing import compiled

SCAN_LIMIT = 1 << 16
"""Sets whose settling point and period pass this are left as formulas."""


@dataclass(frozen=True)
class SizeSet:
    """The X ≥ 1 where `test(X)` holds; periodic with `period` from `start` on."""

    symbol: str
    test: Callable[[int], bool]
    start: int
    period: int

    def __and__(self, other: SizeSet) -> SizeSet:
        return SizeSet(self.symbol, lambda x: self.test(x) and other.test(x),
                       max(self.start, other.start), lcm(self.period, other.period))

    @property
    def scanned(self) -> list[int]:
        """The members below start + period: enough to know every member."""
        return list(filter(self.test, self._enough()))

    def is_empty(self) -> bool:
        return not any(map(self.test, self._enough()))

    def is_everything(self) -> bool:
        return all(map(self.test, self._enough()))

    def _enough(self) -> range:
        return range(1, self.start + self.period)

    def text(self) -> str | None:
        """'H ≥ 32', 'H a multiple of 32', 'H ≥ 5 and H odd', 'no H', or None when not so simple."""
        x, members = self.symbol, self.scanned
        if not members:
            return f"no {x}"
        period = self._least_period()
        residues = sorted({m % period for m in members if m >= self.start})
        first = members[0]
        pattern = _residue_text(x, residues, period)
        if all(self.test(y) == ((y % period) in residues) for y in range(first, self.start + self.period)):
            if all(not self.test(y) for y in range(1, first)):
                least = min(r or period for r in residues)
                if first == least or pattern is None:
                    return pattern or f"{x} ≥ {first}"
                return f"{x} ≥ {first} and {pattern}"
        return None

    def _least_period(self) -> int:
        for d in sorted(d for d in range(1, self.period + 1) if self.period % d == 0):
            if all(self.test(y) == self.test(y + d) for y in range(self.start, self.start + self.period)):
                return d
        return self.period


def _residue_text(x: str, residues: list[int], period: int) -> str | None:
    if period == 1:
        return None
    if residues == [0]:
        return f"{x} even" if period == 2 else f"{x} a multiple of {period}"
    if period == 2:
        return f"{x} odd"
    if len(residues) == 1:
        return f"{x} mod {period} = {residues[0]}"
    return f"{x} mod {period} ∈ {{{', '.join(map(str, residues))}}}"


def size_set(condition: sp.Basic) -> SizeSet | None:
    """The sizes where `condition` (a relation on one symbol) holds; None when it is not of
    the quasi-linear kind above, or too long a scan."""
    if not isinstance(condition, sp.core.relational.Relational) or len(condition.free_symbols) != 1:
        return None
    (x,) = condition.free_symbols
    g = sp.expand((condition.lhs - condition.rhs).replace(sp.Mod, lambda a, m: a - m * sp.floor(a / m)))
    parts = _quasi_linear(g, x)
    if parts is None:
        return None
    period, slope = parts
    if 1 + period > SCAN_LIMIT:  # the start is 1 at least
        return None
    start = _settling_point(g, x, period, slope)
    if start + period > SCAN_LIMIT:
        return None
    test = _test(condition, x)
    return SizeSet(str(x), test, start, period)


def _quasi_linear(g: sp.Expr, x: sp.Symbol) -> tuple[int, sp.Rational] | None:
    """(period M, slope σ) of g, or None when g is not quasi-linear in x."""
    period, slope = 1, sp.Integer(0)
    for term in sp.Add.make_args(g):
        coefficient, rest = term.as_coeff_Mul()
        if rest == 1:
            continue
        if rest == x:
            slope += coefficient
            continue
        if not isinstance(rest, sp.floor):
            return None
        a = sp.expand(rest.args[0]).coeff(x)
        if not (a.is_Rational and sp.expand(rest.args[0] - a * x).is_Rational):
            return None
        period = lcm(period, int(a.q))
        slope += coefficient * a
    return period, slope


def _settling_point(g: sp.Expr, x: sp.Symbol, period: int, slope: sp.Rational) -> int:
    """A start from which g's sign in each residue class no longer changes."""
    if slope == 0:
        return 1
    # g times a positive whole number, to be computed exactly in whole numbers (signs unchanged)
    scale = lcm(*(int(sp.Rational(term.as_coeff_Mul()[0]).q) for term in sp.Add.make_args(g)))
    values = compiled([sp.expand(g * scale)], (str(x),))
    step = Fraction(int(slope.p) * scale * period, int(slope.q))
    start = 1
    for x0 in range(1, period + 1):
        # g(x0 + kM) = g(x0) + σMk; its sign is fixed once k > −g(x0) / (σM)
        k = max(0, floor(-values(x0)[0] / step) + 1)
        start = max(start, x0 + k * period)
    return start


def _test(condition: sp.Basic, x: sp.Symbol) -> Callable[[int], bool]:
    values = compiled([condition], (str(x),))
    return lambda size: bool(values(size)[0])
