"""What the commands share: their options as data, the format and output options, emitting.

Each command lives in its own module here and is imported only when it runs (archcalc.cli). Its
parameters are plain Python: each default is an `Argument` or an `Option`, data that archcalc.cli
reads to parse a command line (and turns into typer's options for help and for usage errors).
An option's `parse` turns its text into the value the command takes (a shape as a tuple, a list
of sizes); a value that does not parse is a usage error naming the option.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple, Optional

from archcalc import sizes
from archcalc.conventions import CONVENTIONS, DEFAULT_CONVENTION
from archcalc.errors import OutputError, UsageError, UserError
from archcalc.limits import MAX_SWEEP_POINTS
from archcalc.render.registry import formats
from archcalc.settings import parse_setting
from archcalc.stats import DTYPE_BYTES

REQUIRED: Any = ...
"""The default of an option that must be given."""


class Argument(NamedTuple):
    """A command's positional argument; `many` takes every one given (none when not `required`)."""

    metavar: str
    help: str
    required: bool = True
    many: bool = False


class Option(NamedTuple):
    """A command's option. `flags` default to --NAME (and --no-NAME for a flag that is on by
    default); `type` is str, int, bool or Path (a file, not a directory), taken from the default
    where one is given; `choices` are the only values it takes; `parse` (text → value) runs on
    the text given or on the default text. A `many` option may be given several times: its
    value is the list of the values given (None when it is not given). A `joined` option's one
    value is a list whose entries are joined by ',' (`--size 32,64`): given twice, it is told to
    join them."""

    default: Any
    help: str
    flags: tuple[str, ...] = ()
    type: type | None = None
    choices: tuple[str, ...] = ()
    parse: Callable[[str], Any] | None = None
    min: int | None = None
    max: int | None = None
    many: bool = False
    joined: bool = False

    @property
    def kind(self) -> type:
        if self.type is not None:
            return self.type
        if isinstance(self.default, (bool, int, Path)):
            return Path if isinstance(self.default, Path) else type(self.default)
        return str


def parameters(function: Callable) -> list[tuple[str, Argument | Option]]:
    """A command function's parameters, in order: (name, Argument or Option)."""
    code = function.__code__
    return list(zip(code.co_varnames[:code.co_argcount], function.__defaults__))


def whole_number_input(text: str) -> tuple[int, int, int]:
    shape = sizes.parse_input(text, symbols=True)
    if not all(isinstance(size, int) for size in shape):
        raise UserError("sizes must be whole numbers here; symbols such as H are for "
                        "'archcalc table' (and 'archcalc sweep' for many sizes)")
    return shape


def format_option(kind: str, help: str = "Output format.") -> Option:
    """`--format`: the formats of a result kind in archcalc.render.registry, the first the default."""
    choices = tuple(formats(kind))
    return Option(choices[0], help, ("--format",), choices=choices)


INPUT = Option(None, "Input C×H×W, e.g. 3x224x224.", ("--input",), parse=whole_number_input)
SYMBOLIC_INPUT = Option(None, "Input C×H×W, e.g. 3x224x224; a size may be a symbol: 3xHxW.", ("--input",),
                        parse=lambda text: sizes.parse_input(text, symbols=True))
def file_named(option: str) -> Callable[[str], Path]:
    """The parser of an option naming a file archcalc writes (-o's, check's --baseline). A name
    ending in '/', '/.' or '/..' (or that is '.' or '..') is a folder's: refused, where a Path would
    drop the ending and write (or replace) a file of the folder's name."""

    def parse(text: str) -> Path:
        last = text.replace(os.altsep or os.sep, os.sep).rsplit(os.sep, 1)[-1]
        if text and last in ("", ".", ".."):
            raise UsageError(f"'{text}' names a folder, not a file", hint=f"give {option} a file name", option=option)
        if not text:
            raise UsageError(f"{option} needs a file name", option=option)
        if text == "-":  # a file named '-' was written (or read) where a standard stream was meant
            raise UsageError("'-' would be a file called '-': leave out -o to print to standard output, or write ./-"
                             if option == "--output" else "'-' would be a file called '-', not standard input: "
                             "write ./- for that file", option=option)
        return Path(text)

    return parse


OUTPUT = Option(None, "Write to this file (replaced in one step) instead of printing.", ("--output", "-o"),
                parse=file_named("--output"))
WIDE = Option(False, "On a terminal, print tables in full, as to a pipe, rather than fitted to the window.",
              ("--wide",))
"""Read where the command is called (archcalc.cli.call), which sets archcalc.render.terminal."""
VARIANT = Option(None, "Which variant of a family file.")
DTYPE = Option("float32", "Element type for activation memory (and, with --device-profile, of the roofline).",
               choices=tuple(DTYPE_BYTES))


def convention_option(help: str = "What a MAC/FLOP counts.") -> Option:
    return Option(DEFAULT_CONVENTION, help, choices=tuple(CONVENTIONS))


CONVENTION = convention_option()
SETTINGS = Option(None, "A parameter of the spec and its values: width=0.5:2:0.25 (from:to:step, both ends included), "
                  "depth=1,1.2,1.4, block=basic or depths=[2,2,2,2],[3,4,6,3]; repeat for several: every "
                  f"combination is a point (at most {MAX_SWEEP_POINTS:,} points in all).",
                  ("--set",), parse=parse_setting, many=True)


def emit(content, output: Path | None, inputs: Iterable[str | Path] = ()) -> None:
    """Print `content` (text, lines, or styled lines (text, style)), or write it to `output` in
    one step, never over one of the `inputs` (the specs read: paths or bundled names)."""
    if isinstance(content, list):
        if content and isinstance(content[0], str):
            content = "".join(line + "\n" for line in content)
        elif output is not None:
            content = "".join(line + "\n" for line, _ in content)
    if output is None:
        _print(content) if isinstance(content, list) else to_stdout(content)
        return
    from archcalc.output import write_atomically

    write_atomically(output, content, spec_paths(inputs))


def to_stdout(text: str) -> None:
    """Write `text` to standard output whole. Python's own stream writes once where its buffer is
    off (PYTHONUNBUFFERED, `python -u`) and drops what a pipe did not take (a write cut short by
    a signal, a non-blocking pipe that is full); this writes the rest, waiting while the pipe is
    full. OutputError where standard output is closed, cannot encode the text, or fails (a full disk)."""
    stream = sys.stdout
    if stream is None:  # started with standard output closed (`>&-`)
        raise OutputError("standard output is closed: there is nowhere to print", hint=_TO_A_FILE)
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file: a stream captured in memory
        stream.write(text)
        return
    try:
        data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    except UnicodeEncodeError as error:
        raise unencodable(error) from None
    stream.flush()
    while data:
        try:
            data = data[os.write(descriptor, data):]
        except BlockingIOError:
            import select

            select.select([], [descriptor], [])
        except BrokenPipeError:
            raise  # a closed pipe ends quietly (archcalc.cli.main)
        except OSError as error:
            raise OutputError(f"cannot write to standard output: {error.strerror or error}",
                              hint=_TO_A_FILE) from None


_TO_A_FILE = "give -o FILE, which is written in UTF-8"


def unencodable(error: UnicodeEncodeError) -> OutputError:
    """The error of text that standard output's encoding cannot write."""
    character = error.object[error.start]
    return OutputError(f"standard output's encoding ({getattr(sys.stdout, 'encoding', None)}) cannot write "
                       f"{character!r} (U+{ord(character):04X})", hint=f"set PYTHONIOENCODING=utf-8, or {_TO_A_FILE}")


def _print(lines: list[tuple[str, str]]) -> None:
    """Styled lines through rich on a terminal, long lines wrapped at words where the tables are
    fitted to it (archcalc.render.terminal), through $PAGER where one is set and the lines are
    more than the terminal's; plain text (and no rich import) otherwise."""
    if sys.stdout is None or not sys.stdout.isatty():
        to_stdout("".join(text + "\n" for text, _ in lines))
        return
    from rich.console import Console
    from rich.text import Text

    from archcalc.render.terminal import WIDTH, paged

    output = Text()
    for text, style in lines:
        output.append(text + "\n", style=style)
    if WIDTH is None:
        Console(highlight=False).print(output, end="", overflow="ignore", crop=False, soft_wrap=True)
        return
    console = Console(highlight=False, width=WIDTH)
    if paged(len(lines)):
        with console.capture() as captured:
            console.print(output, end="", overflow="fold")
        _page(captured.get())
    else:
        console.print(output, end="", overflow="fold")


def _page(text: str) -> None:
    """`text` through $PAGER; where the pager cannot start or fails (a missing program, a non-zero
    exit), printed here after a warning: the output is never lost to a pager."""
    import subprocess

    command = os.environ.get("PAGER", "")
    try:
        code = subprocess.run(command, shell=True, input=text.encode("utf-8", "replace"), check=False).returncode
    except OSError as error:
        code = error.strerror
    if code == 0:
        return
    sys.stderr.write(f"warning: the pager ({command}) failed ({code}): the output follows here\n")
    to_stdout(text)


def spec_paths(specs: Iterable[str | Path]) -> list[Path]:
    """The files behind spec arguments (paths or bundled names): never an output target."""
    from archcalc.spec.catalog import locate

    return [spec if isinstance(spec, Path) else locate(spec)[0] for spec in specs]
