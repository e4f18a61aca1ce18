"""archcalc reads a well-formed command line itself, from the commands' data, and leaves every
other one to the typer app built from the same data. Where it reads one, it must give each
command exactly the values typer gives; where typer refuses one, it must not read it.

The expected values come from typer (its parser, conversions and callbacks) on the same words."""

from __future__ import annotations

import ast
import itertools
import random
import subprocess
import sys

import pytest
import typer
from conftest import CLI_ENV

from archcalc.cli import COMMANDS, command_function, read_command_line
from archcalc.cli.read import read_values
from archcalc.cli.usage import ArchcalcCommand, typer_function
from archcalc.commands import REQUIRED, Argument, Option, parameters

SAMPLES = {
    "--input": ["3x32x32", "3xHxW", "32", "16x20", "3x", "0x8x8", "H"],
    "--batch": ["1", "N", "4", "0", "1,8", "1:64:8", "x"],
    "--size": ["32:64:32", "224,256", "224x320", "8:10007", "0:8", "a"],
    "--sweep": ["32:64:32", "224", "z"],
    "--kernel": ["3", "3x5", "0", "same", "3x"],
    "--stride": ["1", "2x1", "0", "valid"],
    "--padding": ["0", "1", "same", "valid", "1x2", "-1"],
    "--dilation": ["1", "2", "2x3", "0"],
    "--variant": ["resnet18", "", "x y"],
    "--set": ["groups=1,2", "width=0.5:2:0.25", "x", "w=1:0"],
    "--max-params": ["25M", "4.1G", "1000", "1.5", "x"],
}
"""Texts for the options that parse their text: valid ones and ones their parser refuses."""

NUMBERS = ["1", "3", "0", "-1", "+2", " 2", "1_0", "٣", "2147483648", "abc", ""]
FILES = ["out.txt", "", "."]


def typer_values(function, words: list[str]) -> dict | None:
    """The values typer hands `function` for `words`; None where it refuses them."""
    names = [name for name, _ in parameters(function)]
    seen: dict = {}
    namespace = {"seen": seen}
    exec(f"def record({', '.join(names)}):\n    seen.update(locals())", namespace)  # same names, same data
    record = namespace["record"]
    record.__defaults__ = function.__defaults__
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command("x", cls=ArchcalcCommand)(typer_function(record))
    try:
        typer.main.get_command(single).main(args=words, standalone_mode=False)
    except (typer.BadParameter, typer.Exit, typer._click.exceptions.ClickException):
        return None
    return seen


def texts_of(flag: str, option: Option) -> list[str]:
    if option.choices:
        return [*option.choices, "nope", option.choices[0].upper()]
    if option.kind is int:
        return NUMBERS
    if option.kind.__name__ in ("Path", "PosixPath"):
        return FILES
    return SAMPLES.get(flag, ["x"])


def minimal(function) -> list[str]:
    """The words every command line of `function` needs: its required arguments and options."""
    words = []
    for name, parameter in parameters(function):
        if isinstance(parameter, Argument) and parameter.required:
            words += ["resnet18", "lenet5"] if parameter.many else ["resnet18"]
        elif isinstance(parameter, Option) and parameter.default is REQUIRED:
            flag = parameter.flags[0] if parameter.flags else "--" + name.replace("_", "-")
            words += [flag, SAMPLES[flag][0]]
    return words


def vectors(function) -> list[list[str]]:
    """Command lines of `function`: each option with each sample text, as two words, as one
    (--flag=text) and before the arguments; repeated; unknown; and random combinations."""
    base = minimal(function)
    found = [base, [*base, "--help"], [*base, "--"], [*base, "--bogus"], [*base, "extra"], []]
    options = []
    for name, parameter in parameters(function):
        if not isinstance(parameter, Option):
            continue
        flags = parameter.flags or ("--" + name.replace("_", "-"),)
        if parameter.kind is bool:
            negative = [] if parameter.flags else ["--no-" + name.replace("_", "-")]
            for flag in [*flags, *negative]:
                options.append([flag])
                found += [[*base, flag], [flag, *base], [*base, flag, flag], [*base, f"{flag}=1"]]
            continue
        for flag in flags:
            for text in texts_of(flag, parameter):
                options.append([flag, text])
                found += [[*base, flag, text], [flag, text, *base], [*base, f"{flag}={text}"]]
            found += [[*base, flag], [*base, flag, "--rf"]]
        sample = texts_of(flags[0], parameter)[0]
        found.append([*base, flags[0], sample, flags[0], sample])
    chance = random.Random(14)
    for _ in range(60):
        chosen = chance.sample(options, min(len(options), chance.randint(2, 4)))
        found.append([*base, *itertools.chain.from_iterable(chosen)])
    return found


@pytest.mark.parametrize("name", COMMANDS)
def test_what_is_read_is_what_typer_gives(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.txt").write_text("")
    function = command_function(name)
    read = 0
    for words in vectors(function):
        ours = read_values(parameters(function), words)
        theirs = typer_values(function, words)
        if ours is not None:
            read += 1
            assert theirs is not None, f"read what typer refuses: {words}"
            assert ours == theirs, words
            assert [type(value) for value in ours.values()] == [type(value) for value in theirs.values()], words
    assert read >= 10, f"only {read} command lines of {name} were read without typer"


@pytest.mark.parametrize("words", [
    ["table", "resnet18"], ["table", "resnet18", "--rf", "--format", "json"], ["list"], ["zoo"],
    ["conv", "--input", "3x32x32", "--kernel", "3"], ["conv", "--input", "32", "--in-channels", "3", "--kernel", "3"],
    ["pool", "--input", "32", "--kernel", "2", "--average"],
    ["sweep", "resnet18", "--size", "32:64:32"], ["report", "resnet18", "lenet5"], ["check"],
    ["validate", "--all", "--device", "meta"],
])
def test_everyday_command_lines_are_read_without_typer(words):
    assert read_command_line(words) is not None


@pytest.mark.parametrize("words", [[], ["--help"], ["tabel"], ["table", "--help"], ["table"], ["table", "a", "b"],
                                   ["table", "a", "--depth", "0"], ["table", "a", "--", "b"]])
def test_the_rest_is_left_to_typer(words):
    assert read_command_line(words) is None


@pytest.mark.parametrize("words", [["table", "a", "--batch", "2", "--batch", "4"], ["table", "a", "--output=--wide"],
                                   ["table", "a", "--variant=--wdie"], ["table", "a", "--input", "--batch", "2"]])
def test_an_option_given_twice_or_an_option_for_a_value_is_refused_by_both_readers(words):
    """`--output=--wide` was read as the file '--wide' (written, exit 0), where typer refuses
    `-o --wide`: a value that is, or looks like, an option is refused, as an option given twice is."""
    assert read_command_line(words) is None
    assert typer_values(command_function(words[0]), words[1:]) is None


def fresh(*arguments: str, probe: str = "") -> subprocess.CompletedProcess:
    code = ("import sys\nfrom archcalc.cli import main\nsys.argv = ['archcalc', *sys.argv[1:]]\ntry:\n    main()\n"
            f"finally:\n    {probe or 'pass'}\n")
    return subprocess.run([sys.executable, "-c", code, *arguments], check=False, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, **CLI_ENV})


def test_a_table_runs_without_importing_the_command_line_library():
    done = fresh("table", "lenet5", probe="sys.stderr.write(str(sorted(m for m in sys.modules if 'typer' in m "
                                          "or 'click' in m or m == 'rich')))")
    assert done.returncode == 0
    assert done.stderr == "[]"
    assert "conv1" in done.stdout


@pytest.mark.parametrize("arguments", [("table", "resnet152"), ("table", "lenet5", "--format", "json"),
                                       ("check", "specs/resnet.yaml")])
def test_a_table_and_a_check_import_neither_dataclasses_nor_inspect(arguments):
    """Importing `dataclasses` (which imports `inspect`, and it `dis` and `tokenize`) took 8–12 ms
    of a cold process, a tenth of `archcalc table resnet152`: the classes these commands make are
    plain ones."""
    done = fresh(*arguments, probe="sys.stderr.write(str(sorted(m for m in ('dataclasses', 'inspect', 'dis', 'tokenize') "
                                   "if m in sys.modules)))")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "[]"


WATCHED = """
import gc, sys
import archcalc.analysis, archcalc.receptive
from archcalc.cli import main
collector, fields = set(), []
def watched(module, name, counted):
    original = getattr(module, name)
    def call(*args, **kwargs):
        collector.add(gc.isenabled())
        fields.extend([name] if counted else [])
        return original(*args, **kwargs)
    setattr(module, name, call)
watched(archcalc.analysis, "analyze_graph", False)
watched(archcalc.receptive, "receptive_fields", True)
sys.argv = ["archcalc", *sys.argv[1:]]
try:
    main()
finally:
    sys.stderr.write(repr((sorted(collector), len(fields))))
"""


@pytest.mark.parametrize(("arguments", "shown"), [(("table", "resnet18"), False),
                                                  (("check", "-j", "1", "specs/resnet.yaml"), False),
                                                  (("table", "resnet18", "--rf"), True),
                                                  (("table", "resnet18", "--format", "json"), True)])
def test_a_command_works_with_the_collector_off_and_works_out_receptive_fields_only_to_show_them(arguments, shown):
    """The cyclic garbage collector is off while a command works (it rescanned every parsed spec
    node: 42 % of a 10,000-layer table), and receptive fields are worked out only where they are
    shown (--rf, JSON: 12 % of `check` went into fields it never shows)."""
    done = subprocess.run([sys.executable, "-c", WATCHED, *arguments], check=False, capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ, **CLI_ENV})
    assert done.returncode == 0, done.stderr
    collector, fields = ast.literal_eval(done.stderr)
    assert collector == [False]  # the analysis ran, every time with the collector off
    assert (fields > 0) == shown


def test_a_usage_error_from_the_command_is_shown_with_the_usage():
    """`--rf` with a symbolic height is refused by the command itself, after reading: the error is
    shown with the command's usage, as every usage error is shown (the command is not run again)."""
    done = fresh("table", "lenet5", "--input", "1xHxW", "--rf")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "  usage: archcalc table [OPTIONS]" in done.stderr
    assert "receptive fields need whole-number" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_user_error_is_one_message_and_exit_2():
    done = fresh("table", "no_such_model")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_a_figure_that_differs_exits_1(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_text("name: m\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n"
                    "expect: {params: 1}\n", encoding="utf-8")
    done = fresh("check", str(spec), "--baseline", str(tmp_path / "none.yaml"))
    assert done.returncode == 1, done.stderr
