"""archcalc validate: the real torch model against the figures."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Optional

import typer

from archcalc.commands import INPUT, OUTPUT, VARIANT, choices, emit, format_choices, format_option
from archcalc.errors import UsageError
from archcalc.limits import MAX_DIMENSION
from archcalc.validation import COUNTERS, DEVICES

DeviceChoice = choices("DeviceChoice", DEVICES)
CounterChoice = choices("CounterChoice", COUNTERS)
ValidationFormat = format_choices("validation")


def validate(
    spec: Optional[str] = typer.Argument(None, metavar="[SPEC]", help="A spec file or bundled model name."),
    all_models: bool = typer.Option(False, "--all", help="Validate every bundled model."),
    variant: Optional[str] = VARIANT,
    input: Optional[str] = INPUT,
    batch: int = typer.Option(1, min=1, max=MAX_DIMENSION, help="Batch size N."),
    device: DeviceChoice = typer.Option(DeviceChoice("auto"), help="auto takes cuda where available; "
                                        "meta allocates no weights and counts with FlopCounterMode only."),
    counter: CounterChoice = typer.Option(CounterChoice("both"), help="fvcore, torch (FlopCounterMode) or both."),
    format: ValidationFormat = format_option(ValidationFormat),
    runs: int = typer.Option(10, min=0, help="Timed forward passes for the latency (0: no timing)."),
    warmup: int = typer.Option(2, min=0, help="Untimed forward passes before them."),
    output: Optional[Path] = OUTPUT,
) -> bool:
    from archcalc.render.registry import render
    from archcalc.validation import validate as validate_spec

    gc.enable()  # building and running torch models takes seconds: the collector is back on for it

    if all_models == (spec is not None):
        raise UsageError("give one SPEC, or --all for every bundled model", option="SPEC")
    if all_models and variant:
        raise UsageError("--variant picks one model; it cannot go with --all", option="--variant")
    if all_models:
        from archcalc.spec import bundled

        specs = [(str(entry.path), entry.variant) for entry in bundled()]
    else:
        specs = [(spec, variant)]
    results = [validate_spec(path, variant=chosen, input=input, batch=batch, device=device.value,
                             counter=counter.value, runs=runs, warmup=warmup) for path, chosen in specs]
    kind = "validations" if all_models else "validation"
    emit(render(kind, format.value, result=results[0], results=results), output, [path for path, _ in specs])
    return all(result.ok for result in results)
