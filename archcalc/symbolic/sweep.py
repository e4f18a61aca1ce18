"""A model's totals over many input sizes, from its formulas: one analysis, then arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archcalc.sizes import check_sweep_points
from archcalc.stats import Figures, ModelStats
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

    check_sweep_points(len(sizes), len(batches))
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

