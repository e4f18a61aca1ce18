"""archcalc conv and archcalc pool: one layer, with the working."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc import sizes
from archcalc.commands import OUTPUT, emit, format_choices, format_option, parsed
from archcalc.errors import SpecError, UsageError
from archcalc.limits import MAX_DIMENSION

CalculationFormat = format_choices("calculation")


def _pair(option: str):
    return parsed(lambda text: text if text in ("same", "valid") else sizes.parse_pair(text, option))


INPUT = typer.Option(..., "--input", callback=parsed(sizes.parse_dims), help="Input size: N, HxW or CxHxW.")


def conv(
    input: str = INPUT,
    kernel: str = typer.Option(..., callback=_pair("--kernel"), help="Kernel size: k or kHxkW."),
    stride: str = typer.Option("1", callback=_pair("--stride"), help="Stride: s or sHxsW."),
    padding: str = typer.Option("0", callback=_pair("--padding"), help="Padding on each side: p, pHxpW, 'same' or 'valid'."),
    dilation: str = typer.Option("1", callback=_pair("--dilation"), help="Dilation: d or dHxdW."),
    out_channels: int = typer.Option(1, "--out-channels", min=1, max=MAX_DIMENSION, help="Filters (output channels)."),
    groups: int = typer.Option(1, min=1, max=MAX_DIMENSION, help="Channel groups."),
    bias: bool = typer.Option(True, help="Whether each filter has a bias."),
    format: CalculationFormat = format_option(CalculationFormat),
    output: Optional[Path] = OUTPUT,
) -> None:
    fields = {"out": out_channels, "kernel": kernel, "stride": stride, "padding": padding,
              "dilation": dilation, "groups": groups, "bias": bias}
    _calculate("conv2d", input, fields, format.value, output)


def pool(
    input: str = INPUT,
    kernel: str = typer.Option(..., callback=_pair("--kernel"), help="Window size: k or kHxkW."),
    stride: Optional[str] = typer.Option(None, callback=_pair("--stride"), help="Stride (default: the kernel size)."),
    padding: str = typer.Option("0", callback=_pair("--padding"), help="Padding on each side, at most half the kernel."),
    dilation: str | None = typer.Option(None, callback=_pair("--dilation"),
                                  help="Dilation (max pooling only; default 1)."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="Round the output size up."),
    average: bool = typer.Option(False, "--average", help="Average instead of max pooling."),
    format: CalculationFormat = format_option(CalculationFormat),
    output: Optional[Path] = OUTPUT,
) -> None:
    if average and dilation is not None:
        raise UsageError("average pooling has no dilation (torch.nn.AvgPool2d takes none): leave out --dilation, "
                         "or leave out --average for max pooling", option="'--dilation'")
    fields = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if dilation is not None:
        fields["dilation"] = dilation
    _calculate("avgpool2d" if average else "maxpool2d", input, fields, format.value, output)


def _calculate(kind: str, size: tuple[int, ...], fields: dict, format: str, output: Path | None) -> None:
    from archcalc.calculator import calculate
    from archcalc.render.registry import render

    try:
        result = calculate(kind, size, fields)
    except SpecError as error:  # every value here came from an option: a usage error
        option = {"out": "--out-channels"}.get(error.field, f"--{error.field}")
        hint = f" ({error.hint})" if error.hint else ""
        raise UsageError(error.message + hint, option=option if error.field else None) from None
    emit(render("calculation", format, result=result), output)
