"""`archcalc list --format json|csv|markdown`: the bundled models' totals (docs/formats.md)."""

from __future__ import annotations

import json

from archcalc.render.numbers import shape_text
from archcalc.render.records import figures_dict
from archcalc.render.table import Column, Table, as_csv, as_markdown
from archcalc.render.text import build_models_table
from archcalc.stats import FIGURES, ModelStats

SCHEMA = "archcalc.list/1"


def _record(stats: ModelStats) -> dict:
    return {"model": stats.model, "spec": stats.file, "input": list(stats.input_shape[1:]),
            **figures_dict(stats.totals)}


def to_json(models: list[ModelStats]) -> str:
    document = {"schema": SCHEMA, "convention": models[0].convention if models else "paper",
                "models": [_record(stats) for stats in models]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_csv(models: list[ModelStats]) -> str:
    """A line per model: its name, spec, input and every figure (shapes as 3x224x224)."""
    table = Table([Column(name) for name in ("model", "spec", "input", *FIGURES)])
    for stats in models:
        record = _record(stats)
        table.add([stats.model, stats.file, shape_text(stats.input_shape[1:], "x"), *(record[name] for name in FIGURES)])
    return as_csv(table)


def markdown(models: list[ModelStats]) -> str:
    """`archcalc list`'s table in GitHub markdown."""
    return "\n".join(as_markdown(build_models_table(models))) + "\n"
