"""The `archcalc` command: the one boundary between a command line and the library.

COMMANDS names each command's function and help, as data. A command's function takes plain
values, and its parameters' defaults (archcalc.commands.Argument and Option) say how each is read
from the command line. `main` reads a well-formed command line from that data and runs the
command without importing the command-line library; anything else (--help, a mistake, a usage
error the command raises, shell completion) goes to the typer app built from the same data, which
prints the help, or the error with the command's usage. The two agree on every command line the
first reads (tests/test_cli_reading.py). Errors and exit codes are handled here, once (`run`).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import Any, NamedTuple

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
    "memory": Command("archcalc.commands.memory:memory",
                      "The peak memory of inference by category (parameters, buffers, activations), where it\n"
                      "occurs, and the memory alive after each layer, as torch's MemTracker counts it."),
    "import": Command("archcalc.commands.importing:import_model",
                      "Write the spec of a torch module (traced with torch.fx): its layers, blocks and repeats,\n"
                      "checked against the module's parameters and state dict."),
    "device-profile": Command("archcalc.commands.device_profile:device_profile",
                              "Measure this machine's device (CPU, or a CUDA GPU) for the roofline: GEMM FLOP/s per\n"
                              "dtype, copy bandwidth, launch cost, and the efficiency of each kind of work on\n"
                              "synthetic layers; a profile file for 'table --device-profile FILE'."),
    "check": Command("archcalc.commands.check:check",
                     "Hold each model's parameters, MACs, FLOPs and activation memory to the baseline, its\n"
                     "budgets and its spec's expect: block. Exit 0 when all hold, 1 when any does not."),
}

COMPLETION = "_ARCHCALC_COMPLETE"
"""The variable through which a shell asks for completions: the typer app answers it."""


def main() -> None:
    """Entry point; a closed pipe (`archcalc table … | head`) ends quietly, and Ctrl-C with 130.

    The cyclic garbage collector is off for the command's work: a command makes little cyclic
    garbage, and the collector would rescan every parsed spec node on each pass (on a
    written-out 10,000-layer spec, 42% of the run). Afterwards what the command made is frozen:
    the one collection Python makes on exit, collector off or not, then skips it."""
    gc.disable()
    arguments = sys.argv[1:]
    try:
        call = None if COMPLETION in os.environ else read_command_line(arguments)
        if call is not None:
            try:
                code = run(*call)
                gc.freeze()
                sys.exit(code)
            except UsageError:  # the typer app runs the command again, to show the error with the usage
                pass
        typer_app()(prog_name="archcalc", args=arguments)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def run(function: Callable, values: dict[str, Any]) -> int:
    """Run a command; its exit code. A UserError is one clear message on stderr and its code (a
    UsageError goes on to the caller, to be shown with the command's usage); a False result
    (validate, check, report --validate: a figure differs) is EXIT_DIFFERENCE."""
    try:
        result = function(**values)
    except UsageError:
        raise
    except UserError as error:
        sys.stderr.write(f"error: {error}\n")
        return error.exit_code
    return EXIT_DIFFERENCE if result is False else 0


@cache
def command_function(name: str) -> Callable:
    module, _, function = COMMANDS[name].target.partition(":")
    return getattr(import_module(module), function)


def read_command_line(arguments: list[str]) -> tuple[Callable, dict[str, Any]] | None:
    """(the command's function, its values) for a well-formed command line; None for anything
    else, which the typer app then answers (help, or the error with the usage)."""
    if not arguments or arguments[0] not in COMMANDS:
        return None
    from archcalc.cli.read import read_values
    from archcalc.commands import parameters

    function = command_function(arguments[0])
    values = read_values(parameters(function), arguments[1:])
    return None if values is None else (function, values)


def typer_app():
    """The typer app (imported only when it is needed: help, mistakes, usage errors, completion)."""
    from archcalc.cli.usage import typer_app

    return typer_app()


def __getattr__(name: str) -> Any:
    if name == "app":  # `from archcalc.cli import app` (the tests): typer is imported for it
        return typer_app()
    raise AttributeError(name)
