"""`archcalc.import_onnx` of chains of N ReLUs (N = 2,500 to 20,000), two routes in one process,
interleaved:

- as it is: each layer's free name (`relu_N`) found from where the last one of its base was
  found (`archcalc.importers.onnx_graph._Namer._free`);
- counting up: every name counted up from `relu_1` again, as before 4 December (a chain of 40,000
  ReLUs, within the 100,000 nodes a graph may have, did not finish in a minute).

Both write the same spec (checked). For each N it prints the medians of the CPU seconds and their
ratio, and the time per node of the last N over the first (1 where the time grows as N does).
Usage: python benchmarks/onnx_import_scaling.py [--runs 3] [--sizes 2500 5000 10000 20000]
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import contextmanager
from pathlib import Path

import onnx
from interleaved import median_cpu_seconds
from onnx import TensorProto, helper

from archcalc import import_onnx
from archcalc.importers import onnx_graph


def chain(length: int, path: Path) -> Path:
    """An ONNX file of `length` ReLUs one after another on a 1×3×8×8 input."""
    names = ["x", *(f"r{i}" for i in range(length))]
    nodes = [helper.make_node("Relu", [names[i]], [names[i + 1]], name=f"relu_node_{i}") for i in range(length)]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info(names[-1], TensorProto.FLOAT, [1, 3, 8, 8])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _counting_up(self, name: str, fallback: str | None = None) -> str:
    """`_Namer._free` as it was: the first free `base_N` counted from 1 each time."""
    if name not in self.taken and name not in self.groups:
        return name
    base, number = fallback or name, 0
    candidate = base
    while candidate in self.taken or candidate in self.groups:
        number += 1
        candidate = f"{base}_{number}"
    return candidate


@contextmanager
def counting_up():
    kept = onnx_graph._Namer._free
    onnx_graph._Namer._free = _counting_up
    try:
        yield
    finally:
        onnx_graph._Namer._free = kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 5000, 10000, 20000])
    args = parser.parse_args()
    per_node = []
    with tempfile.TemporaryDirectory() as folder:
        for length in args.sizes:
            path = chain(length, Path(folder) / f"chain{length}.onnx")

            def before(path=path):
                with counting_up():
                    return import_onnx(path)

            assert import_onnx(path) == before(), "the two routes write different specs"
            seconds = median_cpu_seconds({"as it is": lambda path=path: import_onnx(path), "counting up": before},
                                         args.runs)
            per_node.append(seconds["as it is"] / length)
            print(f"{length:>6,} ReLUs: {seconds['as it is']:.2f} s as it is, {seconds['counting up']:.2f} s counting "
                  f"up: {seconds['counting up'] / seconds['as it is']:.1f}× faster", flush=True)
    print(f"time per node at {args.sizes[-1]:,} over {args.sizes[0]:,}: {per_node[-1] / per_node[0]:.2f} (1: linear)")


if __name__ == "__main__":
    main()
