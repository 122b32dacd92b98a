"""Wall-clock timing shared by the lessons that measure a cost (04, 06) and by the benchmarks."""

import statistics
import time


def median_seconds(run, repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``run()``: robust to one slow call (a
    context switch on a busy machine), which a mean is not."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)
