"""Cold-process speed of archcalc's everyday commands against the floor, interleaved in one run.

Each command runs as a fresh process with its output to a pipe, in turn with all the others, for
every round; the script prints each median (wall time, and CPU time: user + system, which another
job on the machine disturbs less) and whether the targets (docs/performance.md) hold:

  archcalc table resnet152          ≤ 0.06 × python -c "import torch", ≤ 3 × python -c "import yaml"
  a written-out 10,000-layer spec   ≤ 0.6 s, and a 30,000-layer one ≤ 3.1 × that (linear growth)
  archcalc check of every bundled model against the committed baseline   ≤ 0.25 s
    (the command as a user runs it: its models shared by one process per core; `check -j 1`,
    one process, is timed beside it; and `check --update` of them, into a baseline of its own in
    a temporary folder, which measures each model once as check does: its time / check's is printed)

With --against DIR (the source tree of another commit, e.g. a `git worktree`), each archcalc
command also runs from DIR, in turn with this tree's, both as `python -P -m archcalc` from their
source trees, and the median of the per-round ratios (this tree / DIR) is printed. --only WORDS
runs just the commands whose names contain one of WORDS (and the floors). --instructions also
counts the instructions each command executes (valgrind's callgrind, which the machine's load
does not move: the median over the hash seeds 0, 1 and 2, as dict and set layouts vary with it),
after the timed rounds. Each tree's bytecode is written first, as an install writes it: where
PYTHONDONTWRITEBYTECODE is set, stale bytecode would otherwise be compiled again on every run
(60 ms of `check`).

Usage: python benchmarks/table_speed.py [--runs N] [--against DIR] [--only WORD ...] [--instructions]
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from archcalc.parallel import MAX_JOBS, cores  # archcalc from this tree


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


def seconds(command: list[str], tree: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one cold run of `command`; `tree`: the source tree archcalc runs from."""
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def instructions(command: list[str], tree: Path | None = None) -> int:
    """The instructions one run of `command` executes (valgrind's callgrind): the median over
    the hash seeds 0, 1 and 2."""
    counts = []
    for seed in range(3):
        env = {**os.environ, "PYTHONHASHSEED": str(seed), **({"PYTHONPATH": str(tree)} if tree else {})}
        done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                              check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        counts.append(int(re.search(r"Collected : (\d+)", done.stderr)[1]))
    return statistics.median(counts)


FLOORS = ("python -c pass", 'python -c "import yaml"', 'python -c "import torch"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--against", type=Path, help="another commit's source tree, run in turn with this one")
    parser.add_argument("--only", nargs="+", default=[], help="run only the commands whose names contain one of these")
    parser.add_argument("--instructions", action="store_true", help="also count each command's instructions (valgrind)")
    args = parser.parse_args()
    # -P: the working directory (this tree) does not come before PYTHONPATH, which names the tree each runs from
    archcalc = [sys.executable, "-P", "-m", "archcalc"] if args.against else archcalc_command()
    folder = Path(tempfile.mkdtemp())
    specs = [*map(str, sorted((ROOT / "specs").glob("*.yaml")))]
    work = {  # each command's arguments, for this tree and for the --against one (`side`)
        "archcalc table resnet152": lambda side: ["table", "resnet152"],
        "archcalc table (10,000 layers)": lambda side: ["table", str(plain_stack(folder, 10_000))],
        "archcalc table (30,000 layers)": lambda side: ["table", str(plain_stack(folder, 30_000))],
        "archcalc check specs/*.yaml": lambda side: ["check", *specs],
        "archcalc check -j 1 specs/*.yaml": lambda side: ["check", "-j", "1", *specs],
        # each tree its own baseline (written anew by the warm-up run, then updated with nothing moved)
        "archcalc check --update specs/*.yaml": lambda side: ["check", "--update", "--baseline",
                                                              str(folder / f"{side}.lock.yaml"), *specs],
    }
    work = {name: made for name, made in work.items() if not args.only or any(word in name for word in args.only)}
    commands: dict[str, tuple[list[str], Path | None]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        'python -c "import yaml"': ([sys.executable, "-c", "import yaml"], None),
        'python -c "import torch"': ([sys.executable, "-c", "import torch"], None),
    }
    if args.only:
        del commands['python -c "import torch"']
    for name, made in work.items():
        commands[name] = ([*archcalc, *made("this")], ROOT if args.against else None)
        if args.against:
            commands[f"{name} [against]"] = ([*archcalc, *made("against")], args.against.resolve())
    for tree in {ROOT, *([args.against.resolve()] if args.against else [])}:
        compileall.compile_dir(tree / "archcalc", quiet=1)
    for command, tree in commands.values():  # warm the file cache for each
        seconds(command, tree)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, (command, tree) in commands.items():
            times[name].append(seconds(command, tree))
    median = {name: statistics.median(wall for wall, _ in values) for name, values in times.items()}
    for name, values in times.items():
        walls = [wall for wall, _ in values]
        cpu = statistics.median(used for _, used in values)
        print(f"{name:42} median {1000 * median[name]:8.1f} ms  (min {1000 * min(walls):.1f}, "
              f"max {1000 * max(walls):.1f}), CPU {1000 * cpu:.1f} ms, over {args.runs} interleaved cold runs")
    if args.against:
        for name in work:
            pairs = list(zip(times[name], times[f"{name} [against]"]))
            wall = statistics.median(ours[0] / theirs[0] for ours, theirs in pairs)
            cpu = statistics.median(ours[1] / theirs[1] for ours, theirs in pairs)
            print(f"{name}: this tree / {args.against} = {wall:.2f} wall, {cpu:.2f} CPU (median of {len(pairs)} pairs)")
    if args.instructions:
        _print_instructions(commands, work, args.against)
    targets = _targets(median, work)
    for text, met, target in targets:
        print(f"{text}: target {target} {'met' if met else 'MISSED'}")
    if "archcalc check --update specs/*.yaml" in work and "archcalc check specs/*.yaml" in work:
        update = median["archcalc check --update specs/*.yaml"]
        print(f"check --update of every bundled model = {update:.3f} s, "
              f"{update / median['archcalc check specs/*.yaml']:.2f} × check's time")
    floor = median['python -c "import yaml"']
    shown = [(name, label) for name, label in (("archcalc table (10,000 layers)", "10,000 layers"),
                                               ("archcalc check specs/*.yaml", "check")) if name in median]
    if shown:
        print("(the machine's speed drifts through the day: as multiples of import yaml in this run, "
              + " and ".join(f"{label} {median[name] / floor:.1f}×" for name, label in shown)
              + f"; the two time targets were set when import yaml took 23 ms: 0.6 s = {0.6 / 0.023:.1f}× "
              f"and 0.25 s = {0.25 / 0.023:.1f}×)")


def _print_instructions(commands: dict[str, tuple[list[str], Path | None]], work: dict, against: Path | None) -> None:
    """Each command's instructions, and with --against each archcalc command's ratio (this tree / DIR)."""
    if shutil.which("valgrind") is None:
        print("(no valgrind on this machine: no instruction counts)")
        return
    counted = {name: instructions(command, tree) for name, (command, tree) in commands.items()
               if "torch" not in name}  # import torch under valgrind: minutes, and not a floor of any ratio here
    for name, count in counted.items():
        print(f"{name:42} {count / 1e9:.3f} G instructions")
    floor = counted['python -c "import yaml"']
    for name in work:
        ratio = f", this tree / {against} = {counted[name] / counted[f'{name} [against]']:.3f}" if against else ""
        print(f"{name}: {counted[name] / floor:.2f} × import yaml's instructions{ratio}")


def _targets(median: dict[str, float], work: dict) -> list[tuple[str, bool, str]]:
    """(what was measured, whether it meets its target, the target) for each target measured."""
    targets = []
    if "archcalc table resnet152" in work:
        table = median["archcalc table resnet152"]
        yaml_ratio = table / median['python -c "import yaml"']
        if 'python -c "import torch"' in median:
            torch_ratio = table / median['python -c "import torch"']
            targets.append((f"table resnet152 / import torch = {torch_ratio:.3f}", torch_ratio <= 0.06, "≤ 0.06"))
        targets.append((f"table resnet152 / import yaml = {yaml_ratio:.2f}", yaml_ratio <= 3, "≤ 3"))
    if "archcalc table (10,000 layers)" in work:
        stack = median["archcalc table (10,000 layers)"]
        targets.append((f"10,000 layers = {stack:.3f} s", stack <= 0.6, "≤ 0.6 s"))
        if "archcalc table (30,000 layers)" in work:
            linear = median["archcalc table (30,000 layers)"] / stack
            targets.append((f"30,000 / 10,000 layers = {linear:.2f}", linear <= 3.1, "≤ 3.1"))
    if "archcalc check specs/*.yaml" in work:
        check = median["archcalc check specs/*.yaml"]
        alone = median.get("archcalc check -j 1 specs/*.yaml")
        shared = f"{min(cores(), MAX_JOBS)} processes" + (f"; one process: {alone:.3f} s" if alone else "")
        targets.append((f"check of every bundled model = {check:.3f} s ({shared})", check <= 0.25, "≤ 0.25 s"))
    return targets


if __name__ == "__main__":
    main()
