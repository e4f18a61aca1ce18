"""Layers that join several inputs: residual addition, channel concatenation and scaling."""

from __future__ import annotations

from archcalc import layout
from archcalc.errors import SpecError
from archcalc.layers.base import (
    SAME,
    VIEW,
    Attrs,
    Backward,
    Field,
    Footprint,
    LayerKind,
    Shape,
    numel,
    same,
    same_shape,
)
from archcalc.layout import Layout
from archcalc.sizes import format_shape, size_text


class Add(LayerKind):
    key = "add"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.Add"
    doc = "Elementwise sum of two or more inputs of the same shape (a residual merge)."
    min_inputs, max_inputs = 2, None

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        first = shapes[0]
        for other in shapes[1:]:
            if same_shape(other, first):
                continue
            if len(other) == len(first) == 4 and other[2:] == first[2:]:
                raise SpecError(
                    f"channel mismatch: cannot add {size_text(first[1])} channels to {size_text(other[1])} "
                    f"({format_shape(first)} + {format_shape(other)})",
                    hint="give the shortcut a 1×1 projection (conv2d) to the body's channels",
                )
            raise SpecError(f"cannot add shapes {format_shape(first)} and {format_shape(other)}",
                            hint="both inputs need the same shape; match strides and channels")
        return first

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """One sum after another: from the second on, the running sum and the new one are both alive."""
        return Footprint(transient=numel(out) * itemsize if len(shapes) > 2 else 0)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """Each sum laid out as TensorIterator lays out an elementwise result, from the running sum
        and the next input."""
        strides = layouts[0]
        for shape, other in zip(shapes[1:], layouts[1:]):
            strides = layout.iterated(out, [out, shape], [strides, other])
        return strides

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        return Backward(keeps_inputs=False, grad=SAME)  # each input's gradient is the sum's


class Concat(LayerKind):
    key = "concat"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.Concat"
    doc = "Joins two or more inputs along one dimension (channels by default), as in Inception."
    fields = {"dim": Field("index", 1, "dimension to join along; the others must match")}
    min_inputs, max_inputs = 2, None

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        rank = len(shapes[0])
        if not -rank <= a.dim < rank:
            raise SpecError(f"dim {a.dim} is out of range for {rank}-D inputs", field="dim")
        dim = a.dim % rank
        for other in shapes[1:]:
            if len(other) != rank or any(not same(x, y) for i, (x, y) in enumerate(zip(shapes[0], other))
                                         if i != dim):
                what = "spatial sizes" if rank == 4 and dim == 1 else "shapes"
                raise SpecError(
                    f"concat with mismatched {what}: {format_shape(shapes[0])} and {format_shape(other)}",
                    hint="all inputs must agree except along the joined dimension; check strides and padding",
                )
        joined = sum(shape[dim] for shape in shapes)
        return (*shapes[0][:dim], joined, *shapes[0][dim + 1:])

    def window(self, a: Attrs, shapes: list[Shape], out: Shape):
        return super().window(a, shapes, out) if a.dim % len(out) == 1 else None  # along H or W: no grid

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(dim=a.dim)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """In the memory format torch suggests for every input where they all suggest one, else
        contiguous (torch's cat)."""
        formats = {layout.suggested(out, shape, strides) for shape, strides in zip(shapes, layouts) if 0 not in shape}
        return formats.pop() if len(formats) == 1 else layout.contiguous(out)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        return Backward(keeps_inputs=False, grad=VIEW)  # each input's gradient a slice of the concat's


class Multiply(LayerKind):
    key = "multiply"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.Multiply"
    doc = ("Elementwise product of two inputs with torch's broadcasting, as in squeeze-and-excitation: "
           "(N, C, H, W) × (N, C, 1, 1) scales each channel.")
    min_inputs, max_inputs = 2, 2

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        first, second = shapes
        if len(first) != len(second):
            raise SpecError(f"cannot multiply shapes {format_shape(first)} and {format_shape(second)}",
                            hint="both inputs need the same number of dimensions")
        return tuple(_broadcast(x, y, first, second) for x, y in zip(first, second))

    def reads(self, a: Attrs, source: Shape, out: Shape, axis: int, units: set[int]) -> set[int]:
        if source[2 + axis] == 1 and out[2 + axis] > 1:  # broadcast: every unit reads the one
            return {0}
        return super().reads(a, source, out, axis, units)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """Each input's gradient is the incoming one times the other input, which torch keeps for it
        where it is wanted; a broadcast input's is that product of the output's size, then summed
        down to its own."""
        summed = tuple(numel(out) * itemsize if numel(shape) < numel(out) else 0 for shape in shapes)
        return Backward(summed_from=summed if any(summed) else (), keeps_for_the_others=True)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        return layout.iterated(out, shapes, layouts)


def _broadcast(x, y, first: Shape, second: Shape):
    """The size of one dimension after broadcasting: equal sizes, or a 1 that stretches."""
    if isinstance(y, int) and y == 1:
        return x
    if isinstance(x, int) and x == 1:
        return y
    if same(x, y):
        return x
    shapes = f"cannot multiply shapes {format_shape(first)} and {format_shape(second)}"
    if not any(getattr(size, "free_symbols", None) for size in (x, y)):
        raise SpecError(f"{shapes}: sizes {x} and {y} differ and neither is 1",
                        hint="a scale needs size 1 or the same size in each dimension, e.g. (N, C, 1, 1)")
    raise SpecError(f"{shapes}: sizes {size_text(x)} and {size_text(y)} are equal at no size, and the formulas "
                    "leave out the sizes where one of them is 1 (torch broadcasts it)",
                    hint="sizes given as numbers (--input) or swept (archcalc sweep) are each answered, those where "
                         "it broadcasts too; or give each dimension size 1 or the same size")
