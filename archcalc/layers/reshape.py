"""Layers that change only the layout of the data."""

from __future__ import annotations

from math import prod

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Shape


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

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(start_dim=a.start_dim, end_dim=a.end_dim)
