"""The `archcalc` command: options → library → renderer → exit code. No arithmetic here."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from archcalc.errors import SpecError
from archcalc.limits import MAX_DIMENSION


class CommandWithUsage(typer.core.TyperCommand):
    """Gives every usage error its command, so that the usage help is printed with it
    (the parser raises 'Option … requires an argument' without one)."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except Exception as error:
            if getattr(error, "ctx", False) is None:
                error.ctx = ctx
            raise


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Exact output shapes, parameters and MACs/FLOPs of convolutional networks.",
)

EXIT_DIFFERENCE = 1
EXIT_SPEC_ERROR = 2
EXIT_MISSING_DEPENDENCY = 3


def _check_input(value: Optional[str]) -> Optional[str]:
    """--input is checked as the command line is read, so a bad one gets the usage help."""
    from archcalc.analysis import input_shape

    if value is not None and not all(isinstance(size, int) for size in _parsed(value, input_shape)):
        raise typer.BadParameter("sizes must be whole numbers here; symbols such as H are for "
                                 "'archcalc table' (and 'archcalc sweep' for many sizes)")
    return value


def _check_symbolic_input(value: Optional[str]) -> Optional[str]:
    from archcalc.analysis import input_shape

    if value is not None:
        _parsed(value, input_shape)
    return value


def _check_batch(value: str) -> str:
    from archcalc.analysis import batch_size

    _parsed(value, batch_size)
    return value


def _check_sizes(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    from archcalc.symbolic.sweep import parse_sizes  # sympy: only for a sweep

    _parsed(value, parse_sizes)
    return value


def _check_batches(value: str) -> str:
    from archcalc.symbolic.sweep import parse_batches

    _parsed(value, parse_batches)
    return value


def _parsed(value: str, parse):
    """An option's text through `parse`; its SpecError becomes a usage error."""
    try:
        return parse(value)
    except SpecError as error:
        raise typer.BadParameter(error.message) from None


INPUT = typer.Option(None, "--input", callback=_check_input, help="Input C×H×W, e.g. 3x224x224.")
SYMBOLIC_INPUT = typer.Option(None, "--input", callback=_check_symbolic_input,
                              help="Input C×H×W, e.g. 3x224x224; a size may be a symbol: 3xHxW.")
OUTPUT = typer.Option(None, "--output", "-o", dir_okay=False,
                      help="Write to this file (replaced in one step) instead of printing.")


class ConventionChoice(str, Enum):
    paper = "paper"
    fvcore = "fvcore"
    torch = "torch"


class TableFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    meta = "meta"


class CounterChoice(str, Enum):
    both = "both"
    fvcore = "fvcore"
    torch = "torch"


class ValidateFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class DtypeChoice(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    float64 = "float64"
    int8 = "int8"


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


def _emit(content: str | list[tuple[str, str]], output: Path | None, specs: list[str]) -> None:
    """Print `content` (text, or styled lines), or write it to `output` in one step (never over
    one of the `specs` that were read)."""
    if output is None:
        _print(content) if isinstance(content, list) else sys.stdout.write(content)
        return
    from archcalc.output import write_atomically

    text = content if isinstance(content, str) else "".join(line + "\n" for line, _ in content)
    try:
        write_atomically(output, text, _spec_paths(specs))
    except SpecError as error:
        _fail(error)


def _fail(error: SpecError) -> None:
    """One clear message on stderr, exit code 2, no traceback."""
    sys.stderr.write(f"error: {error}\n")
    raise typer.Exit(EXIT_SPEC_ERROR)


def _fail_missing(missing: Exception) -> None:
    """torch or fvcore is not installed: its install hint, exit code 3."""
    sys.stderr.write(f"error: {missing}\n")
    raise typer.Exit(EXIT_MISSING_DEPENDENCY) from None


@app.command(cls=CommandWithUsage)
def table(
    spec: str = typer.Argument(..., metavar="SPEC", help="A spec file, or a bundled model name (see 'archcalc list')."),
    variant: Optional[str] = typer.Option(None, help="Which variant of a family file."),
    input: Optional[str] = SYMBOLIC_INPUT,
    batch: str = typer.Option("1", callback=_check_batch, help="Batch size: a number, or a symbol such as N."),
    depth: Optional[int] = typer.Option(None, min=1, help="Sum blocks deeper than this many name parts."),
    convention: ConventionChoice = typer.Option(ConventionChoice.paper, help="What a MAC/FLOP counts."),
    format: TableFormat = typer.Option(TableFormat.table, "--format", help="Output format."),
    dtype: DtypeChoice = typer.Option(DtypeChoice.float32, help="Element type for activation memory."),
    rf: bool = typer.Option(False, "--rf", help="Add each layer's receptive field: size, jump and start."),
    output: Optional[Path] = OUTPUT,
) -> None:
    """Per-layer output shape, parameters and MACs (or FLOPs) of a model; with a symbol among
    the sizes (--input 3xHxW, --batch N), each as an exact formula and where it holds."""
    from archcalc.analysis import analyze

    try:
        stats = analyze(spec, input=input, batch=batch, variant=variant,
                        convention=convention.value, dtype=dtype.value)
    except SpecError as error:
        _fail(error)
    if rf and stats.formulas:
        raise typer.BadParameter("receptive fields need whole-number sizes: give --input as numbers "
                                 "(3x224x224), or leave out --rf", param_hint="'--rf'")
    _emit(_render_table(stats, stats.rows(depth), format, depth, rf), output, specs=[spec])


def _render_table(stats, rows: list, format: TableFormat, depth: int | None,
                  rf: bool = False) -> str | list[tuple[str, str]]:
    if format is TableFormat.json:
        from archcalc.render.records import to_json

        return to_json(stats, rows, depth)
    if format is TableFormat.csv:
        from archcalc.render.records import to_csv

        return to_csv(stats, rows)
    from archcalc.render import text

    return text.layer_table(stats, rows, rf) if format is TableFormat.table else text.markdown(stats, rows, rf)


def _spec_paths(specs: list[str]) -> list[Path]:
    """The files behind spec arguments (paths or bundled names): never an output target."""
    from archcalc.spec.catalog import locate

    return [locate(spec)[0] for spec in specs]


@app.command("list", cls=CommandWithUsage)
def list_models(
    convention: ConventionChoice = typer.Option(ConventionChoice.paper, help="What a MAC counts."),
) -> None:
    """The bundled models with their parameter and MAC totals."""
    from archcalc.analysis import analyze_bundled
    from archcalc.render.text import models_table

    try:
        models = analyze_bundled(convention.value)
    except SpecError as error:
        _fail(error)
    _print(models_table(models))


@app.command(cls=CommandWithUsage)
def zoo(output: Optional[Path] = OUTPUT) -> None:
    """The zoo page (docs/zoo.md): every bundled model's figures beside the published ones."""
    from archcalc.analysis import analyze_bundled
    from archcalc.render.zoo import zoo_page

    try:
        models = analyze_bundled()
    except SpecError as error:
        _fail(error)
    _emit(zoo_page(models), output, specs=[])


@app.command(cls=CommandWithUsage)
def conv(
    input: str = typer.Option(..., "--input", help="Input size: N, HxW or CxHxW."),
    kernel: str = typer.Option(..., help="Kernel size: k or kHxkW."),
    stride: str = typer.Option("1", help="Stride: s or sHxsW."),
    padding: str = typer.Option("0", help="Padding on each side: p, pHxpW, 'same' or 'valid'."),
    dilation: str = typer.Option("1", help="Dilation: d or dHxdW."),
    out_channels: int = typer.Option(1, "--out-channels", min=1, max=MAX_DIMENSION, help="Filters (output channels)."),
    groups: int = typer.Option(1, min=1, max=MAX_DIMENSION, help="Channel groups."),
    bias: bool = typer.Option(True, help="Whether each filter has a bias."),
) -> None:
    """Output size of one convolution, with the working (and its parameters and MACs)."""
    fields = {"out": out_channels, "kernel": kernel, "stride": stride, "padding": padding,
              "dilation": dilation, "groups": groups, "bias": bias}
    _calculate("conv2d", input, fields)


@app.command(cls=CommandWithUsage)
def pool(
    input: str = typer.Option(..., "--input", help="Input size: N, HxW or CxHxW."),
    kernel: str = typer.Option(..., help="Window size: k or kHxkW."),
    stride: Optional[str] = typer.Option(None, help="Stride (default: the kernel size)."),
    padding: str = typer.Option("0", help="Padding on each side, at most half the kernel."),
    dilation: str = typer.Option("1", help="Dilation (max pooling)."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="Round the output size up."),
    average: bool = typer.Option(False, "--average", help="Average instead of max pooling."),
) -> None:
    """Output size of one pooling layer, with the working."""
    fields = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if not average:
        fields["dilation"] = dilation
    _calculate("avgpool2d" if average else "maxpool2d", input, fields)


def _calculate(kind: str, size: str, fields: dict) -> None:
    from archcalc.calculator import calculate, parse_pair_fields
    from archcalc.render.text import calculation_lines

    try:
        result = calculate(kind, size, parse_pair_fields(fields))
    except SpecError as error:  # every value here came from an option: a usage error
        option = {"out": "--out-channels"}.get(error.field, f"--{error.field}")
        hint = f" ({error.hint})" if error.hint else ""
        raise typer.BadParameter(error.message + hint, param_hint=option if error.field else None) from None
    sys.stdout.write("\n".join(calculation_lines(result)) + "\n")


@app.command(cls=CommandWithUsage)
def validate(
    spec: Optional[str] = typer.Argument(None, metavar="[SPEC]", help="A spec file or bundled model name."),
    all_models: bool = typer.Option(False, "--all", help="Validate every bundled model."),
    variant: Optional[str] = typer.Option(None, help="Which variant of a family file."),
    input: Optional[str] = INPUT,
    batch: int = typer.Option(1, min=1, max=MAX_DIMENSION, help="Batch size N."),
    device: DeviceChoice = typer.Option(DeviceChoice.auto, help="auto takes cuda where available; "
                                        "meta allocates no weights and counts with FlopCounterMode only."),
    counter: CounterChoice = typer.Option(CounterChoice.both, help="fvcore, torch (FlopCounterMode) or both."),
    format: ValidateFormat = typer.Option(ValidateFormat.table, "--format", help="Output format."),
    runs: int = typer.Option(10, min=0, help="Timed forward passes for the latency (0: no timing)."),
    warmup: int = typer.Option(2, min=0, help="Untimed forward passes before them."),
    output: Optional[Path] = OUTPUT,
) -> None:
    """Build the real torch model and check every shape, parameter and count against torch,
    fvcore and FlopCounterMode. Exit 0 when all agree, 1 when anything differs."""
    from archcalc.dependencies import MissingDependency
    from archcalc.validation import validate as validate_spec

    if all_models == (spec is not None):
        raise typer.BadParameter("give one SPEC, or --all for every bundled model", param_hint="SPEC")
    if all_models and variant:
        raise typer.BadParameter("--variant picks one model; it cannot go with --all", param_hint="--variant")
    try:
        if all_models:
            from archcalc.spec import bundled

            specs = [(str(entry.path), entry.variant) for entry in bundled()]
        else:
            specs = [(spec, variant)]
        results = [validate_spec(path, chosen, input, batch, device.value, counter.value, runs, warmup)
                   for path, chosen in specs]
    except SpecError as error:
        _fail(error)
    except MissingDependency as missing:
        _fail_missing(missing)
    _emit(_render_validation(results, format, single=not all_models), output,
          specs=[path for path, _ in specs])
    if not all(result.ok for result in results):
        raise typer.Exit(EXIT_DIFFERENCE)


def _render_validation(results: list, format: ValidateFormat, single: bool) -> str | list[tuple[str, str]]:
    from archcalc.render import validation as render

    if format is ValidateFormat.json:
        return render.to_json(results)
    if format is ValidateFormat.markdown:
        return render.markdown(results)
    return render.validation_table(results[0]) if single else render.summary_table(results)


@app.command(cls=CommandWithUsage)
def report(
    specs: list[str] = typer.Argument(..., metavar="SPEC...", help="Spec files or bundled names; several are compared."),
    output: Optional[Path] = OUTPUT,
    variant: Optional[str] = typer.Option(None, help="Which variant of a family file."),
    input: Optional[str] = INPUT,
    batch: int = typer.Option(1, min=1, max=MAX_DIMENSION, help="Batch size N."),
    convention: ConventionChoice = typer.Option(ConventionChoice.paper, help="What a MAC/FLOP counts."),
    dtype: DtypeChoice = typer.Option(DtypeChoice.float32, help="Element type for activation memory."),
    validate: bool = typer.Option(False, "--validate", help="Add the cross-validation against torch (needs torch)."),
    timestamp: bool = typer.Option(False, "--timestamp", help="Say when the report was made (then runs differ)."),
    sweep_sizes: Optional[str] = typer.Option(None, "--sweep", callback=_check_sizes,
                                              help="Add the cost against input size: 32:512:32, 224,256, …"),
) -> None:
    """A markdown report: summary, stages, where the cost goes, the graph, every layer; several
    models side by side. The same input gives the same bytes."""
    from archcalc.analysis import analyze
    from archcalc.render.report import report as render_report

    try:
        models = [analyze(spec, input=input, batch=batch, variant=variant, convention=convention.value,
                          dtype=dtype.value) for spec in specs]
        validations = _report_validations(specs, variant, input, batch) if validate else None
        sweeps = _report_sweeps(specs, variant, sweep_sizes, batch, convention.value, dtype.value)
    except SpecError as error:
        _fail(error)
    stamp = None
    if timestamp:
        from datetime import datetime, timezone

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    _emit(render_report(models, validations, stamp, sweeps), output, specs=specs)
    if validations and not all(v.ok for v in validations):
        raise typer.Exit(EXIT_DIFFERENCE)


def _report_sweeps(specs: list[str], variant, sizes: str | None, batch: int, convention: str, dtype: str):
    if sizes is None:
        return None
    from archcalc.symbolic.sweep import parse_sizes, sweep

    return [sweep(spec, parse_sizes(sizes), [batch], variant, convention, dtype) for spec in specs]


def _report_validations(specs: list[str], variant, input, batch) -> list:
    """Cross-validation without timing, so that the report stays the same from run to run."""
    from archcalc.dependencies import MissingDependency
    from archcalc.validation import validate as validate_spec

    try:
        return [validate_spec(spec, variant, input, batch, "auto", "both", 0, 0) for spec in specs]
    except MissingDependency as missing:
        _fail_missing(missing)


class SweepFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command(cls=CommandWithUsage)
def sweep(
    spec: str = typer.Argument(..., metavar="SPEC", help="A spec file, or a bundled model name."),
    size: str = typer.Option(..., "--size", callback=_check_sizes,
                             help="Input sizes: 32:512:32 (from:to:step, both ends included), 224,256 or 224x320."),
    batch: str = typer.Option("1", "--batch", callback=_check_batches, help="Batch sizes: 1, 1,8,32 or 1:64:8."),
    variant: Optional[str] = typer.Option(None, help="Which variant of a family file."),
    convention: ConventionChoice = typer.Option(ConventionChoice.paper, help="What a MAC/FLOP counts."),
    dtype: DtypeChoice = typer.Option(DtypeChoice.float32, help="Element type for activation memory."),
    format: SweepFormat = typer.Option(SweepFormat.table, "--format", help="Output format."),
    output: Optional[Path] = OUTPUT,
) -> None:
    """Parameters, MACs and activation memory at many input sizes, from the model's exact formulas."""
    from archcalc.symbolic.sweep import parse_batches, parse_sizes
    from archcalc.symbolic.sweep import sweep as sweep_spec

    try:
        result = sweep_spec(spec, parse_sizes(size), parse_batches(batch), variant, convention.value, dtype.value)
    except SpecError as error:
        _fail(error)
    from archcalc.render import sweep as render

    content = {SweepFormat.json: render.to_json, SweepFormat.csv: render.to_csv}.get(format, render.sweep_table)(result)
    _emit(content, output, specs=[spec])


class CheckFormat(str, Enum):
    table = "table"
    github = "github"
    json = "json"


@app.command(cls=CommandWithUsage)
def check(
    specs: Optional[list[str]] = typer.Argument(None, metavar="[SPEC]...",
                                                help="Spec files or bundled names (default: the baseline's models)."),
    baseline: Path = typer.Option(Path("archcalc.lock.yaml"), "--baseline", dir_okay=False,
                                  help="The committed figures to hold the models to."),
    update: bool = typer.Option(False, "--update", help="Rewrite the baseline with the figures now."),
    format: CheckFormat = typer.Option(CheckFormat.table, "--format", help="table, github (annotations) or json."),
) -> None:
    """Hold each model's parameters, MACs, FLOPs and activation memory to the baseline, its
    budgets and its spec's expect: block. Exit 0 when all hold, 1 when any does not."""
    from archcalc.check import check as check_models
    from archcalc.check import load_baseline, update_baseline

    try:
        result = check_models(specs or [], load_baseline(baseline))
        if update:
            gone = update_baseline(result)
            removed = f", removed {', '.join(sorted(gone))}" if gone else ""
            sys.stderr.write(f"wrote {baseline}: {len(result.measured)} models{removed}\n")
            return
    except SpecError as error:
        _fail(error)
    _print_check(result, format)
    if not result.ok:
        raise typer.Exit(EXIT_DIFFERENCE)


def _print_check(result, format: CheckFormat) -> None:
    from archcalc.render import check as render

    if format is CheckFormat.json:
        sys.stdout.write(render.to_json(result))
        return
    if format is CheckFormat.github:
        sys.stdout.write(render.github(result))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            try:
                with open(summary, "a", encoding="utf-8") as file:
                    file.write(render.summary_markdown(result))
            except OSError as error:
                _fail(SpecError(f"cannot append to $GITHUB_STEP_SUMMARY ({summary}): {error.strerror}"))
        return
    _print(render.check_table(result))


def main() -> None:
    """Entry point: runs the app; a closed pipe (`archcalc table … | head`) ends quietly."""
    try:
        app(prog_name="archcalc")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
