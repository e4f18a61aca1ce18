"""RegNetX and RegNetY against torchvision's own models.

Measured on torchvision 0.29.1 with torch 2.14.1 and fvcore 0.1.5.post20221221 in a throw-away
virtualenv (torchvision is no dependency of archcalc): each model built with weights=None, in eval
mode, batch 1, on the CPU, at its DEFAULT weights' crop size (224×224; 384×384 for regnet_y_128gf,
whose DEFAULT weights are IMAGENET1K_SWAG_E2E_V1): the parameters, the buffer values, fvcore's
FlopCountAnalysis total and FlopCounterMode's total; the published GFLOPS are `DEFAULT.meta["_ops"]`
(nothing downloaded), which is FlopCounterMode's FLOPs / 2 / 10⁹ rounded to 3 decimals. The stage
table is what torchvision's `BlockParams.from_init_params` computes for each model. Layer by layer:
tests/reference/regnet.json, written by tests/reference/regnet_reference.py (how: its docstring).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc
from archcalc.conventions import counted
from archcalc.spec import load_graph

TORCHVISION = {  # params, buffer values, fvcore total, FlopCounterMode FLOPs, published GFLOPS
    "regnet_x_400mf": (5_495_976, 37_927, 420_179_472, 827_625_216, 0.414),
    "regnet_x_800mf": (7_259_656, 37_365, 810_028_128, 1_599_399_424, 0.8),
    "regnet_x_1_6gf": (9_190_136, 43_563, 1_618_759_504, 3_205_699_584, 1.603),
    "regnet_x_3_2gf": (15_296_552, 62_640, 3_199_404_208, 6_353_243_904, 3.177),
    "regnet_x_8gf": (39_572_648, 90_538, 8_023_343_872, 15_990_264_832, 7.995),
    "regnet_x_16gf": (54_278_536, 111_239, 15_991_884_800, 31_881_510_912, 15.941),
    "regnet_x_32gf": (107_811_560, 162_090, 31_808_655_592, 63_471_859_584, 31.736),
    "regnet_y_400mf": (4_344_144, 27_205, 410_406_088, 803_685_696, 0.402),
    "regnet_y_800mf": (6_432_512, 30_479, 845_841_264, 1_667_712_512, 0.834),
    "regnet_y_1_6gf": (11_202_430, 52_758, 1_630_259_080, 3_224_152_320, 1.612),
    "regnet_y_3_2gf": (19_436_338, 66_228, 3_201_896_896, 6_352_965_504, 3.176),
    "regnet_y_8gf": (39_381_472, 86_584, 8_517_250_560, 16_946_141_184, 8.473),
    "regnet_y_16gf": (83_590_140, 122_875, 15_963_307_584, 31_823_020_544, 15.912),
    "regnet_y_32gf": (145_046_770, 158_353, 32_347_836_096, 64_559_105_664, 32.28),
    "regnet_y_128gf": (644_812_894, 415_158, 375_047_565_696, 749_140_012_800, 374.57),
}

OTHER_WEIGHTS = {  # at the crop size of the model's other weights: fvcore, FlopCounterMode, published GFLOPS
    ("regnet_y_16gf", "3x384x384"): (46_887_117_824, 93_469_794_304, 46.735),  # IMAGENET1K_SWAG_E2E_V1
    ("regnet_y_32gf", "3x384x384"): (95_027_127_616, 189_652_916_864, 94.826),  # IMAGENET1K_SWAG_E2E_V1
    ("regnet_y_128gf", "3x224x224"): (127_680_318_496, 255_035_631_360, 127.518),  # IMAGENET1K_SWAG_LINEAR_V1
}

STAGES = {  # blocks per stage, stage widths, 3×3 groups per stage (w_b // group width)
    "regnet_x_400mf": ([1, 2, 7, 12], [32, 64, 160, 400], [2, 4, 10, 25]),
    "regnet_x_800mf": ([1, 3, 7, 5], [64, 128, 288, 672], [4, 8, 18, 42]),
    "regnet_x_1_6gf": ([2, 4, 10, 2], [72, 168, 408, 912], [3, 7, 17, 38]),
    "regnet_x_3_2gf": ([2, 6, 15, 2], [96, 192, 432, 1008], [2, 4, 9, 21]),
    "regnet_x_8gf": ([2, 5, 15, 1], [80, 240, 720, 1920], [1, 2, 6, 16]),
    "regnet_x_16gf": ([2, 6, 13, 1], [256, 512, 896, 2048], [2, 4, 7, 16]),
    "regnet_x_32gf": ([2, 7, 13, 1], [336, 672, 1344, 2520], [2, 4, 8, 15]),
    "regnet_y_400mf": ([1, 3, 6, 6], [48, 104, 208, 440], [6, 13, 26, 55]),
    "regnet_y_800mf": ([1, 3, 8, 2], [64, 144, 320, 784], [4, 9, 20, 49]),
    "regnet_y_1_6gf": ([2, 6, 17, 2], [48, 120, 336, 888], [2, 5, 14, 37]),
    "regnet_y_3_2gf": ([2, 5, 13, 1], [72, 216, 576, 1512], [3, 9, 24, 63]),
    "regnet_y_8gf": ([2, 4, 10, 1], [224, 448, 896, 2016], [4, 8, 16, 36]),
    "regnet_y_16gf": ([2, 4, 11, 1], [224, 448, 1232, 3024], [2, 4, 11, 27]),
    "regnet_y_32gf": ([2, 5, 12, 1], [232, 696, 1392, 3712], [1, 3, 6, 16]),
    "regnet_y_128gf": ([2, 7, 17, 1], [528, 1056, 2904, 7392], [2, 4, 11, 28]),
}

LAYERS = json.loads((Path(__file__).parent / "reference" / "regnet.json").read_text(encoding="utf-8"))["models"]


@pytest.mark.parametrize("model", list(TORCHVISION))
def test_regnets_are_torchvisions(model):
    params, buffers, fvcore, flop_counter, gflops = TORCHVISION[model]
    stats = archcalc.analyze(model, convention="paper")
    assert list(stats.input_shape) == LAYERS[model]["input"]
    assert (stats.totals.params, stats.totals.buffers) == (params, buffers)
    assert round(stats.totals.macs / 1e9, 3) == gflops
    assert archcalc.analyze(model, convention="fvcore").totals.macs == fvcore
    assert archcalc.analyze(model, convention="torch").totals.flops == flop_counter
    assert load_graph(model).published == {"params": params, "gflops": gflops, "source": "torchvision 0.29"}


@pytest.mark.parametrize("model, size", list(OTHER_WEIGHTS))
def test_regnets_at_the_input_of_their_other_weights(model, size):
    fvcore, flop_counter, gflops = OTHER_WEIGHTS[model, size]
    assert round(archcalc.analyze(model, input=size).totals.macs / 1e9, 3) == gflops
    assert archcalc.analyze(model, input=size, convention="fvcore").totals.macs == fvcore
    assert archcalc.analyze(model, input=size, convention="torch").totals.flops == flop_counter


@pytest.mark.parametrize("model", list(TORCHVISION))
def test_every_layer_counts_what_torchvisions_module_counts(model):
    """Every layer with a count, in order, against torchvision's leaf modules with one (ReLU,
    Sigmoid, the residual add and the SE product count 0 under both): [fvcore, FlopCounterMode]."""
    layers = archcalc.analyze(model).layers
    counts = [[counted(layer.counts["fvcore"]), 2 * layer.counts["torch"]] for layer in layers]
    assert [pair for pair in counts if pair != [0, 0]] == LAYERS[model]["counts"]


@pytest.mark.parametrize("model", list(STAGES))
def test_the_width_rule_gives_torchvisions_stages(model):
    """Stages start where the quantised width changes (a stride-2 block); widths are rounded to
    their group width. regnet_x_1_6gf's second stage is 168 wide because its quantised width,
    80·2.25 = 180 → 8·round(22.5), rounds half to even (176, then 168 by the group width 24): half
    up would give 184 and 192."""
    nodes = {node.name: node for node in load_graph(model).nodes}
    blocks = [nodes[f"blocks.{i}.b.conv"] for i in range(sum(STAGES[model][0]))]
    starts = [i for i, conv in enumerate(blocks) if conv.attrs["stride"] == (2, 2)]
    depths = [end - start for start, end in zip(starts, [*starts[1:], len(blocks)])]
    firsts = [blocks[start] for start in starts]
    assert (depths, [conv.attrs["out"] for conv in firsts], [conv.attrs["groups"] for conv in firsts]) == STAGES[model]
    assert all(f"blocks.{i}.proj.conv" in nodes for i in starts)
    assert sum(name.endswith(".proj.conv") for name in nodes) == len(starts)


def test_regnet_y_squeezes_to_a_quarter_of_the_blocks_input_width():
    """torchvision's SE width is int(round(0.25 · width_in)), width_in the block's input: the stem's
    32 for the first block, the stage before's width for a stage's first block."""
    nodes = {node.name: node for node in load_graph("regnet_y_400mf").nodes}
    squeeze = [nodes[f"blocks.{i}.se.fc1"].attrs["out"] for i in range(16)]
    assert squeeze == [8, 12, 26, 26, 26, 52, 52, 52, 52, 52, 52, 110, 110, 110, 110, 110]
    assert not any(".se." in node.name for node in load_graph("regnet_x_400mf").nodes)


OFF_THE_TABLE = {  # torchvision's RegNet(BlockParams.from_init_params(...)) at 1×3×224×224: params, FlopCounterMode FLOPs
    ("regnet_y_400mf", (("group_width", 8), ("bottleneck_multiplier", 0.5))): (2_529_000, 446_992_512),
    ("regnet_x_1_6gf", (("bottleneck_multiplier", 0.75),)): (7_569_160, 2_766_691_584),
}


@pytest.mark.parametrize("model, settings", list(OFF_THE_TABLE))
def test_settings_torchvision_ships_no_model_for_still_build_its_model(model, settings):
    """The rule is the spec's, not a table of the shipped models: a bottleneck narrower than the
    block (a width that need not divide evenly) gives what torchvision's own BlockParams gives
    (measured as the models above, with the same torchvision)."""
    from archcalc.settings import Setting
    from archcalc.sweep import sweep_parameters

    setting = [Setting(name, (value,)) for name, value in settings]
    (point,) = sweep_parameters(model, [224], [1], setting, convention="torch").points
    assert (point.totals.params, point.totals.flops) == OFF_THE_TABLE[model, settings]
