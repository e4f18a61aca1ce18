"""Forward-pass latency: the same loop on every device, only the clock differs."""

from __future__ import annotations

import ctypes
import statistics
import sys
import time

import torch
from torch import nn

from archcalc.validation.results import Latency, Timing


class MonotonicClock:
    """CPU: marks are time.perf_counter_ns() readings."""

    name = "time.perf_counter"

    def mark(self) -> int:
        return time.perf_counter_ns()

    def wait(self) -> None:
        pass

    def ms(self, start: int, end: int) -> float:
        return (end - start) / 1e6


class CudaClock:
    """CUDA: marks are events recorded on the current stream, read after a synchronise."""

    name = "CUDA events"

    def mark(self) -> torch.cuda.Event:
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def wait(self) -> None:
        torch.cuda.synchronize()

    def ms(self, start: torch.cuda.Event, end: torch.cuda.Event) -> float:
        return start.elapsed_time(end)


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
"""glibc's mallopt parameters (malloc.h)."""


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep what a pass frees for the next pass, as a steady inference loop
    (or jemalloc, tcmalloc) does: every block from its heap, none mapped on its own, and the heap
    never handed back to the system. Else a pass's large outputs may each be fresh pages, faulted
    in a page at a time, which on a CPU can take longer than the layer's work (a 3×3 depthwise
    convolution on 128×56×56: 0.37 ms kept, 0.36–4.1 ms not, by what the process did before; a
    3×3 convolution of 64 channels on 572×572, whose 80 MiB output and oneDNN's reordered copies
    of its input and output were each mapped afresh: 106 ms kept, 192 ms with blocks over 32 MiB,
    glibc's cap on M_MMAP_THRESHOLD, still mapped). For the rest of the process; True where it
    was set (glibc, on Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))


def time_forward(model: nn.Module, x: torch.Tensor, blocks: dict[str, list[str]], macs: dict[str, int],
                 runs: int, warmup: int, layers: dict[str, tuple[str, int]] | None = None,
                 threads: int | None = None) -> Latency:
    """The forward time of the model, of each top-level block and of each of `layers` over `runs`
    timed passes after `warmup`: the median, the fastest and the slowest.

    `blocks` maps a top-level name to its layers in run order, `macs` a block to its MACs; a block
    is timed from its first layer's start to its last layer's end, a layer (name: (kind, MACs))
    from its start to its end, by hooks that only read the clock. With `layers`, the model is
    timed in passes of its own without hooks, each before a pass with them (a hook around every
    layer costs a few µs a layer, which a small model's time would include). `threads` sets
    torch's CPU threads while timing. On the CPU, freed memory is kept for reuse (`keep_freed_memory`).
    """
    on_cpu = x.device.type == "cpu"
    kept = on_cpu and keep_freed_memory()
    clock = MonotonicClock() if on_cpu else CudaClock()
    spans = {block: (names[0], names[-1]) for block, names in blocks.items()}
    layers = layers or {}
    spans.update({("layer", name): (name, name) for name in layers})
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        model_ms, span_ms = _timed(model, x, spans, clock, runs, warmup, plain=bool(layers))
    finally:
        torch.set_num_threads(previous)
    timings = [_timing(block, span_ms[block], macs.get(block, 0)) for block in blocks]
    layer_timings = [_timing(name, span_ms["layer", name], layer_macs, kind)
                     for name, (kind, layer_macs) in layers.items()]
    total = _timing("model", model_ms, sum(macs.values()))
    return Latency(str(x.device), clock.name, runs, warmup, total, timings, threads if on_cpu else None,
                   "per-layer" if layers else "blocks", layer_timings, memory_kept=kept,
                   dtype=str(x.dtype).removeprefix("torch."))


def _timed(model: nn.Module, x: torch.Tensor, spans: dict, clock, runs: int, warmup: int,
           plain: bool = False) -> tuple[list[float], dict[object, list[float]]]:
    """Milliseconds of each timed pass of the model and of each span (first layer, last layer);
    with `plain`, the model's in a pass without hooks before each pass with them."""
    marks: dict[tuple[object, str], object] = {}
    model_ms: list[float] = []
    span_ms: dict[object, list[float]] = {span: [] for span in spans}
    with torch.no_grad():
        for run in range(warmup + runs):
            if plain:
                start, end = _pass(model, x, clock)
            handles = _hooks(model, spans, marks, clock)
            try:
                hooked = _pass(model, x, clock)
            finally:
                for handle in handles:
                    handle.remove()
            if run < warmup:
                continue
            model_ms.append(clock.ms(start, end) if plain else clock.ms(*hooked))
            for span in spans:
                span_ms[span].append(clock.ms(marks[span, "start"], marks[span, "end"]))
    return model_ms, span_ms


def _pass(model: nn.Module, x: torch.Tensor, clock) -> tuple[object, object]:
    """One forward pass: the clock's marks at its start and end, read once the device is done."""
    start = clock.mark()
    model(x)
    end = clock.mark()
    clock.wait()
    return start, end


def _hooks(model: nn.Module, spans: dict, marks: dict, clock) -> list:
    """Hooks that mark each span's start (its first layer's) and end (its last layer's)."""
    handles = []
    for span, (first, last) in spans.items():
        handles.append(model.get_submodule(first).register_forward_pre_hook(
            lambda m, args, span=span: marks.__setitem__((span, "start"), clock.mark())))
        handles.append(model.get_submodule(last).register_forward_hook(
            lambda m, args, out, span=span: marks.__setitem__((span, "end"), clock.mark())))
    return handles


def _timing(name: str, values: list[float], macs: int, kind: str = "") -> Timing:
    return Timing(name, statistics.median(values), macs, min(values), max(values), kind)
