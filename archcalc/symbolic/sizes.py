"""The sizes at which a condition on one symbol holds, found exactly and said in words.

A condition the layer rules give is `g ⋈ 0` with g a sum of multiples of X, of ⌊aX + b⌋ (a, b
rational) and a constant: a quasi-linear function. The two kinds the rules make are decided by
arithmetic, at a cost that does not grow with the divisors:

- g monotone (every term grows with X, or every term shrinks; a window that must fit): the sizes
  are a range, whose ends a binary search finds. ⌊(H − 704)/1024⌋ ≥ 4 holds from H = 4,800 on.
- g = c·(k·⌊(X + a)/(m·k)⌋ − ⌊(X + b)/m⌋) + d, which is periodic (a stride dividing its input
  exactly, two branches of the same size): whether it holds depends on (X + b) mod m and on
  ⌊(X + b)/m⌋ mod k, which give the residues of X mod m·k as runs of whole numbers (`_periodic`).

Any other is scanned: with M the least common denominator of the a's, g(X + M) = g(X) + σ·M for
a fixed slope σ, so past a point where g's sign settles in every residue class, whether the
condition holds depends only on X mod M. Testing [1, start + M) decides it for every X ≥ 1.
Floors within floors (which `normal_size` could not merge) are decided as these are: by binary
search where g is monotone, else by the scan (`_nested`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import floor, inf, lcm
from typing import NamedTuple

import sympy as sp

from archcalc.symbolic.normal import normal_size
from archcalc.symbolic.printing import compiled

SCAN_LIMIT = 1 << 16
"""Scanned sets whose settling point and period pass this are left as formulas; so are
intersections of residue sets that would try more residues than this."""

_RELATIONS = {sp.Ge: operator.ge, sp.Gt: operator.gt, sp.Le: operator.le, sp.Lt: operator.lt,
              sp.Eq: operator.eq, sp.Ne: operator.ne}
_FLIPPED = {operator.ge: operator.le, operator.gt: operator.lt, operator.le: operator.ge,
            operator.lt: operator.gt, operator.eq: operator.eq, operator.ne: operator.ne}


@dataclass(frozen=True)
class SizeSet:
    """The X ≥ 1 with least ≤ X ≤ most (no upper end when most is None) and X mod period
    among `residues`."""

    symbol: str
    residues: frozenset[int] = frozenset({0})
    period: int = 1
    least: int = 1
    most: int | None = None

    def test(self, x: int) -> bool:
        return self.least <= x and (self.most is None or x <= self.most) and x % self.period in self.residues

    def __and__(self, other: SizeSet | ScannedSet) -> SizeSet | ScannedSet:
        if isinstance(other, ScannedSet):
            return self.scanned() & other
        common = _common_residues(self.period, self.residues, other.period, other.residues)
        if common is None:
            return self.scanned() & other.scanned()
        most = min((m for m in (self.most, other.most) if m is not None), default=None)
        return SizeSet(self.symbol, common[1], common[0], max(self.least, other.least), most)

    def is_empty(self) -> bool:
        if not self.residues:
            return True
        return self.most is not None and self._first_from(max(1, self.least)) > self.most

    def is_everything(self) -> bool:
        return self.least <= 1 and self.most is None and len(self.residues) == self.period

    def text(self) -> str:
        """'H ≥ 32', 'H a multiple of 32', 'H ≥ 5 and H odd', '12 ≤ H ≤ 15', 'H ≤ 20 and H even',
        'H = 4' or 'no H'."""
        x = self.symbol
        if self.is_empty():
            return f"no {x}"
        period, residues = _least_period(self.period, self.residues)
        first = self._first_from(max(1, self.least))
        last = None if self.most is None else self.most - min((self.most - r) % self.period for r in self.residues)
        return _bounded_text(x, first, last, sorted(residues), period)

    def scanned(self) -> ScannedSet:
        """The same set, to be tested one size at a time (to meet a set of that kind)."""
        start = max(1, self.least) if self.most is None else self.most + 1
        return ScannedSet(self.symbol, self.test, start, self.period)

    def _first_from(self, x: int) -> int:
        """The least X' ≥ x whose residue is among ours."""
        return x + min((r - x) % self.period for r in self.residues)


class AllOf(tuple):
    """Tests that all hold: the sets met one after another test in one flat list, where a chain
    of `lambda x: a(x) and b(x)` recursed once a set (Python's limit of 1,000 frames: a
    symbol's size in over a thousand constraints raised RecursionError)."""

    def __call__(self, x: int) -> bool:
        return all(test(x) for test in self)

    @staticmethod
    def of(test: Callable[[int], bool]) -> tuple:
        return tuple(test) if isinstance(test, AllOf) else (test,)


@dataclass(frozen=True)
class ScannedSet:
    """The X ≥ 1 where `test(X)` holds; periodic with `period` from `start` on."""

    symbol: str
    test: Callable[[int], bool]
    start: int
    period: int

    def __and__(self, other: SizeSet | ScannedSet) -> ScannedSet:
        if isinstance(other, SizeSet):
            other = other.scanned()
        return ScannedSet(self.symbol, AllOf((*AllOf.of(self.test), *AllOf.of(other.test))),
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
        """As `SizeSet.text`; also None when the scan would be too long."""
        if self.start + self.period > SCAN_LIMIT:
            return None
        x, members = self.symbol, self.scanned
        if not members:
            return f"no {x}"
        first = members[0]
        if members[-1] < self.start:  # none from the start on: a few sizes
            if members == list(range(first, members[-1] + 1)):
                return _bounded_text(x, first, members[-1], [0], 1)
            return f"{x} ∈ {{{', '.join(map(_number, members))}}}" if len(members) <= 6 else None
        period = self._least_period()
        residues = sorted({m % period for m in members if m >= self.start})
        if all(self.test(y) == ((y % period) in residues) for y in range(first, self.start + self.period)):
            return _bounded_text(x, first, None, residues, period)
        return None

    def _least_period(self) -> int:
        """The least d dividing the period with test(y) = test(y + d) from start on: one period's
        tests, compared with themselves turned by d (testing y and y + d anew for each d took 20 s
        where sparse members made each d test most of a period of 65,520)."""
        marks = [self.test(y) for y in range(self.start, self.start + self.period)]
        for d in sorted(d for d in range(1, self.period + 1) if self.period % d == 0):
            if marks[d:] + marks[:d] == marks:
                return d
        return self.period


def _bounded_text(x: str, first: int, last: int | None, residues: list[int], period: int) -> str:
    """The words of the sizes from `first` to `last` (no end where None) whose residues modulo
    `period` are `residues` (first and last among them): the bounds that the residues do not
    imply, and the residues."""
    if first == last:
        return f"{x} = {first:,}"
    pattern = _residue_text(x, residues, period)
    implied = pattern is not None and first == min(r or period for r in residues)
    if last is None:
        bounds = None if implied else f"{x} ≥ {first:,}"
    else:
        bounds = f"{x} ≤ {last:,}" if implied or first == 1 else f"{first:,} ≤ {x} ≤ {last:,}"
    return " and ".join(part for part in (bounds, pattern) if part) or f"{x} ≥ 1"


def _number(value: int) -> str:
    """A whole number as the formulas print one: 1,000 separators."""
    return f"{value:,}"


def _residue_text(x: str, residues: list[int], period: int) -> str | None:
    if period == 1:
        return None
    if residues == [0]:
        return f"{x} even" if period == 2 else f"{x} a multiple of {period:,}"
    if period == 2:
        return f"{x} odd"
    if len(residues) == 1:
        return f"{x} mod {period:,} = {residues[0]:,}"
    return f"{x} mod {period:,} ∈ {{{', '.join(map(_number, residues))}}}"


def _least_period(period: int, residues: frozenset[int]) -> tuple[int, frozenset[int]]:
    """The least period of the residues, and the residues modulo it: a prime factor f of the
    period goes while each residue's class modulo period/f is whole in the set."""
    for prime in sp.factorint(period):
        while period % prime == 0:
            smaller = period // prime
            classes = frozenset(r % smaller for r in residues)
            if len(classes) * prime != len(residues):
                break
            period, residues = smaller, classes
    return period, residues


def _common_residues(p: int, rs: frozenset[int], q: int, qs: frozenset[int]) -> tuple[int, frozenset[int]] | None:
    """The residues modulo lcm(p, q) of the X with X mod p in rs and X mod q in qs (the
    Chinese remainder theorem, by lifting the smaller set); None when that is too long."""
    period = lcm(p, q)
    if len(rs) * (period // p) > len(qs) * (period // q):
        p, rs, q, qs = q, qs, p, rs
    if len(rs) * (period // p) > SCAN_LIMIT:
        return None
    return period, frozenset(x for r in rs for x in range(r, period, p) if x % q in qs)


class _Term(NamedTuple):
    """coefficient · ⌊a·X + b⌋, or coefficient · X (a = 1, b = 0, not a floor)."""

    coefficient: Fraction
    a: Fraction
    b: Fraction
    is_floor: bool

    def value(self, x: int) -> Fraction:
        inner = self.a * x + self.b
        return self.coefficient * (floor(inner) if self.is_floor else inner)


@lru_cache(maxsize=1 << 12)
def size_set(condition: sp.Basic) -> SizeSet | ScannedSet | None:
    """The sizes where `condition` (a relation on one symbol) holds; None when it is not of
    the quasi-linear kind above, or too long a scan. Kept: a constraint is decided when a rule
    meets it and again when it is written out."""
    if not isinstance(condition, sp.core.relational.Relational) or len(condition.free_symbols) != 1:
        return None
    (x,) = condition.free_symbols
    g = sp.expand((condition.lhs - condition.rhs).replace(sp.Mod, lambda a, m: a - m * sp.floor(a / m)))
    if any(f.args[0].has(sp.floor) for f in g.atoms(sp.floor)):
        # a residue's floor merged with the floors inside it (⌊⌊C/15⌋/256⌋ is ⌊C/3840⌋): a sum of single
        # floors (normal_size only here: on every condition it cost a sixth of a strided network's analysis)
        g = normal_size(g)
    relation = _RELATIONS[type(condition)]
    parts = _quasi_linear(g, x)
    if parts is None:
        nested = _nested(g, x)
        if nested is None:
            return _polynomial(condition, g, x)
        levels = level_sets(sp.expand(g * _scale(g)), x, type(condition))  # monotone: by binary search
        slope, _, period = nested
        return (levels and levels(0)) or _scanned(condition, g, x, slope, period)
    terms, constant = parts
    slope = sum(t.coefficient * t.a for t in terms)
    period = lcm(*(t.a.denominator for t in terms if t.is_floor))
    return (_monotone(str(x), terms, constant, relation) or _periodic(str(x), terms, constant, relation)
            or _scanned(condition, g, x, slope, period))


def _polynomial(condition: sp.Basic, g: sp.Expr, x: sp.Symbol) -> ScannedSet | None:
    """The sizes where a polynomial g (S² − 4·S + 4 ≥ 2: a batch norm without running statistics on
    an S×S map) ⋈ 0: past Cauchy's bound on its roots, 1 + max |aᵢ/aₙ|, its sign is its leading
    coefficient's, so the sizes up to the bound, scanned, decide every size. None for others."""
    if not g.is_polynomial(x):
        return None
    coefficients = sp.Poly(g, x).all_coeffs()
    if len(coefficients) < 2 or not all(c.is_Rational for c in coefficients):
        return None
    bound = 1 + floor(max(abs(c / coefficients[0]) for c in coefficients[1:]))
    return ScannedSet(str(x), _test(condition, x), bound + 1, 1) if bound + 2 <= SCAN_LIMIT else None


def _quasi_linear(g: sp.Expr, x: sp.Symbol) -> tuple[list[_Term], Fraction] | None:
    """g's terms in x and its constant, or None when g is not quasi-linear in x."""
    terms, constant = [], Fraction(0)
    for term in sp.Add.make_args(g):
        coefficient, rest = term.as_coeff_Mul()
        if not coefficient.is_Rational:
            return None
        coefficient = Fraction(int(coefficient.p), int(coefficient.q))
        if rest == 1:
            constant += coefficient
        elif rest == x:
            terms.append(_Term(coefficient, Fraction(1), Fraction(0), False))
        elif isinstance(rest, sp.floor):
            a = sp.expand(rest.args[0]).coeff(x)
            b = sp.expand(rest.args[0] - a * x)
            if not (a.is_Rational and b.is_Rational):
                return None
            terms.append(_Term(coefficient, Fraction(int(a.p), int(a.q)), Fraction(int(b.p), int(b.q)), True))
        else:
            return None
    return terms, constant


def _nested(g: sp.Expr, x: sp.Symbol) -> tuple[Fraction, int | None, int] | None:
    """For g a sum of rational multiples of X, of whole numbers and of floors of such sums, floors
    within floors (⌊(3·⌊(H + 5)/4⌋ − 6)/5⌋ − 1: a window after a strided one and an upsampling):
    its slope σ, its direction (1 where it never falls as X grows, −1 where it never rises, 0 where
    it is constant, None where it does both) and a period M with g(X + M) = g(X) + σ·M (each floor's
    argument then moves by a whole σ'·M, and the floor with it). None for other expressions."""
    if g.is_Rational:
        return Fraction(0), 0, 1
    if g == x:
        return Fraction(1), 1, 1
    if g.is_Add:
        parts = [_nested(term, x) for term in g.args]
        if None in parts:
            return None
        directions = {d for _, d, _ in parts} - {0}
        direction = directions.pop() if len(directions) == 1 else None if directions else 0
        return sum(s for s, _, _ in parts), direction, lcm(*(m for _, _, m in parts))
    if isinstance(g, sp.floor):
        inner = _nested(g.args[0], x)
        if inner is None:
            return None
        slope, direction, period = inner
        return slope, direction, lcm(period, slope.denominator)
    coefficient, rest = g.as_coeff_Mul()
    if rest == g or not coefficient.is_Rational:
        return None
    inner = _nested(rest, x)
    if inner is None:
        return None
    slope, direction, period = inner
    c = Fraction(int(coefficient.p), int(coefficient.q))
    return c * slope, None if direction is None else direction * (1 if c > 0 else -1), period


def level_sets(g: sp.Expr, x: sp.Symbol, relation: type) -> Callable[[int], SizeSet | None] | None:
    """For g monotone in x (floors within floors too; whole numbers before the floors), a function
    giving for a whole k the sizes where `relation(g, k)` holds (sp.Eq, sp.Ge, …), each by binary
    search without sympy; None where g is not monotone. A condition on two sizes asks it at each of
    the few values the other's terms take."""
    nested = _nested(sp.expand(g), x)
    if nested is None or nested[1] is None:
        return None
    slope, direction, _ = nested
    sign = -1 if direction < 0 else 1
    values = compiled([g], (str(x),))
    holds = _RELATIONS[relation] if sign > 0 else _FLIPPED[_RELATIONS[relation]]
    return lambda k: _range(str(x), lambda size: sign * (values(size)[0] - k), slope != 0, holds)


def _monotone(x: str, terms: list[_Term], constant: Fraction, relation: Callable) -> SizeSet | None:
    """The sizes where `Σ terms + constant ⋈ 0` holds, when every term grows with X (or every
    term shrinks): a range found by binary search. None for other sums, and for ≠ where the
    sizes are not one range."""
    slopes = [t.coefficient * t.a for t in terms]
    if all(s >= 0 for s in slopes):
        def h(size: int) -> Fraction:
            return sum(t.value(size) for t in terms) + constant
    elif all(s <= 0 for s in slopes):
        def h(size: int) -> Fraction:
            return -sum(t.value(size) for t in terms) - constant
        relation = _FLIPPED[relation]
    else:
        return None
    return _range(x, h, sum(slopes) != 0, relation)


def _range(x: str, h: Callable[[int], Fraction], grows: bool, relation: Callable) -> SizeSet | None:
    """The sizes where `h(X) ⋈ 0`, for h never falling as X grows (and growing without end where
    `grows`; else constant); None for ≠ where they are not one range."""
    if not grows:  # monotone and periodic: constant
        return SizeSet(x) if relation(h(1), 0) else SizeSet(x, frozenset())
    # h grows without end: it is ≥ 0 from `nonnegative` on and > 0 from `positive` on
    nonnegative, positive = _first_size(lambda s: h(s) >= 0), _first_size(lambda s: h(s) > 0)
    ranges = {operator.ge: (nonnegative, None), operator.gt: (positive, None), operator.le: (1, positive - 1),
              operator.lt: (1, nonnegative - 1), operator.eq: (nonnegative, positive - 1)}
    if relation is operator.ne:
        if nonnegative == positive:
            return SizeSet(x)
        if nonnegative > 1:
            return None
        ranges[operator.ne] = (positive, None)
    least, most = ranges[relation]
    return SizeSet(x, least=least, most=most)


def _first_size(holds: Callable[[int], bool]) -> int:
    """The least X ≥ 1 where `holds`, a condition false below some size and true from it on."""
    low, high = 0, 1  # holds(low) is false (or low = 0); holds(high) is to be found true
    while not holds(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if holds(middle) else (middle, high)
    return high


def _periodic(x: str, terms: list[_Term], constant: Fraction, relation: Callable) -> SizeSet | None:
    """The sizes where c·⌊(X + a)/n⌋ + c'·⌊(X + b)/m⌋ + d ⋈ 0 holds (X itself is ⌊(X + 0)/1⌋)
    with m dividing n and c/n + c'/m = 0; None for other sums.

    With k = n/m, Y = ⌊(X + b)/m⌋ and ρ = (X + b) mod m, the sum is d − c'·D with
    D = k·⌊(X + a)/n⌋ − Y = q − z, where q = ⌊(ρ + a − b)/m⌋ takes one value on each of two runs
    of ρ and z = (Y + q) mod k. The z that meet the condition are a run; each, with a run of ρ,
    gives a run of residues m·y + ρ − b of X mod n, where y = (z − q) mod k is Y's."""
    offsets = [_offset(t) for t in terms]
    if len(terms) != 2 or None in offsets:
        return None
    (c, n, a), (c_small, m, b) = sorted(zip([t.coefficient for t in terms], [1 / t.a for t in terms], offsets),
                                        key=lambda term: -term[1])
    if n % m or c / n + c_small / m != 0:
        return None
    n, m, k = int(n), int(m), int(n // m)
    if relation is operator.ne:
        equal = _periodic(x, terms, constant, operator.eq)
        return SizeSet(x, frozenset(range(n)) - equal.residues, n)
    # −c'·D + d ⋈ 0 is D ⋈ d/c', turned round when c' > 0
    low, high = _whole_range(_FLIPPED[relation] if c_small > 0 else relation, constant / c_small)
    split = m - (a - b) % m
    residues: set[int] = set()
    for q, rhos in (((a - b) // m, range(split)), ((a - b) // m + 1, range(split, m))):
        for z in range(max(0, q - high), min(k, q - low + 1)) if rhos else ():
            first = (m * ((z - q) % k) + rhos.start - b) % n
            residues.update(range(first, min(first + len(rhos), n)), range(first + len(rhos) - n))
    return SizeSet(x, frozenset(residues), n)


def _whole_range(relation: Callable, bound: Fraction) -> tuple[float, float]:
    """The whole numbers D with D ⋈ bound (not ≠), as low ≤ D ≤ high (infinite ends as ±inf)."""
    low, high = floor(bound), -floor(-bound)  # ⌊bound⌋ and ⌈bound⌉
    return {operator.ge: (high, inf), operator.gt: (low + 1, inf), operator.le: (-inf, low),
            operator.lt: (-inf, high - 1), operator.eq: (low, high) if low == high else (1, 0)}[relation]


def _offset(term: _Term) -> int | None:
    """b for a term ⌊(X + b)/n⌋ (0 for X itself), with whole b; None for other terms."""
    if term.a <= 0 or term.a.numerator != 1:
        return None
    offset = term.b / term.a
    return int(offset) if offset.denominator == 1 else None


def _scanned(condition: sp.Basic, g: sp.Expr, x: sp.Symbol, slope: Fraction, period: int) -> ScannedSet | None:
    if 1 + period > SCAN_LIMIT:  # the start is 1 at least
        return None
    start = _settling_point(g, x, period, slope)
    if start + period > SCAN_LIMIT:
        return None
    return ScannedSet(str(x), _test(condition, x), start, period)


def _settling_point(g: sp.Expr, x: sp.Symbol, period: int, slope: Fraction) -> int:
    """A start from which g's sign in each residue class no longer changes."""
    if slope == 0:
        return 1
    scale = _scale(g)
    values = compiled([sp.expand(g * scale)], (str(x),))
    step = slope * scale * period
    start = 1
    for x0 in range(1, period + 1):
        # g(x0 + kM) = g(x0) + σMk; its sign is fixed once k > −g(x0) / (σM)
        k = max(0, floor(-values(x0)[0] / step) + 1)
        start = max(start, x0 + k * period)
    return start


def _scale(g: sp.Expr) -> int:
    """A positive whole number that makes g's terms whole numbers times whole floors, to be
    computed exactly in whole numbers (signs unchanged)."""
    return lcm(*(int(sp.Rational(term.as_coeff_Mul()[0]).q) for term in sp.Add.make_args(g)))


def _test(condition: sp.Basic, x: sp.Symbol) -> Callable[[int], bool]:
    values = compiled([condition], (str(x),))
    return lambda size: bool(values(size)[0])
