"""archcalc check: hold the models to the committed baseline."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from archcalc.commands import OUTPUT, emit, format_choices, format_option
from archcalc.errors import OutputError

CheckFormat = format_choices("check")


def check(
    specs: Optional[list[str]] = typer.Argument(None, metavar="[SPEC]...",
                                                help="Spec files or bundled names (default: the baseline's models)."),
    baseline: Path = typer.Option(Path("archcalc.lock.yaml"), "--baseline", dir_okay=False,
                                  help="The committed figures to hold the models to."),
    update: bool = typer.Option(False, "--update", help="Rewrite the baseline with the figures now."),
    format: CheckFormat = format_option(CheckFormat, help="table, github (annotations) or json."),
    output: Optional[Path] = OUTPUT,
) -> Optional[bool]:
    from archcalc.check import check as check_models
    from archcalc.check import load_baseline, update_baseline
    from archcalc.render.registry import render

    result = check_models(specs or [], load_baseline(baseline, repairable=update))
    if update:
        gone = update_baseline(result)
        removed = f", removed {', '.join(sorted(gone))}" if gone else ""
        sys.stderr.write(f"wrote {baseline}: {len(result.measured)} models{removed}\n")
        return None
    emit(render("check", format.value, result=result), output, [*result.spec_files.values(), baseline])
    if format.value == "github":
        _append_step_summary(result)
    return result.ok


def _append_step_summary(result) -> None:
    """The GitHub job summary, where the workflow gives one ($GITHUB_STEP_SUMMARY)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    from archcalc.render.check import summary_markdown

    try:
        with open(summary, "a", encoding="utf-8") as file:
            file.write(summary_markdown(result))
    except OSError as error:
        raise OutputError(f"cannot append to $GITHUB_STEP_SUMMARY ({summary}): {error.strerror}") from None
