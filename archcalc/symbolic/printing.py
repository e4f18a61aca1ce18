"""Formulas as text: for people (⌊(H + 1)/2⌋·64) and for Python (((H + 1)//2)*64).

The Python form uses only whole-number arithmetic, so `eval(text, {"H": 224, "W": 224})` gives
the exact figure; it is what JSON and CSV carry.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter

import sympy as sp
from sympy.printing.str import StrPrinter

from archcalc.symbolic.normal import split

_CACHED = 1 << 12
"""How many texts each printer keeps: a model's layers repeat the same few formulas."""
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_RELATIONS = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤", ">": ">", "<": "<"}


class _PythonPrinter(StrPrinter):
    def _print_floor(self, expr):
        p, m = split(expr)
        inner = self._print(p) if p.is_Atom else f"({self._print(p)})"
        return f"({inner}//{m})"

    def _print_Mod(self, expr):
        return f"(({self._print(expr.args[0])}) % {self._print(expr.args[1])})"

    def _print_Rational(self, expr):
        if expr.q != 1:
            raise ValueError(f"a fraction in a formula meant for whole numbers: {expr}")
        return str(expr.p)

    def _print_Relational(self, expr):
        return f"{self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)}"

    _print_Equality = _print_Unequality = _print_Relational


class _ReadablePrinter(StrPrinter):
    def _print_floor(self, expr):
        p, m = split(expr)
        inner = self._print(p)
        return f"⌊{inner}/{m}⌋" if p.is_Symbol else f"⌊({inner})/{m}⌋"

    def _print_Mod(self, expr):
        return f"({self._print(expr.args[0])} mod {self._print(expr.args[1])})"

    def _print_Pow(self, expr):
        base, exponent = expr.args
        if exponent.is_Integer and exponent > 1:
            text = self._print(base)
            return (text if base.is_Atom or isinstance(base, sp.floor) else f"({text})") + \
                str(exponent).translate(_SUPERSCRIPTS)
        return super()._print_Pow(expr)

    def _print_Relational(self, expr):
        return f"{self._print(expr.lhs)} {_RELATIONS[expr.rel_op]} {self._print(expr.rhs)}"

    _print_Equality = _print_Unequality = _print_Relational

    def _print_Integer(self, expr):
        return f"{int(expr):,}"


@lru_cache(maxsize=_CACHED, typed=True)
def python_text(expr: sp.Basic) -> str:
    """Python source for the formula or condition: whole numbers, // for floors."""
    return _PythonPrinter().doprint(expr)


def compiled(exprs: list, symbols: tuple[str, ...]):
    """One Python function of the symbols giving the tuple of `exprs` (formulas, conditions or
    numbers), exactly: it is `python_text` compiled, whole-number arithmetic only. Each distinct
    expression is printed and worked out once (a model's figures repeat a few hundred formulas
    thousands of times)."""
    places: dict = {}
    order = [places.setdefault((type(e), e), len(places)) for e in exprs]
    body = "".join(f"{python_text(e) if isinstance(e, sp.Basic) else e}, " for _, e in places)
    # the text is printed by archcalc from its own formulas, never taken from the user
    distinct = eval(compile(f"lambda {', '.join(symbols)}: ({body})", "<formulas>", "eval"))
    if len(places) == len(exprs):
        return distinct
    spread = itemgetter(*order)  # two or more places: a tuple
    return lambda *args, **kwargs: spread(distinct(*args, **kwargs))


@lru_cache(maxsize=_CACHED, typed=True)
def readable(expr: sp.Basic) -> str:
    """The formula as a person reads it: ⌊(H + 1)/2⌋, ·, ², 1,000 separators, and a symbol
    that every term has in front: N·(…)."""
    if expr.is_Add:
        terms = [set(sp.Mul.make_args(term)) for term in sp.Add.make_args(expr)]
        common = sorted((f for f in set.intersection(*terms) if f.is_Symbol), key=str)
        if common:
            factor = sp.Mul(*common)
            return f"{readable(factor)}·({readable(sp.expand(expr / factor))})"
    return _ReadablePrinter().doprint(expr).replace("*", "·")
