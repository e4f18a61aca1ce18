"""Max, average and adaptive pooling."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Shape, Window, spatial
from archcalc.layers.window import window_output

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
    torch_module = "torch.nn.MaxPool2d"
    doc = "Max pooling (torch.nn.MaxPool2d)."
    fields = {**_WINDOW_FIELDS, "dilation": Field("size", 1, "spacing between window taps")}

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(kernel_size=a.kernel, stride=self.strides(a), padding=a.padding,
                    dilation=a.dilation, ceil_mode=a.ceil_mode)


class AvgPool2d(_WindowPool):
    key = "avgpool2d"
    torch_module = "torch.nn.AvgPool2d"
    doc = "Average pooling (torch.nn.AvgPool2d)."
    fields = {
        **_WINDOW_FIELDS,
        "count_include_pad": Field("bool", True, "count padded zeros in the average"),
    }

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(kernel_size=a.kernel, stride=self.strides(a), padding=a.padding,
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

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(output_size=a.output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    key = "adaptive_avgpool2d"
    torch_module = "torch.nn.AdaptiveAvgPool2d"
    doc = "Adaptive average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d)."



class SpatialMean(LayerKind):
    key = "mean"
    torch_module = "archcalc.torchmodel.modules.SpatialMean"
    doc = ("Mean over height and width (torch's x.mean([2, 3])), the global average pooling "
           "ShuffleNet V2 and MNASNet write this way: (N, C, H, W) → (N, C).")
    fields = {"keepdim": Field("bool", False, "keep H and W as sizes 1: (N, C, 1, 1)")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, _, _ = spatial(shapes[0], self.key)
        return (n, c, 1, 1) if a.keepdim else (n, c)

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[Window, Window] | None:
        return tuple((n, n, 0, 1) for n in shapes[0][2:]) if a.keepdim else None

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(keepdim=a.keepdim)


class AdaptiveMaxPool2d(_AdaptivePool):
    key = "adaptive_maxpool2d"
    torch_module = "torch.nn.AdaptiveMaxPool2d"
    doc = "Adaptive max pooling to a fixed output size (torch.nn.AdaptiveMaxPool2d)."

