"""A ConvNeXt block's two linear layers, each timed on its own: fc1 (C → 4C) against fc2 (4C → C),
of the same MACs, at every stage's size of the four bundled ConvNeXts, beside how the models order
the two where they were timed whole.

    OMP_NUM_THREADS=1 python benchmarks/linear_orientation.py [--runs N] [--repeats N] [--measured FILE [--profile FILE]]

Each point is a pair of `nn.Linear` layers with bias on a (1, SIDE, SIDE, C) input and its GELU's
(1, SIDE, SIDE, 4C), run in turn `--runs` times after a warm-up, on one thread: warm (the same
inputs and weights again) and cold (a 64 MiB buffer written before each layer, so that no cache
holds its weights or input, as in a model's pass). It prints each repeat's medians and fc2's time
over fc1's. `--measured` reads a file of `benchmarks/latency_vs_roofline.py` (its per-layer median
times) and counts, for each ConvNeXt and stage, the blocks whose fc2 took longer than their fc1.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = ((96, 56), (192, 28), (384, 14), (768, 7), (128, 56), (256, 28), (512, 14), (1024, 7),
         (192, 56), (384, 28), (768, 14), (1536, 7))
"""(C, side) of each stage of ConvNeXt-T and -S, -B, -L at 224×224."""
FLUSH_BYTES = 64 * 2**20
"""Twice the largest cache of the machine the passes ran on (32 MiB)."""


def medians_us(torch, channels: int, side: int, runs: int, cold: bool) -> tuple[float, float]:
    """fc1's and fc2's median times in µs, the two run in turn."""
    fc1, fc2 = torch.nn.Linear(channels, 4 * channels), torch.nn.Linear(4 * channels, channels)
    pairs = ((fc1, torch.randn(1, side, side, channels)), (fc2, torch.randn(1, side, side, 4 * channels)))
    flush = torch.empty(FLUSH_BYTES // 4)
    times: tuple[list[int], list[int]] = ([], [])
    with torch.no_grad():
        for run in range(runs + 3):
            for (layer, x), measured in zip(pairs, times):
                if cold:
                    flush.add_(1.0)
                start = time.perf_counter_ns()
                layer(x)
                if run >= 3:
                    measured.append(time.perf_counter_ns() - start)
    first, second = (statistics.median(measured) / 1e3 for measured in times)
    return first, second


def in_the_models(results: dict) -> dict[str, dict[int, tuple[int, int]]]:
    """For each ConvNeXt of a latency file, each stage's (blocks whose fc2 was the slower, blocks)."""
    counts = {}
    for model in sorted(name for name in results if name.startswith("convnext")):
        layers = results[model]["layers"]
        slower, blocks = Counter(), Counter()
        for name, times in layers.items():
            found = re.fullmatch(r"stages\.(\d+)\.blocks\.\d+\.fc1", name)
            if found:
                blocks[int(found[1])] += 1
                slower[int(found[1])] += layers[name[:-1] + "2"][0] > times[0]
        counts[model] = {stage: (slower[stage], blocks[stage]) for stage in sorted(blocks)}
    return counts


def read_ratios(text: str) -> dict[tuple[int, int, bool], float]:
    """The median ratio of each point of a printed run, by (C, side, cold)."""
    ratios = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) > 3 and words[0].isdigit():
            shares = [float(word.rstrip("%")) / 100 for word in words[5::3]]
            ratios[int(words[0]), int(words[1]), words[2] == "cold"] = statistics.median(shares)
    return ratios


def with_orientation(results: dict, profile: str, ratios: dict) -> dict[str, tuple[float, float, float]]:
    """Each ConvNeXt's ρ as the roofline gives it, and with each fc2 times its stage's measured
    ratio, warm and cold."""
    from archcalc.analysis import analyze_graph
    from archcalc.roofline import roofline
    from archcalc.spec import bundled, load_graph
    from archcalc.validation.results import heaviest, spearman

    found = {}
    for entry in (entry for entry in bundled() if entry.name in results and entry.name.startswith("convnext")):
        stats = analyze_graph(load_graph(entry.path, entry.variant), batch=1)
        roof = roofline(stats, profile, "float32").by_name()
        ranked = heaviest({layer.name: layer.figures.macs for layer in stats.layers})
        measured = [results[entry.name]["layers"][name][0] for name in ranked]
        predicted = [roof[name].time for name in ranked]
        shapes = {layer.name: layer.shape for layer in stats.layers}
        scaled = [[time * (1 + ratios[shapes[name][-1], shapes[name][1], cold]) if name.endswith("fc2") else time
                   for name, time in zip(ranked, predicted)] for cold in (False, True)]
        found[entry.name] = tuple(spearman(times, measured) for times in (predicted, *scaled))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measured", help="a latency file of benchmarks/latency_vs_roofline.py")
    parser.add_argument("--profile", help="the device profile the --measured times were read with")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, one thread, {args.runs} runs a point, fc2's median over fc1's")
    print(f"{'C':>5} {'side':>4}  mode  " + "  ".join(f"{'fc1 µs':>8} {'fc2 µs':>8} {'fc2/fc1':>7}"
                                                     for _ in range(args.repeats)))
    lines = []
    for channels, side in SIZES:
        for cold in (False, True):
            cells = []
            for _ in range(args.repeats):
                first, second = medians_us(torch, channels, side, args.runs, cold)
                cells.append(f"{first:8.1f} {second:8.1f} {second / first - 1:+7.1%}")
            lines.append(f"{channels:5} {side:4}  {'cold' if cold else 'warm'}  " + "  ".join(cells))
            print(lines[-1], flush=True)
    if args.measured:
        with open(args.measured, encoding="utf-8") as file:
            results = json.load(file)
        for model, stages in in_the_models(results).items():
            print(model, "  ".join(f"stage {stage + 1}: fc2 the slower in {slower} of {blocks}"
                                   for stage, (slower, blocks) in stages.items()))
        if args.profile:
            for model, (plain, warm, cold) in with_orientation(results, args.profile, read_ratios("\n".join(lines))).items():
                print(f"{model} ρ {plain:.2f}  with fc2 warm: {warm:.2f}  with fc2 cold: {cold:.2f}")


if __name__ == "__main__":
    main()
