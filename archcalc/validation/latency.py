"""Forward-pass latency: the same loop on every device, only the clock differs."""

from __future__ import annotations

import statistics
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


def time_forward(model: nn.Module, x: torch.Tensor, blocks: dict[str, list[str]],
                 macs: dict[str, int], runs: int, warmup: int) -> Latency:
    """Median forward time of the model and of each top-level block over `runs` timed passes.

    `blocks` maps a top-level name to its layers in run order; a block is timed from its first
    layer's start to its last layer's end, by hooks that only read the clock.
    """
    clock = CudaClock() if x.device.type == "cuda" else MonotonicClock()
    marks: dict[tuple[str, str], object] = {}
    handles = []
    for block, layers in blocks.items():
        first, last = model.get_submodule(layers[0]), model.get_submodule(layers[-1])
        handles.append(first.register_forward_pre_hook(
            lambda m, args, block=block: marks.__setitem__((block, "start"), clock.mark())))
        handles.append(last.register_forward_hook(
            lambda m, args, out, block=block: marks.__setitem__((block, "end"), clock.mark())))
    model_ms: list[float] = []
    block_ms: dict[str, list[float]] = {block: [] for block in blocks}
    try:
        with torch.no_grad():
            for run in range(warmup + runs):
                start = clock.mark()
                model(x)
                end = clock.mark()
                clock.wait()
                if run < warmup:
                    continue
                model_ms.append(clock.ms(start, end))
                for block in blocks:
                    block_ms[block].append(clock.ms(marks[block, "start"], marks[block, "end"]))
    finally:
        for handle in handles:
            handle.remove()
    timings = [Timing(block, statistics.median(values), macs.get(block, 0))
               for block, values in block_ms.items()]
    total = Timing("model", statistics.median(model_ms), sum(macs.values()))
    return Latency(str(x.device), clock.name, runs, warmup, total, timings)
