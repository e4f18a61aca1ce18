"""Layers that change only the layout of the data."""

from __future__ import annotations

from math import prod
from typing import ClassVar

from archcalc import layout
from archcalc.errors import SpecError
from archcalc.layers.base import NEW, SAME, VIEW, Attrs, Backward, Field, Footprint, LayerKind, Shape
from archcalc.layout import Layout


class Flatten(LayerKind):
    key = "flatten"
    torch_module = "torch.nn.Flatten"
    doc = "Joins dimensions start_dim..end_dim into one (torch.nn.Flatten)."
    fields = {
        "start_dim": Field("index", 1, "first dimension to join"),
        "end_dim": Field("index", -1, "last dimension to join"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        shape = shapes[0]
        rank = len(shape)
        in_range = -rank <= a.start_dim < rank and -rank <= a.end_dim < rank
        start, end = a.start_dim % rank, a.end_dim % rank
        if not in_range or start > end:
            raise SpecError(f"cannot flatten dimensions {a.start_dim}..{a.end_dim} of a {rank}-D input",
                            hint="the default start_dim 1, end_dim -1 flattens all but the batch")
        return (*shape[:start], prod(shape[start:end + 1]), *shape[end + 1:])

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """A view of a contiguous input; the input itself where nothing is joined (start = end)."""
        rank = len(shapes[0])
        return Footprint(SAME) if a.start_dim % rank == a.end_dim % rank else Footprint(VIEW, touches_input=True)

    def footprint_on(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                     itemsize: int) -> Footprint:
        """A view where the input's strides allow one, else a contiguous copy (torch's reshape)."""
        footprint = self.footprint(a, shapes, out, itemsize)
        if footprint.output == VIEW and layout.viewed(shapes[0], layouts[0], out) is None:
            return Footprint(NEW)
        return footprint

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        if self.footprint(a, shapes, out, 1).output == SAME:
            return layouts[0]
        return layout.viewed(shapes[0], layouts[0], out) or layout.contiguous(out)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(start_dim=a.start_dim, end_dim=a.end_dim)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        return Backward(keeps_inputs=False, grad=self.footprint(a, shapes, out, itemsize).output)  # a view back

class Permute(LayerKind):
    key = "permute"
    torch_module = "archcalc.torchmodel.modules.Permute"
    doc = ("Reorders the dimensions (torch.permute, as torchvision.ops.misc.Permute): dimension i of the "
           "output is dimension dims[i] of the input; ConvNeXt's [0, 2, 3, 1] makes an (N, C, H, W) map "
           "channels-last (N, H, W, C) and [0, 3, 1, 2] makes it back.")
    fields: ClassVar[dict[str, Field]] = {"dims": Field("indices", doc="the input dimension of each output dimension, one per dimension "
                                           "(negative counts from the end)")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        shape = shapes[0]
        rank = len(shape)
        if len(a.dims) != rank:
            raise SpecError(f"dims {list(a.dims)} names {len(a.dims)} dimensions of a {rank}-D input",
                            field="dims", hint=f"give one dimension for each of the {rank}")
        outside = [d for d in a.dims if not -rank <= d < rank]
        if outside:
            raise SpecError(f"dimension {outside[0]} is out of range for a {rank}-D input", field="dims",
                            hint=f"use dimensions from {-rank} to {rank - 1}")
        order = [d % rank for d in a.dims]
        if len(set(order)) != rank:
            raise SpecError(f"dims {list(a.dims)} names a dimension twice", field="dims",
                            hint=f"name each of the dimensions 0 to {rank - 1} once")
        return tuple(shape[d] for d in order)

    moves_channels = True

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        return Footprint(VIEW, touches_input=True)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        rank = len(shapes[0])
        return tuple(layouts[0][d % rank] for d in a.dims)

    def channels_after(self, a: Attrs, channels: int, rank: int) -> int | None:
        """Where the channels go, when the batch stays first and the spatial axes keep their order."""
        order = [d % rank for d in a.dims]
        spatial = [d for d in order if d not in (0, channels)]
        return order.index(channels) if order[0] == 0 and spatial == sorted(spatial) else None

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"dims": list(a.dims)}

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        return Backward(keeps_inputs=False, grad=VIEW)  # the gradient permuted back: a view
