"""Output: files are written whole or not at all, specs are never written, closed pipes end quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLI_ENV, DEFAULT_SIGNALS

from archcalc.output import write_atomically

ROOT = Path(__file__).resolve().parents[1]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("format", ["table", "json", "csv", "markdown", "latex"])
def test_output_file_holds_what_would_be_printed(format, cli, tmp_path):
    target = tmp_path / f"lenet.{format}"
    printed = cli("table", "lenet5", "--format", format)
    written = cli("table", "lenet5", "--format", format, "--output", target)
    assert written.exit_code == 0 and written.stdout == ""
    assert target.read_text(encoding="utf-8") == printed.stdout
    assert leftovers(tmp_path) == []


def test_table_latex_is_the_markdown_table_with_booktabs_rules(cli):
    """The same Table as the markdown: a cell per column separated by ' & ', numbers right-aligned
    ('r'), the headings and the totals between booktabs' rules, '%', '#' and '_' escaped."""
    latex = cli("table", "resnet18", "--depth", "1", "--format", "latex").stdout.splitlines()
    markdown = [line for line in cli("table", "resnet18", "--depth", "1", "--format", "markdown").stdout.splitlines()
                if line.startswith("|")]
    assert latex[0] == "% booktabs: \\usepackage{booktabs}" and latex[1] == "% resnet18 (specs/resnet.yaml)"
    top = latex.index("\\toprule")
    body = latex[top:latex.index("\\end{tabular}")]
    assert latex[top - 1] == "\\begin{tabular}{rlllrrr}"  # #, layer, kind, output; params, MACs, share
    assert body[0] == "\\toprule" and body[2] == "\\midrule" and body[-3] == "\\midrule" and body[-1] == "\\bottomrule"
    cells = [line.removesuffix(" \\\\").split(" & ") for line in [body[1], *body[3:-3], body[-2]]]
    expected = [[cell.strip() for cell in line.strip("|").split("|")] for line in [markdown[0], *markdown[2:]]]
    assert len(cells) == len(expected) == 13  # the headings, 11 top-level blocks, the totals
    for latex_cells, markdown_cells in zip(cells[:-1], expected):
        assert [cell.replace("\\%", "%").replace("\\#", "#").replace("\\_", "_") for cell in latex_cells] == [
            cell.replace("**", "") for cell in markdown_cells]
    assert cells[9][2] == "adaptive\\_avgpool2d"
    assert cells[-1][:6] == ["", "\\textbf{total}", "", "", "\\textbf{11,689,512}", "\\textbf{1,814,073,344}"]


def test_validate_writes_its_json(cli, tmp_path):
    pytest.importorskip("torch")
    target = tmp_path / "validation.json"
    result = cli("validate", "lenet5", "--runs", "0", "--format", "json", "-o", target)
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["schema"] == "archcalc.validation/1"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(cli, tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("the old report\n")
    target.chmod(0o640)

    def disk_full(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    result = cli("table", "resnet50", "--format", "json", "-o", target)
    assert result.exit_code == 2
    assert result.stderr == (f"error: cannot write '{target}': No space left on device\n"
                             "  hint: the file was left as it was\n")
    assert target.read_text() == "the old report\n"
    assert leftovers(tmp_path) == []


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "table.txt"
    target.write_text("old\n")

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, "new\n")
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "table.txt"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give a file to another")
def test_a_file_replaced_as_root_keeps_its_owner(cli, tmp_path):
    """A fuzzer's: CI runs archcalc as root, and `check --update` (or any -o) gave the checkout
    owner's baseline of mode 640 to root, which its owner could then not read."""
    target = tmp_path / "table.txt"
    target.write_text("old\n")
    os.chown(target, 1234, 1234)
    target.chmod(0o640)
    assert cli("table", "lenet5", "-o", target).exit_code == 0
    assert target.read_text().startswith("lenet5")
    status = target.stat()
    assert (status.st_uid, status.st_gid, status.st_mode & 0o777) == (1234, 1234, 0o640)


def test_the_spec_being_read_is_never_a_target(cli, write_spec):
    spec = write_spec("name: x\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n")
    before = spec.read_bytes()
    result = cli("table", spec, "--output", spec)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: refusing to write over '{spec}': this command reads it")
    assert spec.read_bytes() == before


@pytest.mark.parametrize("command", [["table"], ["report"], ["memory"], ["validate", "--runs", "0", "--no-memory"]])
def test_a_spec_another_includes_is_never_a_target(cli, write_spec, command):
    """docs/spec.md: no file a command reads is a target. A spec read through a model item
    ('kind: model, spec: inner.yaml') was replaced by the output, exit 0."""
    inner = write_spec("name: inner\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n", name="inner.yaml")
    outer = write_spec("name: outer\ninput: [3, 8, 8]\nlayers:\n  - m: {kind: model, spec: inner.yaml}\n")
    before = inner.read_bytes()
    result = cli(command[0], outer, *command[1:], "-o", inner)
    assert result.exit_code == 2, result.output
    assert f"error: refusing to write over '{inner}': this command reads it" in result.stderr  # once read
    assert inner.read_bytes() == before


def test_a_file_read_as_a_spec_by_an_earlier_command_is_a_target_again(cli, write_spec):
    """The specs read are those of the command running: in one process (a notebook, the tests), a
    file an earlier command read as a spec was refused as 'being read' to every later -o."""
    spec = write_spec("name: x\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n")
    out = spec.parent / "out.json"
    assert cli("table", spec, "--format", "json", "-o", out).exit_code == 0
    assert cli("table", out).exit_code == 2  # read as a spec, and no spec
    again = cli("table", spec, "--format", "json", "-o", out)
    assert again.exit_code == 0, again.stderr


def test_a_bundled_spec_is_never_a_target(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    before = (ROOT / "specs" / "lenet.yaml").read_bytes()
    result = cli("table", "lenet5", "-o", "specs/lenet.yaml")
    assert result.exit_code == 2
    assert (ROOT / "specs" / "lenet.yaml").read_bytes() == before


@pytest.mark.parametrize("command", [["zoo"], ["list"], ["list", "--format", "markdown"]])
@pytest.mark.parametrize("bundled", ["specs/lenet.yaml", "specs/resnet.yaml"])
def test_zoo_and_list_never_write_over_a_bundled_spec_they_read(cli, monkeypatch, command, bundled):
    monkeypatch.chdir(ROOT)
    before = (ROOT / bundled).read_bytes()
    result = cli(*command, "-o", bundled)
    assert result.exit_code == 2
    assert result.stderr == (f"error: refusing to write over '{bundled}': this command reads it\n"
                             "  hint: give --output another file name\n")
    assert (ROOT / bundled).read_bytes() == before


WRITE_THEN_SIGNAL = """
import os, signal, sys
from archcalc import output
def fsync_then_signal(descriptor):
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))  # the signal arrives mid-write
output.os.fsync = fsync_then_signal
output.write_atomically(sys.argv[1], "new\\n")
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_during_a_write_leaves_the_old_file_and_no_temporary(tmp_path, name):
    import signal

    target = tmp_path / "table.txt"
    target.write_text("old\n")
    result = subprocess.run([*DEFAULT_SIGNALS, "-c", WRITE_THEN_SIGNAL, str(target), name], check=False,
                            capture_output=True, text=True, timeout=60)
    number = getattr(signal, name)
    expected = -number if name == "SIGINT" else 128 + number  # Python ends an uncaught Ctrl-C by the signal
    assert result.returncode == expected, result.stderr
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_an_ignored_hangup_stays_ignored_during_a_write(tmp_path):
    """Under nohup SIGHUP is ignored: the write goes on and completes."""
    target = tmp_path / "table.txt"
    script = "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n" + WRITE_THEN_SIGNAL
    result = subprocess.run([sys.executable, "-c", script, str(target), "SIGHUP"], check=False,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "new\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["a" * 251 + ".txt", "é" * 125 + ".md", "表" * 83 + ".csv"],
                         ids=["255 ASCII bytes", "254 bytes of é", "253 bytes of CJK"])
def test_a_file_name_of_the_longest_length_is_written(cli, tmp_path, name):
    assert len(name.encode()) in (253, 254, 255)
    target = tmp_path / name
    result = cli("table", "lenet5", "-o", target)
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("lenet5 (specs/lenet.yaml)")
    assert leftovers(tmp_path) == []


def test_output_into_a_missing_folder(cli, tmp_path):
    result = cli("table", "lenet5", "-o", tmp_path / "nowhere" / "t.txt")
    assert result.exit_code == 2
    assert f"the folder '{tmp_path / 'nowhere'}' does not exist" in result.stderr


@pytest.mark.parametrize("special", ["/dev/null", "pipe"])
def test_a_device_or_a_pipe_is_never_replaced(cli, tmp_path, special):
    """As root, renaming a file over /dev/null would replace the device for every process."""
    target = Path(special) if special.startswith("/") else tmp_path / special
    if not target.exists():
        os.mkfifo(target)
    kind = target.stat().st_mode
    for args in (["table", "lenet5"], ["list"], ["check", "lenet5", "--baseline", tmp_path / "none.yaml"]):
        result = cli(*args, "-o", target)
        assert result.exit_code == 2 and "it is not a regular file" in result.stderr, args
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert target.stat().st_mode == kind  # still the device or the pipe
    assert leftovers(tmp_path) == []


def test_a_link_is_followed_and_kept(cli, tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert cli("table", "lenet5", "-o", link).exit_code == 0
    assert link.is_symlink() and real.read_text() == cli("table", "lenet5").stdout
    linked_spec = tmp_path / "spec.yaml"
    linked_spec.symlink_to(ROOT / "specs" / "lenet.yaml")
    before = (ROOT / "specs" / "lenet.yaml").read_bytes()
    refused = cli("table", "lenet5", "-o", linked_spec)
    assert refused.exit_code == 2 and "this command reads it" in refused.stderr
    assert (ROOT / "specs" / "lenet.yaml").read_bytes() == before and linked_spec.is_symlink()


def test_a_closed_pipe_ends_quietly():
    env = {**os.environ, **CLI_ENV}
    process = subprocess.Popen([sys.executable, "-m", "archcalc", "table", "resnet152", "--format", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.readline()  # like `| head -1`: read a line, then close the pipe
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["PYTHONUNBUFFERED", "buffered"])
def test_a_full_non_blocking_pipe_gets_the_whole_output(tmp_path, unbuffered):
    """A pipe that takes part of a write (full and non-blocking, as some parents leave it; a
    write cut short by a signal is the same) still gets every byte, and the run succeeds: Python's
    unbuffered stdout dropped the rest silently (exit 0), its buffered one raised."""
    import fcntl
    import time

    (tmp_path / "spec.yaml").write_text("name: long\ninput: [3, 16, 16]\nlayers:\n"
                                        "  - c: {kind: conv2d, out: 3, kernel: 3, padding: 1, repeat: 500}\n")
    command = [sys.executable, "-m", "archcalc", "table", "spec.yaml", "--format", "json"]
    env = {**os.environ, **CLI_ENV, "PYTHONUNBUFFERED": unbuffered}
    written = subprocess.run([*command, "-o", "out.json"], cwd=tmp_path, env=env, capture_output=True, timeout=60,
                             check=False)
    assert written.returncode == 0, written.stderr
    expected = (tmp_path / "out.json").read_bytes()
    assert len(expected) > 4 * 65536  # more than a pipe holds
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETFL, fcntl.fcntl(write, fcntl.F_GETFL) | os.O_NONBLOCK)
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    time.sleep(0.5)  # the pipe fills while nobody reads
    received = []
    with os.fdopen(read, "rb") as pipe:
        while chunk := pipe.read1(65536):
            received.append(chunk)
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""
    assert b"".join(received) == expected


def _run_with(stdout, stderr=subprocess.PIPE, shell_redirect: str = "", **env) -> subprocess.CompletedProcess:
    """`archcalc table lenet5` in a fresh process, its standard streams as given (a shell
    redirection closes one: `>&-`)."""
    command = f"exec {sys.executable} -m archcalc table lenet5 {shell_redirect}"
    return subprocess.run(["/bin/sh", "-c", command], env={**os.environ, **CLI_ENV, **env}, stdout=stdout,
                          stderr=stderr, timeout=60, check=False, text=True)


@pytest.mark.parametrize("case, expected", [
    ("closed", "error: standard output is closed: there is nowhere to print\n"),
    ("full", "error: cannot write to standard output: No space left on device\n"),
    ("ascii", "error: standard output's encoding (ascii) cannot write '\\xd7' (U+00D7)\n")])  # stderr escapes it
def test_standard_output_that_cannot_take_the_result_is_one_clear_error(case, expected):
    """Standard output closed (`>&-`), a full device (/dev/full) or an encoding without the
    table's characters: one message and its hint, exit 2, not a traceback."""
    if case == "full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full" if case == "full" else os.devnull, "w") as target:
        result = _run_with(subprocess.PIPE if case == "ascii" else target,
                           shell_redirect=">&-" if case == "closed" else "",
                           **({"PYTHONIOENCODING": "ascii"} if case == "ascii" else {}))
    assert result.returncode == 2
    assert result.stderr.startswith(expected) and "hint: " in result.stderr and "Traceback" not in result.stderr


def test_closed_standard_error_keeps_the_exit_codes():
    """With standard error closed (`2>&-`) the messages are not seen, the results and exit codes are."""
    shown = _run_with(subprocess.PIPE, shell_redirect="2>&-")
    assert shown.returncode == 0 and shown.stdout.startswith("lenet5 ")
    refused = subprocess.run(["/bin/sh", "-c", f"exec {sys.executable} -m archcalc table no_such_model 2>&-"],
                             env={**os.environ, **CLI_ENV}, capture_output=True, timeout=60, check=False)
    assert refused.returncode == 2 and refused.stdout == b""


@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/fd/1", "link", "//proc/self/fd/1", "//dev/fd/1",
                                    "proc/self/fd/1"])
def test_an_open_descriptor_is_never_replaced(tmp_path, target):
    """`-o /dev/stdout >> log` would rename a new file over log (the shell's redirect target): what
    log held, and what the shell writes after, lost. Refused, directly or through a link (an
    attacking review found two leading slashes, which POSIX keeps, and a folder that links to
    /proc getting past the refusal)."""
    (tmp_path / "link").symlink_to("/dev/stdout")
    (tmp_path / "proc").symlink_to("/proc")
    log = tmp_path / "log.txt"
    log.write_text("before\n")
    with open(log, "a") as appended:
        result = subprocess.run([sys.executable, "-m", "archcalc", "table", "lenet5", "-o", target], cwd=tmp_path,
                                env={**os.environ, **CLI_ENV}, stdout=appended, stderr=subprocess.PIPE, text=True,
                                timeout=60, check=False)
    assert result.returncode == 2 and "it names a file some process has open" in result.stderr
    assert log.read_text() == "before\n"


def test_a_standard_error_that_cannot_be_written_keeps_results_and_exit_codes(tmp_path):
    """Standard error on a full device: the messages are lost, the exit codes (2 for an error, 0 for
    a run whose progress line fails) and the results are not."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    env = {**os.environ, **CLI_ENV}
    with open("/dev/full", "w") as full:
        refused = subprocess.run([sys.executable, "-m", "archcalc", "table", "no_such_model"], env=env,
                                 stdout=subprocess.PIPE, stderr=full, timeout=60, check=False)
        shown = subprocess.run([sys.executable, "-m", "archcalc", "table", "lenet5"], env=env, stdout=subprocess.PIPE,
                               stderr=full, text=True, timeout=60, check=False)
        recorded = subprocess.run([sys.executable, "-m", "archcalc", "check", "lenet5", "--update", "--baseline",
                                   str(tmp_path / "b.yaml")], env=env, stderr=full, timeout=60, check=False)
    assert refused.returncode == 2 and shown.returncode == 0 and shown.stdout.startswith("lenet5 ")
    assert recorded.returncode == 0 and "lenet5:" in (tmp_path / "b.yaml").read_text()  # its 'wrote …' line lost


@pytest.mark.parametrize("args", [["validate", "lenet5", "--runs", "0", "-o", "missing/v.json"],
                                  ["report", "lenet5", "--validate", "-o", "missing/r.md"],
                                  ["report", "lenet5", "--validate", "--set", "nothere=1"]],
                         ids=["validate -o", "report -o", "report --set"])
def test_a_long_command_refuses_its_output_or_options_before_the_work(tmp_path, args):
    """An output that cannot be written, or a bad --set, is refused before torch's seconds of work
    (no model validated: validate's progress line is missing), and the command runs once."""
    result = subprocess.run([sys.executable, "-m", "archcalc", *args], cwd=tmp_path, env={**os.environ, **CLI_ENV},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert "validate 1/1" not in result.stderr and result.stderr.count("error: ") == 1


def test_the_version_on_a_standard_output_that_cannot_take_it_is_one_error():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "archcalc", "--version"], stdout=full, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, **CLI_ENV}, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot write to standard output: No space left on device\n")


@pytest.mark.parametrize("name", ["new_folder/", "existing/", "new_folder/.", "existing/.", "new_folder//.",
                                  "existing/..", ".", ".."])
def test_an_output_name_ending_in_a_slash_is_a_folder_never_a_file(cli, tmp_path, monkeypatch, name):
    """`-o existing/` replaced the file `existing` (a path drops the '/'), `-o new_folder/` wrote a
    file of that name; so did `-o new_folder/.` and `-o existing/.` (a fuzzer's), a path dropping
    the '/.'."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing").write_text("kept\n")
    result = cli("table", "lenet5", "-o", name)
    assert result.exit_code == 2 and "names a folder, not a file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"] and (tmp_path / "existing").read_text() == "kept\n"


def test_an_output_name_with_a_line_feed_stays_on_the_errors_one_line(cli, tmp_path, monkeypatch):
    """A fuzzer's: `-o $'new\\nfake line/x'` printed the line feed, so the one error went over two
    lines (a forged line after it); a spec's name had it written '\\n' already."""
    monkeypatch.chdir(tmp_path)
    result = cli("table", "lenet5", "-o", "new\nerror: fake/x")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "error: cannot write 'new\\nerror: fake/x': the folder 'new\\nerror: fake' does not exist")


def test_a_spec_file_name_that_is_not_utf_8_is_written_to_a_file_escaped(tmp_path):
    """A name of bytes that are no UTF-8 (Python holds them as surrogates) in the table's header:
    -o wrote nothing and blamed standard output's encoding; then the file held the name's own
    bytes (no UTF-8); now it holds the byte's escape, as standard output does."""
    name = b"\xff.yaml"
    (tmp_path / os.fsdecode(name)).write_bytes((ROOT / "specs" / "lenet.yaml").read_bytes())
    env = {**os.environ, **CLI_ENV}
    written = subprocess.run([sys.executable, "-m", "archcalc", "table", os.fsdecode(name), "-o", "out.txt"],
                             cwd=tmp_path, env=env, capture_output=True, timeout=60, check=False)
    printed = subprocess.run([sys.executable, "-m", "archcalc", "table", os.fsdecode(name)], cwd=tmp_path, env=env,
                             capture_output=True, timeout=60, check=False)
    assert written.returncode == 0, written.stderr
    assert b"(\\xff.yaml)" in (tmp_path / "out.txt").read_bytes().splitlines()[0]
    assert (tmp_path / "out.txt").read_bytes() == printed.stdout


def test_csv_text_a_spreadsheet_would_run_as_a_formula_is_written_as_text(cli, tmp_path):
    """OWASP's "CSV Injection": a field that begins with =, +, -, @, a tab or a carriage return is
    run by a spreadsheet as a formula (=HYPERLINK sends data away). A spec's model and variant
    names are free text, so `validate --format csv` wrote a variant '=1+1' as a formula; every CSV
    now writes such text with a ' before it, and numbers as they are."""
    import csv
    import io

    from archcalc.render.table import Column, Line, Table, as_csv

    table = Table([Column("a")], [Line([cell]) for cell in ("=cmd", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "ok", -3,
                                                            (1, 2), None, "")])
    assert list(csv.reader(io.StringIO(as_csv(table), newline=""))) == [["a"], *(
        [cell] for cell in ["'=cmd", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "ok", "-3", "(1, 2)", "", ""])]
    pytest.importorskip("fvcore")
    spec = tmp_path / "named.yaml"
    spec.write_text('name: "=HYPERLINK(\\"http://example.com\\")"\ninput: [3, 8, 8]\n'
                    'variants:\n  "=1+1": {}\n  "@SUM(A1)": {}\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n')
    result = cli("validate", str(spec), "--variant", "=1+1", "--format", "csv", "--runs", "0", "--no-memory")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["model"], row["layer"]) for row in rows] == [("'=1+1", "c"), ("'=1+1", "total")]


def test_a_negative_setting_of_a_sweep_is_a_number_in_csv(cli, write_spec):
    """A parameter's value is a number in CSV, as the counts are: -0.5, never the text '-0.5 a
    spreadsheet guard would make of it."""
    spec = write_spec("""
        name: neg
        input: [3, 8, 8]
        params: {slope: 0.1}
        layers:
          - c: {kind: conv2d, out: 4, kernel: 3}
          - r: {kind: leaky_relu, negative_slope: slope}
    """)
    result = cli("sweep", spec, "--set", "slope=-0.5,0.5", "--size", "8", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert [line.split(",")[0] for line in result.stdout.splitlines()] == ["set.slope", "-0.5", "0.5"]


def test_a_sweeps_parameter_named_as_a_figure_gets_a_heading_of_its_own(cli, write_spec):
    """Parameters named `params`, `MACs` and `N` (a sweep over two batches): the table headed two
    columns `params` and two `MACs`, which nothing told apart (a table's headings must be unique
    to be read); each such parameter is headed `set.NAME`, as the CSV heads every one, and the
    report's table of settings the same. A parameter named as no column keeps its name."""
    spec = write_spec("""
        name: clash
        input: [3, 8, 8]
        params: {params: 4, MACs: 2, N: 1, width: 1}
        layers:
          - c: {kind: conv2d, out: params, kernel: 3}
          - d: {kind: conv2d, out: MACs, kernel: 1}
    """)
    sets = ["--set", "params=4", "--set", "MACs=2", "--set", "N=1", "--set", "width=1"]
    result = cli("sweep", spec, *sets, "--size", "8", "--batch", "1,2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    heading = lines[next(index for index, line in enumerate(lines) if line.startswith("─")) - 1].split()
    assert heading == ["set.params", "set.MACs", "set.N", "width", "N", "input", "params", "MACs", "activations", "memory"]
    assert len(set(heading)) == len(heading)
    report = cli("report", spec, *sets, "--sweep", "8").stdout
    assert "| set.params | set.MACs | N | width | input | params | MACs |  |" in report  # one batch: no column N


def test_a_symbolic_shape_in_csv_brackets_each_size_that_is_a_sum(cli):
    """LeNet-5 at N×1×H×W: conv1 (5×5, no padding) gives N×6×(H − 4)×(W − 4), pool1 (2×2) halves
    it: ⌊(H − 4)/2⌋ = ⌊H/2⌋ − 2. The CSV wrote '1x6xH - 4xW - 4', which reads as arithmetic
    across the sizes; each size that is a sum is in brackets, as the table and markdown write it,
    and each part between the x's is the JSON's Python text of that size."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(cli("table", "lenet5", "--input", "1xHxW", "--batch", "N",
                                               "--format", "csv").stdout)))
    shapes = {row["name"]: row["shape"] for row in rows}
    assert shapes["conv1"] == "Nx6x(H - 4)x(W - 4)"
    assert shapes["pool1"] == "Nx6x((H//2) - 2)x((W//2) - 2)"
    sizes = {"N": 2, "H": 32, "W": 36}
    assert [eval(size, sizes) for size in shapes["pool1"].split("x")] == [2, 6, 14, 16]  # as the JSON is read


@pytest.mark.parametrize("n, text", [
    (4_089_184_256, "4.09 G"), (999_999, "1 M"), (999_499, "999 K"), (999_500, "1 M"), (999, "999"),
    (999_999_999_999, "1 T"), (3_900_000_000_000_000_000, "3.9 E"), (1.67e23, "167,000 E"), (0, "0")])
def test_short_figures_are_rounded_before_their_prefix_is_chosen(n, text):
    """An attacking review found 999,999 written '1e+03 K' (and '1e+03K' in a fitted table):
    the prefix was chosen before rounding to three significant figures. Hand arithmetic:
    999,999 = 0.999999 M, 1.00 M at three figures."""
    from archcalc.render.fitting import narrow
    from archcalc.render.numbers import human

    assert human(n) == text
    if isinstance(n, int) and n >= 1000:
        assert narrow(f"{n:,}") == text.replace(" ", "")


@pytest.mark.parametrize("n, text", [
    (44_040_192, "42.0 MiB"), (1_048_572, "1.0 MiB"), (1_023, "1023 B"), (1_024, "1.0 KiB"),
    (3_292_000_000_000, "3.0 TiB"), (2**60 * 3, "3.0 EiB")])
def test_bytes_are_rounded_before_their_prefix_is_chosen(n, text):
    """1,048,572 B is 0.99999 MiB (hand arithmetic): '1.0 MiB', not '1024.0 KiB'; past GiB, TiB."""
    from archcalc.sizes import human_bytes

    assert human_bytes(n) == text


def test_a_small_ratio_of_two_models_is_written_in_digits(cli):
    """LeNet-5's MACs over ResNet-152's, 416,520 / 11,513,626,624 = 0.0000362 (three figures): an
    attacking review found '3.62e-05×' in the report's side-by-side table."""
    text = cli("report", "resnet152", "lenet5").stdout
    assert "| MACs | 11,513,626,624 (11.5 G) | 416,520 (417 K) | 0.0000362× |" in text


@pytest.mark.parametrize("format", ["json", "markdown", "csv", "latex", "table"])
def test_a_file_name_that_is_no_utf8_leaves_the_output_utf8(tmp_path, format):
    """An attacking review found a spec named with the byte 0xFF written raw into JSON, markdown,
    HTML and LaTeX: no UTF-8, so no JSON (RFC 8259 §8.1). The byte is escaped: in JSON as its own
    escape, which reads back as the name Python holds, elsewhere as \\xff."""
    spec = tmp_path / os.fsdecode(b"net-\xff.yaml")
    spec.write_text("name: net\ninput: [1, 4, 4]\nlayers:\n  - conv: {kind: conv2d, out: 2, kernel: 1}\n")
    out = tmp_path / f"out.{format}"
    done = subprocess.run([sys.executable, "-m", "archcalc", "table", str(spec), "--format", format, "-o", str(out)],
                          env={**os.environ, **CLI_ENV}, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    text = out.read_bytes().decode("utf-8")  # raises on a byte that is no UTF-8
    if format == "json":
        assert json.loads(text)["file"] == str(spec)
    elif format != "csv":  # the CSV names no file
        assert "net-\\xff.yaml" in text
    html = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "archcalc", "report", str(spec), "--format", "html", "-o", str(html)],
                   env={**os.environ, **CLI_ENV}, capture_output=True, timeout=60, check=True)
    html.read_bytes().decode("utf-8")


@pytest.mark.parametrize("x, text", [(9.9996e-05, "0.0001"), (999.99, "1,000"), (3.62e-05, "0.0000362"),
                                     (0.00101, "0.00101"), (4.0857, "4.09"), (0, "0"), (3.6e-05, "0.000036")])
def test_three_figures_are_rounded_before_they_are_written(x, text):
    """A review found 9.9996e-05 written '0.0001000' (rounding carried into the next power of ten
    after the decimals were chosen) and 999.99 '1e+03'."""
    from archcalc.render.numbers import three_figures

    assert three_figures(x) == text


@pytest.mark.parametrize("x, text", [(0.081, "0.0810"), (1.2, "1.20"), (1, "1.00"), (3.6e-05, "0.0000360"),
                                     (9.9996e-05, "0.000100"), (999.99, "1,000"), (4.0857, "4.09"), (0, "0")])
def test_three_figures_with_zeros_keeps_a_trailing_zero(x, text):
    """Three significant figures, as a column of them is read (docs/zoo.md): 0.081 is 0.0810."""
    from archcalc.render.numbers import three_figures

    assert three_figures(x, zeros=True) == text


def test_archcalcs_own_files_are_no_output(cli, tmp_path, monkeypatch):
    """A fuzzer found `-o archcalc/devices.yaml` replacing the bundled device profiles (every later
    --device-profile h200 'unknown'), and `-o specs/lenet.yaml` a bundled model the command had not
    read. The package's folder and the bundled specs' are refused as targets; checked here on a
    stand-in folder, so that a regression cannot write over the real ones."""
    from archcalc import output
    from archcalc.spec.catalog import specs_dir

    package = Path(output.__file__).resolve().parent
    assert package in output._own_files() and specs_dir() in output._own_files()
    own = tmp_path / "own"
    own.mkdir()
    (own / "devices.yaml").write_text("kept\n", encoding="utf-8")
    monkeypatch.setattr(output, "_own_files", lambda: (own,))
    result = cli("table", "lenet5", "-o", own / "devices.yaml")
    assert result.exit_code == 2 and "it is among archcalc's own files" in result.stderr
    assert (own / "devices.yaml").read_text(encoding="utf-8") == "kept\n"


def test_a_lower_bound_in_latex_is_written_as_latex_reads_it(cli, tmp_path):
    """A fuzzer found `table --format latex --device-profile P` writing '≥' (a lower bound's mark)
    in a tabular cell, which pdfLaTeX's default UTF-8 input does not map: $\\geq$."""
    from archcalc.render.markup import latex_text

    assert latex_text("≥ 20 µs ≤") == r"$\geq$ 20 µs $\leq$"
    spec = tmp_path / "opq.yaml"
    spec.write_text("name: opq\ninput: [3, 8, 8]\nlayers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n"
                    "  - act: {kind: opaque, operation: \"'mystery'\", shape: [4, 6, 6], reads: [4, 6, 6]}\n",
                    encoding="utf-8")
    result = cli("table", str(spec), "--device-profile", "h200", "--format", "latex")
    body = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("%"))  # comments: not read
    assert result.exit_code == 0 and "≥" not in body and r"$\geq$" in body, result.stdout
