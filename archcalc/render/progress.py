"""Progress of long work on stderr. Work on models, a model at a time (`each`): on a terminal,
rich's progress bar with the model and its phase (told through archcalc.progress), and each
model's verdict above it as it finishes; on a pipe, one line per model as it finishes. Work on one
thing (`working`: an import, a measurement of the device): on a terminal, a spinner with its phase
and the time so far, gone when it ends; on a pipe, one line when it is done."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from archcalc import progress
from archcalc.errors import shown_safely
from archcalc.render.styles import FAILED, HOLDS_VERDICT


def each(what: str, names: list[str], work: Callable[[int], Any], check: Callable[[int], Any] | None = None) -> list:
    """`work(index)` for each of the models `names`, in turn, its progress on stderr; each result's
    `ok` is its verdict and its `model` its name (a `Validation`). With `check`, `check(index)` of
    every model first (its refusals before any model's work), its phases shown as the work's."""
    watch = Watch(what, len(names))
    results = []
    try:
        for index, name in enumerate(names if check is not None else []):
            progress.WATCHER = lambda text, name=name: watch.show(f"{name}: {text}")
            watch.show(f"{name}: checking")
            check(index)
        for index, name in enumerate(names):
            started = time.perf_counter()
            progress.WATCHER = lambda text, name=name: watch.show(f"{name}: {text}")
            watch.show(name)
            results.append(work(index))
            watch.finished(results[-1].model, results[-1].ok, time.perf_counter() - started)
    finally:
        progress.WATCHER = progress.nobody
        if watch.bar is not None:
            watch.bar.stop()
    return results


@contextmanager
def working(what: str) -> Iterator[None]:
    """Work on one thing, `what` ('import torch'), its phases shown on a terminal's stderr."""
    if not sys.stderr.isatty():
        started = time.perf_counter()
        yield
        sys.stderr.write(f"{what}: done ({time.perf_counter() - started:.1f} s)\n")
        sys.stderr.flush()
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    spinner = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                       console=Console(stderr=True), transient=True)
    task = spinner.add_task(_plain(what), total=None)
    progress.WATCHER = lambda text: spinner.update(task, description=_plain(f"{what}: {text}"))
    spinner.start()
    try:
        yield
    finally:
        progress.WATCHER = progress.nobody
        spinner.stop()


class Watch:
    """The progress of `total` models of `what` work: a rich progress bar on a terminal, lines on a pipe."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.done, self.bar = what, total, 0, None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task(_plain(what), total=total)
            self.bar.start()

    def show(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=_plain(f"{self.what} {text}"))

    def finished(self, name: str, ok: bool, seconds: float) -> None:
        self.done += 1
        line = f"{'✓' if ok else '✗'} {name} {'agrees' if ok else 'differs'} ({seconds:.1f} s)"
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
            self.bar.console.print(shown_safely(line), style=HOLDS_VERDICT if ok else FAILED, highlight=False,
                                   markup=False)
        else:
            sys.stderr.write(f"{self.what} {self.done}/{self.total}: {line}\n")
            sys.stderr.flush()


def _plain(text: str) -> str:
    """`text` (a model's name, a spec's path) as rich's columns show it: its brackets not read as
    markup (a name '[bold red]x[/]' recoloured the bar, 'x [/] y' raised), its hidden characters escaped."""
    from rich.markup import escape

    return escape(shown_safely(text))
