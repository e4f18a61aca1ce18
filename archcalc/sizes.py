"""Sizes as text, one grammar for every command: shapes, batch sizes, lists of sizes, and back.

A shape is sizes joined by `x`, `×` or `,`, with spaces allowed around them: `3x224x224`,
`3×224×224`, `3,224,224`, `3 x 224 x 224`. A capital `X` joins sizes too where none of those
does (`3X224X224`, `3XHXW`); a symbol with an X in it (`HX`) is written with `x` between sizes.
Each size is a whole number from 1 to MAX_DIMENSION, or, where the command allows it, a symbol:
capital letters, digits and `_`, starting with a letter (N, H, W, H2).

A list of sizes (`sweep --size`, `report --sweep`) is entries joined by `,`, each a size, an
HxW pair or a range from:to[:step] (both ends included); it is counted from the ranges' ends and
steps before it is built, and more than MAX_SWEEP_POINTS sizes are refused.

This module sits at the bottom beside `errors` and `limits` and imports nothing else at load:
the formula printer for symbolic sizes is registered by `archcalc.symbolic` (FORMULA_TEXT).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable  # noqa: UP035 - tests/test_boundary.py holds the imports to typing

from archcalc.errors import Location, SpecError
from archcalc.limits import MAX_DIMENSION, MAX_SWEEP_POINTS

SYMBOL = re.compile(r"[A-Z][A-Z0-9_]*")
"""A symbolic size: capital letters, digits and '_', starting with a letter (N, H, W, H2)."""

_SEPARATOR = re.compile(r"\s*[x×,]\s*")
_CAPITAL_X = re.compile(r"\s*X\s*")
_NUMBER = re.compile(r"[0-9]+")
_RANGE = re.compile(r"([0-9]+):([0-9]+)(?::([0-9]+))?")

FORMULA_TEXT: Callable[[Any], str] | None = None
"""How a size that is a formula is written for people (⌊H/2⌋); set by `archcalc.symbolic`."""


def whole_number(text: str) -> int | None:
    """The number `text` writes in ASCII digits alone, the one way archcalc reads a whole number
    from text (Python's int() also reads '1_0', '+3', ' 3' and other scripts' digits, '٣'); None
    for any other text. More digits than any bound of archcalc's allows are read as MAX_DIMENSION
    + 1 (`_number`): Python refuses to convert more than 4,300."""
    return _number(text) if _NUMBER.fullmatch(text) else None


def is_symbol(text: Any) -> bool:
    return isinstance(text, str) and bool(SYMBOL.fullmatch(text))


def split(text: str) -> list[str]:
    """'3x224x224', '3×224×224', '3,224,224', '3 x 224 x 224' or '3X224X224' → its sizes' texts."""
    text = text.strip()
    parts = _SEPARATOR.split(text)
    if len(parts) == 1 and not is_symbol(text):
        parts = _CAPITAL_X.split(text)
    return parts


def _sizes(value: Any, symbols: bool) -> list | None:
    """The sizes of a shape given as text or a list: whole numbers, symbols (where allowed) and
    None for anything else; None when it is neither text nor a list."""
    parts = split(value) if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)):
        return None
    sizes = []
    for part in parts:
        if (whole := integer(part)) is not None:  # numpy's too, as a batch and a sweep's sizes take them
            sizes.append(whole)
        elif isinstance(part, str) and _NUMBER.fullmatch(part.strip()):
            sizes.append(_number(part.strip()))
        elif symbols and is_symbol(part):
            sizes.append(part)
        else:
            sizes.append(None)
    return sizes


INPUT_FORMS = "C×L, C×H×W or C×D×H×W"
"""The inputs a spec can have: channels and one, two or three spatial sizes."""


def parse_input(value: Any, *, symbols: bool = False, location: Location | None = None) -> tuple:
    """An input as text ('3x224x224') or a list ([3, 224, 224]) → (3, 224, 224): channels and
    one, two or three spatial sizes (C×L, C×H×W, C×D×H×W).

    With `symbols`, a size may be a symbol: '3xHxW' → (3, 'H', 'W'). SpecError otherwise.
    """
    sizes = _sizes(value, symbols)
    if symbols and sizes and any(isinstance(size, str) for size in sizes):
        numbers = [size for size in sizes if isinstance(size, int)]
        if not 2 <= len(sizes) <= 4 or None in sizes or not all(1 <= n <= MAX_DIMENSION for n in numbers):
            raise SpecError(f"input must be channels and 1 to 3 sizes ({INPUT_FORMS}), each a whole number "
                            f"from 1 to {MAX_DIMENSION:,} or a symbol, like 3xHxW, got {value!r}", location=location,
                            hint="symbols are capital letters, digits and _, starting with a letter")
        return tuple(sizes)
    if not sizes or not 2 <= len(sizes) <= 4 or None in sizes or min(sizes) < 1:
        raise SpecError(f"input must be channels and 1 to 3 sizes ({INPUT_FORMS}), like 3x224x224, got {value!r}",
                        location=location, hint="write it as [3, 224, 224] or 3x224x224")
    if max(sizes) > MAX_DIMENSION:
        beyond = isinstance(value, str) and any(len(part.strip().lstrip("0")) > _DIGITS_READ for part in split(value))
        raise SpecError(f"input {shortened(value) if beyond else format_shape(sizes)} has a size above "
                        f"{MAX_DIMENSION:,}", location=location,
                        hint="sizes are limited to 2³¹ − 1 (docs/spec.md, Limits)")
    return tuple(sizes)


def parse_dims(text: str | tuple, what: str = "--input") -> tuple[int, ...]:
    """'227', '227x227' or '3x227x227' (a tuple passes through the same checks) → whole numbers ≥ 1."""
    sizes = _sizes(text, symbols=False) or []
    if not sizes or len(sizes) > 3 or None in sizes or min(sizes) < 1 or max(sizes) > MAX_DIMENSION:
        raise SpecError(f"{what} must be N, HxW or CxHxW with whole numbers from 1 to {MAX_DIMENSION:,}, "
                        f"got {shortened(str(text), quoted=True)}")
    return tuple(sizes)


def parse_pair(text: str, what: str) -> int | list[int]:
    """'3' → 3, '3x5' → [3, 5]: a layer field given on the command line (the layer checks the
    numbers as it checks a spec's fields)."""
    parts = split(text)
    if not 1 <= len(parts) <= 2 or not all(re.fullmatch(r"-?[0-9]+", part) for part in parts):
        raise SpecError(f"{what} takes a whole number or HxW, got {shortened(text, quoted=True)}")
    if any(len(part.lstrip("-").lstrip("0")) > len(str(MAX_DIMENSION)) for part in parts):
        raise SpecError(f"{what} takes whole numbers of at most {len(str(MAX_DIMENSION))} digits (up to "
                        f"{MAX_DIMENSION:,}), got {shortened(text, quoted=True)}")
    numbers = [-_number(part[1:]) if part.startswith("-") else _number(part) for part in parts]  # 5,000 zeros and a 3
    return numbers[0] if len(numbers) == 1 else numbers


def parse_batch(value: Any, *, symbols: bool = True) -> int | str:
    """A batch size: a whole number from 1 to 2³¹ − 1 (an integer, or its digits as text), or
    (with `symbols`) a symbol such as N. A bool or a float, even 2.0, is refused: SpecError."""
    text = value.strip() if isinstance(value, str) else None
    if symbols and text is not None and is_symbol(text):
        return text
    if text is None:
        number = integer(value)
    else:
        number = _number(text) if _NUMBER.fullmatch(text) else None
    if number is None or not 1 <= number <= MAX_DIMENSION:
        symbol = " or a symbol such as N" if symbols else ""
        raise SpecError(f"the batch size must be a whole number from 1 to {MAX_DIMENSION:,}{symbol}, got {value!r}")
    return number


def integer(value: Any) -> int | None:
    """An integer of any integer type (int, numpy's, sympy's) but bool; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        return int(value.__index__())
    except (AttributeError, TypeError):
        return None


def parse_size_list(text: str) -> list[tuple[int, int]]:
    """'32:512:32' (from:to:step, both ends included, the end where a step lands on it: 32:100:32 is
    32, 64, 96; step 1 if left out), '224,256', '224x320' or a mix → [(h, w)]. Counted before it is built: more than MAX_SWEEP_POINTS is refused."""
    return [pair for entry in _size_entries(text, "size") for pair in _pairs(entry)]


def parse_sweep_sizes(text: str) -> list[int | tuple[int, int]]:
    """A size list as written: each size a number, each HxW pair a tuple ('8,16:32:16,24x32' →
    [8, 16, 32, (24, 32)]), so that a sweep of a 1-D input can refuse pairs. Counted first, as
    parse_size_list."""
    found = [size for entry in _size_entries(text, "size") for size in entry]
    given_once(found, "size", key=lambda size: (size, size) if isinstance(size, int) else size,
               shown=lambda size: str(size) if isinstance(size, int) else f"{size[0]}x{size[1]}")
    return found


def parse_batch_list(text: str) -> list[int]:
    """'1', '1,8,32' or '1:64:8' → batch sizes (at most MAX_SWEEP_POINTS, counted first)."""
    if not all(_NUMBER.fullmatch(part.strip()) or _RANGE.fullmatch(part.strip()) for part in text.split(",")):
        raise SpecError(f"batch sizes are whole numbers like 1, 1,8,32 or 1:64:8 (a symbolic batch, --batch N, is "
                        f"table's and memory's), got '{text}'")
    found = [n for entry in _size_entries(text, "batch size") for n, _ in _pairs(entry)]
    given_once(found, "batch size")
    return found


def given_once(values: Iterable[Any], what: str, key: Callable[[Any], Any] = lambda value: value,
               shown: Callable[[Any], str] = str, of: str = "") -> None:
    """SpecError for a value of a sweep's list given more than once (`key` tells two values
    apart: 32 is the size 32x32), whose point would be computed, and printed, twice."""
    first: dict[Any, Any] = {}
    for value in values:
        earlier = first.get(key(value), _NONE)
        if earlier is not _NONE:
            also = "" if shown(earlier) == shown(value) else f" (as {shown(earlier)} and as {shown(value)})"
            raise SpecError(f"the {what} {shown(value)}{of} is given more than once{also}: give each {what} once")
        first[key(value)] = value


_NONE = object()


_COUNT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(K|M|G|T|P|E|KiB|MiB|GiB|TiB|PiB|EiB)?")
_UNIT = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
         "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50, "EiB": 2**60}


def parse_count(text: str) -> int:
    """A count as people write it, whole after its unit: '25000000', '25M', '4.1G' (decimal
    K, M, G, T, P, E as tables print them) or '512MiB' (binary KiB … EiB) → an int."""
    matched = _COUNT.fullmatch(text.strip())
    value = _exactly(matched[1], _UNIT.get(matched[2], 1)) if matched and len(matched[1]) <= 30 else None
    if value is None or value != value.to_integral_value():
        raise SpecError(f"a count is a whole number, optionally with K, M, G, T, P, E (10³ …) or KiB … EiB "
                        f"(2¹⁰ …), like 25M, 4.1G or 512MiB; got '{text}'")
    return int(value)


_BYTES = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)")
BYTE_UNITS = {"": 1, "B": 1, "bytes": 1, **{f"{prefix}B": unit for prefix, unit in _UNIT.items() if "i" not in prefix},
              **_UNIT}
"""A memory size's units: B; KB … EB and K … E (as tables print counts), 10³ …; KiB … EiB, 2¹⁰ …"""


def parse_bytes(text: str, least: int = 1) -> int:
    """An amount of memory as people write it, whole in bytes: '24GiB', '24 GB', '24G', '1.5GiB',
    '512MiB', '1000000' or '1000000B' → an int (GB, G, MB, M are 10⁹, 10⁹, 10⁶, 10⁶; GiB, MiB 2³⁰,
    2²⁰), at least `least`."""
    matched = _BYTES.fullmatch(text.strip())
    unit = BYTE_UNITS.get(matched[2]) if matched and len(matched[1]) <= 30 else None
    value = _exactly(matched[1], unit) if unit is not None else None
    if value is None or value != value.to_integral_value() or value < least:
        raise SpecError(f"a memory size is a whole number of bytes ≥ {least}, optionally with a unit: B, KB … EB "
                        f"or K … E (10³ …), or KiB … EiB (2¹⁰ …), like 24GiB, 16GB, 16G or 1.5GiB; got '{text}'")
    return int(value)


def parse_byte_limit(text: str) -> int:
    """A limit on bytes, as parse_bytes takes a memory size, 0 included."""
    return parse_bytes(text, least=0)


def _exactly(number: str, unit: int):
    """`number` (at most 30 characters) times `unit` (at most 2⁶⁰) as an exact Decimal: decimal's
    default precision of 28 digits rounded 99999999999999999999999999EiB to …998,800,000,000,… bytes."""
    from decimal import Decimal, localcontext

    with localcontext(prec=64):
        return Decimal(number) * unit


def check_sweep_points(sizes: int, batches: int) -> None:
    """Refuse a sweep of more than MAX_SWEEP_POINTS points: `sizes` input sizes × `batches`."""
    if sizes * batches > MAX_SWEEP_POINTS:
        raise SpecError(f"{sizes:,} sizes × {batches:,} batch sizes give {sizes * batches:,} points; a sweep "
                        f"takes at most {MAX_SWEEP_POINTS:,} (use a larger step)")


def _size_entries(text: str, what: str) -> list[range | list[int] | list[tuple[int, int]]]:
    """The entries of a size list, a range kept as a range: their sizes are counted, with
    arithmetic, before any list of them is made. `what` names one of them: 'size', 'batch size'."""
    entries = [_size_entry(part.strip(), what) for part in text.split(",")]
    count = sum(len(entry) for entry in entries)
    if count > MAX_SWEEP_POINTS:
        raise SpecError(f"{count:,} {what}s; a sweep takes at most {MAX_SWEEP_POINTS:,} (use a larger step)")
    return entries


def _size_entry(part: str, what: str) -> range | list[int] | list[tuple[int, int]]:
    """One entry of a size list: 'from:to[:step]' as a range, a size as [n], an HxW pair as [(h, w)]."""
    matched = _RANGE.fullmatch(part)
    if matched:
        start, stop, step = (_number(p) if p else None for p in matched.groups())
        if step == 0 or stop < start:
            raise SpecError(f"a range is from:to:step with from ≤ to and step ≥ 1, got '{part}'")
        entry = range(start, stop + 1, step or 1)
        _check_sizes(what, entry[0], entry[-1])
        return entry
    dims = split(part) if part else [""]
    if not (1 <= len(dims) <= 2 and all(_NUMBER.fullmatch(d) for d in dims)):
        raise SpecError(f"sizes are like 32:512:32, 224,256 or 224x320, got '{part}'")
    height, width = _number(dims[0]), _number(dims[-1])
    _check_sizes(what, height, width)
    return [height] if len(dims) == 1 else [(height, width)]


def _pairs(entry: range | list[int] | list[tuple[int, int]]) -> Iterable[tuple[int, int]]:
    """The (h, w) of an entry: (n, n) for a single size."""
    return ((n, n) if isinstance(n, int) else n for n in entry)


def _check_sizes(what: str, *sizes: int) -> None:
    if not all(1 <= size <= MAX_DIMENSION for size in sizes):
        raise SpecError(f"each {what} must be from 1 to {MAX_DIMENSION:,}")


SHOWN_CHARACTERS = 20
"""The characters of a refused text an error shows (a size or an option of 5,000 digits was
echoed whole, a 5 KB line)."""


def shortened(text: str, quoted: bool = False) -> str:
    """A refused text as an error shows it: its first SHOWN_CHARACTERS where it is longer."""
    if len(text) <= SHOWN_CHARACTERS:
        return repr(text) if quoted else text
    start = repr(text[:SHOWN_CHARACTERS]) if quoted else text[:SHOWN_CHARACTERS]
    return f"{start}… ({len(text):,} characters)"


_DIGITS_READ = 19
"""The most digits (leading zeros aside) of a number read as it is written; more are read as MAX_DIMENSION + 1."""


def _number(digits: str) -> int:
    """Digits as an int; more digits than any size has as MAX_DIMENSION + 1 (too large), not
    converted: Python refuses to convert more than 4,300 digits."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _DIGITS_READ else MAX_DIMENSION + 1


def format_shape(shape, sep: str = "×") -> str:
    """(1, 64, 112, 112) → '1×64×112×112'; a size that is a formula is written as a person
    reads it, in brackets when it is a sum: 1×6×(H - 4)×⌊H/2⌋."""
    return sep.join([size_text(size) for size in shape])


def within_size_limit(shape: tuple[int, ...]) -> tuple[int, ...]:
    """`shape`, an output whose every size is at most 2³¹ − 1; SpecError otherwise."""
    if max(shape) > MAX_DIMENSION:
        raise SpecError(f"the output {format_shape(shape)} has a size above {MAX_DIMENSION:,}",
                        hint="sizes are limited to 2³¹ − 1 (docs/spec.md, Limits); check the field values")
    return shape


def size_text(size: Any) -> str:
    if isinstance(size, (int, str)):
        return str(size)
    text = FORMULA_TEXT(size)  # a formula exists only once archcalc.symbolic has set the printer
    return f"({text})" if getattr(size, "is_Add", False) else text


BINARY_UNITS = ((2**60, "EiB"), (2**50, "PiB"), (2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))
"""The binary prefixes bytes are written with, largest first."""


def human_bytes(n: int) -> str:
    """Bytes with binary prefixes, to one decimal, rounded before the prefix is chosen:
    44040192 → '42.0 MiB', 1048572 → '1.0 MiB' (not '1024.0 KiB'); under 1 KiB exact: '1023 B'."""
    for size, unit in BINARY_UNITS:
        if n >= size or (size > 2**10 and round(n / size, 1) >= 1):
            return f"{n / size:,.1f} {unit}"
    return f"{n} B"
