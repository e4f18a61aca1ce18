"""Layers that keep the shape and have no parameters: activations, dropout, identity."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Shape


class Elementwise(LayerKind):
    """One instance per kind: the key, its torch module and its fields differ, the rules do not."""

    def __init__(self, key: str, doc: str, fields: dict[str, Field] | None = None) -> None:
        self.key = key
        self.doc = doc
        self.fields = fields or {}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        return shapes[0]


class Softmax(LayerKind):
    key = "softmax"
    doc = "Softmax along one dimension (torch.nn.Softmax)."
    fields = {"dim": Field("index", 1, "dimension that sums to one")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        rank = len(shapes[0])
        if not -rank <= a.dim < rank:
            raise SpecError(f"dim {a.dim} is out of range for a {rank}-D input", field="dim",
                            hint=f"use a dimension from {-rank} to {rank - 1}")
        return shapes[0]


ELEMENTWISE = [
    Elementwise("relu", "max(x, 0) (torch.nn.ReLU)."),
    Elementwise("relu6", "min(max(x, 0), 6) (torch.nn.ReLU6)."),
    Elementwise("leaky_relu", "x, or slope·x below zero (torch.nn.LeakyReLU).",
                {"negative_slope": Field("number", 0.01, "slope below zero")}),
    Elementwise("sigmoid", "1 / (1 + e^−x) (torch.nn.Sigmoid)."),
    Elementwise("tanh", "hyperbolic tangent (torch.nn.Tanh)."),
    Elementwise("gelu", "Gaussian error linear unit (torch.nn.GELU)."),
    Elementwise("silu", "x · sigmoid(x), also called swish (torch.nn.SiLU)."),
    Elementwise("hardswish", "x · relu6(x + 3) / 6 (torch.nn.Hardswish)."),
    Elementwise("hardsigmoid", "relu6(x + 3) / 6 (torch.nn.Hardsigmoid)."),
    Elementwise("dropout", "zeroes elements with probability p while training (torch.nn.Dropout).",
                {"p": Field("number", 0.5, "probability of zeroing an element")}),
    Elementwise("identity", "passes its input through unchanged (torch.nn.Identity)."),
]
