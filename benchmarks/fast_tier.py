"""The fast test tier (`python -m pytest -m "not slow"`) by the clock, in one process and on two
cores with pytest-xdist (`-n 2`), interleaved: each round runs every route once, in turn, so that
a shared machine's load falls on all of them alike. With `--against TREE` (another checkout, e.g.
a `git worktree` of an earlier commit), that tree's fast tier in one process is a third route.

Prints each route's median wall seconds and CPU seconds (the run's children: pytest and what it
starts), and the ratio of its wall time to the first route's. Every route must pass.
Usage: python benchmarks/fast_tier.py [--runs 2] [--against TREE]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = ["-m", "pytest", "-m", "not slow", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of `command` run to its end in `cwd`; an error if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} in {cwd} failed ({result.returncode}):\n{result.stdout[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--against", type=Path, help="another checkout whose fast tier runs in one process too")
    args = parser.parse_args()
    routes = {"one process": ([sys.executable, *FAST], ROOT),
              "-n 2": ([sys.executable, *FAST, "-n", "2"], ROOT)}
    if args.against:
        routes[f"{args.against}, one process"] = ([sys.executable, *FAST], args.against.resolve())
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in routes}
    for run in range(args.runs):
        for name, (command, cwd) in (routes.items() if run % 2 == 0 else reversed(routes.items())):
            times[name].append(timed(command, cwd))
            print(f"round {run + 1}: {name}: {times[name][-1][0]:.1f} s wall, {times[name][-1][1]:.1f} CPU-s",
                  file=sys.stderr, flush=True)
    first = statistics.median(wall for wall, _ in times["one process"])
    print(f"the fast tier, {args.runs} interleaved rounds, {os.cpu_count()} cores (median):")
    for name, pairs in times.items():
        wall = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        print(f"  {name:<40} {wall:7.1f} s wall  {cpu:7.1f} CPU-s  {wall / first:5.2f} × one process's wall time")


if __name__ == "__main__":
    main()
