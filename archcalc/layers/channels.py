"""Layers that rearrange or select channels: ShuffleNet's channel shuffle and channel split."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import VIEW, Attrs, Backward, Field, Footprint, LayerKind, Layout, Shape, numel, same, spatial
from archcalc.sizes import size_text


def _divides(parts: int, c, what: str, field: str) -> None:
    if not same(c % parts, 0):
        raise SpecError(f"{what}={parts} does not divide the {size_text(c)} input channels", field=field,
                        hint=f"choose {what} that divides the channels")


class ChannelShuffle(LayerKind):
    key = "channel_shuffle"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.ChannelShuffle"  # torch.nn.ChannelShuffle, exportable to ONNX
    doc = ("Interleaves the channels of `groups` groups (torch.nn.ChannelShuffle), as in "
           "ShuffleNet: channel g·k + i moves to i·groups + g.")
    fields = {"groups": Field("count", doc="number of channel groups; must divide the channels")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        _divides(a.groups, spatial(shapes[0], self.key)[1], "groups", "groups")
        return shapes[0]

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        return Backward(keeps_inputs=False)  # only sizes kept; the gradient a new tensor

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(groups=a.groups)


class Split(LayerKind):
    key = "split"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.Split"
    doc = ("One of `parts` equal slices of the channels (torch.chunk(x, parts, dim=1)[take]), "
           "as in ShuffleNet V2's channel split.")
    fields = {
        "parts": Field("count", 2, "number of equal slices; must divide the channels"),
        "take": Field("index", doc="which slice, from 0 (-1 is the last)"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, h, w = spatial(shapes[0], self.key)
        _divides(a.parts, c, "parts", "parts")
        if not -a.parts <= a.take < a.parts:
            raise SpecError(f"take {a.take} is not one of the {a.parts} slices", field="take",
                            hint=f"use a slice from 0 to {a.parts - 1} (or -1 for the last)")
        return (n, c // a.parts, h, w)

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        return Footprint(VIEW, touches_input=True)  # torch.chunk's slices are views

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        return layouts[0]  # a slice keeps its input's strides

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """Only sizes kept; the gradient the slices' gradients joined, zeros for the slices not
        taken (alive with the join)."""
        return Backward(keeps_inputs=False, transient=(numel(shapes[0]) - numel(out)) * itemsize)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(parts=a.parts, take=a.take)
