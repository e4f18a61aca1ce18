"""Whether the CPU's rank target (ρ ≥ 0.8 for every bundled model) is within reach of any prediction
on the kept measurements of the AVX-512 machine: for each kept file of per-layer times, each
ConvNeXt's η (a bound on the ρ of any prediction that times alike layers alike,
`archcalc.validation.results.rank_ceiling`) and the same ceiling for a prediction that also tells
each stage's first and last blocks from its others (their layers follow or precede a downsampling
in the graph; elsewhere a block's layers and their neighbours differ only in the stochastic depth's
rate, a no-op at inference); then in
how many measurements all four ConvNeXts could reach 0.8 at once, by each ceiling. Nothing is timed:
it reads the files (the median runs) and the bundled specs.

Usage: python benchmarks/rank_reach.py [FILE …]   (default: the files below; prints markdown)
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CONVNEXTS = ("convnext_tiny", "convnext_small", "convnext_base", "convnext_large")
TARGET = 0.8
KEPT = (  # the AVX-512 machine's measurements, in the order they were made
    ("sixth pass", "cpu-2026-12-05-avx512/latency-cpu-float32.json"),
    ("seventh pass", "cpu-2026-12-05-aligned/latency-cpu-float32.json"),
    ("eighth pass", "cpu-2026-12-05-cold/latency-cpu-float32.json"),
    ("ninth pass", "cpu-2026-12-05-native/latency-cpu-float32.json"),
    ("tenth pass", "cpu-2026-12-05-heap/latency-cpu-float32.json"),
    ("eleventh pass", "cpu-2026-12-05-weights/latency-cpu-float32.json"),
    ("twelfth pass", "cpu-2026-12-06-pooling/latency-cpu-float32.json"),
    ("thirteenth pass", "cpu-2026-12-06-onednn/latency-cpu-float32.json"),
    ("fourteenth pass", "cpu-2026-12-06-grid/latency-cpu-float32.json"),
    ("fifteenth pass", "cpu-2026-12-06-seconds/latency-cpu-float32.json"),
    ("a minute, first", "cpu-2026-12-06-minute/latency-cpu-float32-first.json"),
    ("a minute, second", "cpu-2026-12-06-minute/latency-cpu-float32.json"),
    *((f"2 seconds, run {run}", f"cpu-2026-12-06-reach/latency-cpu-float32-{run}.json") for run in range(1, 9)),
)
_BLOCK = re.compile(r"stages\.(\d+)\.blocks\.(\d+)\.")


def heavy_layers(model: str) -> tuple[list[str], dict[str, tuple]]:
    """The layers that hold 90% of the model's MACs, and every layer's description."""
    from archcalc.analysis import analyze_graph
    from archcalc.spec import bundled, load_graph
    from archcalc.validation.results import alike, heaviest

    entry = {entry.name: entry for entry in bundled()}[model]
    graph = load_graph(entry.path, entry.variant)
    stats = analyze_graph(graph, batch=1)
    return heaviest({layer.name: layer.figures.macs for layer in stats.layers}), alike(graph, stats)


def place_in_stage(names: list[str]) -> dict[str, tuple[bool, bool]]:
    """Whether each block's layer among `names` (every layer of the model) is in its stage's first
    block, and whether in its last."""
    blocks = {name: tuple(map(int, found.groups())) for name in names if (found := _BLOCK.match(name))}
    last: dict[int, int] = {}
    for stage, block in blocks.values():
        last[stage] = max(block, last.get(stage, 0))
    return {name: (block == 0, block == last[stage]) for name, (stage, block) in blocks.items()}


def ceilings(model: str, times: dict, described: tuple[list[str], dict[str, tuple]]) -> tuple[float, float]:
    """η of the median runs, and the ceiling where the stage's first and last blocks are told apart."""
    from archcalc.validation.results import rank_ceiling

    heavy, description = described
    measured = [times["layers"][name][0] for name in heavy]
    places = place_in_stage(list(description))  # the last block of a stage, heavy or not
    return (rank_ceiling(measured, [description[name] for name in heavy]),
            rank_ceiling(measured, [(description[name], places[name]) for name in heavy]))


def reach(files: list[tuple[str, Path]]) -> list[tuple[str, dict[str, tuple[float, float]]]]:
    """Each measurement's ceilings for the ConvNeXts it holds."""
    described = {model: heavy_layers(model) for model in CONVNEXTS}
    rows = []
    for label, path in files:
        kept = json.loads(path.read_text())
        rows.append((label, {model: ceilings(model, kept[model], described[model]) for model in CONVNEXTS if model in kept}))
    return rows


def within(ceiling_of: dict[str, tuple[float, float]], which: int) -> bool:
    """Whether all four ConvNeXts could reach the target by this ceiling (a measurement without one: no)."""
    return len(ceiling_of) == len(CONVNEXTS) and all(pair[which] >= TARGET for pair in ceiling_of.values())


def between_runs(kept: list[dict], model: str, suffix: str) -> list[float]:
    """Spearman's ρ of the third stage's layers ending in `suffix`, for each pair of runs."""
    from itertools import combinations

    from archcalc.validation.results import spearman

    names = [name for name in kept[0][model]["layers"] if name.startswith("stages.2.") and name.endswith(suffix)]
    return [spearman([one[model]["layers"][name][0] for name in names], [other[model]["layers"][name][0] for name in names])
            for one, other in combinations(kept, 2)]


def print_reach(rows: list[tuple[str, dict[str, tuple[float, float]]]]) -> None:
    """The ceilings' table and how many measurements could hold all four at 0.8."""
    print("| measurement | " + " | ".join(CONVNEXTS) + " | all four ≥ 0.8 |")
    print("|:--|" + "--:|" * len(CONVNEXTS) + ":--|")
    for label, ceiling_of in rows:
        cells = [f"{ceiling_of[model][0]:.2f} / {ceiling_of[model][1]:.2f}" if model in ceiling_of else "–"
                 for model in CONVNEXTS]
        both = " / ".join("yes" if within(ceiling_of, which) else "no" for which in (0, 1))
        print(f"| {label} | " + " | ".join(cells) + f" | {both} |")
    complete = sum(len(ceiling_of) == len(CONVNEXTS) for _, ceiling_of in rows)
    print(f"\nη / the ceiling with each stage's first and last blocks told apart, of the median runs. Of the "
          f"{complete} measurements that hold all four, all four could reach ρ {TARGET} by η in "
          f"{sum(within(c, 0) for _, c in rows)}, and with the first and last blocks told apart in "
          f"{sum(within(c, 1) for _, c in rows)}.")


def spread(kept: list[dict], model: str, suffix: str) -> list[float]:
    """How much slower the slowest of the third stage's layers ending in `suffix` ran than its
    fastest, in each run (a fraction)."""
    times = [[time[0] for name, time in run[model]["layers"].items() if name.startswith("stages.2.") and name.endswith(suffix)]
             for run in kept]
    return [max(each) / min(each) - 1 for each in times]


def print_between_runs(kept: list[dict]) -> None:
    """How alike the third stage's fc1 layers, and its fc2 layers, rank from one run to another,
    and how far apart they ran within a run."""
    print("\n| model | third stage's fc1 (layers): ρ between runs, median (range) | fc2 | slowest over fastest in a run |")
    print("|:--|:--|:--|:--|")
    for model in CONVNEXTS:
        count = sum(name.startswith("stages.2.") and name.endswith(".fc1") for name in kept[0][model]["layers"])
        cells = [f"{statistics.median(values):.2f} ({min(values):.2f} to {max(values):.2f})"
                 for values in (between_runs(kept, model, suffix) for suffix in (".fc1", ".fc2"))]
        apart = [share * 100 for suffix in (".fc1", ".fc2") for share in spread(kept, model, suffix)]
        print(f"| {model} ({count}) | {cells[0]} | {cells[1]} | +{min(apart):.1f} to +{max(apart):.1f}% |")
    print(f"\nOver the {len(kept) * (len(kept) - 1) // 2} pairs of the {len(kept)} runs of cpu-2026-12-06-reach.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    files = [(path.name, path) for path in args.files] or [(label, RESULTS / path) for label, path in KEPT]
    print_reach(reach(files))
    kept = [json.loads(path.read_text()) for label, path in files if label.startswith("2 seconds")]
    if len(kept) > 1:
        print_between_runs(kept)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
