"""Work shared with forked copies of this process, its results given back in order as if one
process had done it all: the same values, and the same first error.

The items are in groups, and the processes share a page of memory: a byte per group, set by the
process that claims it, and a byte set when an item fails. This process claims groups in the
items' order, and the copies the heaviest first (the last to end are then short), each skipping
the groups claimed already; a group two processes claim at once is worked out twice, to the same
result, so `work` must be a function of its item alone. A copy sends its results (pickled, once,
at its end). Once an item fails, every process stops after the item it is on; whatever a copy did
not send, this process works out itself, in order, so an error is raised by this process, at the
item where one process would have raised it, with the traceback and messages it would have had.
A copy writes nothing of the user's (its standard streams are /dev/null) and ends with its parent;
the files it read (`archcalc.output.READ`: a spec another includes) it sends with its results, and
no output of this process replaces them either."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

MAX_JOBS = 8
"""Processes at most by default (a container may see more cores than it may use)."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def in_order(work: Callable[[Any], Any], items: Sequence, jobs: int = 0, weight: Callable[[Any], float] | None = None,
             together: Callable[[Any], Any] | None = None) -> Iterator[Any]:
    """`work(item)` for each of `items`, in their order; the first item whose work fails raises
    its error where its result would come. Up to `jobs` processes share them (0: one per core
    this process may use, at most MAX_JOBS); neighbours with the same `together(item)` form a
    group, worked out in one process (what they share is worked out once there). One process
    where one is asked for, where there is one group, no fork, or a thread besides this one (a
    lock it holds would stay held in the copy). `weight` guesses an item's work: the copies
    take the heaviest groups first."""
    groups = _groups(items, together)
    count = min(jobs or min(cores(), MAX_JOBS), len(groups))
    if count < 2 or not _may_fork():
        yield from map(work, items)
        return
    heaviest = list(range(len(groups)))
    if weight is not None:
        weights = [weight(item) for item in items]
        heaviest.sort(key=lambda number: -sum(weights[index] for index in groups[number]))
    try:
        done, failed = _shared(_Shared(work, items, groups), heaviest, count)
    except OSError:  # no memory to share, or a copy's results unreadable: this process works out what it lacks
        done, failed = {}, None
    for index, item in enumerate(items):
        if index in done:
            yield done[index]
        elif failed is not None and failed[0] == index:
            raise failed[1]
        else:  # a copy failed here (or stopped before it): the error, raised as one process raises it
            yield work(item)


def _groups(items: Sequence, together: Callable[[Any], Any] | None) -> list[range]:
    """The items' indices, in runs of neighbours with the same key (one each without a key)."""
    keys = [together(item) for item in items] if together is not None else None
    starts = [index for index in range(len(items)) if keys is None or index == 0 or keys[index] != keys[index - 1]]
    return [range(start, end) for start, end in zip(starts, [*starts[1:], len(items)])]


def _may_fork() -> bool:
    threading = sys.modules.get("threading")
    return hasattr(os, "fork") and (threading is None or threading.active_count() == 1)


class _Shared(NamedTuple):
    """What every process works from: the work, the items and their groups."""

    work: Callable
    items: Sequence
    groups: list[range]

    def take(self, flags: Any, order: Sequence[int], parent: int | None = None) -> tuple[dict, tuple | None]:
        """The groups not claimed yet, claimed and worked out in `order` until every group is
        claimed or the work is stopped (the last of `flags`): the results by index, and this
        process's failure (its index and error) or None. A copy (`parent`: its parent's pid)
        also stops where its parent has ended."""
        done, stopped = {}, len(self.groups)
        for number in order:
            if flags[number]:
                continue
            flags[number] = 1
            for index in self.groups[number]:
                if flags[stopped] or parent is not None and os.getppid() != parent:
                    return done, None
                try:
                    done[index] = self.work(self.items[index])
                except Exception as error:  # noqa: BLE001 - raised again, by the parent, in its place
                    flags[stopped] = 1
                    return done, (index, error)
        return done, None


def _shared(shared: _Shared, heaviest: list[int], count: int) -> tuple[dict, tuple | None]:
    """The results this process and `count - 1` copies worked out, by index, and this process's
    first error (its index and the error) or None."""
    import mmap
    import pickle  # noqa: F401 - imported once, for the copies too

    flags = mmap.mmap(-1, len(shared.groups) + 1)
    copies: list[tuple[int, int]] = []
    try:
        for _ in range(count - 1):
            try:
                copies.append(_fork(shared, flags, heaviest))
            except OSError:  # no more processes or pipes: fewer copies
                break
        done, failed = shared.take(flags, range(len(shared.groups)))
        if failed is not None and all(index in done for index in range(failed[0])):
            return done, failed  # all it needs is here: the copies are stopped (below), not waited for
        while copies:
            done.update(_collect(copies))
        return done, failed
    finally:
        for pid, pipe in copies:  # not waited for, or left where this process stopped early (Ctrl-C)
            _end(pid, pipe)
        flags.close()


def _fork(shared: _Shared, flags: Any, order: list[int]) -> tuple[int, int]:
    """A copy claiming groups in `order`; its pid, and the pipe its results come through."""
    read, write, parent = *os.pipe(), os.getpid()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        raise
    if pid == 0:  # the copy: it ends without Python's clean-up (the parent's)
        code = 1
        try:
            import pickle

            from archcalc.output import READ

            os.close(read)
            write = _quiet(write, parent)
            data = pickle.dumps((shared.take(flags, order, parent)[0], READ), pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def _quiet(pipe: int, parent: int) -> int:
    """This copy's standard streams on /dev/null (it holds none of the user's pipes open; `pipe`,
    its results' way out, moved above them first, where a stream was closed and the pipe took its
    number), and on Linux killed when its parent ends (elsewhere it stops at its next item)."""
    import fcntl

    moved = fcntl.fcntl(pipe, fcntl.F_DUPFD, 3)
    os.close(pipe)
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    if null > 2:
        os.close(null)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG; where refused, the check per item
        if os.getppid() != parent:  # it ended before that
            os._exit(1)
    return moved


def _collect(copies: list[tuple[int, int]]) -> dict:
    """The last copy's results, and that copy taken off the list once reaped, the files it read
    added to this process's (`archcalc.output.READ`); none where it ended otherwise than sending
    them all (a cut pickle does not load)."""
    import pickle

    from archcalc.output import READ

    pid, pipe = copies[-1]
    chunks = []
    while chunk := os.read(pipe, 1 << 20):
        chunks.append(chunk)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped already (SIGCHLD ignored): its results tell
        status = 0
    copies.pop()
    os.close(pipe)
    try:
        results, read = pickle.loads(b"".join(chunks)) if status == 0 else ({}, set())
    except Exception:  # noqa: BLE001 - cut short, whatever the failure: taken as none
        return {}
    READ.update(read)
    return results


def _end(pid: int, pipe: int) -> None:
    """A copy this process no longer waits for, stopped and reaped."""
    import signal

    for step in (lambda: os.close(pipe), lambda: os.kill(pid, signal.SIGKILL), lambda: os.waitpid(pid, 0)):
        try:
            step()
        except OSError:  # closed, or ended, already
            pass
