"""What torch says of a built model, layer by layer: shapes, parameters and both counters."""

from __future__ import annotations

import traceback
import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Measured:
    """One layer (or the whole model) as torch and the counters see it; None = not counted."""

    shape: tuple
    """The output's shape; the whole model's of several heads, each head's (`output_shape`)."""
    params: int
    buffers: int
    fvcore: int | None = None
    flop_counter: int | None = None
    flop_counter_backward: int | None = None


def measure(model: nn.Module, x: torch.Tensor, layers: list[str], fvcore: bool,
            flop_counter: bool) -> tuple[dict[str, Measured], Measured]:
    """Each named layer's figures, and the model's, from one hooked forward pass and, with
    `fvcore`, one FlopCountAnalysis trace. The model should be in eval mode."""
    shapes, flops, total_flops, output = _hooked_forward(model, x, layers, flop_counter)
    by_module, fvcore_total = _fvcore_counts(model, x) if fvcore else ({}, None)
    measured = {}
    for name in layers:
        module = model.get_submodule(name)
        measured[name] = Measured(
            shapes[name], _numel(module.parameters()), _numel(module.buffers()),
            by_module.get(name, 0) if fvcore else None, flops.get(name) if flop_counter else None)
    total = Measured(output, _numel(model.parameters()), _numel(model.buffers()), fvcore_total,
                     total_flops if flop_counter else None)
    return measured, total


def _hooked_forward(model: nn.Module, x: torch.Tensor, layers: list[str], flop_counter: bool):
    """Output shape of each layer and, under FlopCounterMode, the FLOPs counted while it ran;
    the whole pass's FLOPs and the model's output shape (`output_shape`)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False) if flop_counter else None
    total = counter.get_total_flops if counter else (lambda: 0)
    shapes: dict[str, tuple[int, ...]] = {}
    flops: dict[str, int] = {}
    started: dict[str, int] = {}

    def before(name):
        return lambda module, args: started.__setitem__(name, total())

    def after(name):
        def hook(module, args, out):
            shapes[name] = tuple(out.shape)
            flops[name] = total() - started[name]
        return hook

    handles = []
    for name in layers:
        module = model.get_submodule(name)
        handles += [module.register_forward_pre_hook(before(name)), module.register_forward_hook(after(name))]
    try:
        with torch.no_grad(), counter or nullcontext():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes, flops, total(), output_shape(output)


def output_shape(output) -> tuple:
    """The model's output shape; of several heads (a tuple), each head's, in the order returned."""
    return tuple(output_shape(head) for head in output) if isinstance(output, tuple) else tuple(output.shape)


class FvcoreFailed(Exception):
    """fvcore's FlopCountAnalysis stopped on the model, so it gives no count of it: one of its
    handles asserts what it takes (the layer norm's, an input of 2 to 5 dimensions)."""


def _fvcore_counts(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, int], int]:
    """fvcore's FlopCountAnalysis per module name and in total (it traces with torch.jit);
    FvcoreFailed where one of its handles refuses an operation."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    try:
        with warnings.catch_warnings(), torch.no_grad():  # as the counters run it: an in-place change of a
            warnings.simplefilter("ignore")  # chunk's view is refused with autograd on; the tracer's notes
            return dict(analysis.by_module()), analysis.total()
    except AssertionError as error:
        handle = traceback.extract_tb(error.__traceback__)[-1].name
        raise FvcoreFailed(f"its {handle} asserts what it takes: AssertionError: {error}") from error


def _numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


def training_flops(model: nn.Module, x: torch.Tensor, layers: list[str]
                   ) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Each named layer's FLOPs under FlopCounterMode in a training step, (forward, backward), and
    the step's: one pass, then backward from the sum of the outputs (`x` needs no gradient; a
    model without parameters has no backward).
    A forward operation is the layer's whose hooks it runs between; a backward one, the layer's
    whose forward made the autograd node that runs it (FlopCounterMode's own per-module counts
    charge the backward of a merge's branches to the merge)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    flops: dict[tuple[str | None, int], int] = {}
    now: list = [(None, 0), 0]  # (layer, 0 forward or 1 backward) counted now, and the total when it began
    owner: dict = {}  # autograd node → the layer whose forward made it

    def charge(key: tuple[str | None, int]) -> None:
        total = counter.get_total_flops()
        flops[now[0]] = flops.get(now[0], 0) + total - now[1]
        now[:] = [key, total]

    def charging(key: tuple[str | None, int]):
        return lambda grads: charge(key)

    def made(name: str):
        def hook(module, args, out):
            charge((None, 0))
            nodes = [out.grad_fn]
            while nodes:
                node = nodes.pop()
                if node is not None and node not in owner:
                    owner[node] = name
                    nodes += [edge for edge, _ in node.next_functions]
        return hook

    handles = []
    for name in layers:
        module = model.get_submodule(name)
        handles += [module.register_forward_pre_hook(lambda module, args, name=name: charge((name, 0))),
                    module.register_forward_hook(made(name))]
    try:
        with counter:
            output = model(x)
            loss = sum(out.sum() for out in (output if isinstance(output, tuple) else (output,)))
            charge((None, 1))
            if loss.grad_fn is not None:  # else no parameter: nothing needs a gradient, no backward runs
                for node in _graph(loss.grad_fn):
                    node.register_prehook(charging((owner.get(node), 1)))
                loss.backward()
            charge((None, 1))
    finally:
        for handle in handles:
            handle.remove()
    passes = tuple(sum(count for (_, phase), count in flops.items() if phase == p) for p in (0, 1))
    if sum(passes) != counter.get_total_flops():
        raise RuntimeError("training_flops charged FlopCounterMode's operations otherwise than it counted them")
    return {name: (flops.get((name, 0), 0), flops.get((name, 1), 0)) for name in layers}, passes


def _graph(root) -> list:
    """Every autograd node that backward from `root` runs."""
    seen, nodes = {root}, [root]
    while nodes:
        for edge, _ in nodes.pop().next_functions:
            if edge is not None and edge not in seen:
                seen.add(edge)
                nodes.append(edge)
    return list(seen)
