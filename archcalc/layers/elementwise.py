"""Layers that keep the shape and have no parameters: activations, dropout, identity."""

from __future__ import annotations

from archcalc import layout
from archcalc.errors import SpecError
from archcalc.layers.base import NEW, SAME, Attrs, Backward, Field, Footprint, LayerKind, Shape, numel
from archcalc.layout import Layout


class Elementwise(LayerKind):
    """One instance per kind: the key, its torch module and its fields differ, the rules do not.

    The fields are named as the torch module's arguments, so the builder passes them through.
    """

    keeps_grid = True

    def __init__(self, key: str, module: str, doc: str, fields: dict[str, Field] | None = None,
                 passes_through: bool = False, work: str = "memory") -> None:
        self.key = key
        self.kind_of_work = work
        """Its `work`: 'transcendental' for a function that computes an exponential or the like."""
        self.passes_through = passes_through
        """At inference its torch module returns the input itself (identity, dropout in eval mode)."""
        self.torch_module = f"torch.nn.{module}"
        self.doc = f"{doc} (torch.nn.{module})."
        self.fields = fields or {}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        return shapes[0]

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return ()

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        return self.kind_of_work

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """A new output; the input itself where torch returns it (no operation runs) or where the
        layer works in place (an operation runs on the input's storage)."""
        if self.passes_through:
            return Footprint(SAME)
        return Footprint(SAME, touches_input=True) if a.get("inplace") else Footprint()

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """Its input's layout where it hands on its input or works in place, else as TensorIterator
        lays out an elementwise result."""
        if self.footprint(a, shapes, out, 1).output == SAME:
            return layouts[0]
        return layout.iterated(out, shapes[:1], layouts[:1])

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(a)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """Its gradient read off its output (KEEP_OUTPUT) or its input; dropout on the CPU multiplies
        by a mask of the input's size and dtype, kept (of p = 1, by a zero of one element: torch's
        `input * zeros({})`), and on CUDA, for 0 < p < 1, torch's fused kernel keeps a mask of one
        byte per element (`native_dropout`, bool); identity runs nothing. In place, one that
        reads its input keeps a copy of it: torch's autograd clones the input before the operation
        overwrites it (`original_self`) and keeps the clone for the backward."""
        if self.key == "identity" or (self.key == "dropout" and a.p == 0):
            return Backward(keeps_inputs=False, grad=SAME)
        if self.key == "dropout":
            return Backward(keeps_inputs=False, kept=(1 if a.p == 1 else numel(out)) * itemsize, output=NEW,
                            kept_without_gradient=True, kept_on_cuda=None if a.p == 1 else numel(out))
        on_output = self.key in KEEP_OUTPUT or (a.get("inplace") and self.key in KEEP_OUTPUT_IN_PLACE)
        if a.get("inplace") and not on_output:
            return Backward(keeps_inputs=False, kept=numel(out) * itemsize)
        return Backward(keeps_inputs=not on_output, keeps_output=on_output)


class Softmax(LayerKind):
    key = "softmax"
    keeps_grid = True
    torch_module = "torch.nn.Softmax"
    doc = "Softmax along one dimension (torch.nn.Softmax)."
    allocates_contiguous = True
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

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        return "transcendental"

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """torch keeps the output, not the input: its gradient is `_softmax_backward_data(grad,
        output, dim)`."""
        return Backward(keeps_inputs=False, keeps_output=True)


INPLACE = {"inplace": Field("bool", False, "overwrite the input instead of making a new tensor (torch's inplace=True): "
                                           "no new memory, and every other reader of the input sees the result")}
"""The field of the activations torch can compute in place."""

KEEP_OUTPUT = {"relu", "sigmoid", "tanh"}
"""The activations whose gradient torch reads off the output (threshold_backward, sigmoid_backward,
tanh_backward); the others read their input."""
KEEP_OUTPUT_IN_PLACE = {"leaky_relu"}
"""Those that read the output when in place (the input is gone)."""

KINDS = [
    Elementwise("relu", "ReLU", "max(x, 0)", INPLACE),
    Elementwise("relu6", "ReLU6", "min(max(x, 0), 6)", INPLACE),
    Elementwise("leaky_relu", "LeakyReLU", "x, or slope·x below zero",
                {"negative_slope": Field("number", 0.01, "slope below zero"), **INPLACE}),
    Elementwise("sigmoid", "Sigmoid", "1 / (1 + e^−x)", work="transcendental"),
    Elementwise("tanh", "Tanh", "hyperbolic tangent", work="transcendental"),
    Elementwise("gelu", "GELU", "Gaussian error linear unit", work="transcendental"),
    Elementwise("silu", "SiLU", "x · sigmoid(x), also called swish", INPLACE, work="transcendental"),
    Elementwise("hardswish", "Hardswish", "x · relu6(x + 3) / 6", INPLACE),
    Elementwise("hardsigmoid", "Hardsigmoid", "relu6(x + 3) / 6", INPLACE),
    Elementwise("dropout", "Dropout", "zeroes elements with probability p while training",
                {"p": Field("probability", 0.5, "probability of zeroing an element")}, passes_through=True),
    Elementwise("identity", "Identity", "passes its input through unchanged", passes_through=True),
]
