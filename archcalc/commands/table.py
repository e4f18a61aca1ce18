"""archcalc table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc import sizes
from archcalc.commands import (OUTPUT, SYMBOLIC_INPUT, VARIANT, ConventionChoice, DtypeChoice, convention_option,
                               dtype_option, emit, format_choices, format_option, parsed)
from archcalc.errors import UsageError

TableFormat = format_choices("table")


def table(
    spec: str = typer.Argument(..., metavar="SPEC", help="A spec file, or a bundled model name (see 'archcalc list')."),
    variant: Optional[str] = VARIANT,
    input: Optional[str] = SYMBOLIC_INPUT,
    batch: str = typer.Option("1", callback=parsed(sizes.parse_batch), help="Batch size: a number, or a symbol such as N."),
    depth: Optional[int] = typer.Option(None, min=1, help="Sum blocks deeper than this many name parts."),
    convention: ConventionChoice = convention_option(),
    format: TableFormat = format_option(TableFormat),
    dtype: DtypeChoice = dtype_option(),
    rf: bool = typer.Option(False, "--rf", help="Add each layer's receptive field: size, jump and start."),
    output: Optional[Path] = OUTPUT,
) -> None:
    from archcalc.analysis import analyze

    stats = analyze(spec, input=input, batch=batch, variant=variant, convention=convention.value, dtype=dtype.value)
    if rf and stats.receptive_fields is None:  # a symbolic batch or channel count leaves them known
        raise UsageError("receptive fields need whole-number sizes: give the height and width as numbers "
                         "(--input 3x224x224 or Cx224x224), or leave out --rf", option="'--rf'")
    from archcalc.render.registry import render

    emit(render("table", format.value, stats=stats, rows=stats.rows(depth), depth=depth, rf=rf), output, [spec])
