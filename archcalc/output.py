"""Writing output files: all at once or not at all, and never over a spec that was read."""

from __future__ import annotations

import errno
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from archcalc.errors import OutputError, on_one_line


@contextmanager
def serialised(path: str | Path) -> Iterator[None]:
    """An exclusive lock on the folder of `path` while it is read and rewritten: runs that
    rewrite the same file take turns instead of the last one silently winning."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system: no lock
        yield
        return
    try:
        descriptor = os.open(Path(path).resolve().parent, os.O_RDONLY)
    except RuntimeError:  # Python 3.11 resolves a loop of links with this
        raise _cannot_write(Path(path), OSError(errno.ELOOP, os.strerror(errno.ELOOP))) from None
    except FileNotFoundError:  # the folder it is in, or the one its link names
        raise _no_folder(Path(path), Path(os.path.realpath(path)).parent if os.path.islink(path) else Path(path).parent) from None
    except OSError as error:
        raise _cannot_write(Path(path), error) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:  # a file system without locks (some network ones): write without taking turns
            pass
        yield
    finally:
        os.close(descriptor)  # which releases the lock


def write_atomically(path: str | Path, text: str, inputs: Iterable[str | Path] = ()) -> None:
    """Replace `path` by a file holding `text`, in one step.

    The text goes to a temporary file in the same folder, which is flushed to disk and then
    renamed over `path`: a reader sees the old file or the complete new one, and a failure
    leaves the old file (or none) and no temporary file. `inputs` (the specs that were read)
    are refused as targets, and so is anything but a regular file (a device, a pipe); a link
    is followed, so the file it names is replaced and the link stays.
    """
    target = writable_target(path, inputs)
    with _signals_end_through_cleanup():
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=f".{_shortened(target.name)}.", suffix=".tmp",
                                                     dir=target.parent)
        except OSError as error:
            raise _cannot_write(target, error) from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", errors="surrogateescape", newline="") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            _owned_as(temporary, target)
            os.chmod(temporary, _mode_for(target))
            os.replace(temporary, target)
        except BaseException as error:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise _cannot_write(target, error) from None
            raise


def writable_target(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """The file that writing `path` replaces (a link's target); OutputError where it may not be
    written: one of the `inputs`, a folder, a device, a missing or read-only folder. Checked
    again as the file is written; a command whose work is long checks it first as well."""
    target = Path(path)
    try:
        if _names_a_descriptor(target):
            raise OutputError(f"refusing to write '{on_one_line(str(path))}': it names a file some process has open (a descriptor "
                              "such as standard output), which writing in one step would replace",
                              hint="leave out -o to print to standard output, and redirect that (> or >>)")
        if target.is_symlink():
            target = target.resolve()
        _check_target(target, inputs)
    except RuntimeError:  # Python 3.11 resolves a loop of links with this
        raise _cannot_write(Path(path), OSError(errno.ELOOP, os.strerror(errno.ELOOP))) from None
    except OSError as error:  # a name too long, a loop of links, a folder that cannot be searched
        raise _cannot_write(Path(path), error) from None
    return target


DESCRIPTORS = ("/dev/fd/", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/proc/")
"""Paths of open file descriptors (/dev/stdout is a link to /proc/self/fd/1), and /proc, where no
file is written."""


def _names_a_descriptor(path: Path) -> bool:
    """Whether `path` is, or links through, one of DESCRIPTORS (a link to an open descriptor is
    followed by the rename to the file behind it: the shell's redirect target, replaced)."""
    current = _in_real_folder(path)
    for _ in range(41):  # the kernel's bound on links followed
        if current.startswith(DESCRIPTORS) or current in DESCRIPTORS:
            return True
        if not os.path.islink(current):
            return False
        current = _in_real_folder(os.path.join(os.path.dirname(current), os.readlink(current)))
    return False


def _in_real_folder(path: str | Path) -> str:
    """`path` absolute, its folder's links followed and its slashes made single: '//proc/self/fd/1'
    (two leading slashes, which POSIX keeps) and a link to /proc on the way read as /proc/…/fd/1."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(folder), name)


@contextmanager
def _signals_end_through_cleanup() -> Iterator[None]:
    """While a file is written, SIGTERM and SIGHUP end the process as Ctrl-C does: through the
    clean-up, which removes the temporary file (exit status 128 + the signal's number). A signal
    someone chose to ignore (nohup) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can set handlers
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
    for number, handler in previous.items():
        if handler is signal.SIG_DFL:
            signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _shortened(name: str, limit: int = 200) -> str:
    """`name` cut to at most `limit` bytes (whole characters), so that a temporary name built
    from it fits the 255 bytes a file name may have, whatever the target's name."""
    return name.encode("utf-8", "surrogateescape")[:limit].decode("utf-8", "ignore")


def _cannot_write(target: Path, error: OSError) -> OutputError:
    return OutputError(f"cannot write '{on_one_line(str(target))}': {error.strerror or error}",
                       hint="the file was left as it was")


def _no_folder(target: Path, folder: Path) -> OutputError:
    return OutputError(f"cannot write '{on_one_line(str(target))}': the folder '{on_one_line(str(folder))}' does not exist",
                       hint="create the folder first, or write elsewhere")


READ: set[Path] = set()
"""Every spec file (and device profile) the command running has read (after links, `was_read`; emptied as each command
starts, archcalc.cli.call): no output is written over one, whether it was named on the command
line or reached otherwise (a spec another includes with `kind: model`)."""


def was_read(path: str | Path) -> None:
    """Note that the file at `path` was read: nothing this process writes may replace it."""
    try:
        READ.add(Path(path).resolve())
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL: never a target either
        pass


def spec_paths_match(path: str | Path, inputs: Iterable[str | Path]) -> bool:
    """Whether `path` is one of the files `inputs` (after links)."""
    return any(Path(path).resolve() == Path(spec).resolve() for spec in inputs)


def _own_files() -> tuple[Path, ...]:
    """The folders of archcalc's own files: the package (its code, its bundled device profiles) and
    its bundled specs (inside the package where installed, the repository's specs/ in a checkout)."""
    package = Path(__file__).resolve().parent
    return (package, package / "specs" if (package / "specs").is_dir() else package.parent / "specs")


def _check_target(target: Path, inputs: Iterable[str | Path]) -> None:
    if spec_paths_match(target, inputs) or target.resolve() in READ:
        raise OutputError(f"refusing to write over '{on_one_line(str(target))}': this command reads it",
                          hint="give --output another file name")
    if any(target.resolve().is_relative_to(folder) for folder in _own_files()):
        # `-o archcalc/devices.yaml` replaced the bundled device profiles, `-o specs/lenet.yaml` a bundled model
        raise OutputError(f"refusing to write '{on_one_line(str(target))}': it is among archcalc's own files",
                          hint="give --output a file outside archcalc's package and its bundled specs")
    if target.is_dir():
        raise OutputError(f"cannot write '{on_one_line(str(target))}': it is a directory", hint="give --output a file name")
    if target.exists() and not target.is_file():
        raise OutputError(f"refusing to replace '{on_one_line(str(target))}': it is not a regular file (a device or a pipe)",
                          hint="give --output a file name, or leave out -o and redirect the output")
    if not target.parent.is_dir():
        raise _no_folder(target, target.parent)
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write '{on_one_line(str(target))}': the folder '{on_one_line(str(target.parent))}' is not writable")


def _owned_as(temporary: str, target: Path) -> None:
    """The temporary file given the existing file's owner and group, where they differ and this
    process may (as root, which CI runs as): a replaced file keeps its owner, who may read it."""
    try:
        owner = target.stat()
    except FileNotFoundError:
        return
    made = os.stat(temporary)
    if (made.st_uid, made.st_gid) != (owner.st_uid, owner.st_gid):
        try:
            os.chown(temporary, owner.st_uid, owner.st_gid)
        except OSError:  # not root, or a file system without owners: the writer's, as an editor's save makes it
            pass


def _mode_for(target: Path) -> int:
    """The existing file's permissions, else what a new file gets under the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
