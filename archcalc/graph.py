"""The layer graph a spec expands to: named layer nodes in order, and the blocks that hold them."""

from __future__ import annotations

from typing import Mapping, NamedTuple

from archcalc.errors import Location, SpecError
from archcalc.layers import Attrs, LayerKind
from archcalc.limits import MAX_SYMBOLIC_LAYERS

INPUT = "input"
"""The name by which nodes refer to the model's input tensor."""


class Node(NamedTuple):
    """One layer: its dotted name, kind, resolved fields and the nodes it reads."""

    name: str
    kind: LayerKind
    attrs: Attrs
    inputs: tuple[str, ...]
    location: Location
    field_locations: Mapping[str, Location] = {}  # shared, never changed


class Scope(NamedTuple):
    """A block, repeat or group of layers: its dotted name, what it is, and its output node."""

    name: str
    label: str
    location: Location
    output: str


class Graph(NamedTuple):
    """A model expanded from a spec, in topological order (every node after its inputs)."""

    model: str
    family: str
    file: str
    source: str | None
    input_shape: tuple[int, ...]
    nodes: list[Node]
    scopes: dict[str, Scope]
    location: Location | None = None
    """Where the model is defined: its variant's key, or the spec's name."""
    expect: Mapping | None = None
    """The spec's `expect:` block for this model (figures, budgets, tolerances), as written."""
    published: Mapping | None = None
    """Figures published elsewhere for this model (`params`, `gflops`, `source`), shown beside ours."""
    outputs: tuple[str, ...] = ()
    """The nodes whose results the model returns (its heads); the last node where none are named."""

    @property
    def heads(self) -> tuple[str, ...]:
        """The nodes the model returns."""
        return self.outputs or (self.nodes[-1].name,)

    def valued(self) -> set[str]:
        """The nodes whose values the heads depend on: the heads, and back from them through the
        inputs each node reads the values of (not one it takes only a shape from, a crop's or an
        upsampling's size). A node read only for its shape is out of a loss's autograd graph: no
        gradient reaches it or its parameters."""
        reached = set(self.heads)
        for node in reversed(self.nodes):
            if node.name in reached:
                reached.update(node.inputs[:node.kind.value_inputs])
        return reached


def within_symbolic_limits(graph: Graph) -> None:
    """The bound on symbolic analysis that the graph alone decides: archcalc.analysis checks it before
    sympy is imported, analyze_symbolic again for its other callers (sweep)."""
    if len(graph.nodes) > MAX_SYMBOLIC_LAYERS:
        raise SpecError(f"symbolic sizes are analysed for at most {MAX_SYMBOLIC_LAYERS:,} layers; "
                        f"this model has {len(graph.nodes):,}", location=graph.location,
                        hint="give the sizes as numbers (--input 3x224x224, --batch 1) for a model this deep")
