"""archcalc sweep: a model's totals at many input sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc import sizes
from archcalc.commands import (OUTPUT, VARIANT, ConventionChoice, DtypeChoice, convention_option, dtype_option, emit,
                               format_choices, format_option, parsed)
from archcalc.errors import SpecError, UsageError
from archcalc.limits import MAX_SWEEP_POINTS

SweepFormat = format_choices("sweep")


def sweep(
    spec: str = typer.Argument(..., metavar="SPEC", help="A spec file, or a bundled model name."),
    size: str = typer.Option(..., "--size", callback=parsed(sizes.parse_size_list),
                             help="Input sizes: 32:512:32 (from:to:step, both ends included), 224,256 or 224x320."),
    batch: str = typer.Option("1", "--batch", callback=parsed(sizes.parse_batch_list),
                              help=f"Batch sizes: 1, 1,8,32 or 1:64:8 (at most {MAX_SWEEP_POINTS:,} sizes × batch sizes)."),
    variant: Optional[str] = VARIANT,
    convention: ConventionChoice = convention_option(),
    dtype: DtypeChoice = dtype_option(),
    format: SweepFormat = format_option(SweepFormat),
    output: Optional[Path] = OUTPUT,
) -> None:
    try:  # each list alone was counted as it was parsed; here, the two together
        sizes.check_sweep_points(len(size), len(batch))
    except SpecError as error:
        raise UsageError(error.message, option="'--size' / '--batch'") from None
    from archcalc.render.registry import render
    from archcalc.symbolic.sweep import sweep as sweep_spec

    result = sweep_spec(spec, size, batch, variant=variant, convention=convention.value, dtype=dtype.value)
    emit(render("sweep", format.value, result=result), output, [spec])
