"""Machine-readable output: JSON and CSV with one documented schema (docs/formats.md)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields

from archcalc.analysis import Figures, ModelStats, Row
from archcalc.conventions import CONVENTIONS
from archcalc.render.numbers import shape_text

SCHEMA = "archcalc.table/1"
FIGURE_NAMES = ["params", *(f.name for f in fields(Figures))]


def figures_dict(figures: Figures) -> dict[str, int]:
    return {name: getattr(figures, name) for name in FIGURE_NAMES}


def row_dict(index: int, row: Row) -> dict:
    return {"index": index, "name": row.name, "kind": row.kind, "layers": row.layers,
            "shape": list(row.shape), **figures_dict(row.figures), "share": row.share}


def to_json(stats: ModelStats, rows: list[Row], depth: int | None) -> str:
    document = {
        "schema": SCHEMA,
        "model": stats.model,
        "family": stats.family,
        "file": stats.file,
        "source": stats.source,
        "input": list(stats.input_shape),
        "convention": {"name": stats.convention, "summary": CONVENTIONS[stats.convention].summary},
        "dtype": stats.dtype,
        "depth": depth,
        "rows": [row_dict(i, row) for i, row in enumerate(rows, start=1)],
        "totals": figures_dict(stats.totals),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ["index", "name", "kind", "layers", "shape", *FIGURE_NAMES, "share"]


def to_csv(stats: ModelStats, rows: list[Row]) -> str:
    """One line per row, then a 'total' line; shapes as 1x64x112x112."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for index, row in enumerate(rows, start=1):
        record = row_dict(index, row)
        record["shape"] = shape_text(row.shape, "x")
        writer.writerow([record[c] for c in CSV_COLUMNS])
    totals = figures_dict(stats.totals)
    writer.writerow(["", "total", "total", len(stats.layers), "", *totals.values(), 1.0])
    return buffer.getvalue()
