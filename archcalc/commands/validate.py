"""archcalc validate: the real torch model against the figures."""

from __future__ import annotations

import gc
from pathlib import Path

from archcalc.commands import INPUT, OUTPUT, VARIANT, WIDE, Argument, Option, emit, format_option, spec_paths
from archcalc.errors import UsageError
from archcalc.limits import MAX_DIMENSION, MAX_RUNS, MAX_THREADS
from archcalc.validation import COUNTERS, DEVICES, LATENCY_DTYPES, LATENCY_MODES, WARMUP


def validate(
    spec: str | None = Argument("[SPEC]", "A spec file or bundled model name.", required=False),
    all_models: bool = Option(False, "Validate every bundled model.", ("--all",)),
    variant: str | None = VARIANT,
    input: tuple | None = INPUT,
    batch: int = Option(1, "Batch size N.", min=1, max=MAX_DIMENSION),
    device: str = Option("auto", "auto takes cuda where available; "
                         "meta allocates no weights and counts with FlopCounterMode only.", choices=DEVICES),
    counter: str = Option("both", "fvcore, torch (FlopCounterMode) or both.", choices=tuple(COUNTERS)),
    format: str = format_option("validation"),
    runs: int = Option(10, f"Timed forward passes for the latency (0: no timing; at most {MAX_RUNS:,}).", min=0,
                       max=MAX_RUNS),
    warmup: int | None = Option(None, f"Untimed forward passes before them (default {WARMUP}; at most {MAX_RUNS:,}).",
                                type=int, min=0, max=MAX_RUNS),
    latency: str = Option("blocks", "Time the model and its top-level blocks, or also every layer (per-layer).",
                          choices=LATENCY_MODES),
    threads: int | None = Option(None, "torch's CPU threads while timing (default 1 on the CPU).", type=int, min=1,
                                 max=MAX_THREADS),
    dtype: str = Option("float32", "Element type the model is timed in (the counts are the same in any).",
                        choices=LATENCY_DTYPES),
    device_profile: str | None = Option(None, "Beside each time, the roofline's prediction on this device profile: a "
                                        "bundled one (h200, …) or a file ('archcalc device-profile -o FILE').",
                                        ("--device-profile",)),
    memory: bool = Option(True, "Compare the peaks of inference and of a training step with torch's MemTracker "
                                "(on fake tensors; on real CPU tensors where fake ones count otherwise)."),
    train: bool = Option(False, "Also compare each layer's backward FLOPs in a training step with "
                                "FlopCounterMode's (run on the meta device).", ("--train",)),
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> bool:
    from archcalc.render.registry import render
    from archcalc.validation import checked_validation

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
    profile = None
    if device_profile is not None:  # read first: a wrong file is refused before the work, and is no target
        from archcalc.devices import load_profile

        profile = load_profile(device_profile)
    if output is not None:  # before torch's seconds of work, as at the end
        from archcalc.output import writable_target

        writable_target(output, spec_paths([path for path, _ in specs]))
    from archcalc.analysis import input_shape
    from archcalc.render.progress import each
    from archcalc.spec import load_graph

    checked = []

    def check(index: int) -> None:
        """The model's refusals: every model's come before the first is built (--all: seconds a model)."""
        checked.append(checked_validation(load_graph(*specs[index]), input_shape(input), batch, device, counter, runs,
                                          warmup, memory, latency, threads, profile, train, dtype,
                                          of_several=len(specs) > 1))

    results = each("validate", [chosen or Path(path).stem for path, chosen in specs], lambda index: checked[index](),
                   check)
    kind = "validations" if all_models else "validation"
    emit(render(kind, format, result=results[0], results=results), output, [path for path, _ in specs])
    return all(result.ok for result in results)
