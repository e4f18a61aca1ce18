"""`archcalc sweep` (one symbolic analysis, then arithmetic) against the numeric analysis run
again at every size, side by side in this one process; and the cold start of a symbolic table.

Both give the same totals (checked here, point by point). Prints the medians and the ratio.
Usage: python benchmarks/sweep_speed.py [--model resnet152] [--sizes 32:1024:8] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def sweep_by_formulas(model: str, sizes: list[tuple[int, int]]):
    from archcalc.sweep import sweep

    return [p.totals for p in sweep(model, sizes, [1]).points]


def sweep_by_numbers(model: str, sizes: list[tuple[int, int]]):
    from archcalc.analysis import analyze_graph
    from archcalc.errors import SpecError
    from archcalc.spec import load_graph

    graph = load_graph(model)
    totals = []
    for height, width in sizes:
        try:
            totals.append(analyze_graph(graph, (graph.input_shape[0], height, width)).totals)
        except SpecError:
            totals.append(None)
    return totals


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def cold_ms(args: list[str]) -> float:
    code = f"import sys; from archcalc.cli import main; sys.argv = ['archcalc', *{args!r}]; main()"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.PIPE)
    return 1000 * (time.perf_counter() - start)


def main() -> None:
    from archcalc.sizes import parse_size_list

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet152")
    parser.add_argument("--sizes", default="32:1024:8")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = parse_size_list(args.sizes)
    formulas, numbers = [], []
    for _ in range(args.runs):
        seconds, by_formulas = timed(sweep_by_formulas, args.model, sizes)
        formulas.append(seconds)
        seconds, by_numbers = timed(sweep_by_numbers, args.model, sizes)
        numbers.append(seconds)
        assert by_formulas == by_numbers, "the sweep differs from the numeric analysis"
    f, n = statistics.median(formulas), statistics.median(numbers)
    print(f"{args.model} at {len(sizes)} sizes ({args.sizes}), median of {args.runs}, same totals at every size:")
    print(f"  archcalc sweep (formulas):        {1000 * f:8.1f} ms")
    print(f"  numeric analysis at each size:    {1000 * n:8.1f} ms")
    print(f"  ratio sweep / numeric: {f / n:.3f}")
    table = [cold_ms(["table", args.model]) for _ in range(args.runs)]
    symbolic = [cold_ms(["table", args.model, "--input", "3xHxW"]) for _ in range(args.runs)]
    print(f"cold `archcalc table {args.model}`: {statistics.median(table):.1f} ms; with --input 3xHxW "
          f"(imports sympy): {statistics.median(symbolic):.1f} ms")


if __name__ == "__main__":
    main()
