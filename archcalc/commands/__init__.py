"""What the commands share: parsing options, the format and output options, emitting.

Each command lives in its own module here and is imported only when it runs (archcalc.cli).
An option's callback returns the parsed value (a shape as a tuple, a list of sizes), so the
command passes it on as it is; a value that does not parse is a usage error.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable, Optional

import typer

from archcalc import sizes
from archcalc.conventions import CONVENTIONS, DEFAULT_CONVENTION
from archcalc.errors import UserError
from archcalc.render.registry import formats
from archcalc.stats import DTYPE_BYTES


def parsed(parse: Callable) -> Callable:
    """An option callback: the option's text through `parse`, None left as it is; a UserError
    becomes a usage error naming the option."""

    def callback(value):
        if value is None:
            return None
        try:
            return parse(value)
        except UserError as error:
            raise typer.BadParameter(error.message) from None

    return callback


def _whole_number_input(text: str) -> tuple[int, int, int]:
    shape = sizes.parse_input(text, symbols=True)
    if not all(isinstance(size, int) for size in shape):
        raise UserError("sizes must be whole numbers here; symbols such as H are for "
                        "'archcalc table' (and 'archcalc sweep' for many sizes)")
    return shape


def choices(name: str, values: Iterable[str]) -> type[Enum]:
    """An option's choices as the Enum typer reads them."""
    return Enum(name, [(value, value) for value in values], type=str)


def format_choices(kind: str) -> type[Enum]:
    """The `--format` choices of a result kind, from the renderer registry."""
    return choices(f"{kind.title()}Format", formats(kind))


def format_option(choices: type[Enum], help: str = "Output format."):
    """`--format`, defaulting to the first of `choices` (format_choices)."""
    return typer.Option(next(iter(choices)), "--format", help=help)


INPUT = typer.Option(None, "--input", callback=parsed(_whole_number_input), help="Input C×H×W, e.g. 3x224x224.")
SYMBOLIC_INPUT = typer.Option(None, "--input", callback=parsed(lambda text: sizes.parse_input(text, symbols=True)),
                              help="Input C×H×W, e.g. 3x224x224; a size may be a symbol: 3xHxW.")
OUTPUT = typer.Option(None, "--output", "-o", dir_okay=False,
                      help="Write to this file (replaced in one step) instead of printing.")
VARIANT = typer.Option(None, help="Which variant of a family file.")

ConventionChoice = choices("ConventionChoice", CONVENTIONS)
DtypeChoice = choices("DtypeChoice", DTYPE_BYTES)


def convention_option(help: str = "What a MAC/FLOP counts."):
    return typer.Option(ConventionChoice(DEFAULT_CONVENTION), help=help)


def dtype_option():
    return typer.Option(DtypeChoice("float32"), help="Element type for activation memory.")


def emit(content, output: Optional[Path], inputs: Iterable[str | Path] = ()) -> None:
    """Print `content` (text, lines, or styled lines (text, style)), or write it to `output` in
    one step, never over one of the `inputs` (the specs read: paths or bundled names)."""
    if isinstance(content, list):
        if content and isinstance(content[0], str):
            content = "".join(line + "\n" for line in content)
        elif output is not None:
            content = "".join(line + "\n" for line, _ in content)
    if output is None:
        _print(content) if isinstance(content, list) else sys.stdout.write(content)
        return
    from archcalc.output import write_atomically

    write_atomically(output, content, spec_paths(inputs))


def _print(lines: list[tuple[str, str]]) -> None:
    """Styled lines through rich on a terminal; plain text (and no rich import) otherwise."""
    if not sys.stdout.isatty():
        sys.stdout.write("".join(text + "\n" for text, _ in lines))
        return
    from rich.console import Console
    from rich.text import Text

    output = Text()
    for text, style in lines:
        output.append(text + "\n", style=style)
    Console(highlight=False).print(output, end="", overflow="ignore", crop=False, soft_wrap=True)


def spec_paths(specs: Iterable[str | Path]) -> list[Path]:
    """The files behind spec arguments (paths or bundled names): never an output target."""
    from archcalc.spec.catalog import locate

    return [spec if isinstance(spec, Path) else locate(spec)[0] for spec in specs]
