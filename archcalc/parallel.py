"""Work shared with forked copies of this process, its results given back in order as if one
process had done it all: the same values, and the same first error.

Each process takes the next group of items from a queue (a pipe of group numbers, written before
the first fork), so a long group does not hold the others up. A copy works out its items and
sends them (pickled, once, at its end). A process whose item fails sets a byte they all see, and
every process stops after the item it is on; whatever a copy did not send, the parent works out
itself, in order, so an error is raised by the parent, at the item where one process would have
raised it, with the traceback and messages it would have had. A copy reads and writes nothing of
the user's (its standard streams are /dev/null) and ends with its parent."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

MAX_JOBS = 8
"""Processes at most by default (a container may see more cores than it may use)."""

MAX_GROUPS = 2_048
"""Group numbers are 2 bytes each, all in the queue's pipe before the first fork (4 KiB: one page,
what a pipe holds at the least); beyond this many groups, neighbours are handed out together."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def in_order(work: Callable[[Any], Any], items: Sequence, jobs: int = 0,
             weight: Callable[[Any], float] | None = None, together: Callable[[Any], Any] | None = None) -> Iterator[Any]:
    """`work(item)` for each of `items`, in their order; the first item whose work fails raises
    its error where its result would come. Up to `jobs` processes (0: one per core, at most
    MAX_JOBS) share them; one where one is asked for, there is one item or one core, no fork,
    or a thread besides this one (a lock it holds would stay held in the copy). Neighbours with
    the same `together(item)` go to one process (what they share is worked out once there); with
    `weight` (a guess at an item's work), the heaviest groups are handed out first, so that the
    last ones to end are short."""
    groups = _groups(len(items), together and [together(item) for item in items])
    count = min(jobs or min(cores(), MAX_JOBS), len(groups))
    if count < 2 or not _may_fork():
        yield from map(work, items)
        return
    if weight is not None:
        weights = [weight(item) for item in items]
        groups.sort(key=lambda group: -sum(weights[index] for index in group))
    try:
        done, failed = _shared(work, items, groups, count)
    except OSError:  # no pipe, or a copy's results unreadable: the parent works out what it lacks
        done, failed = {}, None
    for index, item in enumerate(items):
        if index in done:
            yield done[index]
        elif failed is not None and failed[0] == index:
            raise failed[1]
        else:  # a copy failed here (or stopped before it): the error, raised as one process raises it
            yield work(item)


def _groups(count: int, keys: list | None = None) -> list[range]:
    """The indices of `count` items, in runs of neighbours with the same key (one each without
    keys), neighbouring runs together beyond MAX_GROUPS."""
    starts = [index for index in range(count) if keys is None or index == 0 or keys[index] != keys[index - 1]]
    runs = [range(start, end) for start, end in zip(starts, [*starts[1:], count])]
    step = max(1, -(-len(runs) // MAX_GROUPS))
    return [range(runs[at].start, runs[min(at + step, len(runs)) - 1].stop) for at in range(0, len(runs), step)]


def _may_fork() -> bool:
    threading = sys.modules.get("threading")
    return hasattr(os, "fork") and (threading is None or threading.active_count() == 1)


def _shared(work: Callable, items: Sequence, groups: list[range], count: int) -> tuple[dict, tuple | None]:
    """The results the parent and `count - 1` copies worked out, by index, and the parent's first
    error (its index and the error) or None."""
    import mmap

    queue, feed = os.pipe()
    numbers = memoryview(b"".join(number.to_bytes(2, "little") for number in range(len(groups))))
    while numbers:
        numbers = numbers[os.write(feed, numbers):]
    os.close(feed)
    shared = _Shared(work, items, groups, queue, mmap.mmap(-1, 1))
    copies: list[tuple[int, int]] = []
    try:
        for _ in range(count - 1):
            try:
                copies.append(_fork(shared))
            except OSError:  # no more processes or pipes: fewer copies
                break
        done, failed = shared.take()
        while copies:
            done.update(_collect(copies))
        return done, failed
    finally:
        os.close(queue)
        for pid, pipe in copies:  # left where the parent stopped early (Ctrl-C)
            _end(pid, pipe)
        shared.stopped.close()


class _Shared(NamedTuple):
    """What every process works from: the items, their groups, the queue of group numbers, and a
    byte of memory they all see, set when an item fails (each stops after the item it is on)."""

    work: Callable
    items: Sequence
    groups: list[range]
    queue: int
    stopped: Any

    def take(self, parent: int | None = None) -> tuple[dict, tuple | None]:
        """Groups taken from the queue and worked out until it is empty or the work is stopped:
        the results by index, and this process's failure (its index and error) or None. A copy
        (`parent`: its parent's pid) also stops where its parent has ended."""
        done, stopped = {}, self.stopped
        while not stopped[0] and len(number := os.read(self.queue, 2)) == 2:
            for index in self.groups[int.from_bytes(number, "little")]:
                if stopped[0] or parent is not None and os.getppid() != parent:
                    return done, None
                try:
                    done[index] = self.work(self.items[index])
                except Exception as error:  # noqa: BLE001 - raised again, by the parent, in its place
                    stopped[0] = 1
                    return done, (index, error)
        return done, None


def _fork(shared: _Shared) -> tuple[int, int]:
    """A copy taking groups from the queue; its pid, and the pipe its results come through."""
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

            os.close(read)
            _quiet(parent)
            data = pickle.dumps(shared.take(parent)[0], pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def _quiet(parent: int) -> None:
    """This copy's standard streams on /dev/null (it holds none of the user's pipes open), and on
    Linux killed when its parent ends (elsewhere it stops at its next item)."""
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    os.close(null)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # it ended before that
            os._exit(1)


def _collect(copies: list[tuple[int, int]]) -> dict:
    """The last copy's results, and that copy taken off the list; none where it ended otherwise
    than sending them all (a cut pickle does not load)."""
    pid, pipe = copies[-1]
    chunks = []
    while chunk := os.read(pipe, 1 << 20):
        chunks.append(chunk)
    copies.pop()
    os.close(pipe)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped already (SIGCHLD ignored): its results tell
        status = 0
    import pickle

    try:
        return pickle.loads(b"".join(chunks)) if status == 0 else {}
    except Exception:  # noqa: BLE001 - cut short, whatever the failure: taken as none
        return {}


def _end(pid: int, pipe: int) -> None:
    """A copy the parent no longer waits for, stopped and reaped."""
    import signal

    for step in (lambda: os.close(pipe), lambda: os.kill(pid, signal.SIGKILL), lambda: os.waitpid(pid, 0)):
        try:
            step()
        except OSError:  # closed, or ended, already
            pass
