"""`archcalc sweep`: totals per input size (and setting of the spec's parameters) as a table,
CSV or JSON (schema archcalc.sweep/1)."""

from __future__ import annotations

import json
from typing import Any

from archcalc.errors import shown_safely
from archcalc.render.numbers import grouped
from archcalc.render.styles import FAILED
from archcalc.render.table import Column, StyledLines, Table, as_csv, as_text
from archcalc.render.text import count_column, header_lines
from archcalc.sizes import format_shape, human_bytes
from archcalc.sweep import Selection, Sweep, SweepPoint

SCHEMA = "archcalc.sweep/1"


def _unmet_text(point: SweepPoint) -> str:
    if point.error is not None:
        return f"not valid: {error_text(point.error)}"
    from archcalc.symbolic.constraints import condition_text

    return f"not valid: needs {condition_text(point.unmet)} (layer '{point.unmet.layer}')"


def error_text(error) -> str:
    """A spec error on one line: where, which layer, what (its hint left out), every character a
    terminal would act on escaped, as the error itself is printed (a kind named by a parameter
    whose text held an ESC cleared the screen from a row)."""
    return shown_safely(str(error).split("\n  hint: ")[0].replace("\n", " "))


def value_text(value: Any) -> str:
    """A parameter's value as YAML writes it: 0.75, true, basic, [3, 4, 6, 3]."""
    return value if isinstance(value, str) else json.dumps(value)


def _csv_setting(value: Any):
    """A parameter's value in CSV: a number as a number (-0.5, never text to guard), else `value_text`
    with what a terminal would act on escaped, as in the table."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else shown_safely(value_text(value))


def parameter_headings(parameters: tuple[str, ...], figures: list[str]) -> list[str]:
    """The headings of a sweep's columns of parameters: each its name, or `set.NAME` (as the CSV
    writes it) where a column of `figures` has that heading (a parameter named `params`)."""
    return [f"set.{name}" if name in figures else name for name in parameters]


def sweep_table(result: Sweep) -> StyledLines:
    stats = result.about
    title, attr = count_column(stats)
    several = len({p.batch for p in result.points}) > 1
    figures = [*(["N"] if several else []), "input", "params", title, "activations", "memory"]
    table = Table([*(Column(name, ">", fixed=True) for name in parameter_headings(result.parameters, figures)),
                   *(Column(heading, "<" if heading == "input" else ">") for heading in figures), Column("", "<")])
    for point in result.points:
        size = format_shape(point.input)
        lead = [*(shown_safely(value_text(value)) for value in point.setting), *([str(point.batch)] if several else [])]
        t = point.totals
        if t is None:
            table.add([*lead, size, "", "", "", "", _unmet_text(point)], FAILED)
        else:
            table.add([*lead, size, grouped(t.params), grouped(getattr(t, attr)), grouped(t.activations),
                       human_bytes(t.activation_bytes), ""])
    header = header_lines(stats)
    lines = [(header[0], "bold"), (header[1], "")]
    if result.formulas is not None:
        lines += [(f"{title} = {grouped(getattr(stats.totals, attr))}", ""),
                  (f"valid for {stats.formulas.valid_text()}", "")]
    if result.selection is not None:
        lines.append((selection_text(result.selection, len(result.points)), ""))
    return [*lines, ("", ""), *as_text(table)]


def selection_text(selection: Selection, kept: int) -> str:
    """'12 of 60 points kept: 8 not valid, 30 params over 25,000,000, 10 dominated (params and MACs)'."""
    dropped = [f"{count:,} {reason}" for reason, count in selection.dropped if count]
    other = {"macs": "params", "params": "MACs"}.get(selection.pareto)
    front = f" (the Pareto front: the most {other} for their {'MACs' if other == 'params' else 'params'})" \
        if selection.pareto else ""
    return f"{kept:,} of {selection.evaluated:,} points kept{front}" + (f": {', '.join(dropped)} dropped" if dropped else "")


def point_dict(point: SweepPoint, axes: tuple[str, ...], parameters: tuple[str, ...] = ()) -> dict:
    """One point as a record: the parameters set (if any), batch, its spatial sizes named by
    `axes` (Sweep.axes), valid, then the figures, the unmet constraint or the error."""
    from archcalc.render.records import figures_dict

    record = {"parameters": dict(zip(parameters, point.setting))} if parameters else {}
    record.update({"batch": point.batch, **dict(zip(axes, point.spatial)), "valid": point.totals is not None})
    if point.totals is not None:
        record.update(figures_dict(point.totals))
    elif point.error is not None:
        error = point.error
        record["error"] = {"message": error.message, "location": str(error.location) if error.location else None,
                           "layer": error.layer}
    else:
        from archcalc.symbolic.constraints import condition_text

        record["unmet"] = {"needs": condition_text(point.unmet), "layer": point.unmet.layer}
    return record


def to_json(result: Sweep) -> str:
    from archcalc.render.records import figures_dict, formulas_dict

    stats = result.about
    document = {"schema": SCHEMA, "model": stats.model, "family": stats.family, "file": stats.file,
                "channels": stats.input_shape[1], "convention": stats.convention, "dtype": stats.dtype}
    if result.formulas is not None:
        document["formulas"] = {**figures_dict(stats.totals), **formulas_dict(stats)}
    if result.parameters:
        document["parameters"] = list(result.parameters)
    if result.selection is not None:
        document["selection"] = _selection_dict(result.selection, len(result.points))
    document["points"] = [point_dict(p, result.axes, result.parameters) for p in result.points]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _selection_dict(selection: Selection, kept: int) -> dict:
    limits = {name: getattr(selection, name) for name in ("max_params", "max_macs", "max_activation_bytes")}
    return {**{name: limit for name, limit in limits.items() if limit is not None}, "pareto": selection.pareto,
            "evaluated": selection.evaluated, "kept": kept, "dropped": dict(selection.dropped)}


FIGURE_COLUMNS = ["valid", "params", "weight", "bias", "buffers", "macs", "flops", "activations",
                  "activation_bytes", "unmet", "error"]
"""The CSV's columns after batch and the spatial sizes (length; height, width; or depth, height, width);
a sweep over parameters starts with a column `set.NAME` for each. `error` is the numeric analysis's
where it refuses a point (a size past 2³¹ − 1 behind upsampling, a setting the spec refuses)."""


def to_csv(result: Sweep) -> str:
    set_columns = [f"set.{name}" for name in result.parameters]
    columns = [*set_columns, "batch", *result.axes, *FIGURE_COLUMNS]
    table = Table([Column(name) for name in columns])
    for point in result.points:
        record = point_dict(point, result.axes)
        record.update(zip(set_columns, map(_csv_setting, point.setting)))
        if "unmet" in record:
            record["unmet"] = f"{record['unmet']['needs']} (layer '{record['unmet']['layer']}')"
        if point.error is not None:
            record["error"] = error_text(point.error)
        table.add([record.get(c, "") for c in columns])
    return as_csv(table)
