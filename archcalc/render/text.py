"""Human-readable output: the layer table as terminal text and as markdown, from one `Table`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from archcalc.conventions import CONVENTIONS
from archcalc.render.markup import Markdown, markdown_text
from archcalc.render.numbers import (
    each_once,
    field_texts,
    grouped,
    human,
    intensity_text,
    percent,
    seconds_text,
    shape_text,
)
from archcalc.render.table import Column, Line, StyledLines, Table, as_markdown, as_text
from archcalc.sizes import human_bytes
from archcalc.stats import ModelStats, Row

if TYPE_CHECKING:
    from archcalc.roofline import Roofline


def header_lines(stats: ModelStats, escape: Callable[[str], str] = str) -> list[str]:
    """Model, input, convention and dtype: the context every figure needs; and what the
    convention's tool skips in this model, where it skips anything. `escape` writes the model
    and file names (`markdown_text` for markdown)."""
    skipped = stats.uncounted()
    return [f"{escape(stats.model)} ({escape(stats.file)})",
            f"input {shape_text(stats.input_shape)} · dtype {stats.dtype} · convention {stats.convention}: "
            f"{CONVENTIONS[stats.convention].summary}"
            + (f" · not counted by {stats.convention}: {', '.join(skipped)}" if skipped else "")]


def count_column(stats: ModelStats) -> tuple[str, str]:
    """The cost column's title and figure: the convention's headline (FLOPs for FlopCounterMode)."""
    convention = CONVENTIONS[stats.convention]
    return convention.title, convention.headline


def summary_line(stats: ModelStats) -> str:
    t = stats.totals
    title, attr = count_column(stats)
    if stats.formulas:
        return "\n".join([*formula_lines(stats), *outputs_line(stats)])
    totals = (f"{grouped(t.params)} parameters ({grouped(t.weight)} weights, {grouped(t.bias)} biases; "
              f"{grouped(t.buffers)} buffer values) · {human(getattr(t, attr))} {title} · "
              f"activations {human(t.activations)} elements = {human_bytes(t.activation_bytes)}")
    return "\n".join([totals, *outputs_line(stats)])


def outputs_line(stats: ModelStats) -> list[str]:
    """For a model with several heads, each with its shape (the totals count them all)."""
    if len(stats.outputs) == 1:
        return []
    shapes = stats.shapes
    return ["outputs: " + " · ".join(f"{name} {shape_text(shapes[name])}" for name in stats.outputs)]


def formula_lines(stats: ModelStats) -> list[str]:
    """The totals of a symbolic analysis, and where its formulas hold."""
    t, formulas = stats.totals, stats.formulas
    title, attr = count_column(stats)
    symbols = ", ".join(f"{name} ≥ 1" for name in formulas.symbols)
    valid = formulas.constraint_lines() or [f"every {symbols}"]
    exact = formulas.exact_lines()
    return [f"parameters = {grouped(t.params)}",
            f"{title} = {grouped(getattr(t, attr))}",
            f"activations = {grouped(t.activations)} elements = {grouped(t.activation_bytes)} bytes",
            f"valid for {'; '.join(valid)}",
            *([f"every stride divides its input exactly for {'; '.join(exact)}"] if exact else [])]


RF_COLUMNS = [Column("RF", ">"), Column("jump", ">"), Column("start", ">")]
RF_NOTE = ("RF: receptive field in input pixels (padding included; 'all': every unit sees the whole "
           "input through a broadcast path) · jump: input pixels between neighbouring units · "
           "start: centre of the first unit's field")


ROOF_COLUMNS = [Column("FLOP/B", ">"), Column("bound", "<"), Column("time", ">")]
ROOF_NOTE = ("FLOP/B: FLOPs (as FlopCounterMode counts them) per byte of inputs, weights and output moved · "
             "bound: what bounds the layer on the device, compute or memory ('none': it runs no kernel) · "
             "time: max(FLOPs / peak, bytes / bandwidth), over the efficiency of its kind of work, plus the "
             "launch cost (docs/latency.md)")


def build_layer_table(stats: ModelStats, rows: list[Row], rf: bool = False,
                      bold: Callable[[str], str] = str, roof: Roofline | None = None,
                      depth: int | None = None) -> Table:
    """`archcalc table`'s table: a line per row and, for numbers, the totals (`bold` marks them);
    with `roof` (the rows' `depth`) each row's intensity, bound and predicted time."""
    title, attr = count_column(stats)
    share = [] if stats.formulas else [Column("share", ">")]
    table = Table([Column("#", ">"), Column("layer", "<"), Column("kind", "<"), Column("output", "<"),
                   Column("params", ">"), Column(title, ">"), *share, *(RF_COLUMNS if rf else []),
                   *(ROOF_COLUMNS if roof else [])], compact=True)
    fields = (stats.receptive_fields or {}) if rf else None  # worked out only when shown
    columns = layer_columns(rows, attr, share=not stats.formulas, fields=fields)
    if roof:
        columns += roof_columns(rows, roof.grouped(depth))
    table.extend(zip(*columns))
    totals = stats.totals
    if not stats.formulas:  # a total formula is printed in full below the table, not squeezed in
        ahead = ["", bold("total"), "", "", bold(grouped(totals.params)),
                 bold(grouped(getattr(totals, attr))), "100.0%", *(["", "", ""] if rf else [])]
        if roof:
            ahead += [intensity_text(roof.flops / roof.bytes if roof.bytes else None), "", bold(seconds_text(roof.total))]
        table.footer = Line(ahead, "bold")
    return table


def roof_columns(rows: list[Row], shares: dict) -> list[Iterable[str]]:
    """The roofline's cells of each row, a column at a time: intensity, bound, predicted time."""
    found = [shares[row.name] for row in rows]
    return [each_once(intensity_text, [share.intensity for share in found]), [share.bound for share in found],
            each_once(seconds_text, [share.time for share in found])]


def roof_line(roof: Roofline) -> str:
    """The model's predicted latency on the profile, and what it is made of."""
    profile = roof.profile
    bound = [layer.bound for layer in roof.layers]
    return (f"predicted on {profile.name} ({profile.key}) in {roof.dtype}: {seconds_text(roof.total)} · "
            f"{roof.kernels} kernels at {seconds_text(profile.launch)} launch each · {human(roof.flops)} FLOPs, "
            f"{human_bytes(roof.bytes)} moved · {bound.count('compute')} compute-bound, "
            f"{bound.count('memory')} memory-bound")


def layer_columns(rows: list[Row], attr: str, share: bool = False, fields: dict | None = None
                  ) -> list[Iterable[str]]:
    """A layer table's cells a column at a time (each made in one pass): number, name, kind,
    shape, parameters, the cost `attr`, with `share` the share, with `fields` (receptive fields
    by name) the field's size, jump and start."""
    columns = [map(str, range(1, len(rows) + 1)),
               [row.name if row.layers == 1 else f"{row.name} ({row.layers} layers)" for row in rows],
               [row.kind for row in rows],
               each_once(shape_text, [row.shape for row in rows]),
               each_once(grouped, [row.figures.params for row in rows]),
               each_once(grouped, [getattr(row.figures, attr) for row in rows])]
    if share:
        columns.append(each_once(percent, [row.share for row in rows]))
    if fields is not None:
        texts = [field_texts(fields.get(row.name)) for row in rows]
        columns += [[cells[column] for cells in texts] for column in range(3)]
    return columns


def layer_table(stats: ModelStats, rows: list[Row], rf: bool = False, roof: Roofline | None = None,
                depth: int | None = None) -> StyledLines:
    """`archcalc table`: header, one line per row, totals, summary; with `rf` the receptive fields,
    with `roof` the roofline on a device profile."""
    header = header_lines(stats)
    return [(header[0], "bold"), (header[1], ""), ("", ""),
            *as_text(build_layer_table(stats, rows, rf, roof=roof, depth=depth)),
            *((line, "") for line in summary_line(stats).split("\n")),
            *([(roof_line(roof), "")] if roof else []),
            *([(RF_NOTE, "dim")] if rf else []), *([(ROOF_NOTE, "dim")] if roof else [])]


def markdown(stats: ModelStats, rows: list[Row], rf: bool = False, roof: Roofline | None = None,
             depth: int | None = None) -> str:
    table = build_layer_table(stats, rows, rf, bold=lambda text: Markdown(f"**{text}**"), roof=roof, depth=depth)
    header = header_lines(stats, markdown_text)
    lines = [f"**{header[0]}**", "", header[1], "", *as_markdown(table)]
    if not stats.formulas:
        lines += ["", summary_line(stats), "", *([markdown_text(roof_line(roof)), ""] if roof else []),
                  *([RF_NOTE, ""] if rf else []), *([ROOF_NOTE, ""] if roof else [])]
    else:
        lines += ["", *(f"- {line}" for line in formula_lines(stats)), ""]
    return "\n".join(lines)


def build_models_table(models: list[ModelStats]) -> Table:
    """`archcalc list`'s table: a line per bundled model with its totals."""
    title, attr = count_column(models[0]) if models else ("MACs", "macs")
    table = Table([Column("model", "<"), Column("spec", "<"), Column("input", "<"), Column("params", ">"),
                   Column(title, ">"), Column(f"G{title}", ">")])
    for m in models:
        table.add([m.model, m.file, shape_text(m.input_shape[1:]), grouped(m.totals.params),
                   grouped(getattr(m.totals, attr)), f"{getattr(m.totals, attr) / 1e9:.3f}"])
    return table


def models_table(models: list[ModelStats]) -> StyledLines:
    """`archcalc list`: one line per bundled model."""
    convention = models[0].convention if models else "paper"
    return [(f"bundled models · convention {convention}", "bold"), ("", ""), *as_text(build_models_table(models))]


def calculation_lines(result) -> list[str]:
    """`archcalc conv` / `archcalc pool`: the working, then the result."""
    lines = [f"{result.kind} on input {shape_text(result.input_shape[1:])} (C×H×W)", ""]
    axes = list(result.working.items())
    if axes[0][1] == axes[1][1]:
        axes = [("height and width", axes[0][1])]
    for axis, working in axes:
        lines.append(f"{axis}:")
        lines += [f"  {line}" for line in working]
        lines.append("")
    lines.append(f"output: {shape_text(result.output_shape[1:])} (C×H×W)")
    if result.kind == "conv2d":
        p = result.params
        lines.append(f"parameters: {grouped(p.trainable)} ({grouped(p.weight)} weights + {grouped(p.bias)} biases)")
        lines.append(f"MACs: {grouped(result.macs)}")
    return lines
