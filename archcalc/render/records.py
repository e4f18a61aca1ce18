"""Machine-readable output: JSON and CSV with one documented schema (docs/formats.md)."""

from __future__ import annotations

import json
from operator import attrgetter
from typing import TYPE_CHECKING

from archcalc.conventions import CONVENTIONS
from archcalc.layers.base import AXIS_NAMES
from archcalc.render.table import Column, Line, Table, as_csv
from archcalc.stats import FIGURES, Figures, ModelStats, Row

if TYPE_CHECKING:
    from archcalc.backward import Training
    from archcalc.roofline import Roofline, Share

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
    return {name: {"size": None if axis.whole else axis.size, "jump": jump_value(axis.jump), "start": axis.start}
            for name, axis in zip(AXIS_NAMES[len(field)], field)}


def jump_value(jump) -> int | float:
    """A jump as a JSON number: a whole number of pixels, or a fraction of one (behind upsampling)
    as a decimal."""
    return jump if type(jump) is int else int(jump) if jump.denominator == 1 else float(jump)


def formulas_dict(stats: ModelStats) -> dict:
    """For a symbolic analysis: its symbols, the constraints in words and as Python conditions."""
    from archcalc.symbolic.printing import python_text

    formulas = stats.formulas
    return {"symbols": list(formulas.symbols),
            "valid_for": formulas.constraint_lines(),
            "constraints": [{"condition": python_text(c.relation), "layer": c.layer}
                            for c in formulas.conditions],
            "exact_strides_for": formulas.exact_lines()}


def share_dict(share: Share) -> dict:
    """A row's roofline: FLOPs (torch convention), bytes moved, FLOPs per byte, bound, predicted seconds
    (FLOPs null and the bound 'unknown' where some are not counted: the time is then a lower bound)."""
    return {"flops": None if share.uncounted else share.flops, "bytes": share.bytes, "intensity": share.intensity, "bound": share.bound,
            "time_s": share.time}


def roofline_dict(roof: Roofline) -> dict:
    """The device profile's figures as used, and the model's predicted latency."""
    from archcalc.roofline import FLOPS_CONVENTION

    profile = roof.profile
    return {"profile": profile.key, "device": profile.name, "profile_file": profile.file, "dtype": roof.dtype,
            "peak_flops": profile.peak(roof.dtype), "memory_bandwidth": profile.bandwidth,
            "launch_s": profile.launch, "fixed_s": {work: profile.fixed(work) for work in profile.fixed_us},
            "onednn_fixed_s": profile.onednn_fixed_us / 1e6,
            "efficiency": dict(profile.efficiency),
            "efficiency_by_size": {work: table.as_dict() for work, table in profile.efficiency_by_size.items()},
            "channel_blocks": dict(profile.channel_blocks), "cold_start": profile.cold_start,
            "padded_taps": profile.padded_taps._asdict() if profile.padded_taps else None,
            "cold_weights": profile.cold_weights, "cache_mib": profile.cache_mib,
            "pooling_ns": {operation: rate._asdict() for operation, rate in profile.pooling_ns.items()},
            "flops_convention": FLOPS_CONVENTION, "flops": None if roof.uncounted else roof.flops, "bytes": roof.bytes,
            "kernels": roof.kernels, "time_s": roof.total, "uncounted": roof.uncounted}


def to_json(stats: ModelStats, rows: list[Row], depth: int | None, roof: Roofline | None = None,
            train: Training | None = None) -> str:
    fields = stats.receptive_fields or {}
    numeric = bool(rows) and not stats.formulas and not train  # then the rows are written by `numeric_rows_json`
    shares = roof.grouped(depth) if roof else None
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
        "rows": [] if numeric else [row_record(i, row, fields, train.steps[i - 1] if train else None,
                                               shares[row.name] if shares else None)
                                    for i, row in enumerate(rows, start=1)],
        "totals": figures_dict(stats.totals),
    }
    if train:
        document["totals"].update(step_dict(train.total))
    if roof:
        document["roofline"] = roofline_dict(roof)
    if len(stats.outputs) > 1:  # the heads of a model with several, each with its shape
        shapes = stats.shapes
        document["outputs"] = [{"name": name, "shape": [value(size) for size in shapes[name]]}
                               for name in stats.outputs]
    if stats.formulas:
        document["formulas"] = formulas_dict(stats)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if not numeric:
        return text
    # the rows in a line of the document's own (a text value holds no line break)
    head, _, tail = text.partition('\n  "rows": [],\n')
    texts = numeric_rows_json(rows, fields)
    if shares is not None:
        texts = with_roofline(texts, rows, fields, shares)
    return "".join([head, '\n  "rows": [\n', ",\n".join(texts), "\n  ],\n", tail])


def row_record(index: int, row: Row, fields: dict, step=None, share: Share | None = None) -> dict:
    """A row of the JSON document with, where given, its training step and then its roofline."""
    return {**record(index, row, fields), **(step_dict(step) if step else {}),
            **({"roofline": share_dict(share)} if share else {})}


def step_dict(step) -> dict:
    """A training step's figures (`archcalc.backward.STEP_FIGURES`, in MACs and FLOPs)."""
    return {name: value(figure) for name, figure in step.figures().items()}


def record(index: int, row: Row, fields: dict) -> dict:
    """A row of the JSON document."""
    return {**row_dict(index, row), "receptive_field": field_dict(fields.get(row.name))}


def numeric_rows_json(rows: list[Row], fields: dict) -> list[str]:
    """The rows of a numeric analysis as `json.dumps(indent=2)` writes them in the document (each
    row's text, to be joined by ',\\n' between the brackets), in a fraction of its time (it runs in Python where indented): each
    row is its layout, the row's text with a hole for each value, made once for each shape rank
    with or without a receptive field, filled in one step. A number fills its hole as JSON writes
    it (`%s`); the names and kinds are encoded by the C encoder, the names in one call. The shape,
    figures and share, which repeat from layer to layer, are written once for each such triple."""
    names = json.dumps([row.name for row in rows], ensure_ascii=False, separators=("\n", ":"))[1:-1].split("\n")
    kinds = {kind: json.dumps(kind, ensure_ascii=False) for kind in {row.kind for row in rows}}
    layouts: dict[tuple[int, int], tuple[str, str]] = {}
    written: dict[tuple, str] = {}  # the text of shape, figures and share, by their values
    texts = []
    for index, (row, name) in enumerate(zip(rows, names), start=1):
        field = fields.get(row.name)
        key = (len(row.shape), len(field) if field else 0)
        if key not in layouts:
            layouts[key] = _layouts(record(index, row, fields), _values(index, row, field), len(row.shape))
        layout, figures_layout = layouts[key]
        figures = written.get((row.shape, row.figures, row.share))
        if figures is None:
            figures = written[row.shape, row.figures, row.share] = figures_layout % _figure_values(row)
        texts.append(layout % (index, name, kinds[row.kind], row.layers, figures, *_field_values(field)))
    return texts


_ROW_END = "\n    }"
"""How a row's text ends in the document (json.dumps(indent=2) of a dict in the list of rows)."""


def with_roofline(texts: list[str], rows: list[Row], fields: dict, shares: dict) -> list[str]:
    """The rows' texts (`numeric_rows_json`) each with its roofline (`share_dict`) as its last key,
    as json.dumps writes it: a layout made from the first row's and checked against json.dumps,
    filled for each row (a float as JSON writes it is its repr, None is null)."""
    first = {**record(1, rows[0], fields), "roofline": share_dict(shares[rows[0].name])}
    full = _row_text(first)
    roof_text = full[len(texts[0]) - len(_ROW_END):len(full) - len(_ROW_END)]
    layout = roof_text.replace("%", "%%")
    for value in share_dict(shares[rows[0].name]).values():
        text = json.dumps(value)
        at = layout.index(": " + text) + 2
        layout = layout[:at] + layout[at:].replace(text, "%s" if not isinstance(value, str) else '"%s"', 1)
    made = [text[:-len(_ROW_END)] + layout % _share_values(shares[row.name]) + _ROW_END
            for text, row in zip(texts, rows)]
    if made[0] != full:
        raise RuntimeError("with_roofline writes a row otherwise than json.dumps")
    return made


def _share_values(share: Share) -> tuple:
    intensity = share.intensity
    return (_NULL if share.uncounted else share.flops, share.bytes, _NULL if intensity is None else repr(intensity),
            share.bound, repr(share.time))


_FIGURES_OF = attrgetter(*FIGURES)
_HOLE = "\x00"
_NULL = "null"
_AHEAD = 4
"""The values of a row ahead of its shape: index, name, kind and layers."""


def _values(index: int, row: Row, field) -> tuple:
    """The values of `record(index, row, …)` in order: those of a row ahead of its shape, then
    `_figure_values`, then `_field_values`."""
    return (index, json.dumps(row.name, ensure_ascii=False), json.dumps(row.kind, ensure_ascii=False),
            row.layers, *_figure_values(row), *_field_values(field))


def _figure_values(row: Row) -> tuple:
    """The shape, the figures and the share."""
    return (*row.shape, *_FIGURES_OF(row.figures), row.share)


def _field_values(field) -> tuple:
    """The values of `field_dict(field)` in order, None written as null."""
    if field is None:
        return (_NULL,)
    if field.count(field[0]) == len(field):  # the same along every axis (a square's height and width)
        return _axis_values(field[0]) * len(field)
    return tuple(value for axis in field for value in _axis_values(axis))


def _axis_values(axis) -> tuple:
    start = axis.start
    return (_NULL if axis.whole else axis.size, jump_value(axis.jump), _NULL if start is None else start)


def _layouts(document_row: dict, values: tuple, rank: int) -> tuple[str, str]:
    """The text of a row in the document with '%s' for each value but one for its shape, figures
    and share together, and the text of those with '%s' for each value. `values`, the row's
    values (`_values`), must fill them with the text json.dumps writes."""
    pieces = [piece.replace("%", "%%") for piece in _row_text(_holes(document_row)).split(json.dumps(_HOLE))]
    after = _AHEAD + rank + len(FIGURES) + 1  # the first value after the share
    layout = "%s".join(pieces[:_AHEAD + 1] + pieces[after:])
    figures_layout = "%s".join(["", *pieces[_AHEAD + 1:after], ""])
    filled = (*values[:_AHEAD], figures_layout % values[_AHEAD:after], *values[after:])
    if layout % filled != _row_text(document_row):
        raise RuntimeError("numeric_rows_json writes a row otherwise than json.dumps")
    return layout, figures_layout


def _row_text(item: dict) -> str:
    """`item` as json.dumps(indent=2) writes it as a row of the document."""
    text = json.dumps({"rows": [item]}, indent=2, ensure_ascii=False)
    return text[text.index("[\n") + 2:text.rindex("\n  ]")]


def _holes(item):
    """`item` with a hole for each value (number, text or null)."""
    if isinstance(item, dict):
        return {key: _holes(value) for key, value in item.items()}
    if isinstance(item, list):
        return [_holes(value) for value in item]
    return _HOLE


CSV_COLUMNS = ["index", "name", "kind", "layers", "shape", *FIGURES, "share"]
ROOF_CSV_COLUMNS = ["roofline_flops", "bytes", "intensity", "bound", "time_s"]
"""The columns `--device-profile` adds, after the others: `share_dict`'s, named apart from `flops`."""


def to_csv(stats: ModelStats, rows: list[Row], roof: Roofline | None = None, depth: int | None = None,
           train: Training | None = None, rf: bool = False) -> str:
    """One line per row, then a 'total' line; shapes as 1x64x112x112 (`shape_field`); with `rf` each row's receptive
    field (`rf_columns`), with `train` (a step per row) the training step's columns, with `roof`
    each row's roofline, last."""
    steps = [list(step_dict(step).values()) for step in train.steps] if train else [[]] * len(rows)
    fields = rf_columns(stats, rows) if rf else {}
    table = Table([Column(name) for name in [*CSV_COLUMNS, *fields, *(step_dict(train.total) if train else []),
                                             *(ROOF_CSV_COLUMNS if roof else [])]])
    shares = roof.grouped(depth) if roof else {}
    for index, (row, step) in enumerate(zip(rows, steps), start=1):
        record = row_dict(index, row)
        record["shape"] = shape_field(row.shape)
        table.add([*(record[c] for c in CSV_COLUMNS), *(column[index - 1] for column in fields.values()), *step,
                   *(share_dict(shares[row.name]).values() if roof else ())])
    totals = figures_dict(stats.totals)
    table.footer = Line(["", "total", "total", len(stats.layers), "", *totals.values(),
                         stats.share(stats.totals) if not stats.formulas else "", *([""] * len(fields)),
                         *(step_dict(train.total).values() if train else []),
                         *([None if roof.uncounted else roof.flops, roof.bytes, roof.intensity, "", roof.total]
                           if roof else [])])
    return as_csv(table)


def shape_field(shape: tuple) -> str:
    """A shape as one CSV field: 1x64x112x112; a size that is a formula as the JSON writes it, in
    brackets where it is a sum, as every shape the tables show: 1x6x(H - 4)x(W - 4), not 1x6xH - 4xW - 4."""
    return "x".join(f"({value(size)})" if getattr(size, "is_Add", False) else str(value(size)) for size in shape)


def rf_columns(stats: ModelStats, rows: list[Row]) -> dict[str, list]:
    """The receptive field as CSV columns, `rf_AXIS_size`, `_jump` and `_start` for each axis of
    the input, as JSON gives them (a size left empty where every unit sees the whole input; a row
    without a field, such as a block's, empty)."""
    fields = stats.receptive_fields or {}
    columns: dict[str, list] = {f"rf_{axis}_{part}": [] for axis in AXIS_NAMES[len(stats.input_shape) - 2]
                                for part in ("size", "jump", "start")}
    for row in rows:
        field = field_dict(fields.get(row.name))
        for name, values in columns.items():
            _, axis, part = name.split("_")
            values.append("" if field is None or field[axis][part] is None else field[axis][part])
    return columns
