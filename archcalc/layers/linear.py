"""Fully connected (dense) layer."""

from __future__ import annotations

from math import prod

from archcalc.layers.base import Attrs, Backward, Field, Footprint, LayerKind, Params, Shape, WorkSize


class Linear(LayerKind):
    key = "linear"
    torch_module = "torch.nn.Linear"
    doc = ("Fully connected layer (torch.nn.Linear) on the last axis: the features of a flat (N, features) "
           "input, or of each position of any other, as torch's acts on the last axis of any input.")
    fields = {
        "out": Field("count", doc="output features"),
        "bias": Field("bool", True, "whether the layer has a bias per output feature"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        return (*shapes[0][:-1], a.out)

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        return Params(weight=shapes[0][-1] * a.out, bias=a.out if a.bias else 0)

    def macs(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        return prod(shapes[0]) * a.out

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        return "linear"

    def work_size(self, a: Attrs, shapes: list[Shape], out: Shape) -> WorkSize:
        return WorkSize((shapes[0][-1] * a.out) ** 0.5, prod(out) // a.out)

    def channels_out(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        return a.out

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return (rank - 1,)

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """A new output; on an input of more than 2 dimensions torch views it as (·, features) first."""
        return Footprint(touches_input=len(shapes[0]) > 2)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """Its input kept; on more than 2 dimensions, with a bias, its output is a view of the matrix
        product's result where its input is contiguous (`Backward.viewed_result`: torch's addmm on
        the input viewed as 2-D; else, or without a bias, a matrix product it does not view), and
        torch's weight gradient is accumulated before the input's gradient is handed on
        (`Backward.weights_first`)."""
        mapped = len(shapes[0]) > 2
        return Backward(viewed_result=mapped and a.bias, weights_first=mapped)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(in_features=shapes[0][-1], out_features=a.out, bias=a.bias)
