"""`archcalc zoo`: the page of every bundled model (docs/zoo.md), our figures beside the published ones."""

from __future__ import annotations

from archcalc.render.markup import Markdown, code_span, markdown_text
from archcalc.render.numbers import field_texts, grouped, shape_text, three_figures
from archcalc.render.table import Column, Table, as_markdown
from archcalc.sizes import human_bytes
from archcalc.stats import ModelStats

INTRO = """\
# The architecture zoo

Every bundled model at its own input, batch 1, float32, under the `paper` convention (MACs of
convolutions and linear layers; FLOPs = 2 × MACs). Made by `archcalc zoo -o docs/zoo.md` from
`specs/`; a test fails when this page is out of date. "published" is the figure the spec's
`published:` block records, with its source below; ✓ marks a parameter count equal to ours and
GFLOPS equal to our GMACs to the published decimals (torchvision's "GFLOPS" count multiply-adds).
The output RF is the receptive field of the network's output feature map, in input pixels (size /
jump; "all": every unit sees the whole input through a squeeze-and-excitation scale): of the
layer nearest the output whose output is still a map (larger than 1 along some axis), which is
the layer before the head's global pooling or flatten, or the output itself for a model whose
output is a map (segmentation, U-Net); see `archcalc table --rf`.
"""


def zoo_page(models: list[ModelStats]) -> str:
    """The whole page: one table row per model, then the notes and sources."""
    table = Table([Column("model", "<"), Column("input", "<"), *(Column(heading, ">") for heading in (
        "params", "published params", "GMACs", "published GFLOPS", "GFLOPs", "activations", "output RF")),
        Column("spec", "<")])
    notes: list[str] = []
    for stats in models:
        table.add(_cells(stats, notes))
    lines = [INTRO, *as_markdown(table)]
    sources = sorted({stats.published["source"] for stats in models if stats.published})
    sources_text = ", ".join(map(markdown_text, sources))
    lines += ["", f"Published figures: {sources_text} (its weights' `num_params` and `_ops`)."]
    if notes:
        lines += ["", *(f"{index}. {markdown_text(note)}" for index, note in enumerate(notes, start=1))]
    return "\n".join(lines) + "\n"


def _cells(stats: ModelStats, notes: list[str]) -> list[str]:
    totals, published = stats.totals, stats.published or {}
    marker = ""
    if published.get("note"):
        notes.append(f"{stats.model}: {published['note']}")
        marker = f" ({len(notes)})"
    return [stats.model, shape_text(stats.input_shape[1:]), grouped(totals.params),
            _published_params(published, totals.params) + marker, _billions(totals.macs),
            _published_gflops(published, totals.macs), _billions(totals.flops),
            human_bytes(totals.activation_bytes), _output_field(stats), Markdown(code_span(stats.file))]


def _billions(count: int) -> str:
    """A count in billions: three decimals, or three significant figures where that is more
    (LeNet-5's 416,520 MACs are 0.000417, not 0.000), a trailing zero kept as the decimals keep
    it (81,000,000: 0.0810, as 1,010,000,000 is 1.010)."""
    return f"{count / 1e9:.3f}" if count >= 10**8 else three_figures(count / 1e9, zeros=True)


def _published_params(published, ours: int) -> str:
    if "params" not in published:
        return "—"
    return grouped(published["params"]) + (" ✓" if published["params"] == ours else "")


def _published_gflops(published, macs: int) -> str:
    if "gflops" not in published:
        return "—"
    text = str(published["gflops"])
    decimals = len(text.split(".")[1]) if "." in text else 0
    return text + (" ✓" if f"{macs / 1e9:.{decimals}f}" == f"{published['gflops']:.{decimals}f}" else "")


def _output_field(stats: ModelStats) -> str:
    """The field of the map nearest the (first) output, found walking back from it: the layer
    before global pooling and flatten, or the output itself where it is a map."""
    fields, layers = stats.receptive_fields or {}, {layer.name: layer for layer in stats.layers}
    pending, seen = [stats.outputs[0]], set()
    while pending:
        name = pending.pop(0)
        layer = layers.get(name)
        if layer is None or name in seen:
            continue
        seen.add(name)
        if fields.get(name) is not None and any(size > 1 for size in layer.shape[2:]):
            size, jump, _ = field_texts(fields[name])
            return f"{size} / {jump}"
        pending.extend(layer.inputs)
    return "—"
