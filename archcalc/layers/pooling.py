"""Max, average and adaptive pooling."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Shape, Window, numel, spatial
from archcalc.layers.window import window_output

if TYPE_CHECKING:
    from torch import nn

_WINDOW_FIELDS = {
    "kernel": Field("size", doc="window size, one number or [height, width]"),
    "stride": Field("optional size", None, "step of the window; defaults to the kernel size"),
    "padding": Field("offset", 0, "implicit padding on each side, at most half the kernel"),
    "ceil_mode": Field("bool", False, "round the output size up instead of down"),
}


class _WindowPool(LayerKind):
    """Shared shape rule of max and average pooling (torch's pooling_output_shape)."""

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, h, w = spatial(shapes[0], self.key)
        stride = self.strides(a)
        for k, p in zip(a.kernel, a.padding):
            if p > k // 2:
                raise SpecError(f"padding {p} is more than half the kernel {k}", field="padding",
                                hint="torch allows at most kernel // 2 padding for pooling")
        dilation = a.get("dilation", (1, 1))
        sizes = [window_output(size, k, s, p, d, a.ceil_mode)
                 for size, k, s, p, d in zip((h, w), a.kernel, stride, a.padding, dilation)]
        return (n, c, *sizes)

    def strides(self, a: Attrs) -> tuple[int, int]:
        return a.stride or a.kernel

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[Window, Window]:
        return tuple(zip(a.kernel, self.strides(a), a.padding, a.get("dilation", (1, 1))))


class MaxPool2d(_WindowPool):
    key = "maxpool2d"
    doc = "Max pooling (torch.nn.MaxPool2d)."
    fields = {**_WINDOW_FIELDS, "dilation": Field("size", 1, "spacing between window taps")}

    def build_torch(self, a: Attrs, shapes: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.MaxPool2d(a.kernel, stride=a.stride or a.kernel, padding=a.padding,
                            dilation=a.dilation, ceil_mode=a.ceil_mode)


class AvgPool2d(_WindowPool):
    key = "avgpool2d"
    doc = "Average pooling (torch.nn.AvgPool2d)."
    fields = {
        **_WINDOW_FIELDS,
        "count_include_pad": Field("bool", True, "count padded zeros in the average"),
    }

    def build_torch(self, a: Attrs, shapes: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.AvgPool2d(a.kernel, stride=a.stride or a.kernel, padding=a.padding,
                            ceil_mode=a.ceil_mode, count_include_pad=a.count_include_pad)


class _AdaptivePool(LayerKind):
    fields = {"output_size": Field("size", doc="output height and width, one number or [height, width]")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, _, _ = spatial(shapes[0], self.key)
        return (n, c, *a.output_size)

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[Window, Window] | None:
        """Equal windows when the output size divides the input's; otherwise torch's windows
        differ in size and place (⌊i·n/m⌋ to ⌈(i + 1)·n/m⌉), and there is no one field."""
        sizes = list(zip(shapes[0][2:], out[2:]))
        if any(n % m for n, m in sizes):
            return None
        return tuple((n // m, n // m, 0, 1) for n, m in sizes)

    def reads(self, a: Attrs, source: Shape, out: Shape, axis: int, units: set[int]) -> set[int]:
        n, m = source[2 + axis], out[2 + axis]
        return {p for i in units for p in range(i * n // m, -(-(i + 1) * n // m))}


class AdaptiveAvgPool2d(_AdaptivePool):
    key = "adaptive_avgpool2d"
    doc = "Adaptive average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d)."

    def fvcore_count(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        return numel(shapes[0])  # fvcore: one op per input element of aten::adaptive_avg_pool2d

    def build_torch(self, a: Attrs, shapes: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.AdaptiveAvgPool2d(a.output_size)


class SpatialMean(LayerKind):
    key = "mean"
    doc = ("Mean over height and width (torch's x.mean([2, 3])), the global average pooling "
           "ShuffleNet V2 and MNASNet write this way: (N, C, H, W) → (N, C).")
    fields = {"keepdim": Field("bool", False, "keep H and W as sizes 1: (N, C, 1, 1)")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, _, _ = spatial(shapes[0], self.key)
        return (n, c, 1, 1) if a.keepdim else (n, c)

    def fvcore_count(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        return 0  # fvcore has no handle for aten::mean (adaptive_avgpool2d counts every element)

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[Window, Window] | None:
        return tuple((n, n, 0, 1) for n in shapes[0][2:]) if a.keepdim else None

    def build_torch(self, a: Attrs, shapes: list[Shape]) -> nn.Module:
        from archcalc.torchmodel import modules

        return modules.SpatialMean(a.keepdim)


class AdaptiveMaxPool2d(_AdaptivePool):
    key = "adaptive_maxpool2d"
    doc = "Adaptive max pooling to a fixed output size (torch.nn.AdaptiveMaxPool2d)."

    def build_torch(self, a: Attrs, shapes: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.AdaptiveMaxPool2d(a.output_size)
