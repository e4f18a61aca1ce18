"""archcalc memory: the peak memory of inference or of a training step, by category, and the
timeline of live memory."""

from __future__ import annotations

from pathlib import Path

from archcalc.commands import INPUT, OUTPUT, VARIANT, Argument, Option, emit, format_option
from archcalc.errors import UsageError
from archcalc.limits import MAX_DIMENSION
from archcalc.memory import DTYPES
from archcalc.training import OPTIMIZERS


def memory(
    spec: str = Argument("SPEC", "A spec file, or a bundled model name (see 'archcalc list')."),
    variant: str | None = VARIANT,
    input: tuple | None = INPUT,
    batch: int = Option(1, "Batch size N.", min=1, max=MAX_DIMENSION),
    dtype: str = Option("float32", "Element type of the weights, buffers and activations.", choices=tuple(DTYPES)),
    train: bool = Option(False, "A training step (forward, backward, the optimizer's step) instead of inference.",
                         ("--train",)),
    optimizer: str | None = Option(None, "With --train: the optimizer (sgd: no momentum; momentum: 0.9, the "
                                   "default; adam; adamw).", choices=tuple(OPTIMIZERS)),
    format: str = format_option("memory"),
    output: Path | None = OUTPUT,
) -> None:
    from archcalc.render.registry import render

    if optimizer and not train:
        raise UsageError("--optimizer is for a training step: add --train", option="--optimizer")
    if train:
        from archcalc.training import analyze_training

        result = analyze_training(spec, input=input, batch=batch, variant=variant, dtype=dtype,
                                  optimizer=optimizer or "momentum")
    else:
        from archcalc.memory import analyze_memory

        result = analyze_memory(spec, input=input, batch=batch, variant=variant, dtype=dtype)
    emit(render("training" if train else "memory", format, result=result), output, [spec])
