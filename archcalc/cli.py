"""The `archcalc` command: the one boundary between a command line and the library.

The top-level group knows each command's name, module and help as data (COMMANDS) and builds
only the command that is run (`--help` lists them all from the data). A command parses its
options (each option's callback returns the parsed value), calls the library, picks a renderer
from archcalc.render.registry and emits. Errors and exit codes are handled here, once:
`ArchcalcCommand.invoke` turns every `UserError` into its message and exit code (a `UsageError`
into the usage help), and a command's False result into exit code 1.
"""

from __future__ import annotations

import gc
import os
import sys
from functools import cache
from importlib import import_module
from typing import NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from archcalc.errors import EXIT_DIFFERENCE, UsageError, UserError


class Command(NamedTuple):
    target: str
    """The command's function, as "module:function" (imported only when the command runs)."""
    help: str


COMMANDS: dict[str, Command] = {
    "table": Command("archcalc.commands.table:table",
                     "Per-layer output shape, parameters and MACs (or FLOPs) of a model; with a symbol among\n"
                     "the sizes (--input 3xHxW, --batch N), each as an exact formula and where it holds."),
    "list": Command("archcalc.commands.models:list_models",
                    "The bundled models with their parameter and MAC totals."),
    "zoo": Command("archcalc.commands.models:zoo",
                   "The zoo page (docs/zoo.md): every bundled model's figures beside the published ones."),
    "conv": Command("archcalc.commands.calculate:conv",
                    "Output size of one convolution, with the working (and its parameters and MACs)."),
    "pool": Command("archcalc.commands.calculate:pool", "Output size of one pooling layer, with the working."),
    "validate": Command("archcalc.commands.validate:validate",
                        "Build the real torch model and check every shape, parameter and count against torch,\n"
                        "fvcore and FlopCounterMode. Exit 0 when all agree, 1 when anything differs."),
    "report": Command("archcalc.commands.report:report",
                      "A markdown report: summary, stages, where the cost goes, the graph, every layer; several\n"
                      "models side by side. The same input gives the same bytes."),
    "sweep": Command("archcalc.commands.sweep:sweep",
                     "Parameters, MACs and activation memory at many input sizes, from the model's exact formulas."),
    "check": Command("archcalc.commands.check:check",
                     "Hold each model's parameters, MACs, FLOPs and activation memory to the baseline, its\n"
                     "budgets and its spec's expect: block. Exit 0 when all hold, 1 when any does not."),
}


class ArchcalcCommand(TyperCommand):
    """Every archcalc command: usage errors carry their command (so that the usage help is
    printed with them), and the user-facing errors end here with their exit codes."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except Exception as error:  # the parser raises 'Option … requires an argument' without one
            if getattr(error, "ctx", False) is None:
                error.ctx = ctx
            raise

    def invoke(self, ctx):
        try:
            result = super().invoke(ctx)
        except UsageError as error:
            raise typer.BadParameter(str(error), ctx=ctx, param_hint=error.option) from None
        except UserError as error:  # one clear message on stderr, its exit code, no traceback
            sys.stderr.write(f"error: {error}\n")
            raise typer.Exit(error.exit_code) from None
        if result is False:  # validate, check, report --validate: a figure differs
            raise typer.Exit(EXIT_DIFFERENCE)
        return result


class LazyGroup(TyperGroup):
    """Lists the commands from COMMANDS and builds (imports) only the one that is invoked."""

    _listing = False

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return None
        if self._listing:  # `archcalc --help`: the name and help are enough
            return typer.core.TyperCommand(name, help=COMMANDS[name].help)
        return build_command(name)

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


@cache
def build_command(name: str) -> TyperCommand:
    """The click command of `name`, built from its function, once per process (in-process
    callers, such as the tests, run many commands)."""
    module, _, function = COMMANDS[name].target.partition(":")
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name, cls=ArchcalcCommand, help=COMMANDS[name].help)(getattr(import_module(module), function))
    return typer.main.get_command(single)


app = typer.Typer(
    cls=LazyGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Exact output shapes, parameters and MACs/FLOPs of convolutional networks.",
)


@app.callback()
def _archcalc() -> None:
    """The group itself does nothing: its commands are built when invoked."""


def main() -> None:
    """Entry point: runs the app; a closed pipe (`archcalc table … | head`) ends quietly.

    The cyclic garbage collector is off for the command's work: a command makes little cyclic
    garbage, and the collector would rescan every parsed spec node on each pass (on a
    written-out 10,000-layer spec, 42% of the run)."""
    gc.disable()
    try:
        app(prog_name="archcalc")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
