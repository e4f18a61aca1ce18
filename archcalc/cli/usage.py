"""The command line as a typer app, built from the commands' data: it prints the help, and every
mistake with the command's usage (archcalc.cli runs a well-formed command line without it).

The group lists each command from COMMANDS and builds only the one invoked: its typer function
has the command's parameters as typer's own Argument and Option, made from the command's
Argument and Option data, and hands the command plain values (a choice's text, not its Enum).
"""

from __future__ import annotations

import inspect
import re
import sys
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer vendors click from 0.2x on; before, it used click itself
    from typer._click import exceptions as _click_errors
    from typer._click.types import IntRange
except ImportError:  # pragma: no cover - depends on typer's version
    from click import exceptions as _click_errors
    from click.types import IntRange

from archcalc.cli import COMMANDS, call, command_function, run
from archcalc.commands import REQUIRED, Argument, Option, parameters
from archcalc.errors import UsageError, UserError, shown_safely
from archcalc.sizes import shortened, whole_number

ClickException = _click_errors.ClickException
NoArgsIsHelpError = getattr(_click_errors, "NoArgsIsHelpError", ())
"""`archcalc` alone: the help is printed, then this is raised (click 8.2 on; nothing to catch before)."""


class ArchcalcCommand(TyperCommand):
    """Every archcalc command: usage errors carry their command (so that the usage help is
    printed with them), and the command runs through archcalc.cli.run (its errors, exit codes)."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except Exception as error:  # the parser raises 'Option … requires an argument' without one
            if getattr(error, "ctx", False) is None:
                error.ctx = ctx
            raise

    def make_parser(self, ctx):
        """click's parser, whose words are refused where they give an option of one value twice
        (`--batch 2 --batch 4`: click took the last, silently), unless --help is among them: as
        with click's own errors, the help is printed first."""
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args):
            words = list(args)  # click's parser takes its words off the list
            opts, rest, order = parse(args=args)
            if not ctx.resilient_parsing and not any(param.is_eager for param in order):  # --help comes first
                _refuse_repeated(ctx, order, words)
                _refuse_options_as_values(ctx, opts, order)
            return opts, rest, order

        parser.parse_args = parse_args
        return parser

    def invoke(self, ctx):
        try:
            code = run(super().invoke, {"ctx": ctx})
        except UsageError as error:
            raise typer.BadParameter(str(error), ctx=ctx, param_hint=error.option) from None
        if code:
            raise typer.Exit(code)


def _refuse_repeated(ctx, order: list, words: list[str]) -> None:
    """A usage error for an option of one value (not `many`, as `--set` is) given more
    than once, in the order the parser met the options (`words`: the command line's)."""
    seen = set()
    for param in order:
        if getattr(param, "multiple", True) or not param.expose_value:
            continue
        if param in seen:
            raise _click_errors.UsageError(_given_twice(param, ctx, words), ctx=ctx)
        seen.add(param)


def _given_twice(param, ctx, words: list[str]) -> str:
    """What is said of an option given twice: a switch takes no value, and is named by each of
    its words (`--memory --no-memory` gave '--memory' twice); the values of a `joined` option
    (`--size 32 --size 64`) go in one, joined by ',' (`--size 32,64`), each once (a list refuses
    a value given twice)."""
    hint = param.get_error_hint(ctx)
    option = getattr(ctx.command.callback, "options", {}).get(param.name)
    if option is not None and option.joined:
        joined = shortened(_joined(option.parse, _values_given(param.opts, words)))
        return f"{hint} is given more than once: give it once, its values joined by ',' ({param.opts[0]} {joined})"
    if not getattr(param, "is_flag", False):
        return f"{hint} is given more than once: give it once (it takes one value)"
    words = " / ".join(repr(word) for word in (*param.opts, *param.secondary_opts))
    return f"{words} is given more than once: give it once (a switch is on or off)"


def _joined(parse: Callable[[str], list], values: list[str]) -> str:
    """The entries of the values given to a joined option, as one value its `parse` takes: each
    value once (the list refuses 32,32, and 32,32x32: one size), an entry that repeats only values
    given before it left out, and a range that repeats some written as the values it adds. An
    entry that does not parse is kept, for its own error to be told."""
    kept, given = [], set()
    for entry in (entry.strip() for value in values for entry in value.split(",") if entry.strip()):
        try:
            found = parse(entry)
        except UserError:
            kept.append(entry)
            continue
        fresh = [value for value in found if _once(value) not in given]
        kept += [entry] if len(fresh) == len(found) else [_written(value) for value in fresh]
        given.update(map(_once, found))
    return ",".join(kept)


def _once(value: Any) -> Any:
    """What tells two values of a list apart: a size 32 is the pair 32x32."""
    return value if isinstance(value, tuple) else (value, value)


def _written(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _values_given(flags: list[str], words: list[str]) -> list[str]:
    """The values given to an option of these flags (`--size 32`, `--size=64`), up to `--`."""
    values = []
    for index, word in enumerate(words):
        if word == "--":
            break
        flag, equals, value = word.partition("=")
        if word in flags and index + 1 < len(words):
            values.append(words[index + 1])
        elif equals and flag in flags:
            values.append(value)
    return values


def _refuse_options_as_values(ctx, opts: dict, order: list) -> None:
    """A usage error for an option whose value is one of the command's options, or looks like one
    (`-o --wide`, `-o --wdie`: the file name left out): click took the next word whatever it was, and
    wrote a file called '--wide'. (A value may start with '-' otherwise: `./-` names such a file; an
    argument is not an option's value: `table -- --net.yaml` reads the spec '--net.yaml'.)"""
    params = ctx.command.get_params(ctx)  # --help among them
    words = {word for param in params for word in (*param.opts, *param.secondary_opts)}
    for param in dict.fromkeys(order):
        if param.param_type_name != "option":  # an argument after `--` (`table -- --net.yaml`) is a file's name
            continue
        value = opts.get(param.name)
        for text in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(text, str) and (text in words or text.startswith("--") and text[2:3].isalpha()):
                said = "is an option" if text in words else "looks like an option"
                raise _click_errors.UsageError(f"option {param.get_error_hint(ctx)} requires an argument: {text!r} "
                                               f"after it {said}", ctx=ctx)


class LazyGroup(TyperGroup):
    """Lists the commands from COMMANDS and builds (imports) only the one that is invoked."""

    _listing = False

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return None
        if self._listing:  # `archcalc --help`: the name and help are enough
            return TyperCommand(name, help=COMMANDS[name].help)
        return build_command(name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """As click's, but a usage error is printed in archcalc's style (usage_error_text)."""
        if not standalone_mode:
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                                **extra)
        except NoArgsIsHelpError as error:  # the help is printed already
            sys.exit(error.exit_code)
        except ClickException as error:
            sys.stderr.write(usage_error_text(error))
            sys.exit(error.exit_code)
        except typer.Abort:
            sys.stderr.write("aborted\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


NOT_WHOLE = re.compile(r"is not a valid int(eger)?( range)?")
"""click's words for a word given to a whole-number option ('int range' in typer's own click, 'integer range' in click's)."""


def usage_error_text(error) -> str:
    """A usage error as a spec error is written: 'error: …', then the usage and where the help is."""
    message = NOT_WHOLE.sub("is not a whole number",
                            error.format_message().removesuffix(".").replace("(Possible options", "(possible options"))
    text = f"error: {shown_safely(message[:1].lower() + message[1:])}\n"
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        usage = ctx.get_usage().removeprefix("Usage: ")
        text += f"  usage: {usage}\n  help:  {ctx.command_path} --help\n"
    return text


def usage_error_of(arguments: list[str], error: UsageError) -> str:
    """The text of a usage error that the command of `arguments` raised as it ran, with that
    command's usage, as the typer app shows it (ArchcalcCommand.invoke), without running it again."""
    group = typer.main.get_command(typer_app())
    with group.make_context("archcalc", list(arguments), resilient_parsing=True) as parent:
        command = build_command(arguments[0])
        with command.make_context(arguments[0], list(arguments[1:]), parent=parent, resilient_parsing=True) as ctx:
            return usage_error_text(typer.BadParameter(str(error), ctx=ctx, param_hint=error.option))


@cache
def typer_app() -> typer.Typer:
    app = typer.Typer(cls=LazyGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      help="Exact output shapes, parameters and MACs/FLOPs of convolutional networks.")
    app.callback()(_group)
    return app


def _group(version: bool = typer.Option(False, "--version", help="Print archcalc's version and exit.",
                                        is_eager=True, callback=lambda value: _version(value))) -> None:
    """The group itself does nothing but --version: its commands are built when invoked."""


def _version(value: bool) -> None:
    if value:
        from archcalc.commands import to_stdout
        from archcalc.version import __version__

        to_stdout(f"archcalc {__version__}\n")
        raise typer.Exit()


@cache
def build_command(name: str) -> TyperCommand:
    """The click command of `name`, built from its function's data, once per process (in-process
    callers, such as the tests, run many commands)."""
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name, cls=ArchcalcCommand, help=COMMANDS[name].full_help)(typer_function(command_function(name)))
    return typer.main.get_command(single)


def typer_function(function: Callable) -> Callable:
    """`function` with typer's parameters in its signature, made from its Argument and Option data."""
    signature, choices = [], set()
    for name, parameter in parameters(function):
        default, annotation = (_argument if isinstance(parameter, Argument) else _option)(name, parameter)
        signature.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                           default=default, annotation=annotation))
        if isinstance(parameter, Option) and parameter.choices:
            choices.add(name)

    def command(**values: Any) -> Any:
        return call(function, {name: value.value if name in choices and value is not None else value
                               for name, value in values.items()})

    command.__name__ = function.__name__
    command.options = {name: parameter for name, parameter in parameters(function) if isinstance(parameter, Option)}
    command.__signature__ = inspect.Signature(signature)
    command.__annotations__ = {parameter.name: parameter.annotation for parameter in signature}
    return command


def _argument(name: str, argument: Argument) -> tuple[Any, Any]:
    annotation = list[str] if argument.many else str
    default = ... if argument.required else None
    return (typer.Argument(default, metavar=argument.metavar, help=argument.help),
            annotation if argument.required else Optional[annotation])


def _option(name: str, option: Option) -> tuple[Any, Any]:
    annotation = _choices(name, option.choices) if option.choices else option.kind
    if option.many:
        annotation = list[annotation]
    default = ... if option.default is REQUIRED else \
        annotation(option.default) if option.choices and option.default is not None else option.default
    settings: dict[str, Any] = {"help": option.help}
    if option.parse is not None:
        settings["callback"] = parsed(option.parse)
    if option.kind is int and not option.choices:
        settings["click_type"] = WholeNumber(min=option.min, max=option.max)
    if option.kind is Path:
        settings["dir_okay"] = False
    return typer.Option(default, *option.flags, **settings), Optional[annotation] if default is None else annotation


class WholeNumber(IntRange):
    """A whole-number option's type: its text read as archcalc reads one (`archcalc.sizes.whole_number`:
    ASCII digits alone; click's int() also took '1_0', '+3', ' 3' and '٣'), within the option's range.
    A '-' before the digits is read, for the range to refuse the number it gives."""

    def convert(self, value: Any, param, ctx) -> Any:
        if isinstance(value, str):
            digits = value.removeprefix("-")
            number = whole_number(digits)
            if number is None:
                self.fail(f"{shortened(value, quoted=True)} is not a whole number", param, ctx)
            number = number if digits == value else -number
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                # the text given, not the number it is read as (20 digits or more: 2³¹, above every bound)
                self.fail(f"{shortened(value)} is not in the range {self._describe_range()}", param, ctx)
            value = number
        return super().convert(value, param, ctx)


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """An option's choices as the Enum typer reads them."""
    return Enum(f"{name.title()}Choice", [(value, value) for value in values], type=str)


def parsed(parse: Callable) -> Callable:
    """An option callback: the option's text through `parse`, None left as it is; a UserError
    becomes a usage error naming the option."""

    def callback(value):
        if value is None:
            return None
        try:
            return [parse(text) for text in value] if isinstance(value, list) else parse(value)
        except UserError as error:
            raise typer.BadParameter(error.message) from None

    return callback

