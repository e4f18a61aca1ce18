"""Tables fitted to the terminal they print to.

Piped output, and output written with -o or asked for with --wide, keeps its full, stable form:
`WIDTH` stays None and archcalc.render.table writes every table as it always has. On a terminal
(archcalc.cli sets `WIDTH` with `choose`) a table wider than the window is fitted by the steps of
FIT_ORDER, in order, until it fits: a heading there drops that column; NARROW writes the exact
figures short (118,013,952 → 118M). If it is still too wide, its columns wrap onto more
lines, at spaces and at the joins of names, paths, shapes and formulas, never inside a number nor
between a number and its unit (the
column that adds the fewest lines first; a tree's branch whole before its name), and where that
is not enough its columns stand one space apart instead of GAP; then the columns of
LAST_ORDER go, in turn, then a formula's floors and ceilings break at their spaces, then a
table's optional columns go (validate's summary: the figures its verdict sums up), and last, a
column at a time, a cell breaks between any two letters, then writes its formulas' figures short
(archcalc.render.fitting, imported only then). There it stops: a table whose columns are all as
narrow as their widest number or tree branch is left wider than a narrower terminal, which folds it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

WIDTH: int | None = None
"""The columns of the terminal being printed to; None: print in full (a pipe, a file, --wide)."""
HEIGHT: int = 0
"""Its lines: output longer than this goes through $PAGER where one is set."""
STYLED = False
"""Whether the output prints to a terminal, fitted or --wide: only then are rows' styles worked out
(archcalc.render.styles)."""

NARROW = "(narrow numbers)"
FIT_ORDER = ("#", "start", "jump", NARROW, "≈", "share", "temporaries", "buffers", "%", "kind", "change")
"""What goes first when a table is wider than the terminal: these columns, by heading, and at
NARROW the exact figures written short."""

LAST_ORDER = ("device", "layers", "min–max ms", "FLOP/B", "bound", "input grad", "weight grad", "gradients", "activations", "spec", "RF", "after")
"""What goes, in turn, from a table that wrapping as far as it goes leaves wider than the terminal
(a narrow one: 60 columns for `table --rf --train --device-profile`, 46 for `memory --train`)."""

WRAP_FIRST = {"": 24}
"""Columns of prose (check's verdicts) that wrap, down to this width, before any column is dropped."""

GAP = 2
"""Spaces between columns."""


def choose(output: object, wide: bool) -> None:
    """Fit the tables to the terminal when they print to one: stdout a terminal, no --output, no --wide."""
    global WIDTH, HEIGHT, STYLED
    WIDTH, HEIGHT = None, 0
    STYLED = output is None and sys.stdout is not None and sys.stdout.isatty()
    if STYLED and not wide:
        import shutil

        WIDTH, HEIGHT = shutil.get_terminal_size()


def paged(lines: int) -> bool:
    """Whether output of this many lines goes through the pager: on a terminal shorter than it,
    where $PAGER is set."""
    import os

    return WIDTH is not None and lines > HEIGHT and bool(os.environ.get("PAGER"))


def suggest_depth(rows: int, shorter: Callable[[], int]) -> None:
    """On a terminal, a table of more `rows` than its lines gets a hint on stderr: --depth 1 and
    its rows (`shorter()`), where that is fewer (a model of top-level layers alone gets none)."""
    if WIDTH is not None and rows > HEIGHT and (fewer := shorter()) < rows:
        sys.stderr.write(f"hint: {rows} rows, more than the terminal's {HEIGHT} lines: try --depth 1 "
                         f"({fewer} rows)\n")
