"""Convolution and transposed convolution over 1, 2 or 3 spatial axes: one rule each, one kind per
number of axes."""

from __future__ import annotations

from math import gcd, prod

from archcalc import layout
from archcalc.errors import SpecError
from archcalc.layers.base import (
    MAX_COUNTED_PADDING,
    Attrs,
    Backward,
    Field,
    Footprint,
    LayerKind,
    Layout,
    Params,
    Resampling,
    Shape,
    TapsRead,
    Windows,
    WorkSize,
    axes_text,
    same,
    spatial,
)
from archcalc.layers.window import transposed_output, window_output
from archcalc.limits import MAX_FIELD_PERIOD
from archcalc.sizes import size_text

_SHARED_FIELDS = {
    "dilation": Field("size", 1, "spacing between kernel taps"),
    "groups": Field("count", 1, "channel groups; must divide input and output channels"),
    "bias": Field("bool", True, "whether the layer has a bias per output channel"),
}
"""The fields a convolution and a transposed convolution share, after their own."""


def _check_groups(a: Attrs, channels) -> None:
    if a.out % a.groups or not same(channels % a.groups, 0):
        raise SpecError(f"groups={a.groups} does not divide the channels (in {size_text(channels)}, out {a.out})",
                        field="groups", hint="choose groups that divide both input and output channels")


class _Conv(LayerKind):
    """Convolution over `axes` spatial axes (torch.nn.Conv1d, Conv2d, Conv3d): each kind below sets
    its key and number of axes, the rules are these."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        each = axes_text(cls.axes)
        cls.torch_module = f"torch.nn.Conv{cls.axes}d"
        cls.doc = f"{cls.axes}-D convolution (torch.nn.Conv{cls.axes}d). Input channels come from the incoming shape."
        cls.fields = {
            "out": Field("count", doc="output channels (filters)"),
            "kernel": Field("size", doc=f"kernel size, one number or {each}"),
            "stride": Field("size", 1, "step of the window"),
            "padding": Field("padding", 0, "zeros added on each side; 'same' keeps the size (stride 1 only)"),
            **_SHARED_FIELDS,
        }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, *sizes = spatial(shapes[0], self.key, self.axes)
        _check_groups(a, c)
        if a.padding == "same":
            if any(s != 1 for s in a.stride):
                raise SpecError("padding 'same' needs stride 1 (torch refuses it for strided convolutions)",
                                field="padding", hint="give the padding as a number instead")
            return (n, a.out, *sizes)  # torch pads d·(k−1) in all, the odd one on the right
        sizes = [window_output(size, k, s, p, d)
                 for size, k, s, p, d in zip(sizes, a.kernel, a.stride, a.padding, a.dilation)]
        return (n, a.out, *sizes)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        return convolution_layout(a, shapes[0], layouts[0], out, dtype)

    def weight_gradient_copied(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], itemsize: int,
                               dtype: str = "float32") -> int:
        """Its weight (out, in / groups, k…) copied where it runs channels-last."""
        return copied_weight_gradient(self, a, shapes, layouts, itemsize, shapes[0][1] // a.groups, dtype)

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        c = shapes[0][1]
        weight = a.out * (c // a.groups) * prod(a.kernel)
        return Params(weight=weight, bias=a.out if a.bias else 0)

    def macs(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        c_in = shapes[0][1]
        return prod(out) * (c_in // a.groups) * prod(a.kernel)

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        """A depthwise convolution (a group per input channel), a 1×1 one, or another."""
        if a.groups > 1 and a.groups == shapes[0][1]:
            return "depthwise_conv"
        return "pointwise_conv" if all(k == 1 for k in a.kernel) else "conv"

    def work_size(self, a: Attrs, shapes: list[Shape], out: Shape) -> WorkSize:
        """A depthwise convolution works across one channel a group: its width is its channels."""
        return conv_work_size(a, shapes, out, depthwise=self.work(a, shapes) == "depthwise_conv",
                              temporal=len(a.kernel) == 3 and a.kernel[0] > 1 and a.kernel[1:] == (1, 1),
                              strided=any(step > 1 for step in a.stride))

    def taps_read(self, a: Attrs, shapes: list[Shape], out: Shape) -> TapsRead:
        """Its taps that read its input, counted axis by axis (`taps_reading`), against the same
        kernel's padded k // 2 a side undilated on the same input; not counted (None) for a
        dilated one padded wider than MAX_COUNTED_PADDING. 'Same' padding of an odd total is
        counted as padding, though torch pads a copy of the input on its right first."""
        axes = list(zip(shapes[0][2:], out[2:], self.window(a, shapes, out)))
        widest = max((max(p, (outputs - 1) * s + d * (k - 1) - p - size + 1) for size, outputs, (k, s, p, d) in axes),
                     default=0)
        if widest > MAX_COUNTED_PADDING and any(d > 1 for *_, (_, _, _, d) in axes):
            return TapsRead(None, widest)
        share = 1.0
        for size, outputs, (k, s, p, d) in axes:
            undilated = taps_reading(size, (size + 2 * (k // 2) - k) // s + 1, k, s, k // 2, 1)
            share *= taps_reading(size, outputs, k, s, p, d) / undilated
        return TapsRead(share, widest)

    def channels_out(self, a: Attrs, shapes: list[Shape], out: Shape) -> int | None:
        """A dense or depthwise convolution's output channels (a grouped one's table of groups holds its blocks)."""
        return out[1] if a.groups == 1 or self.work(a, shapes) == "depthwise_conv" else None

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows:
        # 'same': torch pads d·(k − 1) in all, the smaller half on the left
        pads = ([d * (k - 1) // 2 for k, d in zip(a.kernel, a.dilation)] if a.padding == "same"
                else a.padding)
        return tuple(zip(a.kernel, a.stride, pads, a.dilation))

    def strides(self, a: Attrs) -> tuple[int, ...]:
        return a.stride

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """A new output, and for 'same' padding of an odd total the zero-padded copy of the input
        (`padded_copy`) while it runs."""
        return Footprint(transient=self.padded_copy(a, shapes) * itemsize)

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """Its input kept; for 'same' padding of an odd total the padded copy instead (torch's pad
        keeps nothing, its convolution keeps what it reads), and the padded copy's gradient, of
        which the input's gradient is a part: a new gradient of the input's size and the rest as
        temporaries (rounded as two tensors under the CUDA allocator, docs/memory.md), made only
        where the input needs a gradient."""
        padded = self.padded_copy(a, shapes)
        if not padded:
            return Backward()
        return Backward(keeps_inputs=False, kept=padded * itemsize, transient=(padded - prod(shapes[0])) * itemsize,
                        transient_for=(0,))

    @staticmethod
    def padded_copy(a: Attrs, shapes: list[Shape]) -> int:
        """Elements of the copy torch pads the input into for 'same' padding where some axis's
        total d·(k − 1) is odd (`convolved_input`); 0 otherwise."""
        convolved = convolved_input(a, shapes[0])
        return prod(convolved) if convolved != tuple(shapes[0]) else 0

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"in_channels": shapes[0][1], "out_channels": a.out, "kernel_size": a.kernel, "stride": a.stride,
                    "padding": a.padding, "dilation": a.dilation, "groups": a.groups, "bias": a.bias}


class Conv1d(_Conv):
    key, axes = "conv1d", 1


class Conv2d(_Conv):
    key, axes = "conv2d", 2


class Conv3d(_Conv):
    batch_breaks = (16,)
    key, axes = "conv3d", 3


class _ConvTranspose(LayerKind):
    """Transposed convolution over `axes` spatial axes (torch.nn.ConvTranspose1d, 2d, 3d): each
    input unit adds its channels times the kernel into a window of the output, `stride` apart."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.torch_module = f"torch.nn.ConvTranspose{cls.axes}d"
        cls.doc = (f"{cls.axes}-D transposed convolution (torch.nn.ConvTranspose{cls.axes}d), the learned "
                   "upsampling of decoders. Input channels come from the incoming shape.")
        cls.fields = {
            "out": Field("count", doc="output channels"),
            "kernel": Field("size", doc=f"kernel size, one number or {axes_text(cls.axes)}"),
            "stride": Field("size", 1, "step between the windows of neighbouring input units in the output"),
            "padding": Field("offset", 0, "rows removed from each side of the output: dilation·(kernel − 1) − padding "
                                          "zeros pad the input"),
            "output_padding": Field("offset", 0, "rows added to one side of the output (below stride or dilation)"),
            **_SHARED_FIELDS,
        }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, *sizes = spatial(shapes[0], self.key, self.axes)
        _check_groups(a, c)
        for extra, s, d in zip(a.output_padding, a.stride, a.dilation):
            if extra >= s and extra >= d:
                raise SpecError(f"output_padding {extra} is not below the stride ({s}) or the dilation ({d})",
                                field="output_padding", hint="torch needs output_padding < stride or < dilation")
        out = [transposed_output(size, k, s, p, e, d)
               for size, k, s, p, e, d in zip(sizes, a.kernel, a.stride, a.padding, a.output_padding, a.dilation)]
        return (n, a.out, *out)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        return convolution_layout(a, shapes[0], layouts[0], out, dtype)

    def weight_gradient_copied(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], itemsize: int,
                               dtype: str = "float32") -> int:
        """Its weight (in, out / groups, k…) copied where it runs channels-last."""
        return copied_weight_gradient(self, a, shapes, layouts, itemsize, a.out // a.groups, dtype)

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        weight = shapes[0][1] * (a.out // a.groups) * prod(a.kernel)
        return Params(weight=weight, bias=a.out if a.bias else 0)

    def macs(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        """Each input unit times the kernel: counted over the input grid, as fvcore and
        FlopCounterMode both count a transposed convolution (the output's overlaps add up)."""
        return prod(shapes[0]) * (a.out // a.groups) * prod(a.kernel)

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        return "conv"

    def work_size(self, a: Attrs, shapes: list[Shape], out: Shape) -> WorkSize:
        """Neither temporal nor strided: its stride spreads its output, it skips no input. No
        dispatch size: torch's own transposed kernel (SlowTranspose2d) is not the one a profile's
        native grid measures."""
        return conv_work_size(a, shapes, out, depthwise=False)._replace(dispatch=None)

    def channels_out(self, a: Attrs, shapes: list[Shape], out: Shape) -> int | None:
        return out[1] if a.groups == 1 else None

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows | None:
        """Output unit o gets input unit i through tap t where i·s − p + t·d = o: a pattern that
        repeats every s output units, one input unit on. None (no receptive field) where it would
        repeat after more than MAX_FIELD_PERIOD units (a stride of millions took minutes)."""
        if max(a.stride) > MAX_FIELD_PERIOD:
            return None
        return tuple(Resampling(s, 1, _transposed_taps(k, s, p, d))
                     for k, s, p, d in zip(a.kernel, a.stride, a.padding, a.dilation))

    def listed_reads(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        """Each tap, and each unit of the stride, along each axis."""
        return sum(a.kernel) + sum(a.stride)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"in_channels": shapes[0][1], "out_channels": a.out, "kernel_size": a.kernel, "stride": a.stride,
                    "padding": a.padding, "output_padding": a.output_padding, "groups": a.groups, "bias": a.bias,
                    "dilation": a.dilation}


def _transposed_taps(kernel: int, stride: int, padding: int, dilation: int) -> tuple[tuple[int, ...], ...]:
    """The input units each of the first `stride` output units of a transposed convolution gets,
    first to last: tap t reaches the output units o ≡ t·d − p (mod s), from input unit
    (o + p − t·d) / s (each tap once: the kernel and the stride, not their product)."""
    taps: list[list[int]] = [[] for _ in range(stride)]
    for t in range(kernel):
        o = (t * dilation - padding) % stride
        taps[o].append((o + padding - t * dilation) // stride)
    return tuple(tuple(sorted(units)) for units in taps)


class ConvTranspose1d(_ConvTranspose):
    key, axes = "conv_transpose1d", 1


class ConvTranspose2d(_ConvTranspose):
    key, axes = "conv_transpose2d", 2


class ConvTranspose3d(_ConvTranspose):
    batch_breaks = (16,)
    key, axes = "conv_transpose3d", 3


def convolved_input(a: Attrs, shape: Shape) -> tuple:
    """The input torch convolves, and chooses its kernel by: for 'same' padding where some axis's
    total d·(k − 1) is odd, the copy it pads the input into (the odd one on the right first, then
    it convolves with the even rest); else the input."""
    if a.padding != "same" or all(d * (k - 1) % 2 == 0 for k, d in zip(a.kernel, a.dilation)):
        return tuple(shape)
    n, c, *sizes = shape
    return (n, c, *(size + d * (k - 1) % 2 for size, k, d in zip(sizes, a.kernel, a.dilation)))


def conv_work_size(a: Attrs, shapes: list[Shape], out: Shape, depthwise: bool, temporal: bool = False,
                   strided: bool = False) -> WorkSize:
    """A convolution's `WorkSize`: for a depthwise one its channels, groups of 1 (its table being
    its own) and the alignment of its channels; for a grouped one the alignment of its channels a
    group in and out; for a dense one none. Its dispatch size and whether oneDNN runs it are of
    the input torch convolves (`convolved_input`)."""
    channels_in, channels_out = shapes[0][1], out[1]
    positions, taps = prod(out) // channels_out, prod(a.kernel)
    if depthwise:
        return WorkSize(float(channels_out), positions, 1, taps, temporal, strided,
                        alignment(gcd(channels_in, channels_out)))
    aligned = alignment(gcd(channels_in, channels_out) // a.groups) if a.groups > 1 else None
    convolved = convolved_input(a, shapes[0])
    return WorkSize((channels_in * channels_out) ** 0.5 / a.groups, positions, a.groups, taps, temporal, strided,
                    aligned, dispatch_size(a, convolved) if a.groups == 1 else None, runs_on_onednn(a, convolved))


def convolution_layout(a: Attrs, shape: Shape, strides: Layout, out: Shape, dtype: str = "float32") -> Layout:
    """The strides of a convolution's output on the CPU (torch 2.13; `tests/test_layout.py`):
    channels-last where it runs so (`runs_channels_last`), else contiguous."""
    if not runs_channels_last(a, shape, strides, dtype):
        return layout.contiguous(out)
    return layout.channels_last_as_2d(out) if len(out) == 3 else layout.channels_last(out)


def runs_channels_last(a: Attrs, shape: Shape, strides: Layout, dtype: str = "float32") -> bool:
    """Whether torch runs a convolution of an input of `shape` and `strides` (of `dtype`)
    channels-last on the CPU: a 1-D map made contiguous (where torch's is_contiguous does not
    hold), then seen as a 2-D one of height 1; a 2-D map whose strides read as channels-last; a
    3-D one too, where oneDNN's kernel runs it (`runs_on_onednn`), torch's own running contiguously."""
    if len(shape) == 3:
        made = strides if layout.is_contiguous(shape, strides) else layout.contiguous(shape)
        shape, strides = layout.as_2d(shape, made)
    return layout.strides_like_channels_last(shape, strides) and (len(shape) == 4 or runs_on_onednn(a, shape, dtype))


def copied_weight_gradient(kind: LayerKind, a: Attrs, shapes: list[Shape], layouts: list[Layout],
                           itemsize: int, second: int, dtype: str = "float32") -> int:
    """The bytes of a convolution's weight gradient that torch's AccumulateGrad copies to the
    weight's layout: where it runs channels-last and its weight's strides differ between layouts
    (its `second` dimension over 1, a kernel of more than one tap); else 0."""
    if second > 1 and prod(a.kernel) > 1 and runs_channels_last(a, shapes[0], layouts[0], dtype):
        return kind.params(a, shapes).weight * itemsize
    return 0


def runs_on_onednn(a: Attrs, shape: Shape, dtype: str = "float32") -> bool:
    """Whether torch runs a convolution of an input of `shape` and `dtype` through oneDNN on the
    CPU with one thread (aten's use_mkldnn): never a transposed one whose output padding is not
    below its stride along some axis (aten's is_output_padding_big); in bfloat16 every other one,
    in float16 and float64 none (torch 2.13 on an x86 CPU with AVX-512 but not its float16
    instructions, AVX512-FP16: oneDNN's own check of the CPU decides the two 16-bit types); in
    float32 one strided, dilated, of a batch of 16 or more, or with a kernel whose last two sizes
    are not both 1, and grouped, with a kernel's last two sizes both over 3, a batch over 1, or N·C
    times the first two spatial sizes over 20,480 (a 1-D one seen as 2-D, as aten sees it: a map
    of height 1, a kernel of 1×k). With more threads the first float32 condition always holds."""
    if any(extra >= s for extra, s in zip(a.get("output_padding", ()), a.stride)):
        return False
    if dtype != "float32":
        return dtype == "bfloat16"
    n, c, first, second = shape[:4] if len(shape) > 3 else (*shape[:2], 1, shape[2])
    kernel = (1, *a.kernel)[-2:]
    reason = any(s > 1 for s in a.stride) or any(d > 1 for d in a.dilation) or n >= 16 or kernel != (1, 1)
    worth = a.groups > 1 or min(kernel) > 3 or n > 1 or n * c * first * second > 20480
    return reason and worth


def dispatch_size(a: Attrs, shape: Shape) -> int | None:
    """A dense convolution's `WorkSize.dispatch`: N·C of its input times its first two spatial
    sizes, as 2-D (a 1-D input is 1 × its length), where torch may run its own kernel (batch 1,
    the kernel's last two sizes, as 2-D, not both over 3); else None."""
    n, c, *sizes = shape
    kernel = (1, *a.kernel)[-2:]
    if n != 1 or min(kernel) > 3:
        return None
    first, second = (1, *sizes) if len(sizes) == 1 else sizes[:2]
    return n * c * first * second


def taps_reading(size: int, outputs: int, kernel: int, stride: int, padding: int, dilation: int) -> float:
    """The share of the taps of `outputs` output units along one axis that read one of the `size`
    input units rather than the padding: tap t of output o reads unit o·s − p + t·d."""
    return 1 - taps_outside(size, outputs, kernel, stride, padding, dilation) / (kernel * outputs)


def taps_outside(size: int, outputs: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """The taps that fall in the padding (`taps_reading`): undilated, summed at once; dilated, over
    the outputs whose window reaches beyond an edge, those within the padding of either edge
    (at most a padding's worth over the stride each side), each output's at once."""
    if dilation == 1:
        last = (outputs - 1) * stride + kernel - size - padding  # how far beyond the right edge the last reaches
        return _clamped_sum(padding, stride, kernel, outputs) + _clamped_sum(last, stride, kernel, outputs)
    before = min(outputs, -(-padding // stride))
    after = max(before, (size - 1 + padding - (kernel - 1) * dilation) // stride + 1)
    return sum(min(kernel, max(0, -(-(padding - o * stride) // dilation)))
               + kernel - min(kernel, max(0, (size - 1 + padding - o * stride) // dilation + 1))
               for o in (*range(before), *range(after, outputs)))


def _clamped_sum(start: int, step: int, most: int, count: int) -> int:
    """The sum of start − i·step, each held between 0 and `most`, for i from 0 to count − 1."""
    full = 0 if start < most else min(count, (start - most) // step + 1)
    positive = 0 if start <= 0 else min(count, (start - 1) // step + 1)
    return full * most + (positive - full) * start - step * (full + positive - 1) * (positive - full) // 2


def alignment(channels: int) -> int:
    """The largest power of two `channels` is a multiple of (24: 8; 128: 128)."""
    return channels & -channels
