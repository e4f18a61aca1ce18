"""An adversarial corpus: every case is an input an attacker (or an unlucky CI job, as root) can
give archcalc, and the invariant it must hold. Run beside the fuzz test; the count is printed.

Kinds of case:
- every bad spec of tests/bad_specs/ through the commands that read a spec and were not yet run
  on it (`check`, `report`, `sweep`, `table --rf`): exit 2, one located message, nothing written;
- file-system set-ups for specs and outputs: links (dangling, looping, to a spec, to a device),
  devices, named pipes, sockets, directories, read-only and missing folders, a file that vanishes;
- option vectors: a wrong value for every option of every command;
- signals during a write, and concurrent runs writing the same output or the same baseline.

Every case checks: the exit code, no traceback, an error on stderr alone when refused, every file
of the scratch folder intact except the one output the command may write, no temporary file
left, and an answer within SECONDS (an alarm in this process, a timeout for a fresh one).
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CLI_ENV, DEFAULT_SIGNALS

ROOT = Path(__file__).resolve().parents[1]
BAD_SPECS = sorted((ROOT / "tests" / "bad_specs").glob("*.yaml"))
SECONDS = 20
GOOD = "name: good\ninput: [3, 16, 16]\nlayers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n  - relu: relu\n"


class TookTooLong(BaseException):
    pass


def _alarm(signum, frame):
    raise TookTooLong


def snapshot(folder: Path) -> dict[str, str]:
    """Every regular file under `folder` (links not followed) and a digest of its bytes."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            files[str(path.relative_to(folder))] = "link → " + os.readlink(path)
        elif path.is_file():
            files[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@pytest.fixture
def holds(cli, tmp_path, monkeypatch, count_adversarial_case):
    """Run `archcalc ARGS` in the scratch folder and check the invariants; `exits`: the codes
    allowed, `writes`: the one file it may create or change."""
    monkeypatch.chdir(tmp_path)
    previous = signal.signal(signal.SIGALRM, _alarm)

    def run(*args: str, exits: tuple[int, ...] = (2,), writes: str | None = None, says: str = ""):
        count_adversarial_case()
        before = {name: digest for name, digest in snapshot(tmp_path).items() if name != writes}
        signal.setitimer(signal.ITIMER_REAL, SECONDS)
        try:
            result = cli(*args)
        except TookTooLong:
            pytest.fail(f"no answer within {SECONDS} s: archcalc {' '.join(args)}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert result.exit_code in exits, (args, result.output)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        if result.exit_code == 2:
            assert result.stdout == "", (args, result.stdout)
            assert result.stderr.startswith(("error: ", "Usage: ")), (args, result.stderr)
            assert says in result.stderr, (args, result.stderr)
        after = {name: digest for name, digest in snapshot(tmp_path).items() if name != writes}
        assert after == before, (args, "files changed")
        assert not [name for name in after if name.endswith(".tmp")], (args, "a temporary file was left")
        return result

    yield run
    signal.signal(signal.SIGALRM, previous)


# --- every bad spec through the commands the corpus test does not run -------------------------

SPEC_COMMANDS = {"check": ["check"], "report": ["report"], "sweep": ["sweep", "--size", "16:17"],
                 "table --rf": ["table", "--rf"]}
FAST_COMMANDS = {"check"}
"""The fast tier runs every bad spec through these; a full run through all."""


ANSWERED = {  # (command, bad spec) that answer rightly: what is wrong does not arise there
    ("sweep", "kernel_larger_than_input"): 0,  # the sweep's sizes (16, 17) are larger than the spec's input
    ("sweep", "output_too_large"): 0,  # the sweep's sizes keep every tensor small
}


@pytest.mark.parametrize("spec", BAD_SPECS, ids=[path.stem for path in BAD_SPECS])
@pytest.mark.parametrize("command", [pytest.param(name, marks=() if name in FAST_COMMANDS else pytest.mark.slow)
                                     for name in SPEC_COMMANDS])
def test_a_bad_spec_is_refused_by_every_command(holds, tmp_path, spec, command):
    if spec.is_dir():
        (tmp_path / "spec.yaml").mkdir()
    else:
        (tmp_path / "spec.yaml").write_bytes(spec.read_bytes())
    name, *options = SPEC_COMMANDS[command]
    holds(name, "spec.yaml", *options, "--baseline" if name == "check" else "--format",
          "none.yaml" if name == "check" else _text_format(name), exits=(ANSWERED.get((name, spec.stem), 2),))


def _text_format(command: str) -> str:
    return {"report": "markdown", "sweep": "table", "table": "table"}[command]


# --- file-system set-ups ----------------------------------------------------------------------

def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    _SOCKETS.append(server)


_SOCKETS: list[socket.socket] = []

SPEC_SETUPS = {
    "a dangling link": (lambda p: p.symlink_to("nowhere.yaml"), "no such file"),
    "a loop of links": (lambda p: (p.with_name("b.yaml").symlink_to(p.name), p.symlink_to("b.yaml")),
                        "Too many levels of symbolic links"),
    "a link to itself": (lambda p: p.symlink_to(p.name), "Too many levels of symbolic links"),
    "a named pipe": (_fifo, "named pipe"),
    "a link to a named pipe": (lambda p: (_fifo(p.with_name("pipe")), p.symlink_to("pipe")), "named pipe"),
    "a socket": (_socket, "socket"),
    "a link to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), "device"),
    "a link to /dev/null": (lambda p: p.symlink_to("/dev/null"), "device"),
    "a directory": (lambda p: p.mkdir(), "directory"),
    "a link to a directory": (lambda p: (p.with_name("folder").mkdir(), p.symlink_to("folder")), "directory"),
    "an empty file": (lambda p: p.write_text(""), "the file is empty"),
    "a file of one NUL": (lambda p: p.write_bytes(b"\0"), "not allowed in YAML text"),
    "a file of 4 MiB and one byte": (lambda p: p.write_bytes(b"#" * (4 * 2**20 + 1)), "larger than 4 MiB"),
    "a UTF-16 file": (lambda p: p.write_text(GOOD, encoding="utf-16"), "not UTF-8"),
}


@pytest.mark.parametrize("setup", SPEC_SETUPS)
@pytest.mark.parametrize("command", [["table"], ["validate", "--runs", "0"], ["check", "--baseline", "b.yaml"],
                                     ["report"], ["sweep", "--size", "8:9"]], ids=lambda c: c[0])
def test_a_spec_that_is_no_spec_file_is_refused(holds, tmp_path, setup, command):
    make, says = SPEC_SETUPS[setup]
    make(tmp_path / "spec.yaml")
    try:
        holds(command[0], "spec.yaml", *command[1:], says=says)
    finally:
        for server in _SOCKETS:
            server.close()
        _SOCKETS.clear()


OUTPUT_SETUPS = {  # target → (set-up, exit codes, what stderr says)
    "a link to the spec": (lambda d: (d / "out.txt").symlink_to("spec.yaml"), (2,), "this command reads it"),
    "the spec by another path": (lambda d: (d / "sub").mkdir(), (2,), "this command reads it"),
    "/dev/null": (lambda d: None, (2,), "not a regular file"),
    "/dev/full": (lambda d: None, (2,), "not a regular file"),
    "a named pipe": (lambda d: os.mkfifo(d / "out.txt"), (2,), "not a regular file"),
    "a link to a device": (lambda d: (d / "out.txt").symlink_to("/dev/null"), (2,), "not a regular file"),
    "a directory": (lambda d: (d / "out.txt").mkdir(), (2,), "is a directory"),
    "a loop of links": (lambda d: ((d / "a.txt").symlink_to("out.txt"), (d / "out.txt").symlink_to("a.txt")), (2,),
                        "Too many levels of symbolic links"),
    "a missing folder": (lambda d: None, (2,), "does not exist"),
    "a dangling link": (lambda d: (d / "out.txt").symlink_to("made.txt"), (0,), ""),
    "a link to a file": (lambda d: ((d / "made.txt").write_text("old\n"), (d / "out.txt").symlink_to("made.txt")),
                         (0,), ""),
    "a file name of 255 bytes": (lambda d: None, (0,), ""),
    "a file name of 256 bytes": (lambda d: None, (2,), "File name too long"),
}
TARGETS = {"the spec by another path": "sub/../spec.yaml", "/dev/null": "/dev/null", "/dev/full": "/dev/full",
           "a missing folder": "nowhere/out.txt", "a file name of 255 bytes": "o" * 251 + ".txt",
           "a file name of 256 bytes": "o" * 252 + ".txt"}
WRITES = {"a dangling link": "made.txt", "a link to a file": "made.txt", "a file name of 255 bytes": "o" * 251 + ".txt"}


@pytest.mark.parametrize("setup", OUTPUT_SETUPS)
@pytest.mark.parametrize("command", [["table", "spec.yaml"], ["report", "spec.yaml"], ["sweep", "spec.yaml", "--size", "8:9"],
                                     ["check", "spec.yaml", "--baseline", "b.yaml"]], ids=lambda c: c[0])
def test_an_output_target_is_written_whole_or_refused(holds, tmp_path, setup, command):
    (tmp_path / "spec.yaml").write_text(GOOD)
    make, exits, says = OUTPUT_SETUPS[setup]
    make(tmp_path)
    if command[0] == "check" and exits == (0,):
        exits = (1,)  # written, and the model is not in the (absent) baseline
    holds(*command, "-o", TARGETS.get(setup, "out.txt"), exits=exits, writes=WRITES.get(setup), says=says)


def test_a_spec_that_vanishes_between_runs(holds, tmp_path):
    (tmp_path / "spec.yaml").write_text(GOOD)
    holds("table", "spec.yaml", exits=(0,))
    (tmp_path / "spec.yaml").unlink()
    holds("table", "spec.yaml", says="no such file")


def test_output_into_a_read_only_folder(holds, tmp_path):
    if os.geteuid() == 0:  # root writes anyway: the write then succeeds whole
        (tmp_path / "spec.yaml").write_text(GOOD)
        holds("table", "spec.yaml", "-o", "out.txt", exits=(0,), writes="out.txt")
        return
    (tmp_path / "spec.yaml").write_text(GOOD)
    (tmp_path / "locked").mkdir(mode=0o500)
    holds("table", "spec.yaml", "-o", "locked/out.txt", says="not writable")


# --- option vectors -------------------------------------------------------------------------

WRONG_OPTIONS = {
    "table": [["--input", ""], ["--input", "0x8x8"], ["--input", "3x8"], ["--input", "3x8x8x8x8"], ["--input", "-3x8x8"],
              ["--input", "3x2147483648x8"], ["--batch", "0"], ["--batch", "-1"], ["--batch", "2.5"], ["--batch", "n"],
              ["--depth", "0"], ["--depth", "x"], ["--convention", "nope"], ["--format", "html"], ["--dtype", "int4"],
              ["--variant", "nope"], ["--input", "3xHxW", "--rf"], ["--input", "3x8x8", "--input"]],
    "validate": [["--runs", "-1"], ["--warmup", "-1"], ["--device", "tpu"], ["--counter", "none"], ["--input", "3xHxW"],
                 ["--batch", "N"], ["--format", "yaml"]],
    "report": [["--sweep", "0:4"], ["--sweep", "4:1"], ["--sweep", "1:100000000"], ["--convention", "x"],
               ["--format", "pdf"]],
    "sweep": [["--size", ""], ["--size", "0"], ["--size", "1:2147483647"], ["--size", "8:4"], ["--size", "8:16:0"],
              ["--batch", "0"], ["--size", "8", "--batch", "1:20000"], ["--format", "xml"]],
    "check": [["--format", "sarif"], ["--baseline", "/dev/null"], ["--baseline", "."]],
}


@pytest.mark.parametrize("command, options", [(command, options) for command, vectors in WRONG_OPTIONS.items()
                                              for options in vectors],
                         ids=lambda value: " ".join(value) if isinstance(value, list) else value)
def test_a_wrong_option_value_is_one_clear_error(holds, tmp_path, command, options):
    (tmp_path / "spec.yaml").write_text(GOOD)
    holds(command, "spec.yaml", *options)


CALCULATOR_OPTIONS = [["--input", "3x8x8", "--kernel", "0"], ["--input", "3x8x8", "--kernel", "9"],
                      ["--input", "3x8x8", "--kernel", "3", "--stride", "0"], ["--input", "3x8x8", "--kernel", "x"],
                      ["--input", "3x8x8", "--kernel", "3", "--padding", "-1"], ["--input", "3xHxW", "--kernel", "3"],
                      ["--input", "3x8x8", "--kernel", "3", "--dilation", "banana"], ["--kernel", "3"]]


@pytest.mark.parametrize("command", ["conv", "pool"])
@pytest.mark.parametrize("options", CALCULATOR_OPTIONS, ids=" ".join)
def test_a_wrong_calculator_option_is_one_clear_error(holds, command, options):
    holds(command, *options)


# --- signals and concurrent runs (fresh processes) -------------------------------------------

SLOW = "name: slow\ninput: [3, 16, 16]\nlayers:\n  - c: {kind: conv2d, out: 3, kernel: 3, padding: 1, repeat: 3000}\n"
SLOWER = SLOW.replace("out: 3", "out: 'max(3, " + ", ".join(["index % 2"] * 85) + ")'").replace("3000", "50000")
"""A run of a second or two: 50,000 layers, each working out an expression of 85 terms (a repeat of
one layer as it is would be copied, in a tenth of the time)."""


def _process(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([*DEFAULT_SIGNALS, "-m", "archcalc", *args], cwd=cwd, env={**os.environ, **CLI_ENV},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # fresh processes
@pytest.mark.parametrize("runs", [2, 4])
@pytest.mark.parametrize("command", [["table", "--format", "json"], ["report"]], ids=lambda c: c[0])
def test_concurrent_runs_writing_one_output_leave_one_whole_file(tmp_path, count_adversarial_case, runs, command):
    count_adversarial_case()
    (tmp_path / "spec.yaml").write_text(SLOW)
    started = [_process(command[0], "spec.yaml", *command[1:], "-o", "out.txt", cwd=tmp_path) for _ in range(runs)]
    for process in started:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0 and "Traceback" not in stderr, stderr
    alone = subprocess.run([sys.executable, "-m", "archcalc", command[0], "spec.yaml", *command[1:]], cwd=tmp_path,
                           env={**os.environ, **CLI_ENV}, capture_output=True, text=True, timeout=120, check=True)
    assert (tmp_path / "out.txt").read_text() == alone.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt", "spec.yaml"]


@pytest.mark.slow  # fresh processes
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
@pytest.mark.parametrize("command", [["table"], ["report"], ["check", "--update"]], ids=lambda c: " ".join(c))
def test_a_signal_in_the_middle_of_a_run_leaves_files_whole(tmp_path, count_adversarial_case, name, command):
    """The signal arrives at a random point of a slow run (in the analysis or in the write):
    the output is the old one or the new one, whole, and no temporary file is left."""
    count_adversarial_case()
    (tmp_path / "spec.yaml").write_text(SLOW)
    target = "archcalc.lock.yaml" if command[0] == "check" else "out.txt"
    (tmp_path / target).write_text("old\n" if target == "out.txt" else "models:\n")
    output = [] if command[0] == "check" else ["-o", target]
    (tmp_path / "spec.yaml").write_text(SLOWER)
    process = _process(command[0], "spec.yaml", *command[1:], *output, cwd=tmp_path)
    with pytest.raises(subprocess.TimeoutExpired):  # still running: the signal comes in the middle
        process.wait(timeout=0.6)
    process.send_signal(getattr(signal, name))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, "the run went on after the signal"
    # Ctrl-C while Python is still importing is answered by Python itself, with its traceback
    assert "Traceback" not in stderr or name == "SIGINT" and stderr.rstrip().endswith("KeyboardInterrupt"), stderr
    text = (tmp_path / target).read_text()
    assert text in ("old\n", "models:\n") or text.endswith("\n") and ("slow" in text or "c.0" in text), text[:200]
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")]


@pytest.mark.slow  # fresh processes
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the processes are found in /proc")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_to_check_leaves_no_process_of_it_running(tmp_path, count_adversarial_case, name):
    """`check` of two slow families measures them in two processes (archcalc.parallel): a signal
    to the one started ends it, and the copy it made ends with it (killed, or by the kernel when
    its parent ends), holding none of the caller's pipes open: it does not go on through its
    family's models (three of a second or two each) in the background."""
    count_adversarial_case()
    for family in ("a", "b"):
        variants = "variants: {" + ", ".join(f"{family}{index}: {{}}" for index in range(3)) + "}\n"
        spec = SLOWER.replace("slow", family).replace("layers:", variants + "layers:")
        (tmp_path / f"{family}.yaml").write_text(spec)
    process = subprocess.Popen([*DEFAULT_SIGNALS, "-m", "archcalc", "check", "-j", "2", "a.yaml", "b.yaml"], cwd=tmp_path,
                               env={**os.environ, **CLI_ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while not _in_group(process.pid, children_of=process.pid):  # signalled once its copy is measuring
        assert process.poll() is None and time.monotonic() < deadline, "check ended before it made a copy"
        time.sleep(0.01)
    time.sleep(0.2)
    process.send_signal(getattr(signal, name))
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, "the run went on after the signal"
    assert "Traceback" not in stderr or name == "SIGINT" and stderr.rstrip().endswith("KeyboardInterrupt"), stderr
    while _in_group(process.pid):  # its own session's processes: none left running
        time.sleep(0.02)
        assert time.monotonic() < sent + 60
    assert time.monotonic() - sent < 0.5, "a copy of check went on after its parent ended"


def _in_group(group: int, children_of: int | None = None) -> bool:
    """Whether a process of `group` runs (one that ended, and waits to be reaped, does not); with
    `children_of`, one whose parent is that process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent, its_group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):  # ended meanwhile
            continue
        if int(its_group) == group and state != "Z" and children_of in (None, int(parent)):
            return True
    return False


# --- found by an attacking review (5 December, evening) -------------------------------------------

LONG = "a" * 256
"""A path component longer than the 255 bytes a file system takes: looking it up is ENAMETOOLONG,
which pathlib's exists() raises (it swallows only 'no such file' and a loop of links)."""


@pytest.mark.parametrize("arguments", [
    ["table", LONG], ["table", LONG + ".yaml"], ["memory", LONG], ["check", "good.yaml", "--baseline", LONG],
    ["check", "good.yaml", "--baseline", LONG, "--update"], ["table", "good.yaml", "--device-profile", LONG],
    ["table", "good.yaml", "--device-profile", LONG + ".yaml"],
], ids=["table", "table .yaml", "memory", "check --baseline", "check --update", "--device-profile",
        "--device-profile .yaml"])
def test_a_name_too_long_is_one_clear_error(holds, tmp_path, arguments):
    """It was a traceback and exit 1 (check's code for a figure that drifted)."""
    (tmp_path / "good.yaml").write_text(GOOD)
    result = holds(*arguments)
    assert "File name too long" in result.stderr or "neither a file nor a bundled model" in result.stderr


@pytest.mark.parametrize("setup", ["fifo", "device", "folder"])
@pytest.mark.parametrize("command", ["table", "report"])
def test_a_device_profile_that_is_no_regular_file_is_refused_at_once(holds, tmp_path, setup, command):
    """A named pipe hung table and report for ever; /dev/zero ate memory to a MemoryError."""
    (tmp_path / "good.yaml").write_text(GOOD)
    profile = {"fifo": tmp_path / "profile.yaml", "device": Path("/dev/zero"), "folder": tmp_path / "profile.yaml"}[setup]
    if setup == "fifo":
        os.mkfifo(profile)
    elif setup == "folder":
        profile.mkdir()
    says = {"fifo": "this is a named pipe (FIFO), not a device profile file", "device": "this is a device, not a "
            "device profile file", "folder": "this is a directory, not a device profile file"}[setup]
    holds(command, "good.yaml", "--device-profile", str(profile), says=says)


@pytest.mark.parametrize("command", [["table"], ["report"], ["validate", "--runs", "1", "--no-memory"]])
def test_no_output_is_written_over_the_device_profile_read(holds, tmp_path, command):
    """`--device-profile prof.yaml -o prof.yaml` replaced a measured profile with the table, exit 0."""
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "prof.yaml").write_text(_one_profile())
    holds(*command, "good.yaml", "--device-profile", "prof.yaml", "-o", "prof.yaml",
          says="refusing to write over 'prof.yaml': this command reads it")


def _one_profile() -> str:
    """A profile file of one device: the bundled h200's."""
    import yaml

    from archcalc.devices import BUNDLED

    devices = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))["devices"]
    return yaml.safe_dump({"schema": "archcalc.devices/1", "devices": {"h200": devices["h200"]}})


@pytest.mark.parametrize("update", [[], ["--update"]], ids=["check", "check --update"])
@pytest.mark.parametrize("baseline", ["loop1", "loop1/archcalc.lock.yaml"])
def test_a_baseline_through_a_loop_of_links_is_one_clear_error(holds, tmp_path, update, baseline):
    """--update crashed (RuntimeError: Symlink loop); without it the unreadable baseline was taken
    for a missing one, and every model reported 'not in the baseline'."""
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    holds("check", "good.yaml", "--baseline", baseline, *update, says="Too many levels of symbolic links")


def test_a_device_profile_that_is_not_there_gets_a_profiles_hint(holds, tmp_path):
    """It was told to name a bundled model (a spec's hint) once profiles were read as specs are."""
    (tmp_path / "good.yaml").write_text(GOOD)
    result = holds("table", "good.yaml", "--device-profile", "nowhere/prof.yaml", says="no such file")
    assert result.stderr.endswith("  hint: give the path of a profile file written by 'archcalc device-profile', or a "
                                  "bundled profile's name\n")


@pytest.mark.parametrize("spec", [
    "input: [1, 1, 1]\nlayers:\n  - up: {kind: conv_transpose2d, out: 1, kernel: 1, stride: 2147483647}\n",
    "input: [1, 1]\nlayers:\n  - up: {kind: conv_transpose1d, out: 1, kernel: 2147483647, padding: 1073741823}\n",
    ("input: [1, 3]\nlayers:\n  - up: {kind: upsample1d, size: 5}\n"
     "  - c: {kind: conv1d, out: 1, kernel: 2147483647, padding: 1073741823}\n")],
    ids=["transposed, huge stride", "transposed, huge kernel", "huge kernel behind an upsampling"])
def test_a_receptive_field_too_long_to_list_is_none_at_once(holds, tmp_path, spec):
    """A transposed convolution listed its taps for each unit of its stride, and a convolution
    behind an upsampling each tap of its kernel: with a stride or kernel of 2³¹ − 1, `table --rf`
    and the JSON (which holds the fields) ran for minutes (found by a fuzzer on 6 December). Their
    listing spends from the model's MAX_FIELD_READS (a transposed convolution's: each tap and
    each unit of its stride, once; a stride over MAX_FIELD_PERIOD gives no field at once): past
    it, the field is none, as behind an upsampling whose pattern is too long."""
    import json

    (tmp_path / "wide.yaml").write_text("name: wide\n" + spec)
    assert holds("table", "wide.yaml", "--rf", exits=(0,)).exit_code == 0
    rows = json.loads(holds("table", "wide.yaml", "--format", "json", exits=(0,)).stdout)["rows"]
    assert rows[-1]["receptive_field"] is None


@pytest.mark.parametrize("update", [[], ["--update"]], ids=["check", "check --update"])
def test_a_baseline_model_name_that_would_drive_the_terminal_is_refused(holds, tmp_path, update):
    """A baseline (from a pull request) named a model "\\x1b[2J…\\nFAKE  all checks pass ✓": the
    table printed the escapes raw, clearing the screen and forging a line, and --update wrote it
    back (found by a fuzzer on 6 December). A model name in a baseline is one line of printable
    text, as in a spec."""
    (tmp_path / "good.yaml").write_text(GOOD)
    name = "\\x1b[2Jlenet\\nFAKE  all checks pass ✓"
    (tmp_path / "archcalc.lock.yaml").write_text(f'models:\n  "{name}":\n    spec: good.yaml\n    input: 1x4x4\n')
    holds("check", "good.yaml", *update, says="the baseline's model name '\\x1b[2Jlenet\\nFAKE  all checks pass ✓' "
                                             "is not one line of text")


@pytest.mark.parametrize("update", [[], ["--update"]], ids=["check", "check --update"])
@pytest.mark.parametrize("spec", ["gone.yaml\\n::error title=forged::all good", "gone.yaml\\x1b[2J", "\\u202egone.yaml"])
def test_a_baseline_spec_path_that_would_drive_the_terminal_is_refused(holds, tmp_path, update, spec):
    """The model name was refused so, but not the path beside it: a baseline whose `spec:` was
    "gone.yaml\\n::error …" or held an ESC printed it raw in the table's "spec gone (…)" row,
    forging a line or clearing the screen, exit 1. A path in a baseline is one line of printable text."""
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "archcalc.lock.yaml").write_text(f'models:\n  good:\n    spec: "{spec}"\n    input: 3x16x16\n')
    holds("check", *update, says=f"archcalc.lock.yaml:3:11: the spec '{spec}' of the baseline entry 'good' is not "
                                 "one line of text")


def test_update_refuses_to_record_a_spec_path_check_would_refuse(holds, tmp_path):
    """docs/ci.md: --update refuses to record a spec it would then refuse. A spec file whose name
    holds a line break is checked by naming it, but its path is no baseline's `spec:`."""
    (tmp_path / "two\nlines.yaml").write_text(GOOD)
    holds("check", "two\nlines.yaml", "--update",
          says="cannot record 'good' in archcalc.lock.yaml: its spec's path 'two\\nlines.yaml' is not one line of text")
    assert not (tmp_path / "archcalc.lock.yaml").exists()


def test_a_baseline_block_name_that_would_drive_the_terminal_is_refused_and_update_repairs_it(holds, tmp_path):
    """A recorded block the model no longer has is named in the failing row ("drift in …"): a
    block "zz\\x1b[2J" of a hand-edited baseline reached the terminal raw. It is an error at its
    place, and --update, which rewrites the blocks whole, repairs it."""
    (tmp_path / "good.yaml").write_text(GOOD)
    holds("check", "good.yaml", "--update", exits=(0,), writes="archcalc.lock.yaml")
    lock = tmp_path / "archcalc.lock.yaml"
    text = lock.read_text()
    lock.write_text(text.replace("      conv: {", '      "zz\\e[2J": {params: 1, macs: 1, flops: 1, activation_bytes: 1}\n      conv: {'))
    line = lock.read_text().splitlines().index('      "zz\\e[2J": {params: 1, macs: 1, flops: 1, activation_bytes: 1}') + 1
    holds("check", says=f"archcalc.lock.yaml:{line}:7: block 'zz\\x1b[2J' of the baseline entry 'good' is not one line")
    holds("check", "--update", exits=(0,), writes="archcalc.lock.yaml")
    assert lock.read_text() == text


@pytest.mark.parametrize("tolerance", ["'١%'", "'1_0%'", "'1 0'"])
def test_a_tolerance_in_other_digits_is_refused(holds, tmp_path, tolerance):
    """Python's float() reads '١' (an Arabic-Indic digit) as 1 and '1_0' as 10: a baseline's
    tolerance of '١%' let a drift pass where `--input ١` is refused (found by a fuzzer on 6
    December). A tolerance is ASCII digits, a point and an exponent."""
    (tmp_path / "good.yaml").write_text(GOOD)
    assert holds("check", "good.yaml", "--update", exits=(0,), writes="archcalc.lock.yaml").exit_code == 0
    lock = tmp_path / "archcalc.lock.yaml"
    lock.write_text(lock.read_text().replace("    spec: good.yaml\n", f"    spec: good.yaml\n    tolerance: {{macs: {tolerance}}}\n"))
    holds("check", "good.yaml", says="a tolerance is a finite amount ≥ 0 or a percentage")


def test_many_transposed_convolutions_share_one_budget_of_reads(holds, tmp_path):
    """200 transposed convolutions of 1-D maps from the input, each of a kernel of 4,999 and a
    stride of 4,000 (a pattern of 4,000 units: within MAX_FIELD_PERIOD, its window listed): each
    listed its taps at the cost of its kernel times its stride, outside the budget of reads, and
    a few hundred such layers took minutes (a review, 6 December). Their listing now spends from
    the model's one budget of reads (4,999 + 4,000 a layer; their patterns read as many again):
    the answer comes at once, the fields past it none."""
    import json

    layers = "".join(f"  - t{i}: {{kind: conv_transpose1d, out: 1, kernel: 4999, stride: 4000, from: input}}\n"
                     for i in range(200))
    outputs = ", ".join(f"t{i}" for i in range(200))
    (tmp_path / "fan.yaml").write_text(f"name: fan\ninput: [1, 3]\nlayers:\n{layers}outputs: [{outputs}]\n")
    rows = json.loads(holds("table", "fan.yaml", "--format", "json", exits=(0,)).stdout)["rows"]
    fields = [row["receptive_field"] for row in rows]
    # by hand: output unit o reads input i through tap o − 4000·i in 0…4998: unit 0 reads inputs
    # −1 (tap 4000) and 0 (tap 0), a field of 2 centred at −0.5, one input on every 4,000 units
    assert fields[0] == {"length": {"size": 2, "jump": 0.00025, "start": -0.5}}
    assert fields[-1] is None


HUGE_HEX = "0x" + "F" * 4000  # 16,000 bits: YAML reads it, Python writes no more than 4,300 digits
HUGE = "9" * 5000


@pytest.mark.parametrize("value, says", [
    ("1e999999999:1e999999999", "the range '1e999999999:1e999999999' goes beyond 1e+15"),  # decimal.Overflow
    ("-1e999999999:1", "has more than 10,000 values"),  # counted first
    ("1e400:1e400", "the range '1e400:1e400' goes beyond 1e+15"),  # inf in the sweep's JSON
    (HUGE, "--set values are numbers up to 1e+15"),  # ValueError: more digits than Python reads
    (f"{HUGE}:{HUGE}", "goes beyond 1e+15"),  # ValueError writing the value
    (HUGE_HEX, "--set values are numbers up to 1e+15"),
    ("1e16", "--set values are numbers up to 1e+15")])
def test_a_set_value_past_any_spec_value_is_one_clear_error(holds, value, says):
    """`sweep --set` took numbers of any size: 1e999999999 as a range overflowed decimal's context,
    5,000 digits raised ValueError where Python reads or writes them, and 1e400:1e400 printed
    Infinity in the JSON (found by a fuzzer on 6 December). A value or a range's end past
    MAX_MAGNITUDE (10¹⁵, the largest a spec's expression takes) is refused."""
    holds("sweep", "resnet18", "--set", f"width={value}", "--size", "224", says=says)


@pytest.mark.parametrize("field", ["out", "input"])
def test_a_whole_number_in_hex_past_what_python_writes_is_one_clear_error(holds, tmp_path, field):
    """YAML reads 0x and 0b digits whatever their number; Python writes at most 4,300 digits, and a
    spec's `out: 0xFFF…` (4,000 hex digits) raised ValueError wherever it was printed or checked
    (found by a fuzzer on 6 December). Such a number (over MAX_INT_BITS) is refused where it is read."""
    out, shape = (HUGE_HEX, "[3, 8, 8]") if field == "out" else ("4", f"[3, 8, {HUGE_HEX}]")
    (tmp_path / "hex.yaml").write_text(f"name: hex\ninput: {shape}\nlayers:\n  - conv: {{kind: conv2d, out: {out}, kernel: 3}}\n")
    holds("table", "hex.yaml", says="a whole number of 16,000 bits, more than can be written in decimal")


def test_a_device_profile_figure_in_hex_past_what_python_writes_is_one_clear_error(holds, tmp_path):
    """The profile's reader refuses 0x digits as not as written, quoting the value: one of 4,000 hex
    digits raised ValueError writing it (found by a fuzzer on 6 December)."""
    (tmp_path / "hex.yaml").write_text(
        "schema: archcalc.devices/1\ndevices:\n  mine:\n    name: Mine\n    peak_tflops: {float32: 10}\n"
        f"    memory_gbps: {HUGE_HEX}\n    launch_us: 4\n    sources: {{peak_tflops: a, memory_gbps: a, launch_us: a}}\n")
    holds("table", "lenet5", "--device-profile", "hex.yaml", says="in base 16, as a whole number of 16,000 bits")


LONG_PATH = "a/" * 1_000_000 + "lenet.yaml"


def test_a_spec_including_a_path_of_a_million_folders_is_refused_before_it_is_resolved(holds, tmp_path):
    """A `kind: model` spec of a million 'a/' (2 MB) took 73 s to be resolved and refused; a path
    over MAX_PATH_CHARS (Linux's PATH_MAX) names no file, and is refused as read (a fuzzer's)."""
    (tmp_path / "long.yaml").write_text(
        f"name: long\ninput: [1, 32, 32]\nlayers:\n  - bb: {{kind: model, spec: {LONG_PATH}}}\n")
    holds("table", "long.yaml", says="the path has 2,000,010 characters, more than 4,096")


def test_a_baseline_naming_a_path_of_a_million_folders_is_refused_before_it_is_resolved(holds, tmp_path):
    """A baseline entry's `spec:` of a million 'a/' took over a minute to resolve (a fuzzer's)."""
    assert holds("check", "lenet5", "--update", exits=(0,), writes="archcalc.lock.yaml").exit_code == 0
    baseline = tmp_path / "archcalc.lock.yaml"
    baseline.write_text(baseline.read_text().replace("spec: lenet\n", f"spec: {LONG_PATH}\n", 1))
    holds("check", "lenet5", says="archcalc.lock.yaml:5:11: the spec's path has 2,000,010 characters, more than 4,096")
