"""On a terminal, tables fit its width; piped, written with -o, or with --wide, they keep their full form.

Each command runs as a user runs it, `python -m archcalc …` with its output on a pseudo-terminal
of a fixed size (COLUMNS and the window size agree), and its lines are held to that width; the
same command with its output on a pipe gives the full form to compare with."""

from __future__ import annotations

import io
import os
import re
import select
import shutil
import struct
import subprocess
import sys
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from archcalc.render import fitting, terminal
from archcalc.render.table import Column, Table, as_text

fcntl = pytest.importorskip("fcntl")  # a pseudo-terminal: POSIX only
termios = pytest.importorskip("termios")

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")


def environment(columns: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "PAGER", "MANPAGER")}
    return {**env, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm-256color",
            "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")}


def on_terminal(args: list[str], columns: int, cwd: Path = ROOT, colours: bool = False,
                **env: str) -> tuple[int, str, str]:
    """Exit code, and what `archcalc ARGS` shows on its output and on its error stream, each a
    `columns`-wide terminal of its own (colours taken out unless `colours`), the first its input
    too; `env` adds variables."""
    terminals = [os.openpty() for _ in range(2)]
    for _, follower in terminals:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "archcalc", *args], stdin=terminals[0][1],
                               stdout=terminals[0][1], stderr=terminals[1][1], env={**environment(columns), **env},
                               cwd=cwd)
    shown = {leader: b"" for leader, _ in terminals}
    for _, follower in terminals:
        os.close(follower)
    while shown.keys() - closed(shown):
        for leader in select.select(list(shown.keys() - closed(shown)), [], [])[0]:
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:  # the terminal closes with the process (EIO)
                chunk = b""
            shown[leader] += chunk or b"\0end"
    for leader in shown:
        os.close(leader)
    out, err = (text.removesuffix(b"\0end").decode().replace("\r\n", "\n") for text in shown.values())
    if not colours:
        out, err = ANSI.sub("", out), ANSI.sub("", err)
    return process.wait(), out, err


def closed(shown: dict[int, bytes]) -> set[int]:
    return {leader for leader, text in shown.items() if text.endswith(b"\0end")}


@cache
def piped(args: tuple[str, ...], cwd: Path = ROOT) -> str:
    """What `archcalc ARGS` writes to a pipe: the full form (once per test session)."""
    return subprocess.run([sys.executable, "-m", "archcalc", *args], capture_output=True, text=True, cwd=cwd, check=False,
                          env=environment(200)).stdout


COMMANDS = {
    "table": ["table", "resnet18"],
    "table --depth 1 --rf": ["table", "resnet18", "--depth", "1", "--rf"],
    "symbolic table": ["table", "resnet18", "--input", "3xHxW", "--depth", "1"],
    "memory": ["memory", "resnet18"],
    "sweep": ["sweep", "vgg16", "--size", "16:112:32,224x320", "--batch", "1,8"],
}


@pytest.fixture(scope="module")
def failing_check(tmp_path_factory) -> tuple[Path, list[str]]:
    """A folder with the bundled specs and a baseline one parameter off for alexnet: a failing check."""
    folder = tmp_path_factory.mktemp("check")
    shutil.copytree(ROOT / "specs", folder / "specs")
    baseline = (ROOT / "archcalc.lock.yaml").read_text()
    assert "61100840" in baseline  # alexnet's parameters (torchvision: 61,100,840)
    (folder / "lock.yaml").write_text(baseline.replace("61100840", "61100841", 1))
    return folder, ["check", "--baseline", "lock.yaml", "specs/alexnet.yaml", "specs/lenet.yaml"]


def cases(failing_check) -> dict[str, tuple[list[str], Path]]:
    folder, check = failing_check
    return {**{name: (args, ROOT) for name, args in COMMANDS.items()}, "failing check": (check, folder)}


def assert_fits(shown: str, full: str, columns: int) -> None:
    """Every line within `columns`, and no number broken across lines: each exact figure shown is
    one of the full form's."""
    assert shown.strip(), "nothing shown"
    lines = shown.splitlines()
    assert max(map(len, lines)) <= columns, max(lines, key=len)
    assert set(GROUPED.findall(shown)) <= set(GROUPED.findall(full))
    # a table wider than the terminal is folded by it (rich), each line in two: its rules too
    rules = [index for index, line in enumerate(lines) if line and set(line) == {"─"}]
    assert not any(second == first + 1 for first, second in pairwise(rules)), "a table folded"


@pytest.mark.parametrize("columns", [80, *(pytest.param(columns, marks=pytest.mark.slow) for columns in (120, 200))])
def test_every_table_fits_the_terminal(columns, failing_check):
    for name, (args, cwd) in cases(failing_check).items():
        full = piped(tuple(args), cwd)
        assert max(map(len, full.splitlines())) > 80, name  # each is wider than 80 columns in full
        code, shown, _ = on_terminal(args, columns, cwd)
        assert code == (1 if name == "failing check" else 0), name
        assert_fits(shown, full, columns)
        if max(map(len, full.splitlines())) <= columns and name not in ("table", "memory"):
            assert shown == full, name  # wide enough: the full form itself (those with a tree of nested names apart)


NARROW_CASES = {
    "table --rf --train --device-profile": (["table", "resnet18", "--rf", "--train", "--device-profile", "h100-sxm"],
                                            60),
    "symbolic table": (["table", "resnet18", "--input", "3xHxW"], 46),
    "symbolic table --train": (["table", "resnet18", "--input", "3xHxW", "--batch", "N", "--train"], 60),
    "symbolic table --train --depth 1": (["table", "resnet18", "--input", "3xHxW", "--batch", "N", "--train",
                                          "--depth", "1"], 30),
    "list": (["list"], 60),
    "memory --train": (["memory", "resnet18", "--train", "--optimizer", "adam"], 46),
    "sweep": (COMMANDS["sweep"], 46),
}


@pytest.mark.parametrize("name", NARROW_CASES)
def test_every_table_fits_a_narrow_terminal(name):
    """At 60 columns (46 for the symbolic table) these tables took 62 to 92 columns once every
    column in FIT_ORDER had gone and the rest wrapped as far as they could: the terminal broke
    each row in two. They drop LAST_ORDER's columns, and last break a formula's floors. At 30
    columns the symbolic --train table took 33: the exact figures in its formulas (25,165,824·N)
    never broke; as the very last resort a column writes them short (25.2M·N)."""
    args, columns = NARROW_CASES[name]
    code, shown, _ = on_terminal(args, columns)
    assert code == 0
    assert_fits(shown, piped(tuple(args)), columns)


NARROWEST = {"table": (["table", "resnet18"], 27), "memory": (["memory", "resnet18"], 28),
             "table resnet18 --input 3xHxW --batch N --train":
                 (["table", "resnet18", "--input", "3xHxW", "--batch", "N", "--train"], 33),
             "table resnet18 --rf --train --device-profile h100-sxm":
                 (["table", "resnet18", "--rf", "--train", "--device-profile", "h100-sxm"], 41)}
"""Tables and the narrowest terminal each fits, as README states it."""


@pytest.mark.parametrize("name", NARROWEST)
def test_the_narrowest_terminal_a_table_fits_is_the_one_readme_states(name):
    """README said columns go "until it fits"; at 24 columns the terminal folded these tables,
    whose columns were all down to their widest number or tree branch. README now states where
    fitting stops: the table fits at that width, and one column less folds it."""
    args, columns = NARROWEST[name]
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert re.search(rf"`{re.escape(name)}` (?:fits )?down to {columns}\b", readme), name
    full = piped(tuple(args))
    assert_fits(on_terminal(args, columns)[1], full, columns)
    with pytest.raises(AssertionError, match="a table folded"):
        assert_fits(on_terminal(args, columns - 1)[1], full, columns - 1)


def test_a_name_longer_than_the_terminal_wraps_between_its_letters(write_spec):
    """A layer named by 150 letters has no join to wrap at: its column stayed 150 wide and the
    terminal folded every row. As a last resort a name wraps between any two letters (a number
    never: each exact figure is still one of the full form's)."""
    path = write_spec(f"name: long\ninput: [3, 8, 8]\nlayers:\n  - {'a' * 150}: {{kind: conv2d, out: 4, kernel: 3}}\n")
    for columns in (80, 40):
        code, shown, _ = on_terminal(["table", str(path)], columns)
        assert code == 0
        assert_fits(shown, piped(("table", str(path))), columns)
        assert "".join(line.split()[0] for line in shown.splitlines() if line.startswith("aaa")) == "a" * 150


def test_a_sweeps_parameter_named_as_a_column_that_goes_stays(write_spec):
    """A spec's parameters named `kind` and `share`: on a 50-column terminal the sweep's columns of
    their values went, as FIT_ORDER drops a table's `kind` and `share`, and nothing told one row's
    setting from another's. A parameter's column stays, whatever its name."""
    path = write_spec("name: par\ninput: [3, 32, 32]\nparams: {kind: 4, share: 8}\nlayers:\n"
                      "  - c: {kind: conv2d, out: kind, kernel: 3}\n  - d: {kind: conv2d, out: share, kernel: 3}\n")
    args = ["sweep", str(path), "--set", "kind=4,8", "--set", "share=8,16", "--size", "32,64"]
    code, shown, _ = on_terminal(args, 50)
    assert code == 0
    assert_fits(shown, piped(tuple(args)), 50)
    lines = shown.splitlines()
    heading = lines[next(index for index, line in enumerate(lines) if line.startswith("─")) - 1]
    assert heading.split()[:2] == ["kind", "share"]
    assert [line.split()[:2] for line in shown.splitlines() if re.match(r" *\d+ +\d+ +3×", line)] == [
        ["4", "8"], ["4", "8"], ["4", "16"], ["4", "16"], ["8", "8"], ["8", "8"], ["8", "16"], ["8", "16"]]


def test_the_narrow_forms_drop_and_shorten_in_the_stated_order(failing_check):
    _, shown, _ = on_terminal(COMMANDS["table --depth 1 --rf"], 80)
    headings = shown.splitlines()[5].split()
    assert headings == ["layer", "kind", "output", "params", "MACs", "share", "RF"]  # '#', start, jump dropped
    assert "118M" in shown and "118,013,952" not in shown.split("\n\n")[1]  # conv1's MACs, written short
    folder, check = failing_check
    _, shown, _ = on_terminal(check, 80, folder)
    assert "✗ drift (baseline)" in shown and "1 of 20 checks on 5 models fails" in shown


def test_nested_layers_show_as_a_tree():
    _, shown, _ = on_terminal(["table", "resnet18", "--depth", "3"], 120)
    lines = [line[:33].rstrip() for line in shown.splitlines()]
    start = lines.index("    layer1")
    assert lines[start:start + 4] == ["    layer1", "    ├─ 0", " 5  │  ├─ conv1", " 6  │  ├─ bn1"]
    assert lines[start + 9:start + 12] == ["    └─ 1", "12     ├─ conv1", "13     ├─ bn1"]
    assert "24  │  ├─ downsample (2 layers)" in lines
    piped_names = [line.split()[1] for line in piped(("table", "resnet18", "--depth", "3")).splitlines()[5:-3]]
    assert piped_names[4:6] == ["layer1.0.conv1", "layer1.0.bn1"]  # what the tree shows, in full
    _, shown, _ = on_terminal(["memory", "resnet18"], 120)  # the memory timeline's layers: the same tree
    lines = [line[:22].rstrip() for line in shown.splitlines()]
    start = lines.index("    layer1")
    assert lines[start:start + 4] == ["    layer1", "    ├─ 0", " 5  │  ├─ conv1", " 6  │  ├─ bn1"]


TREE_LINE = re.compile(r"((?:[│ ]  )*)(?:[├└]─ )?(\w+)")


def test_a_nested_name_wraps_under_its_branch():
    """`table resnet50 --rf --train` on 80 columns: the tree's branch wrapped apart from its name,
    '│  ├─' on one line and 'downsample' at the start of the next, where it read as a top-level
    layer (and half the rows wrapped their shapes). A branch stays whole before its name, a line
    of the name after it goes on under the name, and the column that adds the fewest lines wraps
    first (the headings): each line of the table is a row of one name, which the tree's depth and
    the names above it spell in full as the piped form does. On 40 and 60 columns a name too long
    for its column breaks under its branch, never at the start of a line."""
    args = ("table", "resnet50", "--rf", "--train")
    _, shown, _ = on_terminal(list(args), 80)
    assert_fits(shown, piped(args), 80)
    lines = shown.splitlines()
    rules = [index for index, line in enumerate(lines) if line and set(line) == {"─"}]
    names, path = [], []
    for line in lines[rules[0] + 1:rules[1]]:
        match = TREE_LINE.match(line)
        assert match and (match.end() == len(line) or line[match.end()] == " "), line
        depth = len(match.group(1)) // 3 + (line[len(match.group(1)):][:1] in ("├", "└"))
        path[depth:] = [match.group(2)]
        names.append(".".join(path))
    full = piped(args).splitlines()
    full_names = [line.split()[1] for line in full[full.index(next(line for line in full if line.startswith("──"))) + 1:]
                  if line[:4].strip().isdigit()]
    assert [name for name in names if name in full_names] == full_names
    assert "│  ├─ downsample" in lines
    tops = {name.split(".")[0] for name in full_names}
    for columns in (40, 60):  # narrower: a name breaks, under its branch; what starts a line is a top-level layer
        _, shown, _ = on_terminal(list(args), columns)
        assert_fits(shown, piped(args), columns)
        lines = shown.splitlines()
        rules = [index for index, line in enumerate(lines) if line and set(line) == {"─"}]
        assert {line.split()[0] for line in lines[rules[0] + 1:rules[1]] if line[:1].isalnum()} <= tops


@pytest.mark.parametrize("columns", [30, 40, 50, 60, 80])
def test_validate_alls_names_fold_only_at_their_joins(monkeypatch, columns):
    """`validate --all` below 50 columns wrapped its names between letters ('deepla', 'bv3_mo'),
    and at 60 its headings and verdicts too ('FlopCoun', '✓ agree' over 's'): every cell was cut
    between letters once one had to be. The figures its verdict sums up go first (the widest
    first), then a column at a time is cut between letters; the names fold at their joins, the
    verdicts stay whole."""
    from rich.cells import cell_len

    from archcalc.render.validation import summary_table
    from archcalc.validation.results import Check, LayerCheck, Validation

    names = ["alexnet", "deeplabv3_mobilenet_v3_large_aux", "shufflenet_v2_x0_5", "efficientnet_b0",
             "lraspp_mobilenet_v3_large"]
    total = LayerCheck("total", "", (Check("params", 61100840, 61100840), Check("fvcore", 714188480, 714188480),
                                     Check("flop_counter", 1428376960, 1428376960)))
    validations = [Validation(name, "x.yaml", "cpu", (1, 3, 224, 224), ("fvcore", "flop_counter"), {}, total=total)
                   for name in names]
    monkeypatch.setattr(terminal, "WIDTH", columns)
    lines = [text for text, _ in summary_table(validations)]
    assert max(map(cell_len, lines)) <= columns
    body = lines[next(index for index, line in enumerate(lines) if line.startswith("─")) + 1:lines.index("")]
    folded = [line.split()[0] for line in body if not line.startswith(" ")]
    joins = {name[start:end] for name in names for start in (0, *(i + 1 for i, c in enumerate(name) if c == "_"))
             for end in (*(i + 1 for i, c in enumerate(name) if c == "_"), len(name)) if start < end}
    assert "".join(folded) == "".join(names) and set(folded) <= joins, folded
    assert sum(line.count("✓ agrees") for line in body) == len(names)


BOLD_YELLOW, DIM, RED, BOLD = "\x1b[1;33m", "\x1b[2m", "\x1b[31m", "\x1b[1m"


def styled(text: str) -> dict[str, str]:
    """Each line (colours taken out) and the style it starts with."""
    return {ANSI.sub("", line).strip(): (ANSI.match(line) or [""])[0] for line in text.splitlines()}


def test_colours_carry_meaning(failing_check):
    """The rules of archcalc.render.styles: the costliest layers, together half the MACs, bold yellow
    (resnet18's four stages: 462 M + 3 × 411 M of 1.81 G, the last three alike); a layer that costs
    nothing dim; a failure red; conv's answers bold."""
    _, shown, _ = on_terminal(["table", "resnet18", "--depth", "1"], 120, colours=True)
    lines = {text.split()[1]: style for text, style in styled(shown).items() if text[:2].strip().isdigit()}
    assert [name for name, style in lines.items() if style == BOLD_YELLOW] == ["layer1", "layer2", "layer3", "layer4"]
    assert [name for name, style in lines.items() if style == DIM] == ["relu", "maxpool", "avgpool", "flatten"]
    assert lines["conv1"] == lines["bn1"] == lines["fc"] == ""
    _, shown, _ = on_terminal(["conv", "--input", "3x224x224", "--kernel", "7", "--stride", "2", "--padding", "3",
                               "--out-channels", "64"], 120, colours=True)
    bold = [text for text, style in styled(shown).items() if style == BOLD]
    assert bold == ["output: 64×112×112 (C×H×W)", "parameters: 9,472 (9,408 weights + 64 biases)", "MACs: 118,013,952"]
    _, shown, _ = on_terminal(["sweep", "lenet5", "--size", "8,32"], 120, colours=True)
    assert [text.split()[0] for text, style in styled(shown).items() if style == RED] == ["1×8×8"]
    folder, check = failing_check
    _, shown, _ = on_terminal(check, 120, folder, colours=True)
    assert [text.split()[:2] for text, style in styled(shown).items() if style == RED] == [["alexnet", "parameters"]]


def test_the_convention_line_wraps_at_words():
    _, shown, _ = on_terminal(COMMANDS["table"], 80)
    full = piped(tuple(COMMANDS["table"])).splitlines()[1]
    assert len(full) > 150
    wrapped = shown.splitlines()[1:4]
    assert " ".join(line.strip() for line in wrapped) == full
    assert all(len(line) <= 80 for line in wrapped)


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 120])
def test_validate_fits_the_terminal(columns):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    args = ["validate", "lenet5", "--runs", "0", "--no-memory"]
    full = piped(tuple(args))
    assert max(map(len, full.splitlines())) > 80
    code, shown, progress = on_terminal(args, columns)
    assert code == 0
    assert_fits(shown, full, columns)
    # rich's progress on the terminal's error stream: the model and each phase, then its verdict
    for phase in ("importing torch", "building the model in torch on cpu", "counting the forward pass"):
        assert f"validate lenet5: {phase}" in progress
    assert re.search(r"✓ lenet5 agrees \(\d+\.\d s\)", progress)


@pytest.mark.slow
def test_an_import_shows_its_phase_on_a_terminal(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "tiny.py").write_text("from torch import nn\n\n\ndef net():\n"
                                      "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())\n", encoding="utf-8")
    code, shown, progress = on_terminal(["import", "torch", "tiny:net", "--input", "3x8x8"], 80, cwd=tmp_path)
    assert code == 0 and "kind: conv2d" in shown
    # importing torch takes over a second in a fresh process: the spinner has shown it, then gone
    assert "import torch: importing torch" in progress and "done" not in progress


def test_wide_and_a_file_keep_the_full_form(tmp_path):
    args = COMMANDS["table --depth 1 --rf"]
    full = piped(tuple(args))
    _, wide, _ = on_terminal([*args, "--wide"], 80)
    assert wide == full
    target = tmp_path / "table.txt"
    _, shown, _ = on_terminal([*args, "-o", str(target)], 80)
    assert shown == "" and target.read_text() == full


def test_a_long_table_goes_through_the_pager_with_a_hint(tmp_path):
    """densenet121 is 427 rows: more than the terminal's 50 lines."""
    paged = tmp_path / "paged.txt"
    code, shown, hint = on_terminal(["table", "densenet121"], 80, PAGER=f"cat > {paged}")
    assert code == 0 and shown == ""
    assert hint == "hint: 427 rows, more than the terminal's 50 lines: try --depth 1 (16 rows)\n"
    through_pager = ANSI.sub("", paged.read_text())
    assert len(through_pager.splitlines()) > 427 and max(map(len, through_pager.splitlines())) <= 80
    _, unpaged, _ = on_terminal(["table", "densenet121"], 80)  # no $PAGER: printed, the hint as well
    assert unpaged == through_pager
    piped_run = subprocess.run([sys.executable, "-m", "archcalc", "table", "densenet121"], capture_output=True,
                               text=True, env={**environment(80), "PAGER": f"cat > {paged}x"}, check=False)
    assert piped_run.stderr == "" and not Path(f"{paged}x").exists()  # a pipe: no hint, no pager
    assert max(map(len, piped_run.stdout.splitlines())) > 80


def test_a_long_table_of_top_level_layers_alone_gets_no_depth_hint(write_spec):
    """--depth 1 of a model without blocks is the same table: 60 rows would be 'try --depth 1
    (60 rows)', which shortens nothing."""
    layers = "".join(f"  - relu{index}: relu\n" for index in range(60))
    path = write_spec(f"name: flat\ninput: [3, 8, 8]\nlayers:\n{layers}")
    code, shown, hint = on_terminal(["table", str(path)], 80)
    assert code == 0 and "relu59" in shown and hint == ""


@pytest.mark.parametrize("pager, failure", [("false", "1"), ("/nonexistent/pager", "127"), ("exit 3", "3")])
def test_a_pager_that_fails_leaves_the_output_on_the_terminal(pager, failure):
    """A pager that cannot start or fails: a warning, then the table printed as without a pager
    (it was lost, exit 0). MANPAGER, which Python's own pager prefers, plays no part."""
    code, shown, messages = on_terminal(["table", "densenet121"], 80, PAGER=pager, MANPAGER="false")
    _, unpaged, _ = on_terminal(["table", "densenet121"], 80)
    assert code == 0 and shown == unpaged
    assert f"warning: the pager ({pager}) failed ({failure}): the output follows here\n" in messages


def fitted(table: Table, width: int) -> list[str]:
    terminal.WIDTH = width
    try:
        return [line for line, _ in as_text(table)]
    finally:
        terminal.WIDTH = None


def test_the_last_column_of_a_table_never_goes():
    """A table whose every column is one that a narrow terminal drops (LAST_ORDER's `device`, an
    optional one) lost them all and fitting failed on the empty table (`max()` of nothing, a
    traceback). Its last column stays, wrapped as far as it goes."""
    for column in (Column("device", "<"), Column("peak", "<", optional=True)):
        table = Table([column])
        table.add(["x" * 20])  # no join to wrap at: wider than 8 until it breaks between letters
        lines = fitted(table, 8)
        assert lines[0] == column.heading and lines[2:] == ["x" * 8, "x" * 8, "x" * 4]


def test_columns_go_in_the_order_of_fit_order():
    """Each narrower width (by one column) drops the next column FIT_ORDER names."""
    droppable = [step for step in terminal.FIT_ORDER if step != terminal.NARROW]
    table = Table([Column("name", "<"), *(Column(heading, ">") for heading in droppable)])
    table.add(["y" * 12] * (1 + len(droppable)))  # every column 12 wide, with nothing to wrap
    full = [line for line, _ in as_text(table)]
    assert fitted(table, len(full[0])) == full
    for dropped in range(1, len(droppable) + 1):
        width = len(full[0]) - 14 * dropped
        lines = fitted(table, width)
        assert len(lines[0]) <= width
        assert lines[0].split() == ["name", *droppable[dropped:]]


def test_a_table_that_wraps_as_far_as_it_goes_closes_its_gaps():
    """`table resnet50 --device-profile h200 --train --rf` took 83 columns of an 80-column
    terminal once every column had gone or wrapped as far as it could, and the terminal broke each
    row in two. Where wrapping is not enough the columns stand one space apart."""
    table = Table([Column("name", "<"), *(Column(f"c{index}", ">") for index in range(10))])
    table.add(["abcdefghi", *["yyyyyyyyy"] * 10])  # 9 + 10 × 9 = 99 cells of text, none to wrap: 119 columns with gaps of 2
    width = 99 + 10 * 2 - 5
    lines = fitted(table, width)
    assert max(map(len, lines)) <= width
    assert lines[2] == " ".join(["abcdefghi", *["yyyyyyyyy"] * 10])
    assert fitted(table, 99 + 10 * 2)[2] == "  ".join(["abcdefghi", *["yyyyyyyyy"] * 10])  # it fits: gaps of 2
    code, shown, _ = on_terminal(["table", "resnet50", "--device-profile", "h200", "--train", "--rf"], 80)
    assert code == 0 and max(map(len, shown.splitlines()[4:])) <= 80


def test_validate_alls_table_drops_the_device_and_layers_before_a_name_wraps_between_letters():
    """`validate --all` (five models) on 60 columns: every column in FIT_ORDER gone and every cell
    wrapped, the table was still wider, and its names wrapped between letters ('alexne', 't_lect');
    the device and the layer count go first (LAST_ORDER)."""
    table = Table([Column("model", "<"), Column("device", "<"), Column("layers", ">"), Column("params", ">"),
                   Column("fvcore MACs", ">"), Column("FlopCounterMode FLOPs", ">"), Column("inference peak", ">"),
                   Column("ms", ">"), Column("verdict", "<")])
    table.add(["alexnet_lecture", "cpu", "21", "50,844,008 ✓", "1,010,000,000 ✓", "2,020,000,000 ✓", "206,000,000 ✓",
               "–", "✓ agrees"])
    lines = fitted(table, 60)
    assert max(map(len, lines)) <= 60
    assert lines[0].split() == ["model", "params", "fvcore", "FlopCounterMode", "inference", "ms", "verdict"]
    body = lines[next(index for index, line in enumerate(lines) if line.startswith("─")) + 1:]
    assert [line.split()[0] for line in body[:2]] == ["alexnet_", "lecture"]  # wrapped at its join


def test_a_cell_wraps_at_its_joins_never_inside_a_number():
    assert fitting.wrap("9,408·⌊(H + 1)/2⌋·⌊(W + 1)/2⌋", 18) == ["9,408·⌊(H + 1)/2⌋·", "⌊(W + 1)/2⌋"]
    assert fitting.wrap("9,408·⌊(H + 1)/2⌋·⌊(W + 1)/2⌋", 8) == ["9,408·", "⌊(H + 1)/2⌋·", "⌊(W + 1)/2⌋"]  # floors whole
    assert fitting.wrap("9,408·⌊(H + 1)/2⌋", 6, "floors") == ["9,408·", "⌊(H +", "1)/2⌋"]  # the last resort
    assert fitting.wrap("layer1.0.downsample.0", 12) == ["layer1.0.", "downsample.0"]
    assert fitting.wrap("specs/efficientnet.yaml", 14) == ["specs/", "efficientnet.", "yaml"]
    assert fitting.wrap("118,013,952", 5) == ["118,013,952"]
    assert fitting.wrap("conv_118,013,952", 3, "letters") == ["con", "v_", "118,013,952"]  # the last resort but one
    assert fitting.wrap("25,165,824·N", 5, "short") == ["25.2M", "·N"]  # the very last: its figures short too
    # a tree's branch whole, the name's next lines under it, the tree's lines beside them; there a
    # word wider than the room breaks between letters, as a line under the name reads as the name's
    assert fitting.wrap("   └─ block.conv1", 12) == ["   └─ block.", "      conv1"]
    assert fitting.wrap("│  ├─ downsample (2 layers)", 20) == ["│  ├─ downsample (2", "│  │  layers)"]
    assert fitting.wrap("│  ├─ downsample", 10) == ["│  ├─ down", "│  │  samp", "│  │  le"]
    assert [fitting.narrow(text) for text in ("118,013,952", "+1,234", "999", "61,706 ✓", "1,2")] == \
        ["118M", "+1.23K", "999", "61.7K ✓", "1,2"]


def test_a_number_and_its_unit_wrap_together(monkeypatch):
    """At 40 columns validate's latency table wrapped `92.5 G` (MAC/s) as `92.5` above `G`: a
    space after a number was a join like any other. A number and its unit (the SI prefix of
    human(), ms, MiB) stay on one line, at every cut; a space before a word still breaks."""
    assert fitting.wrap("92.5 G", 4) == ["92.5 G"]
    assert fitting.wrap("26.1 ms · 143.3 MiB", 9) == ["26.1 ms ·", "143.3 MiB"]
    assert fitting.wrap("2.48 G MACs", 6, "letters") == ["2.48 G", "MACs"]
    assert fitting.wrap("layer 3 blocks", 7) == ["layer 3", "blocks"]
    monkeypatch.setattr(terminal, "WIDTH", 18)  # 6 + 5 + 6 and two gaps of one: 19, a column wraps
    table = Table([Column("block", "<"), Column("ms", ">"), Column("MAC/s", ">")])
    table.add(["layer3", "4.443", "92.5 G"])
    table.add(["fc", "0.157", "3.26 G"])
    lines = [line for line, _ in as_text(table)]
    assert max(map(len, lines)) <= 18 and sum("92.5 G" in line or "3.26 G" in line for line in lines) == 2, lines


def test_progress_on_a_pipe_is_a_line_per_model_as_it_finishes(capsys):
    from types import SimpleNamespace

    from archcalc import progress
    from archcalc.render.progress import each

    def work(index: int) -> SimpleNamespace:
        progress.phase("counting")  # told to the watcher, which shows it only on a terminal
        return SimpleNamespace(ok=index == 0, model=["first", "second"][index])

    assert [r.model for r in each("validate", ["first", "second"], work)] == ["first", "second"]
    assert re.fullmatch(r"validate 1/2: ✓ first agrees \(\d+\.\d s\)\nvalidate 2/2: ✗ second differs \(\d+\.\d s\)\n",
                        capsys.readouterr().err)
    each("validate", ["first"], work)
    assert re.fullmatch(r"validate 1/1: ✓ first agrees \(\d+\.\d s\)\n", capsys.readouterr().err)  # one model too
    assert progress.WATCHER is progress.nobody


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("name", ["x [/] y", "[bold red]RED[/] [link=http://evil.example]CLICK[/link]"])
def test_a_models_name_on_the_progress_bar_is_text_not_markup(monkeypatch, name):
    """An attacking review found `validate` on a terminal reading a model's name as rich markup:
    '[bold red]…' recoloured the verdict, a link became a hyperlink, and 'x [/] y' raised
    MarkupError (a traceback, exit 1, no output written). The name is shown as written."""
    from types import SimpleNamespace

    from archcalc.render.progress import each

    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    results = each("validate", [name], lambda index: SimpleNamespace(model=name, ok=True))
    assert [result.model for result in results] == [name]
    shown = screen.getvalue()
    assert f"✓ {name} agrees" in shown and "\x1b]8;" not in shown  # no OSC 8 hyperlink


def test_wide_characters_are_padded_by_the_cells_they_take(monkeypatch):
    """An attacking review found a name of full-width digits, CJK and an emoji ("１２ 漢字 😀 long":
    12 code points, 17 terminal cells) padded by its code points: its rows 5 cells right of the
    others, and a fitted table wider than the terminal. Measured by rich's `cell_len` (UAX #11)."""
    from rich.cells import cell_len

    from archcalc.render import terminal
    from archcalc.render.table import Column, Table, as_text

    table = Table([Column("model", "<"), Column("figure", "<"), Column("now", ">"), Column("", "<")])
    for name in ("plain_ascii", "１２ 漢字 😀 long", "café"):
        table.add([name, "parameters", "1,234,567", "✓"])
    monkeypatch.setattr(terminal, "WIDTH", None)
    lines = [text for text, _ in as_text(table)]
    assert len({cell_len(text) for text in lines[2:]}) == 1  # every row as wide
    assert len({cell_len(text.split("parameters")[0]) for text in lines[2:]}) == 1  # its columns aligned
    monkeypatch.setattr(terminal, "WIDTH", 30)
    fitted = [text for text, _ in as_text(table)]
    assert max(map(cell_len, fitted)) <= 30
