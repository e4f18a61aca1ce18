"""Layers that change a map's spatial size without weights: upsampling, pixel shuffle, constant
padding and centre cropping, each to a size given in the spec or taken from a second input."""

from __future__ import annotations

import struct
from math import floor
from typing import TYPE_CHECKING

from archcalc.errors import SpecError
from archcalc.layers.base import (
    AXIS_LETTERS,
    SAME,
    VIEW,
    Attrs,
    Backward,
    Field,
    Footprint,
    LayerKind,
    Layout,
    Resampling,
    Shape,
    Windows,
    axes_text,
    holds,
    numel,
    same,
    spatial,
)
from archcalc.limits import MAX_FIELD_PERIOD
from archcalc.sizes import size_text

if TYPE_CHECKING:
    from fractions import Fraction

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

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """Upsampling, padding and cropping keep only sizes; the gradient is a new tensor."""
        return Backward(keeps_inputs=False)


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

    def listed_reads(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        return sum(out[2:])

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        """Nearest is a gather of the input (memory work); the interpolating modes weigh the inputs
        around each output."""
        return "memory" if a.mode == "nearest" else "resampling"

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows | None:
        """Along each axis, the input units each output unit reads, as aten's upsampling kernels
        compute them on the CPU; none while a size is a symbol, or where no pattern of at most
        MAX_FIELD_PERIOD units gives them."""
        sizes = list(zip(shapes[0][2:], out[2:]))
        if not all(isinstance(n, int) and isinstance(m, int) for n, m in sizes):
            return None
        keys = [(n, m, a.scale[axis] if a.scale is not None else None) for axis, (n, m) in enumerate(sizes)]
        patterns = {}  # an axis like one before it (a square map's) is worked out once
        for axis, key in enumerate(keys):
            if key not in patterns:
                patterns[key] = self._pattern(a, axis, *key[:2])
        along = [patterns[key] for key in keys]
        return None if None in along else tuple(along)

    def _pattern(self, a: Attrs, axis: int, n: int, m: int) -> Resampling | None:
        """In exact arithmetic the reads repeat `inputs` units on every `outputs` (the ratio n/m
        in lowest terms; for align_corners, (n − 1)/(m − 1)). torch computes the positions in
        floating point, which at a position that falls exactly on a pixel may read its neighbour
        too (weight about 10⁻¹⁶), or the pixel before: the reads of the whole map are
        compared, and where they differ the map's own reads are the pattern (align_corners: no
        pattern, as its jump is not n/m). A map of one unit is broadcast: every unit reads it."""
        if n == 1 < m:  # every unit reads the one there is: a broadcast
            return Resampling(1, 0, ((0,),))
        from fractions import Fraction  # imported here: receptive fields only (with decimal, ~5 ms a start)

        ratio = Fraction(n, m) if not a.align_corners else Fraction(n - 1, max(m - 1, 1))
        outputs, inputs = ratio.denominator, ratio.numerator
        if outputs > MAX_FIELD_PERIOD or m > MAX_FIELD_PERIOD:
            return None
        pattern = Resampling(outputs, inputs, _exact_reads(a, ratio, outputs))
        position = self._source(a, axis, n, m)
        taps = tuple(_reads(a.mode, position(o)) for o in range(m))
        if all(list(taps[o]) == pattern.read(o) for o in range(m)):
            return pattern
        return None if a.align_corners else Resampling(m, n, taps)

    def _source(self, a: Attrs, axis: int, n: int, m: int):
        """Output unit → its position in the input, unclamped: an int (nearest) or a float."""
        scale = a.scale[axis] if a.scale is not None else None  # torch then reads by 1/scale, not n/m
        if a.mode == "nearest":  # aten's nearest_idx, in float32 whatever the tensor's type
            if m == n:
                return lambda o: o
            if m == 2 * n:
                return lambda o: o >> 1
            step = _float32(1.0 / scale if scale else _float32(n) / _float32(m))
            return lambda o: floor(_float32(_float32(o) * step))
        if a.align_corners:  # aten's area_pixel_compute_scale and _source_index (float64 tensors)
            step = (n - 1) / (m - 1) if m > 1 else 0.0
            return lambda o: step * o
        step = 1.0 / scale if scale else n / m
        return lambda o: _fused(step, o + 0.5, -0.5)

    def reads(self, a: Attrs, source: Shape, out: Shape, axis: int, units: set[int]) -> set[int]:
        """torch's reads at the map's borders: a position left of the first pixel is the first,
        none past the last (the second of two interpolated pixels is the last again)."""
        n, m = source[2 + axis], out[2 + axis]
        position = self._source(a, axis, n, m)
        read = set()
        for o in units:
            where = position(o)
            if a.mode == "nearest":
                read.add(min(where, n - 1))
                continue
            where = max(where, 0.0)
            first = min(_pixel(where), n - 1)
            weight = min(max(where - first, 0.0), 1.0)  # of the pixel after `first`
            if weight < 1:
                read.add(first)
            if weight > 0:
                read.add(first + (first < n - 1))
        return read

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"size": a.size, "scale": a.scale, "mode": a.mode, "align_corners": a.align_corners if a.mode != "nearest" else None}


def _float32(value: float) -> float:
    """`value` rounded to the nearest float32, as aten's float arithmetic rounds."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _exact_reads(a: Attrs, ratio: Fraction, outputs: int) -> tuple[tuple[int, ...], ...]:
    """The input units output units 0 … outputs − 1 read in exact arithmetic, away from the borders
    (`_reads`): unit o's position is (A·o + B) / D in whole numbers, o·ratio (nearest,
    align_corners) or (o + 1/2)·ratio − 1/2, its first unit the floor, and a second one where it
    falls between two."""
    p, q = ratio.numerator, ratio.denominator
    step, offset, scale = (p, 0, q) if a.mode == "nearest" or a.align_corners else (2 * p, p - q, 2 * q)
    reads = []
    for o in range(outputs):
        first, between = divmod(step * o + offset, scale)
        reads.append((first,) if a.mode == "nearest" or not between else (first, first + 1))
    return tuple(reads)


def _fused(a: float, b: float, c: float) -> float:
    """a × b + c rounded once, as aten's compiled code computes a position (a fused multiply-add):
    (2/10) × 2.5 − 0.5 is 2.8 × 10⁻¹⁷ there, not 0, and the pixel after is read."""
    from fractions import Fraction

    return float(Fraction(a) * Fraction(b) + Fraction(c))


def _pixel(where: float) -> int:
    """The pixel at or before torch's position `where`: aten floors it as a float32 (`floorf`),
    so a position just below a pixel (7 − 10⁻¹⁵) is that pixel, read with a weight of one."""
    return floor(_float32(where))


def _reads(mode: str, where: float) -> tuple[int, ...]:
    """The input units read at torch's position `where`, away from the borders: one (nearest, or an
    interpolation that falls on a pixel, or just below one) or two. For nearest `where` is torch's
    (floored) index already (an int)."""
    first = _pixel(where) if isinstance(where, float) else where
    return (first,) if mode == "nearest" or where <= first else (first, first + 1)


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
            raise SpecError(f"factor {a.factor}: {square} does not divide the {size_text(c)} input channels", field="factor",
                            hint="the channels must be a multiple of factor²")
        return (n, c // square, h * a.factor, w * a.factor)

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows:
        """Each output pixel reads the input pixel it came from: r output units per input unit."""
        return (Resampling(a.factor, 1, ((0,),) * a.factor),) * 2

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"upscale_factor": a.factor}

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """torch saves only the factor (its gradient is pixel_unshuffle of the output's)."""
        return Backward(keeps_inputs=False)


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
                raise SpecError(f"cannot pad {size_text(size)} to the smaller {size_text(goal)}",
                                hint="pad the smaller map to the larger, or crop the larger")
            extra = goal - size
            sides.append((extra // 2, extra - extra // 2))
        return sides

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        sides = self.sides(a, shapes)  # refuses an input of another rank first
        n, c, *sizes = shapes[0]
        return (n, c, *(size + before + after for size, (before, after) in zip(sizes, sides)))

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
                raise SpecError(f"cannot crop {size_text(size)} to the larger {size_text(goal)}",
                                hint="crop the larger map to the smaller, or pad the smaller")
        return (n, c, *target)

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows:
        return tuple((1, 1, -((size - goal) // 2), 1) for size, goal in zip(shapes[0][2:], out[2:]))

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        return Footprint(VIEW, touches_input=True)  # slices are views

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        return layouts[0]  # a slice keeps its input's strides

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"size": a.size}

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """torch slices one cropped axis after another (an axis kept whole is no operation; a crop
        that cuts nothing is an alias of its input); the backward of each slice makes a new gradient of the tensor
        it sliced, from the last slice back. Cropped along several axes, the busiest moment is the
        last: the gradient of the input with that of the input cropped along its first cropped
        axis, the incoming one let go."""
        sizes = list(shapes[0])
        cropped = [axis for axis in range(2, len(sizes)) if out[axis] != sizes[axis]]
        if not cropped:  # torch's indexing returns an alias of the input (a view), whose backward hands it on
            return Backward(keeps_inputs=False, grad=SAME)
        if len(cropped) == 1:
            return Backward(keeps_inputs=False)
        sizes[cropped[0]] = out[cropped[0]]
        return Backward(keeps_inputs=False, transient=numel(tuple(sizes)) * itemsize, releases_incoming=True)


class Crop1d(_Crop):
    key, axes = "crop1d", 1


class Crop2d(_Crop):
    key, axes = "crop2d", 2


class Crop3d(_Crop):
    key, axes = "crop3d", 3
