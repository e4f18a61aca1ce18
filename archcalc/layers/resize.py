"""Layers that change a map's spatial size without weights: upsampling, pixel shuffle, constant
padding and centre cropping, each to a size given in the spec or taken from a second input."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import AXIS_LETTERS, Attrs, Field, LayerKind, Shape, Windows, axes_text, holds, same, spatial

INTERPOLATION = {1: ("nearest", "linear"), 2: ("nearest", "bilinear"), 3: ("nearest", "trilinear")}
"""The modes of torch's interpolation for each number of axes: nearest, or linear along each axis."""


class _Resized(LayerKind):
    """A layer whose output size is a field or, given a second input, that input's spatial size
    (FCN and DeepLab upsample to the size of the image; U-Net crops a skip to the size of the
    decoder's map). The second input is not read: only its shape is."""

    min_inputs, max_inputs, value_inputs = 1, 2, 1
    size_field = "size"

    def target(self, a: Attrs, shapes: list[Shape]) -> tuple | None:
        """The spatial sizes the layer is asked for: the field's, or the second input's."""
        given = a[self.size_field]
        if len(shapes) == 1:
            return given
        if given is not None:
            raise SpecError(f"{self.key} takes its size from '{self.size_field}' or from a second input, not both",
                            field=self.size_field, hint=f"leave out '{self.size_field}', or read one input")
        return tuple(spatial(shapes[1], self.key, self.axes)[2:])


class _Upsample(_Resized):
    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        modes = INTERPOLATION[cls.axes]
        cls.torch_module = "archcalc.torchmodel.modules.Upsample"
        cls.doc = (f"Upsampling of an (N, C, {AXIS_LETTERS[cls.axes]}) map (torch.nn.functional.interpolate), "
                   f"{' or '.join(modes)}: by a whole-number scale, to a size, or to the size of a second input.")
        cls.fields = {
            "scale": Field("optional size", None, f"whole-number factor, one number or {axes_text(cls.axes)}"),
            "size": Field("optional size", None, f"output size, one number or {axes_text(cls.axes)}"),
            "mode": Field("text", "nearest", f"{' or '.join(modes)}", modes),
            "align_corners": Field("bool", False, f"{modes[1]} only: the corner pixels of input and output align"),
        }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, *sizes = spatial(shapes[0], self.key, self.axes)
        target = self.target(a, shapes)
        if (a.scale is None) == (target is None):
            raise SpecError(f"{self.key} takes exactly one of 'scale', 'size' or a second input to take the size of",
                            hint="give one: 'scale: 2', 'size: 56', or 'from: [x, input]'")
        if a.align_corners and a.mode == "nearest":
            raise SpecError("align_corners applies to the interpolating modes only, not to 'nearest'",
                            field="align_corners", hint=f"use mode: {INTERPOLATION[self.axes][1]}, or leave it out")
        if target is not None:
            return (n, c, *target)
        return (n, c, *(size * scale for size, scale in zip(sizes, a.scale)))

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"size": a.size, "scale": a.scale, "mode": a.mode, "align_corners": a.align_corners if a.mode != "nearest" else None}


class Upsample1d(_Upsample):
    key, axes = "upsample1d", 1


class Upsample2d(_Upsample):
    key, axes = "upsample2d", 2


class Upsample3d(_Upsample):
    key, axes = "upsample3d", 3


class PixelShuffle(LayerKind):
    key = "pixel_shuffle"
    torch_module = "torch.nn.PixelShuffle"
    doc = ("Rearranges channels into space (torch.nn.PixelShuffle), as in sub-pixel convolution: "
           "(N, C·r², H, W) → (N, C, H·r, W·r).")
    fields = {"factor": Field("count", doc="the upscale factor r; r² must divide the channels")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, h, w = spatial(shapes[0], self.key)
        square = a.factor * a.factor
        if not same(c % square, 0):
            raise SpecError(f"factor {a.factor}: {square} does not divide the {c} input channels", field="factor",
                            hint="the channels must be a multiple of factor²")
        return (n, c // square, h * a.factor, w * a.factor)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"upscale_factor": a.factor}


class _Pad(_Resized):
    size_field = "padding"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.torch_module = "archcalc.torchmodel.modules.Pad"
        cls.doc = (f"Constant padding of a map with {cls.axes} spatial axis{'es' if cls.axes > 1 else ''} "
                   "(torch.nn.functional.pad): the same on both sides of each axis, or, given a second input, "
                   "up to its size, the odd one after (as U-Net ports pad the upsampled map to the skip's).")
        cls.fields = {
            "padding": Field("offset", None, f"added on each side, one number or {axes_text(cls.axes)}"),
            "value": Field("number", 0.0, "the constant padded with"),
        }

    def sides(self, a: Attrs, shapes: list[Shape]) -> list[tuple]:
        """(before, after) along each axis."""
        sizes = spatial(shapes[0], self.key, self.axes)[2:]
        if len(shapes) == 1:
            if a.padding is None:
                raise SpecError(f"{self.key} needs 'padding' or a second input to pad to the size of",
                                hint="give 'padding: 1', or 'from: [x, skip]'")
            return [(p, p) for p in a.padding]
        self.target(a, shapes)  # refuses a padding given as well
        sides = []
        for size, goal in zip(sizes, shapes[1][2:]):
            if not holds(goal >= size):
                raise SpecError(f"cannot pad {size} to the smaller {goal}",
                                hint="pad the smaller map to the larger, or crop the larger")
            extra = goal - size
            sides.append((extra // 2, extra - extra // 2))
        return sides

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, *sizes = shapes[0]
        return (n, c, *(size + before + after for size, (before, after) in zip(sizes, self.sides(a, shapes))))

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows:
        """One pixel, shifted by the padding before: given, or half of what the output added (the
        map it reads is all a window may look at: `reads` passes that one alone)."""
        before = a.padding or [(m - n) // 2 for n, m in zip(shapes[0][2:], out[2:])]
        return tuple((1, 1, p, 1) for p in before)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"padding": a.padding, "value": a.value}


class Pad1d(_Pad):
    key, axes = "pad1d", 1


class Pad2d(_Pad):
    key, axes = "pad2d", 2


class Pad3d(_Pad):
    key, axes = "pad3d", 3


class _Crop(_Resized):
    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.torch_module = "archcalc.torchmodel.modules.Crop"
        cls.doc = (f"Centre crop of a map with {cls.axes} spatial axis{'es' if cls.axes > 1 else ''} "
                   "(slicing), to a size or to the size of a second input, as U-Net crops its skips: "
                   "⌊(in − out)/2⌋ is cut before, the rest after.")
        cls.fields = {"size": Field("optional size", None, f"output size, one number or {axes_text(cls.axes)}")}

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, *sizes = spatial(shapes[0], self.key, self.axes)
        target = self.target(a, shapes)
        if target is None:
            raise SpecError(f"{self.key} needs 'size' or a second input to crop to the size of",
                            hint="give 'size: 56', or 'from: [skip, x]'")
        for size, goal in zip(sizes, target):
            if not holds(goal <= size):
                raise SpecError(f"cannot crop {size} to the larger {goal}",
                                hint="crop the larger map to the smaller, or pad the smaller")
        return (n, c, *target)

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows:
        return tuple((1, 1, -((size - goal) // 2), 1) for size, goal in zip(shapes[0][2:], out[2:]))

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"size": a.size}


class Crop1d(_Crop):
    key, axes = "crop1d", 1


class Crop2d(_Crop):
    key, axes = "crop2d", 2


class Crop3d(_Crop):
    key, axes = "crop3d", 3
