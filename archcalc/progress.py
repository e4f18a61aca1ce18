"""Where long work is: a phase of it, told to whoever watches (archcalc.render.progress, set by the
commands that run long work); nobody by default, so that the library says nothing."""

from __future__ import annotations

from collections.abc import Callable


def nobody(text: str) -> None:
    """No one watching: the library says nothing."""


WATCHER: Callable[[str], None] = nobody
"""Told each phase as it begins ('building the model in torch')."""


def phase(text: str) -> None:
    """Say that a phase of the work begins."""
    WATCHER(text)
