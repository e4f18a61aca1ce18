"""The peak memory of inference, predicted from the spec as torch's MemTracker counts it.

The model's layers run in graph order, as `archcalc.torchmodel`'s GraphModule runs them: each
layer's output stays alive until its last reader has run (the model's outputs to the end), and a
storage lives while any tensor on it does (a view keeps its input's storage, an identity is its
input). What each layer's forward allocates is its kind's `footprint` for its inputs' layouts in
memory (`archcalc.layout`). MemTracker sees the model's input only if an operation views it; the
parameters and buffers are alive throughout.
docs/memory.md says how each figure was measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archcalc import layout
from archcalc.analysis import analyze_graph, input_shape
from archcalc.errors import SpecError, did_you_mean
from archcalc.graph import INPUT, Graph
from archcalc.layers.base import NEW, SAME, numel
from archcalc.limits import MAX_DIMENSION, MAX_TENSOR_BYTES
from archcalc.peak import PeakFormula, Timeline, peak_formula
from archcalc.sizes import format_shape, parse_batch
from archcalc.stats import ModelStats

DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
"""The dtypes a model is built in, with their bytes per element (int8 is a quantised model,
which torch does not build from these layers)."""


ALLOCATORS = {"exact": 1, "cuda": 512}
"""How each tensor's bytes are rounded, by the block an allocation is a multiple of: exactly (the
CPU, fake tensors, MemTracker there), or as torch's CUDA caching allocator rounds a request
(c10/cuda/CUDACachingAllocator.cpp, round_size: a multiple of kMinBlockSize, 512 bytes, and at
least one; an empty tensor allocates nothing), which MemTracker also applies on CUDA. A training
step under "cuda" also keeps what CUDA's kernels keep where the CPU's differ (dropout's mask:
`archcalc.layers.base.Backward.kept_on_cuda`)."""


class LiveTimeline:
    """A run as points in order, each with the bytes alive at its busiest moment (`during`) and
    once its work is done (`after`), besides `fixed` bytes alive throughout: the peak and where."""

    points: list
    fixed = 0
    runs_operations = True
    """Whether any point runs a torch operation: MemTracker records its peak only after one."""

    @property
    def totals(self) -> list[int]:
        """All bytes alive at each point at its busiest: as many points at any batch."""
        return [self.fixed + point.during for point in self.points]

    @property
    def peak_point(self):
        """The first point at which the most is alive; None where no operation runs (MemTracker
        then records no peak at all)."""
        busiest = max(self.points, key=lambda point: point.during, default=None)
        return busiest if self.runs_operations else None

    @property
    def peak(self) -> int:
        """All bytes alive at the peak: MemTracker's Total."""
        point = self.peak_point
        return self.fixed + point.during if point else 0


@dataclass(frozen=True)
class LayerMemory:
    """One layer: the bytes of activations alive at the busiest moment while it runs, and after it
    (its dead inputs freed); what it adds (its new output) and what is gone when it returns."""

    name: str
    kind: str
    output: int
    """Bytes of the new tensor it makes; 0 for a view or its input itself."""
    transient: int
    """Bytes of its temporaries at its busiest moment (in `during`), gone when it returns."""
    during: int
    after: int


@dataclass(frozen=True)
class Memory(LiveTimeline):
    """The inference peak of one model, by category as MemTracker reports it, and the timeline:
    a point per layer, its bytes of activations (parameters and buffers are `fixed`)."""

    model: str
    file: str
    input_shape: tuple[int, ...]
    dtype: str
    parameters: int
    buffers: int
    layers: list[LayerMemory]
    runs_operations: bool = True
    allocator: str = "exact"
    """How each tensor's bytes were rounded (ALLOCATORS)."""

    @property
    def points(self) -> list[LayerMemory]:
        return self.layers

    @property
    def fixed(self) -> int:
        return self.parameters + self.buffers

    @property
    def activations(self) -> int:
        """The activations alive at the peak."""
        layer = self.peak_point
        return layer.during if layer else 0


def element_bytes(dtype: str) -> int:
    """The bytes of one element of `dtype`; SpecError for a dtype a model is not built in."""
    if dtype not in DTYPES:
        hint = "int8 is a quantised model; " if dtype == "int8" else ""
        raise SpecError(f"unknown dtype '{dtype}' for memory{did_you_mean(dtype, DTYPES)}",
                        hint=f"{hint}choose one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


def analyze_memory(spec: str | Path, input: str | tuple[int, ...] | None = None, batch: int = 1,
                   variant: str | None = None, dtype: str = "float32", allocator: str = "exact") -> Memory:
    """The inference peak of a spec file or bundled model: `analyze_memory("resnet50", batch=8)`.
    Sizes are numbers (a symbolic batch is not yet modelled); SpecError for anything else."""
    from archcalc.spec import load_graph

    element_bytes(dtype)  # an unknown dtype or allocator is refused before the spec is read
    _rounding(allocator)
    graph = load_graph(spec, variant)
    return inference_memory(graph, _numeric(graph, input, parse_batch(batch, symbols=False)), dtype, allocator)


@dataclass(frozen=True)
class MemoryFormula:
    """The inference peak of one model as an exact formula in the batch `symbol`: parameters and
    buffers (the same at every batch) and the peak, a maximum of lines (archcalc.peak)."""

    model: str
    file: str
    input_shape: tuple
    """The input with the batch `symbol` first: ('N', 3, 224, 224)."""
    dtype: str
    parameters: int
    buffers: int
    formula: PeakFormula
    symbol: str = "N"
    optimizer: str | None = None
    """None for inference; for a training step, its optimizer (archcalc.training.OPTIMIZERS)."""


def memory_formula(spec: str | Path, input: str | tuple[int, ...] | None = None, variant: str | None = None,
                   dtype: str = "float32", symbol: str = "N", optimizer: str | None = None) -> MemoryFormula:
    """The peak of inference (of a training step with `optimizer`) of a spec file or bundled model at
    every batch, as a formula in `symbol`: `memory_formula("resnet50").formula.at(64)`, `.fit(24 * 2**30)`."""
    from archcalc.spec import load_graph

    element_bytes(dtype)
    graph = load_graph(spec, variant)
    training = optimizer is not None
    try:
        first, stats = 1, _numeric(graph, input, 1, training)
    except SpecError as error:  # batch norm over one value a channel (in training, or without running statistics): from batch 2
        try:
            first, stats = 2, _numeric(graph, input, 2, training)
        except SpecError:
            raise error from None
    _lines_in_batch(graph, input, training, stats, _numeric(graph, input, first + 1, training))
    memory = inference_memory(graph, stats, dtype)
    if optimizer is not None:
        from archcalc.training import optimizer_state, training_timeline

        optimizer_state(optimizer)
        timeline = training_timeline(graph, input, dtype, optimizer)
    else:
        timeline = inference_timeline(graph, input, dtype)
    last = min(MAX_DIMENSION, largest_makeable_batch(graph, stats, element_bytes(dtype)))
    return MemoryFormula(graph.model, graph.file, (symbol, *memory.input_shape[1:]), dtype, memory.parameters,
                         memory.buffers, peak_formula(timeline, first, batch_breaks(graph), last), symbol, optimizer)


def _lines_in_batch(graph: Graph, input: str | tuple[int, ...] | None, training: bool, stats: ModelStats,
                    following: ModelStats) -> None:
    """SpecError at the first layer that breaks what the formula in the batch stands on: every
    tensor a line in the batch, and parameters and buffers the same at every batch. Where each
    output keeps the batch first and its other sizes (`stats` and `following`, at two batches in a
    row) it holds; where a permute moves the batch, the shapes are worked out as formulas of the
    batch N to tell: a window over the batch's axis floors it (a line through the batches
    sampled, wrong at others), a multiply of it by itself makes N², and the batch made the
    channels gives parameters that grow with it."""
    batch = stats.input_shape[0]
    moved = next((node for node, layer, later in zip(graph.nodes, stats.layers, following.layers)
                  if layer.shape[:1] != (batch,) or later.shape != (batch + 1, *layer.shape[1:])), None)
    if moved is None:
        return
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.printing import readable

    hint = "give --batch as a number: the peak at that batch"
    try:
        formulas = analyze_graph(graph, input_shape(input), "N", training=training)
    except SpecError:
        raise SpecError("the peak as a formula in the batch needs every tensor to be a line in the batch: this layer "
                        "moves the batch off the first axis, and the sizes after it are not known as formulas of it",
                        location=moved.location, layer=moved.name, hint=hint) from None
    n = symbol("N")
    for node, layer in zip(graph.nodes, formulas.layers):
        size = sp.expand(sp.Mul(*layer.shape))
        fixed = sp.sympify(layer.figures.weight + layer.figures.bias + layer.figures.buffers)
        if fixed.has(n):
            what = f"parameters and buffers that do not depend on it: this layer's are {readable(fixed)}"
        elif size.has(sp.floor) or sp.degree(size, n) > 1:
            what = f"every tensor to be a line in it: this layer's output is {format_shape(layer.shape)}"
        else:
            continue
        raise SpecError(f"the peak as a formula in the batch N needs {what}", location=node.location, layer=node.name,
                        hint=hint)


def batch_breaks(graph: Graph) -> tuple[int, ...]:
    """The batches from which the layouts torch gives the model's tensors may change, and with them
    what it copies: 2 (a batch of one is an axis of size 1, which a view merges where a larger
    batch's cannot), and those its layers' kinds name (`LayerKind.batch_breaks`)."""
    return tuple(sorted({2, *(batch for node in graph.nodes for batch in node.kind.batch_breaks)}))


def inference_timeline(graph: Graph, input: str | tuple[int, ...] | None = None, dtype: str = "float32") -> Timeline:
    """batch → the total bytes alive (parameters, buffers, activations) while each layer runs; no
    point for a model that runs no operation (MemTracker records no peak)."""
    def timeline(batch: int) -> list[tuple[str, int]]:
        memory = inference_memory(graph, _numeric(graph, input, batch), dtype)
        return list(zip((layer.name for layer in memory.layers), memory.totals)) if memory.runs_operations else []

    return timeline


def _numeric(graph: Graph, input: str | tuple[int, ...] | None, batch: int, training: bool = False) -> ModelStats:
    """The graph's shapes at `input` and `batch` (for a training step with `training`); SpecError
    for an input with symbols."""
    stats = analyze_graph(graph, input_shape(input), batch, training=training)
    if stats.formulas:
        raise SpecError(f"memory is worked out at one size, got the input {format_shape(stats.input_shape)}",
                        hint="give the input as numbers, like 3x224x224")
    return stats


def inference_memory(graph: Graph, stats: ModelStats, dtype: str = "float32", allocator: str = "exact") -> Memory:
    """The inference peak of `graph`, whose shapes `stats` holds (numeric sizes), each tensor's
    bytes rounded as `allocator` rounds them (ALLOCATORS)."""
    itemsize = element_bytes(dtype)
    rounded = _rounding(allocator)
    check_makeable(graph, stats, itemsize)
    shapes = stats.shapes
    layouts = graph_layouts(graph, shapes, stats.input_shape, dtype)
    walk = _Walk(rounded(numel(stats.input_shape) * itemsize))
    last_reader = {source: node.name for node in graph.nodes for source in node.inputs}
    heads = set(graph.heads)
    layers, parameters, buffers = [], 0, 0
    for node, layer in zip(graph.nodes, stats.layers):
        in_shapes = [shapes[name] for name in node.inputs]
        footprint = node.kind.footprint_on(node.attrs, in_shapes, [layouts[name] for name in node.inputs],
                                           layer.shape, itemsize)
        if allocator == "exact":
            parameters += layer.figures.params * itemsize
            buffers += node.kind.buffer_bytes(node.attrs, in_shapes, itemsize)
            transient = footprint.transient
        else:  # each weight, bias, buffer and temporary its own allocation
            own = node.kind.params(node.attrs, in_shapes)
            parameters += rounded(own.weight * itemsize) + rounded(own.bias * itemsize)
            buffers += sum(map(rounded, node.kind.buffer_tensors(node.attrs, in_shapes, itemsize)))
            transient = footprint.temporaries(rounded)
        first = walk.storage[node.inputs[0]]
        if footprint.touches_input:
            walk.count(first)
        output = rounded(numel(layer.shape) * itemsize) if footprint.output == NEW else 0
        during = walk.live + output + transient
        walk.hold(node.name, walk.make(output) if footprint.output == NEW else first)
        for source in dict.fromkeys(node.inputs):
            if last_reader[source] == node.name and source not in heads and source != INPUT:
                walk.drop(source)
        layers.append(LayerMemory(node.name, layer.kind, output, transient, during, walk.live))
        walk.ran |= footprint.output != SAME or footprint.transient > 0 or footprint.touches_input
    return Memory(graph.model, graph.file, stats.input_shape, dtype, parameters, buffers, layers,
                  walk.ran, allocator)


def graph_layouts(graph: Graph, shapes: dict[str, tuple[int, ...]], input_shape: tuple[int, ...],
                  dtype: str = "float32", training: bool = False) -> dict[str, layout.Layout]:
    """Each layer's output strides at inference (in a training step with `training`), its tensors
    of `dtype`, the model's input contiguous (numeric shapes). A layer whose training forward makes
    a new tensor where its inference hands on its input (dropout, stochastic depth: the input times
    a mask) lays it out as TensorIterator does."""
    layouts = {INPUT: layout.contiguous(input_shape)}
    for node in graph.nodes:
        in_shapes = [shapes[name] for name in node.inputs]
        in_layouts = [layouts[name] for name in node.inputs]
        out = shapes[node.name]
        try:
            remade = training and node.kind.backward(node.attrs, in_shapes, out, 1).output == NEW
        except SpecError as error:  # a layer torch will not train at this size
            raise error.at(node.location, node.name) from None
        if remade:
            layouts[node.name] = layout.iterated(out, in_shapes[:1], in_layouts[:1])
        else:
            layouts[node.name] = node.kind.laid_out(node.attrs, in_shapes, in_layouts, out, dtype)
    return layouts


def check_makeable(graph: Graph, stats: ModelStats, itemsize: int) -> None:
    """SpecError at the input or the first layer that makes a tensor torch cannot make: more than
    MAX_TENSOR_BYTES bytes (of elements of `itemsize`; max pooling's indices of 8 bytes)."""
    for location, name, what, size in _largest_tensors(graph, stats, itemsize):
        if size > MAX_TENSOR_BYTES:
            raise SpecError(f"{what} takes {size:,} bytes, more than one tensor in torch can "
                            f"({MAX_TENSOR_BYTES:,}: torch refuses to make it)", location=location, layer=name,
                            hint="check the sizes: an output size or a scale far larger than meant")


def largest_makeable_batch(graph: Graph, stats: ModelStats, itemsize: int) -> int:
    """The largest batch at which every tensor the model makes is one torch can make (each
    tensor's bytes are its bytes at the batch `stats` holds, times the batch over it)."""
    batch = stats.input_shape[0]
    largest = max(size for *_, size in _largest_tensors(graph, stats, itemsize))
    return MAX_TENSOR_BYTES // -(-largest // batch) if largest else MAX_DIMENSION


def _largest_tensors(graph: Graph, stats: ModelStats, itemsize: int):
    """(location, layer name or None, what it is, bytes) of the input and of the largest tensor
    each layer's forward makes: its output, or a temporary (max pooling's indices)."""
    yield graph.location, None, f"the input {format_shape(stats.input_shape)}", numel(stats.input_shape) * itemsize
    for node, layer in zip(graph.nodes, stats.layers):
        footprint = node.kind.footprint(node.attrs, [stats.shapes[name] for name in node.inputs], layer.shape, itemsize)
        temporary = max((max(moment) for moment in footprint.moments if moment), default=footprint.transient)
        output = numel(layer.shape) * itemsize
        what = f"its output {format_shape(layer.shape)}" if output >= temporary else \
            f"a temporary of its forward (beside its output {format_shape(layer.shape)})"
        yield node.location, node.name, what, max(output, temporary)


def _rounding(allocator: str) -> Callable[[int], int]:
    """Bytes → the bytes `allocator` takes for one tensor of them: up to a multiple of its block
    (so at least one block), none for an empty tensor."""
    if allocator not in ALLOCATORS:
        raise SpecError(f"unknown allocator '{allocator}'{did_you_mean(allocator, ALLOCATORS)}",
                        hint=f"choose one of {', '.join(ALLOCATORS)}")
    block = ALLOCATORS[allocator]
    return lambda size: -(-size // block) * block


class _Walk:
    """The storages alive: bytes, whether MemTracker counts them, how many live tensors hold them."""

    def __init__(self, input_bytes: int) -> None:
        self.bytes = [input_bytes]
        self.counted = [False]  # the caller made the input: counted once an operation views it
        self.holders = [1]  # the caller holds the input to the end
        self.storage = {INPUT: 0}
        self.live = 0
        self.ran = False

    def make(self, size: int) -> int:
        self.bytes.append(size)
        self.counted.append(True)
        self.holders.append(0)
        self.live += size
        return len(self.bytes) - 1

    def count(self, storage: int) -> None:
        if not self.counted[storage]:
            self.counted[storage] = True
            self.live += self.bytes[storage]

    def hold(self, name: str, storage: int) -> None:
        self.storage[name] = storage
        self.holders[storage] += 1

    def drop(self, name: str) -> None:
        storage = self.storage.pop(name)
        self.holders[storage] -= 1
        if not self.holders[storage] and self.counted[storage]:
            self.live -= self.bytes[storage]
