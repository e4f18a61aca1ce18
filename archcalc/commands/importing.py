"""archcalc import torch|onnx: a spec from a torch module or an ONNX file."""

from __future__ import annotations

import atexit
import json
import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager, redirect_stdout, suppress
from pathlib import Path

from archcalc.commands import OUTPUT, Argument, Option, emit, whole_number_input
from archcalc.errors import UsageError, UserError, first_line

FRAMEWORKS = ("torch", "onnx")
TIMEOUT_S = 600.0
"""How long the model's own code may run by default (`--timeout`): importing RegNet-Y-128GF as archcalc
builds it, the largest bundled model, took 3.0 s here (6 December, one thread)."""


MAX_TIMEOUT_S = 10**8
"""The longest --timeout (about three years; the system's timer takes up to about 9.2·10⁹ s)."""


def _seconds(text: str) -> float:
    """--timeout's seconds: a number from 0 (no limit) to MAX_TIMEOUT_S."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_TIMEOUT_S:
        raise UsageError(f"--timeout takes seconds from 0 to {MAX_TIMEOUT_S:,} (0: no limit), got '{text}'",
                         option="--timeout")
    return seconds


def _named(text: str) -> str:
    """--name's text; a UsageError where it is blank (the default name was taken without a word)."""
    if not text.strip():
        raise UsageError("--name needs a name: leave it out for the callable's or the file's", option="--name")
    return text


def import_model(
    framework: str = Argument("FRAMEWORK", "Where the model comes from: torch or onnx."),
    target: str = Argument("MODEL", "For torch, MODULE:CALLABLE: a module and, after ':', a function or class "
                                    "that returns the nn.Module (or the module itself), e.g. torchvision.models:resnet50. "
                                    "For onnx, the .onnx file."),
    args: str | None = Option(None, "Arguments of the callable (torch): a JSON object (keywords) or list (positions).",
                              ("--args",)),
    input: tuple | None = Option(None, "Input C×H×W (without the batch), e.g. 3x224x224: required for torch; for "
                                       "onnx, the sizes of an input exported with symbols.", ("--input",),
                                 parse=whole_number_input),
    name: str | None = Option(None, "The spec's name (default: the callable's or the file's, snake_cased).",
                              ("--name",), parse=_named),
    allow_opaque: bool = Option(False, "Keep an operation without a layer kind as an 'opaque' layer: its measured "
                                       "output shape, counted by no convention (named as not counted), not buildable "
                                       "in torch; without it, such an operation is an error.", ("--allow-opaque",)),
    timeout: float | None = Option(None, f"Seconds the model's own code may run (torch: importing, building and "
                                         f"tracing it) before the import stops with an error (default {TIMEOUT_S:g}; "
                                         "0: no limit).", ("--timeout",), parse=_seconds),
    output: Path | None = OUTPUT,
) -> None:
    if framework not in FRAMEWORKS:
        raise UsageError(f"cannot import from '{framework}': the frameworks are {', '.join(FRAMEWORKS)}",
                         option="FRAMEWORK")
    from archcalc.output import writable_target
    from archcalc.render.progress import working
    from archcalc.render.registry import utf8

    if framework == "onnx":
        if args is not None:
            raise UsageError("--args is for torch: an ONNX file takes none", option="--args")
        if timeout is not None:
            raise UsageError("--timeout is for torch: an ONNX file runs no code of the model's", option="--timeout")
        from archcalc.importers import import_onnx

        if output is not None:  # before the work: never over the file imported
            writable_target(output, [Path(target)])
        with working("import onnx"):
            text = import_onnx(target, input, name=name, allow_opaque=allow_opaque)
        emit(utf8(text, "yaml"), output, [Path(target)])
        return
    if input is None:
        raise UsageError("import torch needs --input: C×H×W, without the batch (e.g. 3x224x224)", option="--input")
    from archcalc.importers import import_torch, make_module

    if output is not None:
        writable_target(output)
    known = set(sys.modules)
    with working("import torch"), _their_exit_handlers(), _their_code(target), \
            _limited(TIMEOUT_S if timeout is None else timeout, target):
        module, made_by = make_module(target, _arguments(args))
        text = import_torch(module, input, name=name or made_by, source=f"imported from torch: {target}",
                            allow_opaque=allow_opaque)
    emit(utf8(text, "yaml"), output, _source_files(target, known))


@contextmanager
def _their_exit_handlers():
    """The exit handlers the block registers (the model's code) print to stderr: atexit runs the
    last registered first, so one registered after the block points descriptor 1 and sys.stdout at
    stderr before theirs run, and one registered before it sets them back after theirs (`> net.yaml`
    held their 'bye' after its layers; a program calling archcalc in its own process keeps its own
    handlers' stdout)."""
    kept: list = []

    def to_stderr() -> None:
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError, AttributeError):  # a descriptor closed, no stdout: nothing to keep apart
            return
        kept.append((saved, sys.stdout))
        with suppress(OSError):
            os.dup2(2, 1)
        sys.stdout = sys.stderr

    def back() -> None:
        if kept:
            saved, sys.stdout = kept.pop()
            with suppress(OSError, ValueError):
                sys.stderr.flush()
                os.dup2(saved, 1)
            os.close(saved)

    atexit.register(back)
    try:
        yield
    finally:
        atexit.register(to_stderr)


@contextmanager
def _their_code(target: str):
    """While the model's own code runs: what it prints goes to stderr (stdout is the spec's), by
    Python's print and by its file descriptor 1 alike (a C extension's, a subprocess's), and its
    sys.exit or os._exit (`_no_exit`), or another exception that is no Exception, is one error,
    exit 2 (it ended the import with its own code and no message, exit 0 for os._exit(0), or with
    a traceback); the current folder is set back after (`_folder_kept`)."""
    try:
        with _folder_kept(), _descriptor_to_stderr(), redirect_stdout(sys.stderr), _stops_unsaid(), _no_exit(target):
            yield
    except _Stopped as stop:
        raise stop.error from None
    except SystemExit as stop:
        raise UserError(f"the code of '{target}' called sys.exit({stop.code!r}) while being imported",
                        hint=_EXITS_HINT) from None
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as error:  # noqa: BLE001 - the model's own, raised past Exception
        raise UserError(f"the code of '{target}' raised {type(error).__name__}: {error}",
                        hint="import a module whose code raises no exception when it is imported, built or run") \
            from None


@contextmanager
def _folder_kept():
    """The current folder set back after the block: the model's code may change it (os.chdir), and
    `-o net.yaml` is in the folder the command ran in (it was written in the model's)."""
    try:
        folder = os.getcwd()
    except OSError:  # the folder was removed: nothing to set back
        yield
        return
    try:
        yield
    finally:
        with suppress(OSError):  # removed meanwhile: -o says so, where it is relative
            os.chdir(folder)


_EXITS_HINT = "import a module whose code does not exit when it is imported, built or run"


class _Stopped(BaseException):
    """Raised in the model's code to stop it (past its `except Exception`), with the error to say."""

    def __init__(self, error: UserError) -> None:
        super().__init__(str(error))
        self.error = error


_EXIT = os._exit
"""os._exit itself, whatever `_no_exit` puts in its place meanwhile."""


@contextmanager
def _stops_unsaid():
    """A stop raised where Python cannot raise it on (in a __del__) not printed as a traceback
    while the block runs: the block's end says its error (`_no_exit`, `_limited`)."""
    said = sys.unraisablehook

    def hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, _Stopped):
            said(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = said


def _ended(error: UserError) -> None:
    """Say `error` and end the process now, exit 2: the model's code cannot be stopped otherwise
    (it caught the alarm, or exits from a thread). A terminal's progress line is cleared and its
    cursor shown again first."""
    if os.isatty(2):
        os.write(2, b"\r\x1b[2K\x1b[?25h")
    os.write(2, error.report().encode("utf-8", "replace"))
    _EXIT(error.exit_code)


@contextmanager
def _no_exit(target: str):
    """os._exit stopping the model's code with one error while the block runs: raised in this
    process's main thread (and again when the block ends, where the model's code caught it), said
    and ended with exit 2 from another (`_ended`). A process forked
    from it (multiprocessing's children end with os._exit), or a call after the block (a
    reference the model's code kept), exits as asked."""
    here, running, stopped = os.getpid(), [True], []

    def exits(code: int) -> None:
        if not running[0] or os.getpid() != here:
            _EXIT(code)
        error = UserError(f"the code of '{target}' called os._exit({code!r}) while being imported", hint=_EXITS_HINT)
        if threading.current_thread() is not threading.main_thread():
            _ended(error)
        stopped.append(error)
        raise _Stopped(error)

    os._exit = exits
    try:
        yield
        if stopped:  # caught by the model's code (an except BaseException, a __del__): said all the same
            raise stopped[0]
    finally:
        running[0] = False
        os._exit = _EXIT


@contextmanager
def _limited(seconds: float, target: str):
    """The block stopped with one error once it has run `seconds` (none where 0): an alarm raises
    in whatever Python code runs then. Where the model's code catches that too and runs on, the
    next alarm, a second later, says the same error and ends the process (`_ended`): nothing is
    written by then; where it catches it and returns, the error is raised then. Code inside one call into C (a single long torch operation) stops when it
    returns; code that sets its own alarm (signal.alarm) takes the limit's place. A timer set
    before (a test runner's) is set again after, less the time the block took. Where this is not
    the main thread, or there is no alarm, without a limit."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    error = UserError(f"the code of '{target}' ran past {seconds:g} s while being imported, built or traced",
                      hint="give it longer with --timeout SECONDS (0: no limit), or import a model whose code returns")
    alarms = []

    def ran_out(signum, frame):
        if alarms:  # the first was caught by the model's code: nothing else stops it
            _ended(error)
        alarms.append(signum)
        raise _Stopped(error)

    previous, before, started = signal.signal(signal.SIGALRM, ran_out), (0.0, 0.0), time.monotonic()
    try:
        before = signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
        yield
        if alarms:  # caught by the model's code, which returned within the second after: said all the same
            raise error
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if before[0]:
            signal.setitimer(signal.ITIMER_REAL, max(before[0] - (time.monotonic() - started), 1e-3), before[1])


@contextmanager
def _descriptor_to_stderr():
    """File descriptor 1 pointing at descriptor 2's file while the block runs, and back after;
    as it was where either is closed."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # descriptor 1 closed: nothing to keep apart
        yield
        return
    try:
        os.dup2(2, 1)
    except OSError:  # descriptor 2 closed
        os.close(saved)
        yield
        return
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _source_files(target: str, known: set[str]) -> list[Path]:
    """The file of MODULE in MODULE:CALLABLE, and of every module importing it imported (its
    package's __init__.py, the modules it imports): never a target of -o."""
    from archcalc.importers.trace import split_target

    names = {split_target(target)[0], *(set(sys.modules) - known)}
    files = (getattr(sys.modules.get(name), "__file__", None) for name in names)
    return [Path(file) for file in files if isinstance(file, str)]


def _once_each(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object of --args, refused where it names a key twice (json keeps the last, silently)."""
    keys = [key for key, _ in pairs]
    twice = next((key for key in keys if keys.count(key) > 1), None)
    if twice is not None:
        raise UserError(f"--args gives '{twice}' twice", hint="give each argument once")
    return dict(pairs)


def _no_number(constant: str) -> float:
    """NaN, Infinity and -Infinity, which Python's json reads and JSON has not."""
    raise UserError(f"--args holds {constant}, which is not JSON", hint="give the argument a number")


def _float(text: str) -> float:
    """A JSON number with a fraction or an exponent, refused where it is beyond a float: Python reads
    1e999 as inf, the Infinity refused above, and 1e-999 as 0.0, silently."""
    from archcalc.sizes import shortened

    value = float(text)
    if math.isinf(value):
        raise UserError(f"--args holds {shortened(text)}, beyond the largest float (it would be read as {value})",
                        hint="give the argument a number within ±1.8e308")
    if value == 0 and any(digit in "123456789" for digit in text.lower().partition("e")[0]):
        raise UserError(f"--args holds {shortened(text)}, below the smallest float (it would be read as {value})",
                        hint="give the argument 0, or a number of at least 5e-324 in size")
    return value


def _arguments(text: str | None) -> tuple[list, dict]:
    """--args as (positional, keywords)."""
    if text is None:
        return [], {}
    try:
        value = json.loads(text, object_pairs_hook=_once_each, parse_constant=_no_number, parse_float=_float)
    except json.JSONDecodeError as error:
        raise UserError(f"--args is not JSON: {error}", hint='for example --args \'{"num_classes": 10}\'') from None
    except ValueError as error:  # an integer of more digits than Python reads (4,300), a traceback
        raise UserError(f"--args holds a number Python does not read: {first_line(error)}",
                        hint="give the argument a number of fewer digits") from None
    except RecursionError:
        raise UserError("--args is nested too deeply to read", hint='for example --args \'{"num_classes": 10}\'') from None
    if isinstance(value, dict):
        return [], value
    if isinstance(value, list):
        return value, {}
    raise UserError(f"--args must be a JSON object or list, got {text}", hint='for example --args \'{"num_classes": 10}\'')
