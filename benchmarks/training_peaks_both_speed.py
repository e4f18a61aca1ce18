"""MemTracker's training peaks at batch 1 and 8 with SGD with momentum and with Adam (what
tests/test_training_memory.py measures of every bundled model), two routes in one process,
interleaved, on one thread:

- both at once: `archcalc.validation.peak.tracked_training_peaks_each`, one built model and one
  untracked first step whose gradients step both optimizers, then each optimizer's tracked steps;
- one optimizer each: `tracked_training_peaks` per optimizer, a model built and a first step each.

Both give the same peaks (checked); the medians of the CPU seconds and their ratio are printed.
Each route runs once before the timing, so torch's fake-tensor caches are warm for both.
Usage: python benchmarks/training_peaks_both_speed.py [--runs 3] [SPEC …]
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from interleaved import median_cpu_seconds

from archcalc.spec import load_graph
from archcalc.validation import peak

OPTIMIZERS = ("momentum", "adam")


def both_at_once(graph) -> dict[str, list[tuple[int, ...]]]:
    return peak.tracked_training_peaks_each(graph, graph.input_shape, [1, 8], OPTIMIZERS)


def one_optimizer_each(graph) -> dict[str, list[tuple[int, ...]]]:
    return {name: peak.tracked_training_peaks(graph, graph.input_shape, [1, 8], "float32", name)
            for name in OPTIMIZERS}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("specs", nargs="*", default=["resnet50", "densenet121", "efficientnet_b0"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    routes = {"both at once": both_at_once, "one optimizer each": one_optimizer_each}
    for spec in args.specs:
        graph = load_graph(spec)
        peaks = {name: route(graph) for name, route in routes.items()}
        assert peaks["both at once"] == peaks["one optimizer each"], peaks
        new, old = median_cpu_seconds({name: partial(route, graph) for name, route in routes.items()},
                                      args.runs).values()
        print(f"{spec}: both at once {new:.2f} CPU-s, one optimizer each {old:.2f} CPU-s, ratio {new / old:.2f} "
              f"(median of {args.runs})")


if __name__ == "__main__":
    main()
