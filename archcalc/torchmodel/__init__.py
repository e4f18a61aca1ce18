"""The real torch model of a spec: an ordinary nn.Module whose submodules carry the layer names."""

from __future__ import annotations

import inspect
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from archcalc.analysis import analyze_graph, input_shape
from archcalc.dependencies import require
from archcalc.graph import Graph
from archcalc.layers import Attrs, LayerKind, Shape

if TYPE_CHECKING:
    import torch

    from archcalc.torchmodel.modules import GraphModule


def build_torch(spec: str | Path, variant: str | None = None, input: str | tuple[int, ...] | None = None,
                batch: int = 1, device: str | torch.device | None = None) -> GraphModule:
    """Build the model of a spec file or bundled name as a trainable torch nn.Module.

    `build_torch("resnet50")` has the submodules `conv1`, `layer1.0.conv1`, … named as the
    layers, so its `state_dict()` keys are the spec's dotted names. `input` (C×H×W) matters only
    where a layer's size depends on it (a linear layer after flatten), `batch` only where torch
    refuses a batch (batch norm without running statistics over one value). `device="meta"`
    builds without allocating any weight memory.
    """
    from archcalc.spec import load_graph

    require("torch", "build_torch")
    graph = load_graph(spec, variant)
    return build_graph(graph, input_shape(input), batch, device)


def build_graph(graph: Graph, input_shape: tuple[int, ...] | None = None, batch: int = 1,
                device: str | torch.device | None = None, initialise: bool = True, zeros: bool = True) -> GraphModule:
    """The torch model of an expanded graph (see `build_torch`). Without `initialise`, every
    parameter and buffer is zero instead of torch's random initialisation, which takes most of
    the time of building a large model: for measuring shapes, counts and time, not for training;
    without `zeros` too, they hold the memory as allocated, unwritten: for counting alone (filling
    a large model's weights takes seconds)."""
    import torch

    from archcalc.torchmodel.modules import GraphModule

    stats = analyze_graph(graph, input_shape, batch)  # every shape, or the spec's first error
    _buildable(graph)
    shapes = stats.shapes
    place = device if initialise else "meta"  # no weights made, then zeros: see the docstring
    modules = [build_layer(node.kind, node.attrs, [shapes[name] for name in node.inputs], place)
               for node in graph.nodes]
    labels = {name: scope.label for name, scope in graph.scopes.items()}
    model = GraphModule([(n.name, n.inputs, m) for n, m in zip(graph.nodes, modules)], labels, graph.heads)
    if not initialise:
        model.to_empty(device=device or "cpu")
        for tensor in (*model.parameters(), *model.buffers()) if zeros else ():
            torch.nn.init.zeros_(tensor)
    return model


def _buildable(graph: Graph) -> None:
    """SpecError at the first layer without a torch module (an `opaque` one)."""
    from archcalc.errors import SpecError

    for node in graph.nodes:
        if not node.kind.torch_module:
            raise SpecError(f"{node.kind.key} ({node.attrs.operation}) has no torch module in archcalc: the "
                            "model cannot be built in torch", location=node.location,
                            layer=node.name, hint="replace it with the layers it computes (docs/spec.md, layer "
                            "kinds), or use the commands that need no torch (table, table --rf, memory, sweep, report)")


def build_layer(kind: LayerKind, a: Attrs, shapes: list[Shape],
                device: str | torch.device | None = None) -> torch.nn.Module:
    """The torch module of one layer: the kind's `torch_module` called with its `torch_arguments`,
    on `device` where given: as the module's `device` argument where it takes one (torch's layers),
    which spares every torch call in its initialisation the device context's dispatch (a third of
    building a model on the meta device), else within that context."""
    import torch

    module, takes_device = _torch_module(kind.torch_module)
    arguments = kind.torch_arguments(a, shapes)
    if device is None:
        return module(**arguments)
    if takes_device:
        return module(**arguments, device=device)
    with torch.device(device):
        return module(**arguments)


@cache
def _torch_module(dotted: str) -> tuple[type, bool]:
    """The module class of a dotted name, and whether its constructor takes `device`."""
    path, _, name = dotted.rpartition(".")
    module = getattr(import_module(path), name)
    return module, "device" in inspect.signature(module).parameters
