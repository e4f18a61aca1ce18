"""Timing two or more routes of one computation in one process, interleaved: each run times every
route once, in turn, so that a shared machine's load falls on all of them alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_cpu_seconds(routes: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Each route's median CPU seconds over `runs` interleaved runs."""
    seconds: dict[str, list[float]] = {name: [] for name in routes}
    for _ in range(runs):
        for name, route in routes.items():
            start = time.process_time()
            route()
            seconds[name].append(time.process_time() - start)
    return {name: statistics.median(times) for name, times in seconds.items()}
