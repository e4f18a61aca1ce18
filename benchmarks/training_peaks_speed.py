"""MemTracker's training peaks at batch 1 and 8 (what tests/test_training_memory.py measures of
every bundled model), two routes in one process, interleaved, on one thread:

- one step each: `archcalc.validation.peak.tracked_training_peaks`, one optimizer and one
  untracked first step for all the batches, then a step per batch under the tracker;
- a first step each: the route before it, a fresh optimizer and an untracked first step per batch.

Both print the same peaks (checked); the medians of the CPU seconds and their ratio are printed.
Usage: python benchmarks/training_peaks_speed.py [--runs 3] [--optimizer momentum] [SPEC …]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from archcalc.spec import load_graph
from archcalc.validation import peak


def a_first_step_each(graph, batches: list[int], optimizer: str) -> list[tuple[int, ...]]:
    """The route before: per batch a fresh optimizer, a first step untracked, a second tracked."""
    model = peak._built(graph, graph.input_shape, min(batches), torch.float32)
    with FakeTensorMode():
        model = peak._on_fake_tensors(model).train()
        peaks = []
        for batch in batches:
            step = peak.training_step(model, optimizer)
            x = torch.empty(batch, *graph.input_shape)
            step(x)
            measuring = peak.OverallPeakTracker()
            measuring.track_external(model, step.optimizer)
            with measuring:
                step(x)
            snapshot = {str(getattr(key, "value", key)): size
                        for device in measuring.get_tracker_snapshot("peak").values() for key, size in device.items()}
            peaks.append(tuple(snapshot.get(key, 0) for key in (*peak.TRAINING_KEYS, "Total")))
        return peaks


def one_step_each(graph, batches: list[int], optimizer: str) -> list[tuple[int, ...]]:
    return peak.tracked_training_peaks(graph, graph.input_shape, batches, "float32", optimizer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("specs", nargs="*", default=["resnet50", "mobilenet_v2", "efficientnet_b0"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--optimizer", default="momentum")
    args = parser.parse_args()
    torch.set_num_threads(1)
    routes = {"one step each": one_step_each, "a first step each": a_first_step_each}
    for spec in args.specs:
        graph = load_graph(spec)
        one_step_each(graph, [1, 8], args.optimizer)  # torch's caches warm for both routes
        seconds: dict[str, list[float]] = {name: [] for name in routes}
        peaks = {}
        for _ in range(args.runs):
            for name, route in routes.items():
                start = time.process_time()
                peaks[name] = route(graph, [1, 8], args.optimizer)
                seconds[name].append(time.process_time() - start)
        assert peaks["one step each"] == peaks["a first step each"], peaks
        new, old = (statistics.median(seconds[name]) for name in routes)
        print(f"{spec}: one step each {new:.2f} CPU-s, a first step each {old:.2f} CPU-s, ratio {new / old:.2f} "
              f"(median of {args.runs}; peaks {peaks['one step each'][0][-1]:,} and {peaks['one step each'][1][-1]:,} B)")


if __name__ == "__main__":
    main()
