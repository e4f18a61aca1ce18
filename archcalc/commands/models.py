"""archcalc list and archcalc zoo: every bundled model."""

from __future__ import annotations

from pathlib import Path

from archcalc.commands import OUTPUT, convention_option, emit, format_option


def list_models(
    convention: str = convention_option("What a MAC counts."),
    format: str = format_option("models"),
    output: Path | None = OUTPUT,
) -> None:
    from archcalc.analysis import analyze_bundled
    from archcalc.render.registry import render

    emit(render("models", format, models=analyze_bundled(convention)), output, bundled_files())


def zoo(format: str = format_option("zoo"), output: Path | None = OUTPUT) -> None:
    from archcalc.analysis import analyze_bundled
    from archcalc.render.registry import render

    emit(render("zoo", format, models=analyze_bundled()), output, bundled_files())


def bundled_files() -> list[Path]:
    """The bundled specs both commands read: never their output."""
    from archcalc.spec import bundled

    return [entry.path for entry in bundled()]
