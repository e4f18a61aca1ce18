"""`archcalc memory` output: the peak of inference or of a training step by category and the
timeline of live memory, as text, JSON and CSV (schemas in docs/formats.md)."""

from __future__ import annotations

import json

from archcalc.errors import on_one_line, shown_safely
from archcalc.limits import MAX_DIMENSION, MAX_TENSOR_BYTES
from archcalc.memory import Memory, MemoryFormula
from archcalc.peak import Fit, Piece
from archcalc.render.numbers import grouped, shape_text
from archcalc.render.table import Column, Line, StyledLines, Table, as_csv, as_text
from archcalc.sizes import human_bytes
from archcalc.training import CATEGORIES, OPTIMIZERS, Training

SCHEMA = "archcalc.memory/1"
FORMULA_SCHEMA = "archcalc.memory_formula/1"
PIECE_COLUMNS = ("first", "last", "constant", "per_sample", "layer")
"""The CSV columns and the keys of a piece of the formula in JSON: the peak is constant +
per_sample·N bytes from N = first to last (empty, null: no end) while layer runs."""
COLUMNS = ("index", "name", "kind", "output_bytes", "temporary_bytes", "live_during", "live_after")
"""The CSV columns and the keys of a layer in JSON: bytes of activations (parameters and buffers
are alive throughout and not in them)."""


def header(m: Memory | MemoryFormula | Training) -> list[str]:
    rounded = ", each tensor rounded up to 512 B as on CUDA" if getattr(m, "allocator", "exact") == "cuda" else ""
    optimizer = getattr(m, "optimizer", None)
    what = (f"a training step with {OPTIMIZERS[optimizer][0]} in steady state" if optimizer
            else "inference (eval mode, no gradients)")
    return [f"{shown_safely(m.model)} ({shown_safely(on_one_line(m.file))})",
            (f"input {shape_text(m.input_shape)} · dtype {m.dtype} · {what}, "
             f"as torch's MemTracker counts it{rounded} (docs/memory.md)")]


def peak_line(m: Memory) -> str:
    """The peak, where it occurs, and its categories."""
    layer = m.peak_point
    if layer is None:
        return "no layer runs a torch operation: MemTracker records no peak (0 B)"
    temporaries = f" ({grouped(layer.transient)} of them {layer.name}'s temporaries)" if layer.transient else ""
    return (f"peak {grouped(m.peak)} B = {human_bytes(m.peak)} while {layer.name} runs: "
            f"parameters {grouped(m.parameters)} · buffers {grouped(m.buffers)} · "
            f"activations {grouped(m.activations)}{temporaries}")


def memory_table(result: Memory) -> StyledLines:
    """The header, a line per layer (bytes of activations: its new output, alive while it runs and
    after it), the peak's line in bold."""
    peak = result.peak_point
    table = Table([Column("#", ">"), Column("layer", "<"), Column("kind", "<"), Column("new output", ">"),
                   Column("temporaries", ">"), Column("live during", ">"), Column("live after", ">")], tree=1)
    for index, layer in enumerate(result.layers, start=1):
        table.add([str(index), layer.name, layer.kind, grouped(layer.output), grouped(layer.transient),
                   grouped(layer.during), grouped(layer.after)], "bold" if layer is peak else "")
    top, context = header(result)
    return [(top, "bold"), (context, ""), ("", ""), *as_text(table), ("", ""), (peak_line(result), "bold")]


def to_json(result: Memory) -> str:
    peak = result.peak_point
    return timeline_json(result, {"total": result.peak, "parameters": result.parameters, "buffers": result.buffers,
                                  "activations": result.activations, "temporaries": peak.transient if peak else 0,
                                  "layer": peak.name if peak else None})


def timeline_json(result: Memory | Training, peak: dict) -> str:
    """The document of an inference or a training timeline: its header, `peak` and its rows."""
    schema, key, _, _ = TIMELINES[type(result)]
    optimizer = {"optimizer": result.optimizer} if isinstance(result, Training) else {}
    document = {"schema": schema, "model": result.model, "file": result.file, "input": list(result.input_shape),
                "dtype": result.dtype, **optimizer, "allocator": result.allocator, "peak": peak,
                key: _rows(result)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def timeline_csv(result: Memory | Training) -> str:
    """A line per point of the timeline: a layer's bytes of activations, a training moment's of
    each category."""
    table = Table([Column(name) for name in TIMELINES[type(result)][2]])
    table.rows = [Line(list(row.values())) for row in _rows(result)]
    return as_csv(table)


def _rows(result: Memory | Training) -> list[dict]:
    _, _, columns, values = TIMELINES[type(result)]
    return [dict(zip(columns, (index, *values(point)))) for index, point in enumerate(result.points, start=1)]


# The peak as a formula in the batch (--batch N, --fit)

def line_text(piece: Piece, symbol: str) -> str:
    """'46,796,608 + 6,422,528·N'."""
    return f"{grouped(piece.constant)} + {grouped(piece.per_sample)}·{symbol}" if piece.per_sample \
        else grouped(piece.constant)


def range_text(piece: Piece, symbol: str) -> str:
    """'1 ≤ N ≤ 12', 'N ≥ 13', 'every N'."""
    if piece.last is None:
        return f"{symbol} ≥ {grouped(piece.first)}" if piece.first > 1 else f"every {symbol}"
    return f"{symbol} = {grouped(piece.first)}" if piece.first == piece.last else \
        f"{grouped(piece.first)} ≤ {symbol} ≤ {grouped(piece.last)}"


def fit_line(fit: Fit, symbol: str, first: int = 1, last: int = MAX_DIMENSION) -> str:
    """The largest batch within the budget, and what bounds it."""
    budget = f"{human_bytes(fit.budget)} ({grouped(fit.budget)} B)"
    if not fit.batch:
        return (f"not even {symbol} = {first} fits in {budget}: its peak is {grouped(fit.over)} B while "
                f"{fit.bound.point} runs")
    if fit.bound is None and last < MAX_DIMENSION:
        return (f"every batch up to {symbol} = {grouped(last)} fits in {budget}; from {symbol} = {grouped(last + 1)} a "
                f"tensor takes more bytes than one tensor in torch can ({grouped(MAX_TENSOR_BYTES)})")
    if fit.bound is None:
        return f"every batch up to {symbol} = {grouped(MAX_DIMENSION)}, the largest archcalc takes, fits in {budget}"
    return (f"the largest batch that fits in {budget}: {symbol} = {grouped(fit.batch)} (peak {grouped(fit.peak)} B); "
            f"at {symbol} = {grouped(fit.batch + 1)}, {grouped(fit.over)} B while {fit.bound.point} runs")


def formula_table(result: MemoryFormula, fit: Fit | None = None) -> StyledLines:
    """The header, the peak's lines (each where it is the peak and the layer), and the fit."""
    symbol = result.symbol
    top, context = header(result)
    lines = [(top, "bold"), (context, ""), ("", "")]
    if not result.formula.pieces:
        lines.append(("no layer runs a torch operation: MemTracker records no peak (0 B at every batch)", "bold"))
    else:
        table = Table([Column(symbol, "<"), Column("peak in bytes", ">"), Column("while", "<")])
        for piece in result.formula.pieces:
            table.add([range_text(piece, symbol), line_text(piece, symbol), piece.point])
        count = len(result.formula.pieces)
        kept = "gradients, optimizer state, activations and temporaries" if result.optimizer else "the activations"
        summary = (f"peak({symbol}), the most of {count} line{'s' if count > 1 else ''}: parameters "
                   f"{grouped(result.parameters)} · buffers {grouped(result.buffers)} at every {symbol}, "
                   f"and {kept}")
        lines += [(summary, ""), ("", ""), *as_text(table)]
    if fit is not None:
        lines += [("", ""), (fit_line(fit, symbol, result.formula.first, result.formula.last), "bold")]
    return lines


def formula_json(result: MemoryFormula, fit: Fit | None = None) -> str:
    document = {"schema": FORMULA_SCHEMA, "model": result.model, "file": result.file,
                "input": list(result.input_shape), "dtype": result.dtype, "symbol": result.symbol,
                **({"optimizer": result.optimizer} if result.optimizer else {}), "first": result.formula.first,
                "last": result.formula.last,
                "parameters": result.parameters, "buffers": result.buffers,
                "pieces": [dict(zip(PIECE_COLUMNS, _piece_row(piece))) for piece in result.formula.pieces],
                "fit": None if fit is None else {
                    "budget": fit.budget, "batch": fit.batch or None, "peak": fit.peak,
                    "bound_by": fit.bound.point if fit.bound else None, "next_peak": fit.over}}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def formula_csv(result: MemoryFormula, fit: Fit | None = None) -> str:
    """A line per piece of the formula."""
    table = Table([Column(name) for name in PIECE_COLUMNS])
    table.rows = [Line(list(_piece_row(piece))) for piece in result.formula.pieces]
    return as_csv(table)


def _piece_row(piece: Piece) -> tuple:
    return piece.first, piece.last, piece.constant, piece.per_sample, piece.point


TRAINING_SCHEMA = "archcalc.memory.train/1"
TRAINING_COLUMNS = ("index", "phase", "name", "kind", *CATEGORIES, "total", "after")
"""The CSV columns and the keys of a point in JSON: the bytes of each of MemTracker's categories
alive at that point's busiest moment, their total, and all bytes alive once its work is done."""

TIMELINES = {
    Memory: (SCHEMA, "layers", COLUMNS,
             lambda layer: (layer.name, layer.kind, layer.output, layer.transient, layer.during, layer.after)),
    Training: (TRAINING_SCHEMA, "points", TRAINING_COLUMNS,
               lambda point: (point.phase, point.name, point.kind, *point.bytes, point.during, point.after)),
}
"""Each timeline's JSON schema, the key of its points there, their columns, and a point's values
after its index."""


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
                   Column("total", ">"), Column("after", ">")])
    for index, point in enumerate(result.points, start=1):
        sizes = dict(zip(CATEGORIES, point.bytes))
        table.add([str(index), point.phase, point.name, point.kind, grouped(sizes["gradients"]),
                   grouped(sizes["activations"]), grouped(sizes["temporaries"]), grouped(point.during),
                   grouped(point.after)],
                  "bold" if point is peak else "")
    top, context = header(result)
    return [(top, "bold"), (context, ""), ("", ""), *as_text(table), ("", ""), (training_peak_line(result), "bold")]


def training_json(result: Training) -> str:
    point = result.peak_point
    return timeline_json(result, {"total": result.peak, **result.categories, "phase": point.phase,
                                  "layer": point.name})
