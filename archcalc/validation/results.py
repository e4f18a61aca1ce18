"""What validation finds: one Check per figure, per layer and in total; and the latency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

Value = Union[int, tuple[int, ...]]

FIGURES = {
    "shape": "output shape",
    "params": "parameters",
    "buffers": "buffers",
    "fvcore": "fvcore MACs",
    "flop_counter": "FlopCounterMode FLOPs",
}
"""The figures compared, in table order, with their names in prose."""
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
    """Median milliseconds of the model or one top-level block, and its predicted MACs."""

    name: str
    ms: float
    macs: int

    @property
    def macs_per_second(self) -> float:
        return self.macs / (self.ms / 1000) if self.ms > 0 else 0.0


@dataclass(frozen=True)
class Latency:
    """Forward-pass timing on one device: the whole model and each top-level block."""

    device: str
    clock: str
    runs: int
    warmup: int
    model: Timing
    blocks: list[Timing]


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
