"""Fully connected (dense) layer."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Params, Shape
from archcalc.sizes import format_shape


class Linear(LayerKind):
    key = "linear"
    torch_module = "torch.nn.Linear"
    doc = "Fully connected layer (torch.nn.Linear) on a flat (N, features) input."
    fields = {
        "out": Field("count", doc="output features"),
        "bias": Field("bool", True, "whether the layer has a bias per output feature"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        if len(shapes[0]) != 2:
            raise SpecError(f"linear needs a flat input (N, features), got {format_shape(shapes[0])}",
                            hint="put a 'flatten' layer (or adaptive pooling and flatten) before it")
        return (shapes[0][0], a.out)

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        return Params(weight=shapes[0][1] * a.out, bias=a.out if a.bias else 0)

    def macs(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        n, features = shapes[0]
        return n * features * a.out

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(in_features=shapes[0][1], out_features=a.out, bias=a.bias)
