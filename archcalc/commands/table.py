"""archcalc table."""

from __future__ import annotations

from pathlib import Path

from archcalc import sizes
from archcalc.commands import (
    CONVENTION,
    DTYPE,
    OUTPUT,
    SYMBOLIC_INPUT,
    VARIANT,
    WIDE,
    Argument,
    Option,
    emit,
    format_option,
)
from archcalc.errors import UsageError
from archcalc.limits import MAX_DIMENSION


def table(
    spec: str = Argument("SPEC", "A spec file, or a bundled model name (see 'archcalc list')."),
    variant: str | None = VARIANT,
    input: tuple | None = SYMBOLIC_INPUT,
    batch: int | str = Option("1", "Batch size: a number, or a symbol such as N.", parse=sizes.parse_batch),
    depth: int | None = Option(None, "Sum blocks deeper than this many name parts.", type=int, min=1,
                               max=MAX_DIMENSION),
    convention: str = CONVENTION,
    format: str = format_option("table"),
    dtype: str = DTYPE,
    rf: bool = Option(False, "Add each layer's receptive field: size, jump and start.", ("--rf",)),
    device_profile: str | None = Option(None, "Add each layer's roofline on this device: a bundled profile (h200, "
                                        "h100-sxm, a100-80gb, l4, t4, rtx-4090) or a profile file "
                                        "('archcalc device-profile -o FILE'); --dtype sets the element type.",
                                        ("--device-profile",)),
    train: bool = Option(False, "Add the backward pass of a training step: each layer's gradients of its input "
                                "and of its weights, and forward + backward.", ("--train",)),
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> None:
    from archcalc.analysis import analyze

    if train:  # refused before the analysis under a convention that counts no backward pass
        from archcalc.backward import counting_backward

        counting_backward(convention)
    stats = analyze(spec, input=input, batch=batch, variant=variant, convention=convention, dtype=dtype,
                    training=train)
    if rf and stats.receptive_fields is None:  # a symbolic batch or channel count leaves them known
        raise UsageError("receptive fields need whole-number sizes: give the height and width as numbers "
                         "(--input 3x224x224 or Cx224x224), or leave out --rf", option="'--rf'")
    roof = None
    if device_profile is not None:
        from archcalc.roofline import roofline

        roof = roofline(stats, device_profile, dtype)
    steps = None
    if train:
        from archcalc.backward import training

        steps = training(stats).at(depth)
    from archcalc.render.registry import render

    rows = stats.rows(depth)
    emit(render("table", format, stats=stats, rows=rows, depth=depth, rf=rf, roof=roof, train=steps), output, [spec])
    if depth is None and format == "table":
        from archcalc.render.terminal import suggest_depth

        suggest_depth(len(rows), lambda: len(stats.rows(1)))
