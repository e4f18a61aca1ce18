"""What a residual branch is scaled by before the sum: ConvNeXt's layer scale and the stochastic
depth of ConvNeXt and EfficientNet."""

from __future__ import annotations

from typing import ClassVar

from archcalc import layout
from archcalc.errors import SpecError
from archcalc.layers.base import NEW, SAME, Attrs, Backward, Field, Footprint, LayerKind, Params, Shape, numel
from archcalc.layout import Layout


class LayerScale(LayerKind):
    key = "layer_scale"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.LayerScale"
    doc = ("A learned scale per channel, multiplied into each element (ConvNeXt's layer scale: a weight "
           "of shape (C, 1, 1) times an (N, C, H, W) map; of shape (C,) times a channels-last one).")
    fields: ClassVar[dict[str, Field]] = {
        "over": Field("text", "channels", "channels: the C of an (N, C, …) map; last: the last axis",
                      ("channels", "last")),
        "init": Field("number", 1e-6, "the value every scale starts at (torchvision's ConvNeXt: 1e-6)"),
    }

    def scaled(self, a: Attrs, shape: Shape) -> int:
        """C, the length of the axis with a scale per value."""
        return shape[-1] if a.over == "last" else shape[1]

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        if a.over == "channels" and len(shapes[0]) < 2:
            raise SpecError(f"a scale per channel needs an (N, C, …) input, got a {len(shapes[0])}-D one", field="over",
                            hint="scale the last axis with over: last, or keep the batch apart (a flatten from axis 1)")
        return shapes[0]

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        return Params(weight=self.scaled(a, shapes[0]))

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return ()

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """The scale's gradient is the incoming one times the input, of the input's size, then
        summed down to one value per channel."""
        return Backward(transient=numel(out) * itemsize)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"shape": self.weight_shape(a, shapes[0]), "init": a.init}

    def weight_shape(self, a: Attrs, shape: Shape) -> Shape:
        """(C,) for the last axis, (C, 1, 1) for the channels of an (N, C, H, W) map."""
        c = self.scaled(a, shape)
        return (c,) if a.over == "last" else (c, *[1] * (len(shape) - 2))

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """As TensorIterator lays out the weight times the input."""
        weight = self.weight_shape(a, shapes[0])
        return layout.iterated(out, [weight, shapes[0]], [layout.contiguous(weight), layouts[0]])


class StochasticDepth(LayerKind):
    key = "stochastic_depth"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.StochasticDepth"
    doc = ("Stochastic depth (torchvision.ops.StochasticDepth): while training, zeroes a residual branch "
           "with probability p, per sample (row) or for the whole batch, and divides the rest by 1 − p; "
           "at inference an identity, so every figure is that of an identity.")
    fields: ClassVar[dict[str, Field]] = {
        "p": Field("probability", doc="probability of dropping the branch while training"),
        "mode": Field("text", "row", "row: each sample of the batch on its own; batch: the whole batch at once",
                      ("row", "batch")),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        return shapes[0]

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return ()  # at inference: the input itself

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        return Footprint(SAME)  # in eval mode the input itself

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"p": a.p, "mode": a.mode}

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """While training the input times a noise of one value per sample (row) or one (batch), kept;
        with p = 0 the input itself."""
        if a.p == 0:
            return Backward(keeps_inputs=False, grad=SAME)
        return Backward(keeps_inputs=False, kept=(shapes[0][0] if a.mode == "row" else 1) * itemsize, output=NEW,
                        kept_without_gradient=True)
