"""The errors a user sees: what is wrong, how to fix it, and the exit code it ends with.

Every one is a `UserError`; the command line catches that one type (archcalc.cli) and prints
`error: MESSAGE` (and `  hint: HINT`), or, for a `UsageError`, the command's usage help.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple


class Location(NamedTuple):
    """A position in a spec file (1-based line and column). A named tuple: every key, value and
    item of a spec has one, and a tuple is made in half the time of a frozen dataclass."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


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
    ) -> None:
        super().__init__(message, hint=hint)
        self.location = location
        self.layer = layer
        self.field = field

    def at(self, location: Location | None, layer: str | None = None) -> SpecError:
        """Fill in the location and layer where the raiser did not know them."""
        if self.location is None:
            self.location = location
        if self.layer is None:
            self.layer = layer
        return self

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(f"{self.location}: ")
        if self.layer:
            parts.append(f"layer '{self.layer}': ")
        parts.append(self.message)
        text = "".join(parts)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    import difflib  # only when a name is wrong: it is slow to import

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
