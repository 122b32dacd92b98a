"""Wall-clock timing shared by the lessons that measure a cost (04, 06) and by the benchmarks."""

from helpers.validation import require_int_in_range

import statistics
import time


def median_seconds(run, repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``run()``: robust to one slow call (a
    context switch on a busy machine), which a mean is not."""
    if not callable(run):
        raise ValueError(f"run must be a function to call, got {run!r:.80}")
    repeats = require_int_in_range("repeats", repeats, 1)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)
