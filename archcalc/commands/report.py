"""archcalc report: one markdown document about one or more models."""

from __future__ import annotations

from pathlib import Path

from archcalc import sizes
from archcalc.commands import (
    CONVENTION,
    DTYPE,
    INPUT,
    OUTPUT,
    SETTINGS,
    VARIANT,
    Argument,
    Option,
    emit,
    format_option,
    spec_paths,
)
from archcalc.limits import MAX_DIMENSION


def report(
    specs: list[str] = Argument("SPEC...", "Spec files or bundled names; several are compared.", many=True),
    output: Path | None = OUTPUT,
    variant: str | None = VARIANT,
    input: tuple | None = INPUT,
    batch: int = Option(1, "Batch size N.", min=1, max=MAX_DIMENSION),
    convention: str = CONVENTION,
    dtype: str = DTYPE,
    validate: bool = Option(False, "Add the cross-validation against torch (needs torch).", ("--validate",)),
    timestamp: bool = Option(False, "Say when the report was made (then runs differ).", ("--timestamp",)),
    sweep_sizes: list | None = Option(None, "Add the cost against input size: 32:512:32, 224,256, …", ("--sweep",),
                                      parse=sizes.parse_sweep_sizes, joined=True),
    settings: list | None = SETTINGS,
    device_profile: str | None = Option(None, "Add the roofline on this device: each stage's predicted time beside its "
                                        "cost (a bundled profile such as h200, or a profile file); --dtype sets "
                                        "the element type.", ("--device-profile",)),
    format: str = format_option("report"),
) -> bool | None:
    from archcalc.analysis import analyze_graph, input_shape
    from archcalc.memory import DTYPES, inference_memory
    from archcalc.render.registry import render
    from archcalc.spec import load_graph

    graphs = [load_graph(spec, variant) for spec in specs]
    models = [analyze_graph(graph, input_shape(input), batch, convention, dtype) for graph in graphs]
    memories = [inference_memory(graph, stats, dtype) if dtype in DTYPES else None
                for graph, stats in zip(graphs, models)]
    roofs = None
    if device_profile is not None:
        from archcalc.devices import load_profile
        from archcalc.roofline import roofline

        profile = load_profile(device_profile)
        roofs = [roofline(stats, profile, dtype) for stats in models]
    sweeps = None
    if sweep_sizes is not None or settings:
        from archcalc.sweep import sweep

        sweeps = [sweep(spec, sweep_sizes or [_own_size(stats)], [batch], variant=variant, convention=convention,
                        dtype=dtype, input=input, settings=settings or ()) for spec, stats in zip(specs, models)]
    validations = None
    if validate:  # last, without timing (the report stays the same from run to run): the rest fails in a moment
        if output is not None:  # before torch's seconds of work, as at the end
            from archcalc.output import writable_target

            writable_target(output, spec_paths(specs))
        from archcalc.render.progress import each
        from archcalc.validation import checked_validation

        checked = []  # every model's refusals first, their progress shown
        validations = each("validate", [stats.model for stats in models], lambda index: checked[index](),
                           lambda index: checked.append(checked_validation(graphs[index], input_shape(input), batch,
                                                                           runs=0, of_several=len(graphs) > 1)))
    stamp = None
    if timestamp:
        from datetime import datetime, timezone

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    emit(render("report", format, models=models, validations=validations, stamp=stamp, sweeps=sweeps,
                memories=memories, roofs=roofs),
         output, specs)
    return None if not validations else all(v.ok for v in validations)


def _own_size(stats) -> int | tuple[int, int]:
    """The size a sweep over parameters alone keeps: the model's length, or height and width."""
    varying = stats.input_shape[-1:] if len(stats.input_shape) == 3 else stats.input_shape[-2:]
    return varying[0] if len(set(varying)) == 1 else tuple(varying)
