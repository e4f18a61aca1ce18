"""The roofline costs about nothing: `archcalc table` with and without `--device-profile`, each a
cold process, interleaved in one run, on ResNet-152 (515 layers) and on a written-out
10,000-layer stack, in text and JSON. Prints each median and the median of the per-pair ratios
(roofline / plain); docs/performance.md has the figures.

Usage: python benchmarks/roofline_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from table_speed import ROOT, archcalc_command, plain_stack


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    archcalc = archcalc_command()
    stack = str(plain_stack(Path(tempfile.mkdtemp()), 10_000))
    pairs = {
        "table resnet152": [*archcalc, "table", "resnet152"],
        "table resnet152 --format json": [*archcalc, "table", "resnet152", "--format", "json"],
        "table (10,000 layers)": [*archcalc, "table", stack],
    }
    roof = ["--device-profile", "h200", "--dtype", "bfloat16"]
    commands = {name: (command, [*command, *roof]) for name, command in pairs.items()}
    for plain, with_roof in commands.values():  # warm the file cache
        seconds(plain), seconds(with_roof)
    times = {name: ([], []) for name in commands}
    for _ in range(args.runs):
        for name, (plain, with_roof) in commands.items():
            times[name][0].append(seconds(plain))
            times[name][1].append(seconds(with_roof))
    for name, (plain, with_roof) in times.items():
        ratio = statistics.median(r / p for p, r in zip(plain, with_roof))
        print(f"{name:30} plain {1000 * statistics.median(plain):7.1f} ms · with --device-profile h200 "
              f"{1000 * statistics.median(with_roof):7.1f} ms · ratio {ratio:.3f} (median of {args.runs} pairs)")


if __name__ == "__main__":
    main()
