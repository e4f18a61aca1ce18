"""How torch lays out each tensor in memory: its strides, in elements, one per dimension.

A layer's output is laid out by its kind (`LayerKind.laid_out`): a view keeps its input's
strides or reorders them, an elementwise layer follows its inputs as torch's TensorIterator does,
most other kinds allocate in the memory format torch suggests for their input (channels-last
stays channels-last). Where it matters is a layer that must see its input as a matrix: a flatten,
which torch makes a view where the strides allow it and a copy where they do not, and a linear
layer on more than two dimensions (`archcalc.layers.linear`). The rules here are torch's
(c10/core/TensorImpl, aten's TensorIterator, computeStride of aten/TensorUtils), checked against
torch by tests/test_layout.py.
"""

from __future__ import annotations

Layout = tuple[int, ...]
"""A tensor's strides, in elements."""


def contiguous(shape: tuple[int, ...]) -> Layout:
    """The strides of a contiguous tensor of `shape` (row-major)."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def is_contiguous(shape: tuple[int, ...], strides: Layout) -> bool:
    """torch's `is_contiguous`: row-major, dimensions of size 1 aside."""
    step = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1:
            if stride != step:
                return False
            step *= size
    return True


_CHANNELS_LAST_ORDER = {4: (1, 3, 2, 0), 5: (1, 4, 3, 2, 0)}
"""The dimensions of a channels-last map from the fastest: channels, then the spatial axes from the
last, then the batch."""


def channels_last(shape: tuple[int, ...]) -> Layout:
    """The strides of a channels-last tensor of `shape` (4-D or 5-D)."""
    strides, step = [0] * len(shape), 1
    for d in _CHANNELS_LAST_ORDER[len(shape)]:
        strides[d] = step
        step *= max(shape[d], 1)
    return tuple(strides)


def _is_channels_last_contiguous(shape: tuple[int, ...], strides: Layout) -> bool:
    """torch's `is_contiguous(memory_format=torch.channels_last)` (a 4-D tensor only)."""
    if len(shape) != 4:
        return False
    step = 1
    for d in _CHANNELS_LAST_ORDER[4]:
        if shape[d] != 1:
            if strides[d] != step:
                return False
            step *= shape[d]
    return True


def strides_like_channels_last(shape: tuple[int, ...], strides: Layout) -> bool:
    """torch's is_channels_last_strides_2d / _3d: strides that read as channels-last, ambiguous
    ones as contiguous."""
    if len(shape) not in _CHANNELS_LAST_ORDER or strides[1] == 0:
        return False
    least = 0
    for d in _CHANNELS_LAST_ORDER[len(shape)]:
        if shape[d] == 0 or strides[d] < least or (d == 0 and least == strides[1]):
            return False
        least = strides[d] * (max(1, shape[d]))
    return True


def suggested(out: tuple[int, ...], shape: tuple[int, ...], strides: Layout) -> Layout:
    """A new tensor of shape `out` in the memory format torch suggests for an input of `shape` and
    `strides` (`suggest_memory_format`): channels-last where the input's strides read so."""
    if len(out) == len(shape) and strides_like_channels_last(shape, strides):
        return channels_last(out)
    return contiguous(out)


def as_2d(shape: tuple[int, ...], strides: Layout) -> tuple[tuple[int, ...], Layout]:
    """A 1-D map (N, C, L) as torch views it to convolve or pool it as a 2-D one: of height 1, the
    inserted axis of stride L times the length's (`unsqueeze(2)`)."""
    n, c, length = shape
    return (n, c, 1, length), (strides[0], strides[1], length * strides[2], strides[2])


def suggested_as_2d(out: tuple[int, ...], shape: tuple[int, ...], strides: Layout) -> Layout:
    """`suggested` for a 1-D map (N, C, L), which torch views as a 2-D one of height 1 (`as_2d`)
    and squeezes back: a transposed map reads as channels-last there, and its output keeps that
    order."""
    return channels_last_as_2d(out) if strides_like_channels_last(*as_2d(shape, strides)) else contiguous(out)


def channels_last_as_2d(out: tuple[int, ...]) -> Layout:
    """The strides of a 1-D map (N, C, L) made channels-last as a 2-D one of height 1, squeezed back."""
    last = channels_last((out[0], out[1], 1, out[2]))
    return (last[0], last[1], last[3])


def _dense(shape: tuple[int, ...], strides: Layout) -> bool:
    """torch's `is_non_overlapping_and_dense`: some order of the dimensions is row-major."""
    if len(shape) == 1:
        return shape[0] < 2 or strides[0] == 1
    order = sorted((d for d in range(len(shape)) if shape[d] >= 2), key=lambda d: strides[d])
    step = 1
    for d in order:
        if strides[d] != step:
            return False
        step *= shape[d]
    return True


def iterated(out: tuple[int, ...], shapes: list[tuple[int, ...]], layouts: list[Layout]) -> Layout:
    """The strides of the output TensorIterator allocates for an elementwise operation of inputs of
    `shapes` and `layouts`, broadcast to `out`: the inputs' own layout where all share it (contiguous,
    channels-last, or one dense order), else the dimensions ordered by the inputs' strides, the first
    input whose strides tell two dimensions apart deciding, a broadcast one telling none."""
    if all(shape == out for shape in shapes):
        if all(is_contiguous(out, strides) for strides in layouts):
            return contiguous(out)
        if all(_is_channels_last_contiguous(out, strides) for strides in layouts):
            return channels_last(out)
        if all(_dense(out, strides) for strides in layouts) and len(set(layouts)) == 1:
            return layouts[0]
    broadcast = [_broadcast(out, shape, strides) for shape, strides in zip(shapes, layouts)]
    order = _iteration_order(out, broadcast)
    if order == list(reversed(range(len(out)))):
        return contiguous(out)
    strides, step = [0] * len(out), 1
    for d in order:
        strides[d] = step
        step *= max(out[d], 1)
    return tuple(strides)


def _broadcast(out: tuple[int, ...], shape: tuple[int, ...], strides: Layout) -> Layout:
    """An input's strides broadcast to `out`: 0 along the dimensions it repeats."""
    lead = len(out) - len(shape)
    return tuple(0 if d < lead or (shape[d - lead] == 1 and out[d] != 1) else strides[d - lead]
                 for d in range(len(out)))


def _iteration_order(out: tuple[int, ...], layouts: list[Layout]) -> list[int]:
    """TensorIterator's reorder_dimensions: the dimensions from the fastest, by an insertion sort
    that leaves an ambiguous pair as it is."""
    def should_swap(d0: int, d1: int) -> int:
        for strides in layouts:
            s0, s1 = strides[d0], strides[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return -1 if s0 < s1 else 1
            if out[d0] > out[d1]:
                return 1
        return 0

    order = list(reversed(range(len(out))))
    for i in range(1, len(out)):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            comparison = should_swap(order[d0], order[d1])
            if comparison > 0:
                order[d0], order[d1] = order[d1], order[d0]
                d1 = d0
            elif comparison < 0:
                break
    return order


def viewed(shape: tuple[int, ...], strides: Layout, new: tuple[int, ...]) -> Layout | None:
    """The strides of `shape` seen as `new` without a copy (torch's computeStride, behind `view`
    and `reshape`), or None where no view can (torch's reshape then copies)."""
    if 0 in shape:
        return contiguous(new)
    result = [0] * len(new)
    view_d = len(new) - 1
    base = strides[-1] if strides else 1
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * base):
            while view_d >= 0 and (view_numel < tensor_numel or new[view_d] == 1):
                result[view_d] = view_numel * base
                view_numel *= new[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                base, tensor_numel, view_numel = strides[d - 1], 1, 1
    return tuple(result) if view_d == -1 else None

