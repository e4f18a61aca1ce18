"""What a model is held to: the figures, budgets (max_…) and tolerances of a spec's `expect:`
block or of a baseline entry (`archcalc.check.baseline`), read and validated alike wherever the
spec is read, so that `table` refuses the `expect:` that `check` would."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, NamedTuple

from archcalc.errors import Location, SpecError, did_you_mean
from archcalc.spec.source import YMap

FIGURE_KEYS = ("params", "macs", "flops", "activation_bytes")
"""The figures a model is held to (attributes of `archcalc.stats.Figures`)."""
PEAKS = {"peak_bytes": "inference peak", "train_peak_bytes": "training peak"}
"""The figures measured only for a budget (archcalc.check.ON_DEMAND says how), with their names in tables."""
BUDGET_KEYS = tuple(f"max_{figure}" for figure in (*FIGURE_KEYS, *PEAKS))
"""The budgets a model can be held to: one of each figure above."""


class Tolerance(NamedTuple):
    """How far a figure may move: an absolute amount, or a share of the baseline ('1%')."""

    amount: Fraction
    """The amount as written, exactly: '23.412%' allows 23.412% (a float holds 23.41199…)."""
    relative: bool

    def allows(self, expected: int, now: int) -> bool:
        """Exactly, in whole numbers and fractions (a figure of any size: a float product would overflow)."""
        if not self.relative:
            return abs(now - expected) <= self.amount
        return abs(now - expected) * 100 <= self.amount * abs(expected)

    def __str__(self) -> str:
        return f"{float(self.amount):g}%" if self.relative else f"{float(self.amount):g}"


class Held(NamedTuple):
    """What a model is held to by one source (the baseline, or the spec's `expect:`)."""

    figures: dict[str, int]
    budgets: dict[str, int]
    tolerances: dict[str, Tolerance]
    source: str
    where: Mapping[str, Location] = {}  # shared, never changed
    """Where each budget is written, by figure."""
    written: Mapping[str, Location] = {}  # shared, never changed
    """Where each figure is written, by figure."""


def held_from(mapping: Mapping, source: str, figures: bool = True, other_keys: tuple[str, ...] = ()) -> Held:
    """The figures, budgets and tolerances written in `mapping` (without `figures`, only the
    budgets and tolerances are read); a SpecError for any key but theirs and `other_keys` (a
    baseline entry's conditions), and for a value that is not one of them."""
    allowed = (*FIGURE_KEYS, *BUDGET_KEYS, "tolerance")
    for key in mapping:
        if key not in allowed and key not in other_keys:
            raise SpecError(f"unknown key '{key}' in {source}{did_you_mean(str(key), allowed)}",
                            location=where(mapping, key, as_key=True), hint=f"allowed: {', '.join(allowed)}")
    figures = {key: count(mapping, key) for key in FIGURE_KEYS if key in mapping} if figures else {}
    budgets = {key[4:]: count(mapping, key) for key in BUDGET_KEYS if key in mapping}
    limits = {key[4:]: location for key in BUDGET_KEYS if key in mapping and (location := where(mapping, key))}
    written = {key: location for key in figures if (location := where(mapping, key))}
    return Held(figures, budgets, _tolerances(mapping), source, limits, written)


def count(mapping: Mapping, key: str, default: int | None = None, minimum: int = 0) -> int:
    """The whole number ≥ `minimum` at `key` (`default` where it is not given); else a SpecError."""
    value = mapping.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"'{key}' must be a whole number ≥ {minimum}, got {value!r}", location=where(mapping, key))
    return value


def _tolerances(mapping: Mapping) -> dict[str, Tolerance]:
    given = mapping.get("tolerance")
    given = {} if given is None else given  # 'tolerance:' with nothing under it
    if not isinstance(given, Mapping):
        raise SpecError("'tolerance' must map figures to an amount or a percentage, like {macs: 1%}",
                        location=where(mapping, "tolerance"))
    tolerances = {}
    for figure, value in given.items():
        if figure not in FIGURE_KEYS:
            raise SpecError(f"unknown figure '{figure}' in 'tolerance'{did_you_mean(str(figure), FIGURE_KEYS)}",
                            location=where(given, figure, as_key=True), hint=f"figures: {', '.join(FIGURE_KEYS)}")
        tolerances[figure] = _tolerance(value, where(given, figure))
    return tolerances


DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A tolerance's amount as text: ASCII digits, a point and an exponent (Python's float() also
takes '١' for 1 and '1_0' for 10)."""


def _tolerance(value: Any, location: Location | None) -> Tolerance:
    text = str(value).strip()
    relative = text.endswith("%")
    number = text.removesuffix("%").strip()
    plain = isinstance(value, (int, float)) and not isinstance(value, bool)  # a number as YAML read it
    amount = float(number) if plain or DECIMAL.fullmatch(number) else -1.0
    if isinstance(value, bool) or not (amount >= 0 and math.isfinite(amount)):  # nan, inf and 1e400 too
        raise SpecError(f"a tolerance is a finite amount ≥ 0 or a percentage, like 1000 or 1%, got {value!r}",
                        location=location)
    if len(number) > MAX_TOLERANCE_CHARACTERS:  # Fraction's int() of 4,301 digits: Python's ValueError
        raise SpecError(f"a tolerance is written in at most {MAX_TOLERANCE_CHARACTERS} characters, got "
                        f"{len(number):,}", location=location, hint="write it shorter, e.g. 1e-12 or 0.5%")
    exponent = re.search(r"[eE]([+-]?[0-9]+)$", number)
    if exponent and abs(int(exponent[1])) > MAX_TOLERANCE_EXPONENT:  # Fraction made 10 to the 99,999,999th
        raise SpecError(f"a tolerance's exponent is at most {MAX_TOLERANCE_EXPONENT} either way, got {value!r}",
                        location=location, hint="write it as a plain amount, e.g. 1e-12 or 0 (none)")
    return Tolerance(Fraction(repr(value) if isinstance(value, float) else number), relative)


MAX_TOLERANCE_CHARACTERS = 100
"""The characters of a tolerance's amount written as text: '0.' and 5,000 zeros and a 1, quoted,
ended in Python's ValueError traceback (it converts at most 4,300 digits)."""
MAX_TOLERANCE_EXPONENT = 400
"""The largest exponent of a tolerance written as text, either way (a float reaches 1e308 and
5e-324): '1e-99999999', read as 0.0, then held as an exact Fraction, ran for minutes."""


def where(mapping: Mapping, name: str, as_key: bool = False) -> Location | None:
    """Where `name`'s value (or the key itself) is written in `mapping`; None where it was not read from a file."""
    if isinstance(mapping, YMap):
        return mapping.key_where(name) if as_key else mapping.where(name)
    return None
