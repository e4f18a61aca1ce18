"""Values of a spec's parameters given on the command line: `archcalc sweep --set NAME=VALUES`.

VALUES is entries joined by `,` (a comma inside brackets belongs to a list), each

- a range `from:to:step` of numbers, both ends included (the end where a step lands on it; step 1
  if left out), worked out as
  from + i·step in exact decimal arithmetic: `0.5:2:0.25` is 0.5, 0.75, …, 2.0 exactly; whole
  numbers at whole-number start and step written without `.` or an exponent, else floats;
- or one value: a number (`1e3` is the float 1000.0, as in an expression), else as YAML reads
  it: `true`/`false`, a name (`basic`), a flow list (`[3, 4, 6, 3]`).

A range is counted from its ends and step before its values are made: more than
MAX_SWEEP_POINTS values are refused.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from archcalc.errors import NOT_AS_WRITTEN, SpecError, not_as_written
from archcalc.limits import MAX_MAGNITUDE, MAX_SWEEP_POINTS
from archcalc.sizes import given_once

if TYPE_CHECKING:
    from decimal import Decimal

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_RANGE = re.compile(rf"\s*({_NUMBER})\s*:\s*({_NUMBER})\s*(?::\s*({_NUMBER})\s*)?")
_EXPONENT = re.compile(r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+\s*")
_FORMS = "NAME=VALUES, like width=0.5:2:0.25, depth=1,1.2,1.4, block=basic or depths=[2,2,2,2],[3,4,6,3]"


class Setting(NamedTuple):
    """One `--set`: a parameter's name and the values it takes, in order."""

    name: str
    values: tuple[Any, ...]


def parse_setting(text: str) -> Setting:
    """'width=0.5:2:0.25' → Setting('width', (0.5, 0.75, …, 2.0)); SpecError for anything else."""
    name, equals, values = text.partition("=")
    name = name.strip()
    if not equals or not _NAME.fullmatch(name) or not values.strip():
        raise SpecError(f"--set takes {_FORMS}; got {text!r}")
    entries = [_entry(part) for part in _split(values)]
    count = sum(len(entry) for entry in entries)
    if count > MAX_SWEEP_POINTS:
        raise SpecError(f"{count:,} values of '{name}'; a sweep takes at most {MAX_SWEEP_POINTS:,} points "
                        f"(use a larger step)")
    found = tuple(value for entry in entries for value in _values(entry))
    given_once(found, "value", key=_same_value, shown=shown_value, of=f" of '{name}'")
    return Setting(name, found)


def kind_of(value: Any) -> str:
    """What kind of value a parameter holds, in words: a number, true or false, a name, a list."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return "a list" if isinstance(value, list) else "a name" if isinstance(value, str) else "any value"


def _same_value(value: Any) -> Any:
    """What tells two values of a parameter apart: 1 and 1.0 are one value, true and 1 are two."""
    return ("list", tuple(map(_same_value, value))) if isinstance(value, list) else (kind_of(value), value)


def shown_value(value: Any) -> str:
    """A value as the spec writes it: true, 'basic', [3, 4]."""
    return str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, str) else str(value)


def _split(text: str) -> list[str]:
    """Split at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


class _Range(NamedTuple):
    start: Decimal
    step: Decimal
    count: int
    whole: bool

    def __len__(self) -> int:
        return self.count


def _entry(part: str) -> _Range | list[Any]:
    """A range, counted but not yet made, or one value as a list of one."""
    matched = _RANGE.fullmatch(part)
    if matched:
        return _range(part, *matched.groups())
    return [_value(part)]


def _range(part: str, start_text: str, stop_text: str, step_text: str | None) -> _Range:
    from decimal import Decimal, InvalidOperation  # imported by the commands that read a range only

    try:
        start, stop, step = Decimal(start_text), Decimal(stop_text), Decimal(step_text or "1")
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise SpecError(f"cannot read the range '{part.strip()}'") from None
    if step <= 0 or stop < start:
        raise SpecError(f"a range is from:to:step with from ≤ to and step > 0, got '{part.strip()}'")
    try:
        count = int((stop - start) // step) + 1
    except ArithmeticError:  # a quotient past decimal's precision: far more than any bound
        count = MAX_SWEEP_POINTS + 1
    if count > MAX_SWEEP_POINTS:
        raise SpecError(f"the range '{part.strip()}' has more than {MAX_SWEEP_POINTS:,} values; "
                        "a sweep takes at most that many points (use a larger step)")
    if not (-MAX_MAGNITUDE <= start and stop <= MAX_MAGNITUDE and step <= MAX_MAGNITUDE):  # compared: abs() of
        # 1e999999999 overflows decimal's context; 1e400 made inf
        raise SpecError(f"the range '{_shown(part)}' goes beyond {MAX_MAGNITUDE:.0e}, the largest value a spec takes")
    whole = all(number == number.to_integral_value() and not set(".eE") & set(text)
                for number, text in ((start, start_text), (step, step_text or "1")))
    return _Range(start, step, count, whole)


def _values(entry: _Range | list[Any]) -> list[Any]:
    if isinstance(entry, list):
        return entry
    values = (entry.start + index * entry.step for index in range(entry.count))
    return [int(value) if entry.whole else float(value) for value in values]


def _value(text: str) -> Any:
    """One value: a number in exponent notation as Python reads it (YAML would take `1e3` for a
    name), else as YAML reads it: a finite number, true/false, a name or a list of those."""
    import yaml

    if NOT_AS_WRITTEN.fullmatch(text.strip()):
        raise not_as_written(text.strip(), yaml.safe_load(text))
    try:
        events = [] if _EXPONENT.fullmatch(text) else list(yaml.parse(text))
        if any(isinstance(event, yaml.AliasEvent) for event in events):
            raise SpecError(f"--set values take no YAML alias ('*name'); got '{_shown(text)}'",
                            hint="write the list out: depths=[3,4,6,3]")  # a list of aliases of aliases is checked for ever
        for event in events:  # in a list too ([4, 010] was [4, 8]), and tagged (!!int "010" was 8)
            if isinstance(event, yaml.ScalarEvent) and NOT_AS_WRITTEN.fullmatch(event.value) \
                    and (event.tag in _NUMBER_TAGS or event.tag is None and event.style is None):  # not text
                read = yaml.safe_load(f"!!{event.tag.rsplit(':', 1)[-1]} {event.value}" if event.tag else event.value)
                if not isinstance(read, str):
                    raise not_as_written(event.value, read)
        value = float(text) if _EXPONENT.fullmatch(text) else yaml.safe_load(text)
        plain = _plain(value)
    except (yaml.YAMLError, RecursionError, ValueError):  # lists nested too deeply or holding themselves;
        plain = False  # ValueError: a whole number of more digits than Python reads
    if not plain:
        raise SpecError(f"--set values are numbers up to {MAX_MAGNITUDE:.0e}, true/false, names or lists like "
                        f"[3, 4, 6, 3]; got '{_shown(text)}'")
    return value


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
"""The tags that make a quoted scalar a number (`!!int "010"`), as YAML reads it."""


def _shown(text: str) -> str:
    """`text` stripped, and cut after 60 characters."""
    text = text.strip()
    return text if len(text) <= 60 else text[:60] + "…"


def _plain(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(value) <= MAX_MAGNITUDE  # nan and inf too
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return isinstance(value, (bool, str)) and value != ""
