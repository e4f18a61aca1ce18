"""archcalc memory: the inference peak of a model, by category, and the timeline of live memory."""

from __future__ import annotations

from pathlib import Path

from archcalc.commands import INPUT, OUTPUT, VARIANT, Argument, Option, emit, format_option
from archcalc.limits import MAX_DIMENSION
from archcalc.memory import DTYPES


def memory(
    spec: str = Argument("SPEC", "A spec file, or a bundled model name (see 'archcalc list')."),
    variant: str | None = VARIANT,
    input: tuple | None = INPUT,
    batch: int = Option(1, "Batch size N.", min=1, max=MAX_DIMENSION),
    dtype: str = Option("float32", "Element type of the weights, buffers and activations.", choices=tuple(DTYPES)),
    format: str = format_option("memory"),
    output: Path | None = OUTPUT,
) -> None:
    from archcalc.memory import analyze_memory
    from archcalc.render.registry import render

    result = analyze_memory(spec, input=input, batch=batch, variant=variant, dtype=dtype)
    emit(render("memory", format, result=result), output, [spec])
