"""Graph → figures: each layer's shape, parameters, MACs, FLOPs and memory, and their sums."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from archcalc.conventions import CONVENTIONS, DEFAULT_CONVENTION
from archcalc.errors import SpecError, did_you_mean
from archcalc.graph import INPUT, Graph
from archcalc.layers.base import format_shape, numel
from archcalc.limits import MAX_DIMENSION
from archcalc.receptive import ReceptiveField, receptive_fields

if TYPE_CHECKING:
    from archcalc.graph import Node
    from archcalc.symbolic.model import Formulas

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


@dataclass(frozen=True)
class Figures:
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
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Figures)))


@dataclass(frozen=True)
class LayerStats:
    """One layer's figures. `shape` is the output shape, batch first."""

    index: int
    name: str
    kind: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    figures: Figures
    location: str


@dataclass(frozen=True)
class Row:
    """A line of a table: one layer, or a block summed over its layers (`layers` > 1)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    figures: Figures
    layers: int
    share: float | None
    """Of the total MACs; None when they are formulas."""
    receptive_field: ReceptiveField | None = None


@dataclass(frozen=True)
class ModelStats:
    """Everything `archcalc table` shows, as plain data."""

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
    formulas: Formulas | None = None
    """With symbolic input sizes: the symbols and constraints; the figures above are formulas."""
    receptive_fields: dict[str, ReceptiveField | None] | None = None
    """By layer and block name (numeric input sizes only); see `archcalc.receptive`."""
    published: Mapping | None = None
    """The spec's `published:` figures for this model (params, gflops, source, note)."""

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every output shape by layer name, and the input's under 'input'."""
        return {INPUT: self.input_shape, **{layer.name: layer.shape for layer in self.layers}}

    def rows(self, depth: int | None = None) -> list[Row]:
        """Layers, or with `depth` the blocks at that depth summed (same totals either way)."""
        groups: dict[str, list[LayerStats]] = {}
        for layer in self.layers:
            key = layer.name if depth is None else ".".join(layer.name.split(".")[:depth])
            groups.setdefault(key, []).append(layer)
        rows = []
        for name, members in groups.items():
            figures = sum((m.figures for m in members), Figures())
            if len(members) == 1 and members[0].name == name:
                kind, shape = members[0].kind, members[0].shape
            else:
                kind, shape = self.blocks[name]
            share = None if self.formulas else self.share(figures)
            field = self.receptive_fields.get(name) if self.receptive_fields else None
            rows.append(Row(name, kind, shape, figures, len(members), share, field))
        return rows

    @property
    def depth(self) -> int:
        """Conv and linear layers: the depth papers quote (ResNet-50, VGG-16)."""
        return sum(layer.kind in ("conv2d", "linear") for layer in self.layers)

    def costliest(self, count: int) -> list[LayerStats]:
        """The `count` layers with the most MACs, in that order (earlier first on ties)."""
        return sorted(self.layers, key=lambda layer: (-layer.figures.macs, layer.index))[:count]

    def block_edges(self) -> list[tuple[str, str]]:
        """Which top-level blocks (and 'input') feed which, in the order the graph first shows it."""
        top = {INPUT: INPUT, **{layer.name: layer.name.split(".", 1)[0] for layer in self.layers}}
        edges: list[tuple[str, str]] = []
        for layer in self.layers:
            for source in layer.inputs:
                edge = (top[source], top[layer.name])
                if edge[0] != edge[1] and edge not in edges:
                    edges.append(edge)
        return edges

    def share(self, figures: Figures) -> float:
        """The part of the total MACs (or, for a model without any, of the parameters)."""
        if self.totals.macs:
            return figures.macs / self.totals.macs
        return figures.params / self.totals.params if self.totals.params else 0.0


def analyze_graph(graph: Graph, input_shape: tuple | None = None, batch: int | str = 1,
                  convention: str = DEFAULT_CONVENTION, dtype: str = "float32") -> ModelStats:
    """Infer every shape and count every figure of `graph`; SpecError at the first bad layer.

    A size given as a symbol (`archcalc.symbolic`) makes every figure a formula of it.
    """
    if isinstance(batch, str):
        batch = batch_size(batch)
    shape = (batch, *(input_shape or graph.input_shape))
    if not all(isinstance(size, int) for size in shape):
        from archcalc.symbolic.model import analyze_symbolic

        return analyze_symbolic(graph, shape, convention, dtype)
    if not 1 <= batch <= MAX_DIMENSION:
        raise SpecError(f"the batch size must be from 1 to {MAX_DIMENSION:,}, got {batch:,}")
    stats = run_rules(graph, shape, convention, dtype, settle=_within_limits)
    return replace(stats, receptive_fields=receptive_fields(graph, stats.shapes))


def run_rules(graph: Graph, shape: tuple, convention: str, dtype: str,
              settle: Callable[[tuple, Node], tuple]) -> ModelStats:
    """Apply every layer's rules in graph order; `settle` checks (or simplifies) each output shape."""
    counter = _convention(convention).count
    element_bytes = _dtype_bytes(dtype)
    shapes = {INPUT: shape}
    layers = []
    for index, node in enumerate(graph.nodes, start=1):
        in_shapes = [shapes[name] for name in node.inputs]
        try:
            out = settle(node.kind.output_shape(node.attrs, in_shapes), node)
            params = node.kind.params(node.attrs, in_shapes)
            macs, flops = counter(node.kind, node.attrs, in_shapes, out)
        except SpecError as error:
            where = node.field_locations.get(error.field, node.location) if error.field else node.location
            raise error.at(where, node.name) from None
        shapes[node.name] = out
        elements = numel(out)
        figures = Figures(params.weight, params.bias, params.buffers, macs, flops,
                          elements, elements * element_bytes)
        layers.append(LayerStats(index, node.name, node.kind.key, node.inputs, out, figures,
                                 str(node.location)))
    totals = sum((layer.figures for layer in layers), Figures())
    blocks = {name: (scope.label, shapes[scope.output]) for name, scope in graph.scopes.items()}
    return ModelStats(graph.model, graph.family, graph.file, graph.source, shapes[INPUT], convention,
                      dtype, layers, totals, blocks, published=graph.published)


def _within_limits(shape: tuple[int, ...], node: Node | None = None) -> tuple[int, ...]:
    if max(shape) > MAX_DIMENSION:
        raise SpecError(f"the output {format_shape(shape)} has a size above {MAX_DIMENSION:,}",
                        hint="sizes are limited to 2³¹ − 1 (docs/spec.md, Limits); check the field values")
    return shape


def analyze(spec: str | Path, input: str | tuple[int, ...] | None = None, batch: int = 1,
            variant: str | None = None, convention: str = DEFAULT_CONVENTION,
            dtype: str = "float32") -> ModelStats:
    """Analyse a spec file or bundled model: `analyze("resnet50", input="3x160x160")`."""
    from archcalc.spec import load_graph

    graph = load_graph(spec, variant)
    return analyze_graph(graph, input_shape(input), batch, convention, dtype)


def input_shape(input: str | tuple | None) -> tuple | None:
    """An input override as given ('3x160x160', '3xHxW' or a tuple) → (C, H, W); None keeps
    the spec's. A size may be a symbol (a name such as H), kept as its name (archcalc.sizes)."""
    from archcalc.sizes import parse_input

    return None if input is None else parse_input(input, symbols=True)


def batch_size(batch: str | int) -> int | str:
    """A batch size as given: a whole number from 1 to 2³¹ − 1, or a symbol such as N."""
    from archcalc.sizes import parse_batch

    return parse_batch(batch, symbols=True)


def analyze_bundled(convention: str = DEFAULT_CONVENTION) -> list[ModelStats]:
    """Every bundled model at its own input, in `archcalc list` order."""
    from archcalc.spec import bundled, load_graph

    return [analyze_graph(load_graph(entry.path, entry.variant), convention=convention)
            for entry in bundled()]


def _convention(name: str):
    if name not in CONVENTIONS:
        raise SpecError(f"unknown convention '{name}'{did_you_mean(name, CONVENTIONS)}",
                        hint=f"choose one of {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]


def _dtype_bytes(name: str) -> int:
    if name not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype '{name}'{did_you_mean(name, DTYPE_BYTES)}",
                        hint=f"choose one of {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[name]
