"""archcalc conv and archcalc pool: one layer, with the working."""

from __future__ import annotations

from pathlib import Path

from archcalc import sizes
from archcalc.commands import OUTPUT, REQUIRED, WIDE, Option, emit, format_option
from archcalc.errors import SpecError, UsageError
from archcalc.limits import MAX_DIMENSION


def _pair(option: str):
    return lambda text: text if text in ("same", "valid") else sizes.parse_pair(text, option)


INPUT = Option(REQUIRED, "Input size: N, HxW or CxHxW.", ("--input",), parse=sizes.parse_dims)
IN_CHANNELS = Option(None, "Input channels (default 1; or give the input as CxHxW).", ("--in-channels",),
                     type=int, min=1, max=MAX_DIMENSION)
FORMAT = format_option("calculation")


def conv(
    input: tuple = INPUT,
    in_channels: int | None = IN_CHANNELS,
    kernel: tuple = Option(REQUIRED, "Kernel size: k or kHxkW.", parse=_pair("--kernel")),
    stride: tuple = Option("1", "Stride: s or sHxsW.", parse=_pair("--stride")),
    padding: tuple | str = Option("0", "Padding on each side: p, pHxpW, 'same' or 'valid'.", parse=_pair("--padding")),
    dilation: tuple = Option("1", "Dilation: d or dHxdW.", parse=_pair("--dilation")),
    out_channels: int = Option(1, "Filters (output channels).", ("--out-channels",), min=1, max=MAX_DIMENSION),
    groups: int = Option(1, "Channel groups.", min=1, max=MAX_DIMENSION),
    bias: bool = Option(True, "Whether each filter has a bias."),
    format: str = FORMAT,
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> None:
    fields = {"out": out_channels, "kernel": kernel, "stride": stride, "padding": padding,
              "dilation": dilation, "groups": groups, "bias": bias}
    _calculate("conv2d", _with_channels(input, in_channels), fields, format, output)


def pool(
    input: tuple = INPUT,
    in_channels: int | None = IN_CHANNELS,
    kernel: tuple = Option(REQUIRED, "Window size: k or kHxkW.", parse=_pair("--kernel")),
    stride: tuple | None = Option(None, "Stride (default: the kernel size).", parse=_pair("--stride")),
    padding: tuple = Option("0", "Padding on each side, at most half the kernel.", parse=_pair("--padding")),
    dilation: tuple | None = Option(None, "Dilation (max pooling only; default 1).", parse=_pair("--dilation")),
    ceil_mode: bool = Option(False, "Round the output size up.", ("--ceil-mode",)),
    average: bool = Option(False, "Average instead of max pooling.", ("--average",)),
    format: str = FORMAT,
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> None:
    if average and dilation is not None:
        raise UsageError("average pooling has no dilation (torch.nn.AvgPool2d takes none): leave out --dilation, "
                         "or leave out --average for max pooling", option="'--dilation'")
    fields = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if dilation is not None:
        fields["dilation"] = dilation
    _calculate("avgpool2d" if average else "maxpool2d", _with_channels(input, in_channels), fields, format, output)


def _with_channels(size: tuple[int, ...], channels: int | None) -> tuple[int, ...]:
    """The input as C×H×W: --in-channels, or the C of a CxHxW --input (not both, unless they agree)."""
    if channels is None:
        return size
    if len(size) == 3 and size[0] != channels:
        raise UsageError(f"--input {'x'.join(map(str, size))} has {size[0]} channels and --in-channels says "
                         f"{channels}: give the channels once", option="'--in-channels'")
    spatial = size[-2:] if len(size) >= 2 else size * 2
    return (channels, *spatial)


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
