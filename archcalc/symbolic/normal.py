"""Sizes in one plain form: ⌊(P)/m⌋ with P a polynomial with whole coefficients.

The window rule gives ⌊(⌊(H − 1)/2⌋ + 1 − 1)/2⌋ + 1 after two strided layers; merged, that is
⌊(H + 3)/4⌋. The merges are the identities ⌊(⌊a/m⌋ + b)/n⌋ = ⌊(a + b·m)/(m·n)⌋,
−⌊a/m⌋ = ⌊(−a + m − 1)/m⌋ and ⌊x⌋ + k = ⌊x + k⌋, for whole a, b, k and m, n ≥ 1.
"""

from __future__ import annotations

from functools import lru_cache
from math import lcm

import sympy as sp


@lru_cache(maxsize=1 << 12)
def normal_size(size: sp.Expr) -> sp.Expr:
    """One size of a shape in the plain form (sizes that are not of that kind are unchanged);
    kept, as the layers of a model meet the same few sizes again and again."""
    size = sp.expand(size.replace(sp.ceiling, lambda arg: -sp.floor(-arg)))
    size = size.replace(sp.floor, lambda arg: _merged_floor(sp.expand(arg)))
    return _constant_inside(size)


def split(floor: sp.Expr) -> tuple[sp.Expr, int]:
    """⌊P/m⌋ → (P, m), with P's coefficients whole."""
    arg = sp.expand(floor.args[0])
    m = _denominator(arg)
    return sp.expand(arg * m), m


def _merged_floor(arg: sp.Expr) -> sp.Expr:
    floors = arg.atoms(sp.floor)
    if len(floors) == 1:
        inner = floors.pop()
        q = arg.coeff(inner)
        rest = sp.expand(arg - q * inner)
        if q.is_Rational and rest.is_polynomial() and not rest.has(sp.floor) and q.p in (1, -1):
            p, m = split(inner)
            if q.p == -1:  # −⌊p/m⌋ = ⌊(−p + m − 1)/m⌋
                p = -p + m - 1
            n = q.q
            if _denominator(rest * n) == 1:
                return _floor(sp.expand((p + rest * n * m) / (m * n)))
    if not floors:
        m = _denominator(arg)
        return _floor(arg) if m > 1 else arg
    return sp.floor(arg)


def _constant_inside(size: sp.Expr) -> sp.Expr:
    """k ± ⌊p/m⌋ → one floor, when the size is just that."""
    constant, rest = size.as_coeff_Add()
    if not constant.is_Integer:
        return size
    sign = 1
    if rest.is_Mul and rest.args[0] == -1 and len(rest.args) == 2:
        sign, rest = -1, rest.args[1]
    if not isinstance(rest, sp.floor):
        return size
    p, m = split(rest)
    if sign == -1:
        p = -p + m - 1
    return _floor(sp.expand((p + constant * m) / m)) if m > 1 else sp.expand(p + constant)


def _floor(arg: sp.Expr) -> sp.Expr:
    """sp.floor(arg), without sympy's attempt to simplify it where it would leave it as it is."""
    return sp.floor(arg, evaluate=False) if _left_as_it_is(arg) else sp.floor(arg)


def _left_as_it_is(arg: sp.Expr) -> bool:
    """Whether sp.floor leaves ⌊arg⌋ as it is, found without asking arg's sign (its costliest
    step): so for arg linear in whole symbols, not a constant, with no whole term (sympy takes
    a whole term out of the floor)."""
    terms = [term.as_coeff_Mul() for term in sp.Add.make_args(arg)]
    return (all(coefficient.is_Rational and not coefficient.is_Integer
                and (factor is sp.S.One or factor.is_Symbol and factor.is_integer) for coefficient, factor in terms)
            and any(factor is not sp.S.One for _, factor in terms))


def _denominator(expr: sp.Expr) -> int:
    """The least m that makes every coefficient of `expr` whole."""
    return lcm(*(int(sp.Rational(term.as_coeff_Mul()[0]).q) for term in sp.Add.make_args(expr)))
