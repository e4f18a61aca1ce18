"""The `archcalc` command: the one boundary between a command line and the library.

COMMANDS names each command's function and help, as data. A command's function takes plain
values, and its parameters' defaults (archcalc.commands.Argument and Option) say how each is read
from the command line. `main` reads a well-formed command line from that data and runs the
command without importing the command-line library; anything else (--help, a mistake, a usage
error the command raises, shell completion) goes to the typer app built from the same data, which
prints the help, or the error with the command's usage. The two agree on every command line the
first reads (tests/test_cli_reading.py). Errors and exit codes are handled here, once (`run`); a
usage error that a command raises as it runs is shown with the command's usage, without the typer
app running the command again.
"""

from __future__ import annotations

import atexit
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
    """What it does: one paragraph, without line breaks (the help is wrapped to the terminal)."""
    examples: tuple[str, ...] = ()
    """Command lines shown under its --help, each short enough for one line of an 80-column
    terminal (tests/test_cli.py reads each one)."""

    @property
    def full_help(self) -> str:
        """The help and, as their own lines, the examples."""
        return self.help + ("\n\nExamples:\n" + "\n".join(f"$ {example}" for example in self.examples)
                            if self.examples else "")


COMMANDS: dict[str, Command] = {
    "table": Command("archcalc.commands.table:table",
                     "Per-layer output shape, parameters and MACs (or FLOPs) of a model; with a symbol among the "
                     "sizes (--input 3xHxW, --batch N), each as an exact formula and where it holds.",
                     ("archcalc table resnet50 --depth 1", "archcalc table my_net.yaml --input 3x320x320 --rf",
                      "archcalc table resnet50 --input 3xHxW --format json")),
    "list": Command("archcalc.commands.models:list_models",
                    "The bundled models with their parameter and MAC totals, family by family.",
                    ("archcalc list", "archcalc list --convention torch --format csv -o models.csv")),
    "zoo": Command("archcalc.commands.models:zoo",
                   "The zoo page (docs/zoo.md): every bundled model's figures beside the published ones.",
                   ("archcalc zoo -o docs/zoo.md",)),
    "conv": Command("archcalc.commands.calculate:conv",
                    "Output size of one convolution, with the working, and its parameters and MACs.",
                    ("archcalc conv --input 3x224x224 --kernel 7 --stride 2 --padding 3",
                     "archcalc conv --input 64x56x56 --kernel 3 --groups 64 --out-channels 64")),
    "pool": Command("archcalc.commands.calculate:pool", "Output size of one pooling layer, with the working.",
                    ("archcalc pool --input 64x112x112 --kernel 3 --stride 2 --padding 1",
                     "archcalc pool --input 7 --kernel 7 --average")),
    "validate": Command("archcalc.commands.validate:validate",
                        "Build the real torch model and check every shape, parameter and count against torch, "
                        "fvcore and FlopCounterMode. Exit 0 when all agree, 1 when anything differs.",
                        ("archcalc validate resnet18", "archcalc validate my_net.yaml --runs 0 --format json",
                         "archcalc validate --all")),
    "report": Command("archcalc.commands.report:report",
                      "A markdown report: summary, stages, where the cost goes, the graph, every layer; several "
                      "models side by side. The same input gives the same bytes.",
                      ("archcalc report resnet50 -o report.md", "archcalc report resnet18 resnet50 mobilenet_v2",
                       "archcalc report resnet50 --sweep 160:320:32 --validate")),
    "sweep": Command("archcalc.commands.sweep:sweep",
                     "Parameters, MACs and activation memory at many input sizes, from the model's exact formulas.",
                     ("archcalc sweep vgg16 --size 16:112:32,224x320",
                      "archcalc sweep resnet50 --set groups=1,32 --size 224 --max-macs 5G")),
    "memory": Command("archcalc.commands.memory:memory",
                      "The peak memory of inference by category (parameters, buffers, activations), where it "
                      "occurs, and the memory alive after each layer, as torch's MemTracker counts it.",
                      ("archcalc memory lenet5", "archcalc memory resnet50 --batch 8 --dtype float16")),
    "import": Command("archcalc.commands.importing:import_model",
                      "Write the spec of a torch module (traced with torch.fx) or an ONNX file: its layers, blocks "
                      "and repeats, checked against the module's parameters and state dict.",
                      ("archcalc import torch torchvision.models:resnet18 --input 3x224x224",
                       "archcalc import onnx net.onnx -o net.yaml")),
    "device-profile": Command("archcalc.commands.device_profile:device_profile",
                              "Measure this machine's device (CPU, or a CUDA GPU) for the roofline: GEMM FLOP/s per "
                              "dtype, copy bandwidth, launch cost, and the efficiency of each kind of work on "
                              "synthetic layers (of convolutions and linear layers, by size); a profile file for "
                              "'table --device-profile FILE'.",
                              ("archcalc device-profile -o cpu.yaml", "archcalc device-profile --device cuda --dtype bfloat16 -o gpu.yaml")),
    "check": Command("archcalc.commands.check:check",
                     "Hold each model's parameters, MACs, FLOPs and activation memory to the baseline, its "
                     "budgets and its spec's expect: block. Exit 0 when all hold, 1 when any does not.",
                     ("archcalc check specs/*.yaml --update", "archcalc check specs/*.yaml --format github")),
}

COMPLETION = "_ARCHCALC_COMPLETE"
"""The variable through which a shell asks for completions: the typer app answers it."""


def main() -> None:
    """Entry point; a closed pipe (`archcalc table … | head`) ends quietly, and Ctrl-C with 130;
    a standard error that is closed or cannot be written keeps the exit codes, its messages lost.

    The cyclic garbage collector is off for the command's work: a command makes little cyclic
    garbage, and the collector would rescan every parsed spec node on each pass (on a
    written-out 10,000-layer spec, 42% of the run). Afterwards what the command made is frozen:
    the one collection Python makes on exit, collector off or not, then skips it."""
    gc.disable()
    if sys.stderr is None:  # started with it closed (`2>&-`): messages go nowhere, exit codes stay
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - open for the process's life
    sys.stderr = Forgiving(sys.stderr)
    arguments = sys.argv[1:]
    try:
        call = None if COMPLETION in os.environ else read_command_line(arguments)
        if call is not None:
            try:
                code = run(*call)
                gc.freeze()
                sys.exit(code)
            except UsageError as error:  # shown with the command's usage, the command not run again
                from archcalc.cli.usage import usage_error_of

                _bounded_columns()
                sys.stderr.write(usage_error_of(arguments, error))
                sys.exit(error.exit_code)
        _bounded_columns()
        typer_app()(prog_name="archcalc", args=arguments)
    except UserError as error:  # raised where typer runs the code (--version's output)
        sys.stderr.write(error.report())
        sys.exit(error.exit_code)
    except UnicodeEncodeError as error:  # rich's output (help, a terminal) in an encoding without its characters
        from archcalc.commands import unencodable

        sys.stderr.write(unencodable(error).report())
        sys.exit(unencodable(error).exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def console() -> None:
    """The installed `archcalc` and `python -m archcalc`: main, and where nothing is left to run at
    exit (no handler registered, no other thread), the process ends as soon as its output is
    flushed, without tearing down its modules and all they hold (every model `check` expanded).
    Else, and for code that calls main itself, Python ends it as usual."""
    try:
        main()
    except SystemExit as end:
        if type(end.code) is int or end.code is None:
            _flushed()
            threading = sys.modules.get("threading")
            alone = threading is None or threading.active_count() == 1
            if alone and getattr(atexit, "_ncallbacks", lambda: 1)() == 0:
                os._exit(end.code or 0)
        raise


def _flushed() -> None:
    """Standard output and error flushed; a failure is left for Python's own end to report."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            return


COLUMNS = (40, 1_000)
"""The widths typer's help and usage errors are laid out at, whatever $COLUMNS says (rich takes it
as it is: 0 printed nothing, 99,999,999 took minutes and gigabytes)."""


def _bounded_columns() -> None:
    """$COLUMNS within COLUMNS, or left out where it is no whole number."""
    text = os.environ.get("COLUMNS")
    if text is None:
        return
    try:
        width = int(text)
    except ValueError:
        del os.environ["COLUMNS"]
        return
    os.environ["COLUMNS"] = str(min(max(width, COLUMNS[0]), COLUMNS[1]))


class Forgiving:
    """Standard error whose writes never fail: where it cannot be written (a full disk, a closed
    pipe) its messages are lost, never the command's result or its exit code."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def run(function: Callable, values: dict[str, Any]) -> int:
    """Run a command; its exit code. A UserError is one clear message on stderr and its code (a
    UsageError goes on to the caller, to be shown with the command's usage), and so is memory
    running out (exit 2, not a traceback's 1, which CI reads as a figure that differs); a False result
    (validate, check, report --validate: a figure differs) is EXIT_DIFFERENCE."""
    try:
        result = call(function, values)
    except UsageError:
        raise
    except UserError as error:
        sys.stderr.write(error.report())
        return error.exit_code
    except MemoryError:  # a traceback's exit 1 read as "a figure differs"
        error = UserError("archcalc ran out of memory", hint="give a smaller input or batch, fewer sizes to "
                          "sweep, or a smaller model")
        sys.stderr.write(error.report())
        return error.exit_code
    return EXIT_DIFFERENCE if result is False else 0


def call(function: Callable, values: dict[str, Any]) -> Any:
    """Call a command's function with its values; on a terminal (no --output, no --wide) its
    tables are fitted to the window (archcalc.render.terminal)."""
    from archcalc.output import READ
    from archcalc.render import terminal

    READ.clear()  # the specs this command reads, which it may not write over: none yet
    terminal.choose(values.get("output"), values.get("wide", False))
    return function(**values)


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
