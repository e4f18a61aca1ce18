"""archcalc.parallel: work shared with forked copies, its results and its first error given back
as one process gives them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from archcalc import parallel
from archcalc.parallel import in_order

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="copies are made by fork")


def in_a_fresh_process(scenario) -> None:
    """Run `scenario`, a function of this module, in a fresh interpreter: copies are made only
    where no other thread runs, and a test process may hold one that another test left (tqdm's
    monitor)."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_parallel; " \
           f"test_parallel.{scenario.__name__}()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def logged(log: str, item: int) -> None:
    """`item` and the process working it out, appended to the file `log` (shared by the processes)."""
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(descriptor, f"{os.getpid()} {item}\n".encode())
    os.close(descriptor)


def log_of(log: str) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in Path(log).read_text().splitlines()]


def slow_square(item: int) -> tuple[int, int]:
    """The item squared, and the process that worked it out (a millisecond's work, so that every
    process gets some)."""
    time.sleep(0.002)
    return item * item, os.getpid()


def _results_come_back_in_order_from_every_process():
    import tempfile

    made, log = tempfile.mkstemp()
    os.close(made)

    def work(item: int) -> tuple[int, int]:
        """Each process's first item waits until all three have one: each works out some."""
        with open(log, "a") as file:
            file.write(f"{os.getpid()}\n")
        deadline = time.monotonic() + 30
        while len(set(Path(log).read_text().split())) < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        return slow_square(item)

    results = list(in_order(work, range(60), jobs=3))
    assert [value for value, _ in results] == [item * item for item in range(60)]
    assert len({pid for _, pid in results}) == 3 and os.getpid() in {pid for _, pid in results}
    os.unlink(log)


def _one_job_and_one_item_stay_in_this_process():
    assert {pid for _, pid in in_order(slow_square, range(10), jobs=1)} == {os.getpid()}
    assert [pid for _, pid in in_order(slow_square, [5], jobs=4)] == [os.getpid()]
    assert list(in_order(slow_square, [], jobs=4)) == []


def _the_first_error_in_order_is_raised_by_this_process_after_the_results_before_it():
    import tempfile

    parent = os.getpid()
    for copy_first in (True, False):  # item 17 claimed by a copy first, or by this process in its order
        made, log = tempfile.mkstemp()
        os.close(made)

        def work(item: int, copy_first: bool = copy_first, log: str = log) -> int:
            logged(log, item)
            slow = (os.getpid() == parent and item < 17) if copy_first else os.getpid() != parent
            time.sleep(0.03 if slow else 0.002)
            if item in (17, 40):
                raise ValueError(item, os.getpid())
            return item

        weight = (lambda item: 100 if item == 17 else -item) if copy_first else (lambda item: item)
        results = in_order(work, range(60), jobs=3, weight=weight)
        taken = [next(results) for _ in range(17)]
        with pytest.raises(ValueError) as raised:
            next(results)
        assert raised.value.args == (17, parent) and taken == list(range(17))
        workers = [pid for pid, item in log_of(log) if item == 17]
        if copy_first:  # the copy's failure, worked out again here to be raised here
            assert len(workers) == 2 and workers[0] != parent and workers[1] == parent
        else:
            assert workers == [parent]
        os.unlink(log)


def _a_copy_that_dies_leaves_its_items_to_this_process():
    parent = os.getpid()

    def work(item: int) -> tuple[int, int]:
        if os.getpid() != parent and item > 20:
            os._exit(3)  # a copy killed part of the way
        return slow_square(item)

    results = list(in_order(work, range(60), jobs=3))
    assert [value for value, _ in results] == [item * item for item in range(60)]
    assert {pid for item, (_, pid) in enumerate(results) if item > 20} == {parent}


def _results_that_cannot_be_sent_are_worked_out_here():
    results = list(in_order(lambda item: (lambda: item, os.getpid()), range(20), jobs=3))
    assert [value() for value, _ in results] == list(range(20))
    assert {pid for _, pid in results} == {os.getpid()}


def _no_copy_while_another_thread_runs():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert {pid for _, pid in in_order(slow_square, range(10), jobs=3)} == {os.getpid()}
    finally:
        stop.set()
        other.join()


def _no_copy_is_left_running_after_an_interrupt():
    parent, taken, copies, fork = os.getpid(), [], [], os.fork

    def recorded_fork() -> int:
        pid = fork()
        copies.append(pid)
        return pid

    os.fork = recorded_fork  # a fresh process of its own

    def work(item: int) -> int:
        time.sleep(0.005)
        if os.getpid() == parent:
            taken.append(item)
            if len(taken) == 3:  # Ctrl-C, on this process's third item
                raise KeyboardInterrupt
        return item

    with pytest.raises(KeyboardInterrupt):
        list(in_order(work, range(60), jobs=3))
    assert len(copies) == 2
    for pid in copies:
        with pytest.raises(ChildProcessError):  # stopped and reaped
            os.waitpid(pid, os.WNOHANG)


def _the_copies_take_the_heaviest_items_first_and_this_process_the_first_ones():
    import tempfile

    parent, made, log = os.getpid(), *tempfile.mkstemp()
    os.close(made)

    def work(item: int) -> int:
        logged(log, item)
        time.sleep(0.02 if os.getpid() == parent else 0.002)
        return item

    assert list(in_order(work, range(40), jobs=2, weight=lambda item: item)) == list(range(40))
    ours = [item for pid, item in log_of(log) if pid == parent]
    theirs = [item for pid, item in log_of(log) if pid != parent]
    assert ours == sorted(ours) and ours[0] == 0
    assert theirs == sorted(theirs, reverse=True) and theirs[0] == 39
    assert sorted(ours + theirs) == list(range(40))  # each item once
    os.unlink(log)


def _closed_standard_streams_leave_the_copies_their_pipes():
    os.close(0)
    os.close(1)  # a pipe now takes numbers 0 and 1, which a copy points at /dev/null
    _results_come_back_in_order_from_every_process()


def _items_kept_together_go_to_one_process():
    results = list(in_order(slow_square, range(30), jobs=3, together=lambda item: item // 10))
    assert [value for value, _ in results] == [item * item for item in range(30)]
    assert all(len({pid for _, pid in results[start:start + 10]}) == 1 for start in (0, 10, 20))


def _a_failure_stops_every_process_after_the_item_it_is_on():
    import tempfile

    made, log = tempfile.mkstemp()
    os.close(made)

    def work(item: int) -> int:
        descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(descriptor, b"x")
        os.close(descriptor)
        time.sleep(0.02)
        if item == 3:
            raise ValueError(item)
        return item

    with pytest.raises(ValueError):
        list(in_order(work, range(40), jobs=3))
    assert os.path.getsize(log) < 20  # items 0 to 3, those the others were on, those redone: not all 40
    os.unlink(log)


def _groups_are_runs_of_neighbours_with_one_key():
    assert [len(group) for group in parallel._groups(range(5), None)] == [1] * 5
    assert [len(group) for group in parallel._groups("aabaa", lambda item: item)] == [2, 1, 2]
    assert list(in_order(int, [str(item) for item in range(5_000)], jobs=2)) == list(range(5_000))


def _the_files_a_copy_read_are_this_processs_too():
    """A fuzzer's: `check a.yaml b.yaml -o inc.yaml`, where b.yaml includes inc.yaml and a copy
    checked b.yaml, replaced inc.yaml (this process had not read it). The copy takes item 1 (the
    heaviest) while this process is on item 0; what it read comes back with its results."""
    import tempfile

    from archcalc import output

    parent, included = os.getpid(), Path(tempfile.mkdtemp()) / "included.yaml"
    included.write_text("name: x\n")
    output.READ.clear()

    def work(item: int) -> int:
        if item == 0:
            time.sleep(0.5)
        else:
            output.was_read(included)
        return os.getpid()

    pids = list(in_order(work, [0, 1], jobs=2, weight=lambda item: item))
    assert pids[0] == parent and pids[1] != parent  # item 1 was the copy's
    assert output.READ == {included.resolve()}


@pytest.mark.parametrize("scenario", [
    _results_come_back_in_order_from_every_process, _one_job_and_one_item_stay_in_this_process,
    _the_first_error_in_order_is_raised_by_this_process_after_the_results_before_it,
    _a_copy_that_dies_leaves_its_items_to_this_process, _results_that_cannot_be_sent_are_worked_out_here,
    _no_copy_while_another_thread_runs, _no_copy_is_left_running_after_an_interrupt,
    _the_copies_take_the_heaviest_items_first_and_this_process_the_first_ones, _items_kept_together_go_to_one_process,
    _a_failure_stops_every_process_after_the_item_it_is_on, _closed_standard_streams_leave_the_copies_their_pipes,
    _groups_are_runs_of_neighbours_with_one_key, _the_files_a_copy_read_are_this_processs_too,
], ids=lambda scenario: scenario.__name__.strip("_"))
def test_in_a_fresh_process(scenario):
    in_a_fresh_process(scenario)
