"""The peak memory of a training step, predicted from the spec as torch's MemTracker counts it.

The step is torch's usual one in steady state (the second iteration, when the optimizer's state
exists): the model in training mode runs forward, the loss is the sum of its output, `backward()`
runs, the optimizer steps and `zero_grad()` sets every gradient to None (torch's default). What
each layer keeps for the backward pass and allocates in it is its kind's `backward`; what its
forward allocates besides is its `footprint`. docs/memory.md says how each figure was measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from pathlib import Path

from archcalc.analysis import analyze_graph, input_shape
from archcalc.errors import SpecError, did_you_mean
from archcalc.graph import INPUT, Graph
from archcalc.layers.base import NEW, SAME, VIEW, numel
from archcalc.layout import Layout
from archcalc.memory import LiveTimeline, _rounding, check_makeable, element_bytes, graph_layouts
from archcalc.sizes import format_shape, parse_batch
from archcalc.stats import ModelStats

CATEGORIES = ("parameters", "buffers", "gradients", "activations", "temporaries", "optimizer")
"""MemTracker's categories (Parameter, Buffer, Gradient, Activation, Temp, Optstate), in its order."""
PARAMETERS, BUFFERS, GRADIENTS, ACTIVATIONS, TEMPORARIES, OPTIMIZER = range(6)

OPTIMIZERS = {"sgd": ("torch.optim.SGD, no momentum", 0), "momentum": ("torch.optim.SGD, momentum 0.9", 1),
              "adam": ("torch.optim.Adam", 2), "adamw": ("torch.optim.AdamW", 2)}
"""Each optimizer: what it is in torch, and how many tensors of each parameter's size its state holds."""
STEP_BYTES = 4
"""Adam keeps each parameter's step count as a scalar tensor of torch's scalar dtype: float32
whatever the model's dtype (float64 only where torch's default dtype is float64 when the optimizer
first steps, which is the caller's setting, not the model's)."""


@dataclass(frozen=True)
class Point:
    """One moment of the step: a layer's forward or backward at its busiest, the loss, or the
    optimizer's step; the bytes of each category alive then, in CATEGORIES' order."""

    phase: str
    """forward, loss, backward or optimizer."""
    name: str
    kind: str
    bytes: tuple[int, ...]
    after: int
    """All bytes alive once its work is done (a layer's forward: its dead inputs freed; its backward:
    what it kept freed, its weights' gradient held; the step: its scratch freed, before zero_grad)."""
    moments: tuple[int, ...] = ()
    """Where it has several moments that may be the busiest (a backward's temporaries, a gradient
    summed, a weight's gradient copied), all bytes alive at each: each grows as a line in the
    batch, their most does not (`training_timeline` hands each on)."""

    @property
    def during(self) -> int:
        """All bytes alive at its busiest moment."""
        return sum(self.bytes)


@dataclass(frozen=True)
class Training(LiveTimeline):
    """The memory of one training step: every moment of it by category, and the peak."""

    model: str
    file: str
    input_shape: tuple[int, ...]
    dtype: str
    optimizer: str
    points: list[Point]
    allocator: str = "exact"
    """How each tensor's bytes were rounded (archcalc.memory.ALLOCATORS)."""
    in_place_on_views: tuple[str, ...] = ()
    """The in-place layers on a view, whose backward torch's autograd runs on the base (CopySlices)."""
    copied_on_one_position: tuple[str, ...] = ()
    """The convolutions of a channels-last map of one position whose weight's gradient is copied
    (`copied_weight_gradients`): on fake tensors a channel layer norm lays such a map out as a
    contiguous one, and the copy is not made."""

    @property
    def categories(self) -> dict[str, int]:
        """The bytes of each category at the peak, by MemTracker's category."""
        return dict(zip(CATEGORIES, self.peak_point.bytes))


def optimizer_state(name: str) -> int:
    """How many tensors of each parameter's size the optimizer `name` keeps; SpecError for another."""
    if name not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer '{name}'{did_you_mean(name, OPTIMIZERS)}",
                        hint=f"choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name][1]


def analyze_training(spec: str | Path, input: str | tuple[int, ...] | None = None, batch: int = 1,
                     variant: str | None = None, dtype: str = "float32", optimizer: str = "momentum",
                     allocator: str = "exact") -> Training:
    """The memory of a training step of a spec file or bundled model:
    `analyze_training("resnet50", batch=8, optimizer="adam")`."""
    from archcalc.spec import load_graph

    element_bytes(dtype)
    optimizer_state(optimizer)
    _rounding(allocator)
    graph = load_graph(spec, variant)
    stats = analyze_graph(graph, input_shape(input), parse_batch(batch, symbols=False), training=True)
    if stats.formulas:
        raise SpecError(f"memory is worked out at one size, got the input {format_shape(stats.input_shape)}",
                        hint="give the input as numbers, like 3x224x224")
    return training_memory(graph, stats, dtype, optimizer, allocator)


def training_memory(graph: Graph, stats: ModelStats, dtype: str = "float32", optimizer: str = "momentum",
                    allocator: str = "exact") -> Training:
    """The memory of a training step of `graph`, whose shapes `stats` holds (numeric sizes), each
    tensor's bytes rounded as `allocator` rounds them (archcalc.memory.ALLOCATORS); under "cuda",
    what CUDA's kernels keep where it differs from the CPU's (`Backward.kept_on_cuda`)."""
    if not stats.totals.params:
        raise SpecError("a training step updates parameters, and this model has none: torch's optimizer refuses "
                        "an empty parameter list, and no backward pass runs", location=graph.location,
                        hint="leave out --train: the memory of a forward pass is the model's whole footprint")
    itemsize = element_bytes(dtype)
    rounded = _rounding(allocator)
    check_makeable(graph, stats, itemsize)
    step = _Step(graph, stats, dtype, rounded, cuda=allocator == "cuda")
    states = optimizer_state(optimizer)
    tensors = step.parameter_tensors
    step.live.add(OPTIMIZER, states * sum(tensors) + (len(tensors) * rounded(STEP_BYTES) if states == 2 else 0))
    step.forward()
    if not any(step.requires[head] for head in graph.heads):
        raise SpecError("a training step needs a loss that depends on a parameter, and no output of this model "
                        "does: its parameters reach the outputs only through the size of a layer's second "
                        "input (an upsampling, a pad or a crop to the size of another), and torch's backward "
                        "pass refuses a loss that needs no gradient", location=graph.location,
                        hint="leave out --train, or read a layer with parameters on the way to an output")
    step.loss()
    step.backward()
    # Adam divides the root of each second moment by its bias correction out of place, one parameter
    # at a time (torch's loop on the CPU): two tensors of its size at once, while the loop's previous
    # quotient (`denom`, of the previous parameter's size) is still bound
    scratch = max((2 * size + before for size, before in zip(tensors, [0, *tensors])), default=0) \
        if states == 2 else 0
    step.points.append(Point("optimizer", "step", optimizer, step.live.with_added(OPTIMIZER, scratch),
                             sum(step.live.totals)))
    one_position = tuple(name for name in step.copied if prod(stats.shapes[step.sources[name]][2:]) == 1)
    return Training(graph.model, graph.file, stats.input_shape, dtype, optimizer, step.points, allocator,
                    tuple(step.on_a_view), one_position)


class _Live:
    """The storages alive: bytes, category, how many holders, whether MemTracker counts them.
    Each storage made is `rounded` as the allocator rounds it (a storage of several tensors is
    made of bytes already rounded tensor by tensor)."""

    def __init__(self, rounded) -> None:
        self.totals = [0] * len(CATEGORIES)
        self.storages: list[list] = []  # [bytes, category, holders, counted]
        self.rounded = rounded

    def add(self, category: int, size: int) -> None:
        self.totals[category] += size

    def make(self, size: int, category: int, counted: bool = True) -> int:
        size = self.rounded(size)
        self.storages.append([size, category, 0, counted])
        if counted:
            self.totals[category] += size
        return len(self.storages) - 1

    def count(self, storage: int) -> None:
        entry = self.storages[storage]
        if not entry[3]:
            entry[3] = True
            self.totals[entry[1]] += entry[0]

    def hold(self, storage: int) -> int:
        self.storages[storage][2] += 1
        return storage

    def release(self, storage: int) -> None:
        entry = self.storages[storage]
        entry[2] -= 1
        if entry[2] <= 0 and entry[3]:
            entry[3] = False
            self.totals[entry[1]] -= entry[0]

    def move(self, storage: int, category: int) -> None:
        entry = self.storages[storage]
        if entry[3]:
            self.totals[entry[1]] -= entry[0]
            self.totals[category] += entry[0]
        entry[1] = category

    def with_added(self, category: int, size: int) -> tuple[int, ...]:
        totals = list(self.totals)
        totals[category] += size
        return tuple(totals)


DIRECT, WHOLE, CHANGED, STALE = "direct", "whole", "changed", "stale"
"""How a tensor's gradient reaches the layer that last wrote it (`_Tensors.holders`): as its own;
or, not counted by archcalc: as the base's after a change through a view of it (WHOLE), as
another view's after a change through a view of the same base (CHANGED), or as a view's after a
change of its base itself (STALE): autograd then makes each such gradient anew from the base's."""
READ = {WHOLE: "after '{writer}' changed it in place through a view of it",
        CHANGED: "after '{writer}' changed in place another view of the same tensor",
        STALE: "after '{writer}' changed in place the tensor it is a view of"}
"""What a reading of a tensor that is not DIRECT comes after, for its error."""


RESULT = " result"
"""After a layer's name, the tensor its output is a view of (`Backward.viewed_result`): no layer's
name holds a space."""


class _Tensors:
    """The tensors of a training forward, each by the name of the layer that made it: the base each
    is a view of (itself where it is none), and the layer whose backward gets its gradient."""

    def __init__(self) -> None:
        self.of = {INPUT: INPUT}
        self.base = {INPUT: INPUT}
        self.views: dict[str, list[str]] = {}
        """Each base that has views: itself and its views."""
        self.holders: dict[str, tuple[str, str]] = {INPUT: (INPUT, DIRECT)}

    def holder(self, name: str) -> tuple[str, str]:
        return self.holders[self.of[name]]

    def made(self, name: str, source: str, output: str, viewed_result: bool = False) -> str:
        """The tensor of layer `name`'s output (NEW, a VIEW of `source`'s, or the SAME as it); a NEW
        one a view of a tensor of its size the layer made first, where `viewed_result`."""
        if output == SAME:
            tensor = self.of[name] = self.of[source]
            return tensor
        self.of[name] = name
        self.holders[name] = (name, DIRECT)
        if output == VIEW or viewed_result:
            base = self.base[self.of[source]] if output == VIEW else name + RESULT
            if viewed_result:
                self.base[base], self.holders[base] = base, (name, DIRECT)
            self.base[name] = base
            self.views.setdefault(base, [base]).append(name)
        else:
            self.base[name] = name
        return name

    @staticmethod
    def made_by(tensor: str) -> str:
        """The layer whose output `tensor` is, or whose output is a view of it."""
        return tensor.removesuffix(RESULT)

    def written(self, layer: str, tensor: str) -> None:
        """An in-place `layer` wrote `tensor`: its gradient, and the base's where it is a view, go to
        that layer's backward; other views of the base are read no more as they were."""
        base = self.base[tensor]
        for view in self.views.get(base, (base,)):
            self.holders[view] = (layer, DIRECT if view == tensor else WHOLE if view == base
                                  else STALE if tensor == base else CHANGED)


class _Step:
    """One training step walked layer by layer: forward, loss, backward."""

    def __init__(self, graph: Graph, stats: ModelStats, dtype: str, rounded, cuda: bool = False) -> None:
        itemsize = element_bytes(dtype)
        self.graph, self.stats, self.itemsize, self.rounded, self.cuda = graph, stats, itemsize, rounded, cuda
        self.live = _Live(rounded)
        self.points: list[Point] = []
        self.storage = {INPUT: self.live.make(numel(stats.input_shape) * itemsize, ACTIVATIONS, counted=False)}
        self.live.hold(self.storage[INPUT])  # the caller's, to the end
        self.requires = {INPUT: False}
        self.saved: dict[str, list[int]] = {}
        self.parameter_tensors: list[int] = []
        self.grad_bytes: dict[str, int] = {}
        self.bias_bytes: dict[str, int] = {}
        """Each layer's bias's gradient, where it has a weight and a bias that train."""
        self.rules = {}
        """Each layer's input shapes, `footprint_on` and `backward_on`, for its inputs' strides."""
        self.kinds = {node.name: node.kind.key for node in graph.nodes}
        self.nodes = {node.name: node for node in graph.nodes}
        self.sources = {node.name: node.inputs[0] for node in graph.nodes if node.inputs}
        trained = graph.valued()
        layouts = graph_layouts(graph, stats.shapes, stats.input_shape, dtype, training=True)
        for node, layer in zip(graph.nodes, stats.layers):
            in_shapes = [stats.shapes[name] for name in node.inputs]
            params = node.kind.params(node.attrs, in_shapes)
            tensors = [rounded(size * itemsize) for size in (params.weight, params.bias) if size]
            self.live.add(PARAMETERS, sum(tensors))
            if node.name not in trained:  # read only for its shape: no gradient, no optimizer state for it
                tensors = []
            self.parameter_tensors += tensors
            self.grad_bytes[node.name] = sum(tensors)
            self.bias_bytes[node.name] = tensors[1] if len(tensors) == 2 else 0
            self.live.add(BUFFERS, sum(map(rounded, node.kind.buffer_tensors(node.attrs, in_shapes, itemsize))))
            in_layouts = [layouts[name] for name in node.inputs]
            footprint = node.kind.footprint_on(node.attrs, in_shapes, in_layouts, layer.shape, itemsize)
            try:
                backward = node.kind.backward_on(node.attrs, in_shapes, in_layouts, layer.shape, itemsize)
            except SpecError as error:  # a layer torch will not train at this size
                raise error.at(node.location, node.name) from None
            self.rules[node.name] = (in_shapes, footprint, backward)
        self.copied = copied_weight_gradients(graph, stats, dtype, layouts)
        self.on_a_view: dict[str, tuple[str, int]] = {}
        """Each in-place layer on a view: the layer whose backward gets the base's gradient, and the base's bytes."""
        self.target: dict[tuple[str, str], str] = {}
        """(layer, input) → the layer whose backward gets that input's gradient, where it is not the input's maker."""
        self.read_since: dict[str, str | None] = {}
        """Each base changed in place: the first layer but a view that read it since, or None."""
        self.tensors = _Tensors()

    def forward(self) -> None:
        live = self.live
        last_reader = {source: node.name for node in self.graph.nodes for source in node.inputs}
        heads = set(self.graph.heads)
        keeper: dict[int, str] = {}  # a storage kept for the backward pass → the first layer keeping it
        for node, layer in zip(self.graph.nodes, self.stats.layers):
            _, footprint, backward = self.rules[node.name]
            requires = self.grad_bytes[node.name] > 0 or any(self.requires[name]  # an input giving only its shape: none
                                                             for name in node.inputs[:node.kind.value_inputs])
            self.requires[node.name] = requires
            first = self.storage[node.inputs[0]]
            if footprint.output == SAME and footprint.touches_input:
                split = self._split_behind(node.inputs[0]) if requires else None
                if split is not None:
                    raise _modifies_a_split(node, split)
                if first in keeper:  # needed or not: torch checks what was kept
                    raise _overwrites(node, keeper[first])
            self._follow(node, backward.output or footprint.output,
                         requires and footprint.output == SAME and footprint.touches_input)
            if footprint.touches_input:
                live.count(first)
            output = backward.output or footprint.output
            # without a gradient: as at inference, but for what the training forward makes all the same
            keeps = backward.kept_bytes(self.rounded, self.cuda) if requires or backward.kept_without_gradient else 0
            kept = live.make(keeps, ACTIVATIONS)
            made = live.make(numel(layer.shape) * self.itemsize, ACTIVATIONS) if output == NEW else first
            transient = footprint.temporaries(self.rounded)
            if backward.forward_transient is None:  # what it keeps was among its temporaries
                extra = max(0, transient - keeps)
            else:
                extra = self.rounded(backward.forward_transient) if backward.forward_transient else 0
            busiest = live.with_added(ACTIVATIONS, extra)
            self.storage[node.name] = live.hold(made)
            saved = [kept]
            if requires and backward.keeps_inputs:
                saved += [self.storage[name] for name in self._kept_inputs(node, backward)]
            if requires and backward.keeps_output:
                saved.append(made)
            self.saved[node.name] = [live.hold(storage) for storage in saved] if requires else []
            for storage in self.saved[node.name][1:]:
                keeper.setdefault(storage, node.name)
            if not requires:
                live.hold(kept)
                live.release(kept)
            for source in dict.fromkeys(node.inputs):
                if last_reader[source] == node.name and source not in heads and source != INPUT:
                    live.release(self.storage[source])
            self.points.append(Point("forward", node.name, layer.kind, busiest, sum(live.totals)))

    def _split_behind(self, name: str) -> str | None:
        """The split whose slice `name` is, through the views after it and the layers that hand it on
        (None if none): torch's chunk returns several views of one tensor, which autograd lets no
        operation change in place."""
        while name in self.rules:
            kind = self.kinds[name]
            if kind == "split":
                return name
            _, footprint, backward = self.rules[name]
            if (backward.output or footprint.output) == NEW:  # a dropout's, in training
                return None
            name = self.sources[name]
        return None

    def _follow(self, node, output: str, in_place: bool) -> None:
        """Which layer's backward gets the gradient of each input of `node` (`target`), and what its
        output is: torch's autograd sends a tensor's gradient to the last operation that wrote it,
        an in-place layer after its maker. An in-place layer on a view changes the view's base,
        whose gradient its backward then computes (`on_a_view`). Refused in training: a reading
        that is not DIRECT (`READ`), and a change through a view of a base after a layer read what
        an earlier change through a view of it made, whose gradients archcalc does not count."""
        tensors, read = self.tensors, {}
        holders, of = tensors.holders, tensors.of
        for source in node.inputs:
            holder, how = holders[of[source]]
            if holder != source or how != DIRECT:
                if how != DIRECT:
                    raise _reads_a_changed_tensor(node, source, holder, how)
                read[source] = holder  # the last writer, or the maker of what an identity hands on
        result = self.rules[node.name][2].viewed_result  # of a contiguous input alone (`LayerKind.backward_on`)
        tensor = tensors.made(node.name, node.inputs[0], output, result)
        if in_place:
            base = tensors.base[tensor]
            if tensor != base:
                holder, how = tensors.holders[base]
                if how == WHOLE and self.read_since.get(base):
                    raise _changes_what_was_read(node, tensors.made_by(base), holder, self.read_since[base])
                self.on_a_view[node.name] = (holder, numel(self.stats.shapes[tensors.made_by(base)]) * self.itemsize)
            self.read_since[base] = None
            tensors.written(node.name, tensor)
        elif output == NEW:
            for source in node.inputs:
                read_base = tensors.base[of[source]]
                if read_base in self.read_since and self.read_since[read_base] is None:
                    self.read_since[read_base] = node.name
        for source, holder in read.items():
            self.target[node.name, source] = holder

    def _backward_on_a_view(self, node, backward, incoming: int) -> list[tuple[int, ...]]:
        """The backward of an in-place layer on a view, as torch's autograd runs it: the view's
        gradient laid in zeros of the base's size (AsStridedBackward; not where the gradient is the
        base's already, from a later in-place layer on a view of it), a copy of that (CopySlices'
        result: the base's gradient), the slice of it cloned, and the layer's own gradient of the
        slice's size, which is copied into the result. The bytes alive at each moment that may be
        the busiest."""
        live, (target, whole) = self.live, self.on_a_view[node.name]
        part = numel(self.stats.shapes[node.inputs[0]]) * self.itemsize
        if incoming in self.whole:
            zeros = incoming
        else:
            zeros = live.hold(live.make(whole, TEMPORARIES))
            live.release(incoming)
        result = live.hold(live.make(whole, TEMPORARIES))
        clone = live.hold(live.make(part, TEMPORARIES))
        own = live.hold(live.make(part, TEMPORARIES))
        busiest = live.with_added(TEMPORARIES, self._temporaries(node, backward))
        for storage in [clone, own, zeros, *self.saved.pop(node.name)]:
            live.release(storage)
        self.whole.add(result)
        return [busiest, self._accumulate(target, result)]

    def _temporaries(self, node, backward) -> int:
        """The backward's temporaries at its busiest moment: none where they are for the gradient
        of inputs (`transient_for`) that need none."""
        if backward.transient_for and not any(self.requires[node.inputs[index]] for index in backward.transient_for):
            return 0
        return backward.temporaries(self.rounded)

    def _summed_down(self, node, backward) -> list[int]:
        """The moments of a backward whose inputs' gradients are made larger and summed down
        (`Backward.summed_from`), one for each wanted one, in the inputs' order: the bytes beyond
        the gradients of the inputs' sizes, the one being summed down and the later ones still at
        their larger size. [0] where none is."""
        wanted = [(self.rounded(made), self.rounded(numel(self.stats.shapes[name]) * self.itemsize))
                  for name, made in zip(node.inputs, backward.summed_from) if made and self.requires[name]]
        return [made + sum(larger - size for larger, size in wanted[index + 1:])
                for index, (made, _) in enumerate(wanted)] or [0]

    def _later_moment(self, node, backward, incoming: int) -> tuple[int, ...]:
        """The bytes alive at the later moment of the layer's backward (`Backward.later`): the
        incoming gradient (where nothing else holds it, and the layer has not let go of it already)
        and the kept tensors after the first let go, the later temporaries made."""
        totals = list(self.live.totals)
        size, category, holders, counted = self.live.storages[incoming]
        if holders == 1 and counted and not backward.releases_incoming:
            totals[category] -= size
        kept = self.live.storages[self.saved[node.name][0]]
        if kept[3]:
            totals[kept[1]] -= sum(map(self.rounded, backward.kept_tensors[1:]))
        totals[TEMPORARIES] += sum(map(self.rounded, backward.later))
        return tuple(totals)

    def _kept_inputs(self, node, backward) -> list[str]:
        """The inputs the layer keeps for its backward: all, or (a product) each one that another
        input needs a gradient for."""
        if not backward.keeps_for_the_others:
            return list(node.inputs)
        wanted = [self.requires[name] for name in node.inputs]
        return [name for index, name in enumerate(node.inputs) if any(wanted[:index] + wanted[index + 1:])]

    def loss(self) -> None:
        """The loss, the sum of the output (of several, the sum of their sums, added one by one: one
        scalar each, one for their total, and for three or more the running total while the next
        is added), then the gradient of one at it: every output's gradient a view of it."""
        live, heads = self.live, self.graph.heads
        sums = [live.hold(live.make(self.itemsize, ACTIVATIONS)) for _ in heads]
        loss = live.hold(live.make(self.itemsize, ACTIVATIONS)) if len(heads) > 1 else sums[0]
        # of three or more, the running total is alive while the next sum is added to it
        moments = [live.with_added(ACTIVATIONS, self.rounded(self.itemsize) if len(heads) > 2 else 0)]
        for storage in [self.storage[head] for head in heads] + (sums if len(heads) > 1 else []):
            live.release(storage)
        ones = live.hold(live.make(self.itemsize, ACTIVATIONS))
        self.loss_storages = [loss, ones]
        self.grads = {}
        for head in heads:  # each output's gradient goes to the layer that last wrote it
            holder, how = self.tensors.holder(head)
            if how != DIRECT:
                raise _reads_a_changed_tensor(self.nodes[head], head, holder, how, reader="the loss")
            if holder == INPUT or not self.requires[holder]:  # it needs no gradient: autograd gives it none
                continue
            moments.append(self._accumulate(holder, live.hold(ones)))
        self._point("loss", "loss", "sum", moments)

    def backward(self) -> None:
        live, shapes = self.live, self.stats.shapes
        waiting = self._waiting()
        self.whole: set[int] = set()  # the gradients of a base made by an in-place layer on a view of it
        for node, layer in zip(reversed(self.graph.nodes), reversed(self.stats.layers)):
            backward = self.rules[node.name][2]
            incoming = self.grads.pop(node.name, None)
            if not self.requires[node.name] or incoming is None:
                if incoming is not None:  # the loss's gradient at an output that needs none: let go
                    live.release(incoming)
                self.points.append(Point("backward", node.name, layer.kind, tuple(live.totals), sum(live.totals)))
                continue
            for captured, needed in waiting.get(node.name, ()):
                captured.append(live.hold(incoming))
                if len(captured) == needed:
                    for storage in captured:
                        live.release(storage)
            if node.name in self.on_a_view:
                self._point("backward", node.name, layer.kind, self._backward_on_a_view(node, backward, incoming))
                continue
            made = []
            for name in node.inputs[:node.kind.value_inputs]:  # an input giving only its shape gets no gradient
                if not self.requires[name]:
                    continue
                grad = live.make(numel(shapes[name]) * self.itemsize, TEMPORARIES) if backward.grad == NEW \
                    else incoming  # a view of the incoming gradient, or it itself
                made.append((name, live.hold(grad)))
            bias = self.bias_bytes[node.name] if backward.bias_first else 0
            if bias:  # its .grad before the rest of the backward runs, held by the parameter
                live.hold(live.make(bias, GRADIENTS))
            weights = live.hold(live.make(self.grad_bytes[node.name] - bias, TEMPORARIES))
            if backward.releases_incoming:
                live.release(incoming)
            temporaries = self._temporaries(node, backward)
            moments = [live.with_added(TEMPORARIES, temporaries + extra) for extra in self._summed_down(node, backward)]
            if backward.later:
                moments.append(self._later_moment(node, backward, incoming))
            for storage in [*self.saved.pop(node.name), *([] if backward.releases_incoming else [incoming])]:
                live.release(storage)
            if backward.weights_first:
                live.move(weights, GRADIENTS)
            summed_in: list[int] = []  # alive until every gradient the backward made is handed on
            for name, storage in made:
                moments.append(self._accumulate(self.target.get((node.name, name), name), storage, summed_in))
            for storage in summed_in:
                live.release(storage)
            if node.name in self.copied:  # AccumulateGrad copies the weight's gradient to its layout
                moments.append(live.with_added(GRADIENTS, self.copied[node.name]))
            live.move(weights, GRADIENTS)  # held by the parameters to zero_grad
            self._point("backward", node.name, layer.kind, moments)
        for storage in self.loss_storages:
            live.release(storage)

    def _point(self, phase: str, name: str, kind: str, moments: list[tuple[int, ...]]) -> None:
        """A point at the busiest of its `moments` (the first of the busiest), with all of them."""
        busiest = max(moments, key=sum)
        self.points.append(Point(phase, name, kind, busiest, sum(self.live.totals),
                                 tuple(map(sum, moments)) if len(moments) > 1 else ()))

    def _waiting(self) -> dict[str, list[tuple[list[int], int]]]:
        """MemTracker's module tracker hooks the inputs of each layer that need a gradient and is
        called once all their gradients are complete: it holds each one from the moment it is
        complete (its maker's backward begins) until the last. For each layer's output, the
        hooks that will hold its gradient: (what they hold so far, how many they wait for)."""
        waiting: dict[str, list[tuple[list[int], int]]] = {}
        for node in self.graph.nodes:
            inputs = [name for name in node.inputs if self.requires[name]]
            if len(inputs) > 1:
                hook: tuple[list[int], int] = ([], len(inputs))
                for name in inputs:
                    waiting.setdefault(self.target.get((node.name, name), name), []).append(hook)
        return waiting

    def _accumulate(self, name: str, storage: int, summed_in: list[int] | None = None) -> tuple[int, ...]:
        """A gradient reaching `name`, once the layer that made it has let go of its incoming
        gradient and what it kept: the first is kept, a later one summed with it out of place.
        The bytes alive at that moment. A gradient summed in is let go at once, or where
        `summed_in` is given, put there: torch's autograd holds every gradient a backward made
        until it has handed on all of them (the list of its outputs)."""
        earlier = self.grads.get(name)
        if earlier is None:
            self.grads[name] = storage
            return tuple(self.live.totals)
        total = self.live.make(numel(self.stats.shapes[name]) * self.itemsize, TEMPORARIES)
        moment = tuple(self.live.totals)
        self.grads[name] = self.live.hold(total)
        self.live.release(earlier)
        if summed_in is None:
            self.live.release(storage)
        else:
            summed_in.append(storage)
        return moment


def copied_weight_gradients(graph: Graph, stats: ModelStats, dtype: str,
                             layouts: dict[str, Layout]) -> dict[str, int]:
    """Each layer whose weight's gradient torch's AccumulateGrad copies to the weight's layout (a
    convolution running channels-last: `LayerKind.weight_gradient_copied`), with the bytes of the
    copy, its tensors of `dtype`."""
    copied = {}
    for node in graph.nodes:
        size = node.kind.weight_gradient_copied(node.attrs, [stats.shapes[name] for name in node.inputs],
                                                [layouts[name] for name in node.inputs], element_bytes(dtype), dtype)
        if size:
            copied[node.name] = size
    return copied


def _modifies_a_split(node, split: str) -> SpecError:
    """The error of an in-place layer changing a slice of a split (a view among several)."""
    return SpecError(f"in training, it changes in place a slice of '{split}', one of several views of one tensor "
                     "(torch.chunk): torch refuses to (such functions do not allow the output views to be modified "
                     "inplace)", hint="set inplace: false on this layer", location=node.location, layer=node.name)


def _reads_a_changed_tensor(node, name: str, writer: str, how: str, reader: str = "it") -> SpecError:
    """The error of a layer (or the loss) reading in training a tensor whose gradient autograd
    makes anew after an in-place change (`READ`)."""
    return SpecError(f"in training, {reader} reads '{name}' {READ[how].format(writer=writer)}: archcalc does not "
                     "count the memory of the gradient torch's autograd then makes", hint=f"set inplace: false on '{writer}'",
                     location=node.location, layer=node.name)


def _changes_what_was_read(node, base: str, writer: str, reader: str) -> SpecError:
    """The error of an in-place layer changing a view of `base` after `reader` read what `writer`'s
    change of another view of it made."""
    return SpecError(f"in training, it changes in place a view of '{base}' after '{reader}' read what '{writer}' changed "
                     "in place in another view of it: archcalc does not count the memory of the gradients torch's "
                     "autograd then sums", hint=f"set inplace: false on '{writer}' or on this layer",
                     location=node.location, layer=node.name)


def _overwrites(node, keeper: str) -> SpecError:
    """The error of an in-place layer overwriting a tensor that `keeper` keeps for its backward."""
    source = node.inputs[0]
    what = "the model's input" if source == INPUT else f"the output of '{source}'"
    return SpecError(f"in training, it overwrites in place {what}, which "
                     f"'{keeper}'{' itself' * (keeper == source)} keeps for its backward pass: torch refuses to "
                     "run the backward (an inplace operation modified a variable needed for gradient computation)",
                     hint="set inplace: false on this layer", location=node.location, layer=node.name)


def training_timeline(graph: Graph, input: str | tuple[int, ...] | None, dtype: str, optimizer: str):
    """batch → the total bytes alive at each point of a training step (archcalc.peak's timeline),
    at each of a point's moments where it has several (`Point.moments`): each a line in the batch."""
    def timeline(batch: int) -> list[tuple[str, int]]:
        stats = analyze_graph(graph, input_shape(input), batch, training=True)
        if stats.formulas:
            raise SpecError(f"memory is worked out at one size, got the input {format_shape(stats.input_shape)}",
                            hint="give the input as numbers, like 3x224x224")
        step = training_memory(graph, stats, dtype, optimizer)
        return [(point_label(point), moment) for point, total in zip(step.points, step.totals)
                for moment in point.moments or (total,)]

    return timeline


def point_label(point: Point) -> str:
    """'the forward of conv1', 'the loss', 'the optimizer's step'."""
    return {"optimizer": "the optimizer's step", "loss": "the loss"}.get(point.phase, f"the {point.phase} of {point.name}")
