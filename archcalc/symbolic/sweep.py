"""A model's totals over many input sizes, from its formulas: one analysis, then arithmetic.

The sizes that vary are the input's length L (a 1-D input, C×L) or its height and width (a 2-D
input, C×H×W, and a 3-D one, C×D×H×W, whose depth D stays the spec's or the given input's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archcalc.errors import SpecError
from archcalc.sizes import check_sweep_points
from archcalc.stats import Figures, ModelStats
from archcalc.symbolic.context import Condition
from archcalc.symbolic.model import analyze_symbolic, totals_at

AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
"""The spatial axes of an input with one, two or three of them, as records name them."""

_SYMBOLS = {1: ("L",), 2: ("H", "W"), 3: ("H", "W")}
"""The symbols of the sizes that vary: the last one or two of the input."""


@dataclass(frozen=True)
class SweepPoint:
    """The totals at one batch and input size, or the constraint that size does not meet."""

    batch: int
    input: tuple[int, ...]
    """The input at this point: channels, then the spatial sizes (C×L, C×H×W or C×D×H×W)."""
    totals: Figures | None
    unmet: Condition | None = None

    @property
    def spatial(self) -> tuple[int, ...]:
        return self.input[1:]


@dataclass(frozen=True)
class Sweep:
    formulas: ModelStats
    """The symbolic analysis (L, or H and W, and, over several batch sizes, N) the points come from."""
    points: list[SweepPoint]

    @property
    def axes(self) -> tuple[str, ...]:
        """The names of the input's spatial axes: ('length',), ('height', 'width') or ('depth', 'height', 'width')."""
        return AXES[len(self.formulas.input_shape) - 2]


def sweep(spec: str | Path, sizes: list[int | tuple[int, int]], batches: list[int], variant: str | None = None,
          convention: str = "paper", dtype: str = "float32", input: tuple[int, ...] | None = None) -> Sweep:
    """Totals of a spec at every size in `sizes` and batch size in `batches`. A size is a number
    (a 1-D input's length, or height = width) or a (height, width) pair; a 3-D input keeps its
    depth. `input` (C×…, numbers) in place of the spec's gives the channels and depth."""
    from archcalc.spec import load_graph

    check_sweep_points(len(sizes), len(batches))
    graph = load_graph(spec, variant)
    shape = input or graph.input_shape
    symbols = _SYMBOLS[len(shape) - 1]
    fixed = shape[:-len(symbols)]  # the channels, and a 3-D input's depth
    varying = [_varying(graph.model, shape, size) for size in sizes]  # a pair refused before the analysis
    at = [(dict(zip(symbols, v)), (*fixed, *v)) for v in varying]  # each size's symbols' values, and its input
    batch = "N" if len(batches) > 1 else batches[0]
    stats = analyze_symbolic(graph, (batch, *fixed, *symbols), convention, dtype)
    points = []
    for n in batches:
        for sized, point_input in at:
            values = {**sized, "N": n} if batch == "N" else sized
            unmet = stats.formulas.unmet(values)
            totals = None if unmet else totals_at(stats, values)
            points.append(SweepPoint(n, point_input, totals, unmet))
    return Sweep(stats, points)


def _varying(model: str, shape: tuple[int, ...], size: int | tuple[int, int]) -> tuple[int, ...]:
    """The sizes one entry of the size list sets: (L,) of a 1-D input, else (H, W)."""
    if len(shape) > 2:
        return (size, size) if isinstance(size, int) else tuple(size)
    if not isinstance(size, int):
        raise SpecError(f"1-D inputs have one size, the length L: got the pair {size[0]}x{size[1]} for {model} "
                        f"(input {shape[0]}×L); give lengths, like 8000,16000 or 8000:16000:4000")
    return (size,)
