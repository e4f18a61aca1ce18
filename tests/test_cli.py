"""The command line: formats carry the same figures, blocks sum to totals, the table path is torch-free."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import run_process

import archcalc


def test_table_header_names_model_input_convention_and_dtype(cli):
    result = cli("table", "resnet50", "--convention", "fvcore", "--dtype", "float16")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "resnet50 (specs/resnet.yaml)"
    assert lines[1].startswith("input 1×3×224×224 · dtype float16 · convention fvcore:")
    assert "layer3.5.conv2" in result.stdout
    assert "total" in result.stdout and "4,111,512,576" in result.stdout


def test_torch_convention_shows_flops(cli):
    result = cli("table", "lenet5", "--convention", "torch")
    assert "FLOPs" in result.stdout.splitlines()[3]
    assert f"{2 * 416_520:,}" in result.stdout


@pytest.mark.parametrize("depth", [None, 1, 2, 3])
def test_json_rows_add_up_to_the_totals(depth, cli):
    args = ["table", "resnet50", "--format", "json"] + ([] if depth is None else ["--depth", str(depth)])
    document = json.loads(cli(*args).stdout)
    assert document["schema"] == "archcalc.table/1"
    assert document["convention"]["name"] == "paper" and document["input"] == [1, 3, 224, 224]
    for figure in ["params", "weight", "bias", "buffers", "macs", "flops", "activations", "activation_bytes"]:
        assert sum(row[figure] for row in document["rows"]) == document["totals"][figure]
    assert document["totals"]["params"] == 25_557_032
    assert abs(sum(row["share"] for row in document["rows"]) - 1) < 1e-9


@pytest.mark.parametrize("model, depth", [("mobilenet_v3_small", None), ("vgg16", None), ("resnet50", 2)])
def test_json_is_byte_for_byte_what_json_dumps_writes(model, depth):
    """The rows of a numeric analysis take a faster route (records.numeric_rows_json) to the
    bytes json.dumps(indent=2) writes: fields of the whole input (null sizes), half-pixel
    starts, no field after flatten, and blocks."""
    from archcalc.render.records import record, to_json

    stats = archcalc.analyze(model)
    rows = stats.rows(depth)
    text = to_json(stats, rows, depth)
    document = json.loads(text)
    document["rows"] = [record(index, row, stats.receptive_fields) for index, row in enumerate(rows, start=1)]
    assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_depth_groups_blocks(cli):
    rows = json.loads(cli("table", "resnet50", "--format", "json", "--depth", "1").stdout)["rows"]
    layer1 = next(row for row in rows if row["name"] == "layer1")
    assert layer1["kind"] == "bottleneck ×3" and layer1["shape"] == [1, 256, 56, 56]
    assert [row["name"] for row in rows] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                            "layer3", "layer4", "avgpool", "flatten", "fc"]


def test_csv_carries_every_figure(cli):
    result = cli("table", "vgg16_bn", "--format", "csv", "--convention", "fvcore")
    records = list(csv.DictReader(io.StringIO(result.stdout)))
    total = records[-1]
    assert total["name"] == "total" and int(total["params"]) == 138_365_992
    assert sum(int(r["macs"]) for r in records[:-1]) == int(total["macs"])
    assert records[0]["shape"] == "1x64x224x224"


def test_markdown_table(cli):
    result = cli("table", "lenet5", "--format", "markdown")
    lines = result.stdout.splitlines()
    assert "| # | layer | kind | output | params | MACs | share |" in lines
    assert "| 1 | conv1 | conv2d | 1×6×28×28 | 156 | 117,600 | 28.2% |" in lines
    assert any("**61,706**" in line and "**416,520**" in line for line in lines)


def test_list_shows_bundled_models(cli):
    result = cli("list")
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if line.startswith("resnet50 "))
    assert "25,557,032" in row and "4,089,184,256" in row


def test_pool_calculator_ceil_mode(cli):
    result = cli("pool", "--input", "112", "--kernel", "3", "--stride", "2", "--padding", "1", "--ceil-mode")
    assert "output: 1×57×57" in result.stdout  # ⌈(112 + 2 − 2 − 1) / 2⌉ + 1 = 57


def test_python_api_matches_the_command_line(cli):
    stats = archcalc.analyze("resnet18", input=(3, 160, 160), convention="torch")
    document = json.loads(cli("table", "resnet18", "--input", "3x160x160", "--convention", "torch",
                              "--format", "json").stdout)
    assert document["totals"]["flops"] == stats.totals.flops
    assert [row["name"] for row in document["rows"]] == [layer.name for layer in stats.layers]


def test_python_dash_m_runs_and_table_path_never_imports_torch():
    assert run_process("table", "vgg11", "--depth", "1").returncode == 0
    probe = ("import sys\nfrom archcalc.cli import main\nsys.argv = ['archcalc', 'table', 'resnet152']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write('torch' if 'torch' in sys.modules else 'no-torch')\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stderr.strip() == "no-torch"
    assert "layer4.2.relu3" in result.stdout


def test_broken_pipe_ends_quietly():
    # the JSON of ResNet-152 (~200 KB) overflows the pipe buffer, so the writer meets a closed pipe
    table = subprocess.Popen([sys.executable, "-m", "archcalc", "table", "resnet152", "--format", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    table.stdout.readline()
    table.stdout.close()
    _, err = table.communicate(timeout=120)
    assert table.returncode == 0
    assert b"Traceback" not in err


def test_a_process_listing_twice_sees_a_changed_spec(tmp_path, monkeypatch, request):
    """analyze_bundled answers again from memory only while no bundled file has changed."""
    import shutil

    import archcalc.spec.catalog as catalog
    from archcalc.analysis import analyze_bundled

    shutil.copy(catalog.specs_dir() / "lenet.yaml", tmp_path / "lenet.yaml")
    monkeypatch.setattr(catalog, "specs_dir", lambda: tmp_path)
    catalog.bundled.cache_clear()  # the list of bundled models is read once a process
    request.addfinalizer(catalog.bundled.cache_clear)
    before = {stats.model: stats.totals.params for stats in analyze_bundled()}
    assert analyze_bundled()[0] is not None and {s.model: s.totals.params for s in analyze_bundled()} == before
    path = tmp_path / "lenet.yaml"
    path.write_text(path.read_text().replace("fc3: {kind: linear, out: 10}", "fc3: {kind: linear, out: 11}"))
    after = {stats.model: stats.totals.params for stats in analyze_bundled()}
    assert after["lenet5"] == before["lenet5"] + 84 + 1  # one more output of the 84-wide last layer
