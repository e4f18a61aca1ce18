"""Max, average and adaptive pooling over 1, 2 or 3 spatial axes, and the spatial mean."""

from __future__ import annotations

from math import prod
from typing import ClassVar

from archcalc import layout
from archcalc.errors import SpecError
from archcalc.layers.base import (
    AXIS_NAMES,
    INDEX_BYTES,
    Attrs,
    Backward,
    Field,
    Footprint,
    LayerKind,
    Layout,
    Pooled,
    Shape,
    Windows,
    axes_text,
    holds,
    numel,
    spatial,
)
from archcalc.layers.window import window_output
from archcalc.sizes import format_shape


def _window_fields(axes: int) -> dict[str, Field]:
    return {
        "kernel": Field("size", doc=f"window size, one number or {axes_text(axes)}"),
        "stride": Field("optional size", None, "step of the window; defaults to the kernel size"),
        "padding": Field("offset", 0, "implicit padding on each side, at most half the kernel"),
        "ceil_mode": Field("bool", False, "round the output size up instead of down"),
    }


class _WindowPool(LayerKind):
    """Shared shape rule of max and average pooling (torch's pooling_output_shape)."""

    operation: ClassVar[str] = ""
    """'max' or 'avg': torch's operation is `{operation}_pool{axes}d`."""

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, *sizes = spatial(shapes[0], self.key, self.axes)
        stride = self.strides(a)
        for k, p in zip(a.kernel, a.padding):
            if p > k // 2:
                raise SpecError(f"padding {p} is more than half the kernel {k}", field="padding",
                                hint="torch allows at most kernel // 2 padding for pooling")
        dilation = a.get("dilation", (1,) * self.axes)
        sizes = [window_output(size, k, s, p, d, a.ceil_mode)
                 for size, k, s, p, d in zip(sizes, a.kernel, stride, a.padding, dilation)]
        return (n, c, *sizes)

    def strides(self, a: Attrs) -> tuple[int, ...]:
        return a.stride or a.kernel

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows:
        return tuple(zip(a.kernel, self.strides(a), a.padding, a.get("dilation", (1,) * self.axes)))

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        return "pooling"

    def pooled(self, a: Attrs, shapes: list[Shape], out: Shape) -> Pooled:
        return Pooled(f"{self.operation}_pool{self.axes}d", numel(out), prod(a.kernel))


def _with_indices(a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
    """Max pooling: torch's operation returns the int64 index of every maximum with the output
    (dropped when it returns), and a 1-D map is pooled as a 2-D one (a view with an axis added)."""
    return Footprint(transient=numel(out) * INDEX_BYTES, touches_input=len(out) == 3)


def _pooled_as_2d(kind: LayerKind) -> bool:
    """Whether torch pools the kind's map as a 2-D one (a 1-D map: an axis added, then taken away),
    its output a view of the 2-D pooling's (`Backward.viewed_result`): an in-place layer after it
    changes a view, as autograd counts it."""
    return kind.axes == 1


def _pooled_layout(kind: LayerKind, shape: Shape, strides: Layout, out: Shape, mean: bool = False) -> Layout:
    """The strides of an average or adaptive pooling's output on the CPU (torch 2.13;
    `tests/test_layout.py`): of a 1-D map, as of the 2-D one of height 1 torch pools; of a 3-D map,
    contiguous whatever the input's layout, but where torch takes the `mean`; of a 2-D map, in the
    memory format torch suggests."""
    if kind.axes == 1:
        return layout.suggested_as_2d(out, shape, strides)
    return layout.contiguous(out) if kind.axes == 3 and not mean else layout.suggested(out, shape, strides)


class _MaxPool(_WindowPool):
    operation = "max"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.torch_module = f"torch.nn.MaxPool{cls.axes}d"
        cls.doc = f"Max pooling (torch.nn.MaxPool{cls.axes}d)."
        cls.fields = {**_window_fields(cls.axes), "dilation": Field("size", 1, "spacing between window taps")}

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(kernel_size=a.kernel, stride=self.strides(a), padding=a.padding,
                    dilation=a.dilation, ceil_mode=a.ceil_mode)

    footprint = staticmethod(_with_indices)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """The input and the indices of the maxima kept; a 1-D map's output is a view (`_pooled_as_2d`)."""
        return Backward(kept=numel(out) * INDEX_BYTES, viewed_result=_pooled_as_2d(self))


class _AvgPool(_WindowPool):
    operation = "avg"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.torch_module = f"torch.nn.AvgPool{cls.axes}d"
        cls.doc = f"Average pooling (torch.nn.AvgPool{cls.axes}d)."
        cls.fields = {**_window_fields(cls.axes),
                      "count_include_pad": Field("bool", True, "count padded zeros in the average")}

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(kernel_size=a.kernel, stride=self.strides(a), padding=a.padding,
                    ceil_mode=a.ceil_mode, count_include_pad=a.count_include_pad)

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        return Footprint(touches_input=self.axes == 1)  # a 1-D map pooled as a 2-D one: a view with an axis added

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        return Backward(viewed_result=_pooled_as_2d(self))

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        return _pooled_layout(self, shapes[0], layouts[0], out)


class _AdaptivePool(LayerKind):
    """Pooling to a fixed output size: torch's windows run from ⌊i·n/m⌋ to ⌈(i + 1)·n/m⌉."""

    operation = ""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        names = AXIS_NAMES[cls.axes]
        module = f"Adaptive{'Avg' if cls.operation == 'average' else 'Max'}Pool{cls.axes}d"
        cls.torch_module = f"archcalc.torchmodel.modules.{module}" if cls.operation == "average" else f"torch.nn.{module}"
        cls.doc = f"Adaptive {cls.operation} pooling to a fixed output size (torch.nn.{module})."
        listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        cls.fields = {"output_size": Field("size", doc=f"output {listed}, one number or {axes_text(cls.axes)}")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c = spatial(shapes[0], self.key, self.axes)[:2]
        return (n, c, *a.output_size)

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows | None:
        """Equal windows when the output size divides the input's; otherwise torch's windows
        differ in size and place, and there is no one field."""
        sizes = list(zip(shapes[0][2:], out[2:]))
        if any(n % m for n, m in sizes):
            return None
        return tuple((n // m, n // m, 0, 1) for n, m in sizes)

    def reads(self, a: Attrs, source: Shape, out: Shape, axis: int, units: set[int]) -> set[int]:
        n, m = source[2 + axis], out[2 + axis]
        return {p for i in units for p in range(i * n // m, -(-(i + 1) * n // m))}

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """As max and average pooling: the indices of the maxima, and a 1-D map seen as a 2-D one."""
        if self.operation == "max":
            return _with_indices(a, shapes, out, itemsize)
        return Footprint(touches_input=self.axes == 1)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """An average to one value a channel is torch's mean."""
        mean = self.operation == "average" and all(size == 1 for size in out[2:])
        return _pooled_layout(self, shapes[0], layouts[0], out, mean)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """Max: the input and the indices kept. Average to one value per channel: torch takes the
        mean, which keeps nothing (its gradient is spread evenly)."""
        if self.operation == "max":
            return Backward(kept=numel(out) * INDEX_BYTES, viewed_result=_pooled_as_2d(self))
        return Backward(keeps_inputs=any(size != 1 for size in out[2:]), viewed_result=_pooled_as_2d(self))

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(output_size=a.output_size)


class MaxPool1d(_MaxPool):
    key, axes = "maxpool1d", 1


class MaxPool2d(_MaxPool):
    key, axes = "maxpool2d", 2


class MaxPool3d(_MaxPool):
    key, axes = "maxpool3d", 3


class AvgPool1d(_AvgPool):
    key, axes = "avgpool1d", 1


class AvgPool2d(_AvgPool):
    key, axes = "avgpool2d", 2


class AvgPool3d(_AvgPool):
    key, axes = "avgpool3d", 3

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        for name, size, k in zip(AXIS_NAMES[3], spatial(shapes[0], self.key, self.axes)[2:], a.kernel):
            if not holds(size >= k):  # torch's avg_pool3d checks the input itself, before any padding
                raise SpecError(f"the input's {name} ({size}) is smaller than the kernel ({k}), which torch's "
                                "avg_pool3d refuses, padding or not", field="kernel",
                                hint="use a smaller kernel or a larger input")
        return super().output_shape(a, shapes)


class AdaptiveAvgPool1d(_AdaptivePool):
    key, axes, operation = "adaptive_avgpool1d", 1, "average"


class AdaptiveAvgPool2d(_AdaptivePool):
    key, axes, operation = "adaptive_avgpool2d", 2, "average"


class AdaptiveAvgPool3d(_AdaptivePool):
    key, axes, operation = "adaptive_avgpool3d", 3, "average"


class AdaptiveMaxPool1d(_AdaptivePool):
    key, axes, operation = "adaptive_maxpool1d", 1, "max"


class AdaptiveMaxPool2d(_AdaptivePool):
    key, axes, operation = "adaptive_maxpool2d", 2, "max"


class AdaptiveMaxPool3d(_AdaptivePool):
    key, axes, operation = "adaptive_maxpool3d", 3, "max"


class SpatialMean(LayerKind):
    key = "mean"
    torch_module = "archcalc.torchmodel.modules.SpatialMean"
    allocates_contiguous = True
    doc = ("Mean over the spatial axes (torch's x.mean([2, 3]) of a 2-D map), the global average pooling "
           "ShuffleNet V2 and MNASNet write this way: (N, C, H, W) → (N, C); also of 1-D and 3-D maps, "
           "as S3D's x.mean((2, 3, 4)).")
    fields = {"keepdim": Field("bool", False, "keep the spatial axes as sizes 1: (N, C, 1, 1)")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        shape = shapes[0]
        if not 3 <= len(shape) <= 5:
            raise SpecError(f"mean needs a map with spatial axes, (N, C, L), (N, C, H, W) or (N, C, D, H, W), "
                            f"got {format_shape(shape)}", hint="spatial layers must come before 'flatten'")
        return (*shape[:2], *(1 for _ in shape[2:])) if a.keepdim else shape[:2]

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows | None:
        return tuple((n, n, 0, 1) for n in shapes[0][2:]) if a.keepdim else None

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(keepdim=a.keepdim)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        return Backward(keeps_inputs=False)  # the gradient spread evenly: only the input's size is kept
