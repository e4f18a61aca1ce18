"""One layer at a time, with the working shown: the lecture's output-size exercises."""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.errors import SpecError
from archcalc.layers import LAYER_KINDS, Params
from archcalc.layers.window import window_working
from archcalc.limits import MAX_DIMENSION
from archcalc.sizes import integer, parse_dims, parse_pair, within_size_limit

CALCULATED = ("conv2d", "maxpool2d", "avgpool2d")
"""The kinds `calculate` shows the working of (its arithmetic is the sliding window's)."""


@dataclass(frozen=True)
class Calculation:
    """A single layer's output shape, figures and the arithmetic behind each spatial size."""

    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    working: dict[str, list[str]]
    params: Params
    macs: int
    attrs: dict
    """The layer's fields as it read them (kernel, groups, bias…): the working of its figures."""


def parse_pair_fields(fields: dict) -> dict:
    """Command-line text such as '3', '3x5' or '3,5' → field values 3 or [3, 5]; others
    unchanged. The layer kind then checks the numbers as it checks a spec's fields."""
    return {name: parse_pair(value, f"--{name}") if isinstance(value, str) and value not in ("same", "valid")
            else value for name, value in fields.items()}


def calculate(kind: str, size: str | tuple[int, ...], fields: dict, channels: int = 1) -> Calculation:
    """Apply one layer kind (conv2d, maxpool2d or avgpool2d) to an input of `size`: N, (H, W)
    or (C, H, W), or its text ('227', '227x227', '3x227x227')."""
    if kind not in CALCULATED:
        raise SpecError(f"calculate works out {', '.join(CALCULATED)}, got {kind!r}",
                        hint="for any other kind, write a spec of one layer and use archcalc.analyze")
    dims = parse_dims(size, "--input")
    if len(dims) == 3:
        channels, dims = dims[0], dims[1:]
    height, width = dims if len(dims) == 2 else (dims[0], dims[0])
    if integer(channels) is None or not 1 <= channels <= MAX_DIMENSION:
        raise SpecError(f"the input channels must be a whole number from 1 to {MAX_DIMENSION:,}, got {channels!r}")
    layer = LAYER_KINDS[kind]
    attrs = layer.resolve(fields)
    shape = (1, channels, height, width)
    out = within_size_limit(layer.output_shape(attrs, [shape]))
    stride = attrs.stride or attrs.kernel
    padding = attrs.padding if attrs.padding != "same" else None
    working = {}
    for index, (axis, n) in enumerate((("height", height), ("width", width))):
        if padding is None:
            working[axis] = [f"padding 'same' keeps the size: out = {n}"]
            continue
        working[axis] = window_working(n, attrs.kernel[index], stride[index], padding[index],
                                       attrs.get("dilation", (1, 1))[index], attrs.get("ceil_mode", False))
    return Calculation(kind, shape, out, working, layer.params(attrs, [shape]),
                       layer.macs(attrs, [shape], out), dict(attrs))
