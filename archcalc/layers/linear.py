"""Fully connected (dense) layer."""

from __future__ import annotations

from math import prod

from archcalc import layout
from archcalc.layers.base import Attrs, Backward, Field, Footprint, LayerKind, Params, Shape, WorkSize, numel
from archcalc.layout import Layout


class Linear(LayerKind):
    key = "linear"
    torch_module = "torch.nn.Linear"
    allocates_contiguous = True
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

    def footprint_on(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                     itemsize: int) -> Footprint:
        """On more than 2 dimensions torch's linear takes a contiguous input as a matrix (a view);
        another it folds to (·, features) first, a view where its strides allow one, else a copy
        alive while the matrix product is made, and then adds the bias out of place, the product
        alive with the sum."""
        shape, strides = shapes[0], layouts[0]
        if len(shape) <= 2 or layout.is_contiguous(shape, strides):
            return self.footprint(a, shapes, out, itemsize)
        viewable = layout.viewed(shape, strides, (prod(shape[:-1]), shape[-1])) is not None
        copy, product = 0 if viewable else numel(shape) * itemsize, numel(out) * itemsize if a.bias else 0
        moments = tuple((size,) for size in (copy, product) if size)
        return Footprint(transient=max(copy, product), touches_input=viewable, moments=moments)

    def backward_on(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                    itemsize: int) -> Backward:
        """A copy of its input (`footprint_on`) is what the matrix product keeps, in place of the
        input; the product of an input it folds is no view of its result, and its bias, added
        after it, has its gradient first."""
        shape, strides = shapes[0], layouts[0]
        if len(shape) <= 2 or layout.is_contiguous(shape, strides):
            return self.backward(a, shapes, out, itemsize)
        product = numel(out) * itemsize if a.bias else 0
        if layout.viewed(shape, strides, (prod(shape[:-1]), shape[-1])) is not None:
            return Backward(weights_first=True, bias_first=a.bias)
        copy = numel(shape) * itemsize
        return Backward(keeps_inputs=False, kept=copy, forward_transient=product, weights_first=True, bias_first=a.bias)

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
