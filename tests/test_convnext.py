"""ConvNeXt (specs/convnext.yaml) against torchvision's own models.

torchvision 0.29.1 models.convnext_* (weights=None, eval mode, CPU, 1×3×224×224 — the DEFAULT
weights' crop size), measured in a throw-away virtualenv with torch 2.14.1 and fvcore
0.1.5.post20221221: parameters, buffer values, fvcore's FlopCountAnalysis total, FlopCounterMode's
total, and `DEFAULT.meta['_ops']` (GFLOPS, which is FlopCounterMode's total / 2 / 1e9 rounded to 3
decimals). Per layer: tests/reference/convnext.json (made by tests/reference/make_convnext.py from
the same run's per-module counts).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc
from archcalc.spec import bundled, load_graph

TORCHVISION = {  # params, buffer values, fvcore total, FlopCounterMode total, published GFLOPS
    "convnext_tiny": (28_589_128, 0, 4_470_437_376, 8_911_062_528, "4.456"),
    "convnext_small": (50_223_688, 0, 8_705_392_128, 17_367_424_512, "8.684"),
    "convnext_base": (88_591_464, 0, 15_383_635_968, 30_709_458_944, "15.355"),
    "convnext_large": (197_767_336, 0, 34_404_793_344, 68_722_867_200, "34.361"),
}

REFERENCE = json.loads((Path(__file__).parent / "reference" / "convnext.json").read_text())


@pytest.mark.parametrize("model", list(TORCHVISION))
def test_convnext_totals_are_torchvisions(model):
    params, buffers, fvcore, flop_counter, gflops = TORCHVISION[model]
    paper = archcalc.analyze(model)
    assert paper.shapes[paper.outputs[0]] == (1, 1000)
    assert (paper.totals.params, paper.totals.buffers) == (params, buffers)
    assert f"{paper.totals.macs / 1e9:.3f}" == gflops
    assert archcalc.analyze(model, convention="fvcore").totals.macs == fvcore
    assert archcalc.analyze(model, convention="torch").totals.flops == flop_counter


@pytest.mark.parametrize("model", list(TORCHVISION))
def test_convnext_layers_count_as_torchvisions_modules(model):
    """Every layer either counter counts, in order, with both counts of torchvision's module."""
    fvcore = archcalc.analyze(model, convention="fvcore").layers
    torch = archcalc.analyze(model, convention="torch").layers
    assert [layer.name for layer in fvcore] == [layer.name for layer in torch]
    ours = [[a.figures.macs, b.figures.flops] for a, b in zip(fvcore, torch) if a.figures.macs or b.figures.flops]
    assert ours == REFERENCE[model]


def test_the_drop_path_rate_rises_linearly_over_all_blocks():
    """torchvision's schedule: block i of n drops with stochastic_depth_prob · i / (n − 1)."""
    entry = next(entry for entry in bundled() if entry.name == "convnext_small")
    graph = load_graph(entry.path, entry.variant)
    rates = [node.attrs["p"] for node in graph.nodes if node.name.endswith(".drop")]
    assert rates == [0.4 * i / 35 for i in range(36)]
