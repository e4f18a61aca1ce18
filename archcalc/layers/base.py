"""What every layer kind is: its fields, and its shape, parameter and count rules.

The rules are plain integer arithmetic on the input shapes and the resolved fields. They live
in the layer kinds and nowhere else; every figure archcalc prints comes from them. The same
rules run on symbolic sizes: there a size is a formula, and a rule's conditions go through
`holds` and `same`, which hand them to the engine that `archcalc.symbolic` installs in
`SIZE_RULES` while it runs the rules (this package never imports it).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from functools import cached_property
from math import prod
from typing import Any, ClassVar, NamedTuple, Protocol

from archcalc import layout
from archcalc.errors import RankError, SpecError, hidden
from archcalc.layout import Layout
from archcalc.limits import MAX_DIMENSION
from archcalc.sizes import format_shape

Shape = tuple[int, ...]
Window = tuple[int, int, int, int]
"""(kernel, stride, left padding, dilation) of the input window behind one output unit, along one axis."""


class Resampling(NamedTuple):
    """Along one axis, the input units read by a layer whose pattern of reads repeats every
    `outputs` output units, `inputs` input units further on (upsampling, a transposed
    convolution, pixel shuffle: the jump is a fraction of an input unit). Output unit
    q·outputs + r reads the units in taps[r], each plus q·inputs; none where taps[r] is empty."""

    outputs: int
    inputs: int
    taps: tuple[tuple[int, ...], ...]

    def read(self, unit: int) -> list[int]:
        """The input units (unbounded: they may lie past the map) that output unit `unit` reads."""
        q, r = divmod(unit, self.outputs)
        return [tap + q * self.inputs for tap in self.taps[r]]


Windows = tuple[Window | Resampling, ...]
"""A layer's windows, one per spatial axis: a sliding window, or a resampling pattern."""
AXIS_NAMES: dict[int, tuple[str, ...]] = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
"""The spatial axes of a map with 1, 2 or 3 of them, as torch names them (N, C, L), (N, C, H, W), (N, C, D, H, W)."""
AXIS_LETTERS = {1: "L", 2: "H, W", 3: "D, H, W"}
PIXEL: dict[int, Windows] = {rank: ((1, 1, 0, 1),) * rank for rank in AXIS_NAMES}
"""The windows of a layer that keeps the grid, by number of spatial axes: each unit reads its own pixel."""
REQUIRED = object()


class Field(NamedTuple):
    """One field of a layer kind. `type` is one of the keys of COERCIONS; `choices`, where given,
    the values the field may take."""

    type: str
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class Params(NamedTuple):
    """Parameter and buffer counts of one layer."""

    weight: int = 0
    bias: int = 0
    buffers: int = 0

    @property
    def trainable(self) -> int:
        return self.weight + self.bias


def quoted_value(value: Any) -> str:
    """A field's value as a message quotes it: YAML's null (`~`, or nothing after the colon) as such."""
    return "null (no value)" if value is None else repr(value)


NEW, VIEW, SAME = "new", "view", "same"
"""What a layer's output is in torch: a tensor of its own, a view of its first input's storage, or
its first input itself (no operation runs)."""
WORK = ("depthwise_conv", "pointwise_conv", "conv", "linear", "memory", "pooling", "resampling", "transcendental")
"""The kinds of work a layer's kernel does, as the roofline tells them apart (`LayerKind.work`):
a depthwise convolution, a 1×1 convolution, any other convolution, a matrix product, work that
moves data more than it computes (elementwise, normalisation, copies), a window reduction (max and
average pooling, local response normalisation), an interpolating resampling (linear, bilinear and
trilinear upsampling: each output from the inputs around it, weighted), and an elementwise
function that computes an exponential or the like per element (sigmoid, tanh, GELU, SiLU,
softmax). On a CPU the last three move a byte several to tens of times slower than a ReLU does
(`archcalc device-profile` measures each)."""
SIZED_WORK = ("depthwise_conv", "pointwise_conv", "conv", "linear")
"""The kinds of work whose layers say their size (`LayerKind.work_size`), and a profile may give
efficiencies by size for (`archcalc.devices.SizeTable`)."""


class WorkSize(NamedTuple):
    """How wide and how long a layer's kernel's work is, for a profile's efficiencies by size
    (`LayerKind.work_size`, read by `archcalc.devices.SizeTable.at`)."""

    width: float
    """The channels (features) a group works across: the geometric mean of its inputs' and
    outputs' (a depthwise convolution's: its channels)."""
    positions: int
    """Its output's elements over its output channels, the batch included."""
    groups: int = 1
    """A convolution's groups (a depthwise one's 1: its table is its own)."""
    taps: int | None = None
    """The taps of a convolution's kernel."""
    temporal: bool = False
    """A 3-D kernel along its first axis only (k×1×1)."""
    strided: bool = False
    """A stride over 1 along some axis."""
    alignment: int | None = None
    """Grouped or depthwise: the largest power of two its channels a group are all a multiple of."""
    dispatch: int | None = None
    """A dense convolution of batch 1 whose kernel's last two sizes are not both over 3: its
    input's channels times its first two spatial sizes (a 1-D input's: its length), by which torch
    chooses on the CPU its own kernel (an unfolding and a GEMM) or oneDNN's (aten's use_mkldnn
    reads the input's first four sizes); else None."""
    onednn: bool = False
    """A dense, grouped or transposed (not depthwise) convolution torch runs through oneDNN on the
    CPU in float32 at one thread (`archcalc.layers.conv.runs_on_onednn`), which pays oneDNN's fixed
    cost (`archcalc.devices.DeviceProfile.fixed`). A depthwise one's kind is measured on oneDNN."""


MAX_COUNTED_PADDING = 4096
"""The widest padding at which a dilated convolution's taps in the padding are counted: no profile
skips them at a wider one (`archcalc.devices.PaddedTaps.up_to`)."""


class TapsRead(NamedTuple):
    """How many of a convolution's taps read its input rather than its zero padding, which a
    direct kernel skips (`LayerKind.taps_read`, read by `archcalc.devices.DeviceProfile.padded`)."""

    share: float | None
    """The share of its taps, over its output positions, that read its input, over that share for
    the same kernel and stride on the same input padded k // 2 a side and undilated, as a profile's
    grid measures it: 1 for most layers, under 1 for a dilated one, over 1 for one padded less;
    None where it is not counted (a padding wider than any profile skips taps at)."""
    padding: int
    """Its widest padding on any side."""


POOLINGS = ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d")
"""The window poolings torch runs, by its operations' names: what a device profile's rates of
pooling are given for (`archcalc.devices.PoolingRate`)."""


class Pooled(NamedTuple):
    """The window pooling a layer's kernel runs (`LayerKind.pooled`): on this project's CPU its
    time follows its outputs and the taps of its window, not its bytes (a 2-D max pooling of 3×3
    and stride 1 moved a byte 3 times slower than one of 2×2 and stride 2; a 1-D one, on torch's
    own kernel, 10 times faster than either)."""

    operation: str
    """One of POOLINGS."""
    outputs: int
    """The elements it computes, the batch included."""
    taps: int
    """The taps of its window: the inputs each output reads, padding included."""


INDEX_BYTES = 8
"""The bytes of one int64 index (the positions max pooling finds), whatever the model's dtype."""


class Footprint(NamedTuple):
    """What a layer's torch forward allocates at inference, as torch's MemTracker counts it: the
    outputs of the aten operations it runs (a kernel's own scratch memory is not seen)."""

    output: str = NEW
    """NEW, VIEW or SAME."""
    transient: int = 0
    """Bytes of temporaries alive at the busiest moment of the forward, beyond its output: freed
    when it returns."""
    touches_input: bool = False
    """Whether the forward runs an operation whose result lies on its first input's storage (a view:
    flatten, permute, unsqueeze): MemTracker then counts that storage even if it did not see it
    made (the model's input)."""
    moments: tuple[tuple[int, ...], ...] = ()
    """Where the temporaries are not one tensor of `transient` bytes: the bytes of each temporary
    tensor at each moment that may be the busiest (`transient` is the largest sum), so that each
    tensor can be rounded as an allocator rounds it."""

    def temporaries(self, rounded: Callable[[int], int]) -> int:
        """The temporaries at the busiest moment, each tensor's bytes `rounded`."""
        return max((sum(map(rounded, moment)) for moment in self.moments), default=rounded(self.transient))


class Backward(NamedTuple):
    """What a layer's torch operation does in a training step, as torch's MemTracker counts it:
    what its forward keeps for the backward pass, and what its backward allocates."""

    keeps_inputs: bool = True
    """Its inputs stay alive until its backward has run (convolutions, pooling, norms)."""
    keeps_output: bool = False
    """Its output does (relu, sigmoid, tanh: their gradient is read off the output)."""
    kept: int = 0
    """Bytes of new tensors its forward makes and keeps (max pooling's indices, batch norm's
    statistics, dropout's mask): in training its forward's temporaries are the larger of these
    and `footprint`'s."""
    grad: str = NEW
    """What it hands each input as its gradient: NEW (a tensor of the input's size), VIEW (a
    view of its incoming gradient: concat, flatten) or SAME (the incoming gradient: add)."""
    transient: int = 0
    """Bytes of temporaries alive at the busiest moment of its backward, beyond the gradients."""
    output: str | None = None
    """NEW, VIEW or SAME where its training forward differs from `footprint`'s (dropout)."""
    kept_tensors: tuple[int, ...] = ()
    """Where `kept` is not one tensor: each kept tensor's bytes, so that each can be rounded as an
    allocator rounds it."""
    moments: tuple[tuple[int, ...], ...] = ()
    """Where `transient` is not one tensor: each temporary's bytes at each moment that may be the
    busiest (as Footprint.moments)."""
    transient_for: tuple[int, ...] = ()
    """The inputs (by position) whose gradient needs `transient`: it is made only where one of them
    needs a gradient (empty: whatever the inputs)."""
    keeps_for_the_others: bool = False
    """With `keeps_inputs`: each input is kept only where another input needs a gradient (a product:
    the gradient of one factor is the incoming one times the others)."""
    kept_without_gradient: bool = False
    """In training its forward makes `kept` whether or not a gradient is wanted (dropout's mask):
    without one, it is let go as the layer returns."""
    kept_on_cuda: int | None = None
    """Bytes its forward keeps on CUDA where they differ from `kept` (dropout: torch's fused CUDA
    kernel keeps a mask of one byte per element, where its CPU path keeps one of the input's dtype)."""
    later: tuple[int, ...] = ()
    """Temporaries of a later moment of its backward, beyond the input's gradient, when the
    incoming gradient and every kept tensor but the first (`kept_tensors[1:]`) are let go (local
    response norm: the pooling's backward, after the division's and the power's)."""
    viewed_result: bool = False
    """Its output is a view of the new tensor its last operation made (a linear layer on more than
    2 dimensions: torch views the matrix product's 2-D result back): an in-place layer after it
    changes a view, as autograd counts it."""
    weights_first: bool = False
    """Its weights' gradients become `.grad` before its inputs' gradients are handed on: torch runs
    it as several operations, the weights' last (a linear layer on more than 2 dimensions: a view,
    a matrix product and a view back), and accumulates a weight's gradient first."""
    forward_transient: int | None = None
    """Bytes of its training forward's temporaries beyond what it keeps, where they are not
    `footprint`'s less `kept` (a linear layer that copies its input: the copy kept, the matrix
    product alive with the sum of the bias)."""
    bias_first: bool = False
    """Its bias's gradient becomes `.grad` before the rest of its backward runs: its forward adds
    the bias last, in an operation of its own (a linear layer that folds its input)."""
    releases_incoming: bool = False
    """Its backward is a chain of operations, the first of which reads the incoming gradient: that
    gradient is let go before the busiest moment, the last operation's (a crop along several axes:
    `transient` is the gradient the last one reads)."""
    summed_from: tuple[int, ...] = ()
    """Where its inputs' gradients are made at a larger size and summed down to theirs (a product of
    broadcast factors): each input's gradient's bytes as made (0 where made at its own size).
    torch's backward makes every wanted one at once; autograd's engine then sums each down in the
    inputs' order (`validate_outputs`, `sum_to`), letting go of each as it is summed: while the
    first is summed down, all of them are alive."""

    def kept_bytes(self, rounded: Callable[[int], int], cuda: bool = False) -> int:
        """What the forward keeps (on CUDA where `cuda`), each tensor's bytes `rounded`."""
        if cuda and self.kept_on_cuda is not None:
            return rounded(self.kept_on_cuda)
        return sum(map(rounded, self.kept_tensors)) if self.kept_tensors else rounded(self.kept)

    def temporaries(self, rounded: Callable[[int], int]) -> int:
        """The backward's temporaries at the busiest moment, each tensor's bytes `rounded`."""
        return max((sum(map(rounded, moment)) for moment in self.moments), default=rounded(self.transient))


class Attrs(dict):
    """Resolved field values, readable as attributes (`a.kernel`): the instance's attribute
    dictionary is the mapping itself, so reading one is as fast as any attribute."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__ = self

    def __reduce__(self) -> tuple:  # copies and pickles as a plain dict would
        return (Attrs, (dict(self),))


class LayerKind:
    """Base of all layer kinds. Subclasses set `key`, `doc`, `fields` and override the rules."""

    key: ClassVar[str]
    doc: ClassVar[str] = ""
    fields: ClassVar[dict[str, Field]] = {}
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    value_inputs: ClassVar[int | None] = None
    """How many of its inputs, from the first, the layer reads the values of (None: all); the
    others give only their shape (`crop` to the size of a second input)."""
    keeps_grid: ClassVar[bool] = False
    """Each output unit reads the input pixel at its own position (activations, merges, …)."""
    axes: ClassVar[int] = 2
    """The spatial axes of the map the kind acts on (conv1d: 1, conv3d: 3); its size fields have one
    number per axis."""

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        """The output shape, or SpecError when the input does not fit the layer."""
        raise NotImplementedError

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        return Params()

    def macs(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        """Multiply-accumulates of convolutions and matrix products (the `paper` count)."""
        return 0

    def backward_macs(self, a: Attrs, shapes: list[Shape], out: Shape, macs: int) -> tuple[int, int]:
        """The MACs of the layer's backward pass, given its forward's (`macs`): (the gradient of its
        input, the gradient of its weights). A product y = x·W has two of its size behind it,
        ∂x = ∂y·Wᵀ and ∂W = xᵀ·∂y, so by default both are the forward's MACs (archcalc.backward)."""
        return macs, macs

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> Windows | None:
        """Along each spatial axis, the (kernel, stride, left padding, dilation) of the input
        window behind one output unit (`archcalc.receptive`); None where the output has no
        spatial grid or the kind does not say: then it has no receptive field, never a wrong one.
        One pixel for a kind that `keeps_grid`."""
        return PIXEL.get(len(out) - 2) if self.keeps_grid else None

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...] | None:
        """The dimensions of an input of `rank` dimensions along which an output element reads
        positions other than its own, wherever the channels are: () for a kind that acts on each
        element alone, (rank − 1,) for one that acts on the last axis. None where the kind does
        not say: behind a permute that moves the channels, it has no receptive field."""
        return None

    moves_channels: ClassVar[bool] = False
    """Whether the kind puts the channels at another dimension (permute)."""

    def channels_after(self, a: Attrs, channels: int, rank: int) -> int | None:
        """Where the channels are in the output, for an input of `rank` dimensions whose channels
        are at dimension `channels`, if the spatial axes keep their order and the field goes
        through; None otherwise. A kind that mixes no spatial axis leaves them where they are."""
        mixes = self.mixes(a, rank)
        return channels if mixes is not None and set(mixes) <= {channels} else None

    def listed_reads(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        """How many reads `window` lists (an upsampling's, of every output unit along each axis; a
        transposed convolution's, of each tap and unit of its stride): spent from the model's
        MAX_FIELD_READS before it lists them (`archcalc.receptive`). 0 for a window of a few numbers."""
        return 0

    def reads(self, a: Attrs, source: Shape, out: Shape, axis: int, units: set[int]) -> set[int]:
        """Which positions along spatial `axis` (0: the first after the channels) of an input of
        shape `source` the output positions `units` read: the window's taps inside the input; all
        of them where the layer has no window (it mixes positions)."""
        n = source[2 + axis]
        windows = self.window(a, [source], out)
        if windows is None:
            return set(range(n))
        window = windows[axis]
        if isinstance(window, Resampling):
            return {p for u in units for p in window.read(u) if 0 <= p < n}
        kernel, stride, padding, dilation = window
        taps = {u * stride - padding + t * dilation for u in units for t in range(kernel)}
        return {p for p in taps if 0 <= p < n}

    def strides(self, a: Attrs) -> tuple[int, ...] | None:
        """The step of a sliding window along each spatial axis; None for other kinds."""
        return None

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """What the kind's torch forward allocates at inference, for elements of `itemsize` bytes:
        by default a new output tensor and nothing else (kinds that differ say so)."""
        return Footprint()

    def footprint_on(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                     itemsize: int) -> Footprint:
        """`footprint` for inputs laid out in memory with the strides `layouts` (`archcalc.layout`):
        the same whatever their layout, but for a kind whose torch forward copies an input it cannot
        view as it needs (flatten, linear)."""
        return self.footprint(a, shapes, out, itemsize)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """The strides torch gives its output at inference, from its inputs' (`archcalc.layout`),
        its tensors of `dtype`: its first input's where it hands that on, else a new tensor in the
        memory format torch suggests for its first input (convolutions, pooling, batch norm,
        resampling, padding: a channels-last map stays channels-last). Kinds that differ say so (a
        3-D convolution, by the dtype too)."""
        if self.footprint(a, shapes, out, 1).output == SAME:
            return layouts[0]
        return layout.contiguous(out) if self.allocates_contiguous else layout.suggested(out, shapes[0], layouts[0])

    batch_breaks: ClassVar[tuple[int, ...]] = ()
    """The batches from which its output's layout may change with the same input layout (a 3-D
    convolution: oneDNN runs it from a batch of 16, `archcalc.layers.conv.runs_on_onednn`)."""

    allocates_contiguous: ClassVar[bool] = False
    """Whether its new output is contiguous whatever its input's layout (a matrix product, softmax,
    layer norm over the last axis, a mean over the spatial axes)."""

    def weights_read(self, a: Attrs, shapes: list[Shape], itemsize: int) -> int:
        """The bytes of parameters and buffers its forward reads at inference (`archcalc.roofline`):
        by default all of them."""
        return self.params(a, shapes).trainable * itemsize + self.buffer_bytes(a, shapes, itemsize)

    def launches(self, a: Attrs, shapes: list[Shape], out: Shape) -> bool:
        """Whether the layer runs a kernel at inference (`archcalc.roofline`): it makes a new output
        or works in place; a view (flatten, permute, a slice) or the input itself (identity, dropout
        at inference) runs none and costs nothing."""
        footprint = self.footprint(a, shapes, out, 1)
        return footprint.output == NEW or (footprint.output == SAME and footprint.touches_input)

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        """The kind of work its kernel does, one of WORK: what a device profile's measured
        efficiencies are given for (`archcalc.roofline`). 'memory' (elementwise, normalisation,
        copies) unless the kind says otherwise."""
        return "memory"

    def work_size(self, a: Attrs, shapes: list[Shape], out: Shape) -> WorkSize | None:
        """How wide and how long its kernel's work is, for a profile's efficiencies by size
        (`WorkSize`, `archcalc.devices.SizeTable`). None for a kind whose efficiency a profile
        gives for its kind of work alone."""
        return None

    def taps_read(self, a: Attrs, shapes: list[Shape], out: Shape) -> TapsRead | None:
        """How many of its kernel's taps read its input rather than its padding (`TapsRead`);
        None for a kind whose kernel has no taps to skip."""
        return None

    def pooled(self, a: Attrs, shapes: list[Shape], out: Shape) -> Pooled | None:
        """The window pooling its kernel runs (`Pooled`), timed by its outputs and taps where a
        device profile measured that pooling's rate (`DeviceProfile.pooled`); None for a kind
        that runs none."""
        return None

    def channels_out(self, a: Attrs, shapes: list[Shape], out: Shape) -> int | None:
        """The output channels (features) its kernel computes in blocks, where a device profile
        measured a block for its kind of work (`DeviceProfile.rounded_up`). None for a kind that
        computes none, or whose blocks a profile's table of groups already holds."""
        return None

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """What the kind keeps for the backward pass and allocates in it (`Backward`): by
        default its inputs kept, a new gradient for each, no temporaries."""
        return Backward()

    def backward_on(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                    itemsize: int) -> Backward:
        """`backward` for inputs laid out with the strides `layouts` (`archcalc.layout`): the same
        whatever their layout, but for a kind whose torch forward copies an input it cannot view
        as it needs (linear)."""
        return self.backward(a, shapes, out, itemsize)

    def weight_gradient_copied(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], itemsize: int,
                               dtype: str = "float32") -> int:
        """The bytes of its weight's gradient that torch's AccumulateGrad copies to the weight's own
        layout in a training step, for inputs laid out as `layouts` and tensors of `dtype` (a
        convolution running channels-last hands the gradient so): by default none."""
        return 0

    def buffer_bytes(self, a: Attrs, shapes: list[Shape], itemsize: int) -> int:
        """The bytes of the layer's buffers: by default every buffer value of the model's dtype."""
        return self.params(a, shapes).buffers * itemsize

    def buffer_tensors(self, a: Attrs, shapes: list[Shape], itemsize: int) -> tuple[int, ...]:
        """The bytes of each of the layer's buffers: by default one tensor of them all."""
        size = self.buffer_bytes(a, shapes, itemsize)
        return (size,) if size else ()

    torch_module: ClassVar[str] = ""
    """The torch module that computes this layer, as a dotted path (`torch.nn.Conv2d`); the
    torch side (`archcalc.torchmodel.build_layer`) imports and builds it, never this package."""

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict[str, Any]:
        """The keyword arguments of `torch_module` for this layer."""
        return {}

    def resolve(self, values: dict[str, Any]) -> Attrs:
        """Check and coerce field values, fill defaults; SpecError names the field."""
        attrs = Attrs()
        for name, default in self.defaults.items():
            if name in values:
                attrs[name] = value = coerce(self.fields[name].type, values[name], name, self.axes)
                choices = self.fields[name].choices
                if choices and value not in choices:
                    raise SpecError(f"field '{name}' of {self.key} must be one of {', '.join(map(repr, choices))}, "
                                    f"got {quoted_value(value)}", field=name)
            elif default is REQUIRED:
                raise SpecError(f"{self.key} needs the field '{name}'", field=name,
                                hint=f"add '{name}: …' ({self.fields[name].doc})")
            else:
                attrs[name] = default
        return attrs

    @cached_property
    def defaults(self) -> dict[str, Any]:
        """Each field's default, coerced as a value given in a spec would be (REQUIRED where none)."""
        return {name: field.default if field.default in (None, REQUIRED)
                else coerce(field.type, field.default, name, self.axes) for name, field in self.fields.items()}


def spatial(shape: Shape, kind: str, axes: int = 2) -> Shape:
    """(N, C, *sizes) of a map with `axes` spatial axes (N, C, H, W for 2), or SpecError naming
    the layer kind."""
    if len(shape) != axes + 2:
        given = len(shape) - 2
        other = f"{kind[:-2]}{given}d" if given in AXIS_NAMES and kind[-2:] in ("1d", "2d", "3d") else None
        raise RankError(
            f"{kind} needs a {axes + 2}-D input (N, C, {AXIS_LETTERS[axes]}), got {format_shape(shape)}",
            hint=f"this input has {given} spatial {'axis' if given == 1 else 'axes'}: use {other}" if other
            else "spatial layers must come before 'flatten'" if given < 1
            else f"{kind} takes {axes} spatial {'axis' if axes == 1 else 'axes'} only, and this input has {given}",
        )
    return shape


class SizeRules(Protocol):
    """How conditions on formula sizes are decided (`archcalc.symbolic.context.Assumptions`)."""

    def assume(self, condition: Any) -> bool: ...

    def assume_equal(self, a: Any, b: Any) -> bool: ...


IN_TRAINING: ContextVar[bool] = ContextVar("archcalc_in_training", default=False)
"""Whether the layers' rules run for a training step (`archcalc.analysis.analyze_graph(training=True)`):
batch norm then normalises by the batch's statistics, whatever its running ones, and refuses what
torch's training forward refuses."""

SIZE_RULES: ContextVar[SizeRules | None] = ContextVar("archcalc_size_rules", default=None)
"""The engine deciding conditions on formula sizes while the rules run on them; None otherwise."""


def holds(condition: Any) -> bool:
    """Whether a condition of a layer rule is true. On numbers it is a plain bool; on symbolic
    sizes it is true unless it can hold at no input size, and it becomes a constraint."""
    if isinstance(condition, bool):
        return condition
    return _size_rules().assume(condition)


def same(a: Any, b: Any) -> bool:
    """Whether two sizes are equal (see `holds`)."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return _size_rules().assume_equal(a, b)


def _size_rules() -> SizeRules:
    rules = SIZE_RULES.get()
    if rules is None:
        raise RuntimeError("symbolic sizes are analysed only inside archcalc.symbolic")
    return rules


def same_shape(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))


def numel(shape: Shape) -> int:
    return prod(shape)


def _whole(value: Any, name: str, minimum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise SpecError(f"field '{name}' must be a whole number, got {quoted_value(value)}", field=name)
    if minimum is not None and value < minimum:
        raise SpecError(f"field '{name}' must be at least {minimum}, got {value}", field=name)
    if abs(value) > MAX_DIMENSION:
        raise SpecError(f"field '{name}' must be at most {MAX_DIMENSION:,}, got {value:,}", field=name,
                        hint="whole-number fields are limited to 2³¹ − 1 (docs/spec.md, Limits)")
    return value


def axes_text(axes: int) -> str:
    """'[height, width]': how a size field lists one number per spatial axis."""
    return f"[{', '.join(AXIS_NAMES[axes])}]"


def _sizes(value: Any, name: str, minimum: int, axes: int) -> tuple[int, ...]:
    """One whole number per spatial axis: a list of them, or one number for every axis."""
    if isinstance(value, (list, tuple)):
        if len(value) != axes:
            raise SpecError(f"field '{name}' must be one number or {axes_text(axes)}, got {list(value)}",
                            field=name)
        return tuple(_whole(item, name, minimum) for item in value)
    return (_whole(value, name, minimum),) * axes


def _padding(value: Any, name: str, axes: int) -> tuple[int, ...] | str:
    if value in ("same", "valid"):
        return (0,) * axes if value == "valid" else "same"
    if isinstance(value, str):
        raise SpecError(f"field '{name}' must be a number, {axes_text(axes)}, 'same' or 'valid', "
                        f"got '{value}'", field=name)
    return _sizes(value, name, 0, axes)


def _indices(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"field '{name}' must be a list of whole numbers, got {quoted_value(value)}", field=name)
    return tuple(_whole(item, name, None) for item in value)


def _boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"field '{name}' must be true or false, got {quoted_value(value)}", field=name)
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"field '{name}' must be text, got {quoted_value(value)}", field=name)
    if any(map(hidden, value)):  # shown in every output: a control character would reach the terminal
        raise SpecError(f"field '{name}' must be printable text on one line, got {quoted_value(value)}", field=name,
                        hint="remove the control, format or line-break characters")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST_FLOAT:
        raise SpecError(f"field '{name}' must be a number a float holds (at most about 1.8e+308), got a whole "
                        f"number of {len(str(abs(value))):,} digits", field=name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        hint = (f"YAML reads {value} as text (an exponent needs a '.' and a sign: 1.0e-6), and a parameter keeps "
                "it so: write 1.0e-6 or 0.000001" if isinstance(value, str) and _EXPONENT_TEXT.fullmatch(value) else None)
        raise SpecError(f"field '{name}' must be a number, got {quoted_value(value)}", field=name, hint=hint)
    return float(value)


_LARGEST_FLOAT = int(sys.float_info.max)
"""The largest whole number a float holds: a larger one cannot be converted (OverflowError)."""
_EXPONENT_TEXT = re.compile(r"[-+]?[0-9]*\.?[0-9]+[eE][-+]?[0-9]+")
"""A number in exponent notation that YAML 1.1 reads as text (1e-6)."""


def _probability(value: Any, name: str) -> float:
    number = _number(value, name)
    if not 0 <= number <= 1:
        raise SpecError(f"field '{name}' must be from 0 to 1, got {number}", field=name)
    return number


COERCIONS: dict[str, Callable[[Any, str, int], Any]] = {
    "count": lambda v, n, axes: _whole(v, n, 1),
    "index": lambda v, n, axes: _whole(v, n, None),
    "indices": lambda v, n, axes: _indices(v, n),
    "size": lambda v, n, axes: _sizes(v, n, 1, axes),
    "offset": lambda v, n, axes: _sizes(v, n, 0, axes),
    "optional size": lambda v, n, axes: None if v is None else _sizes(v, n, 1, axes),
    "padding": _padding,
    "bool": lambda v, n, axes: _boolean(v, n),
    "text": lambda v, n, axes: _text(v, n),
    "number": lambda v, n, axes: _number(v, n),
    "probability": lambda v, n, axes: _probability(v, n),
}
"""How a field of each type is read: (value, field name, the kind's spatial axes) → its value."""


def coerce(type_name: str, value: Any, name: str, axes: int = 2) -> Any:
    return COERCIONS[type_name](value, name, axes)
