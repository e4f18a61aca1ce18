"""The figures of a layer, a block and a whole model, and the pass that works them out: every
layer's rules applied in graph order, counting every convention at once."""

from __future__ import annotations

import sys
from functools import cached_property
from itertools import groupby
from operator import attrgetter, itemgetter, methodcaller
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple

from archcalc.conventions import CONVENTIONS, Convention, Count, Uncounted, counted
from archcalc.errors import Location, SpecError, did_you_mean
from archcalc.graph import INPUT, Graph
from archcalc.layers.base import numel

if TYPE_CHECKING:
    from archcalc.graph import Node
    from archcalc.receptive import ReceptiveField
    from archcalc.symbolic.model import Formulas

FIGURES = {"params": "parameters", "weight": "weights", "bias": "biases", "buffers": "buffer values",
           "macs": "MACs", "flops": "FLOPs", "activations": "activations", "activation_bytes": "activation memory"}
"""Every figure of a layer, a block or a model (attributes of `Figures`), in output order, with its
name in prose: the one list of them."""

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}

class Figures(NamedTuple):
    """The additive figures of a layer, a block or a whole model."""

    weight: int = 0
    bias: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    activations: int = 0
    activation_bytes: int = 0

    @property
    def params(self) -> int:
        return self.weight + self.bias

    def __add__(self, other: Figures) -> Figures:
        return Figures.total([self, other])

    @staticmethod
    def total(items: Iterable[Figures]) -> Figures:
        """The sum of many, a column at a time."""
        return Figures(*(sum_column(column) for column in zip(*items)))


def sum_column(values: tuple) -> Any:
    """Numbers summed; formulas (sympy's: only a symbolic analysis makes them, having imported it)
    in one sympy Add, which collects all the terms at once (adding two formulas at a time costs
    their length at each step)."""
    if set(map(type, values)) <= {int}:  # all numbers (checked at C speed: a column can be 100,000 long)
        return sum(values)
    return sys.modules["sympy"].Add(*values)


_new = tuple.__new__
"""Makes a named tuple from its values without its own __new__ (a Python function, as slow again):
the records made for every layer are made so."""


class LayerStats(NamedTuple):
    """One layer's figures. `shape` is the output shape, batch first."""

    index: int
    name: str
    kind: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    figures: Figures
    location: str
    counts: Mapping[str, Count] = {}  # shared, never changed
    """MACs under every convention, by name (`Uncounted` where its tool skips the layer)."""


class Row(NamedTuple):
    """A line of a table: one layer, or a block summed over its layers (`layers` > 1)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    figures: Figures
    layers: int
    share: float | None
    """Of the total MACs; None when they are formulas."""


class ModelStats:
    """Everything `archcalc table` shows, as plain data. Read-only. A plain class rather than a
    dataclass: importing `dataclasses` (and the `inspect` it imports) was a tenth of the start-up
    of `archcalc table`."""

    model: str
    family: str
    file: str
    source: str | None
    input_shape: tuple[int, ...]
    convention: str
    dtype: str
    layers: list[LayerStats]
    totals: Figures
    blocks: dict[str, tuple[str, tuple[int, ...]]]
    formulas: Formulas | None
    """With symbolic input sizes: the symbols and constraints; the figures above are formulas."""
    published: Mapping | None
    """The spec's `published:` figures for this model (params, gflops, source, note)."""
    graph: Graph | None
    """The graph analysed: receptive fields are worked out from it when first asked for."""

    FIELDS = tuple(__annotations__)
    """The names above, in the order the constructor takes them; all but `graph` are compared and shown."""

    def __init__(self, model: str, family: str, file: str, source: str | None, input_shape: tuple[int, ...],
                 convention: str, dtype: str, layers: list[LayerStats], totals: Figures,
                 blocks: dict[str, tuple[str, tuple[int, ...]]], formulas: Formulas | None = None,
                 published: Mapping | None = None, graph: Graph | None = None) -> None:
        self.__dict__.update(model=model, family=family, file=file, source=source, input_shape=input_shape,
                             convention=convention, dtype=dtype, layers=layers, totals=totals, blocks=blocks,
                             formulas=formulas, published=published, graph=graph)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ModelStats is read-only: make another with .replace({name}=…)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ModelStats is read-only: '{name}' stays")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS[:-1])

    __hash__ = None  # its layers are a list

    def __repr__(self) -> str:
        return f"ModelStats({', '.join(f'{name}={getattr(self, name)!r}' for name in self.FIELDS[:-1])})"

    def replace(self, **changes: Any) -> ModelStats:
        """A copy with `changes` (field: value); what the copy works out when asked is its own."""
        return ModelStats(**{**{name: getattr(self, name) for name in self.FIELDS}, **changes})

    @cached_property
    def receptive_fields(self) -> dict[str, ReceptiveField | None] | None:
        """By layer and block name; see `archcalc.receptive`. None without the graph or with a
        symbolic height or width; fields do not depend on the batch or channels, which may be symbols."""
        shapes = self.shapes
        if self.graph is None or (self.formulas is not None and not _numeric_grid(shapes)):
            return None
        from archcalc.receptive import receptive_fields

        return receptive_fields(self.graph, shapes)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The layers the model returns (its heads): the last one unless the spec names several."""
        return self.graph.heads if self.graph is not None else (self.layers[-1].name,)

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every output shape by layer name, and the input's under 'input' (made once: a walk over
        the layers reads it per layer)."""
        return {INPUT: self.input_shape, **{layer.name: layer.shape for layer in self.layers}}

    def under(self, convention: str) -> ModelStats:
        """The same analysis with its MACs and FLOPs under another convention: no second pass,
        as every layer's count under every convention is known."""
        name = _convention(convention).name
        if name == self.convention:
            return self
        layers = [layer._replace(figures=layer.figures._replace(macs=counted(layer.counts[name]),
                                                 flops=2 * counted(layer.counts[name])))
                  for layer in self.layers]
        # the formulas' compiled functions give every convention's counts: they hold here too
        return self.replace(convention=name, layers=layers, totals=Figures.total([layer.figures for layer in layers]))

    def count(self, convention: str) -> int:
        """The total MACs under any convention, whichever the figures are under."""
        return sum(counted(layer.counts[convention]) for layer in self.layers)

    def uncounted(self, convention: str | None = None) -> list[str]:
        """What the convention's tool skips in this model ('mean', ...), each once, in order."""
        counts = list(map(itemgetter(convention or self.convention), map(attrgetter("counts"), self.layers)))
        if Uncounted not in set(map(type, counts)):  # the usual answer, found without a Python step a layer
            return []
        return list(dict.fromkeys(count.what for count in counts if isinstance(count, Uncounted)))

    def rows(self, depth: int | None = None) -> list[Row]:
        """Layers, or with `depth` the blocks at that depth summed (same totals either way)."""
        if depth is None:  # a row per layer (layer names are distinct)
            share = (lambda figures: None) if self.formulas else self.share
            return [_new(Row, (layer.name, layer.kind, layer.shape, layer.figures, 1, share(layer.figures)))
                    for layer in self.layers]
        names = map(attrgetter("name"), self.layers)
        keys = map(itemgetter(0), map(methodcaller("partition", "."), names)) if depth == 1 else \
            (block_of(name, depth) for name in names)
        groups: dict[str, list[LayerStats]] = {}
        for name, run in groupby(zip(keys, self.layers), itemgetter(0)):  # a block's layers come in one run
            groups.setdefault(name, []).extend(map(itemgetter(1), run))
        rows = []
        for name, members in groups.items():
            figures = members[0].figures if len(members) == 1 else Figures.total([m.figures for m in members])
            if len(members) == 1 and members[0].name == name:
                kind, shape = members[0].kind, members[0].shape
            else:
                kind, shape = self.blocks[name]
            share = None if self.formulas else self.share(figures)
            rows.append(Row(name, kind, shape, figures, len(members), share))
        return rows

    @property
    def depth(self) -> int:
        """Convolutions (of 1, 2 or 3 axes, transposed too) and linear layers: the depth papers
        quote (VGG-16's 16; U-Net's 23 convolutional layers, its 4 up-convolutions among them)."""
        return sum(layer.kind.startswith("conv") or layer.kind == "linear" for layer in self.layers)

    def costliest(self, count: int) -> list[LayerStats]:
        """The `count` layers of the largest `share`, in that order (earlier first on ties): by MACs,
        or by parameters in a model without MACs; a layer of no share is none of them."""
        shared = [layer for layer in self.layers if self.share(layer.figures)]
        return sorted(shared, key=lambda layer: (-self.share(layer.figures), layer.index))[:count]

    def block_edges(self) -> list[tuple[str, str]]:
        """Which top-level blocks (and 'input') feed which, in the order the graph first shows it."""
        top = {INPUT: INPUT, **{layer.name: layer.name.split(".", 1)[0] for layer in self.layers}}
        edges: dict[tuple[str, str], None] = {}  # ordered, and each looked up in constant time
        for layer in self.layers:
            for source in layer.inputs:
                edge = (top[source], top[layer.name])
                if edge[0] != edge[1]:
                    edges[edge] = None
        return list(edges)

    def share(self, figures: Figures) -> float:
        """The part of the total MACs (or, for a model without any, of the parameters; for one with
        neither, 0: the total's too, the sum of its rows')."""
        if self.totals.macs:
            return figures.macs / self.totals.macs
        return figures.params / self.totals.params if self.totals.params else 0.0


def block_of(name: str, depth: int) -> str:
    """The row a layer is summed into at `depth`: the first `depth` parts of its dotted name."""
    return ".".join(name.split(".")[:depth])


def _numeric_grid(shapes: dict[str, tuple]) -> bool:
    """Every height and width, of the input and of every layer, is a number."""
    return all(isinstance(size, int) for shape in shapes.values() for size in shape[2:])


def run_rules(graph: Graph, shape: tuple, convention: str, dtype: str,
              settle: Callable[[tuple, Node], tuple], reuse: bool = False,
              known: dict[tuple, tuple] | None = None) -> ModelStats:
    """Apply every layer's rules in graph order; `settle` checks (or simplifies) each output shape.
    With `reuse` (numeric sizes: symbolic rules record constraints layer by layer), a layer with
    the same fields (the copies of a repeat share them) and input shapes as an earlier one takes
    that one's results without running its rules again; `known` keeps those results beyond this
    model (for the same `settle`, convention and dtype: equal layers share their resolved fields
    across models)."""
    chosen = _convention(convention)
    element_bytes = _dtype_bytes(dtype)
    shapes = {INPUT: shape}
    layers = []
    if known is None:
        known = {}
    places: dict[Location, str] = {}  # each place's text, made once (the copies of a block share theirs)
    shape_of = shapes.__getitem__
    for index, node in enumerate(graph.nodes, start=1):
        name, kind, attrs, inputs, location, _ = node
        in_shapes = list(map(shape_of, inputs))
        key = (id(attrs), kind.key, *in_shapes) if reuse else None
        result = known.get(key)
        if result is None:
            result = (*_apply(node, in_shapes, settle, chosen.name, element_bytes), attrs)
            if reuse:
                known[key] = result  # which holds the fields, so that no other takes their id
        out, figures, counts, _ = result
        shapes[name] = out
        place = places.get(location)
        if place is None:
            place = places[location] = str(location)
        layers.append(_new(LayerStats, (index, name, kind.key, inputs, out, figures, place, counts)))
    totals = Figures.total([layer.figures for layer in layers])
    blocks = {name: (scope.label, shapes[scope.output]) for name, scope in graph.scopes.items()}
    return ModelStats(graph.model, graph.family, graph.file, graph.source, shapes[INPUT], convention,
                      dtype, layers, totals, blocks, published=graph.published, graph=graph)


def _apply(node: Node, in_shapes: list[tuple], settle: Callable[[tuple, Node], tuple], convention: str,
           element_bytes: int) -> tuple[tuple, Figures, dict[str, Count]]:
    """The layer's rules: its output shape, its figures (MACs under `convention`) and its MACs
    under every convention; SpecError at the field or layer at fault."""
    try:
        out = settle(node.kind.output_shape(node.attrs, in_shapes), node)
        params = node.kind.params(node.attrs, in_shapes)
        counts = _counts(node, in_shapes, out)
    except SpecError as error:
        where = node.field_locations.get(error.field, node.location) if error.field else node.location
        raise error.at(where, node.name) from None
    elements = numel(out)
    macs = counted(counts[convention])
    figures = Figures(params.weight, params.bias, params.buffers, macs, 2 * macs,
                      elements, elements * element_bytes)
    return out, figures, counts


def _counts(node: Node, shapes: list[tuple], out: tuple) -> dict[str, Count]:
    """The layer's MACs under every convention, in one pass."""
    macs = node.kind.macs(node.attrs, shapes, out)
    return {name: convention.count(node.kind, node.attrs, shapes, out, macs)
            for name, convention in CONVENTIONS.items()}


def _convention(name: str) -> Convention:
    if name not in CONVENTIONS:
        raise SpecError(f"unknown convention '{name}'{did_you_mean(name, CONVENTIONS)}",
                        hint=f"choose one of {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]


def _dtype_bytes(name: str) -> int:
    if name not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype '{name}'{did_you_mean(name, DTYPE_BYTES)}",
                        hint=f"choose one of {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[name]
