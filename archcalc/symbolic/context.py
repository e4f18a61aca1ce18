"""The conditions the layer rules meet on symbolic sizes, kept as constraints on the input.

`holds` and `same` in the layer rules come here (through `archcalc.layers.base.SIZE_RULES`,
which `Assumptions` sets while it is active) when a size is a formula. A condition that
holds at every size passes; one that holds at no size fails, so the rule raises its own error;
any other is assumed and recorded, with the layer it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import lcm

import sympy as sp

from archcalc.layers.base import SIZE_RULES
from archcalc.symbolic.normal import normal_size
from archcalc.symbolic.sizes import size_set


@dataclass(frozen=True)
class Condition:
    """A constraint on the input sizes and the layer whose rule needs it."""

    relation: sp.Basic
    layer: str


class Assumptions:
    """The conditions met while the rules run: `with Assumptions() as found: …`."""

    def __init__(self) -> None:
        self.conditions: list[Condition] = []
        self._pending: list[sp.Basic] = []

    def __enter__(self) -> Assumptions:
        self._token = SIZE_RULES.set(self)
        return self

    def __exit__(self, *exc) -> None:
        SIZE_RULES.reset(self._token)

    def settle(self, layer: str) -> None:
        """Attach the conditions met since the last layer to `layer`."""
        known = {_same_whichever_side(c.relation) for c in self.conditions}
        for relation in self._pending:
            key = _same_whichever_side(relation)
            if key not in known:
                self.conditions.append(Condition(relation, layer))
                known.add(key)
        self._pending.clear()

    def assume(self, condition: sp.Basic) -> bool:
        """Whether a rule's condition may hold; see the module's docstring."""
        verdict, constraint = _verdict(condition)
        if constraint is not None:
            self._pending.append(constraint)
        return verdict

    def assume_equal(self, a: sp.Expr, b: sp.Expr) -> bool:
        return sp.expand(a - b) == 0 or self.assume(sp.Eq(a, b))


def _same_whichever_side(relation: sp.Basic) -> sp.Basic:
    """A relation as one whichever way round it is written: an equality by its difference up to
    sign (W = H is H = W, which a merge of two axes met once each)."""
    if not isinstance(relation, sp.Eq):
        return relation
    difference = sp.expand(relation.lhs - relation.rhs)
    return min(difference, -difference, key=sp.default_sort_key)


@lru_cache(maxsize=1 << 12)
def _verdict(condition: sp.Basic) -> tuple[bool, sp.Basic | None]:
    """Whether `condition` may hold, and the constraint it leaves: None when it holds at every
    size or at none. Kept, as the layers of a model meet the same few conditions again and again.
    Where `size_set` finds the sizes at which it holds, sympy is not asked to decide it (its
    costliest step): it could only decide it where they are every size or none, as found."""
    if condition in (sp.true, sp.false):
        return bool(condition), None
    lhs, rhs = normal_size(condition.lhs), normal_size(condition.rhs)
    plain = _whole(condition.func(lhs, rhs, evaluate=False), evaluate=False)
    sizes = size_set(plain)
    if sizes is None:  # sympy decides it, or leaves it as it is
        plain = condition.func(lhs, rhs)
        if plain not in (sp.true, sp.false):
            plain = _whole(plain)
        if plain in (sp.true, sp.false):
            return bool(plain), None
        sizes = size_set(plain)
    if sizes is not None and sizes.is_everything():
        return True, None
    if sizes is not None and sizes.is_empty():
        return False, None
    return True, plain


def _whole(condition: sp.Basic, evaluate: bool = True) -> sp.Basic:
    """`lhs ⋈ rhs` with whole coefficients outside the floors (both sides times one positive number)."""
    lhs, rhs = sp.expand(condition.lhs), sp.expand(condition.rhs)
    terms = sp.Add.make_args(lhs) + sp.Add.make_args(rhs)
    scale = lcm(*(int(sp.Rational(t.as_coeff_Mul()[0]).q) for t in terms))
    return condition.func(sp.expand(lhs * scale), sp.expand(rhs * scale), evaluate=evaluate)
