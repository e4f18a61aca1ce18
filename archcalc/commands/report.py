"""archcalc report: one markdown document about one or more models."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc import sizes
from archcalc.commands import (INPUT, OUTPUT, VARIANT, ConventionChoice, DtypeChoice, convention_option, dtype_option,
                               emit, format_choices, format_option, parsed)
from archcalc.limits import MAX_DIMENSION

ReportFormat = format_choices("report")


def report(
    specs: list[str] = typer.Argument(..., metavar="SPEC...", help="Spec files or bundled names; several are compared."),
    output: Optional[Path] = OUTPUT,
    variant: Optional[str] = VARIANT,
    input: Optional[str] = INPUT,
    batch: int = typer.Option(1, min=1, max=MAX_DIMENSION, help="Batch size N."),
    convention: ConventionChoice = convention_option(),
    dtype: DtypeChoice = dtype_option(),
    validate: bool = typer.Option(False, "--validate", help="Add the cross-validation against torch (needs torch)."),
    timestamp: bool = typer.Option(False, "--timestamp", help="Say when the report was made (then runs differ)."),
    sweep_sizes: Optional[str] = typer.Option(None, "--sweep", callback=parsed(sizes.parse_size_list),
                                              help="Add the cost against input size: 32:512:32, 224,256, …"),
    format: ReportFormat = format_option(ReportFormat),
) -> Optional[bool]:
    from archcalc.analysis import analyze
    from archcalc.render.registry import render

    models = [analyze(spec, input=input, batch=batch, variant=variant, convention=convention.value,
                      dtype=dtype.value) for spec in specs]
    validations = None
    if validate:  # without timing, so that the report stays the same from run to run
        from archcalc.validation import validate as validate_spec

        validations = [validate_spec(spec, variant=variant, input=input, batch=batch, device="auto",
                                     counter="both", runs=0, warmup=0) for spec in specs]
    sweeps = None
    if sweep_sizes is not None:
        from archcalc.symbolic.sweep import sweep

        sweeps = [sweep(spec, sweep_sizes, [batch], variant=variant, convention=convention.value,
                        dtype=dtype.value) for spec in specs]
    stamp = None
    if timestamp:
        from datetime import datetime, timezone

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    emit(render("report", format.value, models=models, validations=validations, stamp=stamp, sweeps=sweeps),
         output, specs)
    return None if not validations else all(v.ok for v in validations)
