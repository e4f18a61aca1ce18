"""How long archcalc takes to refuse absurd specs: each must be well under a second.

For every case: the median time of `analyze()` in this process (parse, expand, analyse, up to
the refusal), and the wall time of a fresh `archcalc table` process, with its share of the
one-second budget. Two legitimate giants (ResNet-1001, a 10,000-layer stack) are timed too, for
scale: they must pass, not be refused.

    python benchmarks/refusals.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archcalc.analysis import analyze  # noqa: E402
from archcalc.errors import SpecError  # noqa: E402

CORPUS = ["repeat_10_to_the_12", "repeats_multiply", "block_includes_itself", "blocks_in_a_cycle",
          "reference_cycle", "alias_bomb", "nested_too_deep", "exponent", "number_too_large",
          "expression_too_long", "expression_too_deep", "input_too_large", "output_too_large"]
HEAD = "name: absurd\ninput: [3, 32, 32]\n"


def generated(folder: Path) -> dict[str, Path]:
    """Absurd specs too big to keep in the repository."""
    cases = {
        "file_of_5_MiB": "# " + "x" * (5 * 2**20) + "\n",
        "lists_nested_100000_deep": HEAD + "params: {deep: " + "[" * 100_000 + "]" * 100_000 + "}\nlayers: [{r: relu}]\n",
        "expression_of_100000_chars": HEAD + "layers:\n  - c: {kind: conv2d, kernel: 1, out: "
                                      + " + ".join(["1"] * 25_000) + "}\n",
        "repeats_10^5_cubed": HEAD + "blocks:\n  inner: {layers: [{r: {kind: relu, repeat: 100000}}]}\n"
                              "  middle: {layers: [{i: {kind: inner, repeat: 100000}}]}\n"
                              "layers:\n  - m: {kind: middle, repeat: 100000}\n",
        "two_repeats_of_60000": HEAD + "layers:\n  - a: {kind: relu, repeat: 60000}\n"
                                "  - b: {kind: relu, repeat: 60000}\n",
    }
    paths = {}
    for name, text in cases.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def legitimate(folder: Path) -> dict[str, Path]:
    stack = ["name: plain10000", "input: [3, 16, 16]", "layers:"]
    for index in range(5000):
        stack += [f"  - conv{index}: {{kind: conv2d, out: 8, kernel: 3, padding: 1}}", f"  - relu{index}: relu"]
    (folder / "plain10000.yaml").write_text("\n".join(stack) + "\n")
    return {"resnet1001 (passes)": ROOT / "tests" / "specs" / "resnet1001.yaml",
            "10,000-layer stack (passes)": folder / "plain10000.yaml"}


def in_process_ms(path: Path, runs: int) -> tuple[float, str]:
    times, outcome = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            stats = analyze(path)
            outcome = f"passes: {len(stats.layers):,} layers"
        except SpecError as error:
            outcome = error.message[:70]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), outcome


def fresh_process_ms(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "archcalc", "table", str(path)], capture_output=True,
                          cwd=ROOT, timeout=120)
    return (time.perf_counter() - start) * 1000, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cases = {name: ROOT / "tests" / "bad_specs" / f"{name}.yaml" for name in CORPUS}
        cases.update(generated(folder))
        cases.update(legitimate(folder))
        print(f"{'spec':30} {'analyze':>9} {'process':>9} {'of 1 s':>7} exit  outcome")
        slowest = 0.0
        for name, path in cases.items():
            inside, outcome = in_process_ms(path, runs)
            wall, code = fresh_process_ms(path)
            if "passes" not in name:
                slowest = max(slowest, wall)
            print(f"{name:30} {inside:7.1f}ms {wall:7.1f}ms {wall / 1000:7.3f} {code:4}  {outcome}")
        print(f"slowest refusal, fresh process: {slowest:.1f} ms = {slowest / 1000:.3f} of the 1 s budget")


if __name__ == "__main__":
    main()
