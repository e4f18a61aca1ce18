"""archcalc memory: the peak memory of inference or of a training step, by category, and the
timeline of live memory; with a symbolic batch (or --fit), the peak as a formula in the batch and
the largest batch that fits."""

from __future__ import annotations

from pathlib import Path

from archcalc import sizes
from archcalc.commands import INPUT, OUTPUT, VARIANT, WIDE, Argument, Option, emit, format_option
from archcalc.errors import UsageError
from archcalc.memory import ALLOCATORS, DTYPES
from archcalc.training import OPTIMIZERS


def memory(
    spec: str = Argument("SPEC", "A spec file, or a bundled model name (see 'archcalc list')."),
    variant: str | None = VARIANT,
    input: tuple | None = INPUT,
    batch: int | str | None = Option(None, "Batch size: a number (default 1), or a symbol such as N for the peak "
                                     "as a formula in it.", type=str, parse=sizes.parse_batch),
    dtype: str = Option("float32", "Element type of the weights, buffers and activations.", choices=tuple(DTYPES)),
    fit: int | None = Option(None, "The largest batch whose peak fits in this much memory: 24GiB, 16GB, 512MiB, "
                             "or bytes.", type=str, parse=sizes.parse_bytes),
    allocator: str = Option("exact", "How each tensor's bytes are counted: exact (the CPU, MemTracker) or cuda (rounded "
                            "up to a multiple of 512, as torch's CUDA caching allocator does; with --train, dropout's "
                            "mask of one byte per element, as CUDA's kernel keeps it).",
                            choices=tuple(ALLOCATORS)),
    train: bool = Option(False, "A training step (forward, backward, the optimizer's step) instead of inference.",
                         ("--train",)),
    optimizer: str | None = Option(None, "With --train: the optimizer (sgd: no momentum; momentum: 0.9, the "
                                   "default; adam; adamw).", choices=tuple(OPTIMIZERS)),
    format: str = format_option("memory"),
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> None:
    from archcalc.render.registry import render

    if optimizer and not train:
        raise UsageError("--optimizer is for a training step: add --train", option="'--optimizer'")
    if isinstance(batch, int) and fit is not None:
        raise UsageError("--fit finds the batch: leave out --batch, or give it as a symbol such as N",
                         option="'--fit'")
    if fit is not None and format == "csv":
        raise UsageError("--fit's answer is one batch, which the CSV (a line per piece of the formula) has no "
                         "place for", option="'--fit'", hint="use the table or --format json, which give both")
    formula = isinstance(batch, str) or fit is not None  # the peak as a formula in the batch
    if formula and allocator != "exact":
        raise UsageError("a rounded size is not a line in the batch: the formula and --fit count bytes exactly; "
                         "give --batch as a number, or leave out --allocator", option="'--allocator'")
    optimizer = (optimizer or "momentum") if train else None
    if formula:
        from archcalc.memory import memory_formula

        result = memory_formula(spec, input=input, variant=variant, dtype=dtype, symbol=batch or "N",
                                optimizer=optimizer)
        emit(render("memory_formula", format, result=result,
                    fit=None if fit is None else result.formula.fit(fit)), output, [spec])
        return
    if train:
        from archcalc.training import analyze_training

        result = analyze_training(spec, input=input, batch=batch or 1, variant=variant, dtype=dtype,
                                  optimizer=optimizer, allocator=allocator)
        emit(render("training", format, result=result), output, [spec])
        return
    from archcalc.memory import analyze_memory

    result = analyze_memory(spec, input=input, batch=batch or 1, variant=variant, dtype=dtype, allocator=allocator)
    emit(render("memory", format, result=result), output, [spec])
