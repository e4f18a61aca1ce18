"""The one error type a user ever sees: where, which layer, what is wrong, how to fix it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Location:
    """A position in a spec file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SpecError(Exception):
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
        super().__init__(message)
        self.message = message
        self.location = location
        self.layer = layer
        self.hint = hint
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
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
