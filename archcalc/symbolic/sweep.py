"""A model's totals over many input sizes, from its formulas: one analysis, then arithmetic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from archcalc.stats import Figures, ModelStats
from archcalc.errors import SpecError
from archcalc.limits import MAX_DIMENSION, MAX_SWEEP_POINTS
from archcalc.symbolic.context import Condition
from archcalc.symbolic.model import analyze_symbolic, totals_at


@dataclass(frozen=True)
class SweepPoint:
    """The totals at one batch and input size, or the constraint that size does not meet."""

    batch: int
    height: int
    width: int
    totals: Figures | None
    unmet: Condition | None = None


@dataclass(frozen=True)
class Sweep:
    formulas: ModelStats
    """The symbolic analysis (H, W and, over several batch sizes, N) the points come from."""
    points: list[SweepPoint]


def sweep(spec: str | Path, sizes: list[tuple[int, int]], batches: list[int], variant: str | None = None,
          convention: str = "paper", dtype: str = "float32") -> Sweep:
    """Totals of a spec at every (height, width) in `sizes` and batch size in `batches`."""
    from archcalc.spec import load_graph

    if len(sizes) * len(batches) > MAX_SWEEP_POINTS:
        raise SpecError(f"--size and --batch give {len(sizes) * len(batches):,} points; at most "
                        f"{MAX_SWEEP_POINTS:,}", hint="use a larger step")
    graph = load_graph(spec, variant)
    batch = "N" if len(batches) > 1 else batches[0]
    stats = analyze_symbolic(graph, (batch, graph.input_shape[0], "H", "W"), convention, dtype)
    points = []
    for n in batches:
        for height, width in sizes:
            values = {"H": height, "W": width, **({"N": n} if batch == "N" else {})}
            unmet = stats.formulas.unmet(values)
            totals = None if unmet else totals_at(stats, values)
            points.append(SweepPoint(n, height, width, totals, unmet))
    return Sweep(stats, points)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'32:512:32' (from:to:step, both ends included; step 1 if left out), '224,256', '224x320'
    or a mix → [(h, w)]."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("×", "x")
        if re.fullmatch(r"\d+:\d+(:\d+)?", part):
            start, stop, *step = (int(p) for p in part.split(":"))
            if step == [0] or stop < start:
                raise SpecError(f"a range is from:to:step with from ≤ to and step ≥ 1, got '{part}'")
            sizes += [(s, s) for s in range(start, stop + 1, step[0] if step else 1)]
        elif re.fullmatch(r"\d+(x\d+)?", part):
            h, _, w = part.partition("x")
            sizes.append((int(h), int(w or h)))
        else:
            raise SpecError(f"sizes are like 32:512:32, 224,256 or 224x320, got '{part}'")
    _within_range(sizes and [min(min(s) for s in sizes), max(max(s) for s in sizes)], "size")
    return sizes


def parse_batches(text: str) -> list[int]:
    """'1', '1,8,32' or '1:64:8' → batch sizes."""
    if re.search("[x×]", text.lower()):
        raise SpecError(f"batch sizes are like 1, 1,8,32 or 1:64:8, got '{text}'")
    return [n for n, _ in parse_sizes(text)]


def _within_range(bounds: list[int], what: str) -> None:
    if bounds and not 1 <= bounds[0] <= bounds[1] <= MAX_DIMENSION:
        raise SpecError(f"each {what} must be from 1 to {MAX_DIMENSION:,}")
