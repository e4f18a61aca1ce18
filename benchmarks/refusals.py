"""How long archcalc takes to refuse absurd specs, and to answer the largest legal ones.

First, absurd specs, each to be refused well under a second: the median time of `analyze()` in
this process (parse, expand, analyse, up to the refusal), and the wall time of a fresh
`archcalc table` process, with its share of the one-second budget. Two legitimate giants
(ResNet-1001, a 10,000-layer stack) are timed too, for scale: they must pass, not be refused.

Then, inputs at and just past each documented limit (docs/spec.md, Limits), each a command in a
fresh process: its CPU time (user + system) against a budget of 2 s, and its exit status (0 or
1: it answered, 1 being a check that found models not in the baseline; 2: refused, with the
message's first words).

    python benchmarks/refusals.py [--runs 5] [--only WORDS]

With --only, just the inputs at and past the limits whose row names contain WORDS
(`--only "JSON of it"`).
"""

from __future__ import annotations

import argparse
import resource
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
from archcalc.limits import MAX_EXPANDED

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
        f"two_repeats_of_{MAX_EXPANDED // 2}": HEAD + f"layers:\n  - a: {{kind: relu, repeat: {MAX_EXPANDED // 2}}}\n"
                                              f"  - b: {{kind: relu, repeat: {MAX_EXPANDED // 2}}}\n",
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


def near_the_limits(folder: Path) -> dict[str, list[str]]:
    """The largest legal input of each kind, and the smallest one past it: a command line each."""
    def write(name: str, text: str) -> str:
        (folder / name).write_text(text, encoding="utf-8")
        return str(folder / name)

    def written_out(count: int) -> str:
        return "name: stack\ninput: [3, 8, 8]\nlayers:\n" + "".join(f"  - r{i}: relu\n" for i in range(count))

    def repeat(count: int) -> str:
        return f"{HEAD}layers:\n  - c: {{kind: conv2d, out: 3, kernel: 3, padding: 1, repeat: {count}}}\n"

    def variants(count: int) -> str:
        return (f"{HEAD}params: {{w: 1}}\nvariants:\n" + "".join(f"  v{i}: {{w: {i % 7 + 1}}}\n" for i in range(count))
                + "layers:\n  - c: {kind: conv2d, out: w, kernel: 3}\n")

    flow = write("flow.yaml", f"{HEAD}params:\n  big: [{', '.join(['1'] * 1_300_000)}]\nlayers:\n  - r: relu\n")
    stack_max, stack_past = (write(f"stack{n}.yaml", written_out(n)) for n in (MAX_EXPANDED, MAX_EXPANDED + 1))
    stack_83k, stack_84k = write("stack83k.yaml", written_out(83_000)), write("stack84k.yaml", written_out(84_000))
    repeat_max = write("repeat_max.yaml", repeat(MAX_EXPANDED - 1))  # the repeat is an item too
    repeat_4000 = write("repeat4000.yaml", repeat(4_000))
    variants_1000, variants_60000 = write("v1000.yaml", variants(1_000)), write("v60000.yaml", variants(60_000))
    top = write("top30000.yaml", written_out(30_000))

    def convs(name: str, rows: list[str], axes: int = 2) -> str:
        head = HEAD.replace("[3, 32, 32]", f"[3{', 32' * axes}]")
        return write(name, f"{head}layers:\n" + "".join(f"  - c{i}: {{kind: conv{axes}d, out: 3, {row}}}\n"
                                                        for i, row in enumerate(rows)))

    shrink_28, shrink_29 = (convs(f"shrink{n}.yaml", ["kernel: 3"] * n) for n in (28, 29))
    floors_56 = convs("floors56.yaml", [f"kernel: 3, stride: {2 if i % 2 == 0 and i < 28 else 1}" for i in range(28)])
    strides_2_16, strides_2_17 = (convs(f"strides2x{n}.yaml", ["kernel: 3, stride: 2"] * n) for n in (16, 17))
    strides_3d = convs("strides3d.yaml", ["kernel: 3, stride: 2"] * 16, axes=3)
    widths_600, widths_601 = (write(f"widths{n}.yaml", f"{HEAD}layers:\n" + "".join(
        f"  - c{i}: {{kind: conv2d, out: {i + 1}, kernel: 1}}\n" for i in range(n))) for n in (600, 601))
    return {
        f"{MAX_EXPANDED:,} written-out layers (the expansion bound)": ["table", stack_max],
        f"{MAX_EXPANDED + 1:,} written-out layers": ["table", stack_past],
        "83,000 written-out layers (249,006 YAML nodes)": ["table", stack_83k],
        "84,000 written-out layers (past 250,000 nodes)": ["table", stack_84k],
        "a 4 MiB flow list (1.3 million nodes)": ["table", flow],
        f"repeat of {MAX_EXPANDED - 1:,} conv layers": ["table", repeat_max],
        "report of it": ["report", repeat_max],
        "receptive fields of it": ["table", repeat_max, "--rf"],
        "JSON of it": ["table", repeat_max, "--format", "json"],
        "check of 1,000 variants": ["check", variants_1000, "--baseline", str(folder / "none.yaml")],
        "60,000 variants": ["check", variants_60000, "--baseline", str(folder / "none.yaml")],
        "4,000 layers with symbolic sizes": ["table", repeat_4000, "--input", "3xHxW"],
        f"{MAX_EXPANDED - 1:,} layers with symbolic sizes": ["table", repeat_max, "--input", "3xHxW"],
        "28 shrinking convolutions: 56 size formulas": ["table", shrink_28, "--input", "3xHxW"],
        "29 of them (past 56 formulas)": ["table", shrink_29, "--input", "3xHxW"],
        "28 convolutions, 14 strided: 56 floor formulas": ["table", floors_56, "--input", "3xHxW"],
        "U-Net, valid convolutions and crops: 52 formulas": ["table", "unet", "--input", "1xHxW"],
        "sixteen strides 2: sizes divided by 65,536": ["table", strides_2_16, "--input", "3xHxW"],
        "17 of them (divided by 131,072, past 65,536)": ["table", strides_2_17, "--input", "3xHxW"],
        "16 strides 2 along T, H and W: 48 formulas": ["table", strides_3d, "--input", "3xTxHxW"],
        "M5 on audio of any length: divided by 4,096": ["table", "m5", "--input", "1xL"],
        "600 convolutions of distinct widths, symbolic": ["table", widths_600, "--input", "3xHxW"],
        "601 of them (past 600 layers computed)": ["table", widths_601, "--input", "3xHxW"],
        "sweep of 10,000 sizes, 4,000 layers": ["sweep", repeat_4000, "--size", "8:10007"],
        "report of 30,000 top-level layers": ["report", top],
        "ResNet-1001 with symbolic sizes": ["table", str(ROOT / "tests" / "specs" / "resnet1001.yaml"),
                                            "--input", "3xHxW"],
    }


def cpu_seconds(arguments: list[str]) -> tuple[float, int, str]:
    """CPU time of `archcalc ARGUMENTS` in a fresh process, its exit status and its first error words."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "archcalc", *arguments], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    said = done.stderr.split(": ", 2)[-1].splitlines()[0][:60] if done.returncode == 2 else "answers"
    return cpu, done.returncode, said


def refusals(folder: Path, runs: int) -> None:
    """The absurd specs, then the two legitimate giants."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", help="run only the rows at and past the limits whose names contain this")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if arguments.only is None:
            refusals(folder, arguments.runs)
        print(f"\n{'at and past the limits':48} {'CPU':>7} {'of 2 s':>7} exit  outcome")
        for name, command in near_the_limits(folder).items():
            if arguments.only is None or arguments.only in name:
                cpu, code, said = cpu_seconds(command)
                print(f"{name:48} {cpu:6.2f}s {cpu / 2:7.2f} {code:4}  {said}")


if __name__ == "__main__":
    main()
