"""Machine-readable output: JSON and CSV with one documented schema (docs/formats.md)."""

from __future__ import annotations

import json

from archcalc.conventions import CONVENTIONS
from archcalc.render.table import Column, Line, Table, as_csv
from archcalc.stats import FIGURES, Figures, ModelStats, Row

SCHEMA = "archcalc.table/1"


def value(figure) -> int | str:
    """A number, or a formula as Python source with whole-number arithmetic:
    `eval("9408*((H + 1)//2)*((W + 1)//2)", {"H": 224, "W": 224})` gives the figure."""
    if isinstance(figure, int):
        return figure
    from archcalc.symbolic.printing import python_text

    return python_text(figure)


def figures_dict(figures: Figures) -> dict[str, int | str]:
    return {name: value(getattr(figures, name)) for name in FIGURES}


def row_dict(index: int, row: Row) -> dict:
    return {"index": index, "name": row.name, "kind": row.kind, "layers": row.layers,
            "shape": [value(size) for size in row.shape], **figures_dict(row.figures), "share": row.share}


def field_dict(field) -> dict | None:
    """A receptive field per axis: size (null when every unit sees the whole input), jump, start."""
    if field is None:
        return None
    return {name: {"size": None if axis.whole else axis.size, "jump": axis.jump, "start": axis.start}
            for name, axis in zip(("height", "width"), field.axes)}


def formulas_dict(stats: ModelStats) -> dict:
    """For a symbolic analysis: its symbols, the constraints in words and as Python conditions."""
    from archcalc.symbolic.printing import python_text

    formulas = stats.formulas
    return {"symbols": list(formulas.symbols),
            "valid_for": formulas.constraint_lines(),
            "constraints": [{"condition": python_text(c.relation), "layer": c.layer}
                            for c in formulas.conditions],
            "exact_strides_for": formulas.exact_lines()}


def to_json(stats: ModelStats, rows: list[Row], depth: int | None) -> str:
    fields = stats.receptive_fields or {}
    document = {
        "schema": SCHEMA,
        "model": stats.model,
        "family": stats.family,
        "file": stats.file,
        "source": stats.source,
        "input": [value(size) for size in stats.input_shape],
        "convention": {"name": stats.convention, "summary": CONVENTIONS[stats.convention].summary,
                       "uncounted": stats.uncounted()},
        "dtype": stats.dtype,
        "depth": depth,
        "rows": [{**row_dict(i, row), "receptive_field": field_dict(fields.get(row.name))}
                 for i, row in enumerate(rows, start=1)],
        "totals": figures_dict(stats.totals),
    }
    if stats.formulas:
        document["formulas"] = formulas_dict(stats)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ["index", "name", "kind", "layers", "shape", *FIGURES, "share"]


def to_csv(stats: ModelStats, rows: list[Row]) -> str:
    """One line per row, then a 'total' line; shapes as 1x64x112x112."""
    table = Table([Column(name) for name in CSV_COLUMNS])
    for index, row in enumerate(rows, start=1):
        record = row_dict(index, row)
        record["shape"] = "x".join(str(size) for size in record["shape"])
        table.add([record[c] for c in CSV_COLUMNS])
    totals = figures_dict(stats.totals)
    table.footer = Line(["", "total", "total", len(stats.layers), "", *totals.values(),
                         1.0 if not stats.formulas else ""])
    return as_csv(table)
