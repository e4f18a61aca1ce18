"""The errors a user sees: what is wrong, how to fix it, and the exit code it ends with.

Every one is a `UserError`; the command line catches that one type (archcalc.cli) and prints
`error: MESSAGE` (and `  hint: HINT`) — for a spec error with the source line and a caret under
the spot, for a `UsageError` with the command's usage.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, NamedTuple


class Location(NamedTuple):
    """A position in a spec file (1-based line and column). A named tuple: every key, value and
    item of a spec has one, and a tuple is made in half the time of a frozen dataclass."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def on_one_line(name: str) -> str:
    """A file's name with its line feeds written '\\n': a name may hold one, and must not add lines
    (a forged table row or verdict) to what quotes it."""
    return name.replace("\n", "\\n")


def first_line(error: BaseException) -> str:
    """The first line of what `error` says (torch's, the model's own), or its type's name where it
    says nothing: one line for an error archcalc quotes."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


SOURCES: dict[str, str] = {}
"""The text of each spec read, by the file name its locations carry (archcalc.spec.source fills
it): the line an error shows."""

SHOWN_LINE = 100
"""The characters of a source line shown under an error; a longer line is cut around the spot."""


def source_lines(location: Location) -> str:
    """The source line at `location` and a caret under its column, indented as a hint is:
    '  5 |   - sum: {kind: add}' and '    |     ^'; '' where the text is not known, or the
    line is blank, or the location is 1:1, which stands for the whole file (the file is empty,
    the model too deep)."""
    text = SOURCES.get(location.file)
    if text is None or location.line < 1 or location.column < 1 or location[1:] == (1, 1):
        return ""
    lines = yaml_lines(text)
    line = lines[location.line - 1] if location.line <= len(lines) else ""
    if not line.strip():
        return ""
    column = min(location.column - 1, len(line))
    start = max(0, min(column - SHOWN_LINE // 2, len(line) - SHOWN_LINE))
    shown = line[start:start + SHOWN_LINE]
    shown = "".join(c if c.isprintable() else "\ufffd" if c != "\t" else " " for c in shown)
    left, right = ("…" if start else ""), ("…" if start + SHOWN_LINE < len(line) else "")
    number = str(location.line)
    return (f"  {number} | {left}{shown}{right}\n"
            f"  {' ' * len(number)} | {' ' * (len(left) + column - start)}^")


def _moved(location: Location, offset: int, text: str) -> Location:
    """`location` moved `offset` characters into its value (past an opening quote), where `text`
    stands there; else `location` as it is."""
    lines = yaml_lines(SOURCES.get(location.file, ""))
    line = lines[location.line - 1] if 0 < location.line <= len(lines) else ""
    start = location.column - 1 + (line[location.column - 1:location.column] in ("'", '"'))
    if line[start + offset:start + offset + len(text)] == text:
        return location._replace(column=start + offset + 1)
    return location


EXIT_DIFFERENCE = 1
"""validate, check, report --validate: a figure differs (not an error)."""
EXIT_USER_ERROR = 2
EXIT_MISSING_DEPENDENCY = 3


class UserError(Exception):
    """Something the user can fix: a message, an optional hint and the exit code."""

    exit_code = EXIT_USER_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")

    def report(self) -> str:
        """The text the command line prints: 'error: …' and its hint, ending with a newline."""
        return f"error: {shown_safely(str(self))}\n"


class UsageError(UserError):
    """A command line that does not make sense (printed with the command's usage help).
    `option` names the option or argument at fault, as the usage error shows it."""

    def __init__(self, message: str, *, hint: str | None = None, option: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.option = option


class OutputError(UserError):
    """A file that cannot be written (or must not be: the spec being read)."""


class DeviceError(UserError):
    """The device asked for cannot run the model: CUDA missing, not enough memory."""


class MissingDependency(UserError, ImportError):
    """An optional package (torch, fvcore) is not installed; the message says how to install it."""

    exit_code = EXIT_MISSING_DEPENDENCY


class SpecError(UserError):
    """A spec that cannot be analysed. Carries everything the message needs."""

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        layer: str | None = None,
        hint: str | None = None,
        field: str | None = None,
        spot: tuple[int, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.location = location
        self.layer = layer
        self.field = field
        self.spot = spot
        """Where in the value the mistake is: (its offset in the text, the text there)."""

    def at(self, location: Location | None, layer: str | None = None) -> SpecError:
        """Fill in the location and layer where the raiser did not know them (moved to the
        spot inside the value, where that is found on its line)."""
        if self.location is None:
            self.location = location if location is None or self.spot is None else _moved(location, *self.spot)
        if self.layer is None:
            self.layer = layer
        return self

    def head(self) -> str:
        """'FILE:LINE:COL: layer 'NAME': MESSAGE' (what is known of the place)."""
        where = f"{on_one_line(str(self.location))}: " if self.location is not None else ""
        return where + (f"layer '{self.layer}': " if self.layer else "") + self.message

    def __str__(self) -> str:
        return self.head() + (f"\n  hint: {self.hint}" if self.hint else "")

    def report(self) -> str:
        """'error: FILE:LINE:COL: …', the source line with a caret under the spot, and the hint."""
        shown = source_lines(self.location) if self.location is not None else ""
        return (f"error: {shown_safely(self.head())}\n" + (shown + "\n" if shown else "")
                + (f"  hint: {shown_safely(self.hint)}\n" if self.hint else ""))


YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
"""What YAML counts as the end of a line, and so the lines its marks number (a NEL or a U+2028 in
a comment ended a line for YAML, not for the source line an error showed)."""


def yaml_lines(text: str) -> list[str]:
    """The lines of `text` as YAML numbers them."""
    return YAML_LINE_BREAK.split(text)


HIDDEN = frozenset(("Cc", "Cf", "Zl", "Zp"))
"""The Unicode categories of characters a terminal does not show as themselves: controls (ESC, a
carriage return), format characters (a bidirectional override, a zero-width space) and line and
paragraph separators."""


def hidden(character: str) -> bool:
    """Whether a terminal would act on `character` rather than show it (HIDDEN)."""
    return unicodedata.category(character) in HIDDEN


def shown_safely(text: str) -> str:
    """`text` for a terminal: every hidden character but a line feed written as its escape
    (\\x1b, \\r, \\u202e), so that text quoted from a spec cannot move the cursor, recolour or
    hide the message, or reorder it. A byte of a file's name that is no UTF-8 (held as a
    surrogate) stays, to be written as that byte; a no-break space stays a space."""
    if text.isprintable():
        return text
    return "".join(repr(c)[1:-1] if c != "\n" and hidden(c) else c for c in text)


UNDECODED = re.compile("[\udc80-\udcff]")
"""A byte of a file's name that is no UTF-8, as Python holds it (a lone surrogate)."""


def bytes_escaped(text: str) -> str:
    """`text` with each byte of a file's name that is no UTF-8 written as its escape, \\xff: such a
    byte, written as itself, makes a file no UTF-8, and YAML can neither write nor read it."""
    return UNDECODED.sub(lambda found: f"\\x{ord(found[0]) - 0xDC00:02x}", text)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    import difflib  # only when a name is wrong: it is slow to import

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


NOT_AS_WRITTEN = re.compile(r"[-+]?(?:0[0-9_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)")
"""Numbers YAML 1.1 reads otherwise than they are written: a leading zero is octal (0224 is 148),
and colons make base 60 (1:30 is 90)."""


def not_as_written(text: str, value: object, location: Location | None = None) -> SpecError:
    """The error of a number YAML would read as another (NOT_AS_WRITTEN), in a spec, a baseline or --set."""
    digits = text.lstrip("+-")[:2].lower()
    how = "in base 60" if ":" in text else "in base 16" if digits == "0x" else "in base 2" if digits == "0b" else "as octal"
    if type(value) is int and value.bit_length() > 1000:  # past 4,300 digits Python writes none
        value = f"a whole number of {value.bit_length():,} bits"
        text = text if len(text) <= 60 else text[:60] + "…"
    return SpecError(f"YAML reads {text} {how}, as {value}, not as written", location=location,
                     hint=("write the number without colons" if ":" in text else "write the number without leading zeros")
                     + " (or quote it if it is text)")


class OptionError(UsageError, SpecError):
    """A bad argument that a command line gives as an option (`--variant`): a UsageError there,
    shown with the command's usage; to the Python API, the SpecError its other bad arguments are."""

    def __init__(self, message: str, *, hint: str | None = None, option: str | None = None) -> None:
        SpecError.__init__(self, message, hint=hint)
        self.option = option


class RankError(SpecError):
    """A layer given a map of another rank than it takes (`archcalc.layers.base.spatial`): where the
    input given has another rank than the spec's, the likely cause (`archcalc.analysis`)."""
