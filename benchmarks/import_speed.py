"""`archcalc.import_torch` of bundled models built in torch, two routes in one process,
interleaved, on one thread:

- as it is: a call whose output has its input's shape for certain (an element-wise module, a
  batch norm in eval mode, a sum of tensors of one shape) is given that shape without running
  (`archcalc.importers.trace._keeps_the_shape`);
- every call run: the same trace with that rule switched off, each call run on fake tensors
  (a module with weights, as `archcalc import torch` gets it) or meta ones (`--meta`).

Both write the same spec (checked); the medians of the CPU seconds and their ratio are printed.
Each route runs once before the timing, so torch's caches are warm for both.
Usage: python benchmarks/import_speed.py [--runs 5] [--meta] [SPEC …]
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

import torch
from interleaved import median_cpu_seconds

from archcalc import import_torch
from archcalc.importers import trace
from archcalc.spec import load_graph
from archcalc.torchmodel import build_graph


@contextmanager
def every_call_run():
    keeps, sums = trace._keeps_the_shape, trace.SUMS
    trace._keeps_the_shape, trace.SUMS = (lambda module, args: False), ()
    try:
        yield
    finally:
        trace._keeps_the_shape, trace.SUMS = keeps, sums


def routes_of(module, shape, name: str) -> dict:
    def as_it_is() -> str:
        return import_torch(module, shape, name=name)

    def all_run() -> str:
        with every_call_run():
            return import_torch(module, shape, name=name)

    return {"as it is": as_it_is, "every call run": all_run}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("specs", nargs="*", default=["resnet50", "mobilenet_v3_large", "efficientnet_b0",
                                                     "densenet121", "convnext_tiny"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--meta", action="store_true", help="build the models on the meta device")
    args = parser.parse_args()
    torch.set_num_threads(1)
    totals = {"as it is": 0.0, "every call run": 0.0}
    for spec in args.specs:
        graph = load_graph(spec)
        routes = routes_of(build_graph(graph, device="meta" if args.meta else None), graph.input_shape, spec)
        texts = {name: route() for name, route in routes.items()}
        assert texts["as it is"] == texts["every call run"], spec
        new, old = median_cpu_seconds(routes, args.runs).values()
        totals["as it is"] += new
        totals["every call run"] += old
        print(f"{spec}: as it is {new:.3f} CPU-s, every call run {old:.3f} CPU-s, ratio {new / old:.2f} "
              f"(median of {args.runs})")
    new, old = totals.values()
    print(f"all: as it is {new:.2f} CPU-s, every call run {old:.2f} CPU-s, ratio {new / old:.2f}")


if __name__ == "__main__":
    main()
