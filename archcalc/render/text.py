"""Human-readable output: the layer table as terminal text and as markdown, from one `Table`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from math import prod
from typing import TYPE_CHECKING

from archcalc.conventions import CONVENTIONS
from archcalc.errors import on_one_line, shown_safely
from archcalc.render import terminal
from archcalc.render.markup import Latex, Markdown, in_bold, latex_text, markdown_text, one_line
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
from archcalc.render.styles import RESULT, cost_styles
from archcalc.render.table import Column, Line, StyledLines, Table, as_latex, as_markdown, as_text
from archcalc.sizes import human_bytes
from archcalc.stats import ModelStats, Row

if TYPE_CHECKING:
    from archcalc.backward import Training
    from archcalc.roofline import Roofline


def header_lines(stats: ModelStats, escape: Callable[[str], str] = shown_safely) -> list[str]:
    """Model, input, convention and dtype: the context every figure needs; and what the
    convention's tool skips in this model, where it skips anything. `escape` writes the model
    and file names and what is skipped (an opaque layer's operation, as imported): by default with
    what is not printable escaped (a file's name may hold an ESC); `markdown_text` for markdown."""
    skipped = stats.uncounted()
    return [f"{escape(stats.model)} ({escape(on_one_line(stats.file))})",
            f"input {shape_text(stats.input_shape)} · dtype {stats.dtype} · convention {stats.convention}: "
            f"{CONVENTIONS[stats.convention].summary}"
            + (f" · not counted by {stats.convention}: {escape(', '.join(skipped))}" if skipped else "")]


PER_MAC = {"macs": 1, "flops": 2}
"""A headline figure per multiply-accumulate: the backward pass is counted in MACs (archcalc.backward)."""


def count_column(stats: ModelStats) -> tuple[str, str]:
    """The cost column's title and figure: the convention's headline (FLOPs for FlopCounterMode)."""
    convention = CONVENTIONS[stats.convention]
    return convention.title, convention.headline


def summary_line(stats: ModelStats, train: Training | None = None) -> str:
    t = stats.totals
    title, attr = count_column(stats)
    if stats.formulas:
        return "\n".join([*formula_lines(stats, train), *outputs_line(stats)])
    totals = (f"{grouped(t.params)} parameters ({grouped(t.weight)} weights, {grouped(t.bias)} biases; "
              f"{grouped(t.buffers)} buffer values) · {human(getattr(t, attr))} {title} · "
              f"activations {human(t.activations)} elements = {human_bytes(t.activation_bytes)}")
    return "\n".join([totals, *step_line(stats, train), *outputs_line(stats)])


def step_line(stats: ModelStats, train: Training | None) -> list[str]:
    """With `--train`: a training step's total, forward and backward."""
    if train is None:
        return []
    title, attr = count_column(stats)
    unit, total = PER_MAC[attr], train.total
    line = (f"training step {human(unit * total.step)} {title} = forward {human(unit * total.forward)} + backward "
            f"{human(unit * total.backward)} (input gradients {human(unit * total.input_grad)}, "
            f"weight gradients {human(unit * total.weight_grad)})")
    return [line]


def outputs_line(stats: ModelStats) -> list[str]:
    """For a model with several heads, each with its shape (the totals count them all)."""
    if len(stats.outputs) == 1:
        return []
    shapes = stats.shapes
    return ["outputs: " + " · ".join(f"{name} {shape_text(shapes[name])}" for name in stats.outputs)]


def formula_lines(stats: ModelStats, train: Training | None = None) -> list[str]:
    """The totals of a symbolic analysis, and where its formulas hold."""
    t, formulas = stats.totals, stats.formulas
    title, attr = count_column(stats)
    exact = formulas.exact_lines()
    unit = PER_MAC[attr]
    step = [] if train is None else [f"backward {title} = {grouped(unit * train.total.backward)}",
                                     f"training step {title} = {grouped(unit * train.total.step)}"]
    return [f"parameters = {grouped(t.params)}",
            f"{title} = {grouped(getattr(t, attr))}", *step,
            f"activations = {grouped(t.activations)} elements = {grouped(t.activation_bytes)} bytes",
            f"valid for {formulas.valid_text()}",
            *([f"every stride divides its input exactly for {'; '.join(exact)}"] if exact else [])]


RF_COLUMNS = [Column("RF", ">"), Column("jump", ">"), Column("start", ">")]
TRAIN_COLUMNS = [Column("input grad", ">"), Column("weight grad", ">"), Column("train step", ">")]
TRAIN_NOTE = ("input grad, weight grad: the backward pass's {title} for the gradient of the layer's input (none "
              "where no trained parameter lies before it) and of its weights · train step: forward + backward, "
              "the optimizer's update not counted")
RF_NOTE = ("RF: receptive field in input pixels (padding included; 'all': every unit sees the whole "
           "input through a broadcast path) · jump: input pixels between neighbouring units · "
           "start: centre of the first unit's field ('—': it sees no pixel, only padding or the zeros a "
           "transposed convolution's stride puts between them)")


ROOF_COLUMNS = [Column("FLOP/B", ">"), Column("bound", "<"), Column("time", ">")]
ROOF_NOTE = ("FLOP/B: FLOPs (as FlopCounterMode counts them) per byte of inputs, weights and output moved · "
             "bound: what bounds the layer on the device, compute or memory ('none': it runs no kernel; "
             "'unknown': its FLOPs are not counted, and its time, of its bytes alone, is a lower bound, marked ≥) · "
             "time: max(FLOPs / peak (its output channels rounded up to the profile's block, where it measured one, "
             "less what its kernel saves of taps in the padding, where it measured that), "
             "bytes / bandwidth), over the efficiency of its kind of work (at its size and the alignment of its "
             "channels a group, where the profile measured it by size, and on torch's own kernel where it measured "
             "that and torch runs the layer there), plus the fixed cost of a layer of that kind "
             "(oneDNN's for a convolution torch runs through oneDNN, where the profile measured that; the launch "
             "cost where the profile gives none), and for the model's first kernel its cold start "
             "(where the profile measured one); a max or average pooling the profile measured the rate of: its "
             "outputs and its window's taps at that rate for its compute, no efficiency (docs/latency.md)")


def build_layer_table(stats: ModelStats, rows: list[Row], rf: bool = False,
                      bold: Callable[[str], str] = str, roof: Roofline | None = None,
                      depth: int | None = None, train: Training | None = None) -> Table:
    """`archcalc table`'s table: a line per row and, for numbers, the totals (`bold` marks them);
    with `train` (a step per row), the backward pass's columns; with `roof` (the rows' `depth`)
    each row's intensity, bound and predicted time."""
    title, attr = count_column(stats)
    share = [] if stats.formulas else [Column("share", ">")]
    table = Table([Column("#", ">"), Column("layer", "<"), Column("kind", "<"), Column("output", "<"),
                   Column("params", ">"), Column(title, ">"), *share, *(TRAIN_COLUMNS if train else []),
                   *(RF_COLUMNS if rf else []), *(ROOF_COLUMNS if roof else [])], compact=True, tree=1)
    fields = (stats.receptive_fields or {}) if rf else None  # worked out only when shown
    columns = layer_columns(rows, attr, share=not stats.formulas, fields=fields, train=train)
    if roof:
        columns += roof_columns(rows, roof.grouped(depth))
    if terminal.STYLED and not stats.formulas:
        costs = [getattr(row.figures, attr) for row in rows]
        table.rows = list(map(Line, zip(*columns), cost_styles(costs, [row.figures.params for row in rows])))
    else:
        table.extend(zip(*columns))
    totals = stats.totals
    if not stats.formulas:  # a total formula is printed in full below the table, not squeezed in
        ahead = ["", bold("total"), "", "", bold(grouped(totals.params)),
                 bold(grouped(getattr(totals, attr))), f"{100 * stats.share(totals):.1f}%",
                 *([bold(text) for text in step_texts(train.total, attr)] if train else []),
                 *(["", "", ""] if rf else [])]
        if roof:
            ahead += [intensity_text(roof.intensity), "", bold(lower_bound_mark(roof) + seconds_text(roof.total))]
        table.footer = Line(ahead, "bold")
    return table


def step_texts(step, attr: str) -> list[str]:
    """A training step's cells: the input's and the weights' gradients, and the whole step, in `attr`."""
    unit = PER_MAC[attr]
    return [grouped(unit * step.input_grad), grouped(unit * step.weight_grad), grouped(unit * step.step)]


def roof_columns(rows: list[Row], shares: dict) -> list[Iterable[str]]:
    """The roofline's cells of each row, a column at a time: intensity, bound, predicted time."""
    found = [shares[row.name] for row in rows]
    return [each_once(intensity_text, [share.intensity for share in found]), [share.bound for share in found],
            [("≥ " if share.uncounted else "") + seconds_text(share.time) for share in found]]


def roof_line(roof: Roofline) -> str:
    """The model's predicted latency on the profile, and what it is made of."""
    profile = roof.profile
    bound = [layer.bound for layer in roof.layers]
    return (f"predicted on {profile.name} ({profile.key}) in {roof.dtype}: {lower_bound_mark(roof)}"
            f"{seconds_text(roof.total)} · {roof.kernels:,} kernels {_fixed_text(roof)} · "
            f"{lower_bound_mark(roof)}{human(roof.flops)} FLOPs, "
            f"{human_bytes(roof.bytes)} moved · {bound.count('compute')} compute-bound, "
            f"{bound.count('memory')} memory-bound{uncounted_text(roof)}")


def lower_bound_mark(roof: Roofline) -> str:
    """'≥ ' before a total that leaves out the FLOPs of some layers (`Roofline.uncounted`)."""
    return "≥ " if roof.uncounted else ""


def uncounted_text(roof: Roofline) -> str:
    """', N unknown (why the total is a lower bound)' where some layers' FLOPs are not counted."""
    return f", {len(roof.uncounted)} unknown ({lower_bound_reason(roof)})" if roof.uncounted else ""


def lower_bound_reason(roof: Roofline) -> str:
    """Why the total is a lower bound: the layers whose FLOPs are not counted (the first three)."""
    more = len(roof.uncounted) - 3
    names = ", ".join(map(shown_safely, roof.uncounted[:3])) + (f" and {more} more" if more > 0 else "")
    return f"a lower bound: the FLOPs of {names} are not counted, only the bytes they move"


def _fixed_text(roof: Roofline) -> str:
    """What the kernels' fixed costs come to: the launch cost each, or the profile's per kind of work."""
    if not roof.profile.fixed_us and not roof.profile.onednn_fixed_us:
        return f"at {seconds_text(roof.profile.launch)} launch each"
    return f"({seconds_text(roof.fixed)} of it their fixed costs)"


def layer_columns(rows: list[Row], attr: str, share: bool = False, fields: dict | None = None,
                  train: Training | None = None) -> list[Iterable[str]]:
    """A layer table's cells a column at a time (each made in one pass): number, name, kind,
    shape, parameters, the cost `attr`, with `share` the share, with `train` (a step per row) its
    gradients and step, with `fields` (receptive fields by name) the field's size, jump and start."""
    columns = [map(str, range(1, len(rows) + 1)),
               [row.name if row.layers == 1 else f"{row.name} ({row.layers} layers)" for row in rows],
               [row.kind for row in rows],
               each_once(shape_text, [row.shape for row in rows]),
               each_once(grouped, [row.figures.params for row in rows]),
               each_once(grouped, [getattr(row.figures, attr) for row in rows])]
    if share:
        columns.append(each_once(percent, [row.share for row in rows]))
    if train is not None:
        texts = list(each_once(lambda step: tuple(step_texts(step, attr)), train.steps))
        columns += [[cells[column] for cells in texts] for column in range(3)]
    if fields is not None:
        texts = [field_texts(fields.get(row.name)) for row in rows]
        columns += [[cells[column] for cells in texts] for column in range(3)]
    return columns


def layer_table(stats: ModelStats, rows: list[Row], rf: bool = False, roof: Roofline | None = None,
                depth: int | None = None, train: Training | None = None) -> StyledLines:
    """`archcalc table`: header, one line per row, totals, summary; with `rf` the receptive fields,
    with `train` (a step per row) the backward pass, with `roof` the roofline on a device profile."""
    header = header_lines(stats)
    return [(header[0], "bold"), (header[1], ""), ("", ""),
            *as_text(build_layer_table(stats, rows, rf, roof=roof, depth=depth, train=train)),
            *((line, "") for line in summary_line(stats, train).split("\n")),
            *([(roof_line(roof), "")] if roof else []), *([(train_note(stats), "dim")] if train else []),
            *([(RF_NOTE, "dim")] if rf else []), *([(ROOF_NOTE, "dim")] if roof else [])]


def train_note(stats: ModelStats) -> str:
    return TRAIN_NOTE.format(title=count_column(stats)[0])


def markdown(stats: ModelStats, rows: list[Row], rf: bool = False, roof: Roofline | None = None,
             depth: int | None = None, train: Training | None = None) -> str:
    table = build_layer_table(stats, rows, rf, bold=lambda text: Markdown(f"**{text}**"), roof=roof, depth=depth,
                              train=train)
    header = header_lines(stats, markdown_text)
    lines = [in_bold(header[0]), "", header[1], "", *as_markdown(table)]
    note = [train_note(stats), ""] if train else []
    if not stats.formulas:
        lines += ["", *map(markdown_text, summary_line(stats, train).split("\n")), "",
                  *([markdown_text(roof_line(roof)), ""] if roof else []),
                  *note, *([RF_NOTE, ""] if rf else []), *([ROOF_NOTE, ""] if roof else [])]
    else:
        lines += ["", *(f"- {markdown_text(line)}" for line in formula_lines(stats, train)), "", *note]
    return "\n".join(lines)


def latex(stats: ModelStats, rows: list[Row], rf: bool = False, roof: Roofline | None = None,
          depth: int | None = None, train: Training | None = None) -> str:
    """The table as a LaTeX `tabular` (booktabs) for a paper's appendix, the model, input and
    convention above it and the totals below it as comments."""
    table = build_layer_table(stats, rows, rf, bold=lambda text: Latex(rf"\textbf{{{latex_text(text)}}}"), roof=roof,
                              depth=depth, train=train)
    notes = [*header_lines(stats), *summary_line(stats, train).splitlines(), *([roof_line(roof)] if roof else [])]
    return "\n".join(["% booktabs: \\usepackage{booktabs}", *(f"% {one_line(note)}" for note in notes[:2]),
                      *as_latex(table), *(f"% {one_line(note)}" for note in notes[2:])]) + "\n"


def build_models_table(models: list[ModelStats]) -> Table:
    """`archcalc list`'s table: a line per bundled model with its totals, exact and in K/M/G."""
    title, attr = count_column(models[0]) if models else ("MACs", "macs")
    table = Table([Column("model", "<"), Column("spec", "<"), Column("input", "<"), Column("params", ">"),
                   Column("≈", ">"), Column(title, ">"), Column("≈", ">")])
    for m in models:
        count = getattr(m.totals, attr)
        table.add([m.model, m.file, shape_text(m.input_shape[1:]), grouped(m.totals.params), human(m.totals.params),
                   grouped(count), human(count)])
    return table


def models_table(models: list[ModelStats]) -> StyledLines:
    """`archcalc list`: one line per bundled model."""
    convention = models[0].convention if models else "paper"
    return [(f"bundled models · convention {convention}", "bold"), ("", ""), *as_text(build_models_table(models))]


def calculation_lines(result) -> StyledLines:
    """`archcalc conv` / `archcalc pool`: the working, then the result (the output and each total
    in RESULT's style)."""
    return [(line, RESULT if line.startswith(("output:", "parameters:", "MACs:")) else "")
            for line in _calculation_lines(result)]


def _calculation_lines(result) -> list[str]:
    lines = [f"{result.kind} on input {shape_text(result.input_shape[1:])} (C×H×W)", ""]
    axes = list(result.working.items())
    if axes[0][1] == axes[1][1]:
        axes = [("height and width", axes[0][1])]
    for axis, working in axes:
        lines.append(f"{axis}:")
        lines += [f"  {line}" for line in working]
        lines.append("")
    lines.append(f"output: {shape_text(result.output_shape[1:])} (C×H×W)")
    return lines + ["", *(conv_figures(result) if result.kind == "conv2d" else pool_figures(result))]


def _many(n: int, word: str) -> str:
    """'1 bias', '64 biases', '3 input channels'."""
    return f"{grouped(n)} {word}" if n == 1 else f"{grouped(n)} {word}{'es' if word.endswith('s') else 's'}"


def conv_figures(result) -> list[str]:
    """The parameters and MACs of one convolution, with the working."""
    a, p = result.attrs, result.params
    channels, groups, out = result.input_shape[1], a["groups"], a["out"]
    kernel, per_filter = "×".join(map(str, a["kernel"])), channels // groups
    outputs = prod(result.output_shape[1:])
    each = _many(per_filter, "input channel") + (f" (of {channels}, in {groups} groups)" if groups > 1 else "")
    return [f"parameters: {grouped(p.trainable)} ({_many(p.weight, 'weight')} + {_many(p.bias, 'bias')})",
            f"  weights = {_many(out, 'filter')} × {each} × {kernel} = {grouped(p.weight)}",
            f"  biases  = {grouped(p.bias)}" + (" (one per filter)" if p.bias else " (--no-bias)"),
            f"MACs: {grouped(result.macs)}",
            f"  = outputs × multiply-adds per output = {shape_text(result.output_shape[1:])} × {per_filter}×{kernel}",
            f"  = {grouped(outputs)} × {grouped(result.macs // outputs)} = {grouped(result.macs)}"]


def pool_figures(result) -> list[str]:
    """A pooling layer has no parameters and makes no multiply-adds: what each output is instead."""
    a = result.attrs
    kernel = a["kernel"]
    what = "the average" if result.kind == "avgpool2d" else "the largest"
    partial = any(a.get("padding", (0,))) or a.get("ceil_mode")  # a window over the padding, or past it
    values = f"at most {_many(prod(kernel), 'value')}" if partial else f"the {_many(prod(kernel), 'value')}"
    return ["parameters: 0 (a pooling window has no weights)",
            (f"MACs: 0 (no multiply-adds: {_each_output(prod(result.output_shape[1:]))} is {what} "
             f"of {values} in its {'×'.join(map(str, kernel))} window)")]


def _each_output(outputs: int) -> str:
    """'each of the 48 outputs', or 'its one output'."""
    return "its one output" if outputs == 1 else f"each of the {grouped(outputs)} outputs"
