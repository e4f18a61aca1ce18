"""`archcalc zoo`: the page of every bundled model (docs/zoo.md), our figures beside the published ones."""

from __future__ import annotations

from archcalc.render.markup import Markdown, code_span, markdown_text
from archcalc.render.numbers import field_texts, grouped, shape_text
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
The receptive field is that of the last convolution, in input pixels (size / jump; "all": every
unit sees the whole input through a squeeze-and-excitation scale); see `archcalc table --rf`.
"""


def zoo_page(models: list[ModelStats]) -> str:
    """The whole page: one table row per model, then the notes and sources."""
    table = Table([Column("model", "<"), Column("input", "<"), *(Column(heading, ">") for heading in (
        "params", "published params", "GMACs", "published GFLOPS", "GFLOPs", "activations", "RF of the last conv")),
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
            _published_params(published, totals.params) + marker, f"{totals.macs / 1e9:.3f}",
            _published_gflops(published, totals.macs), f"{totals.flops / 1e9:.3f}",
            human_bytes(totals.activation_bytes), _last_conv_field(stats), Markdown(code_span(stats.file))]


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


def _last_conv_field(stats: ModelStats) -> str:
    convs = [layer.name for layer in stats.layers if layer.kind in ("conv1d", "conv2d", "conv3d")]
    if not convs or not stats.receptive_fields or stats.receptive_fields[convs[-1]] is None:
        return "—"
    size, jump, _ = field_texts(stats.receptive_fields[convs[-1]])
    return f"{size} / {jump}"
