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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from archcalc.graph import INPUT
from archcalc.layers.base import PIXEL as KEEPS_GRID

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

    def through(self, window: Window) -> Axis:
        kernel, stride, padding, dilation = window
        size, jump, low, whole = self
        return _new(Axis, (size + dilation * (kernel - 1) * jump, jump * stride, low - padding * jump, whole))

    def unclipped(self, unit: int) -> tuple[int, int] | None:
        """Unit `unit`'s region by the field alone (first, last pixel; may reach past the input);
        None for a whole field, which reaches every pixel whatever the input's size."""
        if self.whole:
            return None
        low = self.low + unit * self.jump
        return low, low + self.size - 1


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

    def through(self, windows: Windows) -> ReceptiveField:
        """The field behind a layer with these windows (one per axis) over this one; this field
        itself behind a layer that keeps the grid."""
        if windows is KEEPS_GRID.get(len(windows)):
            return self
        return _new(ReceptiveField, [axis.through(window) for axis, window in zip(self, windows)])


PIXEL = {rank: ReceptiveField((Axis(1, 1, 0),) * rank) for rank in KEEPS_GRID}
"""The field of the input, by number of spatial axes: each unit sees its own pixel."""
_UNKNOWN = object()


def receptive_fields(graph: Graph, shapes: dict[str, tuple[int, ...]]) -> dict[str, ReceptiveField | None]:
    """Every layer's field (by name), and every block's (the field of its output layer)."""
    fields: dict[str, ReceptiveField | None] = {INPUT: PIXEL.get(len(shapes[INPUT]) - 2)}
    known: dict[tuple, Windows | None] = {}  # windows by field values and shapes, shared by repeats
    for node in graph.nodes:
        incoming = [fields[name] for name in node.inputs[:node.kind.value_inputs]]
        if None in incoming:
            fields[node.name] = None
            continue
        out = shapes[node.name]
        in_shapes = [shapes[name] for name in node.inputs]  # all of them: a kind's window may depend on each
        key = (id(node.attrs), node.kind.key, out, *in_shapes)
        windows = known.get(key, _UNKNOWN)
        if windows is _UNKNOWN:
            windows = known[key] = node.kind.window(node.attrs, in_shapes, out)
        if windows is None:
            fields[node.name] = None
        elif len(incoming) == 1:
            fields[node.name] = incoming[0].through(windows)
        else:
            fields[node.name] = _merge(incoming, in_shapes[:len(incoming)], out).through(windows)
    for name, scope in graph.scopes.items():
        fields[name] = fields[scope.output]
    del fields[INPUT]
    return fields


def _merge(incoming: list[ReceptiveField], in_shapes: list[tuple[int, ...]], out: tuple[int, ...]
           ) -> ReceptiveField:
    if len(incoming) == 1:
        return incoming[0]
    axes = []
    for index in range(len(out) - 2):
        along = [(field.axes[index], shape[2 + index]) for field, shape in zip(incoming, in_shapes)]
        broadcast = any(size == 1 and out[2 + index] > 1 for _, size in along)
        paths = [axis for axis, size in along if size == out[2 + index]] or [a for a, _ in along]
        axes.append(_union(paths, whole=broadcast))
    return ReceptiveField(axes)


def _union(paths: list[Axis], whole: bool) -> Axis:
    low = min(axis.low for axis in paths)
    high = max(axis.low + axis.size - 1 for axis in paths)
    return Axis(high - low + 1, max(axis.jump for axis in paths), low, whole or any(axis.whole for axis in paths))


def unit_region(graph: Graph, shapes: dict[str, tuple[int, ...]], layer: str, unit: tuple[int, ...]
                ) -> tuple[tuple[int, int] | None, ...]:
    """The input pixels (first, last along each axis) that output unit `unit` ((h, w) on a 2-D map) of
    `layer` depends on, with every map's border taken into account: where a field reaches past
    the input, or past the units a layer actually has, this is what remains of it. It follows
    the exact set of units each layer needs, so gaps left by strides and dilation count too (each layer kind's `reads`).
    None along every axis where the unit reads padding only (a 1×1 window on a padded border)."""
    wanted: dict[str, list[set[int]]] = {layer: [{index} for index in unit]}
    for node in reversed(graph.nodes):
        if node.name not in wanted:
            continue
        out, units = shapes[node.name], wanted.pop(node.name)
        for source in node.inputs[:node.kind.value_inputs]:  # an input that gives only its shape is not read
            need = _needed(node, shapes[source], out, units)
            have = wanted.setdefault(source, [set() for _ in unit])
            for axis in range(len(unit)):
                have[axis] |= need[axis]
    seen = wanted[INPUT]
    return tuple((min(units), max(units)) for units in seen) if all(seen) else (None,) * len(unit)


def _needed(node, source: tuple[int, ...], out: tuple[int, ...], units: list[set[int]]) -> list[set[int]]:
    """The positions of one input that the output positions `units` (a set per axis) read."""
    if not all(units):  # no row (or no column): no unit at all, so nothing is read
        return [set() for _ in units]
    if len(source) != len(units) + 2:
        return units
    if len(out) != len(units) + 2:  # flatten and after: every position
        return [set(range(size)) for size in source[2:]]
    return [node.kind.reads(node.attrs, source, out, axis, wanted) for axis, wanted in enumerate(units)]
