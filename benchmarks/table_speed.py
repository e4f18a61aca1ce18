"""Cold-process speed of `archcalc table resnet152` against a bare `python -c "import torch"`.

Both run side by side in this one script, interleaved, each as a fresh process with its output
to a pipe. Prints the medians, the ratio, and whether the issue's targets hold (at most 150 ms,
and at most a tenth of the torch import). Usage: python benchmarks/table_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def archcalc_command() -> list[str]:
    script = Path(sys.executable).with_name("archcalc")
    if script.exists():
        return [str(script)]
    found = shutil.which("archcalc")
    return [found] if found else [sys.executable, "-m", "archcalc"]


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--model", default="resnet152")
    args = parser.parse_args()
    table = [*archcalc_command(), "table", args.model]
    torch = [sys.executable, "-c", "import torch"]
    seconds(table), seconds(torch)  # warm the file cache for both
    table_times, torch_times = [], []
    for _ in range(args.runs):
        table_times.append(seconds(table))
        torch_times.append(seconds(torch))
    table_ms = 1000 * statistics.median(table_times)
    torch_ms = 1000 * statistics.median(torch_times)
    ratio = table_ms / torch_ms
    print(f"archcalc table {args.model}: median {table_ms:.1f} ms over {args.runs} cold runs "
          f"(min {1000 * min(table_times):.1f}, max {1000 * max(table_times):.1f})")
    print(f'python -c "import torch": median {torch_ms:.1f} ms '
          f"(min {1000 * min(torch_times):.1f}, max {1000 * max(torch_times):.1f})")
    print(f"ratio archcalc / torch import: {ratio:.3f} (1/{1 / ratio:.1f})")
    print(f"target ≤ 150 ms: {'met' if table_ms <= 150 else 'MISSED'}; "
          f"target ≤ 1/10 of torch: {'met' if ratio <= 0.1 else 'MISSED'}")


if __name__ == "__main__":
    main()
