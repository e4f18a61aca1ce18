"""archcalc sweep: a model's totals at many input sizes."""

from __future__ import annotations

from pathlib import Path

from archcalc import sizes
from archcalc.commands import CONVENTION, DTYPE, OUTPUT, REQUIRED, VARIANT, Argument, Option, emit, format_option
from archcalc.errors import SpecError, UsageError
from archcalc.limits import MAX_SWEEP_POINTS


def sweep(
    spec: str = Argument("SPEC", "A spec file, or a bundled model name."),
    size: list = Option(REQUIRED, "Input sizes: 32:512:32 (from:to:step, both ends included), 224,256 or 224x320 "
                        "(HxW). A size is the length L of a 1-D input (C×L), else height and width; a 3-D input "
                        "(C×D×H×W) keeps the spec's depth D.", ("--size",), parse=sizes.parse_sweep_sizes),
    batch: list = Option("1", f"Batch sizes: 1, 1,8,32 or 1:64:8 (at most {MAX_SWEEP_POINTS:,} sizes × batch sizes).",
                         ("--batch",), parse=sizes.parse_batch_list),
    variant: str | None = VARIANT,
    convention: str = CONVENTION,
    dtype: str = DTYPE,
    format: str = format_option("sweep"),
    output: Path | None = OUTPUT,
) -> None:
    try:  # each list alone was counted as it was parsed; here, the two together
        sizes.check_sweep_points(len(size), len(batch))
    except SpecError as error:
        raise UsageError(error.message, option="'--size' / '--batch'") from None
    from archcalc.render.registry import render
    from archcalc.symbolic.sweep import sweep as sweep_spec

    result = sweep_spec(spec, size, batch, variant=variant, convention=convention, dtype=dtype)
    emit(render("sweep", format, result=result), output, [spec])
