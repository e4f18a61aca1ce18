"""The symbolic engine's two shortcuts past sympy give sympy's own answers, structure and all.

A floor of a linear argument is made without sympy's attempt to simplify it where that attempt
would leave it as it is (`normal._floor`); a condition whose sizes `size_set` finds is not handed
to sympy to decide (`context._verdict`). Each is compared here with the way round it takes."""

from __future__ import annotations

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc.symbolic.context import _verdict, _whole
from archcalc.symbolic.model import symbol
from archcalc.symbolic.normal import _floor, normal_size
from archcalc.symbolic.sizes import size_set

H, W = symbol("H"), symbol("W")
OTHERS = [sp.Symbol("N", integer=True), sp.Symbol("Z", integer=True, nonnegative=True), sp.Symbol("X")]
"""Symbols of other kinds: a whole number of any sign, one that may be 0, and any number."""

fractions = st.builds(sp.Rational, st.integers(-40, 40), st.sampled_from([1, 1, 2, 3, 4, 7, 64, 65536]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(fractions, st.sampled_from([H, W, *OTHERS])), max_size=3), fractions)
def test_a_floor_is_sympys_floor(terms, constant):
    arg = sp.expand(sum((coefficient * x for coefficient, x in terms), constant))
    assert sp.srepr(_floor(arg)) == sp.srepr(sp.floor(arg))


def sympys_verdict(condition: sp.Basic) -> tuple[bool, sp.Basic | None]:
    """The verdict with sympy asked first, as the engine did before its shortcut."""
    decided = condition.func(normal_size(condition.lhs), normal_size(condition.rhs))
    if decided not in (sp.true, sp.false):
        decided = _whole(decided)
    if decided in (sp.true, sp.false):
        return bool(decided), None
    sizes = size_set(decided)
    if sizes is not None and (sizes.is_everything() or sizes.is_empty()):
        return sizes.is_everything(), None
    return True, decided


strides = st.sampled_from([1, 2, 3, 4, 8])
offsets = st.integers(-12, 12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(strides, offsets), min_size=1, max_size=3), offsets,
       st.sampled_from([sp.Ge, sp.Gt, sp.Le, sp.Eq, sp.Ne]), st.booleans())
def test_a_verdict_is_the_one_sympy_leads_to(windows, bound, relation, two_symbols):
    """Sizes as a chain of windows makes them (⌊(n + offset)/stride⌋ + 1), held to a bound, or to
    another size: of the same symbol, or of another one (which size_set leaves to sympy)."""
    size = H
    for stride, offset in windows:
        size = (size + offset) // stride + 1
    other = (W if two_symbols else H) // 2 + bound
    for condition in (relation(size, bound), relation(size, other)):
        if condition in (sp.true, sp.false):
            continue
        verdict, expected = _verdict(condition), sympys_verdict(condition)
        assert (verdict[0], sp.srepr(verdict[1])) == (expected[0], sp.srepr(expected[1]))
