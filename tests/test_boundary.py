"""The command-line boundary: one size grammar, one error hierarchy with its exit codes, the
renderer registry behind every --format and -o, and commands built only when invoked."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys

import pytest
from conftest import run_process

from archcalc import sizes
from archcalc.errors import DeviceError, MissingDependency, OutputError, SpecError, UsageError, UserError
from archcalc.render.registry import RENDERERS, formats, renderer

SPELLINGS = ["3x64x64", "3X64X64", "3×64×64", "3,64,64", "3 x 64 x 64", " 3 , 64 , 64 "]


# --- one grammar for sizes ---------------------------------------------------------------------

@pytest.mark.parametrize("text", SPELLINGS)
def test_every_spelling_of_a_shape_parses_the_same(text):
    assert sizes.parse_input(text) == (3, 64, 64)
    assert sizes.parse_input(text, symbols=True) == (3, 64, 64)
    assert sizes.parse_dims(text) == (3, 64, 64)


@pytest.mark.parametrize("text, shape", [("3xHxW", (3, "H", "W")), ("3XHXW", (3, "H", "W")),
                                         ("C, H, W", ("C", "H", "W")), ("3xHXxW", (3, "HX", "W"))])
def test_symbols_where_allowed(text, shape):
    assert sizes.parse_input(text, symbols=True) == shape
    with pytest.raises(SpecError, match=re.escape("input must be channels and 1 to 3 sizes (C×L, C×H×W or C×D×H×W), like 3x224x224")):
        sizes.parse_input(text)


@pytest.mark.parametrize("text", ["3x", "3x0x32", "3xhxW", "3x64x64x64x64", "3", "", "x", "3x2.5x4", [3, True, 4]])
def test_bad_shapes_are_refused(text):
    with pytest.raises(SpecError):
        sizes.parse_input(text, symbols=True)


def test_size_lists_and_batches():
    assert sizes.parse_size_list("32:96:32, 224X320, 7 x 9") == [(32, 32), (64, 64), (96, 96), (224, 320), (7, 9)]
    assert sizes.parse_batch_list("1,8") == [1, 8]
    assert sizes.parse_batch("N") == "N" and sizes.parse_batch("8") == 8
    for bad in ["2x2", "0"]:
        with pytest.raises(SpecError):
            sizes.parse_batch_list(bad)


def test_format_shape():
    assert sizes.format_shape((1, 64, 112, 112)) == "1×64×112×112"
    assert sizes.format_shape((3, 224, 224), "x") == "3x224x224"


def test_the_sizes_module_imports_only_errors_and_limits():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(sizes.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    assert imported == {"__future__", "re", "typing", "archcalc.errors", "archcalc.limits"}


@pytest.mark.parametrize("text", SPELLINGS)
def test_table_report_and_conv_take_every_spelling(text, cli):
    table = json.loads(cli("table", "lenet5", "--input", text.replace("3", "1", 1), "--format", "json").stdout)
    assert table["input"] == [1, 1, 64, 64]
    report = cli("report", "lenet5", "--input", text.replace("3", "1", 1))
    assert report.exit_code == 0 and "1×64×64" in report.stdout
    conv = cli("conv", "--input", text, "--kernel", "3,3", "--out-channels", "8")
    assert conv.exit_code == 0 and "output: 8×62×62" in conv.stdout


@pytest.mark.parametrize("size", ["64X64", "64 x 64", "64×64", "64x64"])
def test_sweep_takes_every_spelling_of_a_size(size, cli):
    result = json.loads(cli("sweep", "lenet5", "--size", size, "--format", "json").stdout)
    assert [(p["height"], p["width"]) for p in result["points"]] == [(64, 64)]


@pytest.mark.parametrize("text", ["1X32X32", "1,32,32", "1 x 32 x 32"])
def test_validate_takes_every_spelling(text, cli):
    pytest.importorskip("torch")
    result = cli("validate", "lenet5", "--input", text, "--device", "meta", "--runs", "0", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["models"][0]["input"] == [1, 1, 32, 32]


# --- errors and exit codes ---------------------------------------------------------------------

def test_the_error_hierarchy():
    for kind in (SpecError, UsageError, OutputError, DeviceError, MissingDependency):
        assert issubclass(kind, UserError)
    assert issubclass(MissingDependency, ImportError)
    assert [k("x").exit_code for k in (SpecError, UsageError, OutputError, DeviceError, MissingDependency)] \
        == [2, 2, 2, 2, 3]
    assert str(UserError("what", hint="how")) == "what\n  hint: how"


def test_a_spec_error_exits_2_in_a_fresh_process(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\ninput: [3, 8, 8]\nlayers:\n  - c: {conv2d: {out: 0, kernel: 3}}\n")
    result = run_process("table", str(spec))
    assert result.returncode == 2 and result.stderr.startswith(f"error: {spec}:4:") and "Traceback" not in result.stderr


def test_an_output_error_exits_2_without_a_traceback(tmp_path):
    result = run_process("table", "lenet5", "-o", str(tmp_path / "missing" / "t.txt"))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"error: cannot write '{tmp_path / 'missing' / 't.txt'}': the folder "
                             f"'{tmp_path / 'missing'}' does not exist\n"
                             "  hint: create the folder first, or write elsewhere\n")


def test_a_missing_dependency_exits_3():
    code = ("import sys\nsys.modules['torch'] = None\nfrom archcalc.cli import main\n"
            "sys.argv = ['archcalc', 'report', 'lenet5', '--validate']\nmain()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    assert result.stderr == "error: archcalc validate needs torch, which is not installed: pip install 'archcalc[torch]'\n"


def test_a_step_summary_that_is_the_file_o_writes_is_refused(cli, tmp_path, monkeypatch):
    """$GITHUB_STEP_SUMMARY and -o naming one file: -o replaced it with the annotations and the
    summary went to the replaced file; what the summary held before was lost, exit 0."""
    monkeypatch.chdir(tmp_path)
    assert cli("check", "lenet5", "--update").exit_code == 0
    (tmp_path / "summary.md").write_text("an earlier step's summary\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "summary.md")
    result = cli("check", "lenet5", "--format", "github", "-o", "./summary.md")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: refusing to append to $GITHUB_STEP_SUMMARY (summary.md): -o writes")
    assert (tmp_path / "summary.md").read_text() == "an earlier step's summary\n"


@pytest.mark.parametrize("given, message", [
    ("newdir/", "error: invalid value for '--baseline': 'newdir/' names a folder, not a file"),
    ("", "error: invalid value for '--baseline': --baseline needs a file name"),
    ("folder", "error: folder:1:1: this is a directory, not a baseline file\n  hint: a baseline is a regular file"),
    ("/dev/null", "error: /dev/null:1:1: this is a device, not a baseline file\n  hint: a baseline is a regular file"),
])
def test_a_baseline_that_is_no_file_is_one_error(cli, tmp_path, monkeypatch, given, message):
    """--update --baseline newdir/ wrote a file named newdir (the '/' dropped), as -o newdir/ does
    not; a folder or a device was called 'not a spec file', with a hint to name a bundled model."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    for update in ((), ("--update",)):
        result = cli("check", "lenet5", "--baseline", given, *update)
        assert result.exit_code == 2 and result.stderr.startswith(message), result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["folder"]


@pytest.mark.parametrize("target, expected", [
    ("folder", "it is not a regular file"), ("fifo", "it is not a regular file"),
    ("archcalc.lock.yaml", "check reads it"), ("missing/summary.md", "No such file or directory")])
def test_a_step_summary_that_must_not_be_appended_to_is_an_output_error(cli, tmp_path, monkeypatch, target, expected):
    """A folder, a pipe nobody reads (which would hang), the baseline being read (which the
    summary's markdown would break) or a missing folder: one error, nothing printed or changed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    assert cli("check", "lenet5", "--update").exit_code == 0
    baseline = (tmp_path / "archcalc.lock.yaml").read_bytes()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", target)
    reader = os.open(tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK)  # so that a regression fails, not hangs
    try:
        result = cli("check", "lenet5", "--format", "github")
    finally:
        os.close(reader)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and f"$GITHUB_STEP_SUMMARY ({target}): " in result.stderr
    assert expected in result.stderr and "hint: " in result.stderr
    assert (tmp_path / "archcalc.lock.yaml").read_bytes() == baseline


@pytest.mark.parametrize("target", ["base.yaml", "hard_link.md"])
def test_a_step_summary_is_never_appended_to_an_included_spec_or_a_hard_link_of_one_read(cli, tmp_path, monkeypatch,
                                                                                        target):
    """A fuzzer's: $GITHUB_STEP_SUMMARY naming a spec that a checked spec includes (`kind: model`),
    or a hard link of the baseline, was appended to (exit 0), and the next run could not read it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text("name: base\ninput: [1, 32, 32]\nlayers:\n  - c: {kind: conv2d, out: 6, kernel: 5}\n")
    (tmp_path / "top.yaml").write_text("name: top\ninput: [1, 32, 32]\nlayers:\n  - bb: {kind: model, spec: base.yaml}\n")
    assert cli("check", "top.yaml", "--update").exit_code == 0
    os.link(tmp_path / "archcalc.lock.yaml", tmp_path / "hard_link.md")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", target)
    result = cli("check", "top.yaml", "--format", "github", "-j", "1")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: refusing to append to $GITHUB_STEP_SUMMARY ({target}): check reads it")
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


# --- the renderer registry: --format and -o everywhere -------------------------------------------

def test_every_registered_renderer_exists():
    for kind, table in RENDERERS.items():
        for format in table:
            assert callable(renderer(kind, format)), (kind, format)


@pytest.mark.parametrize("command, kind", [("table", "table"), ("list", "models"), ("zoo", "zoo"),
                                           ("conv", "calculation"), ("pool", "calculation"),
                                           ("validate", "validation"), ("report", "report"), ("sweep", "sweep"),
                                           ("check", "check")])
def test_each_command_takes_its_formats_and_an_output_file(command, kind, cli):
    text = cli(command, "--help").stdout
    assert "--format" in text and "--output" in text and "-o" in text
    for format in formats(kind):
        assert format in text


def test_check_writes_its_output_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "check.json"
    assert cli("check", "lenet5", "--update").exit_code == 0
    printed = cli("check", "--format", "json")
    result = cli("check", "--format", "json", "-o", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text() == printed.stdout and json.loads(printed.stdout)["ok"] is True
    refused = cli("check", "-o", "archcalc.lock.yaml")
    assert refused.exit_code == 2 and "refusing to write over 'archcalc.lock.yaml'" in refused.stderr


def test_list_formats(cli, tmp_path):
    document = json.loads(cli("list", "--format", "json").stdout)
    assert document["schema"] == "archcalc.list/1" and document["convention"] == "paper"
    resnet50 = next(m for m in document["models"] if m["model"] == "resnet50")
    assert resnet50["params"] == 25_557_032 and resnet50["macs"] == 4_089_184_256 and resnet50["input"] == [3, 224, 224]
    records = list(csv.DictReader(io.StringIO(cli("list", "--format", "csv", "--convention", "torch").stdout)))
    assert [r["model"] for r in records] == [m["model"] for m in document["models"]]
    assert next(r for r in records if r["model"] == "resnet50")["input"] == "3x224x224"
    markdown = cli("list", "--format", "markdown").stdout.splitlines()
    assert markdown[0] == "| model | spec | input | params | ≈ | MACs | ≈ |"  # the same table as the text
    assert "| resnet50 | specs/resnet.yaml | 3×224×224 | 25,557,032 | 25.6 M | 4,089,184,256 | 4.09 G |" in markdown
    assert "| lenet5 | specs/lenet.yaml | 1×32×32 | 61,706 | 61.7 K | 416,520 | 417 K |" in markdown
    target = tmp_path / "models.md"
    assert cli("list", "--format", "markdown", "-o", target).exit_code == 0
    assert target.read_text().splitlines() == markdown


def test_conv_writes_its_working(cli, tmp_path):
    target = tmp_path / "conv.txt"
    printed = cli("conv", "--input", "227", "--kernel", "11", "--stride", "4")
    assert cli("conv", "--input", "227", "--kernel", "11", "--stride", "4", "-o", target).stdout == ""
    assert target.read_text() == printed.stdout


# --- start-up: only the invoked command is built -------------------------------------------------

def test_only_the_invoked_command_is_imported():
    code = ("import sys\nfrom archcalc.cli import main\nsys.argv = ['archcalc', 'table', 'lenet5']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(' '.join(sorted(m for m in sys.modules if m.startswith('archcalc.commands.'))))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stderr == "archcalc.commands.table"


def test_a_usage_error_raised_as_the_command_runs_is_shown_without_running_it_again():
    """`sweep --set` names a parameter the spec lacks: the spec is read before that is known. The
    error comes with the command's usage, as the typer app shows it, and the spec's settings were
    checked once (the typer app ran the whole command a second time to show it)."""
    code = ("import sys\nimport archcalc.sweep as sweep\nfrom archcalc.cli import main\ncalls = []\n"
            "checked = sweep.check_settings\n"
            "sweep.check_settings = lambda *args: (calls.append(1), checked(*args))\n"
            "sys.argv = ['archcalc', 'sweep', 'lenet5', '--set', 'widht=8', '--size', '32']\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    sys.stderr.write(f'exit {exit.code}, checked {len(calls)}')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "80"}, check=False)
    assert result.stdout == ""
    assert result.stderr == ("error: invalid value for '--set': 'widht' is not a parameter of lenet5; its parameters: "
                             "padding, act, pool\n  usage: archcalc sweep [OPTIONS] {SPEC}\n"
                             "  help:  archcalc sweep --help\nexit 2, checked 1")


def test_help_lists_every_command(cli):
    text = cli("--help").stdout
    for command in ["table", "list", "zoo", "conv", "pool", "validate", "report", "sweep", "check"]:
        assert f"│ {command} " in text
