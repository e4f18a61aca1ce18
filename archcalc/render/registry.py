"""Which renderer prints which result in which format: data, imported only when used.

RENDERERS maps a result kind to its formats, in the order `--format` lists them (the first is
the default); each format names its renderer as "module:function" and the arguments it takes,
by name, from what the command hands `render`. A command's `--format` choices come from here,
so a new format is one line here and one function in archcalc.render.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable

from archcalc.errors import UNDECODED, bytes_escaped

Renderer = tuple[str, tuple[str, ...]]

RENDERERS: dict[str, dict[str, Renderer]] = {
    "table": {  # archcalc table: a ModelStats and its rows (with --train its Training, with --device-profile its Roofline)
        "table": ("archcalc.render.text:layer_table", ("stats", "rows", "rf", "roof", "depth", "train")),
        "json": ("archcalc.render.records:to_json", ("stats", "rows", "depth", "roof", "train")),
        "csv": ("archcalc.render.records:to_csv", ("stats", "rows", "roof", "depth", "train", "rf")),
        "markdown": ("archcalc.render.text:markdown", ("stats", "rows", "rf", "roof", "depth", "train")),
        "latex": ("archcalc.render.text:latex", ("stats", "rows", "rf", "roof", "depth", "train")),
    },
    "models": {  # archcalc list: every bundled model's totals
        "table": ("archcalc.render.text:models_table", ("models",)),
        "json": ("archcalc.render.model_list:to_json", ("models",)),
        "csv": ("archcalc.render.model_list:to_csv", ("models",)),
        "markdown": ("archcalc.render.model_list:markdown", ("models",)),
    },
    "zoo": {
        "markdown": ("archcalc.render.zoo:zoo_page", ("models",)),
    },
    "calculation": {  # archcalc conv, archcalc pool
        "text": ("archcalc.render.text:calculation_lines", ("result",)),
    },
    "validation": {  # archcalc validate SPEC
        "table": ("archcalc.render.validation:validation_table", ("result",)),
        "json": ("archcalc.render.validation:to_json", ("results",)),
        "csv": ("archcalc.render.validation:to_csv", ("results",)),
        "markdown": ("archcalc.render.validation:markdown", ("results",)),
    },
    "validations": {  # archcalc validate --all
        "table": ("archcalc.render.validation:summary_table", ("results",)),
        "json": ("archcalc.render.validation:to_json", ("results",)),
        "csv": ("archcalc.render.validation:to_csv", ("results",)),
        "markdown": ("archcalc.render.validation:markdown", ("results",)),
    },
    "report": {
        "markdown": ("archcalc.render.report:report", ("models", "validations", "stamp", "sweeps", "memories", "roofs")),
        "html": ("archcalc.render.report:html", ("models", "validations", "stamp", "sweeps", "memories", "roofs")),
    },
    "sweep": {
        "table": ("archcalc.render.sweep:sweep_table", ("result",)),
        "csv": ("archcalc.render.sweep:to_csv", ("result",)),
        "json": ("archcalc.render.sweep:to_json", ("result",)),
    },
    "memory": {  # archcalc memory: the inference peak and the timeline
        "table": ("archcalc.render.memory:memory_table", ("result",)),
        "json": ("archcalc.render.memory:to_json", ("result",)),
        "csv": ("archcalc.render.memory:timeline_csv", ("result",)),
    },
    "memory_formula": {  # archcalc memory --batch N, --fit: the peak as a formula in the batch
        "table": ("archcalc.render.memory:formula_table", ("result", "fit")),
        "json": ("archcalc.render.memory:formula_json", ("result", "fit")),
        "csv": ("archcalc.render.memory:formula_csv", ("result", "fit")),
    },
    "training": {  # archcalc memory --train: the peak of a training step and its timeline
        "table": ("archcalc.render.memory:training_table", ("result",)),
        "json": ("archcalc.render.memory:training_json", ("result",)),
        "csv": ("archcalc.render.memory:timeline_csv", ("result",)),
    },
    "check": {
        "table": ("archcalc.render.check:check_table", ("result",)),
        "github": ("archcalc.render.check:github", ("result",)),
        "json": ("archcalc.render.check:to_json", ("result",)),
    },
}


def formats(kind: str) -> list[str]:
    """The format names of a result kind, the default first."""
    return list(RENDERERS[kind])


def renderer(kind: str, format: str) -> Callable:
    """The renderer function of `kind` in `format`, imported now."""
    module, _, name = RENDERERS[kind][format][0].partition(":")
    return getattr(import_module(module), name)


def render(kind: str, format: str, **context: Any):
    """Render a result: text, or styled lines (text, style) for a terminal. `context` holds
    every argument a format of `kind` may take; each renderer gets the ones it names. The result
    is UTF-8 whatever the names in it (`utf8`)."""
    _, arguments = RENDERERS[kind][format]
    made = renderer(kind, format)(*(context[name] for name in arguments))
    if isinstance(made, str):
        return utf8(made, format)
    return [(utf8(text, format), style) for text, style in made]


def utf8(text: str, format: str) -> str:
    """`text` with each byte of a file's name that is no UTF-8 written as an escape: in JSON its
    own (`\\udcff`, which reads back as the name Python had), elsewhere `\\xff`. Written as the
    byte, it made the output no UTF-8: JSON no JSON, an HTML page that says it is UTF-8 not so."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        if format == "json":
            return UNDECODED.sub(lambda found: f"\\u{ord(found[0]):04x}", text)
        return bytes_escaped(text)
