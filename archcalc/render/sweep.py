"""`archcalc sweep`: totals per input size as a table, CSV or JSON (schema archcalc.sweep/1)."""

from __future__ import annotations

import json

from archcalc.render.numbers import grouped
from archcalc.render.table import Column, StyledLines, Table, as_csv, as_text
from archcalc.render.text import count_column, header_lines
from archcalc.sizes import format_shape, human_bytes
from archcalc.symbolic.sweep import Sweep, SweepPoint

SCHEMA = "archcalc.sweep/1"


def _unmet_text(point: SweepPoint) -> str:
    from archcalc.symbolic.model import condition_text

    return f"not valid: needs {condition_text(point.unmet)} (layer '{point.unmet.layer}')"


def sweep_table(result: Sweep) -> StyledLines:
    stats = result.formulas
    title, attr = count_column(stats)
    several = len({p.batch for p in result.points}) > 1
    table = Table([*([Column("N", ">")] if several else []), Column("input", "<"), Column("params", ">"),
                   Column(title, ">"), Column("activations", ">"), Column("memory", ">"), Column("", "<")])
    for point in result.points:
        size = format_shape(point.input)
        batch = [str(point.batch)] if several else []
        t = point.totals
        table.add([*batch, size, "", "", "", "", _unmet_text(point)] if t is None else
                  [*batch, size, grouped(t.params), grouped(getattr(t, attr)), grouped(t.activations),
                   human_bytes(t.activation_bytes), ""])
    header = header_lines(stats)
    formulas = [f"{title} = {grouped(getattr(stats.totals, attr))}",
                f"valid for {'; '.join(stats.formulas.constraint_lines()) or 'every size'}"]
    return [(header[0], "bold"), (header[1], ""),
            *((line, "") for line in formulas), ("", ""), *as_text(table)]


def point_dict(point: SweepPoint, axes: tuple[str, ...]) -> dict:
    """One point as a record: batch, its spatial sizes named by `axes` (Sweep.axes), valid,
    then the figures or the unmet constraint."""
    from archcalc.render.records import figures_dict
    from archcalc.symbolic.model import condition_text

    record = {"batch": point.batch, **dict(zip(axes, point.spatial)), "valid": point.unmet is None}
    if point.totals is not None:
        record.update(figures_dict(point.totals))
    else:
        record["unmet"] = {"needs": condition_text(point.unmet), "layer": point.unmet.layer}
    return record


def to_json(result: Sweep) -> str:
    from archcalc.render.records import figures_dict, formulas_dict

    stats = result.formulas
    document = {"schema": SCHEMA, "model": stats.model, "family": stats.family, "file": stats.file,
                "channels": stats.input_shape[1], "convention": stats.convention, "dtype": stats.dtype,
                "formulas": {**figures_dict(stats.totals), **formulas_dict(stats)},
                "points": [point_dict(p, result.axes) for p in result.points]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


FIGURE_COLUMNS = ["valid", "params", "weight", "bias", "buffers", "macs", "flops", "activations",
                  "activation_bytes", "unmet"]
"""The CSV's columns after batch and the spatial sizes (length; height, width; or depth, height, width)."""


def to_csv(result: Sweep) -> str:
    columns = ["batch", *result.axes, *FIGURE_COLUMNS]
    table = Table([Column(name) for name in columns])
    for point in result.points:
        record = point_dict(point, result.axes)
        if "unmet" in record:
            record["unmet"] = f"{record['unmet']['needs']} (layer '{record['unmet']['layer']}')"
        table.add([record.get(c, "") for c in columns])
    return as_csv(table)
