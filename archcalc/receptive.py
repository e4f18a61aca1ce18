"""Receptive fields: the input region behind one output unit of every layer, along each axis.

Along one axis a layer's units form a grid over the input: unit i sees the pixels from
start + i·jump − (size − 1)/2 to start + i·jump + (size − 1)/2 (pixel p's centre is at p;
padding counts, so the region may reach past the input). A window of kernel k dilated by d
(span k' = d·(k − 1) + 1), stride s and left padding p over a field (r, j, t) gives

    r' = r + (k' − 1)·j        j' = j·s        t' = t + ((k' − 1)/2 − p)·j

Layers that keep the spatial grid (activations, batch norm, channel shuffle, …) see one pixel.
Where paths merge (add, concat, multiply) the first unit sees the union of what each path sees,
so the size is the largest over the paths when they are centred alike. A path broadcast along
an axis (a squeeze-and-excitation scale of size 1) shows every unit the same region, the whole
input: such a field is `whole` from there on. Layers without a spatial grid (after flatten) and
adaptive pooling whose windows differ in size have no field (None).

Behind upsampling, a transposed convolution or pixel shuffle, neighbouring units may see the
same pixels, and the jump is a fraction of a pixel: the regions repeat every few units, shifted
by a whole number of pixels (`Periodic`). Its size is the largest region of any unit.

A permute that moves the channels (ConvNeXt's channels-last blocks) keeps the field where it keeps
the batch first and the spatial axes in their order (`Moved`: the same axes, at other dimensions);
behind it only kinds that mix no spatial axis (`LayerKind.mixes`: elementwise ones, a layer norm or
linear layer over the channels, now last) keep it, until a permute moves the channels back.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, lcm
from typing import TYPE_CHECKING, NamedTuple

from archcalc.graph import INPUT
from archcalc.layers.base import PIXEL as KEEPS_GRID
from archcalc.layers.base import Resampling
from archcalc.limits import MAX_FIELD_PERIOD, MAX_FIELD_READS

if TYPE_CHECKING:
    from archcalc.graph import Graph
    from archcalc.layers.base import Window, Windows


_new = tuple.__new__
"""Makes a named tuple from its values without its own __new__ (a Python function, as slow again):
every layer makes three."""


class Axis(NamedTuple):
    """The field along one axis: its size, its jump, and the first pixel of the first unit's
    field (`low`; whole-number arithmetic throughout, as the fields' borders are whole pixels).
    A named tuple, made several times faster than a frozen dataclass."""

    size: int
    jump: int
    low: int
    whole: bool = False
    """Every unit sees the whole input along this axis (through a broadcast path)."""

    @property
    def start(self) -> int | float:
        """The centre of the first unit's field: a whole pixel (int) or a half one (7.5)."""
        twice = 2 * self.low + self.size - 1
        return twice // 2 if twice % 2 == 0 else twice / 2

    def through(self, window: Window | Resampling, reads: Reads) -> Axis | Periodic | None:
        if type(window) is Resampling:
            return Periodic((self.low,), (self.low + self.size - 1,), self.jump, self.whole).through(window, reads)
        kernel, stride, padding, dilation = window
        size, jump, low, whole = self
        return _new(Axis, (size + dilation * (kernel - 1) * jump, jump * stride, low - padding * jump, whole))

    def bounds(self, unit: int) -> tuple[int, int]:
        """Unit `unit`'s first and last pixel by the field alone."""
        low = self.low + unit * self.jump
        return low, low + self.size - 1

    def unclipped(self, unit: int) -> tuple[int, int] | None:
        """Unit `unit`'s region by the field alone (first, last pixel; may reach past the input);
        None for a whole field, which reaches every pixel whatever the input's size."""
        return None if self.whole else self.bounds(unit)


class Periodic(NamedTuple):
    """A field whose units' regions repeat every `len(lows)` units, `shift` pixels further on:
    unit q·period + r sees the pixels lows[r] + q·shift to highs[r] + q·shift (none where
    lows[r] is None: the unit reads padding or inserted zeros only)."""

    lows: tuple[int | None, ...]
    highs: tuple[int | None, ...]
    shift: int
    whole: bool = False

    @property
    def size(self) -> int:
        """The largest region of any unit."""
        return max((high - low + 1 for low, high in zip(self.lows, self.highs) if low is not None), default=0)

    @property
    def jump(self) -> Fraction:
        """The step between neighbouring units' regions, on average: a fraction of a pixel."""
        return Fraction(self.shift, len(self.lows))

    @property
    def low(self) -> int | None:
        return self.lows[0]

    @property
    def start(self) -> int | float | None:
        """The centre of the first unit's field; None where it sees no pixel."""
        if self.lows[0] is None:
            return None
        twice = self.lows[0] + self.highs[0]
        return twice // 2 if twice % 2 == 0 else twice / 2

    def bounds(self, unit: int) -> tuple[int, int] | None:
        q, r = divmod(unit, len(self.lows))
        low = self.lows[r]
        return None if low is None else (low + q * self.shift, self.highs[r] + q * self.shift)

    def unclipped(self, unit: int) -> tuple[int, int] | None:
        return None if self.whole else self.bounds(unit)

    def through(self, window: Window | Resampling, reads: Reads) -> Axis | Periodic | None:
        if type(window) is not Resampling:
            kernel, stride, padding, dilation = window
            if kernel > reads.left:  # its taps would not fit what is left to read: listed, they took minutes
                return None
            window = Resampling(1, stride, (tuple(t * dilation - padding for t in range(kernel)),))
        return _pattern(self.bounds, len(self.lows), self.shift, self.whole, window, reads)


class Reads:
    """What is left of MAX_FIELD_READS for one model."""

    def __init__(self) -> None:
        self.left = MAX_FIELD_READS

    def spend(self, count: int) -> bool:
        """Whether `count` more reads fit."""
        self.left -= count
        return self.left >= 0


def _pattern(bounds, period: int, shift: int, whole: bool, window: Resampling, reads: Reads
             ) -> Axis | Periodic | None:
    """The field behind `window` over a field of this period and shift, whose unit u sees
    bounds(u): each output unit sees the union of what the units it reads see. None where the
    new pattern would repeat only after more than MAX_FIELD_PERIOD units, or `reads` run out.
    Where every unit reads the same units (a map of one unit upsampled), they see what a
    broadcast shows: the whole input."""
    step = window.inputs // gcd(period, window.inputs)
    outputs = window.outputs * (period // gcd(period, window.inputs))
    if outputs > MAX_FIELD_PERIOD or not reads.spend(outputs):
        return None
    lows, highs = [], []
    for unit in range(outputs):
        taps = window.read(unit)
        if not reads.spend(len(taps)):
            return None
        seen = [region for tap in taps if (region := bounds(tap)) is not None]
        lows.append(min(low for low, _ in seen) if seen else None)
        highs.append(max(high for _, high in seen) if seen else None)
    return _simplest(lows, highs, shift * step, whole or window.inputs == 0)


def _simplest(lows: list, highs: list, shift: int, whole: bool) -> Axis | Periodic:
    """The field with the shortest period that gives these regions: an Axis where every unit's
    region is the last one's, a whole number of pixels on."""
    period = len(lows)
    for short in range(1, period + 1):
        if period % short or (shift * short) % period:
            continue
        step = shift * short // period
        if all(_shifted(lows[u], lows[u - short], step) and _shifted(highs[u], highs[u - short], step)
               for u in range(short, period)):
            break
    lows, highs, shift = lows[:short], highs[:short], shift * short // period
    if short == 1 and lows[0] is not None:
        return Axis(highs[0] - lows[0] + 1, shift, lows[0], whole)
    return Periodic(tuple(lows), tuple(highs), shift, whole)


def _shifted(value: int | None, earlier: int | None, step: int) -> bool:
    return value is None if earlier is None else value == earlier + step


class ReceptiveField(tuple):
    """The field along each spatial axis (height and width of a 2-D map), an Axis each."""

    __slots__ = ()

    @property
    def axes(self) -> tuple[Axis, ...]:
        return self

    @property
    def height(self) -> Axis:
        """Along the height (of a 2-D or 3-D map)."""
        return self[-2]

    @property
    def width(self) -> Axis:
        """Along the width (of a 2-D or 3-D map); along the length of a 1-D one."""
        return self[-1]

    def through(self, windows: Windows, reads: Reads) -> ReceptiveField | None:
        """The field behind a layer with these windows (one per axis) over this one; this field
        itself behind a layer that keeps the grid."""
        if windows is KEEPS_GRID.get(len(windows)):
            return self
        first, window = self[0], windows[0]
        if self.count(first) == len(self) and windows.count(window) == len(windows):  # square: worked out once
            if type(first) is Axis and type(window) is not Resampling:
                return _new(ReceptiveField, (first.through(window, reads),) * len(self))
            if type(window) is Resampling:
                return _alike(first, window, len(self), reads)
        axes = [axis.through(window, reads) for axis, window in zip(self, windows)]
        return None if None in axes else _new(ReceptiveField, axes)


def _alike(axis: Axis | Periodic, window: Resampling, count: int, reads: Reads) -> ReceptiveField | None:
    """The field of `count` alike axes behind alike resampling windows, worked out once and its
    reads spent for each axis, as working out each would spend them."""
    left = reads.left
    behind = axis.through(window, reads)
    spent = left - reads.left
    if behind is None or not all(reads.spend(spent) for _ in range(count - 1)):
        return None
    return _new(ReceptiveField, (behind,) * count)


class Moved(ReceptiveField):
    """The field of a map whose channels a permute has moved from the second dimension, such as
    ConvNeXt's channels-last (N, H, W, C): the same axes in the same order, at the dimensions other
    than the batch (first) and the channels (at `channels`)."""

    def __new__(cls, axes, channels: int):
        field = super().__new__(cls, axes)
        field.channels = channels
        return field


def _moved_field(node, field: ReceptiveField, shapes) -> ReceptiveField | None:
    """The field behind a permute, or behind any node over a map whose channels are moved."""
    channels = field.channels if type(field) is Moved else 1
    to = node.kind.channels_after(node.attrs, channels, len(shapes[node.inputs[0]]))
    return None if to is None else ReceptiveField(field) if to == 1 else Moved(field, to)


PIXEL = {rank: ReceptiveField((Axis(1, 1, 0),) * rank) for rank in KEEPS_GRID}
"""The field of the input, by number of spatial axes: each unit sees its own pixel."""
_UNKNOWN = object()


def receptive_fields(graph: Graph, shapes: dict[str, tuple[int, ...]]) -> dict[str, ReceptiveField | None]:
    """Every layer's field (by name), and every block's (the field of its output layer)."""
    fields: dict[str, ReceptiveField | None] = {INPUT: PIXEL.get(len(shapes[INPUT]) - 2)}
    known: dict[tuple, Windows | None] = {}  # windows by field values and shapes, shared by repeats
    reads = Reads()
    moved: dict[str, Moved] = {}  # the maps whose channels a permute has moved: None in `fields` until the end
    for node in graph.nodes:
        inputs = node.inputs
        if len(inputs) == 1:  # most layers: without building a list in a loop (a fifth of the time here)
            incoming, in_shapes = [fields[inputs[0]]], [shapes[inputs[0]]]
        else:
            incoming = [fields[name] for name in inputs[:node.kind.value_inputs]]
            in_shapes = [shapes[name] for name in inputs]  # all of them: a kind's window may depend on each
        if None in incoming:
            fields[node.name] = None
            if moved and inputs[0] in moved:
                _keep(node.name, _moved_field(node, moved[inputs[0]], shapes), fields, moved)
            continue
        out = shapes[node.name]
        key = (id(node.attrs), node.kind.key, out, *in_shapes)
        windows = known.get(key, _UNKNOWN)
        if windows is _UNKNOWN:
            listed = node.kind.listed_reads(node.attrs, in_shapes, out)
            affordable = not listed or reads.spend(listed)
            windows = known[key] = node.kind.window(node.attrs, in_shapes, out) if affordable else None
        if windows is None:
            fields[node.name] = None
            if node.kind.moves_channels:
                _keep(node.name, _moved_field(node, incoming[0], shapes), fields, moved)
        else:
            merged = _merge(incoming, in_shapes[:len(incoming)], out, reads) if len(incoming) > 1 else incoming[0]
            fields[node.name] = None if merged is None else merged.through(windows, reads)
    fields.update(moved)
    for name, scope in graph.scopes.items():
        fields[name] = fields[scope.output]
    del fields[INPUT]
    return fields


def _keep(name: str, field: ReceptiveField | None, fields: dict, moved: dict) -> None:
    """Record a field: one of a map whose channels are moved in `moved`, any other in `fields`."""
    if type(field) is Moved:
        moved[name] = field
    else:
        fields[name] = field


def _merge(incoming: list[ReceptiveField], in_shapes: list[tuple[int, ...]], out: tuple[int, ...], reads: Reads
           ) -> ReceptiveField | None:
    axes = []
    for index in range(len(out) - 2):
        along = [(field.axes[index], shape[2 + index]) for field, shape in zip(incoming, in_shapes)]
        broadcast = any(size == 1 and out[2 + index] > 1 for _, size in along)
        paths = [axis for axis, size in along if size == out[2 + index]] or [a for a, _ in along]
        axes.append(_union(paths, broadcast, reads, out[2 + index]))
    return None if None in axes else ReceptiveField(axes)


def _union(paths: list[Axis | Periodic], whole: bool, reads: Reads, units: int = 2) -> Axis | Periodic | None:
    """The field of a merge along one axis of `units` units: the union of the paths' fields."""
    whole = whole or any(axis.whole for axis in paths)
    if any(type(axis) is Periodic for axis in paths):
        if whole and len({axis.jump for axis in paths}) > 1:  # all seen: the largest jump, as below
            return max(paths, key=lambda axis: axis.jump)._replace(whole=True)
        return _periodic_union(paths, whole, reads)
    if not whole and units > 1 and len({axis.jump for axis in paths}) > 1:
        return None  # no one pattern: unit by unit the paths' fields move apart (one unit has one field)
    low = min(axis.low for axis in paths)
    high = max(axis.low + axis.size - 1 for axis in paths)
    return Axis(high - low + 1, max(axis.jump for axis in paths), low, whole)


def _periodic_union(paths: list[Axis | Periodic], whole: bool, reads: Reads) -> Axis | Periodic | None:
    """Unit by unit, the union of what the paths see; None where their jumps differ (no one
    pattern then repeats), the pattern would repeat only after more than MAX_FIELD_PERIOD units,
    or `reads` run out."""
    if len({axis.jump for axis in paths}) > 1:
        return None
    periods = [len(axis.lows) if type(axis) is Periodic else 1 for axis in paths]
    period = lcm(*periods)
    if period > MAX_FIELD_PERIOD or not reads.spend(period * len(paths)):
        return None
    lows, highs = [], []
    for unit in range(period):
        seen = [region for axis in paths if (region := axis.bounds(unit)) is not None]
        lows.append(min(low for low, _ in seen) if seen else None)
        highs.append(max(high for _, high in seen) if seen else None)
    return _simplest(lows, highs, int(paths[0].jump * period), whole)


def unit_region(graph: Graph, shapes: dict[str, tuple[int, ...]], layer: str, unit: tuple[int, ...]
                ) -> tuple[tuple[int, int] | None, ...]:
    """The input pixels (first, last along each axis) that output unit `unit` ((h, w) on a 2-D map) of
    `layer` depends on, with every map's border taken into account: where a field reaches past
    the input, or past the units a layer actually has, this is what remains of it. It follows
    the exact set of units each layer needs, so gaps left by strides and dilation count too (each layer kind's `reads`).
    None along every axis where the unit reads padding only (a 1×1 window on a padded border).
    Behind a permute that moves the channels, `unit` and the positions are along the spatial axes
    in their order, wherever they are (`Moved`)."""
    seen = _walked_back(graph, shapes, layer, unit)[INPUT]
    return tuple((min(units), max(units)) for units in seen) if all(seen) else (None,) * len(unit)


def meets_a_border(graph: Graph, shapes: dict[str, tuple[int, ...]], layer: str, unit: tuple[int, ...]) -> bool:
    """Whether output unit `unit` of `layer` reads, at some layer on its way back to the input, a
    position that layer's input does not have by its window (padding, or a unit past the end of a
    map: a transposed convolution's padding leaves out units whose fields lie inside the input).
    Where it meets none, its field (`receptive_fields`) is exactly what `unit_region` gives."""
    return _walked_back(graph, shapes, layer, unit, stop_at_a_border=True) is None


def _walked_back(graph: Graph, shapes: dict[str, tuple[int, ...]], layer: str, unit: tuple[int, ...],
                 stop_at_a_border: bool = False) -> dict[str, list[set[int]]] | None:
    """The positions of every map (a set per spatial axis) that unit `unit` of `layer` depends on,
    by name (the input's under INPUT); with `stop_at_a_border`, None as soon as a layer's window
    reads past its input's border."""
    wanted: dict[str, list[set[int]]] = {layer: [{index} for index in unit]}
    channels = _channel_dimensions(graph, shapes)
    for node in reversed(graph.nodes):
        if node.name not in wanted:
            continue
        out, units = shapes[node.name], wanted.pop(node.name)
        for source in node.inputs[:node.kind.value_inputs]:  # an input that gives only its shape is not read
            if stop_at_a_border and _past_a_border(node, shapes[source], out, units, channels.get(source, 1)):
                return None
            need = _needed(node, shapes[source], out, units, channels.get(source, 1))
            have = wanted.setdefault(source, [set() for _ in unit])
            for axis in range(len(unit)):
                have[axis] |= need[axis]
    return wanted


def _past_a_border(node, source: tuple[int, ...], out: tuple[int, ...], units: list[set[int]], channels: int) -> bool:
    """Whether the output positions `units` read, by the layer's window along some axis, a position
    of `source` past its border (a layer without a window, which mixes every position or keeps
    each, reads none)."""
    if channels != 1 or node.kind.moves_channels or len(source) != len(units) + 2 or len(out) != len(source):
        return False
    windows = node.kind.window(node.attrs, [source], out)
    for window, wanted, size in zip(windows or (), units, source[2:]):
        if isinstance(window, Resampling):
            taps = [tap for position in wanted for tap in window.read(position)]
        else:
            kernel, stride, padding, dilation = window
            taps = [position * stride - padding + t * dilation for position in wanted for t in (0, kernel - 1)]
        if any(not 0 <= tap < size for tap in taps):
            return True
    return False


def _channel_dimensions(graph: Graph, shapes: dict[str, tuple[int, ...]]) -> dict[str, int]:
    """The dimension of the channels of each map whose channels a permute has moved, by layer name
    (as receptive_fields follows them)."""
    channels: dict[str, int] = {}
    for node in graph.nodes:
        before = channels.get(node.inputs[0], 1) if node.inputs else 1
        if before != 1 or node.kind.moves_channels:
            after = node.kind.channels_after(node.attrs, before, len(shapes[node.inputs[0]]))
            if after not in (None, 1):
                channels[node.name] = after
    return channels


def _needed(node, source: tuple[int, ...], out: tuple[int, ...], units: list[set[int]], channels: int
            ) -> list[set[int]]:
    """The positions of one input, whose channels are at dimension `channels`, that the output
    positions `units` (a set per axis) read."""
    if not all(units):  # no row (or no column): no unit at all, so nothing is read
        return [set() for _ in units]
    if channels != 1 or node.kind.moves_channels:  # each unit reads its own position, or any
        if node.kind.channels_after(node.attrs, channels, len(source)) is not None:
            return units
        return [set(range(size)) for dim, size in enumerate(source) if dim not in (0, channels)]
    if len(source) != len(units) + 2:
        return units
    if len(out) != len(units) + 2:  # flatten and after: every position
        return [set(range(size)) for size in source[2:]]
    return [node.kind.reads(node.attrs, source, out, axis, wanted) for axis, wanted in enumerate(units)]
