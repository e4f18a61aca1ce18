"""Layers that keep the shape and have no parameters: activations, dropout, identity."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Shape


class Elementwise(LayerKind):
    """One instance per kind: the key, its torch module and its fields differ, the rules do not.

    The fields are named as the torch module's arguments, so the builder passes them through.
    """

    keeps_grid = True

    def __init__(self, key: str, module: str, doc: str, fields: dict[str, Field] | None = None) -> None:
        self.key = key
        self.torch_module = f"torch.nn.{module}"
        self.doc = f"{doc} (torch.nn.{module})."
        self.fields = fields or {}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        return shapes[0]

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return ()

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(a)


class Softmax(LayerKind):
    key = "softmax"
    keeps_grid = True
    torch_module = "torch.nn.Softmax"
    doc = "Softmax along one dimension (torch.nn.Softmax)."
    fields = {"dim": Field("index", 1, "dimension that sums to one")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        rank = len(shapes[0])
        if not -rank <= a.dim < rank:
            raise SpecError(f"dim {a.dim} is out of range for a {rank}-D input", field="dim",
                            hint=f"use a dimension from {-rank} to {rank - 1}")
        return shapes[0]

    def window(self, a: Attrs, shapes: list[Shape], out: Shape):
        return super().window(a, shapes, out) if a.dim % len(out) == 1 else None  # across H or W: no grid

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return (a.dim % rank,)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(dim=a.dim)


KINDS = [
    Elementwise("relu", "ReLU", "max(x, 0)"),
    Elementwise("relu6", "ReLU6", "min(max(x, 0), 6)"),
    Elementwise("leaky_relu", "LeakyReLU", "x, or slope·x below zero",
                {"negative_slope": Field("number", 0.01, "slope below zero")}),
    Elementwise("sigmoid", "Sigmoid", "1 / (1 + e^−x)"),
    Elementwise("tanh", "Tanh", "hyperbolic tangent"),
    Elementwise("gelu", "GELU", "Gaussian error linear unit"),
    Elementwise("silu", "SiLU", "x · sigmoid(x), also called swish"),
    Elementwise("hardswish", "Hardswish", "x · relu6(x + 3) / 6"),
    Elementwise("hardsigmoid", "Hardsigmoid", "relu6(x + 3) / 6"),
    Elementwise("dropout", "Dropout", "zeroes elements with probability p while training",
                {"p": Field("probability", 0.5, "probability of zeroing an element")}),
    Elementwise("identity", "Identity", "passes its input through unchanged"),
]
