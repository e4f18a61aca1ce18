"""Reading the files a command is given (specs, baselines, device profiles): regular files
only, of a bounded size, UTF-8, each noted as read so that no output is written over it."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from archcalc.errors import SOURCES, Location, SpecError
from archcalc.limits import MAX_FILE_BYTES
from archcalc.output import was_read

BASELINE_FILE_HINT = ("a baseline is a regular file: archcalc.lock.yaml, or the file --baseline names, as "
                      "'archcalc check --update' writes it")
PROFILE_FILE_HINT = "give the path of a profile file written by 'archcalc device-profile', or a bundled profile's name"
NOT_A_FILE_HINTS = {
    "spec": ("name a .yaml file, or a bundled model (see 'archcalc list')",
             "give a regular .yaml file (save what the pipe or device gives to one first)"),
    "baseline": (BASELINE_FILE_HINT,) * 2,
    "device profile": (PROFILE_FILE_HINT,) * 2,
}
"""What to do where a spec, a baseline or a device profile named is a folder, and where it is a
device or a pipe."""


def read_text_file(path: Path, name: str, what: str = "spec") -> str:
    """A spec's (or a baseline's, a device profile's: `what`) text, or a SpecError saying why it cannot be read. Only
    a regular file is read: what it is comes from the opened file itself (opened without waiting,
    so a named pipe is refused, not waited on)."""
    start, (folder_hint, special_hint) = Location(name, 1, 1), NOT_A_FILE_HINTS[what]
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SpecError("no such file", location=start, hint="check the path, or name a bundled model (see 'archcalc "
                        "list')" if what == "spec" else folder_hint) from None
    except ValueError:  # a NUL, which the system's calls end a name at
        raise SpecError("the path holds a NUL character (\\x00), which no file's name can", location=start,
                        hint="remove it from the path: a file's name ends at a NUL") from None
    except OSError as exc:
        kind = _special_at(path) if exc.errno == errno.ENXIO else None  # a socket, a device with no driver
        if kind:
            raise SpecError(f"this is {kind}, not a {what} file", location=start, hint=special_hint) from None
        raise SpecError(f"cannot read the file: {exc.strerror}", location=start) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise SpecError(f"this is a directory, not a {what} file", location=start, hint=folder_hint)
        raise SpecError(f"this is {_special(mode)}, not a {what} file", location=start, hint=special_hint)
    if what != "baseline":  # a baseline is read to be written again (check --update)
        was_read(path)
    with os.fdopen(descriptor, "rb") as file:
        try:
            raw = file.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise SpecError(f"cannot read the file: {exc.strerror}", location=start) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB", location=start,
                        hint="is this a spec? Write repeated layers with 'repeat' or blocks" if what == "spec" else
                        f"is this a {what} file?")
    try:
        SOURCES[name] = text = raw.decode("utf-8")
        return text
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(f"the file is not UTF-8 text (byte {exc.start})",
                        location=Location(name, line, 1),
                        hint=f"save the {what} as UTF-8") from None


def nothing_at(path: Path) -> bool:
    """Whether no file is at `path`: not where the name cannot be looked up (too long, a loop of
    links, a file taken for a folder), which reading the file then reports in its own words."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    return False


def something_at(path: Path) -> bool:
    """Whether anything is at `path`: False where nothing is, and for a name no file can have."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def file_there(path: Path) -> bool:
    """Whether a regular file is at `path`; False also for a name the system cannot look up."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _special_at(path: Path) -> str | None:
    """What the special file at `path` is; None if it cannot be told (it is gone already)."""
    try:
        return _special(os.stat(path).st_mode)
    except OSError:
        return None


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"
