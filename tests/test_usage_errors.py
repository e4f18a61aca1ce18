"""Malformed command lines: exit 2 with the usage help, never a traceback; written as a spec
error is ('error: …'), the usage and the help command beneath."""

from __future__ import annotations

import json

import pytest
from conftest import run_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.sizes import parse_batch_list, parse_sweep_sizes

MALFORMED = {
    "table": [
        [], ["lenet5", "--bogus"], ["lenet5", "--batch", "x"], ["lenet5", "--batch", "0"], ["lenet5", "--batch"],
        ["lenet5", "--depth", "0"], ["lenet5", "--convention", "ptflops"], ["lenet5", "--format", "xml"],
        ["lenet5", "--dtype", "int4"], ["lenet5", "--input", "3x"], ["lenet5", "--input", "3x0x32"],
        ["lenet5", "--input", "3x32x99999999999"], ["lenet5", "--batch", "2147483648"], ["lenet5", "extra"],
        ["lenet5", "--output", "/"], ["lenet5", "-o", "-"],
    ],
    "list": [["--convention", "flops"], ["extra"], ["--bogus"]],
    "conv": [
        [], ["--input", "32"], ["--kernel", "3"], ["--input", "x", "--kernel", "3"],
        ["--input", "32", "--kernel", "3x3x3"], ["--input", "32", "--kernel", "0"],
        ["--input", "32", "--kernel", "3", "--stride", "-1"], ["--input", "32", "--kernel", "3", "--padding", "half"],
        ["--input", "32", "--kernel", "3", "--groups", "0"], ["--input", "32", "--kernel", "3", "--out-channels", "x"],
        ["--input", "5", "--kernel", "7"], ["--input", "32", "--kernel", "3", "--dilation", "0x1"],
        ["--input", "99999999999", "--kernel", "3"], ["--input", "32", "--kernel", "1", "--out-channels", "3000000000"],
    ],
    "pool": [
        [], ["--input", "32", "--kernel", "x"], ["--input", "32", "--kernel", "3", "--padding", "2"],
        ["--input", "32", "--kernel", "3", "--stride", "0"], ["--input", "0", "--kernel", "1"],
    ],
    "report": [[], ["lenet5", "--batch", "0"], ["lenet5", "--convention", "x"], ["lenet5", "--input", "3x"]],
    "check": [["--format", "xml"], ["--bogus"], ["--baseline"], ["--baseline", "-"]],
    "import": [[], ["torch"], ["torch", "mynet:Net"], ["torch", "mynet:Net", "--input", "3x"],
               ["torch", "mynet:Net", "--input", "3xHxW"], ["keras", "net.keras", "--input", "3x8x8"],
               ["onnx"], ["onnx", "net.onnx", "--input", "3x"], ["onnx", "net.onnx", "--args", "[]"]],
    "validate": [
        [], ["lenet5", "--all"], ["--all", "--variant", "vgg16"], ["lenet5", "--device", "tpu"],
        ["lenet5", "--counter", "ptflops"], ["lenet5", "--runs", "-1"], ["lenet5", "--format", "xml"],
        ["lenet5", "--batch", "0"], ["lenet5", "--input", "3x"], ["lenet5", "--warmup", "x"],
        ["lenet5", "--latency", "layers"], ["lenet5", "--threads", "0"], ["lenet5", "--threads", "x"],
    ],
}
CASES = [(command, args) for command, cases in MALFORMED.items() for args in cases]


@pytest.mark.parametrize("command, args", CASES, ids=[" ".join([c, *a]) or c for c, a in CASES])
def test_malformed_options_exit_2_with_usage_help(command, args, cli):
    result = cli(command, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    assert lines[-2].startswith(f"  usage: archcalc {command} [OPTIONS]")
    assert lines[-1] == f"  help:  archcalc {command} --help"


@pytest.mark.parametrize("args", [["no-such-command"], ["--bogus"]])
def test_malformed_top_level_exits_2_with_usage_help(args, cli):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no such ") and "  usage: archcalc [OPTIONS] COMMAND" in result.stderr


def test_usage_error_in_a_fresh_process():
    result = run_process("conv", "--input", "32", "--kernel", "3x3x3")
    assert result.returncode == 2
    assert result.stderr == ("error: invalid value for '--kernel': --kernel takes a whole number or HxW, got '3x3x3'\n"
                             "  usage: archcalc conv [OPTIONS]\n  help:  archcalc conv --help\n")


@pytest.mark.parametrize("args, option", [(["report", "lenet5", "--batch", "N"], "'--batch'"),
                                          (["table", "lenet5", "--depth", "x"], "'--depth'"),
                                          (["check", "-j", "two"], "'--jobs' / '-j'")])
def test_a_whole_number_option_given_a_word_says_so(args, option, cli):
    """click's own words were "'N' is not a valid int range"."""
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: invalid value for {option}: '{args[-1]}' is not a whole number\n"), \
        result.stderr


@pytest.mark.parametrize("option", ["--runs", "--warmup", "--batch", "--threads"])
@pytest.mark.parametrize("text", ["1_0", "\u0663", "\uff13", "+3", " 3", "3 "])
def test_a_whole_number_option_takes_ascii_digits_alone(option, text, cli):
    """A fuzzer found validate's whole-number options taking whatever Python's int() reads: `--runs 1_0`
    was 10, `--batch ٣` (an Arabic-Indic three) 3, `--runs ３` (a fullwidth three) 3; `table --batch 1_0`
    is refused. Every one is refused as `table --batch` refuses it."""
    result = cli("validate", "lenet5", option, text, "--runs" if option != "--runs" else "--warmup", "1")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: invalid value for '{option}': {text!r} is not a whole number\n"), \
        result.stderr


def test_tables_batch_refuses_what_validates_refuses(cli):
    assert cli("table", "lenet5", "--batch", "1_0").exit_code == 2


@pytest.mark.parametrize("digits", [10, 11, 25])
@pytest.mark.parametrize("first", [True, False], ids=["the fast reader", "typer's"])
def test_both_readers_of_the_command_line_refuse_a_depth_beyond_its_range(digits, first, cli):
    """A review found `table lenet5 --depth 99999999999` printing the table where `table --depth
    99999999999 -- lenet5` (the line that typer reads) refused it, and 10 digits taken by both: a
    depth is at most 2³¹ − 1 (MAX_DIMENSION), refused alike, its text shown (not the 2³¹ that 20
    digits or more are read as)."""
    number = "9" * digits
    args = ["table", "lenet5", "--depth", number] if first else ["table", "--depth", number, "--", "lenet5"]
    result = cli(*args)
    shown = number if digits <= 20 else f"{number[:20]}… ({digits} characters)"
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: invalid value for '--depth': {shown} is not in the range "
                                    "1<=x<=2147483647"), result.stderr


def test_a_whole_number_of_more_digits_than_python_reads_is_one_error(cli):
    """A number of 5,000 digits ended in Python's own ValueError (it converts 4,300 at most), a traceback
    from the command line's reader and from the typer app alike; a word of 5,000 letters was said to
    have 5,000 digits."""
    from archcalc.cli import read_command_line

    digits = "9" * 5000
    assert read_command_line(["validate", "lenet5", "--runs", digits]) is None  # left to the typer app
    result = cli("validate", "lenet5", "--runs", digits)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: invalid value for '--runs': {digits[:20]}… (5,000 characters) is not in "
                                    "the range 0<=x<=1000"), result.stderr
    result = cli("validate", "lenet5", "--runs", "a" * 5000)
    assert result.stderr.startswith(f"error: invalid value for '--runs': '{'a' * 20}'… (5,000 characters) is not a "
                                    "whole number"), result.stderr


@pytest.mark.parametrize("args", [["table", "lenet5", "--input", "1x32x" + "9" * 5000],
                                  ["report", "lenet5", "--input", "1x32x" + "9" * 5000],
                                  ["conv", "--input", "32", "--kernel", "9" * 5000],
                                  ["conv", "--input", "32", "--kernel", "-" + "9" * 5000],
                                  ["conv", "--input", "9" * 5000, "--kernel", "3"]])
def test_a_size_of_more_digits_than_python_reads_is_one_error(args, cli):
    """A review found sizes of 5,000 digits still ending in Python's ValueError traceback, and then
    refused as 2,147,483,648 (the number they were read as), all 5,000 digits echoed: they are above
    2³¹ − 1, refused so, their text shortened."""
    result = cli(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "2,147,483,647" in result.stderr and "(5,0" in result.stderr and "characters)" in result.stderr, result.stderr
    assert "2,147,483,648" not in result.stderr and "2147483648" not in result.stderr and len(result.stderr) < 400


def test_a_specs_input_of_more_digits_than_python_reads_is_one_error(cli, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(f"name: t\ninput: 1x8x{'9' * 5000}\nlayers:\n  - {{kind: flatten}}\n", encoding="utf-8")
    result = cli("table", str(path))
    assert result.exit_code == 2 and f"{path}:2:8: input 1x8x9999" in result.stderr and "above 2,147,483,647" in result.stderr
    assert "(5,004 characters)" in result.stderr and "2147483648" not in result.stderr


@pytest.mark.parametrize("words", ["'x' is not a valid int range.", "'x' is not a valid integer range.",
                                   "'x' is not a valid integer."])
def test_clicks_words_for_a_whole_number_are_said_alike(words):
    """typer's own click says 'int range', click itself (typer before 0.28) 'integer range'."""
    from typer import BadParameter

    from archcalc.cli.usage import usage_error_text

    assert usage_error_text(BadParameter(words)) == "error: invalid value: 'x' is not a whole number\n"


OPTIONS = ["--input", "--batch", "--depth", "--convention", "--format", "--dtype", "--variant", "--kernel",
           "--stride", "--padding", "--dilation", "--groups", "--out-channels", "--ceil-mode", "--average",
           "--bias", "--no-bias", "--help", "-o"]
VALUES = ["lenet5", "vgg11", "alexnet", "3x32x32", "1x28x28", "32", "0", "-1", "x", "3", "2x2", "1x1", "same",
          "valid", "json", "csv", "markdown", "paper", "torch", "fvcore", "float16", "", "--", "resnet18"]


@pytest.mark.parametrize("examples", [250, pytest.param(750, id="750 more", marks=pytest.mark.slow)])
def test_random_command_lines_give_a_result_or_a_usage_error(examples, cli):
    """250 random command lines in the fast tier, 1,000 in a full run."""
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(command=st.sampled_from(["table", "list", "conv", "pool"]),
           tokens=st.lists(st.sampled_from(OPTIONS + VALUES), max_size=8))
    def run(command, tokens):
        tokens = [t for t in tokens if t != "-o"]  # never write files from random command lines
        result = cli(command, *tokens)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert result.stderr.startswith("error: ") and result.stdout == "", result.output

    run()


CONTROLS = "\x1b[31mZ\r"


@pytest.mark.parametrize("args", [["sweep", "lenet5", "--size", CONTROLS], ["report", "lenet5", "--sweep", CONTROLS],
                                  ["sweep", "lenet5", "--size", "32", "--max-macs", CONTROLS],
                                  ["memory", "lenet5", "--fit", CONTROLS], ["conv", "--kernel", "3", "--input", CONTROLS],
                                  ["table", "lenet5", "-o", CONTROLS + "/"]])
def test_an_options_value_is_quoted_with_its_controls_escaped(args, cli):
    """An attacking review found these options' errors writing an ESC and a carriage return raw
    (recolouring the terminal, overwriting the message), where the others escape them."""
    result = cli(*args)
    assert result.exit_code == 2 and "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "\\x1b[31mZ" in result.stderr


def test_a_file_names_line_feed_adds_no_line_to_a_heading_or_an_error(tmp_path, cli):
    """A line feed in a spec's name was written raw: a file name could add a forged table row or
    verdict to a table's, memory's or check's output, or to an error. It is written '\\n'."""
    folder = tmp_path / "a\nall 4 checks on 1 model hold"
    folder.mkdir()
    spec = folder / "m.yaml"
    spec.write_text("name: m\ninput: [1, 8, 8]\nlayers:\n  - fc: {kind: conv2d, out: 2, kernel: 1}\n")
    for command in (["table"], ["memory"], ["sweep", "--size", "8"]):
        lines = cli(command[0], spec, *command[1:]).stdout.splitlines()
        assert lines[0].endswith("a\\nall 4 checks on 1 model hold/m.yaml)") and "all 4 checks" not in lines[1]
    spec.write_text("name: [\n")
    error = cli("table", spec).stderr
    assert error.startswith("error: ") and error.splitlines()[0].endswith(":2:1: YAML syntax error: did not find "
                                                                         "expected node content")
    heading = cli("check", "lenet5", "--baseline", str(folder / "b.yaml"), "-j", "1").stdout.splitlines()[0]
    assert heading == f"archcalc check against {tmp_path}/a\\nall 4 checks on 1 model hold/b.yaml"
    spec.write_text("name: m\ninput: [1, 8, 8]\nlayers:\n  - fc: {kind: conv2d, out: 2, kernel: 1}\n")
    document = json.loads(cli("check", spec, "--baseline", str(tmp_path / "b.yaml"), "--format", "json").stdout)
    assert document["findings"][0]["location"] == f"{spec}:1:1"  # JSON holds the name as it is: it escapes itself


@pytest.mark.parametrize("command", [["table"], ["validate", "--runs", "0", "--no-memory"]])
def test_an_input_of_another_rank_than_the_specs_says_so_where_it_fails(cli, command):
    """An attacking review found `--input 1x32` for LeNet-5 refused with the hint "use conv1d", not a
    word of the input that caused it. The error stays at the layer that fails (an MLP that flattens
    first takes another rank: below), its hint names the ranks."""
    result = cli(command[0], "lenet5", "--input", "1x32", *command[1:])
    assert result.exit_code == 2 and "layer 'conv1': conv2d needs a 4-D input" in result.stderr
    assert "hint: the input given, 1×32, has 1 spatial axis, and lenet5's spec input, 1×32×32, has 2: give one of 2" \
        in result.stderr


def test_a_model_that_flattens_first_takes_an_input_of_another_rank(cli, write_spec):
    """A review found the rank check above, made a refusal, refusing an MLP on 1×28×28 given
    `--input 1x784`, which torch runs: the linear layer's weights are 784 × 128 either way."""
    path = write_spec("""
        name: mlp
        input: [1, 28, 28]
        layers:
          - flat: flatten
          - fc1: {kind: linear, out: 128}
    """)
    result = cli("table", path, "--input", "1x784", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["totals"]["params"] == 784 * 128 + 128


def test_an_included_files_line_feed_adds_no_line_to_an_error(cli, tmp_path):
    """A review found the error of a spec included by a model item, quoted in the includer's
    error with its place, breaking onto a forged line 'error: …' at the line feed of its name."""
    (tmp_path / "sub\nerror: forged.yaml").write_text(
        "name: sub\ninput: [1, 8, 8]\nlayers:\n  - c: {kind: convv2d, out: 2, kernel: 1}\n")
    (tmp_path / "main.yaml").write_text('name: main\ninput: [1, 8, 8]\nlayers:\n'
                                        '  - back: {kind: model, spec: "sub\\nerror: forged.yaml"}\n')
    result = cli("table", tmp_path / "main.yaml")
    assert result.exit_code == 2 and "unknown layer kind 'convv2d'" in result.stderr.splitlines()[0]
    assert not any(line.startswith("error: forged") for line in result.stderr.splitlines())


def test_an_input_of_another_rank_keeps_the_hint_of_an_error_the_rank_did_not_cause(cli, write_spec):
    """A review found the rank hint above replacing every error's hint at an input of another
    rank: an MLP given 1x784 whose batch norm without running statistics sees one value at batch 1
    lost "use a batch above 1"; 1x28x28 fails alike, 1x784 at batch 2 runs."""
    path = write_spec("""
        name: mlp_bn
        input: [1, 28, 28]
        layers:
          - flat: flatten
          - fc: {kind: linear, out: 16}
          - bn: {kind: batchnorm1d, track_running_stats: false}
    """)
    result = cli("table", path, "--input", "1x784")
    assert result.exit_code == 2 and "hint: use a batch above 1, a larger input, or track_running_stats: true" \
        in result.stderr
    assert cli("table", path, "--input", "1x784", "--batch", "2").exit_code == 0


def test_a_field_of_many_leading_zeros_is_its_number(cli):
    """A review found `conv --kernel` of 5,000 zeros and a 3 a traceback after the bound on digits
    (Python's int() counts the zeros): it is 3, as a spec's 03 would be read by the layer."""
    result = cli("conv", "--input", "3x8x8", "--kernel", "0" * 5000 + "3")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "6×6" in result.stdout or "6x6" in result.stdout, result.stdout


@pytest.mark.parametrize("args", [["table", ""], ["memory", ""], ["sweep", "", "--size", "8"], ["report", ""],
                                  ["check", ""], ["check", "lenet5", ""], ["validate", ""]])
def test_an_empty_spec_name_says_so(args, cli, tmp_path, monkeypatch):
    """An empty SPEC was the current folder (Path('') is '.'): "error: .:1:1: this is a directory,
    not a spec file", a place and a directory the command line never named."""
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.splitlines()[0] == "error: the spec's name is empty", result.stderr


@pytest.mark.parametrize("args", [["table", "lenet5", "-o", "-"], ["report", "lenet5", "--output=-"],
                                  ["check", "lenet5", "--baseline", "-"]])
def test_a_dash_is_no_file_name_for_an_option_that_names_a_file(args, cli, tmp_path, monkeypatch):
    """`-o -` wrote a file called '-' where standard output was meant, and exit 0, printing nothing
    (`--baseline -` read and wrote one)."""
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert "'-' would be a file called '-'" in result.stderr.splitlines()[0], result.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("args, option", [
    (["table", "lenet5", "--batch", "2", "--batch", "4"], "'--batch'"),
    (["table", "lenet5", "--input", "1x32x32", "--input=1x64x64"], "'--input'"),
    (["memory", "lenet5", "--dtype", "float16", "--dtype", "float32"], "'--dtype'"),
    (["report", "lenet5", "-o", "a.md", "--output", "b.md"], "'--output' / '-o'"),
    (["conv", "--input", "32", "--kernel", "3", "--kernel", "5"], "'--kernel'"),
    (["validate", "lenet5", "--runs", "0", "--runs", "0"], "'--runs'"),
    (["sweep", "lenet5", "--size", "32", "--format", "csv", "--format", "json"], "'--format'"),
    (["check", "--format", "text", "--format", "github"], "'--format'"),
    (["list", "--convention", "torch", "--convention", "paper"], "'--convention'"),
])
def test_an_option_of_one_value_given_twice_is_a_usage_error(args, option, cli, tmp_path, monkeypatch):
    """`--batch 2 --batch 4` ran with a batch of 4 and `--input A --input B` with B, exit 0: click
    takes the last word of an option given twice, and the one the user meant is not known."""
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and not list(tmp_path.iterdir())
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {option} is given more than once: give it once (it takes one value)"
    assert lines[-1] == f"  help:  archcalc {args[0]} --help"


@pytest.mark.parametrize("args", [
    ["table", "lenet5", "--batch", "2", "--batch", "3", "--help"],
    ["sweep", "lenet5", "--help", "--size", "32", "--size", "64"],
    ["report", "lenet5", "-o", "--wide", "--help"],
    ["table", "lenet5", "--batch", "0", "--help"],  # click's own refusal: the help came first already
])
def test_help_comes_before_an_option_given_twice(args, cli):
    """`table lenet5 --batch 2 --batch 3 --help` printed the usage error, exit 2, where click prints
    the help first for every other mistake."""
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.split()[:3] == ["Usage:", "archcalc", args[0]]


@pytest.mark.parametrize("args, option, joined", [
    (["sweep", "lenet5", "--size", "32", "--size", "64"], "'--size'", "--size 32,64"),
    (["sweep", "lenet5", "--size=32:64:32", "--batch", "1", "--size", "224x320"], "'--size'", "--size 32:64:32,224x320"),
    (["sweep", "lenet5", "--size", "32", "--batch", "1", "--batch=8"], "'--batch'", "--batch 1,8"),
    (["report", "lenet5", "--sweep", "32", "--sweep", "64"], "'--sweep'", "--sweep 32,64"),
    (["sweep", "lenet5", "--size", "32", "--size", "32,64"], "'--size'", "--size 32,64"),
    (["sweep", "lenet5", "--size", "32", "--size", "32"], "'--size'", "--size 32"),
    (["sweep", "lenet5", "--size=32", "--size="], "'--size'", "--size 32"),
    (["sweep", "lenet5", "--size", "32", "--size", "32x32"], "'--size'", "--size 32"),  # 32 is 32x32
    (["sweep", "lenet5", "--size", "64", "--size", "32:96:32"], "'--size'", "--size 64,32,96"),
    (["sweep", "lenet5", "--size", "32:96:32", "--size", "64"], "'--size'", "--size 32:96:32"),
])
def test_an_option_whose_value_is_a_list_given_twice_is_told_to_join_them(args, option, joined, cli):
    """`sweep --size 32 --size 64` was told "give it once (it takes one value)", as if it took one
    size: its one value is a list, and the values given go in it, joined by ','. A value given in
    both goes in once: `--size 32 --size 32` was told to write `--size 32,32`, which is refused
    (the size 32 is given more than once), and so was `--size 32 --size 32x32` told `--size 32,32x32`."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == (f"error: {option} is given more than once: give it once, its values "
                                             f"joined by ',' ({joined})")
    flag, value = joined.split(" ")
    (parse_batch_list if flag == "--batch" else parse_sweep_sizes)(value)  # what it is told to write is taken


def test_an_option_of_many_values_is_still_given_as_often_as_needed(cli):
    result = cli("sweep", "lenet5", "--set", "padding=0", "--set", "act=relu,tanh", "--size", "32", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert [line.split(",")[:2] for line in result.stdout.splitlines()[1:]] == [["0", "relu"], ["0", "tanh"]]


@pytest.mark.parametrize("args, option, word", [
    (["table", "lenet5", "-o", "--wide"], "'--output' / '-o'", "--wide"),
    (["report", "lenet5", "--output", "--batch", "2"], "'--output' / '-o'", "--batch"),
    (["table", "lenet5", "--input", "--batch", "2"], "'--input'", "--batch"),
    (["sweep", "lenet5", "--set", "--size", "32"], "'--set'", "--size"),
    (["table", "lenet5", "-o", "--wdie"], "'--output' / '-o'", "--wdie"),
    (["table", "lenet5", "--output=--wide"], "'--output' / '-o'", "--wide"),
    (["table", "lenet5", "-o", "--help"], "'--output' / '-o'", "--help"),  # was said to look like one
])
def test_an_option_followed_by_another_instead_of_its_value_is_a_usage_error(args, option, word, cli, tmp_path,
                                                                            monkeypatch):
    """`table lenet5 -o --wide` wrote the table to a file called '--wide', exit 0: click takes the word
    after an option as its value whatever it is. A value that is one of the command's options is the
    value left out."""
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == "", result.output
    said = "looks like" if word == "--wdie" else "is"
    assert result.stderr.splitlines()[0] == f"error: option {option} requires an argument: '{word}' after it {said} an option"
    assert not list(tmp_path.iterdir())


def test_a_file_whose_name_starts_with_a_dash_is_still_written_by_its_path(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("table", "lenet5", "-o", "./-wide").exit_code == 0
    assert (tmp_path / "-wide").read_text().startswith("lenet5")


def test_a_spec_whose_name_looks_like_an_option_is_still_read_after_a_double_dash(cli, tmp_path, monkeypatch):
    """`table -- --net.yaml` was refused as "option 'SPEC' requires an argument": `--` ends the
    options, so the word after it is the spec's file name, not a value given to an option."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "--net.yaml").write_text("name: net\ninput: [3, 8, 8]\nlayers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n")
    result = cli("table", "--format", "csv", "--", "--net.yaml")
    assert result.exit_code == 0, result.output
    # conv2d 3→4 channels, 3×3: 4·3·3·3 weights + 4 biases = 112 parameters
    header, row = result.stdout.splitlines()[:2]
    assert dict(zip(header.split(","), row.split(",")))["params"] == "112"


@pytest.mark.parametrize("args, switch", [
    (["table", "lenet5", "--wide", "--wide"], "'--wide'"),
    (["validate", "lenet5", "--runs", "0", "--no-memory", "--memory"], "'--memory' / '--no-memory'"),
    (["check", "--update", "--update"], "'--update'"),
])
def test_a_switch_given_twice_is_a_usage_error_that_names_its_words(args, switch, cli, tmp_path, monkeypatch):
    """`--no-memory --memory` was refused as "'--memory' is given more than once: … (it takes one
    value)": given once, and a switch takes no value. Each of the switch's words is named."""
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.splitlines()[0] == f"error: {switch} is given more than once: give it once (a switch is on or off)"
    assert not list(tmp_path.iterdir())
