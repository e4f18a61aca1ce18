"""A layer archcalc has no rules for, kept by `archcalc import --allow-opaque`: its output shape as
measured, its parameter count as found, and no count under any convention (named as uncounted)."""

from __future__ import annotations

from typing import ClassVar

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Params, Shape, same
from archcalc.sizes import format_shape


class Opaque(LayerKind):
    key = "opaque"
    min_inputs = 1
    max_inputs = None
    doc = ("An operation archcalc has no layer kind for, kept by `archcalc import --allow-opaque`: its output "
           "is `shape` (after the batch) on an input of `reads` (at another it is refused), it holds `params` "
           "parameters and `buffers` buffer values, and it is counted under no convention (every output names "
           "it as not counted); it has no receptive field and no torch module (`validate` and `build_torch` "
           "refuse it).")
    fields: ClassVar[dict[str, Field]] = {
        "operation": Field("text", doc="what it computes, as the import found it (torch.nn.functional.elu, Erf)"),
        "shape": Field("indices", doc="its output's shape after the batch, as measured"),
        "reads": Field("indices", doc="its first input's shape after the batch, as measured: at another its "
                                      "output is not known, and the layer is refused"),
        "params": Field("index", 0, "its parameters (counted as weights)"),
        "buffers": Field("index", 0, "its buffer values"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        if not a.shape or any(size < 1 for size in a.shape):
            raise SpecError(f"opaque needs a shape of whole numbers from 1, got {list(a.shape)}", field="shape",
                            hint="the output's shape after the batch, e.g. [64, 56, 56]")
        for name in ("params", "buffers"):
            if a[name] < 0:
                raise SpecError(f"field '{name}' must be at least 0, got {a[name]}", field=name)
        if len(shapes[0]) != len(a.reads) + 1 or not all(same(s, r) for s, r in zip(shapes[0][1:], a.reads)):
            raise SpecError(f"opaque ({a.operation}) was measured on an input of {format_shape(a.reads)} (after the "
                            f"batch), not {format_shape(shapes[0][1:])}: its output at this size is not known",
                            field="reads", hint="import the model again at this input")
        return (shapes[0][0], *a.shape)

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        return Params(weight=a.params, buffers=a.buffers)
