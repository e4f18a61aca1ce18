"""`archcalc list --format json|csv|markdown`: the bundled models' totals (docs/formats.md)."""

from __future__ import annotations

import csv
import io
import json

from archcalc.analysis import ModelStats
from archcalc.render.numbers import grouped, shape_text
from archcalc.render.records import FIGURE_NAMES, figures_dict
from archcalc.render.text import count_column

SCHEMA = "archcalc.list/1"


def _record(stats: ModelStats) -> dict:
    return {"model": stats.model, "spec": stats.file, "input": list(stats.input_shape[1:]),
            **figures_dict(stats.totals)}


def to_json(models: list[ModelStats]) -> str:
    document = {"schema": SCHEMA, "convention": models[0].convention if models else "paper",
                "models": [_record(stats) for stats in models]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_csv(models: list[ModelStats]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "spec", "input", *FIGURE_NAMES])
    for stats in models:
        record = _record(stats)
        writer.writerow([stats.model, stats.file, shape_text(stats.input_shape[1:], "x"),
                         *(record[name] for name in FIGURE_NAMES)])
    return buffer.getvalue()


def markdown(models: list[ModelStats]) -> str:
    title, attr = count_column(models[0]) if models else ("MACs", "macs")
    lines = [f"| model | spec | input | params | {title} |", "|---|---|---|---:|---:|"]
    lines += [f"| {m.model} | {m.file} | {shape_text(m.input_shape[1:])} | {grouped(m.totals.params)} | "
              f"{grouped(getattr(m.totals, attr))} |" for m in models]
    return "\n".join(lines) + "\n"
