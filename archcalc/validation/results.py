"""What validation finds: one Check per figure, per layer and in total; and the latency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

Value = Union[int, tuple[int, ...], tuple[tuple[int, ...], ...]]
"""A count, a shape, or the shapes of a model's several heads (the total's, in the order it returns them)."""

FIGURES = {
    "shape": "output shape",
    "params": "parameters",
    "buffers": "buffers",
    "fvcore": "fvcore MACs",
    "flop_counter": "FlopCounterMode FLOPs",
    "flop_counter_backward": "FlopCounterMode backward FLOPs",
}
"""The figures compared, in table order, with their names in prose."""
COUNTED = ("fvcore", "flop_counter", "flop_counter_backward")
"""The figures of a counter: compared only where it counted (`Validation.counters`)."""
MEMORY_FIGURES = {
    "parameter_bytes": "parameter bytes",
    "buffer_bytes": "buffer bytes",
    "activation_bytes": "activation bytes",
    "peak_bytes": "total bytes",
}
"""The inference peak's figures, compared with torch's MemTracker (its Parameter, Buffer,
Activation and Total), with their names in prose."""


TRAINING_FIGURES = {
    "parameter_bytes": "parameter bytes",
    "buffer_bytes": "buffer bytes",
    "gradient_bytes": "gradient bytes",
    "activation_bytes": "activation bytes",
    "temporary_bytes": "temporary bytes",
    "optimizer_bytes": "optimizer state bytes",
    "peak_bytes": "total bytes",
}
"""The peak of a training step's figures, compared with MemTracker's (its Parameter, Buffer,
Gradient, Activation, Temp, Optstate and Total), with their names in prose."""


def figure_name(figure: str) -> str:
    """A compared figure's name in prose, a layer's or a peak's."""
    return FIGURES.get(figure) or MEMORY_FIGURES.get(figure) or TRAINING_FIGURES[figure]


@dataclass(frozen=True)
class Timing:
    """Milliseconds of the model, a top-level block or a layer over the timed runs (the median,
    the fastest and the slowest), and its predicted MACs."""

    name: str
    ms: float
    macs: int
    min_ms: float = 0.0
    max_ms: float = 0.0
    kind: str = ""
    """A layer's kind; empty for the model and a block."""
    predicted_ms: float | None = None
    """The roofline's prediction on the device profile given; None without one."""

    @property
    def macs_per_second(self) -> float | None:
        """None where there are no MACs (a view, a merge) or no time to divide by."""
        return self.macs / (self.ms / 1000) if self.macs and self.ms > 0 else None

    @property
    def achieved(self) -> float | None:
        """The fraction of the roofline's speed reached: predicted / measured time. None without a
        prediction, and where the roofline predicts no time (a layer that launches nothing, as an
        identity or a flatten): there is nothing to reach, and 0% would read as a device at rest."""
        return self.predicted_ms / self.ms if self.predicted_ms and self.ms > 0 else None


@dataclass(frozen=True)
class Latency:
    """Forward-pass timing on one device: the whole model, each top-level block and, per layer,
    each layer."""

    device: str
    clock: str
    runs: int
    warmup: int
    model: Timing
    blocks: list[Timing]
    threads: int | None = None
    """torch's CPU threads while timing; None on CUDA."""
    mode: str = "blocks"
    layers: list[Timing] = field(default_factory=list)
    profile: str | None = None
    """The device profile the predictions are on (its name); None without one."""
    rank_correlation: float | None = None
    """Spearman's, of predicted and measured layer times over the layers that hold 90% of the MACs
    (`ranked` of them); None without a profile or per-layer times, or over fewer than MIN_RANKED."""
    ranked: int = 0
    rank_ceiling: float | None = None
    """The rank correlation no prediction that gives layers alike (`alike`) one time can pass
    against these measured times (`rank_ceiling`); None where rank_correlation is."""
    memory_kept: bool = False
    """glibc's malloc kept freed memory for the next pass while timing (archcalc.validation.latency.
    keep_freed_memory); False on CUDA, or where the C library is not glibc."""
    dtype: str = "float32"
    """The element type of the weights, buffers and input while timing."""


@dataclass(frozen=True)
class Check:
    """One figure: archcalc's predicted value and what torch or a counter measured."""

    figure: str
    predicted: Value
    measured: Value

    @property
    def ok(self) -> bool:
        return self.predicted == self.measured

    @property
    def difference(self) -> int | None:
        """measured − predicted for counts; None for shapes."""
        if isinstance(self.predicted, int) and isinstance(self.measured, int):
            return self.measured - self.predicted
        return None


@dataclass(frozen=True)
class LayerCheck:
    """Every compared figure of one layer (or of the whole model, named 'total')."""

    name: str
    kind: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def get(self, figure: str) -> Check | None:
        return next((check for check in self.checks if check.figure == figure), None)


@dataclass(frozen=True)
class Validation:
    """The outcome of `archcalc validate` for one model."""

    model: str
    file: str
    device: str
    input_shape: tuple[int, ...]
    counters: tuple[str, ...]
    versions: dict[str, str]
    layers: list[LayerCheck] = field(default_factory=list)
    total: LayerCheck | None = None
    latency: Latency | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    memory: LayerCheck | None = None
    """The inference peak against MemTracker's, category by category; None where not compared."""
    training: LayerCheck | None = None
    """The peak of a training step (SGD with momentum) against MemTracker's, category by category;
    None where not compared."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.total is not None and self.total.ok and all(
            layer.ok for layer in self.layers) and all(row.ok for row in (self.memory, self.training) if row)

    @property
    def differences(self) -> list[tuple[LayerCheck, Check]]:
        rows = [*self.layers, *([self.total] if self.total else []),
                *(row for row in (self.memory, self.training) if row)]
        return [(row, check) for row in rows for check in row.checks if not check.ok]


MIN_RANKED = 3
"""The fewest layers a rank correlation is given over: over 2 Spearman's ρ is ±1 whatever the
times (or none, on a tie), and says nothing of whether the roofline orders layers as the device does."""


def heaviest(macs: dict[str, int], share: float = 0.9) -> list[str]:
    """The fewest names that hold at least `share` of the MACs, the heaviest first (by name on a tie)."""
    total = sum(macs.values())
    chosen: list[str] = []
    held = 0
    for name in sorted(macs, key=lambda n: (-macs[n], n)):
        if held >= share * total or macs[name] == 0:
            break
        chosen.append(name)
        held += macs[name]
    return chosen


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rank correlation: Pearson's of the ranks, tied values sharing their mean rank;
    None for fewer than two pairs or where either side has a single rank."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx, vy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return cov / (vx * vy) ** 0.5 if vx and vy else None


def rank_ceiling(times: list[float], groups: list[object]) -> float | None:
    """The highest Spearman's ρ against `times` of any prediction that gives one time to every
    member of a group: √(share of the ranks' variance between the groups), the correlation ratio η
    of the ranks. Such a prediction's ranks are one value a group, so their covariance with the
    measured ranks is the covariance with each group's mean rank, which Cauchy–Schwarz bounds. The
    bound is reached where the groups follow one another in rank, with no tie across two; else it
    is only a bound. None where no such prediction has a ρ: one group, one rank, or under two times."""
    if len(times) != len(groups) or len(times) < 2 or len(set(groups)) < 2:
        return None
    ranks = _ranks(times)
    mean = sum(ranks) / len(ranks)
    total = sum((rank - mean) ** 2 for rank in ranks)
    members: dict[object, list[float]] = {}
    for group, rank in zip(groups, ranks):
        members.setdefault(group, []).append(rank)
    between = sum(len(held) * (sum(held) / len(held) - mean) ** 2 for held in members.values())
    return min(1.0, (between / total) ** 0.5) if total else None


def alike(graph, stats) -> dict[str, tuple]:
    """Each layer's own description: its kind, its fields (as written: 0 and 0.0 apart) and its
    inputs' and output's shapes. Layers of one description do the same work, and a prediction
    from a layer's description alone, as the roofline's is, times them alike (`rank_ceiling`)."""
    from archcalc.graph import INPUT

    nodes = {node.name: node for node in graph.nodes}
    shapes = {layer.name: layer.shape for layer in stats.layers}
    shapes[INPUT] = stats.input_shape
    return {layer.name: (layer.kind, repr(sorted(nodes[layer.name].attrs.items())),
                         tuple(shapes[source] for source in layer.inputs), layer.shape)
            for layer in stats.layers}


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for index in order[start:end + 1]:
            ranks[index] = (start + end) / 2 + 1
        start = end + 1
    return ranks
