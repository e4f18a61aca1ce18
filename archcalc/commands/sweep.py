"""archcalc sweep: a model's totals at many input sizes, and over its own parameters."""

from __future__ import annotations

from pathlib import Path

from archcalc import sizes
from archcalc.commands import (
    CONVENTION,
    DTYPE,
    OUTPUT,
    REQUIRED,
    SETTINGS,
    VARIANT,
    WIDE,
    Argument,
    Option,
    emit,
    format_option,
)
from archcalc.errors import SpecError, UsageError
from archcalc.limits import MAX_SWEEP_POINTS


def _limit(figure: str, examples: str = "25000000, 25M, 4.1G, 512MiB", parse=sizes.parse_count) -> Option:
    return Option(None, f"Keep only the points with at most this many {figure}: {examples}.", parse=parse)


def sweep(
    spec: str = Argument("SPEC", "A spec file, or a bundled model name."),
    size: list = Option(REQUIRED, "Input sizes: 32:512:32 (from:to:step, both ends included), 224,256 or 224x320 "
                        "(HxW). A size is the length L of a 1-D input (C×L), else height and width; a 3-D input "
                        "(C×D×H×W) keeps the spec's depth D.", ("--size",), parse=sizes.parse_sweep_sizes,
                        joined=True),
    batch: list = Option("1", f"Batch sizes: 1, 1,8,32 or 1:64:8 (at most {MAX_SWEEP_POINTS:,} sizes × batch sizes).",
                         ("--batch",), parse=sizes.parse_batch_list, joined=True),
    settings: list | None = SETTINGS,
    max_params: int | None = _limit("parameters"),
    max_macs: int | None = _limit("MACs"),
    max_activation_bytes: int | None = _limit("bytes of activations", "25000000, 25M, 25MB, 512MiB",
                                              sizes.parse_byte_limit),
    pareto: str | None = Option(None, "Keep the Pareto front of this cost against the other figure: macs, the most "
                                "parameters for their MACs; params, the most MACs for their parameters (a point "
                                "goes when another of the same batch size costs no more and has no less).",
                                ("--pareto",), choices=("macs", "params")),
    variant: str | None = VARIANT,
    convention: str = CONVENTION,
    dtype: str = Option("float32", "Element type for activation memory.", choices=DTYPE.choices),
    format: str = format_option("sweep"),
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> None:
    try:  # each list alone was counted as it was parsed; here, the two together
        sizes.check_sweep_points(len(size), len(batch))
    except SpecError as error:
        raise UsageError(error.message, option="'--size' / '--batch'") from None
    from archcalc.render.registry import render
    from archcalc.sweep import select
    from archcalc.sweep import sweep as sweep_spec

    result = sweep_spec(spec, size, batch, variant=variant, convention=convention, dtype=dtype, settings=settings or ())
    result = select(result, max_params, max_macs, max_activation_bytes, pareto)
    emit(render("sweep", format, result=result), output, [spec])
