"""The lecture notes' worked examples and tables (shared/seeds), checked against archcalc.

Expected values are written as the lectures' formulas or copied from their tables, never
from archcalc's own output.
"""

from __future__ import annotations

import pytest

import archcalc
from archcalc.layers.window import window_output


@pytest.mark.parametrize("n, k, s, p, expected", [
    (227, 11, 4, 0, 55),   # AlexNet conv1 (seed 003: output shape)
    (32, 5, 1, 0, 28),     # LeNet C1
    (22, 11, 2, 0, 6),     # seed 003 quiz: 11×11 filter, stride 2, 22×22 input → 6×6×16
])
def test_output_size_formula(n, k, s, p, expected):
    # the seeds' formula: ⌊(n − k + p + s) / s⌋ with p the total padding
    assert (n - k + 2 * p + s) // s == expected
    assert window_output(n, k, s, p) == expected


def test_conv_calculator_shows_the_working(cli):
    result = cli("conv", "--input", "227", "--kernel", "11", "--stride", "4", "--padding", "0")
    assert result.exit_code == 0
    assert "⌊(227 + 2·0 − 1·(11 − 1) − 1) / 4⌋ + 1" in result.stdout
    assert "⌊216 / 4⌋ + 1" in result.stdout
    assert "output: 1×55×55" in result.stdout


def test_rgb_3x3_conv_with_64_filters_has_28_times_64_parameters(cli):
    # seed 003, Q4: (3·3·3 + 1)·64 learnable parameters, 224×224 input without padding → 222
    result = cli("conv", "--input", "3x224x224", "--kernel", "3", "--out-channels", "64")
    assert result.exit_code == 0
    assert f"parameters: {(3 * 3 * 3 + 1) * 64:,}" in result.stdout
    assert "output: 64×222×222" in result.stdout


LENET_PARAMS = {  # (5·5·1 + 1)·6, (5·5·6 + 1)·16, (400 + 1)·120, (120 + 1)·84, (84 + 1)·10
    "conv1": (5 * 5 * 1 + 1) * 6, "conv2": (5 * 5 * 6 + 1) * 16, "fc1": (16 * 5 * 5 + 1) * 120,
    "fc2": (120 + 1) * 84, "fc3": (84 + 1) * 10,
}


@pytest.mark.parametrize("model", ["lenet5", "lenet5_pytorch"])
def test_lenet5_parameters_and_macs(model):
    stats = archcalc.analyze(model)
    by_name = {layer.name: layer.figures for layer in stats.layers}
    assert {name: by_name[name].params for name in LENET_PARAMS} == LENET_PARAMS
    assert list(LENET_PARAMS.values()) == [156, 2_416, 48_120, 10_164, 850]
    assert stats.totals.params == 61_706
    # the seed's weight-only figures for LeNet: conv1 150, conv2 2.4K
    assert by_name["conv1"].weight == 150 and by_name["conv2"].weight == 2_400
    # 28·28·6·25 + 10·10·16·150 + 400·120 + 120·84 + 84·10
    assert stats.totals.macs == 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    assert stats.totals.macs == 416_520


def test_lenet5_weight_column_in_the_table(cli):
    result = cli("table", "lenet5", "--format", "csv")
    rows = {line.split(",")[1]: line.split(",") for line in result.stdout.splitlines()[1:]}
    weight = result.stdout.splitlines()[0].split(",").index("weight")
    assert rows["conv1"][weight] == "150" and rows["conv2"][weight] == "2400"


# seed 001/003 "Complexity" table, AlexNet column: (#parameters, FLOP) as printed, and the
# layers they sum. The lecture counts weights and multiply-accumulates.
ALEXNET_LECTURE = {
    "Conv1": (["conv1.conv"], (35, "K"), (101, "M")),
    "Conv2": (["conv2.conv"], (614, "K"), (415, "M")),
    "Conv3-5": (["conv3.conv", "conv4.conv", "conv5.conv"], (3, "M"), (445, "M")),
    "Dense1": (["fc6"], (26, "M"), (26, "M")),
    "Dense2": (["fc7"], (16, "M"), (16, "M")),
}
UNIT = {"K": 1e3, "M": 1e6}


@pytest.mark.parametrize("row", list(ALEXNET_LECTURE))
def test_lecture_alexnet_complexity_table(row):
    stats = archcalc.analyze("alexnet_lecture")
    layers, (params, p_unit), (flop, f_unit) = ALEXNET_LECTURE[row]
    figures = [layer.figures for layer in stats.layers if layer.name in layers]
    assert len(figures) == len(layers)
    weights = sum(f.weight for f in figures)
    macs = sum(f.macs for f in figures)
    # "to the precision printed": within one unit of the last printed digit
    assert abs(weights / UNIT[p_unit] - params) < 1
    assert abs(macs / UNIT[f_unit] - flop) < 1


def test_lecture_alexnet_layout():
    stats = archcalc.analyze("alexnet_lecture")
    shapes = {layer.name: layer.shape for layer in stats.layers}
    assert shapes["conv1.conv"] == (1, 96, 54, 54)  # ⌊(224 + 2 − 11) / 4⌋ + 1
    assert shapes["flatten"] == (1, 6400)           # 256·5·5, the lecture's 6400 → 4096
    by_name = {layer.name: layer.figures for layer in stats.layers}
    assert by_name["conv1.conv"].weight == 11 * 11 * 3 * 96
    assert by_name["fc6"].weight == 6400 * 4096
