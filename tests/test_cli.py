"""The command line: formats carry the same figures, blocks sum to totals, the table path is torch-free."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from itertools import pairwise

import pytest
from conftest import run_process
from typer.testing import CliRunner

import archcalc
from archcalc.cli import app


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


@pytest.mark.parametrize("layers, total", [("  - act: relu\n  - pool: {kind: maxpool2d, kernel: 2}\n", "0.0"),
                                           ("  - conv: {kind: conv2d, out: 4, kernel: 3}\n", "1.0")])
def test_the_total_share_is_the_sum_of_the_rows(layers, total, cli, write_spec):
    """A model of no MACs and no parameters has rows of share 0; its total said 1.0 (100.0%), in
    CSV, markdown, LaTeX and the terminal alike (an attacking review)."""
    path = write_spec("name: m\ninput: [3, 8, 8]\nlayers:\n" + layers)
    csv = cli("table", path, "--format", "csv").stdout.splitlines()
    assert csv[-1].split(",")[1] == "total" and csv[-1].endswith("," + total)
    markdown = cli("table", path, "--format", "markdown").stdout.splitlines()
    assert next(line for line in markdown if "**total**" in line).endswith(f"| {float(total) * 100:.1f}% |")
    terminal = [line.split() for line in cli("table", path).stdout.splitlines() if line.split()[:1] == ["total"]]
    assert terminal[0][-1] == f"{float(total) * 100:.1f}%"

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


@pytest.mark.parametrize("kind, fields, channels", [
    ("conv_transpose2d", {"out": 2, "kernel": 3}, 1),  # the window's working under a shape of 10: (8 − 1) + 3
    ("relu", {}, 1),                                    # AttributeError
    ("conv7d", {}, 1),                                  # KeyError
    ("conv2d", {"out": 2, "kernel": 3}, 0),             # 2 parameters, 0 MACs
    ("conv2d", {"out": 2, "kernel": 3}, -3),            # −54 weights
    ("conv2d", {"out": 2, "kernel": 3}, 2.5),           # RuntimeError
])
def test_the_calculator_refuses_what_it_does_not_work_out(kind, fields, channels):
    """`archcalc.calculator.calculate` shows a sliding window's working for conv2d and the 2-D
    pools, on channels from 1 up (the commands give nothing else): one SpecError for the rest."""
    from archcalc.calculator import calculate

    with pytest.raises(archcalc.SpecError):
        calculate(kind, "8", fields, channels=channels)


def test_python_api_matches_the_command_line(cli):
    stats = archcalc.analyze("resnet18", input=(3, 160, 160), convention="torch")
    document = json.loads(cli("table", "resnet18", "--input", "3x160x160", "--convention", "torch",
                              "--format", "json").stdout)
    assert document["totals"]["flops"] == stats.totals.flops
    assert [row["name"] for row in document["rows"]] == [layer.name for layer in stats.layers]


def test_the_installed_command_ends_with_its_output_whole_its_exit_code_and_its_exit_handlers():
    """`archcalc` and `python -m archcalc` (archcalc.cli.console) end the process as soon as the
    output is flushed, where nothing is registered to run at exit: the output is whole (a JSON
    document larger than a pipe holds, the same as where Python ends the process as usual) and the
    exit code the command's (0 and 2 here; 1 in test_check.py's
    test_github_format_end_to_end_in_a_fresh_process). A handler registered to run at exit still
    runs, and a thread still running is waited for."""
    probe = ("import atexit, sys\nfrom archcalc.cli import console\n{}"
             "sys.argv = ['archcalc', *sys.argv[1:]]\nconsole()\n")
    arguments = ["table", "densenet201", "--format", "json"]
    quick = subprocess.run([sys.executable, "-c", probe.format(""), *arguments], capture_output=True, text=True,
                           timeout=120, check=False)
    usual = subprocess.run([sys.executable, "-c", probe.format("atexit.register(print, 'at exit', file=sys.stderr)\n"),
                            *arguments], capture_output=True, text=True, timeout=120, check=False)
    waited = subprocess.run([sys.executable, "-c", probe.format(
        "import threading, time\nthreading.Thread(target=lambda: (time.sleep(1), print('thread done', file=sys.stderr))).start()\n"),
        *arguments], capture_output=True, text=True, timeout=120, check=False)
    assert (quick.returncode, usual.returncode, waited.returncode) == (0, 0, 0)
    assert len(quick.stdout) > 2 ** 16 and json.loads(quick.stdout) == json.loads(usual.stdout) == json.loads(waited.stdout)
    assert (quick.stderr, usual.stderr, waited.stderr) == ("", "at exit\n", "thread done\n")
    refused = run_process("table", "no_such_model")
    assert refused.returncode == 2 and "no_such_model" in refused.stderr


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


# --- the command line as people meet it: version, help, list, conv and pool ---------------------

def test_version(cli):
    from archcalc.version import __version__

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout == f"archcalc {__version__}\n"


def test_every_command_shows_examples_that_it_reads(cli):
    from archcalc.cli import COMMANDS, read_command_line

    for name, command in COMMANDS.items():
        assert command.examples, name
        shown = cli(name, "--help").stdout
        for example in command.examples:
            words = example.split()
            assert words[:2] == ["archcalc", name] and len(f"$ {example}") <= 76  # one line at 80 columns
            assert f"$ {example}" in shown
            assert read_command_line(words[1:]) is not None, example  # a well-formed command line


def test_the_calculators_examples_run(cli):
    """`archcalc conv --help` showed `--input 56 --in-channels 64 --kernel 3 --groups 64`, which
    stops at exit 2: 64 groups do not divide the one output channel it defaults to (torch.nn.Conv2d
    refuses it too). Every example of conv and pool runs."""
    from archcalc.cli import COMMANDS

    for name in ("conv", "pool"):
        for example in COMMANDS[name].examples:
            result = cli(*example.split()[1:])
            assert result.exit_code == 0, (example, result.output)


def test_help_breaks_lines_only_where_the_terminal_does(cli):
    """At 80 columns each command's description wraps at words: a line ends early only where the
    next word would not fit (hard line breaks in the help once broke lines mid-sentence)."""
    from archcalc.cli import COMMANDS

    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"}, prog_name="archcalc")
    panel = [line for line in result.stdout.split("─ Commands ")[1].splitlines() if line.startswith("│")]
    descriptions, name, column = {}, None, max(map(len, COMMANDS)) + 2  # the names' column
    for line in panel:
        cell = line[2:-2]
        name = cell[:column].strip() or name
        descriptions.setdefault(name, []).append(cell[column:].rstrip())
    assert list(descriptions) == list(COMMANDS)
    width = len(panel[0]) - 4 - column  # the borders and their padding, and the names' column
    for name, lines in descriptions.items():
        assert " ".join(lines) == COMMANDS[name].help
        for line, following in pairwise(lines):
            assert len(line) + 1 + len(following.split()[0]) > width, (name, line)


def test_list_is_in_family_order_with_human_figures(cli):
    from archcalc.spec import bundled
    from archcalc.spec.catalog import load_document

    rows = [line.split() for line in cli("list").stdout.splitlines()[4:]]
    names = [row[0] for row in rows]
    family = {entry.name: str(load_document(entry.path)["name"]) for entry in bundled()}
    order = [family[name] for name in names]
    assert order == sorted(order) and sorted(names) == sorted(family)
    spec_order = [entry.name for entry in bundled()]
    assert all(spec_order.index(a) < spec_order.index(b) for a, b in pairwise(names) if family[a] == family[b])
    assert rows[names.index("lenet5")][3:] == ["61,706", "61.7", "K", "416,520", "417", "K"]  # not 0.000 G


def test_conv_shows_the_working_of_its_figures_and_they_are_torchs(cli):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    printed = cli("conv", "--input", "14", "--in-channels", "32", "--kernel", "3", "--padding", "1",
                  "--out-channels", "16", "--groups", "4").stdout
    layer = torch.nn.Conv2d(32, 16, 3, padding=1, groups=4)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(1, 32, 14, 14))
    params, macs = sum(p.numel() for p in layer.parameters()), counter.get_total_flops() // 2
    assert (params, macs) == (1_168, 225_792)
    assert printed.endswith("parameters: 1,168 (1,152 weights + 16 biases)\n"
                            "  weights = 16 filters × 8 input channels (of 32, in 4 groups) × 3×3 = 1,152\n"
                            "  biases  = 16 (one per filter)\n"
                            "MACs: 225,792\n"
                            "  = outputs × multiply-adds per output = 16×14×14 × 8×3×3\n"
                            "  = 3,136 × 72 = 225,792\n")
    single = cli("conv", "--input", "3x8x8", "--kernel", "3").stdout
    assert "parameters: 28 (27 weights + 1 bias)\n" in single  # torch.nn.Conv2d(3, 1, 3): 27 + 1


def test_conv_and_pool_take_the_input_channels_once(cli):
    assert cli("conv", "--input", "56", "--in-channels", "64", "--kernel", "3").stdout == \
        cli("conv", "--input", "64x56x56", "--kernel", "3").stdout
    assert "on input 5×7×9" in cli("pool", "--input", "7x9", "--in-channels", "5", "--kernel", "3").stdout
    both = cli("conv", "--input", "3x56x56", "--in-channels", "64", "--kernel", "3")
    assert both.exit_code == 2 and both.stderr.startswith(
        "error: invalid value for '--in-channels': --input 3x56x56 has 3 channels and --in-channels says 64")


def test_pool_shows_why_it_has_no_figures(cli):
    """A padded window holds fewer values (a corner's 4 of 9 for max pooling, whose padding is −∞),
    and one past the padding in ceil mode too: torch's average pooling of ones on 7×6 with a 3×3
    window, stride 2, padding 1 and ceil mode gives 1/3 and 1/2 in its last column, divided by 6."""
    printed = cli("pool", "--input", "64x112x112", "--kernel", "3", "--stride", "2", "--padding", "1").stdout
    assert printed.endswith("output: 64×56×56 (C×H×W)\n\nparameters: 0 (a pooling window has no weights)\n"
                            "MACs: 0 (no multiply-adds: each of the 200,704 outputs is the largest of at most 9 values "
                            "in its 3×3 window)\n")
    printed = cli("pool", "--input", "3x7x6", "--kernel", "3", "--stride", "2", "--padding", "1", "--ceil-mode",
                  "--average").stdout
    assert printed.endswith("each of the 48 outputs is the average of at most 9 values in its 3×3 window)\n")
    printed = cli("pool", "--input", "3x8x8", "--kernel", "2", "--stride", "2").stdout
    assert printed.endswith("each of the 48 outputs is the largest of the 4 values in its 2×2 window)\n")
    printed = cli("pool", "--input", "7", "--kernel", "7", "--average").stdout  # torch: 1×7×7 pooled by 7 is 1×1×1
    assert printed.endswith("MACs: 0 (no multiply-adds: its one output is the average of the 49 values in its 7×7 "
                            "window)\n")  # a reviewer's: "each of the 1 outputs"
    refused = cli("pool", "--input", "32", "--kernel", "3", "--average", "--dilation", "2")
    assert refused.exit_code == 2 and "average pooling has no dilation" in refused.stderr


@pytest.mark.parametrize("columns", ["0", "1", "-5", "abc", "99999999"])
def test_help_is_laid_out_whatever_columns_says(columns):
    """rich lays typer's help out at $COLUMNS as given: 0 printed a blank line, 99,999,999 ran for
    minutes into gigabytes. Held to 40–1,000 columns (left out where it is no number)."""
    import os

    result = subprocess.run([sys.executable, "-m", "archcalc", "table", "--help"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": columns, "NO_COLOR": "1"}, timeout=60, check=False)
    assert result.returncode == 0 and "--input" in result.stdout
    assert max(map(len, result.stdout.splitlines())) <= 1_000


@pytest.mark.parametrize("model, depth", [("lenet5", []), ("resnet18", ["--depth", "1"]), ("m5", [])])
def test_csv_with_rf_carries_each_rows_receptive_field_as_json_does(model, depth):
    """`--rf --format csv` dropped the fields silently: now a size, jump and start column per axis,
    the values JSON gives (a size left empty where JSON has null, a row without a field empty)."""
    runner = CliRunner()
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["table", model, *depth, "--rf", "--format", "csv"]).stdout)))
    document = json.loads(runner.invoke(app, ["table", model, *depth, "--rf", "--format", "json"]).stdout)
    assert len(rows) == len(document["rows"]) + 1  # and the total
    for row, record in zip(rows, document["rows"]):
        field = record["receptive_field"] or {}
        axes = {name.split("_")[1] for name in row if name.startswith("rf_")}
        assert axes == ({"length"} if model == "m5" else {"height", "width"})
        for axis in axes:
            for part in ("size", "jump", "start"):
                expected = field.get(axis, {}).get(part)
                assert row[f"rf_{axis}_{part}"] == ("" if expected is None else str(expected)), (row["name"], axis, part)
    if model == "lenet5":  # a 5×5 convolution sees 5×5 pixels, one pixel apart (the seeds' rule)
        assert [rows[0][f"rf_height_{part}"] for part in ("size", "jump")] == ["5", "1"]


def test_help_in_an_encoding_without_its_characters_is_one_error():
    """typer's help (rich's boxes, '×') on a standard output in ASCII: one error and the fix, exit 2, no traceback."""
    import os

    result = subprocess.run([sys.executable, "-m", "archcalc", "table", "--help"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONIOENCODING": "ascii"}, timeout=60, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: standard output's encoding (ascii) cannot write ")


@pytest.mark.parametrize("command", [["table"], ["memory"], ["report"], ["sweep", "--size", "64:65"],
                                     ["validate", "--runs", "0"]])
def test_a_variant_named_and_another_asked_for_is_refused(command, cli):
    """`table resnet50 --variant resnet18` quietly analysed resnet18 (an attacking review)."""
    result = cli(command[0], "resnet50", *command[1:], "--variant", "resnet18")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: invalid value for --variant: 'resnet50' is the variant resnet50 of "
                                    "specs/resnet.yaml; --variant resnet18 names another\n"), result.stderr
    assert cli("table", "resnet50", "--variant", "resnet50").exit_code == 0


@pytest.mark.parametrize("args", [["conv", "--input", "5", "--kernel", "3", "--padding", "2147483647"],
                                  ["conv", "--input", "2147483647", "--kernel", "1", "--padding", "1"],
                                  ["pool", "--input", "2147483647", "--kernel", "2", "--padding", "1",
                                   "--stride", "1"]])
def test_conv_and_pool_refuse_an_output_past_the_size_limit_as_table_does(cli, args):
    """An attacking review found `conv` printing an output of 4,294,967,297×4,294,967,297 (5 + 2 ·
    (2³¹ − 1) − 3 + 1), which `table` refuses for the same layer (docs/spec.md, Limits) and torch
    too ("Storage size calculation overflowed")."""
    result = cli(*args)
    assert result.exit_code == 2 and "has a size above 2,147,483,647" in result.stderr


def test_memory_running_out_is_one_error_with_exit_2_not_a_traceback():
    """A MemoryError left the command with Python's traceback and exit 1, which `check` and CI read
    as a figure that differs (README: exit 1 is a difference, 2 an error); the analysis here runs
    out of memory at once, in a fresh process through the console entry point."""
    code = ("import sys, archcalc.analysis as analysis\n"
            "def out_of_memory(*args, **kwargs):\n    raise MemoryError\n"
            "analysis.analyze = out_of_memory\n"
            "from archcalc.cli import console\n"
            "sys.argv = ['archcalc', 'table', 'lenet5']\n"
            "console()\n")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == ("error: archcalc ran out of memory\n  hint: give a smaller input or batch, fewer sizes "
                             "to sweep, or a smaller model\n")
