"""archcalc list and archcalc zoo: every bundled model."""

from __future__ import annotations

from pathlib import Path

from archcalc.commands import OUTPUT, WIDE, convention_option, emit, format_option


def list_models(
    convention: str = convention_option("What a MAC counts."),
    format: str = format_option("models"),
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> None:
    from archcalc.analysis import analyze_bundled
    from archcalc.render.registry import render

    files = bundled_files(output)
    models = sorted(analyze_bundled(convention), key=lambda stats: stats.family)  # each family's own order kept
    emit(render("models", format, models=models), output, files)


def zoo(format: str = format_option("zoo"), output: Path | None = OUTPUT) -> None:
    from archcalc.analysis import analyze_bundled
    from archcalc.render.registry import render

    files = bundled_files(output)
    emit(render("zoo", format, models=analyze_bundled()), output, files)


def bundled_files(output: Path | None) -> list[Path]:
    """The bundled specs both commands read: never their output, which is checked before the
    analyses of every model (a wrong target is refused at once)."""
    from archcalc.spec import bundled

    files = [entry.path for entry in bundled()]
    if output is not None:
        from archcalc.output import writable_target

        writable_target(output, files)
    return files
