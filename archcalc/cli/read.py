"""Reading a command line from the commands' data, without the command-line library.

`read_values` gives a command's values exactly as the typer app would, for a command line that
is plainly right; for anything else it gives None, and the typer app answers: the help, or the
error with the command's usage. It refuses rather than guesses: an unknown or repeated option, a
value that starts with '-' (after `=`, one that is or looks like an option), `--`, a number that is
not plain digits, a file option naming a folder are all the app's to answer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from archcalc.commands import REQUIRED, Argument, Option
from archcalc.errors import UserError
from archcalc.sizes import whole_number


def read_values(parameters: list[tuple[str, Any]], words: list[str]) -> dict[str, Any] | None:
    """The values of a command's parameters from its words, as the typer app would give them;
    None where the words are not plainly right (an unknown or repeated option, a value that
    starts with '-' or does not parse, a missing argument, `--`, `--help`)."""
    given = _given(parameters, words)
    if given is None:
        return None
    texts, positional = given
    values = {}
    for name, parameter in parameters:
        if isinstance(parameter, Argument):
            count = len(positional) if parameter.many else min(1, len(positional))
            if parameter.required and not count:
                return None
            taken, positional = positional[:count], positional[count:]
            values[name] = (taken if parameter.many else taken[0]) if taken else None
        else:
            value = _option_value(parameter, texts.get(name))
            if value is _REFUSED:
                return None
            values[name] = value
    return None if positional else values


def _given(parameters: list[tuple[str, Any]], words: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    """The option words given, by parameter name (a flag's True or False, an option's text), and
    the positional words; None for a word that is not plainly one of them."""
    flags = _flags(parameters)
    texts: dict[str, Any] = {}
    positional = []
    words = iter(words)
    for word in words:
        if not word.startswith("-"):
            positional.append(word)
            continue
        flag, equals, text = word.partition("=") if word.startswith("--") else (word, "", "")
        found = flags.get(flag)
        if found is None or (found[0] in texts and not found[1].many):
            return None
        name, option, switch = found
        if option.kind is bool:
            if equals:
                return None
            texts[name] = switch
            continue
        if not equals:
            text = next(words, None)
            if text is None or text.startswith("-"):
                return None
        if text in flags or text.startswith("--") and text[2:3].isalpha():  # `--output=--wide`: the app refuses it
            return None
        texts[name] = [*texts.get(name, []), text] if option.many else text
    return texts, positional


def _flags(parameters: list[tuple[str, Any]]) -> dict[str, tuple[str, Any, bool]]:
    """Each option's words: flag → (parameter name, option, the value a switch sets)."""
    flags = {}
    for name, option in parameters:
        if not isinstance(option, Option):
            continue
        long = "--" + name.replace("_", "-")
        for flag in option.flags or (long,):
            flags[flag] = (name, option, True)
        if option.kind is bool and not option.flags:
            flags["--no-" + name.replace("_", "-")] = (name, option, False)
    return flags


_REFUSED = object()


def _option_value(option: Any, given: Any) -> Any:
    """The value the command takes for an option (given or by default); _REFUSED where the typer
    app would refuse it."""
    if option.many and given is not None:
        values = [_option_value(option._replace(many=False), text) for text in given]
        return _REFUSED if any(value is _REFUSED for value in values) else values
    text = option.default if given is None else given
    if text is REQUIRED:
        return _REFUSED
    kind = option.kind
    if text is None or kind is bool:
        return text
    if option.choices and text not in option.choices:
        return _REFUSED
    if kind is int:
        text = _whole_number(text, option)
    elif kind is Path:
        text = _file_path(str(text))
    if text is _REFUSED or option.parse is None:
        return text
    try:
        return option.parse(text)
    except UserError:
        return _REFUSED


def _whole_number(text: Any, option: Any) -> Any:
    if isinstance(text, str):
        text = whole_number(text)
        if text is None:
            return _REFUSED
    if (option.min is not None and text < option.min) or (option.max is not None and text > option.max):
        return _REFUSED
    return text


def _file_path(text: str) -> Any:
    """A file option's path; _REFUSED where typer refuses it (a directory, an unreadable file) or
    reads it otherwise (an empty word)."""
    if not text:
        return _REFUSED
    try:
        is_folder = os.path.isdir(text)
    except ValueError:  # a NUL in the word
        return _REFUSED
    if is_folder or (os.path.lexists(text) and not os.access(text, os.R_OK)):
        return _REFUSED
    return Path(text)
