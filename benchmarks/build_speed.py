"""`archcalc.torchmodel.build_graph` of every bundled model on the meta device (what the
importer's check, the memory measurements and the tests build), two routes in one process,
interleaved, on one thread:

- as it is: a torch layer that takes a `device` argument is given it;
- within the device context: every layer made inside `with torch.device(...)`, whose dispatch
  every torch call of a layer's initialisation then goes through.

Both build the same modules (checked: names, classes, parameter and buffer shapes, devices); the
medians of the CPU seconds and their ratio are printed.
Usage: python benchmarks/build_speed.py [--runs 5] [--device meta]
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

import torch
from interleaved import median_cpu_seconds

from archcalc import torchmodel
from archcalc.spec import bundled, load_graph


@contextmanager
def within_the_device_context():
    classes = torchmodel._torch_module
    torchmodel._torch_module = lambda dotted: (classes(dotted)[0], False)
    try:
        yield
    finally:
        torchmodel._torch_module = classes


def described(model: torch.nn.Module) -> list:
    return [(name, type(module).__qualname__,
             [(key, tuple(t.shape), str(t.device), str(t.dtype)) for key, t in module.state_dict().items()])
            for name, module in model.named_modules()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", default="meta")
    args = parser.parse_args()
    torch.set_num_threads(1)
    graphs = [load_graph(entry.path, entry.variant) for entry in bundled()]

    def as_it_is() -> list:
        return [torchmodel.build_graph(graph, device=args.device) for graph in graphs]

    def in_context() -> list:
        with within_the_device_context():
            return as_it_is()

    routes = {"as it is": as_it_is, "within the device context": in_context}
    built = {name: [described(model) for model in route()] for name, route in routes.items()}
    assert built["as it is"] == built["within the device context"]
    new, old = median_cpu_seconds(routes, args.runs).values()
    print(f"{len(graphs)} bundled models on {args.device}: as it is {new:.2f} CPU-s, within the device context "
          f"{old:.2f} CPU-s, ratio {new / old:.2f} (median of {args.runs})")


if __name__ == "__main__":
    main()
