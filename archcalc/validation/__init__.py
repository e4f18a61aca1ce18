"""Cross-validation: build the real torch model of a spec, measure it, compare every figure.

torch (and fvcore, for its counter) are imported here only when `validate` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from archcalc.analysis import analyze_graph, input_shape
from archcalc.conventions import counted
from archcalc.dependencies import require
from archcalc.errors import DeviceError, SpecError, did_you_mean, first_line, on_one_line
from archcalc.graph import Graph, Node
from archcalc.layers.base import numel
from archcalc.limits import MAX_RUNS, MAX_THREADS
from archcalc.progress import phase
from archcalc.sizes import format_shape, human_bytes, integer, parse_batch
from archcalc.stats import LayerStats, ModelStats
from archcalc.torchmodel import _buildable

if TYPE_CHECKING:
    from archcalc.training import Training
from archcalc.validation.results import (
    COUNTED,
    FIGURES,
    MEMORY_FIGURES,
    TRAINING_FIGURES,
    Check,
    Latency,
    LayerCheck,
    Validation,
)

DEVICES = ("auto", "cpu", "cuda", "meta")
LATENCY_MODES = ("blocks", "per-layer")
LATENCY_DTYPES = ("float32", "float16", "bfloat16", "float64")
"""The element types a model is timed in (`--dtype`)."""
COUNTERS = {"both": ("fvcore", "flop_counter"), "fvcore": ("fvcore",), "torch": ("flop_counter",)}
BACKWARD = "flop_counter_backward"
"""The counter of `train`: FlopCounterMode over a training step's backward pass."""

__all__ = ["COUNTERS", "DEVICES", "FIGURES", "LATENCY_DTYPES", "LATENCY_MODES", "MEMORY_FIGURES", "Check", "LayerCheck",
           "NoRoom", "Validation", "checked_validation", "measure_latency", "validate", "validate_graph"]


WARMUP = 2
"""The untimed passes before the timed ones unless told otherwise (`--warmup`)."""

def validate(spec: str | Path, variant: str | None = None, input: str | tuple[int, ...] | None = None,
             batch: int = 1, device: str = "auto", counter: str = "both", runs: int = 10,
             warmup: int | None = None, memory: bool = True, latency: str = "blocks",
             threads: int | None = None, device_profile: str | Path | None = None, train: bool = False,
             dtype: str = "float32") -> Validation:
    """Validate a spec file or bundled model: `validate("resnet50", device="cpu").ok`."""
    from archcalc.spec import load_graph

    graph = load_graph(spec, variant)
    return validate_graph(graph, input_shape(input), batch, device, counter, runs, warmup, memory, latency, threads,
                          device_profile, train, dtype)


def validate_graph(graph: Graph, input_shape: tuple[int, ...] | None = None, batch: int = 1,
                   device: str = "auto", counter: str = "both", runs: int = 10,
                   warmup: int | None = None, memory: bool = True, latency: str = "blocks",
                   threads: int | None = None, device_profile: str | Path | None = None,
                   train: bool = False, dtype: str = "float32") -> Validation:
    """Build `graph` in torch on `device`, measure it, and compare with the predicted figures.

    `counter` is both, fvcore or torch (FlopCounterMode). On the meta device only
    FlopCounterMode counts (fvcore traces real tensors) and nothing is timed. `runs` timed
    forward passes after `warmup` give the latency of the model and its top-level blocks, and with
    `latency="per-layer"` of every layer too, on `threads` CPU threads (default one on the CPU);
    0 runs skips timing; the model is timed in `dtype` (counted in float32, whose counts any dtype
    shares). With a `device_profile` (`archcalc.roofline`), each time has the roofline's
    prediction beside it. With `memory`, the inference peak and a training step's are compared
    with torch's MemTracker on fake tensors, whatever the device (on real CPU tensors where fake
    ones count otherwise: `_memory_check`, `_training_check`). With `train`, each layer's backward FLOPs in a training
    step (run on the meta device, whatever the device) are compared with FlopCounterMode's.
    """
    return checked_validation(graph, input_shape, batch, device, counter, runs, warmup, memory, latency, threads,
                              device_profile, train, dtype)()


def checked_validation(graph: Graph, input_shape: tuple[int, ...] | None = None, batch: int = 1,
                       device: str = "auto", counter: str = "both", runs: int = 10,
                       warmup: int | None = None, memory: bool = True, latency: str = "blocks",
                       threads: int | None = None, device_profile: str | Path | None = None,
                       train: bool = False, dtype: str = "float32", of_several: bool = False) -> Callable[[], Validation]:
    """Every refusal of `validate_graph` (its arguments), before torch builds anything; returns what
    then builds, measures and compares. Several models are each checked first, then each validated,
    so that a model refused does not come after the seconds of validating those before it; a
    refusal for want of memory names the model `of_several`."""
    phase("importing torch")
    torch = require("torch", "archcalc validate")
    place = _device(torch, device)
    threads = _check_latency(latency, threads)
    untimed_options = {"--device-profile": device_profile is not None, "--latency per-layer": latency == "per-layer",
                       "--threads": threads is not None, "--warmup": warmup is not None}
    runs, warmup = _check_runs(runs, WARMUP if warmup is None else warmup)
    profile = _profile(device_profile)
    _check_dtype(dtype, place, runs, profile)
    _check_untimed(place, runs, untimed_options)
    counters = _counters(counter, place) + ((BACKWARD,) if train else ())
    if train and "flop_counter" not in counters:
        raise SpecError("--train compares the backward pass with FlopCounterMode's count, which --counter fvcore "
                        "leaves out", hint="use --counter torch or both")
    if "fvcore" in counters:
        require("fvcore", "counting with fvcore")
    predicted = analyze_graph(graph, input_shape, parse_batch(batch, symbols=False))
    if predicted.formulas:
        raise SpecError(f"validation builds the model at one size, got the input {format_shape(predicted.input_shape)}",
                        hint="give the input as numbers, like 3x224x224")
    _buildable(graph)
    try:
        _check_memory(torch, predicted, place, dtype)
    except NoRoom as refused:  # it says 'the model': which one, of several
        if not of_several:
            raise
        raise NoRoom(f"{graph.model} ({on_one_line(graph.file)}): {refused.message}", hint=refused.hint) from None
    _check_runnable(graph, predicted, place, dtype)
    notes = ("fvcore cannot trace meta tensors: FlopCounterMode counts alone",) \
        if place == "meta" and counter == "both" else ()
    result = Validation(graph.model, graph.file, place, predicted.input_shape, counters,
                        _versions(counters, place), notes=notes)
    return partial(_measured, graph, predicted, result, runs, warmup, memory, latency, threads, profile, dtype)


def _measured(graph: Graph, predicted: ModelStats, result: Validation, runs: int, warmup: int, memory: bool,
              latency: str, threads: int | None, profile, dtype: str) -> Validation:
    """Build the model, measure it and compare (`validate_graph`), once `checked_validation` let it through."""
    try:
        result = _measure_and_compare(graph, predicted, result, runs, warmup, latency, threads, profile, dtype)
        if not memory:
            return result
        phase("the training step's peak against MemTracker")
        training, note = _training_check(graph, predicted)
        if note:
            result = replace(result, notes=(*result.notes, note))
        phase("the inference peak against MemTracker")
        inference, note = _memory_check(graph, predicted)
        if note:
            result = replace(result, notes=(*result.notes, note))
        return replace(result, memory=inference, training=training)
    except (RuntimeError, ValueError) as error:  # torch refused what archcalc accepted
        return replace(result, error=f"torch could not run the model: {first_line(error)}")


class NoRoom(DeviceError):
    """The device has too little memory for the model (`_check_memory`): of several models
    (`validate --all`), the command names which one."""


def _check_memory(torch, stats: ModelStats, place: str, dtype: str = "float32") -> None:
    """Refuse, before allocating, a model that cannot fit even at its smallest: its weights, buffers,
    input and largest layer output all at once, in float32 (built and counted) or in the dtype it is
    timed in where that is wider (float64: 8 bytes an element, twice what the count needs)."""
    if place == "meta":
        return
    from archcalc.stats import DTYPE_BYTES

    largest = max(numel(layer.shape) for layer in stats.layers)
    width = max(DTYPE_BYTES["float32"], DTYPE_BYTES[dtype])
    at_least = width * (stats.totals.params + stats.totals.buffers + numel(stats.input_shape) + largest)
    available = _available_memory(torch, place)
    if available is not None and at_least > available:
        raise NoRoom(f"the model needs at least {human_bytes(at_least)} on {place} (weights, buffers, "
                        f"input and its largest output{f', in {dtype}' if width > 4 else ''}), and "
                        f"{human_bytes(available)} is available",
                        hint="use --device meta, which allocates nothing, or a smaller input or batch"
                             + (" (or leave out --dtype: the model is built, counted and timed in float32)"
                                if width > DTYPE_BYTES["float32"] else ""))


def _check_runnable(graph: Graph, stats: ModelStats, place: str, dtype: str) -> None:
    """Refuse, before torch runs it on the CPU, a convolution its CPU kernel crashes on
    (`_crashing_convolution`)."""
    if place != "cpu":
        return
    crashing = next(filter(None, (_crashing_convolution(graph, stats, each) for each in dict.fromkeys(["float32", dtype]))),
                    None)  # counted in float32, timed in dtype: the layouts may differ
    if crashing is not None:
        node, along = crashing
        raise SpecError(f"torch's CPU convolution crashes (a segmentation fault) on this layer: {_crashes(along)}",
                        location=node.location, layer=node.name,
                        hint="pad so that every window reads the input (less padding), or validate on cuda or with "
                             "--device meta; the figures of archcalc table do not need torch")


def _crashes(along: str) -> str:
    """What makes torch's CPU kernel crash on a convolution (`_crashing_convolution`), `along` an axis."""
    return (f"strided and dilated, of a channels-last map (as the layer before hands it on), with every window along "
            f"its {along} reading only padding")


def _crashing_convolution(graph: Graph, stats: ModelStats, dtype: str) -> tuple[Node, str] | None:
    """The first convolution torch's CPU kernel crashes on in `dtype` (torch 2.13: a segmentation fault, the
    process gone), and the axis along which it does, or None: strided and dilated, of a
    channels-last map (after a channel layer norm, say), with every window along an axis reading
    only padding, where torch may run it through oneDNN (`_may_run_on_onednn`). Of 942 such 2-D convolutions on small maps, the 13 that crashed were all strided,
    dilated and had a window of padding alone; of some 8,000 more (1 to 5 units an axis, a batch of 1
    or 3), the 24 that crashed (all of a batch of 3) had every window of an axis so, and none of the
    3,000 strided and dilated ones that had not (421 of them with some window of padding alone, each
    computing what the contiguous map gives): a window of padding alone at an end is no sign."""
    from archcalc import layout
    from archcalc.layers.base import AXIS_NAMES
    from archcalc.memory import graph_layouts

    layouts = graph_layouts(graph, stats.shapes, stats.input_shape, dtype)
    for node, layer in zip(graph.nodes, stats.layers):
        if node.kind.key not in ("conv1d", "conv2d", "conv3d"):
            continue
        a, (source,) = node.attrs, node.inputs
        shape, strides = stats.shapes[source], layouts[source]
        if not _may_run_on_onednn(a, shape, dtype):
            continue
        if not layout.strides_like_channels_last(*(layout.as_2d(shape, strides) if len(shape) == 3 else (shape, strides))):
            continue
        axes = list(zip(shape[2:], layer.shape[2:], a.kernel, a.stride, a.padding, a.dilation))
        if not (any(s > 1 for *_, s, _, _ in axes) and any(d > 1 for *_, d in axes)):
            continue
        empty = [axis for axis, (n, outputs, k, s, p, d) in enumerate(axes) if _all_padding(n, outputs, k, s, p, d)]
        if empty:
            return node, AXIS_NAMES[len(axes)][empty[0]]
    return None


def _may_run_on_onednn(a, shape: tuple[int, ...], dtype: str) -> bool:
    """Whether torch may run this convolution through oneDNN on the CPU, whose kernel is the one that
    crashes: as `runs_on_onednn` says in float32 (at any threads: a strided, dilated one is past
    aten's first condition) and float64 (never); in float16 oneDNN's own check of the CPU decides,
    so it may. Torch 2.13, measured in child processes: the crashing layer of the test (3×4×4×1
    channels-last, kernel 5×2, stride 1×2, padding 3, dilation 2) crashed in float32 at a batch of 3
    or grouped, in bfloat16 always; it ran at a batch of 1 ungrouped (torch's own kernel), in
    float64 and, on this project's CPU, in float16; of 180 more such 2-D layers, none crashed at
    a batch of 1 ungrouped."""
    from archcalc.layers.conv import runs_on_onednn

    return dtype == "float16" or runs_on_onednn(a, shape, dtype)


def _crashes_here(graph: Graph, stats: ModelStats) -> str | None:
    """What to say of a convolution torch's CPU kernel crashes on in float32, where a peak is
    measured on real CPU tensors whatever the device validated on; else None."""
    crashing = _crashing_convolution(graph, stats, "float32")
    if crashing is None:
        return None
    node, along = crashing
    return f"torch's CPU convolution crashes (a segmentation fault) on the layer '{node.name}': {_crashes(along)}"


def _padding_window(size: int, outputs: int, kernel: int, stride: int, padding: int, dilation: int) -> int | None:
    """The first output along an axis of `size` whose window has every tap in the padding
    (`_reads_padding_only`), or None. Only a window that starts before 0 or ends past the input
    can, a few at each end."""
    ends = [*range(min(outputs, -(-padding // stride) + 1)), *range(max(0, outputs - padding // stride - 1), outputs)]
    return next((o for o in ends if _reads_padding_only(o, size, kernel, stride, padding, dilation)), None)


def _all_padding(size: int, outputs: int, kernel: int, stride: int, padding: int, dilation: int) -> bool:
    """Whether the window of every output along an axis of `size` reads only padding (the output is
    its bias there). Only the windows from the first whose last tap reaches 0 to the last whose
    first tap is in the input can read it: those alone are looked at."""
    first = max(0, -(-(padding - (kernel - 1) * dilation) // stride))
    last = min(outputs - 1, (size - 1 + padding) // stride)
    return all(_reads_padding_only(o, size, kernel, stride, padding, dilation) for o in range(first, last + 1))


def _reads_padding_only(output: int, size: int, kernel: int, stride: int, padding: int, dilation: int) -> bool:
    """Whether the window of `output` along an axis of `size` has every tap in the padding: tap t
    reads unit output·stride − padding + t·dilation."""
    start = output * stride - padding
    first = max(0, -(start // dilation))  # the first tap at or after 0: ⌈−start / dilation⌉
    last = min(kernel - 1, (size - 1 - start) // dilation)  # the last before `size`
    return first > last


def _available_memory(torch, place: str) -> int | None:
    """Free bytes on the device: CUDA's own figure, or the least of the machine's, the process's
    and its cgroups' limits (`archcalc.validation.memory`)."""
    if place.startswith("cuda"):
        return torch.cuda.mem_get_info()[0]
    from archcalc.validation.memory import available_memory

    return available_memory()


def _measure_and_compare(graph: Graph, predicted: ModelStats, result: Validation, runs: int, warmup: int,
                         latency: str, threads: int | None, profile=None, dtype: str = "float32") -> Validation:
    from archcalc.validation.measure import FvcoreFailed, measure

    phase(f"building the model in torch on {result.device}")
    timing = runs > 0 and result.device != "meta"
    model, x = _built(graph, predicted, result.device, timing)
    names = [layer.name for layer in predicted.layers]
    phase("counting the forward pass")
    try:
        measured, total = measure(model, x, names, "fvcore" in result.counters,
                                  "flop_counter" in result.counters)
    except FvcoreFailed as failure:  # fvcore gives no count of this model: the other figures are compared
        result = _without_fvcore(result, failure)
        measured, total = measure(model, x, names, False, "flop_counter" in result.counters)
    backward = None
    if BACKWARD in result.counters:
        phase("counting the backward pass with FlopCounterMode")
        measured, total, backward = _backward(graph, predicted, measured, total)
    layers = [_layer_check(layer, measured[layer.name], result.counters, backward) for layer in predicted.layers]
    timed, notes = None, result.notes
    if timing:
        phase(_timing_phase(runs, warmup, latency))
        try:
            timed = _timed(model, x, graph, predicted, runs, warmup, latency, threads, profile, dtype)
        except (RuntimeError, ValueError, MemoryError) as error:  # the counts stand, whatever stopped the timing
            notes = (*notes, "{}: not timed ({})".format(*_untimed(error, dtype, result.device)))
    if timed is not None and profile is not None and (note := _another_device(profile, result.device)):
        notes = (*notes, note)
    if timed is not None and profile is not None and (note := _measured_otherwise(profile, timed.threads)):
        notes = (*notes, note)
    if timed is not None and (note := _contended(timed.threads)):
        notes = (*notes, note)
    return replace(result, layers=layers, latency=timed, notes=notes,
                   total=_total_check(predicted, total, result.counters, backward))


def _without_fvcore(result: Validation, failure: Exception) -> Validation:
    """The validation without fvcore's counts, where its FlopCountAnalysis stopped on the model
    (a layer norm of a 1-D input, which the fvcore convention names as not counted), and a note why."""
    counters = tuple(counter for counter in result.counters if counter != "fvcore")
    rest = "FlopCounterMode counts alone" if "flop_counter" in counters else "no counter counts the model"
    return replace(result, counters=counters, notes=(*result.notes, f"fvcore could not count the model ({failure}): {rest}"))


def _contended(threads: int | None) -> str | None:
    """A note where the CPU threads timed are more than the CPUs this process may run on: the times
    are then mostly their contention (LeNet-5 on 1,024 threads of this project's 2 CPUs: 102 ms, on
    one 0.14 ms)."""
    from archcalc.parallel import cores

    cpus = cores()
    if threads is None or threads <= cpus:
        return None
    return (f"timed on {threads} threads, more than the {cpus} CPU{'s' if cpus != 1 else ''} this process may run "
            "on: the times are mostly their contention")


def _another_device(profile, device: str) -> str | None:
    """A note where the profile is known to be of another kind of device than the one timed (a
    bundled profile, of a GPU, beside CPU times): its roofline is not this device's. A profile file
    does not say which kind of device it is of: nothing is noted."""
    from archcalc.devices import device_kind

    kind = device_kind(profile)
    if kind is None or kind == device.split(":")[0]:
        return None
    return (f"the device profile '{profile.key}' is of a {kind} device ({profile.name}), and the model was timed on "
            f"{device}: each share of its roofline reached compares two devices")


def _measured_otherwise(profile, threads: int | None) -> str | None:
    """A note where the profile says it was measured on other CPU threads, or another CPU, than the
    model was timed on (`threads`: None where it was not timed on the CPU): its efficiencies and
    fixed costs are that setup's (a profile file reads in any)."""
    if threads is None:
        return None
    import torch

    from archcalc.measure_device import cpu_name

    measured, timed = [], []
    if profile.measured_threads and profile.measured_threads != threads:
        measured.append(_threads(profile.measured_threads))
        timed.append(_threads(threads))
    if profile.cpu and profile.cpu != (here := cpu_name(torch)):
        measured.append(profile.cpu)
        timed.append(here)
    if not measured:
        return None
    return (f"the device profile '{profile.key}' was measured on {' of '.join(measured)}, and the model was timed on "
            f"{' of '.join(timed)}: each share of its roofline reached compares two setups")


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count != 1 else ''}"


def _timing_phase(runs: int, warmup: int, latency: str) -> str:
    """'timing 10 forward passes after 2 warm-up passes': the passes that run, warm-up first; per
    layer each run is two (the model's own pass, then one with the layers' hooks)."""
    each = 2 if latency == "per-layer" else 1
    text = f"timing {_passes(each * runs)}"
    return text + f" after {_passes(each * warmup, 'warm-up pass')}" if warmup else text


def _passes(count: int, what: str = "forward pass") -> str:
    return f"{count:,} {what}{'es' if count != 1 else ''}"


def _untimed(error: Exception, dtype: str, device: str) -> tuple[str, str]:
    """What stopped the timing, and what to try: memory ran out (`out_of_memory`), or torch has no
    kernel for the dtype on the device (on the CPU, torch 2.13 runs no float16 avg_pool3d)."""
    said = first_line(error)
    if not isinstance(error, (RuntimeError, MemoryError)) or isinstance(error, RecursionError):  # archcalc's own
        return f"the timing failed: {type(error).__name__}: {said}", "archcalc's own error: please report it"
    what = f"torch could not run the model in {dtype} on {device}: {said}"
    if out_of_memory(error):
        return what, "time it on a smaller input or batch, or compare the figures alone with --runs 0"
    return what, "time it in float32, or on another device" if dtype != "float32" else "time it on another device"


def out_of_memory(error: Exception) -> bool:
    """Whether memory ran out: CUDA's OutOfMemoryError, the CPU allocator's "can't allocate memory"
    (a RuntimeError: "DefaultCPUAllocator: can't allocate memory: you tried to allocate …"), Python's
    MemoryError. The timing can need more than the count: freed memory is kept for the next pass
    (`keep_freed_memory`), so a pass's large blocks all come from one heap."""
    import torch

    return isinstance(error, (MemoryError, torch.cuda.OutOfMemoryError)) or "can't allocate memory" in str(error)


def _backward(graph: Graph, predicted: ModelStats, measured: dict, total):
    """FlopCounterMode's backward FLOPs of a training step of the model built on the meta device
    (nothing allocated; it counts the same operations on any), added to each layer's measured
    figures and the total's; and archcalc's training step under the torch convention."""
    import torch

    from archcalc.backward import training
    from archcalc.torchmodel import build_graph
    from archcalc.validation.measure import training_flops

    shape = predicted.input_shape
    model = build_graph(graph, shape[1:], shape[0], "meta", initialise=False).eval()
    steps, (_, backward) = training_flops(model, torch.empty(shape, device="meta"), list(measured))
    measured = {name: replace(figures, flop_counter_backward=steps[name][1]) for name, figures in measured.items()}
    return measured, replace(total, flop_counter_backward=backward), training(predicted.under("torch"))


def measure_latency(graph: Graph, input_shape: tuple[int, ...] | None = None, batch: int = 1, device: str = "cpu",
                    runs: int = 10, warmup: int | None = None, latency: str = "per-layer",
                    threads: int | None = None, device_profile: str | Path | None = None,
                    dtype: str = "float32") -> Latency:
    """The latency `validate` measures, without building anything else or comparing any figure."""
    torch = require("torch", "measuring latency")
    place = _device(torch, device)
    threads = _check_latency(latency, threads)
    runs, warmup = _check_runs(runs, WARMUP if warmup is None else warmup)
    profile = _profile(device_profile)
    if place == "meta" or runs < 1:
        raise SpecError("latency is measured on cpu or cuda, over one run or more",
                        hint="give --device cpu or cuda and --runs 1 or more")
    _check_dtype(dtype, place, runs, profile)
    predicted = analyze_graph(graph, input_shape, parse_batch(batch, symbols=False))
    _check_memory(torch, predicted, place, dtype)
    _check_runnable(graph, predicted, place, dtype)
    model, x = _built(graph, predicted, place, timing=True)
    try:
        return _timed(model, x, graph, predicted, runs, warmup, latency, threads, profile, dtype)
    except (RuntimeError, ValueError, MemoryError) as error:  # memory, or a kernel torch has not in this dtype here
        what, advice = _untimed(error, dtype, place)
        raise DeviceError(what, hint=advice) from None


def _built(graph: Graph, predicted: ModelStats, device: str, timing: bool):
    """The model in eval mode on `device`, and a random input of the predicted shape there."""
    import torch

    from archcalc.torchmodel import build_graph

    shape = predicted.input_shape
    # torch's own initialisation to be timed, else unwritten weights: the counts do not depend on
    # the values, the times do (on this project's CPU a max pooling of zeros, which all the
    # activations of a model of zero weights are, ran 3 times as fast as of torch's random ones);
    # the initialisation takes seconds for the largest models (RegNetY-128GF: 3.2 against 0.7)
    model = build_graph(graph, shape[1:], shape[0], device, initialise=timing, zeros=False).eval()
    x = torch.empty(shape, device="meta") if device == "meta" else torch.randn(shape).to(device)
    return model, x


def _timed(model, x, graph: Graph, predicted: ModelStats, runs: int, warmup: int, latency: str, threads: int | None,
           profile=None, dtype: str = "float32") -> Latency:
    """The latency of the model and its top-level blocks, and per layer every layer's, with the
    model and its input in `dtype`; with a device profile, the roofline's predictions beside them."""
    import torch

    from archcalc.validation.latency import time_forward

    if dtype != "float32":
        model, x = model.to(getattr(torch, dtype)), x.to(getattr(torch, dtype))
    if threads is None and x.device.type == "cpu":
        threads = 1
    layers = {layer.name: (layer.kind, layer.figures.macs) for layer in predicted.layers} \
        if latency == "per-layer" else None
    timed = time_forward(model, x, *_top_level_blocks(predicted), runs, warmup, layers, threads)
    return _with_roofline(timed, graph, predicted, profile) if profile is not None else timed


def _profile(device_profile):
    """The device profile named or in a file, loaded now so that a bad one stops before any build."""
    if device_profile is None:
        return None
    from archcalc.devices import DeviceProfile, load_profile

    return device_profile if isinstance(device_profile, DeviceProfile) else load_profile(device_profile)


def _with_roofline(latency: Latency, graph: Graph, predicted: ModelStats, profile) -> Latency:
    """Each time with the roofline's prediction (in the dtype the model ran in), and per layer
    the rank correlation over the layers that hold 90% of the MACs (MIN_RANKED of them at least),
    with the one no prediction that times alike the layers alike can pass."""
    from archcalc.roofline import roofline
    from archcalc.validation.results import MIN_RANKED, alike, heaviest, rank_ceiling, spearman

    roof = roofline(predicted, profile, latency.dtype)
    ms = {layer.name: layer.time * 1e3 for layer in roof.layers}
    layers = [replace(t, predicted_ms=ms[t.name]) for t in latency.layers]
    blocks = [replace(t, predicted_ms=roof.time_of(t.name) * 1e3) for t in latency.blocks]
    ranked = heaviest({layer.name: layer.figures.macs for layer in predicted.layers}) if layers else []
    measured = {t.name: t.ms for t in layers}
    rho = spearman([ms[name] for name in ranked], [measured[name] for name in ranked]) \
        if len(ranked) >= MIN_RANKED else None
    described = alike(graph, predicted)
    ceiling = rank_ceiling([measured[name] for name in ranked], [described[name] for name in ranked]) \
        if rho is not None else None
    return replace(latency, model=replace(latency.model, predicted_ms=roof.total * 1e3), blocks=blocks,
                   layers=layers, profile=profile.name, rank_correlation=rho, ranked=len(ranked), rank_ceiling=ceiling)


def _check_latency(latency: str, threads: int | None) -> int | None:
    """The threads as an int (None: the default), the latency mode and the threads checked: a whole
    number (of any integer type but bool) from 1 to MAX_THREADS."""
    if latency not in LATENCY_MODES:
        raise SpecError(f"unknown latency mode '{latency}'{did_you_mean(latency, LATENCY_MODES)}",
                        hint=f"choose one of {', '.join(LATENCY_MODES)}")
    whole = None if threads is None else integer(threads)
    if threads is not None and (whole is None or not 1 <= whole <= MAX_THREADS):
        raise SpecError(f"threads must be a whole number from 1 to {MAX_THREADS:,}, got {threads!r}",
                        hint=f"give threads= (--threads) from 1 to {MAX_THREADS:,}")
    return whole


def _check_runs(runs: int, warmup: int) -> tuple[int, int]:
    """Timed and warm-up passes as ints, refused where they are no whole number from 0 to MAX_RUNS
    (an integer of any type, numpy's too, but bool), as the command line does: range() took a
    negative warm-up (fewer passes timed than said), and a float or a bool went as far as the timing."""
    counts = []
    for name, count in (("runs", runs), ("warmup", warmup)):
        whole = integer(count)
        if whole is None or not 0 <= whole <= MAX_RUNS:
            raise SpecError(f"{name} must be a whole number from 0 to {MAX_RUNS:,}, got {count!r}",
                            hint=f"give {name}= (--{name}) from 0 to {MAX_RUNS:,}")
        counts.append(whole)
    return counts[0], counts[1]


def _check_dtype(dtype: str, place: str, runs: int, profile) -> None:
    """Refuse, before any build, a dtype latency is not measured in, one given where nothing is
    timed, and one the device profile has no peak for."""
    if dtype not in LATENCY_DTYPES:
        raise SpecError(f"latency is measured in {', '.join(LATENCY_DTYPES)}, got '{dtype}'"
                        f"{did_you_mean(str(dtype), LATENCY_DTYPES)}", hint=f"give --dtype {' or '.join(LATENCY_DTYPES)}")
    if dtype != "float32" and (runs < 1 or place == "meta"):
        raise SpecError(f"--dtype {dtype} is the element type of the timed passes, and nothing is timed "
                        f"({'on meta' if place == 'meta' else '--runs 0'})",
                        hint="leave out --dtype, or time the model on cpu or cuda with --runs 1 or more")
    if profile is not None and runs >= 1 and place != "meta":  # nothing timed: the profile predicts nothing
        profile.peak(dtype, LATENCY_DTYPES)


def _check_untimed(place: str, runs: int, given: dict[str, bool]) -> None:
    """Refuse, where nothing is timed (`--runs 0`, meta), the options that only shape the timing
    (`given`: each, whether it was given): they did nothing, and nothing said so (as --dtype is
    refused there)."""
    if runs >= 1 and place != "meta":
        return
    named = [option for option, asked in given.items() if asked]
    if named:
        raise SpecError(f"{' and '.join(named)} {'shape' if len(named) > 1 else 'shapes'} the timed passes, and nothing "
                        f"is timed ({'on meta' if place == 'meta' else '--runs 0'})",
                        hint=f"leave out {' and '.join(option.split()[0] for option in named)}, or time the model on "
                             "cpu or cuda with --runs 1 or more")


def _memory_check(graph: Graph, predicted: ModelStats) -> tuple[LayerCheck | None, str | None]:
    """archcalc's inference peak (float32) against MemTracker's, category by category, on fake
    tensors; on real CPU tensors where fake ones would count otherwise (a channel shuffle: on fake
    tensors torch returns a view of its input, on real ones a new tensor). With a note where it
    says more, or why nothing is compared."""
    from archcalc.memory import inference_memory
    from archcalc.validation.memory import available_memory
    from archcalc.validation.peak import tracked_peak

    peak = inference_memory(graph, predicted)
    figures = (peak.parameters, peak.buffers, peak.activations, peak.peak)
    shuffled = _channel_shuffle(predicted)
    note = None
    if shuffled is not None:
        available = available_memory()
        if available is not None and peak.peak > available:
            return None, (f"the inference peak is not compared: only real tensors measure it as torch runs it (on fake "
                          f"tensors torch's channel shuffle '{shuffled}' returns a view), and it needs "
                          f"{human_bytes(peak.peak)} ({human_bytes(available)} is available)")
        if (crashing := _crashes_here(graph, predicted)) is not None:
            return None, (f"the inference peak is not compared: only real tensors measure it as torch runs it (on fake "
                          f"tensors torch's channel shuffle '{shuffled}' returns a view), and {crashing}")
        note = (f"the inference peak is measured on real CPU tensors: on fake tensors torch's channel shuffle "
                f"'{shuffled}' returns a view of its input, a new tensor on real ones (docs/validation.md)")
    measured = tracked_peak(graph, predicted.input_shape, fake=shuffled is None)
    where = "MemTracker" if shuffled is None else "MemTracker on real CPU tensors"
    return LayerCheck("inference peak", where,
                      tuple(Check(figure, *pair) for figure, pair in zip(MEMORY_FIGURES, zip(figures, measured)))), note


def _training_check(graph: Graph, predicted: ModelStats) -> tuple[LayerCheck | None, str | None]:
    """archcalc's peak of a training step (float32, SGD with momentum) against MemTracker's,
    category by category, on fake tensors; on real CPU tensors where fake ones would count
    otherwise (`_fake_differs`). With a note where it says more, or why
    nothing is compared."""
    from archcalc.training import training_memory
    from archcalc.validation.memory import available_memory
    from archcalc.validation.peak import tracked_training_peaks

    try:
        step = training_memory(graph, predicted)
    except SpecError as refused:  # a training step torch refuses too (batch norm over one value)
        return None, f"the training peak is not compared: {first_line(refused)}"
    figures = (*step.peak_point.bytes, step.peak)
    differs, note = _fake_differs(predicted, step), None
    if differs is not None:
        available = available_memory()
        if available is not None and step.peak > available:
            return None, (f"the training peak is not compared: only real tensors measure it as torch runs it (on fake "
                          f"tensors {differs}), and the step needs {human_bytes(step.peak)} ({human_bytes(available)} "
                          "is available)")
        if (window := _window_of_padding(graph, predicted) or _crashes_here(graph, predicted)) is not None:
            return None, (f"the training peak is not compared: only real tensors measure it as torch runs it (on fake "
                          f"tensors {differs}), and {window}")
        note = f"the training peak is measured on real CPU tensors: on fake tensors {differs} (docs/memory.md)"
    measured = tracked_training_peaks(graph, predicted.input_shape[1:], [predicted.input_shape[0]],
                                      fake=differs is None)[0]
    where = "fake tensors" if differs is None else "real CPU tensors"
    return LayerCheck("training peak", f"MemTracker on {where}",
                      tuple(Check(figure, *pair) for figure, pair in zip(TRAINING_FIGURES, zip(figures, measured)))), note


def _window_of_padding(graph: Graph, stats: ModelStats) -> str | None:
    """Where a max pooling has a window whose taps all fall in the padding, what to say of it; else
    None. torch (2.13) runs such a pooling, gives -inf there with the index of a tap past the input,
    and its backward writes the gradient at that index, outside the input's gradient (heap
    corruption on real tensors); `_padding_window` finds such a window."""
    from archcalc.layers.base import AXIS_NAMES

    for node, layer in zip(graph.nodes, stats.layers):
        if not node.kind.key.startswith("maxpool"):
            continue
        a, sizes = node.attrs, stats.shapes[node.inputs[0]][2:]
        for axis, (n, outputs, k, step, pad, d) in enumerate(zip(sizes, layer.shape[2:], a.kernel,
                                                                node.kind.strides(a), a.padding, a.dilation)):
            j = _padding_window(n, outputs, k, step, pad, d)
            if j is not None:
                start = j * step - pad
                first = start % d if start < 0 else start
                return (f"a window of the max pooling '{layer.name}' reads only padding (along its "
                        f"{AXIS_NAMES[len(sizes)][axis]} of {n}, taps from {start} every {d}, the first at or after 0 "
                        f"at {first}): torch's backward writes its gradient outside the input there, corrupting the memory")
    return None


def _fake_differs(stats: ModelStats, step: Training) -> str | None:
    """Why MemTracker on fake tensors would count otherwise than torch runs the step, or None.
    A batch norm with parameters whose input needs no gradient (the model's input, or what only
    layers without parameters made of it): on fake tensors torch's batch-norm backward makes the
    input's gradient all the same (FakeTensorMode does not heed which gradients are asked for), a
    tensor its CPU and CUDA kernels never allocate. An in-place layer on a view: on fake tensors
    autograd replays the view's operations for its gradient, where on real ones it lays the
    gradient in zeros of the base's size (as_strided). A convolution of a channels-last map of one
    position (`Training.copied_on_one_position`): on fake tensors a channel layer norm lays that map
    out as a contiguous one. A channel shuffle (`_channel_shuffle`): on fake tensors its output is
    contiguous whatever its input's layout, where real tensors keep a channels-last map so, and
    what reads it runs otherwise (a convolution's weight gradient is not copied). On real tensors
    MemTracker agrees with archcalc."""
    from archcalc.backward import needs_input_gradient

    for layer, needs in zip(stats.layers, needs_input_gradient(stats)):
        if layer.kind.startswith("batchnorm") and layer.figures.params and not needs:
            return (f"torch's batch norm '{layer.name}' makes its input's gradient, which its CPU and CUDA kernels "
                    "skip where the input needs none")
    if step.in_place_on_views:
        return (f"torch's autograd replays the view under the in-place layer '{step.in_place_on_views[0]}' for its "
                "gradient, where real tensors lay that gradient in zeros of the view's base (as_strided)")
    if step.copied_on_one_position:
        return (f"'{step.copied_on_one_position[0]}' reads a channels-last map of one position laid out as a "
                "contiguous one, and its weight's gradient is not copied to the weight's layout as torch's CPU "
                "kernels copy it")
    if (shuffled := _channel_shuffle(stats)) is not None:
        return (f"torch's channel shuffle '{shuffled}' returns a view of its input or a contiguous tensor, where real "
                "tensors make a new tensor in its input's memory format")
    return None


def _channel_shuffle(stats: ModelStats) -> str | None:
    """The first channel shuffle, or None: on fake tensors torch's channel shuffle returns a view of
    its input where it can, and a contiguous tensor whatever its input's layout; on real CPU tensors
    always a new tensor, in its input's memory format (a channels-last map stays channels-last)."""
    return next((layer.name for layer in stats.layers if layer.kind == "channel_shuffle"), None)


def _top_level_blocks(stats: ModelStats) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The layers of each top-level name (`layer1` for `layer1.0.conv1`), and their MACs."""
    blocks: dict[str, list[str]] = {}
    macs: dict[str, int] = {}
    for layer in stats.layers:
        top = layer.name.split(".", 1)[0]
        blocks.setdefault(top, []).append(layer.name)
        macs[top] = macs.get(top, 0) + layer.figures.macs
    return blocks, macs


def _layer_check(layer: LayerStats, measured, counters, training=None) -> LayerCheck:
    values = {"shape": layer.shape, "params": layer.figures.params, "buffers": layer.figures.buffers,
              "fvcore": counted(layer.counts["fvcore"]), "flop_counter": 2 * counted(layer.counts["torch"]),
              "flop_counter_backward": training and 2 * training.steps[layer.index - 1].backward}
    return LayerCheck(layer.name, layer.kind, _checks(values, measured, counters))


def _total_check(predicted: ModelStats, measured, counters, training=None) -> LayerCheck:
    totals = predicted.totals
    heads = tuple(predicted.shapes[name] for name in predicted.outputs)  # as the model returns them (measure)
    values = {"shape": heads if len(heads) > 1 else heads[0], "params": totals.params, "buffers": totals.buffers,
              "fvcore": predicted.count("fvcore"), "flop_counter": 2 * predicted.count("torch"),
              "flop_counter_backward": training and 2 * training.total.backward}
    return LayerCheck("total", "", _checks(values, measured, counters))


def _checks(values: dict, measured, counters) -> tuple[Check, ...]:
    return tuple(Check(figure, values[figure], getattr(measured, figure)) for figure in FIGURES
                 if figure not in COUNTED or figure in counters)


def _device(torch, name: str) -> str:
    if name not in DEVICES:
        raise SpecError(f"unknown device '{name}'{did_you_mean(name, DEVICES)}",
                        hint=f"choose one of {', '.join(DEVICES)}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA is not available here (torch.cuda.is_available() is false)",
                        hint="use --device cpu, or --device auto to take CUDA only where it is")
    return name


def _counters(counter: str, device: str) -> tuple[str, ...]:
    if counter not in COUNTERS:
        raise SpecError(f"unknown counter '{counter}'{did_you_mean(counter, COUNTERS)}",
                        hint=f"choose one of {', '.join(COUNTERS)}")
    if device == "meta":
        if counter == "fvcore":
            raise SpecError("fvcore cannot count on the meta device: it traces real tensors",
                            hint="use --counter torch (FlopCounterMode) with --device meta, or --device cpu")
        return COUNTERS["torch"]
    return COUNTERS[counter]


def _versions(counters: tuple[str, ...], device: str) -> dict[str, str]:
    from importlib import metadata

    import torch

    versions = {"torch": torch.__version__}
    if "fvcore" in counters:
        versions["fvcore"] = metadata.version("fvcore")
    if device == "cuda":
        versions["gpu"] = torch.cuda.get_device_name()
    return versions
