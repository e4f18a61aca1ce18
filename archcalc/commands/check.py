"""archcalc check: hold the models to the committed baseline."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from archcalc.commands import OUTPUT, WIDE, Argument, Option, emit, file_named, format_option
from archcalc.errors import OutputError, UsageError
from archcalc.parallel import MAX_JOBS

BASELINE = Option("archcalc.lock.yaml", "The committed figures to hold the models to.", ("--baseline",),
                  parse=file_named("--baseline"))


def check(
    specs: list[str] | None = Argument("[SPEC]...", "Spec files or bundled names (default: the baseline's models).",
                                          required=False, many=True),
    baseline: Path = BASELINE,
    update: bool = Option(False, "Rewrite the baseline with the figures now.", ("--update",)),
    format: str = format_option("check", help="table, github (annotations) or json."),
    wide: bool = WIDE,
    output: Path | None = OUTPUT,
    jobs: int = Option(0, f"Processes measuring the models at once (0: one per core, at most {MAX_JOBS}; 1: this one "
                          "only).", ("--jobs", "-j"), min=0, max=8 * MAX_JOBS),
) -> bool | None:
    from archcalc.check import check as check_models
    from archcalc.check import load_baseline
    from archcalc.render.registry import render

    if update and (output is not None or format != "table"):
        raise UsageError("--update rewrites the baseline and prints the table only where a check still fails: -o "
                         "and --format do not apply", option="--update",
                         hint="run check --update alone, then check with -o or --format")
    result = check_models(specs or [], load_baseline(baseline, repairable=update), jobs, records=update)
    if update:
        return _updated(result, specs or [], baseline, jobs)
    read = [*result.spec_files.values(), baseline]
    summary = _step_summary(read, output) if format == "github" else None
    try:
        emit(render("check", format, result=result), output, read)
        if summary is not None:
            _append(summary, result)
    finally:
        if summary is not None and summary[1] is not None:
            os.close(summary[1])
    return result.ok


def _updated(result, specs: list[str], baseline: Path, jobs: int) -> bool | None:
    """Record the figures measured, then hold the models to the baseline written, as the next
    `check` will: a budget (max_…) the figures break, or a spec's `expect:` they miss, is not
    settled by recording them, so the table is printed and the exit is 1. The models are held
    from the measurements made (`held_again`), and measured again only where those do not answer."""
    from archcalc.check import check as check_models
    from archcalc.check import held_again, load_baseline, update_baseline
    from archcalc.render.registry import render

    gone = update_baseline(result)
    removed = f", removed {', '.join(sorted(gone))}" if gone else ""
    sys.stderr.write(f"wrote {baseline}: {len(result.measured)} model{'s' if len(result.measured) != 1 else ''}{removed}\n")
    if not result.measured:  # models removed, none recorded: nothing to hold
        return None
    written = load_baseline(baseline)
    after = held_again(specs, written, result) or check_models(specs, written, jobs)
    if after.ok:
        return None
    emit(render("check", "table", result=after), None)
    sys.stderr.write("--update records the figures, not the budgets (max_…) nor a spec's 'expect:': for each check "
                     "above that fails, change the model, or raise the budget or write the new figure where it stands\n")
    return False


def _step_summary(read: list, output: Path | None) -> tuple[str, int | None] | None:
    """The GitHub job summary's file, where the workflow gives one ($GITHUB_STEP_SUMMARY): a
    regular file, opened to append, or a new file in a folder that exists (made only when the
    summary is written, after the result: a command that fails before leaves no empty file), and
    none of the files `check` read (`_reads`), nor the one -o writes. Refused before anything is printed."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return None
    import errno
    import stat

    from archcalc.output import spec_paths_match

    try:
        if _reads(summary, read):
            raise OutputError(f"refusing to append to $GITHUB_STEP_SUMMARY ({summary}): check reads it", hint=_HINT)
        if output is not None and spec_paths_match(summary, [output]):
            raise OutputError(f"refusing to append to $GITHUB_STEP_SUMMARY ({summary}): -o writes the annotations "
                              "there, in place of what the summary held", hint="give -o another file name")
        if not os.path.exists(summary):
            if os.path.islink(summary):
                raise OutputError(f"refusing to append to $GITHUB_STEP_SUMMARY ({summary}): it is a link to "
                                  "nothing", hint=_HINT)
            if not os.path.isdir(os.path.dirname(summary) or "."):
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            return summary, None
        if not stat.S_ISREG(os.stat(summary).st_mode):
            raise OutputError(f"refusing to append to $GITHUB_STEP_SUMMARY ({summary}): it is not a regular file "
                              "(a folder, a device or a pipe)", hint=_HINT)
        return summary, os.open(summary, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links, as Python 3.11 resolves it
        raise _cannot_append(summary, error) from None


def _reads(summary: str, read: list) -> bool:
    """Whether the summary's file is one `check` read: a spec or baseline named (`read`) or a spec
    one includes (`archcalc.output.READ`, whichever process read it), by its path after links or
    as the same file under another name (a hard link: appending would write into it)."""
    from archcalc.output import READ, spec_paths_match

    if spec_paths_match(summary, read) or Path(summary).resolve() in READ:
        return True
    try:
        itself = os.stat(summary)
    except OSError:  # not there yet: no file read is it
        return False
    return any(os.path.samestat(itself, other) for other in _stats((*read, *READ)))


def _stats(paths) -> Iterator[os.stat_result]:
    """The status of each of `paths` that can be read."""
    for path in paths:
        try:
            yield os.stat(path)
        except OSError:
            continue


def _append(summary: tuple[str, int | None], result) -> None:
    """The summary's markdown appended to its file (checked, and opened where it exists, by
    `_step_summary`), whole or not at all: a write that fails part of the way (a full disk) is
    taken back, the file cut to its length before, or removed where this made it."""
    from archcalc.render.check import summary_markdown

    path, descriptor = summary
    data = summary_markdown(result).encode("utf-8", "surrogateescape")
    made = descriptor is None
    try:
        if made:
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_NONBLOCK, 0o666)
        length = os.fstat(descriptor).st_size
        try:
            while data:
                data = data[os.write(descriptor, data):]
        except OSError:
            _take_back(path, descriptor, length, made)
            raise
    except OSError as error:
        raise _cannot_append(path, error) from None
    finally:
        if made and descriptor is not None:
            os.close(descriptor)


def _take_back(path: str, descriptor: int, length: int, made: bool) -> None:
    """Undo a part-written summary: remove the file this made, or cut it back to `length`."""
    try:
        if made:
            os.unlink(path)
        else:
            os.ftruncate(descriptor, length)
    except OSError:
        pass  # the error that stopped the write is the one to report


_HINT = "point $GITHUB_STEP_SUMMARY at the job summary file GitHub gives, or unset it"


def _cannot_append(summary: str, error: Exception) -> OutputError:
    return OutputError(f"cannot append to $GITHUB_STEP_SUMMARY ({summary}): {getattr(error, 'strerror', None) or error}",
                       hint=_HINT)
