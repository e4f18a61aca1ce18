"""`archcalc validate` output: the agreement table, the verdict and the latency, in text,
markdown and JSON (schema in docs/formats.md)."""

from __future__ import annotations

import json
from collections.abc import Callable

from archcalc.errors import on_one_line
from archcalc.render.markup import code_span, in_bold, markdown_text
from archcalc.render.numbers import grouped, human, shape_text
from archcalc.render.styles import FAILED, FAILED_VERDICT, HOLDS_VERDICT, NOTE
from archcalc.render.table import Column, Line, StyledLines, Table, as_csv, as_markdown, as_text
from archcalc.validation import FIGURES, Check, LayerCheck, Validation
from archcalc.validation.results import (
    COUNTED,
    MEMORY_FIGURES,
    MIN_RANKED,
    TRAINING_FIGURES,
    Latency,
    Timing,
    figure_name,
)

SCHEMA = "archcalc.validation/1"
COLUMN_TITLES = {"shape": "output", "params": "params", "buffers": "buffers",
                 "fvcore": "fvcore MACs", "flop_counter": "FlopCounterMode FLOPs",
                 "flop_counter_backward": "backward FLOPs"}
MEMORY_CELLS = dict(zip(MEMORY_FIGURES, ("parameters", "buffers", "activations", "total")))
TRAINING_CELLS = dict(zip(TRAINING_FIGURES, ("parameters", "buffers", "gradients", "activations", "temporaries",
                                             "optimizer state", "total")))
LEGEND = "each cell: archcalc's figure and ✓ where torch measured the same, else archcalc ≠ measured (difference)"


def value_text(value) -> str:
    return heads_text(value, "×", ", ") if isinstance(value, tuple) else grouped(value)


def heads_text(shape: tuple, sep: str, between: str) -> str:
    """A shape as `shape_text` writes it; of a model of several heads, each head's, `between` them."""
    if shape and isinstance(shape[0], tuple):
        return between.join(shape_text(head, sep) for head in shape)
    return shape_text(shape, sep)


def check_cell(check: Check | None) -> str:
    if check is None:
        return "–"
    if check.ok:
        return f"{value_text(check.predicted)} ✓"
    difference = f" ({check.difference:+,})" if check.difference is not None else ""
    return f"{value_text(check.predicted)} ≠ {value_text(check.measured)}{difference}"


def figures_of(v: Validation) -> list[str]:
    return [f for f in FIGURES if f not in COUNTED or f in v.counters]


def header(v: Validation, escape: Callable[[str], str] = str) -> list[str]:
    """The model, file, device and versions, then the input and legend; `escape` writes the names."""
    versions = " · ".join(f"{name} {version}" for name, version in v.versions.items())
    return [f"{escape(v.model)} ({escape(on_one_line(v.file))}) · validated on {v.device} · {versions}",
            f"input {shape_text(v.input_shape)} · model in eval mode · {LEGEND}"]


def verdict(v: Validation, escape: Callable[[str], str] = str) -> tuple[str, str]:
    """One line, and its style: what agreed, or how many figures differ and where first;
    `escape` writes the model and layer names and the error."""
    if v.error:
        return f"✗ {escape(v.model)}: {escape(v.error)}", FAILED_VERDICT
    names = ", ".join(FIGURES[f] for f in figures_of(v))
    if v.memory:
        names += ", the inference peak"
    if v.training:
        names += ", the training peak"
    if v.ok:
        layers = "its one layer" if len(v.layers) == 1 else f"all {len(v.layers):,} layers"
        return f"✓ {escape(v.model)}: {layers} and the totals agree — {names}", HOLDS_VERDICT
    differences = v.differences
    layers = {row.name for row, _ in differences}
    first = ", ".join(f"{escape(row.name)} {figure_name(c.figure)}" for row, c in differences[:3])
    more = f", and {len(differences) - 3:,} more" if len(differences) > 3 else ""
    return (f"✗ {escape(v.model)}: {len(differences):,} difference(s) in {len(layers):,} row(s): {first}{more}",
            FAILED_VERDICT)


def layer_cells(index: int | str, row: LayerCheck, figures: list[str], kind: bool = True) -> list[str]:
    return [str(index), row.name, *([row.kind] if kind else []), *(check_cell(row.get(f)) for f in figures)]


def layers_table(v: Validation, narrow: bool = False) -> Table:
    """A line per layer and the totals as the footer; a line where torch measured otherwise in red.
    `narrow` (the report, whose layers table above names each kind): without the kind column."""
    figures = figures_of(v)
    table = Table([Column("#", ">"), Column("layer", "<"), *([] if narrow else [Column("kind", "<")]),
                   *(Column(COLUMN_TITLES[f], ">") for f in figures)], tree=1)
    for index, row in enumerate(v.layers, start=1):
        table.add(layer_cells(index, row, figures, not narrow), "" if row.ok else FAILED)
    if v.total:
        table.footer = Line(layer_cells("", v.total, figures, not narrow), "bold" if v.total.ok else FAILED)
    return table


def validation_table(v: Validation) -> StyledLines:
    """One model: header, a line per layer, the totals, the verdict, the latency."""
    top, legend = header(v)
    lines: StyledLines = [(top, "bold"), (legend, "")]
    lines += [(f"note: {note}", NOTE) for note in v.notes]
    lines.append(("", ""))
    if v.layers:
        lines += as_text(layers_table(v))
    if v.memory:
        lines += [("", ""), (memory_line(v.memory), "" if v.memory.ok else FAILED)]
    if v.training:
        lines += [(training_line(v.training), "" if v.training.ok else FAILED)]
    lines.append(verdict(v))
    if v.latency:
        lines += [("", ""), *latency_lines(v.latency)]
    return lines


def memory_line(row: LayerCheck) -> str:
    """The inference peak by category, each cell as in the table."""
    cells = " · ".join(f"{MEMORY_CELLS[c.figure]} {check_cell(c)}" for c in row.checks)
    tensors = "real CPU tensors" if row.kind.endswith("real CPU tensors") else "fake tensors"
    return f"inference peak in bytes, against torch's MemTracker on {tensors} (docs/memory.md): {cells}"


def training_line(row: LayerCheck) -> str:
    """The peak of a training step by category, each cell as in the table."""
    cells = " · ".join(f"{TRAINING_CELLS[c.figure]} {check_cell(c)}" for c in row.checks)
    return f"training step peak in bytes (SGD with momentum), against {row.kind}: {cells}"


def latency_lines(latency: Latency) -> StyledLines:
    """The model's time in a line, a line per top-level block and, per layer, a table of the layers;
    with a device profile, the roofline's prediction and the fraction of it achieved beside each."""
    lines: StyledLines = [(latency_title(latency), "bold")]
    if (ranked := rank_line(latency)) is not None:
        lines.append((ranked, ""))
    lines += as_text(timing_table("block", latency.blocks, latency.profile is not None))
    if latency.layers:
        lines += [("", ""), *as_text(timing_table("layer", latency.layers, latency.profile is not None))]
    return lines


def latency_title(latency: Latency) -> str:
    model = latency.model
    threads = f", {latency.threads} thread{'s' if latency.threads != 1 else ''}" if latency.threads else ""
    threads += ", freed memory kept" if latency.memory_kept else ""
    title = (f"latency on {latency.device} in {latency.dtype} ({latency.clock}{threads}, "
             f"median of {latency.runs} run{'s' if latency.runs != 1 else ''} after "
             f"{latency.warmup} warm-up): {model.ms:.3f} ms · {human(model.macs)} MACs")
    if model.macs_per_second is not None:
        title += f" → {human(model.macs_per_second)} MAC/s"
    if model.predicted_ms is not None:
        title += f" · roofline on {latency.profile}: {model.predicted_ms:.3f} ms"
        title += f", {percent(model.achieved)} of it reached" if model.achieved is not None else ""
    return title


def rank_line(latency: Latency) -> str | None:
    """Spearman's ρ over the layers that hold 90% of the MACs, or why there is none over fewer than
    MIN_RANKED of them; None where no ρ was asked for (no profile, no per-layer times)."""
    if latency.rank_correlation is None:
        if latency.profile is None or not latency.layers or not 0 < latency.ranked < MIN_RANKED:
            return None
        held = f"{latency.ranked} layers hold" if latency.ranked > 1 else "1 layer holds"
        return (f"no rank correlation of predicted and measured times: {held} 90% of the MACs, and over fewer "
                f"than {MIN_RANKED} Spearman's ρ says nothing of their order (over 2 it is ±1 whatever the times)")
    line = (f"Spearman rank correlation of predicted and measured times over the {latency.ranked} layers that hold "
            f"90% of the MACs: {latency.rank_correlation:.2f}")
    if latency.rank_ceiling is not None and latency.rank_ceiling < 0.995:
        line += (f" (at most {latency.rank_ceiling:.2f} for any prediction that times alike the layers that are alike:"
                 " their measured times differ)")
    return line


def percent(fraction: float | None) -> str:
    """0.4 → '40%', 0.0123 → '1.2%': two significant figures below 10%."""
    if fraction is None:
        return "–"
    return f"{fraction:.0%}" if fraction >= 0.1 else f"{100 * fraction:.2g}%"


def timing_table(what: str, timings: list[Timing], predicted: bool) -> Table:
    """A line per block or layer: median ms, fastest–slowest, MACs, MAC/s and, with a profile, the
    predicted ms and the fraction reached."""
    layers = what == "layer"
    table = Table([*([Column("#", ">")] if layers else []), Column(what, "<"), *([Column("kind", "<")] if layers else []),
                   Column("ms", ">"), Column("min–max ms", ">"), Column("MACs", ">"), Column("MAC/s", ">"),
                   *([Column("roofline ms", ">"), Column("reached", ">")] if predicted else [])])
    for index, t in enumerate(timings, start=1):
        cells = [*([str(index)] if layers else []), t.name, *([t.kind] if layers else []), f"{t.ms:.3f}",
                 f"{t.min_ms:.3f}–{t.max_ms:.3f}", grouped(t.macs), "–" if t.macs_per_second is None else human(t.macs_per_second)]
        if predicted:
            cells += [f"{t.predicted_ms:.3f}", percent(t.achieved)]
        table.add(cells)
    return table


def summary_table(validations: list[Validation]) -> StyledLines:
    """Several models: a line each, then every difference, then one verdict."""
    table = Table([Column("model", "<"), Column("device", "<"), Column("layers", ">"),
                   *(Column(heading, ">", optional=True) for heading in
                     ("params", "fvcore MACs", "FlopCounterMode FLOPs", "inference peak")),
                   Column("ms", ">"), Column("verdict", "<")])
    for v in validations:
        total = v.total
        table.add([v.model, v.device, str(len(v.layers)),
                   *(check_cell(total.get(f) if total else None) for f in ("params", "fvcore", "flop_counter")),
                   check_cell(v.memory.get("peak_bytes") if v.memory else None),
                   f"{v.latency.model.ms:.2f}" if v.latency else "–",
                   "✓ agrees" if v.ok else "✗ " + (v.error or f"{len(v.differences)} difference(s)")],
                  "" if v.ok else FAILED)
    lines = as_text(table)
    for v in validations:
        if not v.ok:
            lines += [("", ""), verdict(v), *_difference_lines(v)]
    failing = sum(not v.ok for v in validations)
    lines += [("", ""), (f"✓ all {len(validations)} models agree" if not failing
                         else f"✗ {failing} of {len(validations)} models differ",
                         FAILED_VERDICT if failing else HOLDS_VERDICT)]
    return lines


def _difference_lines(v: Validation) -> StyledLines:
    return [(f"  {row.name}: {figure_name(c.figure)} {check_cell(c)}", FAILED) for row, c in v.differences]


def markdown(validations: list[Validation], folded: bool = False) -> str:
    """GitHub-flavoured markdown: a table per model (or one summary line per model), verdicts.
    `folded` (the report): each verdict first, the table of layers in a <details> block."""
    out: list[str] = []
    for v in validations:
        top, legend = header(v, markdown_text)
        found = [verdict(v, markdown_text)[0], "",
                 *(f"- {code_span(row.name, table=False)}: {figure_name(c.figure)} {check_cell(c)}"
                   for row, c in v.differences), *([""] if v.differences else [])]  # a line after would join the list
        if folded:
            out += found
        out += [in_bold(top), "", legend, "", *(line for n in v.notes for line in (f"> note: {markdown_text(n)}", ""))]
        if v.layers and (folded or len(validations) == 1):  # the report: every model's; --all: none
            table = as_markdown(layers_table(v, narrow=folded))
            out += ["<details>", f"<summary>{'Its one layer' if len(v.layers) == 1 else f'Each of the {len(v.layers):,} layers'}</summary>", "", *table, "", "</details>", ""] \
                if folded else [*table, ""]
        if v.memory:
            out += [markdown_text(memory_line(v.memory)), ""]
        if v.training:
            out += [markdown_text(training_line(v.training)), ""]
        if not folded:
            out += found
        if v.latency:
            out += [markdown_text(latency_title(v.latency)), ""]  # the profile's name is user text
            if (ranked := rank_line(v.latency)) is not None:
                out += [markdown_text(ranked), ""]
            if len(validations) == 1:  # as the text: the blocks' times, then, per layer, the layers'
                predicted = v.latency.profile is not None
                out += [*as_markdown(timing_table("block", v.latency.blocks, predicted)), ""]
                if v.latency.layers:
                    out += [*as_markdown(timing_table("layer", v.latency.layers, predicted)), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def to_json(validations: list[Validation]) -> str:
    document = {"schema": SCHEMA, "ok": all(v.ok for v in validations),
                "models": [_model_dict(v) for v in validations]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _model_dict(v: Validation) -> dict:
    return {"model": v.model, "file": v.file, "device": v.device, "input": list(v.input_shape),
            "counters": list(v.counters), "versions": v.versions, "ok": v.ok, "error": v.error,
            "notes": list(v.notes), "layers": [_row_dict(row) for row in v.layers],
            "total": _row_dict(v.total) if v.total else None,
            "memory": _row_dict(v.memory) if v.memory else None,
            "training": _row_dict(v.training) if v.training else None,
            "latency": _latency_dict(v.latency) if v.latency else None}


def _row_dict(row: LayerCheck) -> dict:
    return {"name": row.name, "kind": row.kind, "ok": row.ok,
            "checks": {c.figure: {"archcalc": _plain(c.predicted), "measured": _plain(c.measured), "ok": c.ok}
                       for c in row.checks}}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _timing_dict(t: Timing) -> dict:
    return {"name": t.name, **({"kind": t.kind} if t.kind else {}), "ms": t.ms, "min_ms": t.min_ms,
            "max_ms": t.max_ms, "macs": t.macs, "macs_per_second": t.macs_per_second,
            "predicted_ms": t.predicted_ms, "achieved": t.achieved}


def _latency_dict(latency: Latency) -> dict:
    return {"device": latency.device, "dtype": latency.dtype, "clock": latency.clock, "threads": latency.threads,
            "memory_kept": latency.memory_kept, "runs": latency.runs,
            "warmup": latency.warmup, "mode": latency.mode, "profile": latency.profile,
            "rank_correlation": latency.rank_correlation, "ranked": latency.ranked,
            "rank_ceiling": latency.rank_ceiling,
            "model": _timing_dict(latency.model), "blocks": [_timing_dict(t) for t in latency.blocks],
            "layers": [_timing_dict(t) for t in latency.layers]}


CSV_TIMES = ("ms", "min_ms", "max_ms", "predicted_ms", "achieved")
CSV_PEAKS = tuple(dict.fromkeys([*MEMORY_FIGURES, *TRAINING_FIGURES]))
"""The peaks' figures: their columns follow the times, filled on the lines of the peaks."""


def to_csv(validations: list[Validation]) -> str:
    """A line per layer of each model, then its totals and its peaks, as the table and JSON have
    them: each figure as archcalc and torch give it, the time (a layer's per layer, the model's
    on the totals' line) and the dtype it was timed in, with the roofline's prediction where a
    device profile was given; on the totals' line, why torch could not run the model (`error`)."""
    figures = (*FIGURES, *CSV_PEAKS)
    table = Table([Column(name) for name in ("model", "layer", "kind", "ok", *(
        f"{figure}_{side}" for figure in FIGURES for side in ("archcalc", "measured")), *CSV_TIMES, "dtype", *(
        f"{figure}_{side}" for figure in CSV_PEAKS for side in ("archcalc", "measured")), "error")])
    for v in validations:
        times = {t.name: t for t in v.latency.layers} if v.latency else {}
        lines = [(row.name, row.kind, row, times.get(row.name)) for row in v.layers]
        lines.append(("total", "total", v.total, v.latency.model if v.latency else None))
        lines += [(row.name, row.kind, row, None) for row in (v.memory, v.training) if row]
        for name, kind, row, t in lines:
            cells = [_csv_value(getattr(check, side)) if row and (check := row.get(f)) else None
                     for f in figures for side in ("predicted", "measured")]
            error = v.error if row is v.total else None
            table.rows.append(Line([v.model, name, kind, bool(row and row.ok and not error), *cells[:2 * len(FIGURES)],
                                    *((getattr(t, c) for c in CSV_TIMES) if t else [None] * len(CSV_TIMES)),
                                    v.latency.dtype if t else None, *cells[2 * len(FIGURES):], error]))
    return as_csv(table)


def _csv_value(value):
    return heads_text(value, "x", ";") if isinstance(value, tuple) else value
