"""`archcalc memory` output: the peak of inference or of a training step by category and the
timeline of live memory, as text, JSON and CSV (schemas in docs/formats.md)."""

from __future__ import annotations

import json

from archcalc.memory import Memory
from archcalc.render.numbers import grouped, shape_text
from archcalc.render.table import Column, Line, StyledLines, Table, as_csv, as_text
from archcalc.sizes import human_bytes
from archcalc.training import CATEGORIES, OPTIMIZERS, Training

SCHEMA = "archcalc.memory/1"
COLUMNS = ("index", "name", "kind", "output_bytes", "temporary_bytes", "live_during", "live_after")
"""The CSV columns and the keys of a layer in JSON: bytes of activations (parameters and buffers
are alive throughout and not in them)."""


def header(m: Memory) -> list[str]:
    return [f"{m.model} ({m.file})",
            (f"input {shape_text(m.input_shape)} · dtype {m.dtype} · inference (eval mode, no gradients), "
             "as torch's MemTracker counts it (docs/memory.md)")]


def peak_line(m: Memory) -> str:
    """The peak, where it occurs, and its categories."""
    layer = m.peak_layer
    if layer is None:
        return "no layer runs a torch operation: MemTracker records no peak (0 B)"
    temporaries = f" ({grouped(layer.transient)} of them {layer.name}'s temporaries)" if layer.transient else ""
    return (f"peak {grouped(m.peak)} B = {human_bytes(m.peak)} while {layer.name} runs: "
            f"parameters {grouped(m.parameters)} · buffers {grouped(m.buffers)} · "
            f"activations {grouped(m.activations)}{temporaries}")


def memory_table(result: Memory) -> StyledLines:
    """The header, a line per layer (bytes of activations: its new output, alive while it runs and
    after it), the peak's line in bold."""
    peak = result.peak_layer
    table = Table([Column("#", ">"), Column("layer", "<"), Column("kind", "<"), Column("new output", ">"),
                   Column("temporaries", ">"), Column("live during", ">"), Column("live after", ">")])
    for index, layer in enumerate(result.layers, start=1):
        table.add([str(index), layer.name, layer.kind, grouped(layer.output), grouped(layer.transient),
                   grouped(layer.during), grouped(layer.after)], "bold" if layer is peak else "")
    top, context = header(result)
    return [(top, "bold"), (context, ""), ("", ""), *as_text(table), ("", ""), (peak_line(result), "bold")]


def _layer_dicts(m: Memory) -> list[dict]:
    return [dict(zip(COLUMNS, (index, layer.name, layer.kind, layer.output, layer.transient, layer.during,
                               layer.after)))
            for index, layer in enumerate(m.layers, start=1)]


def to_json(result: Memory) -> str:
    peak = result.peak_layer
    document = {"schema": SCHEMA, "model": result.model, "file": result.file, "input": list(result.input_shape),
                "dtype": result.dtype,
                "peak": {"total": result.peak, "parameters": result.parameters, "buffers": result.buffers,
                         "activations": result.activations, "temporaries": peak.transient if peak else 0,
                         "layer": peak.name if peak else None},
                "layers": _layer_dicts(result)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_csv(result: Memory) -> str:
    """A line per layer: its bytes of activations."""
    table = Table([Column(name) for name in COLUMNS])
    table.rows = [Line(list(row.values())) for row in _layer_dicts(result)]
    return as_csv(table)


TRAINING_SCHEMA = "archcalc.memory.train/1"
TRAINING_COLUMNS = ("index", "phase", "name", "kind", *CATEGORIES, "total")
"""The CSV columns and the keys of a point in JSON: the bytes of each of MemTracker's categories
alive at that point's busiest moment, and their total."""


def training_header(t: Training) -> list[str]:
    optimizer = OPTIMIZERS[t.optimizer][0]
    return [f"{t.model} ({t.file})",
            (f"input {shape_text(t.input_shape)} · dtype {t.dtype} · a training step with {optimizer} in steady "
             "state, as torch's MemTracker counts it (docs/memory.md)")]


def training_peak_line(t: Training) -> str:
    point = t.peak_point
    where = "the optimizer's step" if point.phase == "optimizer" else f"the {point.phase} of {point.name}"
    categories = " · ".join(f"{name} {grouped(size)}" for name, size in t.categories.items())
    return f"peak {grouped(t.peak)} B = {human_bytes(t.peak)} during {where}: {categories}"


def training_table(result: Training) -> StyledLines:
    """The header, a line per point of the step (its busiest moment), the peak's line in bold.
    Parameters, buffers and the optimizer's state are alive throughout and in the last line."""
    peak = result.peak_point
    table = Table([Column("#", ">"), Column("phase", "<"), Column("layer", "<"), Column("kind", "<"),
                   Column("gradients", ">"), Column("activations", ">"), Column("temporaries", ">"),
                   Column("total", ">")])
    for index, point in enumerate(result.points, start=1):
        sizes = dict(zip(CATEGORIES, point.bytes))
        table.add([str(index), point.phase, point.name, point.kind, grouped(sizes["gradients"]),
                   grouped(sizes["activations"]), grouped(sizes["temporaries"]), grouped(point.total)],
                  "bold" if point is peak else "")
    top, context = training_header(result)
    return [(top, "bold"), (context, ""), ("", ""), *as_text(table), ("", ""), (training_peak_line(result), "bold")]


def _point_dicts(t: Training) -> list[dict]:
    return [dict(zip(TRAINING_COLUMNS, (index, point.phase, point.name, point.kind, *point.bytes, point.total)))
            for index, point in enumerate(t.points, start=1)]


def training_json(result: Training) -> str:
    point = result.peak_point
    document = {"schema": TRAINING_SCHEMA, "model": result.model, "file": result.file,
                "input": list(result.input_shape), "dtype": result.dtype, "optimizer": result.optimizer,
                "peak": {"total": result.peak, **result.categories, "phase": point.phase, "layer": point.name},
                "points": _point_dicts(result)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def training_csv(result: Training) -> str:
    """A line per point of the step: the bytes of each category alive then."""
    table = Table([Column(name) for name in TRAINING_COLUMNS])
    table.rows = [Line(list(row.values())) for row in _point_dicts(result)]
    return as_csv(table)
