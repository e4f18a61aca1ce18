"""The sizes that conditions on several symbols leave, found exactly where they are few.

A floor ⌊P/m⌋ (P whole) is a whole number f with P/m − 1 + 1/m ≤ f ≤ P/m, and a residue a mod m is
a − m·⌊a/m⌋, so every condition of the layer rules (sums of multiples of sizes and of floors of
such sums) gives linear inequalities in the sizes and its floors that every size meeting it meets
too. Fourier–Motzkin elimination of the floors, then of the sizes one after another, gives each
size's range given the sizes before it. Where the inequalities have no solution
(⌊W/4⌋ + 1 = ⌊H/4⌋ beside ⌊(H + 2)/4⌋ = ⌊W/4⌋) no size meets the conditions; where they close the
sizes in (⌊H/4⌋ = ⌊W/2⌋ beside ⌊W/4⌋ = ⌊H/2⌋: H, W ≤ 2) the region is walked size by size and the
conditions themselves are tested at each point, so the sizes found are exactly those that meet
them. Conditions that give no such inequalities (N·H·W ≥ 2) are tested at each point too; they
only leave the region open where nothing else closes it.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from itertools import product
from math import ceil, floor, lcm

import sympy as sp

from archcalc.symbolic.printing import compiled

Bound = tuple[tuple[tuple[object, Fraction], ...], Fraction]
"""Σ a·X + c ≥ 0: the (X, a) pairs, sorted (X a symbol or a floor, then its number), and c."""

_BOUNDS_AT_MOST = 400
"""How many inequalities one elimination may leave before the region is taken as not found."""
_MADE_AT_MOST = 4 * _BOUNDS_AT_MOST
"""How many inequalities one elimination may make before they are tidied."""
_POINTS_AT_MOST = 1 << 14
"""How many sizes and tuples of the first sizes the walk visits, at most, before the region is
taken as not found."""


@lru_cache(maxsize=1 << 8)
def members(relations: tuple[sp.Basic, ...]) -> tuple[tuple[sp.Symbol, ...], tuple[tuple[int, ...], ...]] | None:
    """The symbols of `relations` (by name) and every tuple of their sizes from 1 that meets all
    of them; None where their linear bounds leave the sizes unbounded, or the region is too large.
    Kept: a table finds them for its error of sizes met nowhere and again for its words."""
    symbols = tuple(sorted(set().union(*(r.free_symbols for r in relations)), key=str))
    bounds: list[Bound] = [(((x, Fraction(1)),), Fraction(-1)) for x in symbols]  # X ≥ 1
    floors: set[sp.Expr] = set()
    for relation in relations:
        own, its_floors = _relation_bounds(relation)
        bounds += own
        floors.update(its_floors)
    index = {x: i for i, x in enumerate((*symbols, *sorted(floors, key=str)))}  # whole numbers: cheap to compare
    numbered = [(tuple(sorted((index[x], a) for x, a in pairs)), c) for pairs, c in bounds]
    projections = _projections(numbered, len(symbols), range(len(symbols), len(index)))
    if projections is None:
        return None
    try:
        tests = compiled([*relations, True], tuple(map(str, symbols)))  # a tuple even for one relation
    except ValueError:  # a fraction outside a floor: no whole-number test (the rules' conditions have none)
        return None
    found: list[tuple[int, ...]] = []
    if not _walk(projections, len(symbols), (), lambda point: found.append(point) if all(tests(*point)) else None,
                 [_POINTS_AT_MOST]):
        return None
    return symbols, tuple(found)


def _walk(projections: list[list[Bound]], count: int, fixed: tuple[int, ...], visit, left: list[int]) -> bool:
    """Visit every point of the region (of `count` sizes) whose first sizes are `fixed`; False
    where a size is unbounded or more than `left` points would be visited."""
    depth = len(fixed)
    left[0] -= 1
    if left[0] < 0:
        return False
    if depth == count:
        visit(fixed)
        return True
    low, high = _range(projections[depth], fixed, depth)
    if high is None:
        return False
    return all(_walk(projections, count, (*fixed, size), visit, left) for size in range(low, high + 1))


def _range(bounds: list[Bound], fixed: tuple[int, ...], x: int) -> tuple[int, int | None]:
    """The whole sizes of `x` that `bounds` (on x and the sizes `fixed`) leave: low, high (None: no end)."""
    low, high = Fraction(1), None
    for pairs, constant in bounds:
        rest = constant + sum(a * fixed[y] for y, a in pairs if y != x)
        a = dict(pairs).get(x, 0)
        if a > 0:
            low = max(low, -rest / a)
        elif a < 0:
            high = rest / -a if high is None else min(high, rest / -a)
        elif rest < 0:
            return 1, 0
    return ceil(low), None if high is None else floor(high)


def _projections(bounds: list[Bound], count: int, floors: range) -> list[list[Bound]] | None:
    """For each k, the bounds on the first k + 1 of the `count` sizes (numbered from 0) that the
    others and the floors leave (the others eliminated); None where an elimination leaves too many."""
    bounds, left = _tidy(bounds), list(floors)
    while left:  # the floor that makes the fewest new bounds first
        x = min(left, key=lambda f: _pairs_made(bounds, f))
        left.remove(x)
        bounds = _eliminated(bounds, x)
        if bounds is None:
            return None
    projections = [bounds]
    for x in reversed(range(1, count)):
        fewer = _eliminated(projections[0], x)
        if fewer is None:
            return None
        projections.insert(0, fewer)
    return projections


def _pairs_made(bounds: list[Bound], x: int) -> int:
    """How many bounds eliminating x makes: its lower ends times its upper ones."""
    signs = [a > 0 for pairs, _ in bounds for y, a in pairs if y == x]
    return sum(signs) * (len(signs) - sum(signs))


def _eliminated(bounds: list[Bound], x: int) -> list[Bound] | None:
    """The bounds without x that `bounds` imply (Fourier–Motzkin): each lower end of x against each upper one."""
    kept, lower, upper = [], [], []
    for bound in bounds:
        a = dict(bound[0]).get(x, 0)
        (kept if a == 0 else lower if a > 0 else upper).append((bound, a))
    kept = [bound for bound, _ in kept]
    if len(lower) * len(upper) > _MADE_AT_MOST:
        return None
    for ((low_pairs, low_c), a), ((high_pairs, high_c), b) in product(lower, upper):
        combined: dict[int, Fraction] = {}
        for y, c in low_pairs:
            combined[y] = combined.get(y, 0) + c * -b
        for y, c in high_pairs:
            combined[y] = combined.get(y, 0) + c * a
        kept.append((tuple(sorted((y, c) for y, c in combined.items() if c)), low_c * -b + high_c * a))
    kept = _tidy(kept)
    return kept if len(kept) <= _BOUNDS_AT_MOST else None


def _tidy(bounds: list[Bound]) -> list[Bound]:
    """`bounds` scaled so that the first coefficient is ±1, without repeats or those implied by
    another with the same coefficients."""
    tightest: dict = {}
    for pairs, constant in bounds:
        if pairs:
            scale = abs(pairs[0][1])
            pairs, constant = tuple((y, a / scale) for y, a in pairs), constant / scale
        tightest[pairs] = min(tightest.get(pairs, constant), constant)
    return list(tightest.items())


def _pairs(coefficients: dict[sp.Symbol, Fraction]) -> tuple[tuple[sp.Symbol, Fraction], ...]:
    return tuple(sorted(((y, a) for y, a in coefficients.items() if a), key=lambda pair: str(pair[0])))


@lru_cache(maxsize=1 << 12)
def _relation_bounds(relation: sp.Basic) -> tuple[tuple[Bound, ...], frozenset[sp.Expr]]:
    """`_bounds` of the relation with its floors' own bounds, and its floors. Kept: the fewest
    conditions that leave a region are found by finding it again without each."""
    floors: dict[sp.Expr, list[Bound]] = {}
    bounds = _bounds(relation, floors)
    return (*bounds, *(bound for own in floors.values() for bound in own)), frozenset(floors)


def _bounds(relation: sp.Basic, floors: dict[sp.Expr, list[Bound]]) -> list[Bound]:
    """The linear inequalities that every size meeting `relation` meets, in the sizes and its floors
    (each floor's own bounds added to `floors`); none where it is of no such kind (a product of
    sizes, ≠)."""
    kind = type(relation)
    if kind not in (sp.Eq, sp.Ge, sp.Gt, sp.Le, sp.Lt):
        return []
    linear = _linear(sp.expand(relation.lhs - relation.rhs), floors)
    if linear is None:
        return []
    coefficients, constant = linear
    at_least = [(_pairs(coefficients), constant)]
    at_most = [(_pairs({y: -a for y, a in coefficients.items()}), -constant)]
    return {sp.Eq: at_least + at_most, sp.Ge: at_least, sp.Gt: at_least, sp.Le: at_most, sp.Lt: at_most}[kind]


def _linear(expr: sp.Expr, floors: dict[sp.Expr, list[Bound]]) -> tuple[dict, Fraction] | None:
    """`expr` as Σ a·X + c, where each X is a size or a floor (a residue a mod m is a − m·⌊a/m⌋):
    (the a's, c); None where it has a product of sizes or anything else that is not a sum of
    multiples of those. A floor ⌊P/m⌋ (P whole) meets P/m − 1 + 1/m ≤ ⌊P/m⌋ ≤ P/m: its bounds
    go to `floors`."""
    if expr.is_Rational:
        return {}, Fraction(int(expr.p), int(expr.q))
    if expr.is_Symbol:
        return {expr: Fraction(1)}, Fraction(0)
    if expr.is_Add:
        parts = [_linear(term, floors) for term in expr.args]
        if None in parts:
            return None
        coefficients: dict = {}
        for part, _ in parts:
            for y, a in part.items():
                coefficients[y] = coefficients.get(y, 0) + a
        return coefficients, sum(c for _, c in parts)
    if isinstance(expr, sp.Mod) and expr.args[1].is_Integer and expr.args[1] > 0:
        a, m = expr.args
        return _linear(sp.expand(a - m * sp.floor(a / m)), floors)
    if isinstance(expr, sp.floor):
        return _floor(expr, floors)
    coefficient, rest = expr.as_coeff_Mul()
    if rest == expr or not coefficient.is_Rational:
        return None
    inner = _linear(rest, floors)
    if inner is None:
        return None
    c = Fraction(int(coefficient.p), int(coefficient.q))
    return {y: c * a for y, a in inner[0].items()}, c * inner[1]


def _floor(expr: sp.floor, floors: dict[sp.Expr, list[Bound]]) -> tuple[dict, Fraction] | None:
    """The floor as a variable of its own, its bounds added to `floors` once."""
    if expr not in floors:
        inner = _linear(sp.expand(expr.args[0]), floors)
        if inner is None:
            return None
        coefficients, constant = inner
        m = lcm(*(a.denominator for a in coefficients.values()), constant.denominator)
        below = dict(coefficients)
        below[expr] = below.get(expr, 0) - 1
        above = {y: -a for y, a in below.items()}
        floors[expr] = [(_pairs(below), constant), (_pairs(above), -constant + 1 - Fraction(1, m))]
    return {expr: Fraction(1)}, Fraction(0)
