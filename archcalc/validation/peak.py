"""The peaks of inference and of a training step as torch's own MemTracker measures them, on fake
tensors (the model is built and run without allocating, so any model size works on any machine),
or, for a training step where asked (`fake=False`), on real CPU tensors."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.distributed._tools.mem_tracker import MemTracker

from archcalc.graph import Graph

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                "float64": torch.float64}


class TrackedPeak(NamedTuple):
    """MemTracker's peak snapshot, in bytes: its Parameter, Buffer and Activation categories
    (at inference it files nothing under Gradient, Temp or Optstate) and its Total."""

    parameters: int
    buffers: int
    activations: int
    total: int


class OverallPeakTracker(MemTracker):
    """MemTracker keeping its overall peak but not each module's. After every operation it
    otherwise steps through every module run so far to update their own peaks, which makes a
    run quadratic in the model's size (more than half the time of a large model's measurement);
    the overall peak is updated by the same code, the module peaks are never read here."""

    def _update_peak_stats(self, peak_state) -> None:
        modules, self.memory_tracking = self.memory_tracking, {}
        try:
            super()._update_peak_stats(peak_state)
        finally:
            self.memory_tracking = modules


def tracked_peak(graph: Graph, shape: tuple[int, ...], dtype: str = "float32",
                 tracker: type[MemTracker] = OverallPeakTracker, fake: bool = True) -> TrackedPeak:
    """Build `graph` on fake tensors (real CPU ones where `fake` is false) in `dtype`, make an
    input of `shape` (batch first) before the tracker starts, and run one forward pass in eval mode
    without gradients under MemTracker (or `tracker`)."""
    return tracked_peaks(graph, shape[1:], [shape[0]], dtype, tracker, fake)[0]


def tracked_peaks(graph: Graph, input_shape: tuple[int, ...], batches: list[int], dtype: str = "float32",
                  tracker: type[MemTracker] = OverallPeakTracker, fake: bool = True) -> list[TrackedPeak]:
    """`tracked_peak` at each of `batches`, the model built once (as at the smallest batch, which
    is where torch may refuse one) and a tracker for each batch."""
    import contextlib

    from torch._subclasses.fake_tensor import FakeTensorMode

    model = _built(graph, input_shape, min(batches), TORCH_DTYPES[dtype])
    made = torch.empty if fake else _drawn
    with FakeTensorMode() if fake else contextlib.nullcontext():
        model = _on_tensors(model, made)
        return [_measured(model, made(batch, *input_shape, dtype=TORCH_DTYPES[dtype]), tracker)
                for batch in batches]


def _measured(model: torch.nn.Module, x: torch.Tensor, tracker: type[MemTracker]) -> TrackedPeak:
    """MemTracker's peak of one forward pass of `model` on `x` in eval mode without gradients."""
    measuring = tracker()
    with torch.no_grad(), measuring:
        model(x)
    snapshot = {str(getattr(key, "value", key)): size for device in measuring.get_tracker_snapshot("peak").values()
                for key, size in device.items()}
    return TrackedPeak(*(snapshot.get(key, 0) for key in ("Parameter", "Buffer", "Activation", "Total")))


def _built(graph: Graph, input_shape: tuple[int, ...], batch: int, dtype: torch.dtype) -> torch.nn.Module:
    """The model on the meta device in `dtype` (made so by the default dtype), in eval mode:
    nothing allocated, no weight drawn."""
    from archcalc.torchmodel import build_graph

    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return build_graph(graph, input_shape, batch, device="meta").eval()
    finally:
        torch.set_default_dtype(default)


def _on_fake_tensors(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with each parameter and buffer a fake CPU tensor of its shape and dtype (under the
    active FakeTensorMode): sizes are all MemTracker reads, and fake tensors hold no values."""
    return _on_tensors(model, torch.empty)


def _drawn(*shape, dtype: torch.dtype) -> torch.Tensor:
    """A real CPU tensor of `shape`: floating-point values drawn from [0, 1), whole numbers 0."""
    return torch.rand(*shape, dtype=dtype) if dtype.is_floating_point else torch.zeros(*shape, dtype=dtype)


def _on_tensors(model: torch.nn.Module, made) -> torch.nn.Module:
    """`model` with each parameter and buffer `made(shape, dtype=…)`: a fake tensor under an
    active FakeTensorMode, else a real CPU one."""
    return model._apply(lambda tensor: made(tensor.shape, dtype=tensor.dtype))


TRAINING_KEYS = ("Parameter", "Buffer", "Gradient", "Activation", "Temp", "Optstate")
"""MemTracker's categories of a training step, in archcalc.training.CATEGORIES' order."""


def tracked_training_peaks(graph: Graph, input_shape: tuple[int, ...], batches: list[int], dtype: str = "float32",
                           optimizer: str = "momentum", tracker: type[MemTracker] = OverallPeakTracker,
                           fake: bool = True) -> list[tuple[int, ...]]:
    """MemTracker's peak of a training step in steady state at each of `batches`: the model built
    once on fake tensors (real CPU ones where `fake` is false) in training mode, a first step
    untracked at the first batch (the optimizer's state made: one tensor or two per parameter, of
    the parameter's shape at any batch), then a step at each batch under a tracker told of the
    model and the optimizer beforehand. Each peak is its six categories (TRAINING_KEYS) and its Total."""
    return tracked_training_peaks_each(graph, input_shape, batches, (optimizer,), dtype, tracker, fake)[optimizer]


def tracked_training_peaks_each(graph: Graph, input_shape: tuple[int, ...], batches: list[int],
                                optimizers: tuple[str, ...], dtype: str = "float32",
                                tracker: type[MemTracker] = OverallPeakTracker,
                                fake: bool = True) -> dict[str, list[tuple[int, ...]]]:
    """`tracked_training_peaks` for each of `optimizers`, one built model and one first step for
    all: its gradients step every optimizer (each makes its state as after its own first step),
    then each optimizer's steps are tracked in turn, its state dropped after them. The state of
    an optimizer not being tracked is no tensor the tracker sees: it is neither registered with it
    nor made or touched while it runs."""
    import contextlib

    from torch._subclasses.fake_tensor import FakeTensorMode

    model = _built(graph, input_shape, min(batches), TORCH_DTYPES[dtype])
    made = torch.empty if fake else _drawn
    with FakeTensorMode() if fake else contextlib.nullcontext():
        model = _on_tensors(model, made).train()
        steps = [training_step(model, optimizer) for optimizer in optimizers]
        inputs = [made(batch, *input_shape, dtype=TORCH_DTYPES[dtype]) for batch in batches]
        steps[0](inputs[0], lambda: [step.optimizer.step() for step in steps[1:]])
        peaks = {}
        for optimizer, step in zip(optimizers, steps):
            peaks[optimizer] = [_tracked_step(step, model, x, tracker) for x in inputs]
            step.optimizer.state.clear()
        return peaks


def _tracked_step(step, model: torch.nn.Module, x: torch.Tensor, tracker: type[MemTracker]) -> tuple[int, ...]:
    """MemTracker's peak of `step` on `x`, told of the model and the step's optimizer: its six
    categories (TRAINING_KEYS) and its Total."""
    measuring = tracker()
    measuring.track_external(model, step.optimizer)
    with measuring:
        step(x)
    snapshot = {str(getattr(key, "value", key)): size
                for device in measuring.get_tracker_snapshot("peak").values() for key, size in device.items()}
    return tuple(snapshot.get(key, 0) for key in (*TRAINING_KEYS, "Total"))


def tracked_training_moments(graph: Graph, input_shape: tuple[int, ...], batch: int, dtype: str = "float32",
                             optimizer: str = "momentum") -> list[int]:
    """MemTracker's Total once each moment of a training step in steady state is done, in the order
    of archcalc.training's points: each layer's forward (the next layer's Pre-Forward snapshot, the
    last's the model's Post-Forward), the loss (the last layer's Pre-Backward), each layer's
    backward from the last (the next one's Pre-Backward, the first's the model's Post-Backward),
    the optimizer's step (a snapshot before zero_grad). Each layer is the module of its name."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import _ModState

    model = _built(graph, input_shape, batch, TORCH_DTYPES[dtype])
    with FakeTensorMode():
        model = _on_fake_tensors(model).train()
        step, stepped = training_step(model, optimizer), []
        x = torch.empty(batch, *input_shape, dtype=TORCH_DTYPES[dtype])
        step(x)
        measuring = OverallPeakTracker()
        measuring.track_external(model, step.optimizer)
        with measuring:
            step(x, lambda: stepped.append(measuring.get_tracker_snapshot()))

    def total(module: torch.nn.Module, state: _ModState) -> int:
        return _total(measuring.memory_tracking[module].snapshots[state][-1])

    modules = dict(model.named_modules())
    layers = [modules[node.name] for node in graph.nodes]
    return [*(total(layer, _ModState.PRE_FW) for layer in layers[1:]), total(model, _ModState.POST_FW),
            *(total(layer, _ModState.PRE_BW) for layer in layers[::-1]), total(model, _ModState.POST_BW),
            _total(stepped[0])]


def _total(snapshot: dict) -> int:
    """The Total of a MemTracker snapshot, over its devices."""
    return sum(size for device in snapshot.values() for key, size in device.items()
               if str(getattr(key, "value", key)) == "Total")


def training_step(model: torch.nn.Module, optimizer: str):
    """A function running one training step of `model` on its argument: the loss the sum of the
    output (of several, the sum of their sums), backward, the optimizer's step, zero_grad (which
    sets the gradients to None, torch's default). The optimizer loops over the parameters one at a
    time (foreach=False: the CPU's default, which CUDA would otherwise replace by the foreach
    route, holding temporaries of every parameter at once). Its `optimizer` attribute is the optimizer."""
    import functools
    import operator

    parameters = list(model.parameters())
    made = {"sgd": lambda: torch.optim.SGD(parameters, lr=0.01, foreach=False),
            "momentum": lambda: torch.optim.SGD(parameters, lr=0.01, momentum=0.9, foreach=False),
            "adam": lambda: torch.optim.Adam(parameters, foreach=False),
            "adamw": lambda: torch.optim.AdamW(parameters, foreach=False)}[optimizer]()

    def loss(outputs) -> torch.Tensor:
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        return functools.reduce(operator.add, [output.sum() for output in outputs])

    def step(x: torch.Tensor, stepped=lambda: None) -> None:
        loss(model(x)).backward()
        made.step()
        stepped()  # the optimizer has stepped; zero_grad not yet
        made.zero_grad()

    step.optimizer = made
    return step
