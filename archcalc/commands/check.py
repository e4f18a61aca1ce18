"""archcalc check: hold the models to the committed baseline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from archcalc.commands import OUTPUT, WIDE, Argument, Option, emit, format_option
from archcalc.errors import OutputError


def check(
    specs: list[str] | None = Argument("[SPEC]...", "Spec files or bundled names (default: the baseline's models).",
                                          required=False, many=True),
    baseline: Path = Option(Path("archcalc.lock.yaml"), "The committed figures to hold the models to.", ("--baseline",)),
    update: bool = Option(False, "Rewrite the baseline with the figures now.", ("--update",)),
    format: str = format_option("check", help="table, github (annotations) or json."),
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
) -> bool | None:
    from archcalc.check import check as check_models
    from archcalc.check import load_baseline, update_baseline
    from archcalc.render.registry import render

    result = check_models(specs or [], load_baseline(baseline, repairable=update))
    if update:
        gone = update_baseline(result)
        removed = f", removed {', '.join(sorted(gone))}" if gone else ""
        sys.stderr.write(f"wrote {baseline}: {len(result.measured)} models{removed}\n")
        return None
    emit(render("check", format, result=result), output, [*result.spec_files.values(), baseline])
    if format == "github":
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
