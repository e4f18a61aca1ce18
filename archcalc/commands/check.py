"""archcalc check: hold the models to the committed baseline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from archcalc.commands import OUTPUT, WIDE, Argument, Option, emit, format_option
from archcalc.errors import OutputError, UsageError


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

    if update and (output is not None or format != "table"):
        raise UsageError("--update rewrites the baseline and prints no result: -o and --format do not apply",
                         option="--update", hint="run check --update alone, then check with -o or --format")
    result = check_models(specs or [], load_baseline(baseline, repairable=update))
    if update:
        gone = update_baseline(result)
        removed = f", removed {', '.join(sorted(gone))}" if gone else ""
        sys.stderr.write(f"wrote {baseline}: {len(result.measured)} models{removed}\n")
        return None
    read = [*result.spec_files.values(), baseline]
    summary = _step_summary(read) if format == "github" else None
    try:
        emit(render("check", format, result=result), output, read)
        if summary is not None:
            _append(summary, result)
    finally:
        if summary is not None:
            os.close(summary[1])
    return result.ok


def _step_summary(read: list) -> tuple[str, int] | None:
    """The GitHub job summary's file, where the workflow gives one ($GITHUB_STEP_SUMMARY), opened
    to append: a regular file (or a new one) that is none of the files `check` read."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return None
    import stat

    from archcalc.output import spec_paths_match

    try:
        if spec_paths_match(summary, read):
            raise OutputError(f"refusing to append to $GITHUB_STEP_SUMMARY ({summary}): check reads it", hint=_HINT)
        if os.path.exists(summary) and not stat.S_ISREG(os.stat(summary).st_mode):
            raise OutputError(f"refusing to append to $GITHUB_STEP_SUMMARY ({summary}): it is not a regular file "
                              "(a folder, a device or a pipe)", hint=_HINT)
        return summary, os.open(summary, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links, as Python 3.11 resolves it
        raise _cannot_append(summary, error) from None


def _append(summary: tuple[str, int], result) -> None:
    """The summary's markdown appended to its file (opened by `_step_summary`)."""
    from archcalc.render.check import summary_markdown

    data = summary_markdown(result).encode("utf-8", "surrogateescape")
    try:
        while data:
            data = data[os.write(summary[1], data):]
    except OSError as error:
        raise _cannot_append(summary[0], error) from None


_HINT = "point $GITHUB_STEP_SUMMARY at the job summary file GitHub gives, or unset it"


def _cannot_append(summary: str, error: Exception) -> OutputError:
    return OutputError(f"cannot append to $GITHUB_STEP_SUMMARY ({summary}): {getattr(error, 'strerror', None) or error}",
                       hint=_HINT)
