"""Cold-process speed of archcalc's everyday commands against the floor, interleaved in one run.

Each command runs as a fresh process with its output to a pipe, in turn with all the others, for
every round; the script prints each median and whether the targets (docs/performance.md) hold:

  archcalc table resnet152          ≤ 0.06 × python -c "import torch", ≤ 3 × python -c "import yaml"
  a written-out 10,000-layer spec   ≤ 0.6 s, and a 30,000-layer one ≤ 3.1 × that (linear growth)
  archcalc check of every bundled model against the committed baseline   ≤ 0.25 s

Usage: python benchmarks/table_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def archcalc_command() -> list[str]:
    script = Path(sys.executable).with_name("archcalc")
    if script.exists():
        return [str(script)]
    found = shutil.which("archcalc")
    return [found] if found else [sys.executable, "-m", "archcalc"]


def plain_stack(folder: Path, layers: int) -> Path:
    """A spec with every layer written out: conv and relu, alternating (as tests/test_bad_input.py)."""
    lines = [f"name: plain{layers}", "input: [3, 16, 16]", "layers:"]
    for index in range(layers // 2):
        lines.append(f"  - conv{index}: {{kind: conv2d, out: 8, kernel: 3, padding: 1}}")
        lines.append(f"  - relu{index}: relu")
    path = folder / f"plain{layers}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    archcalc = archcalc_command()
    folder = Path(tempfile.mkdtemp())
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import yaml"': [sys.executable, "-c", "import yaml"],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
        "archcalc table resnet152": [*archcalc, "table", "resnet152"],
        "archcalc table (10,000 layers)": [*archcalc, "table", str(plain_stack(folder, 10_000))],
        "archcalc table (30,000 layers)": [*archcalc, "table", str(plain_stack(folder, 30_000))],
        "archcalc check specs/*.yaml": [*archcalc, "check", *map(str, sorted(Path("specs").glob("*.yaml")))],
    }
    for command in commands.values():  # warm the file cache for each
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(seconds(command))
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:32} median {1000 * median[name]:8.1f} ms  (min {1000 * min(values):.1f}, "
              f"max {1000 * max(values):.1f}) over {args.runs} interleaved cold runs")
    table = median["archcalc table resnet152"]
    torch_ratio = table / median['python -c "import torch"']
    yaml_ratio = table / median['python -c "import yaml"']
    linear = median["archcalc table (30,000 layers)"] / median["archcalc table (10,000 layers)"]
    targets = [
        (f"table resnet152 / import torch = {torch_ratio:.3f}", torch_ratio <= 0.06, "≤ 0.06"),
        (f"table resnet152 / import yaml = {yaml_ratio:.2f}", yaml_ratio <= 3, "≤ 3"),
        (f"10,000 layers = {median['archcalc table (10,000 layers)']:.3f} s",
         median["archcalc table (10,000 layers)"] <= 0.6, "≤ 0.6 s"),
        (f"30,000 / 10,000 layers = {linear:.2f}", linear <= 3.1, "≤ 3.1"),
        (f"check of every bundled model = {median['archcalc check specs/*.yaml']:.3f} s",
         median["archcalc check specs/*.yaml"] <= 0.25, "≤ 0.25 s"),
    ]
    for text, met, target in targets:
        print(f"{text}: target {target} {'met' if met else 'MISSED'}")
    floor = median['python -c "import yaml"']
    print(f"(the machine's speed drifts through the day: as multiples of import yaml in this run, 10,000 layers "
          f"{median['archcalc table (10,000 layers)'] / floor:.1f}× and check "
          f"{median['archcalc check specs/*.yaml'] / floor:.1f}×; the two time targets were set when import yaml "
          f"took 23 ms: 0.6 s = {0.6 / 0.023:.1f}× and 0.25 s = {0.25 / 0.023:.1f}×)")

if __name__ == "__main__":
    main()
