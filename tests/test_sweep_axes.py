"""`archcalc sweep` and `report --sweep` on inputs with one, two and three spatial axes: every
point equals the numeric analysis at that size; records name the axes; a 1-D input refuses pairs."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.settings import parse_setting
from archcalc.sizes import parse_sweep_sizes
from archcalc.sweep import sweep

AUDIO = """
    name: tiny1d
    input: [2, 64]
    layers:
      - conv1: {kind: conv1d, out: 4, kernel: 5, stride: 2}
      - pool: {kind: maxpool1d, kernel: 2}
      - conv2: {kind: conv1d, out: 8, kernel: 3, padding: 1, stride: 2}
      - bn: batchnorm1d
      - avgpool: {kind: adaptive_avgpool1d, output_size: 1}
      - flatten: flatten
      - fc: {kind: linear, out: 3}
"""
"""A 1-D spec whose strides multiply to 8 (M5's, 4,096, are past the symbolic bound today)."""

VIDEO = """
    name: tiny3d
    input: [3, 4, 16, 16]
    layers:
      - conv1: {kind: conv3d, out: 4, kernel: 3, stride: [1, 2, 2], padding: 1}
      - pool: {kind: maxpool3d, kernel: [1, 2, 2]}
      - conv2: {kind: conv3d, out: 8, kernel: [1, 3, 3], stride: [1, 2, 1]}
      - bn: batchnorm3d
      - avgpool: {kind: adaptive_avgpool3d, output_size: 1}
      - flatten: flatten
      - fc: {kind: linear, out: 5}
"""

FIGURES = ("params", "weight", "bias", "buffers", "macs", "flops", "activations", "activation_bytes")


def numeric(spec, shape: tuple[int, ...], batch: int = 1) -> dict | None:
    """The totals of the numeric analysis at `shape` (C×…), None where it refuses the size."""
    try:
        stats = archcalc.analyze(spec, input="x".join(map(str, shape)), batch=batch)
    except SpecError:
        return None
    return {name: getattr(stats.totals, name) for name in FIGURES}


def sweep_json(cli, *args: str) -> dict:
    result = cli("sweep", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check_points(spec, points: list[dict], shape_of) -> None:
    """Each point's figures (or its refusal) equal the numeric analysis at its shape."""
    for point in points:
        expected = numeric(spec, shape_of(point), point["batch"])
        assert point["valid"] == (expected is not None), point
        if expected is not None:
            assert {name: point[name] for name in FIGURES} == expected, point


# --- the points equal the numeric analysis, per rank -----------------------------------------

def test_a_1d_sweep_is_over_the_length(cli, write_spec):
    spec = write_spec(AUDIO)
    document = sweep_json(cli, spec, "--size", "3:15:3,64,101", "--batch", "1,3")
    assert document["formulas"]["symbols"] == ["N", "L"]
    assert [(p["batch"], p["length"]) for p in document["points"]] == \
        [(n, length) for n in (1, 3) for length in (3, 6, 9, 12, 15, 64, 101)]
    assert [p["valid"] for p in document["points"][:7]] == [False, False, True, True, True, True, True]
    check_points(spec, document["points"], lambda p: (2, p["length"]))


def test_a_2d_sweep_is_over_height_and_width(cli):
    document = sweep_json(cli, "lenet5", "--size", "8,28,29x40")
    assert [(p["height"], p["width"]) for p in document["points"]] == [(8, 8), (28, 28), (29, 40)]
    check_points("lenet5", document["points"], lambda p: (1, p["height"], p["width"]))


def test_a_3d_sweep_keeps_the_specs_depth(cli, write_spec):
    spec = write_spec(VIDEO)
    document = sweep_json(cli, spec, "--size", "4:24:5,17x30", "--batch", "2")
    assert document["formulas"]["symbols"] == ["H", "W"]
    assert [(p["depth"], p["height"], p["width"]) for p in document["points"]] == \
        [(4, 4, 4), (4, 9, 9), (4, 14, 14), (4, 19, 19), (4, 24, 24), (4, 17, 30)]
    assert not document["points"][0]["valid"]
    check_points(spec, document["points"], lambda p: (3, p["depth"], p["height"], p["width"]))


def test_r3d_18_sweeps_its_frames_at_16(cli):
    result = cli("sweep", "r3d_18", "--size", "112,112x160")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("input 1×3×16×H×W ·")
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("3×16×")]
    assert [row[0] for row in rows] == ["3×16×112×112", "3×16×112×160"]
    for row, shape in zip(rows, [(3, 16, 112, 112), (3, 16, 112, 160)]):
        totals = numeric("r3d_18", shape)
        assert row[1:4] == [f"{totals['params']:,}", f"{totals['macs']:,}", f"{totals['activations']:,}"]


def test_the_python_api_takes_numbers_and_pairs(write_spec):
    audio, video = write_spec(AUDIO, "audio.yaml"), write_spec(VIDEO, "video.yaml")
    assert [p.input for p in sweep(audio, [8, 30], [1]).points] == [(2, 8), (2, 30)]
    result = sweep(video, [12, (13, 20)], [1], input=(3, 2, 16, 16))
    assert result.axes == ("depth", "height", "width")
    assert [p.input for p in result.points] == [(3, 2, 12, 12), (3, 2, 13, 20)]
    assert [p.totals.macs for p in result.points] == [numeric(video, p.input)["macs"] for p in result.points]


# --- records and the text table, per rank ----------------------------------------------------

FIGURE_COLUMNS = "valid,params,weight,bias,buffers,macs,flops,activations,activation_bytes,unmet,error"


@pytest.mark.parametrize("spec, size, axes, first", [
    (AUDIO, "40", "length", ["1", "40", "True"]),
    (None, "40x48", "height,width", ["1", "40", "48", "True"]),
    (VIDEO, "40x48", "depth,height,width", ["1", "4", "40", "48", "True"]),
])
def test_the_csv_names_each_rank_s_axes(cli, write_spec, spec, size, axes, first):
    path = write_spec(spec) if spec else "lenet5"
    result = cli("sweep", path, "--size", size, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"batch,{axes},{FIGURE_COLUMNS}"
    assert next(csv.reader(io.StringIO(lines[1])))[:len(first)] == first


def test_the_csv_says_why_the_numbers_refuse_a_point(cli):
    """LeNet-5 at 2,000,000 × 2,000,000 meets every constraint of its formulas, but its flatten
    holds 16 · 499,997² values (no padding: 2,000,000 − 4 = 1,999,996, halved, − 4, halved), past
    2³¹ − 1: the numeric analysis refuses it, and the CSV says so, as the table and the JSON do."""
    result = cli("sweep", "lenet5", "--size", "2000000", "--format", "csv")
    assert result.exit_code == 0, result.output
    point = next(csv.DictReader(io.StringIO(result.stdout)))
    assert point["valid"] == "False" and point["unmet"] == ""
    assert f"layer 'flatten': the output 1×{16 * 499_997 ** 2} has a size above 2,147,483,647" in point["error"]


@pytest.mark.parametrize("spec, size, keys", [
    (AUDIO, "40", ["batch", "length", "valid"]),
    (None, "40x48", ["batch", "height", "width", "valid"]),
    (VIDEO, "40x48", ["batch", "depth", "height", "width", "valid"]),
])
def test_the_json_points_name_each_rank_s_axes(cli, write_spec, spec, size, keys):
    document = sweep_json(cli, write_spec(spec) if spec else "lenet5", "--size", size)
    assert list(document["points"][0])[:len(keys) + 1] == [*keys, "params"]


@pytest.mark.parametrize("spec, shapes", [
    (AUDIO, ["2×4", "2×40"]),
    (None, ["1×4×4", "1×40×40"]),
    (VIDEO, ["3×4×4×4", "3×4×40×40"]),
])
def test_the_table_shows_the_whole_input_per_point(cli, write_spec, spec, shapes):
    result = cli("sweep", write_spec(spec) if spec else "lenet5", "--size", "4,40")
    assert result.exit_code == 0, result.output
    table = result.stdout.split("─\n", 1)[1].splitlines()
    assert [line.split()[0] for line in table] == shapes
    assert "not valid: needs" in table[0] and "not valid" not in table[1]


# --- a 1-D input has one size ----------------------------------------------------------------

PAIR_REFUSED = ("error: 1-D inputs have one size, the length L: got the pair {} for tiny1d (input 2×L)\n"
                "  hint: give lengths, like 8000,16000 or 8000:16000:4000\n")


@pytest.mark.parametrize("args, pair", [
    (["sweep", "--size", "8,16x32"], "16x32"), (["sweep", "--size", "32 X 32"], "32x32"),
    (["sweep", "--size", "8:16,24×24", "--batch", "1,2"], "24x24"), (["report", "--sweep", "16x24"], "16x24"),
])
def test_a_pair_is_refused_for_a_1d_input(cli, write_spec, args, pair):
    result = cli(args[0], write_spec(AUDIO), *args[1:])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", PAIR_REFUSED.format(pair))


def test_the_python_api_refuses_a_pair_for_a_1d_input(write_spec):
    with pytest.raises(SpecError, match="^1-D inputs have one size, the length L: got the pair 8x8 for tiny1d"):
        sweep(write_spec(AUDIO), [8, (8, 8)], [1])


@pytest.mark.parametrize("sizes, batches, given, says", [
    ([0], [1], None, "a size is a whole number from 1"),
    ([(8, -3)], [1], None, "a size is a whole number from 1"),
    ([2.5], [1], None, "a size is a whole number from 1"),
    ([8], [0], None, "the batch size must be a whole number from 1"),
    ([8], [-1], None, "the batch size must be a whole number from 1"),
    ([8], [], None, "a sweep needs a batch size"),
    ([8], [1], (0, 4, 16, 16), "input must be channels and 1 to 3 sizes"),
])
def test_the_python_api_refuses_what_is_not_a_size(sizes, batches, given, says, write_spec):
    """The numeric analysis takes sizes, batches and channels from 1 up only; the formulas
    evaluated at 0 or below gave figures (a batch of -1: minus the MACs of a batch of 1)."""
    video = write_spec(VIDEO.replace("out: 4,", "out: width,").replace("    layers:", "    params: {width: 4}\n    layers:"))
    with pytest.raises(SpecError, match=says):
        sweep(video, sizes, batches, input=given)
    with pytest.raises(SpecError, match=says):
        sweep(video, sizes, batches, input=given, settings=[parse_setting("width=4,8")])


def test_the_python_api_takes_numpy_integers_in_an_input_as_in_its_sizes_and_batches():
    """sweep() and analyze_graph() took an input of numpy integers (sizes worked out with numpy)
    until 7eaf012 checked it as parse_input does, which took Python's ints alone, while a sweep's
    sizes and a batch take any integer type."""
    np = pytest.importorskip("numpy")
    from archcalc.analysis import analyze_graph
    from archcalc.spec import load_graph

    given = tuple(np.int64(n) for n in (3, 64, 64))
    macs = archcalc.analyze("resnet18", input=(3, 64, 64)).totals.macs
    assert archcalc.analyze("resnet18", input=given).totals.macs == macs
    assert analyze_graph(load_graph("resnet18"), given).totals.macs == macs
    assert sweep("resnet18", [64], [1], input=given).points[0].totals.macs == macs


def test_m5_is_swept_or_clearly_refused(cli):
    """M5's strides multiply to 4,096: past the symbolic bound today (one error, exit 2); where
    the bound allows it, the points equal the numeric analysis."""
    result = cli("sweep", "m5", "--size", "8000:16000:4000", "--format", "json")
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and result.stdout == ""
        return
    assert result.exit_code == 0, result.output
    points = json.loads(result.stdout)["points"]
    assert [p["length"] for p in points] == [8000, 12000, 16000]
    check_points("m5", points, lambda p: (1, p["length"]))


def test_the_size_list_keeps_pairs_apart_from_sizes():
    assert parse_sweep_sizes("8,16:32:16, 24x32 ,40×40,7") == [8, 16, 32, (24, 32), (40, 40), 7]


@pytest.mark.parametrize(("sizes", "batches", "message"), [
    ([32, 32], [1], "the size 32 is given more than once: give each size once"),
    ([32, (32, 32)], [1], "the size 32x32 is given more than once (as 32 and as 32x32): give each size once"),
    ([32], [1, 1], "the batch size 1 is given more than once: give each batch size once"),
])
@pytest.mark.parametrize("settings", [(), (parse_setting("padding=0,1"),)])
def test_sweep_from_python_refuses_a_repeated_size_as_the_command_line_does(sizes, batches, message, settings):
    """sweep('lenet5', [32, 32], [1]) gave two points for one size, where `--size 32,32` is refused
    with this message (parse_sweep_sizes): a point computed, and shown, twice."""
    with pytest.raises(SpecError) as refused:
        sweep("lenet5", sizes, batches, settings=settings)
    assert refused.value.message == message


@pytest.mark.parametrize(("setting", "message"), [
    ("num_classes=10", "'num_classes' is not a parameter of lenet5"),
    ("padding=a", "'padding' is a number in the spec (0), not 'a'"),
])
def test_sweep_from_python_refuses_a_bad_setting_as_its_docstring_says_with_a_spec_error(setting, message):
    """sweep()'s docstring: 'SpecError for an unknown parameter, or a value of another kind than
    the parameter's'; it raised UsageError, the command line's, which `except SpecError` missed."""
    with pytest.raises(SpecError) as refused:
        sweep("lenet5", [32], [1], settings=[parse_setting(setting)])
    assert refused.value.message.startswith(message)


def test_a_range_ends_where_its_last_step_lands_as_docs_symbolic_says():
    """docs/symbolic.md: '32:100:32 is 32, 64 and 96' (a fuzzer asked: the end is included where a
    step lands on it)."""
    assert parse_sweep_sizes("32:100:32") == [32, 64, 96]
    assert parse_sweep_sizes("32:96:32") == [32, 64, 96]


# --- report --sweep ----------------------------------------------------------------------------

def _resolution(report: str) -> tuple[list[str], list[list[str]]]:
    """The line chart's x labels (none at one size, a bar per model) and the table's rows of a
    report's cost against resolution."""
    section = report.split("## Cost against resolution", 1)[1].split("\n## ", 1)[0]
    axis = section.split('x-axis "input size" [', 1)[1:]
    labels = re.findall(r'"([^"]+)"', axis[0].split("]", 1)[0]) if axis else []
    rows = [line.strip("| ").split(" | ") for line in section.splitlines() if re.match(r"\| \d", line)]
    return labels, rows


def test_report_sweeps_a_1d_input_over_its_length(cli, write_spec):
    spec = write_spec(AUDIO)
    result = cli("report", spec, "--sweep", "4,24:64:20")
    assert result.exit_code == 0, result.output
    labels, rows = _resolution(result.stdout)
    assert labels == ["24", "44", "64"]
    assert rows == [["4", "not valid"], *([str(n), f"{numeric(spec, (2, n))['macs']:,}"] for n in (24, 44, 64))]


def test_report_says_why_the_numbers_refuse_a_size_the_formulas_allow(cli):
    """LeNet-5 at 2,000,000 meets 'H ≥ 16', the constraint the report prints above its table, but
    its flatten holds 16 · 499,997² values, past 2³¹ − 1 (see the CSV's test above): the table said
    only "not valid", against the line above it; it gives the numeric analysis's error."""
    result = cli("report", "lenet5", "--sweep", "28,2000000")
    assert result.exit_code == 0, result.output
    _, rows = _resolution(result.stdout)
    assert rows[0] == ["28×28", f"{numeric('lenet5', (1, 28, 28))['macs']:,}"]
    assert rows[1][0] == "2000000×2000000" and rows[1][1].startswith("not valid: specs/lenet.yaml:")
    assert f"layer 'flatten': the output 1×{16 * 499_997 ** 2} has a size above 2,147,483,647" in rows[1][1]


def test_report_sweeps_a_3d_input_at_the_depth_of_its_input(cli, write_spec):
    spec = write_spec(VIDEO)
    result = cli("report", spec, "--input", "3x2x16x16", "--sweep", "16,12x20")
    assert result.exit_code == 0, result.output
    labels, rows = _resolution(result.stdout)
    assert labels == ["16", "12×20"]
    assert rows == [["2×16×16", f"{numeric(spec, (3, 2, 16, 16))['macs']:,}"],
                    ["2×12×20", f"{numeric(spec, (3, 2, 12, 20))['macs']:,}"]]


def test_report_sweeps_at_the_channels_of_its_input(cli):
    """The sweep is of the model the rest of the report describes: LeNet-5 at 3 channels."""
    result = cli("report", "lenet5", "--input", "3x32x32", "--sweep", "32")
    assert result.exit_code == 0, result.output
    assert _resolution(result.stdout)[1] == [["32×32", f"{numeric('lenet5', (3, 32, 32))['macs']:,}"]]


@pytest.mark.parametrize("batch", ["N", "-1", "a", "1.5", "2x3", "1,,8"])
def test_a_malformed_sweep_batch_gets_the_batch_message(cli, batch):
    """An attacking review found `--batch N`, `-1`, `a` and `1.5` answered with the --size message,
    which offers pairs (224x320) that --batch refuses; every malformed batch list gets the batch's."""
    result = cli("sweep", "resnet18", "--size", "64", "--batch", batch)
    assert result.exit_code == 2
    assert f"batch sizes are whole numbers like 1, 1,8,32 or 1:64:8 (a symbolic batch, --batch N, is table's and " \
        f"memory's), got '{batch}'" in result.stderr and "224x320" not in result.stderr
