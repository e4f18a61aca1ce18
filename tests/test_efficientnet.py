"""EfficientNet B0–B7 and V2 S/M/L (specs/efficientnet.yaml) against torchvision's own models.

Measured in a throw-away virtualenv (torchvision is no dependency of archcalc): torch 2.14.1,
torchvision 0.29.1, fvcore 0.1.5.post20221221, Python 3.11, on the CPU with one thread; each model
built with weights=None, in eval mode, on 1×3×S×S with S the crop size of its DEFAULT weights'
transforms. Recorded: the parameters, the buffer values (BatchNorm's running statistics and
num_batches_tracked), fvcore's FlopCountAnalysis total, FlopCounterMode's total, and the published
GFLOPS (`DEFAULT.meta["_ops"]`, which is FlopCounterMode's total / 2 / 1e9 rounded to 3 decimals).
Per layer, tests/reference/efficientnet.json holds what both counters give each of torchvision's
leaf modules, made by tests/reference/efficientnet_layers.py in that environment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc
from archcalc.spec import load_graph

TORCHVISION = {  # input size, params, buffer values, fvcore total, FlopCounterMode total, published GFLOPS
    "efficientnet_b0": (224, 5_288_548, 42_065, 401_659_392, 771_629_504, "0.386"),
    "efficientnet_b1": (240, 7_794_184, 62_117, 712_732_416, 1_373_605_664, "0.687"),
    "efficientnet_b2": (288, 9_109_994, 67_637, 1_126_148_960, 2_175_058_912, "1.088"),
    "efficientnet_b3": (300, 12_233_232, 87_374, 1_883_903_568, 3_654_282_784, "1.827"),
    "efficientnet_b4": (380, 19_341_616, 125_296, 4_512_495_200, 8_787_542_048, "4.394"),
    "efficientnet_b5": (456, 30_389_784, 172_852, 10_505_072_320, 20_532_769_504, "10.266"),
    "efficientnet_b6": (528, 43_040_704, 224_566, 19_472_062_160, 38_135_187_072, "19.068"),
    "efficientnet_b7": (600, 66_347_960, 310_883, 38_449_437_600, 75_491_768_384, "37.746"),
    "efficientnet_v2_s": (384, 21_458_488, 153_982, 8_446_985_216, 16_731_234_304, "8.366"),
    "efficientnet_v2_m": (480, 54_139_356, 292_189, 24_789_640_384, 49_164_920_768, "24.582"),
    "efficientnet_v2_l": (480, 118_515_272, 512_793, 56_443_543_808, 112_159_398_016, "56.08"),
}

LAYERS = json.loads((Path(__file__).parent / "reference" / "efficientnet.json").read_text(encoding="utf-8"))

STOCHASTIC_DEPTH = {  # torchvision's StochasticDepth(p) of the blocks with a residual sum, in order
    "efficientnet_b0": [0.025, 0.05, 0.07500000000000001, 0.08750000000000001, 0.1125, 0.125,
                        0.15000000000000002, 0.1625, 0.17500000000000002],
    "efficientnet_v2_s": [0.0, 0.005, 0.015000000000000003, 0.02, 0.025, 0.035, 0.04, 0.045,
                          0.05500000000000001, 0.06000000000000001, 0.065, 0.07, 0.075, 0.085, 0.09, 0.095,
                          0.1, 0.10500000000000001, 0.11000000000000001, 0.11500000000000002,
                          0.12000000000000002, 0.13, 0.135, 0.14, 0.14500000000000002, 0.15, 0.155, 0.16,
                          0.165, 0.17, 0.175, 0.18, 0.185, 0.19, 0.195],
}

NORMS = {  # BatchNorm2d (eps, momentum) and the classifier's dropout, from torchvision's builders
    "efficientnet_b0": (1e-5, 0.1, 0.2), "efficientnet_b4": (1e-5, 0.1, 0.4),
    "efficientnet_b5": (1e-3, 0.01, 0.4), "efficientnet_b7": (1e-3, 0.01, 0.5),
    "efficientnet_v2_s": (1e-3, 0.1, 0.2), "efficientnet_v2_l": (1e-3, 0.1, 0.4),
}


@pytest.mark.parametrize("model", list(TORCHVISION))
def test_the_totals_are_torchvisions(model):
    size, params, buffers, fvcore, flop_counter, gflops = TORCHVISION[model]
    stats = archcalc.analyze(model)
    assert stats.input_shape == (1, 3, size, size)
    assert (stats.totals.params, stats.totals.buffers) == (params, buffers)
    assert f"{round(stats.totals.macs / 1e9, 3)}" == gflops  # as torchvision rounds its _ops
    assert archcalc.analyze(model, convention="fvcore").totals.macs == fvcore
    assert archcalc.analyze(model, convention="torch").totals.flops == flop_counter
    assert load_graph(model).published == {"params": params, "gflops": float(gflops), "source": "torchvision 0.29"}


@pytest.mark.parametrize("model", list(TORCHVISION))
def test_every_layer_counts_as_torchvisions_does(model):
    """Our layers that either counter counts, in order, against torchvision's leaf modules."""
    fvcore = archcalc.analyze(model, convention="fvcore").layers
    torch = archcalc.analyze(model, convention="torch").layers
    ours = [[a.figures.macs, b.figures.flops] for a, b in zip(fvcore, torch, strict=True)
            if a.figures.macs or b.figures.flops]
    assert ours == LAYERS["models"][model]


@pytest.mark.parametrize("model", list(STOCHASTIC_DEPTH))
def test_stochastic_depth_follows_torchvisions_schedule(model):
    """p = 0.2 · block / blocks, the blocks numbered across all stages; an identity at inference."""
    graph = load_graph(model)
    assert [node.attrs.p for node in graph.nodes if node.kind.key == "stochastic_depth"] == STOCHASTIC_DEPTH[model]


@pytest.mark.parametrize("model", list(NORMS))
def test_batch_norm_and_dropout_are_torchvisions(model):
    graph = load_graph(model)
    norms = {(node.attrs.eps, node.attrs.momentum) for node in graph.nodes if node.kind.key == "batchnorm2d"}
    dropouts = [node.attrs.p for node in graph.nodes if node.kind.key == "dropout"]
    assert (norms, dropouts) == ({NORMS[model][:2]}, [NORMS[model][2]])


def test_the_scaled_widths_round_as_make_divisible():
    """B2's 40 × 1.1 = 44 (5.5 eights) rounds up to 48; B3's 16 × 1.2 = 19.2 rounds to 16, more than
    10 % below, so 24 (torchvision's stage tables of B2 and B3)."""
    b2 = {layer.name: layer.shape for layer in archcalc.analyze("efficientnet_b2").layers}
    b3 = {layer.name: layer.shape for layer in archcalc.analyze("efficientnet_b3").layers}
    assert b2["stages.2.block.0.project.conv"][1] == 48
    assert b3["stages.0.block.0.project.conv"][1] == 24
    assert [b3[f"stages.{i}.block.0.project.conv"][1] for i in range(7)] == [24, 32, 48, 96, 136, 232, 384]
