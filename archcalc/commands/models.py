"""archcalc list and archcalc zoo: every bundled model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from archcalc.commands import OUTPUT, ConventionChoice, convention_option, emit, format_choices, format_option

ModelsFormat = format_choices("models")
ZooFormat = format_choices("zoo")


def list_models(
    convention: ConventionChoice = convention_option("What a MAC counts."),
    format: ModelsFormat = format_option(ModelsFormat),
    output: Optional[Path] = OUTPUT,
) -> None:
    from archcalc.analysis import analyze_bundled
    from archcalc.render.registry import render

    emit(render("models", format.value, models=analyze_bundled(convention.value)), output, bundled_files())


def zoo(format: ZooFormat = format_option(ZooFormat), output: Optional[Path] = OUTPUT) -> None:
    from archcalc.analysis import analyze_bundled
    from archcalc.render.registry import render

    emit(render("zoo", format.value, models=analyze_bundled()), output, bundled_files())


def bundled_files() -> list[Path]:
    """The bundled specs both commands read: never their output."""
    from archcalc.spec import bundled

    return [entry.path for entry in bundled()]
