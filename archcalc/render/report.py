"""`archcalc report`: a GitHub-flavoured markdown report of one or more models.

Header, summary (with ratios to the first model), per-stage tables with a mermaid chart of
where the cost goes, the inference peak with a chart of the memory alive block by block, a
block-level mermaid diagram of the graph, every layer in a <details> block, and (when given) the
cross-validation results. The same input gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.conventions import CONVENTIONS
from archcalc.graph import INPUT
from archcalc.render.charts import Bars, Lines, Series, colour_legend, colour_runs, mermaid_colours, shared_top
from archcalc.render.markup import (
    Markdown,
    code_span,
    heading_text,
    item_text,
    markdown_text,
    mermaid_text,
    summary_text,
)
from archcalc.render.numbers import (
    DECIMAL_UNITS,
    grouped,
    human,
    intensity_text,
    percent,
    seconds_text,
    shape_text,
    three_figures,
)
from archcalc.render.table import Column, Table, as_markdown
from archcalc.render.text import count_column, layer_columns, lower_bound_mark, lower_bound_reason
from archcalc.sizes import BINARY_UNITS, human_bytes
from archcalc.spec.instances import frozen
from archcalc.stats import ModelStats, Row
from archcalc.version import __version__

LARGEST = 3
"""How many of the costliest layers the summary names."""
BARS = 40
"""The most bars a chart of stages or blocks draws: consecutive ones beyond it share a bar."""


def report(models: list[ModelStats], validations: list | None = None, stamp: str | None = None,
           sweeps: list | None = None, memories: list | None = None, roofs: list | None = None) -> str:
    """The whole report in markdown; `validations` (one per model) adds the cross-validation
    section, `sweeps` (one per model, archcalc.sweep) the cost against resolution, `memories`
    (one per model, archcalc.memory; None for a dtype memory is not modelled in) the inference
    peak, `roofs` (one archcalc.roofline.Roofline per model) the predicted time on a device profile."""
    parts = _in_format(_parts(models, validations, stamp, sweeps, memories, roofs), "markdown")
    lines = [part for before, part in zip([None, *parts], parts)  # a chart and the blank line after it left out
             if isinstance(part, str) and (part or isinstance(before, str))]
    return "\n".join(lines).rstrip("\n") + "\n"


def html(models: list[ModelStats], validations: list | None = None, stamp: str | None = None,
         sweeps: list | None = None, memories: list | None = None, roofs: list | None = None) -> str:
    """The same report as one self-contained HTML page, its charts drawn as inline SVG."""
    from archcalc.render.html import document

    title = f"archcalc report: {', '.join(m.model for m in models)}"
    return document(title, _in_format(_parts(models, validations, stamp, sweeps, memories, roofs), "html"))


@dataclass(frozen=True)
class Caption:
    """A paragraph under a chart, per format: `markdown` tells what the mermaid chart draws, `html`
    what the SVG chart in its place draws (archcalc.render.charts), for their marks differ."""
    markdown: str
    html: str


def _in_format(parts: list, target: str) -> list:
    """`parts` with each Caption as its text in `target` ("markdown" or "html")."""
    return [getattr(part, target) if isinstance(part, Caption) else part for part in parts]


def _parts(models: list[ModelStats], validations: list | None, stamp: str | None, sweeps: list | None,
           memories: list | None, roofs: list | None) -> list:
    """The report as markdown lines with charts (archcalc.render.charts) among them."""
    out = [f"# archcalc report: {', '.join(heading_text(m.model) for m in models)}", "", *_header(models, stamp, roofs),
           "", "## Summary", "", *_summary(models, roofs), ""]
    if len(models) > 1:
        out += ["### The models side by side", "", *_side_by_side(models, memories),
                *_side_by_side_mermaid(models, memories)]
    if sweeps:
        out += _parameters(sweeps) if sweeps[0].parameters else _resolution(sweeps)
    for index, stats in enumerate(models):
        out += _model_sections(stats, several=len(models) > 1, memory=memories[index] if memories else False,
                               roof=roofs[index] if roofs else None)
    if validations:
        from archcalc.render.validation import markdown

        out += ["## Cross-validation", "", markdown(validations, folded=True).rstrip("\n"), ""]
    return out


def _header(models: list[ModelStats], stamp: str | None, roofs: list | None = None) -> list[str]:
    first = models[0]
    names = ", ".join(f"{markdown_text(m.model)} ({code_span(m.file)})" for m in models)
    rows = [("model" if len(models) == 1 else "models", Markdown(names)),
            ("input", _same(models, lambda m: shape_text(m.input_shape[1:]))),
            ("batch", _same(models, lambda m: str(m.input_shape[0]))),
            ("dtype", _same(models, lambda m: m.dtype)),
            ("convention", f"{first.convention}: {CONVENTIONS[first.convention].summary}"),
            ("archcalc", __version__)]
    skipped = list(dict.fromkeys(what for m in models for what in m.uncounted()))
    if skipped:  # as the table's header names them
        rows.insert(-1, (f"not counted by {first.convention}", ", ".join(skipped)))
    if roofs:
        profile = roofs[0].profile
        costs = [f"{work.replace('_', ' ')} {seconds_text(profile.fixed(work))}" for work in profile.fixed_us]
        if profile.onednn_fixed_us:  # the other layers the launch cost, where the profile gives no kind's
            costs = (costs or [f"the launch {seconds_text(profile.launch)}"]) + [
                f"a convolution on oneDNN {seconds_text(profile.onednn_fixed_us / 1e6)}"]
        fixed = "fixed costs per layer " + ", ".join(costs) if costs else f"{seconds_text(profile.launch)} launch each"
        about = f"{profile.name} ({profile.key}), {fixed} (docs/latency.md)"
        rows.insert(-1, ("device profile", about))
    if stamp:
        rows.append(("generated", stamp))
    (name, value), *rest = rows  # the first row is the headings: a table without an empty heading row
    table = Table([Column(name, "<"), Column(value, "<")], compact=True)
    for name, value in rest:
        table.add([name, value])
    return as_markdown(table)


def _summary(models: list[ModelStats], roofs: list | None = None) -> list[str]:
    first = models[0]
    title, attr = count_column(first)
    figures = [("parameters", lambda m: m.totals.params, grouped),
               (title, lambda m: getattr(m.totals, attr), lambda n: f"{grouped(n)} ({human(n)})"),
               ("activation memory", lambda m: m.totals.activation_bytes, human_bytes),
               ("depth (conv and linear layers)", lambda m: m.depth, str)]
    if attr == "macs":
        figures.insert(2, ("FLOPs", lambda m: m.totals.flops, lambda n: f"{grouped(n)} ({human(n)})"))
    texts = {label: lambda m, value=value, shown=shown: shown(value(m)) for label, value, shown in figures}
    ratios = {label: lambda m, value=value: _ratio(value(m), value(first)) for label, value, _ in figures}
    if roofs:
        roof_of = {id(m): roof for m, roof in zip(models, roofs)}
        figures.append(("predicted latency", lambda m: roof_of[id(m)].total, seconds_text))
        texts["predicted latency"] = lambda m: lower_bound_mark(roof_of[id(m)]) + seconds_text(roof_of[id(m)].total)
        ratios["predicted latency"] = lambda m: _bounded_ratio(roof_of[id(m)], roof_of[id(first)])
    names = [m.model for m in models]
    table = Table([Column("figure", "<"), *(Column(n, ">") for n in names),
                   *(Column(f"{n} / {names[0]}", ">") for n in names[1:])])
    for label, _, _ in figures:
        table.add([label, *(texts[label](m) for m in models), *(ratios[label](m) for m in models[1:])])
    table.add(["largest layers", *(_largest(m) for m in models), *([""] * (len(models) - 1))])
    return as_markdown(table)


def _model_sections(stats: ModelStats, several: bool, memory=False, roof=None) -> list[str]:
    """`memory`: the model's Memory, None where it is not modelled, False to leave the section out;
    `roof`: its Roofline, or None."""
    suffix = f": {heading_text(stats.model)}" if several else ""
    title, attr = count_column(stats)
    stages = stats.rows(depth=1)
    peak = [] if memory is False else [f"## Inference memory{suffix}", "", *_memory(stats, memory), ""]
    return [f"## Stages{suffix}", "", *as_markdown(_stages_table(stages, title, attr, roof)), "",
            f"## Where the cost goes{suffix}", "", *_stage_bars(stats, stages, title, attr),
            *_stage_charts(stats, stages, title, attr),
            *(_time_chart(stats, stages, title, attr, roof, suffix) if roof else []), *peak,
            *_diagram(stats, stages, suffix),
            "<details>", f"<summary>{_all_layers(len(stats.layers))} of {summary_text(stats.model)}</summary>", "",
            *as_markdown(_layers_table(stats, title, attr)), "", "</details>", ""]


def _all_layers(count: int) -> str:
    """'All 53 layers', or 'The one layer'."""
    return "The one layer" if count == 1 else f"All {count:,} layers"


def _stage_bars(stats: ModelStats, stages: list[Row], title: str, attr: str) -> list:
    """Each stage's share of the model's cost and of its parameters, the figures beside the bars,
    then a blank line; nothing for a model of neither (as `_stage_charts`). Beyond BARS stages,
    consecutive ones share a bar, named `first-last`, as in `_stage_charts`."""
    if not getattr(stats.totals, attr) and not stats.totals.params:
        return []
    runs = _runs([row.name for row in stages])
    labels = tuple(_label(row) for row in stages) if len(runs) == len(stages) else tuple(runs)
    series = []
    for name, key, total in ((title, attr, getattr(stats.totals, attr)), ("parameters", "params", stats.totals.params)):
        values = [sum(getattr(stages[index].figures, key) for index in run) for run in runs.values()]
        series.append(Series(name, tuple(value / total if total else 0.0 for value in values),
                             tuple(map(human, values))))
    return [Bars(f"{stats.model}: {title} and parameters by stage", labels, tuple(series), "share of the model"), ""]


def _side_by_side(models: list[ModelStats], memories: list | None) -> list:
    """The models' parameters, cost and activations, each as a share of the largest model's: a
    chart (each followed by a blank line) per run of models that `colour_runs` keeps apart."""
    figures = _compared(models, memories)
    largest = [max(values) or 1 for _, values, _ in figures]
    series = [Series(stats.model, tuple(values[index] / most for (_, values, _), most in zip(figures, largest)),
                     tuple(shown(values[index]) for _, values, shown in figures)) for index, stats in enumerate(models)]
    return [part for run, suffix in colour_runs(len(series))
            for part in (Bars(f"The models side by side{suffix}", tuple(name for name, _, _ in figures),
                              tuple(series[run]), "share of the largest model's", shared_top(series)), "")]


def _side_by_side_mermaid(models: list[ModelStats], memories: list | None) -> list[str]:
    """The models side by side as mermaid draws them: a bar chart per figure, a bar per model, in
    the figure's unit (mermaid's xychart overlays bars of several series rather than grouping them)."""
    names = ", ".join(f'"{mermaid_text(stats.model)}"' for stats in models)
    out = []
    for name, values, unit in _in_units(_compared(models, memories)):
        out += ["```mermaid", mermaid_colours(1), "xychart-beta", f'    title "{name} ({unit})"',
                f"    x-axis [{names}]", f'    y-axis "{unit}"', f"    bar [{', '.join(map(chart_number, values))}]", "```", ""]
    return out


def _compared(models: list[ModelStats], memories: list | None) -> list[tuple[str, list[int], object]]:
    """What the models are compared by: (name, each model's figure, how a figure is written):
    parameters, cost, and the inference peak (activation memory where memory is not modelled);
    a figure that is 0 in every model left out (its chart would be bars of nothing)."""
    title, attr = count_column(models[0])
    figures = [("parameters", [m.totals.params for m in models], human),
               (title, [getattr(m.totals, attr) for m in models], human)]
    if memories and all(memories):
        figures.append(("inference peak", [memory.peak for memory in memories], human_bytes))
    else:
        figures.append(("activation memory", [m.totals.activation_bytes for m in models], human_bytes))
    return [figure for figure in figures if any(figure[1])]


def _in_units(figures: list[tuple[str, list[int], object]]) -> list[tuple[str, list[float], str]]:
    """Each figure's values in the unit of its largest (M, G; MiB), four significant digits, and the unit."""
    out = []
    for name, values, shown in figures:
        binary = shown is human_bytes
        steps = BINARY_UNITS if binary else DECIMAL_UNITS
        size, unit = next(((s, u) for s, u in steps if max(values) >= s), (1, "B" if binary else "count"))
        out.append((name, [float(f"{value / size:.4g}") for value in values], unit))
    return out


def _stages_table(stages: list[Row], title: str, attr: str, roof=None) -> Table:
    """Each stage's figures; with `roof`, its FLOPs per byte, bound, predicted time and share of it."""
    table = Table([Column("stage", "<"), Column("kind", "<"), Column("output", "<"), Column("params", ">"),
                   Column(title, ">"), Column("share", ">"),
                   *([Column("FLOP/B", ">"), Column("bound", "<"), Column("time", ">"), Column("time share", ">")]
                     if roof else [])])
    shares = roof.grouped(1) if roof else {}
    for row in stages:
        extra = []
        if roof:
            share = shares[row.name]
            extra = [intensity_text(share.intensity), share.bound, ("≥ " if share.uncounted else "") + seconds_text(share.time),
                     percent(share.time / roof.total if roof.total else 0.0)]
        table.add([_label(row), row.kind, shape_text(row.shape), grouped(row.figures.params),
                   grouped(getattr(row.figures, attr)), percent(row.share), *extra])
    return table


def _time_chart(stats: ModelStats, stages: list[Row], title: str, attr: str, roof, suffix: str) -> list[str]:
    """A mermaid chart of each stage's share of the predicted time (bars) beside its share of the
    cost (line): where they part, the stage is bound by memory or by launches, not by arithmetic.
    Beyond BARS stages, consecutive ones share a bar, named `first-last`, as in `_stage_charts`."""
    shares = roof.grouped(1)
    total_cost = getattr(stats.totals, attr)
    if not roof.total and not total_cost:  # bars and a line of zeros: no chart
        return [f"## Predicted time beside {title}{suffix}", "",
                f"On {markdown_text(roof.profile.name)} in {roof.dtype}: no stage runs a kernel or has a cost.", ""]
    runs = _runs([row.name for row in stages])
    if len(runs) == len(stages):
        labels = tuple(_label(row) for row in stages)
    else:
        labels = tuple(runs)
    times = [sum(shares[stages[index].name].time for index in run) for run in runs.values()]
    costs = [sum(getattr(stages[index].figures, attr) for index in run) for run in runs.values()]
    time_shares = [time / roof.total if roof.total else 0.0 for time in times]
    cost_shares = [cost / total_cost if total_cost else 0.0 for cost in costs]
    bars = Bars(f"{stats.model}: predicted time and {title} by stage", labels,
                (Series("predicted time", tuple(time_shares), tuple(map(seconds_text, times))),
                 Series(title, tuple(cost_shares), tuple(map(human, costs)))), "share of the model")
    axis, plotted, legend = _time_series(list(runs), time_shares, cost_shares, title)
    total = (f"On {markdown_text(roof.profile.name)} in {roof.dtype}: {lower_bound_mark(roof)}{seconds_text(roof.total)} in "
             f"all{markdown_text(f' ({lower_bound_reason(roof)})' if roof.uncounted else '')}.")
    return [f"## Predicted time beside {title}{suffix}", "", bars, "",
            Caption(f"{total} {legend}", f"{total} {_time_bars_legend(len(runs), title)}"), "",
            "```mermaid", mermaid_colours(2), "xychart-beta",
            f'    title "{mermaid_text(stats.model)}: predicted time and {title} by stage"',
            f"    x-axis [{axis}]", '    y-axis "% of the model"', *plotted, "```", ""]


def _time_series(names: list[str], time_shares: list[float], cost_shares: list[float], title: str
                 ) -> tuple[str, list[str], str]:
    """The time chart's mermaid x-axis, series and legend. Mermaid draws a chart's bars for one
    label over one another: one stage (its shares both 100%) is a bar for the time and one beside
    it for the cost, each under its own label, else the amber bar hid the blue one."""
    times = [f"{100 * share:.1f}" for share in time_shares]
    costs = [f"{100 * share:.1f}" for share in cost_shares]
    if len(names) == 1:
        return (f'"{mermaid_text(f"{names[0]}: predicted time")}", "{mermaid_text(f"{names[0]}: {title}")}"', [f"    bar [{times[0]}, 0]", f"    bar [0, {costs[0]}]"],
                f"Blue bar: the stage's share of the predicted time; amber bar beside it: its share of the {title} (percent).")
    return (", ".join(f'"{mermaid_text(name)}"' for name in names), [f"    bar [{', '.join(times)}]", f"    line [{', '.join(costs)}]"],
            f"Blue bars: each stage's share of the predicted time; amber line: its share of the {title} (percent).")


def _time_bars_legend(count: int, title: str) -> str:
    """What the HTML time chart (`Bars`) draws for `count` labels: a blue bar and an amber one below it each."""
    if count == 1:
        return f"Blue bar: the stage's share of the predicted time; amber bar below it: its share of the {title} (percent)."
    return f"Blue bars: each stage's share of the predicted time; amber bars below them: its share of the {title} (percent)."


def _layers_table(stats: ModelStats, title: str, attr: str) -> Table:
    table = Table([Column("#", ">"), Column("layer", "<"), Column("kind", "<"), Column("output", "<"),
                   Column("params", ">"), Column(title, ">")])
    table.extend(zip(*layer_columns(stats.rows(), attr)))
    return table


def _stage_charts(stats: ModelStats, stages: list[Row], title: str, attr: str) -> list[str]:
    """Mermaid bar charts of each stage's cost and of its parameters, in the unit of the largest
    (mermaid writes no figure on a bar: the axis names the unit), then a blank line; beyond BARS
    stages, consecutive ones share a bar, named `first-last`."""
    runs = _runs([row.name for row in stages])
    names = ", ".join(f'"{mermaid_text(name)}"' for name in runs)
    out = []
    for name, key in ((title, attr), ("parameters", "params")):
        values = [sum(getattr(stages[index].figures, key) for index in run) for run in runs.values()]
        if any(values):
            ((_, scaled, unit),) = _in_units([(name, values, human)])
            out += ["```mermaid", mermaid_colours(1), "xychart-beta",
                    f'    title "{mermaid_text(stats.model)}: {name} by stage ({unit})"', f"    x-axis [{names}]",
                    f'    y-axis "{unit}"', f"    bar [{', '.join(map(chart_number, scaled))}]", "```", ""]
    return out or ["No stage has a cost or a parameter.", ""]


def _runs(names: list[str]) -> dict[str, list[int]]:
    """The positions of `names` as bars: one each, or beyond BARS, consecutive ones in equal runs,
    each named "first-last"."""
    size = -(-len(names) // BARS)
    runs = [list(range(start, min(start + size, len(names)))) for start in range(0, len(names), size)]
    return {names[run[0]] if len(run) == 1 else f"{names[run[0]]}-{names[run[-1]]}": run for run in runs}


def chart_number(value: float) -> str:
    """A value as a mermaid chart reads it: four significant digits, never in exponent form."""
    text = f"{value:.4g}"
    return text if "e" not in text else f"{float(text):.15f}".rstrip("0").rstrip(".")


def _memory(stats: ModelStats, memory) -> list[str]:
    """The inference peak by category and where it occurs, and a mermaid chart of the activations
    alive block by block: the most while each top-level block runs (bars) and after it (line)."""
    if memory is None:
        return [(f"Not modelled in {stats.dtype}: the memory model takes float32, float16, bfloat16 and float64 "
                 "(docs/memory.md).")]
    context = (f"One forward pass in eval mode without gradients, at batch {memory.input_shape[0]} in {memory.dtype}, "
               "as torch's MemTracker counts it (docs/memory.md)")
    layer = memory.peak_point
    if layer is None:
        return [f"{context}: no layer runs a torch operation, so MemTracker records no peak (0 B)."]
    table = Table([Column("category", "<"), Column("bytes", ">"), Column("", ">")])
    rows = [("parameters", memory.parameters), ("buffers", memory.buffers), ("activations", memory.activations)]
    if layer.transient:
        rows.append((Markdown(f"of them {code_span(layer.name)}'s temporaries"), layer.transient))
    for name, value in [*rows, ("peak", memory.peak)]:
        table.add([name, grouped(value), human_bytes(value)])
    blocks = _memory_blocks(memory.layers)
    largest = max(each.during for each in memory.layers)
    unit, size = ("MiB", 2**20) if largest >= 2**20 else ("KiB", 2**10)
    names = ", ".join(f'"{mermaid_text(name)}"' for name in blocks)
    during = ", ".join(chart_number(max(each.during for each in layers) / size) for layers in blocks.values())
    after = ", ".join(chart_number(layers[-1].after / size) for layers in blocks.values())
    starts = {name: layers[0] for name, layers in blocks.items()}
    index = {id(each): position for position, each in enumerate(memory.layers)}
    every = -(-len(starts) // 24)
    second, bars, drawn = _second_series(after, len(blocks))
    line = Lines(f"{stats.model}: {unit} of activations alive along the network",
                 (Series("while the layer runs", tuple(each.during / size for each in memory.layers)),
                  Series("after it", tuple(each.after / size for each in memory.layers))),
                 tuple((index[id(first)], name) for name, first in list(starts.items())[::every]),
                 "layer (each top-level block named at its first)", unit)
    return [f"{context}: **{human_bytes(memory.peak)}** while {code_span(layer.name, table=False)} runs.", "",
            *as_markdown(table), "", line, "", "```mermaid", mermaid_colours(2), "xychart-beta",
            f'    title "{mermaid_text(stats.model)}: {unit} of activations alive, by top-level block"',
            f'    x-axis "block" [{names}]', f'    y-axis "{unit}"', f"    bar [{during}]", second, "```", "",
            Caption(f"Blue {bars}: the most alive while the block runs; amber {drawn}: alive after it (its last layer).",
                    _memory_lines_legend(len(memory.layers)))]


def _memory_lines_legend(count: int) -> str:
    """What the HTML chart of the activations alive (`Lines`, a point per layer of `count`) draws."""
    if count == 1:
        return "Blue dot: alive while the layer runs; amber dot: alive after it."
    return "Blue line, filled below: alive while each layer runs; amber line: alive after it."


def _second_series(values: str, count: int) -> tuple[str, str, str]:
    """A mermaid chart's second series over its bars: a line, or over one bar (where a line of one
    point draws nothing) a bar over it; and what its legend calls the bars and it."""
    if count > 1:
        return f"    line [{values}]", "bars", "line"
    return f"    bar [{values}]", "bar", "bar over it"


def _memory_blocks(layers: list) -> dict[str, list]:
    """The layers by top-level block, in order, as bars (`_runs`)."""
    blocks: dict[str, list] = {}
    for layer in layers:
        blocks.setdefault(layer.name.split(".")[0], []).append(layer)
    names = list(blocks)
    return {label: [layer for index in run for layer in blocks[names[index]]] for label, run in _runs(names).items()}


def _diagram(stats: ModelStats, stages: list[Row], suffix: str) -> list[str]:
    """A mermaid flowchart of the top-level blocks with the edges between them, where it shows
    structure: a branch or a merge (a straight chain of blocks is the stages table already)."""
    edges = stats.block_edges()
    chain = list(zip([INPUT, *(row.name for row in stages)], [row.name for row in stages]))
    if edges == chain[:len(edges)]:
        return []
    out = [f"## Graph{suffix}", "", "```mermaid", "flowchart TD",
           f'    {_node_id(INPUT)}(["input {shape_text(stats.input_shape)}"])']
    out += [f'    {_node_id(row.name)}["{mermaid_text(_label(row))}<br/>{mermaid_text(row.kind)} · '
            f'{shape_text(row.shape)}"]' for row in stages]
    out += [f"    {_node_id(a)} --> {_node_id(b)}" for a, b in edges]
    return [*out, "```", ""]


def _largest(stats: ModelStats) -> Markdown:
    """The LARGEST costliest layers with their share; '—' for a model of neither MACs nor parameters."""
    return Markdown(", ".join(f"{code_span(layer.name)} {percent(stats.share(layer.figures))}"
                              for layer in stats.costliest(LARGEST)) or "—")


def _resolution(sweeps: list) -> list[str]:
    """A mermaid line chart of the cost against the input size (sizes where every model is
    valid, where any costs anything), the exact figures in a table, and each model's formula."""
    title, attr = count_column(sweeps[0].about)
    points = list(zip(*(s.points for s in sweeps)))
    valid = [row for row in points if all(p.totals is not None for p in row)]
    out = ["## Cost against resolution", ""]
    out += [f"- {item_text(s.about.model)}: " + (
        f"{title} = {grouped(getattr(s.formulas.totals, attr))}, valid for "
        f"{markdown_text(s.formulas.formulas.valid_text())}" if s.formulas is not None else
        "no formulas, past a bound of the symbolic analysis or refused by a multiply's broadcast (docs/symbolic.md): "
        "each size analysed as a number") for s in sweeps]
    if any(getattr(p.totals, attr) for row in valid for p in row):  # lines of 0 are no chart
        series = [Series(s.about.model, tuple(getattr(row[i].totals, attr) / 1e9 for row in valid))
                  for i, s in enumerate(sweeps)]
        ticks = tuple((i, _size_label(row[0]).strip('"')) for i, row in enumerate(valid))
        for run, suffix in colour_runs(len(series)):
            out += ["", Lines(f"G{title} against input size{suffix}", tuple(series[run]), ticks, "input size",
                              f"G{title}", filled=False, top=shared_top(series))]
        out += ["", *_resolution_mermaid(sweeps, valid, title, attr)]
    from archcalc.render.sweep import error_text

    table = Table([Column("input", "<"), *(Column(f"{s.about.model} {title}", ">") for s in sweeps)])
    for row in points:  # a size the formulas allow but the numbers refuse (past 2³¹ − 1) says why
        table.add([", ".join(dict.fromkeys(shape_text(p.spatial) for p in row)),
                   *(grouped(getattr(p.totals, attr)) if p.totals else
                     f"not valid: {error_text(p.error)}" if p.error else "not valid" for p in row)])
    return [*out, "", *as_markdown(table), ""]


def _parameters(sweeps: list) -> list[str]:
    """Per model, its cost at each setting of its parameters (`--set`): a mermaid chart — one line
    per setting against the input size (sizes where every setting is valid), or, at one size, a
    bar per setting — and the exact figures in a table."""
    from archcalc.render.sweep import error_text, parameter_headings, value_text

    out = ["## Cost against the parameters", ""]
    for sweep in sweeps:
        title, attr = count_column(sweep.about)
        originals = {frozen(list(point.setting)): point.setting for point in sweep.points}
        settings = list(originals)
        sizes = list(dict.fromkeys(point.spatial for point in sweep.points))
        names = [", ".join(f"{n}={value_text(v)}" for n, v in zip(sweep.parameters, originals[setting]))
                 for setting in settings]
        at = {(frozen(list(point.setting)), point.spatial): point for point in sweep.points}
        out += [f"### {heading_text(sweep.about.model)}", ""]
        valid_sizes = [size for size in sizes if all(at[setting, size].totals for setting in settings)]
        if len(valid_sizes) > 1:
            out += _settings_lines(sweep, settings, names, valid_sizes, at)
        elif valid_sizes or len(sizes) == 1:  # at one size, where a line would be one point: a bar per setting
            out += _settings_bars(sweep, settings, names, (valid_sizes or sizes)[0], at, len(sizes) > 1)
        headings = parameter_headings(sweep.parameters, ["input", "params", title])
        table = Table([*(Column(name, ">") for name in headings), Column("input", "<"),
                       Column("params", ">"), Column(title, ">"), Column("", "<")])
        for point in sweep.points:  # as_markdown escapes each cell
            lead = [value_text(value) for value in point.setting]
            figures = (["", "", f"not valid: {error_text(point.error)}" if point.error else "not valid"]
                       if point.totals is None else
                       [grouped(point.totals.params), grouped(getattr(point.totals, attr)), ""])
            table.add([*lead, shape_text(point.spatial), *figures])
        out += [*as_markdown(table), ""]
    return out


def _resolution_mermaid(sweeps: list, valid: list, title: str, attr: str) -> list[str]:
    """The mermaid chart of the cost against the input size: a line per model, and its legend in
    words; at one size (where a line of one point draws nothing), a bar per model."""
    head = ["```mermaid", mermaid_colours(1 if len(valid) == 1 else len(sweeps)), "xychart-beta"]
    if len(valid) == 1:
        (row,) = valid
        models = ", ".join(f'"{mermaid_text(s.about.model)}"' for s in sweeps)
        size = _size_label(row[0]).strip('"')
        return [*head, f'    title "G{title} at input size {size}"',
                f'    x-axis "model" [{models}]', f'    y-axis "G{title}"',
                f"    bar [{', '.join(chart_number(getattr(p.totals, attr) / 1e9) for p in row)}]", "```"]
    sizes = ", ".join(_size_label(row[0]) for row in valid)
    lines = [f"    line [{', '.join(chart_number(getattr(row[index].totals, attr) / 1e9) for row in valid)}]"
             for index in range(len(sweeps))]
    names = [markdown_text(s.about.model) for s in sweeps]
    runs = colour_runs(len(sweeps))
    axis = _y_axis(f"G{title}", [getattr(p.totals, attr) / 1e9 for row in valid for p in row], len(runs))
    out = []
    for run, suffix in runs:
        out += ["```mermaid", mermaid_colours(len(lines[run])), "xychart-beta",
                f'    title "G{title} against input size{suffix}"', f'    x-axis "input size" [{sizes}]',
                axis, *lines[run], "```", "", f"{colour_legend(names[run])}.", ""]
    return out[:-1]


def _y_axis(unit: str, values: list[float], charts: int) -> str:
    """A mermaid chart's y-axis; where one chart is split into several (`colour_runs`), each from 0
    to the largest of all their `values`: mermaid scales a chart to its own values, and the
    charts would not read against one another."""
    return f'    y-axis "{unit}"' + (f" 0 --> {chart_number(max(values))}" if charts > 1 else "")


def _settings_lines(sweep, settings: list, names: list[str], sizes: list, at: dict) -> list[str]:
    """A mermaid line per setting of the parameters against the input size, and its legend in words."""
    title, attr = count_column(sweep.about)
    lines = [f"    line [{', '.join(chart_number(getattr(at[setting, size].totals, attr) / 1e9) for size in sizes)}]"
             for setting in settings]
    names = [markdown_text(name) for name in names]
    runs = colour_runs(len(settings))
    axis = _y_axis(f"G{title}", [getattr(at[setting, size].totals, attr) / 1e9 for setting in settings for size in sizes],
                   len(runs))
    out = []
    for run, suffix in runs:
        out += ["```mermaid", mermaid_colours(len(lines[run])), "xychart-beta",
                f'    title "G{title} against the input size{suffix}"',
                f'    x-axis "input size" [{", ".join(_size_label(at[settings[0], size]) for size in sizes)}]',
                axis, *lines[run], "```", "", f"{colour_legend(names[run])}.", ""]
    return out


def _settings_bars(sweep, settings: list, names: list[str], size, at: dict, named: bool) -> list[str]:
    """A mermaid bar per setting of the parameters valid at one input size (`named`: said in the title)."""
    title, attr = count_column(sweep.about)
    valid = [index for index, setting in enumerate(settings) if at[setting, size].totals]
    if not valid:
        return []
    label = _size_label(at[settings[valid[0]], size]).strip('"')
    where = f" at input size {label}" if named else ""
    labels = ", ".join(f'"{mermaid_text(names[index])}"' for index in valid)
    values = ", ".join(chart_number(getattr(at[settings[index], size].totals, attr) / 1e9) for index in valid)
    return ["```mermaid", mermaid_colours(1), "xychart-beta", f'    title "G{title} against the setting{where}"',
            f'    x-axis "setting" [{labels}]', f'    y-axis "G{title}"', f"    bar [{values}]", "```", ""]


def _size_label(point) -> str:
    """The sizes that vary, once where they are equal: "8000" (L), "224" (H = W), "224×320"."""
    varying = point.spatial[-2:]
    return f'"{varying[0]}"' if len(set(varying)) == 1 else f'"{shape_text(varying)}"'


def _bounded_ratio(roof, base) -> str:
    """One predicted latency over another, marked where either is a lower bound (`Roofline.uncounted`):
    at least the ratio where the first is one, at most where the second is; none where both are,
    nor where the second predicts no time (a model of views alone: no ratio to bound)."""
    if roof.uncounted and base.uncounted or not base.total:
        return "—"
    return ("≥ " if roof.uncounted else "≤ " if base.uncounted else "") + _ratio(roof.total, base.total)


def _ratio(value: float, base: float) -> str:
    """value / base: whole above 100 (990×), one decimal above 10 (73.8×), else 3 digits (0.00101×,
    0.0000362×)."""
    if not base:
        return "—"
    ratio = value / base
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.1f}×" if ratio >= 10 else f"{three_figures(ratio)}×"


def _same(models: list[ModelStats], text) -> str:
    values = [text(m) for m in models]
    return values[0] if len(set(values)) == 1 else ", ".join(values)


def _label(row: Row) -> str:
    return row.name if row.layers == 1 else f"{row.name} ({row.layers} layers)"


def _node_id(name: str) -> str:
    return f"n_{name}"  # a prefix keeps names such as 'end' from being mermaid keywords
