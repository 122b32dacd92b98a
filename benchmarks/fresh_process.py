"""The floor and the gradient cost, each measured in a fresh Python process.

``import tensorflow`` is the floor under every lesson: no lesson can start faster or use less
memory than that. It is only meaningful in a process that has imported nothing yet, so the
driver starts this module as a child (``python -m benchmarks.fresh_process``) once per repeat.

With ``--gradient-sizes`` the same child then measures the cost of one gradient with
``helpers.lesson04_gradient_cost.measure_gradient_cost`` (the lesson's own code, not a second
implementation), after the floor was recorded, so the floor's numbers are not disturbed.

Prints one ``BENCHMARK-JSON:`` line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

JSON_PREFIX = "BENCHMARK-JSON:"


def _peak_memory_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def measure_import() -> dict:
    """Time ``import tensorflow`` and read the peak memory right after it."""
    # The lessons import it with TensorFlow's start-up logs quieted (``import helpers`` does
    # this first); measure the same import.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    start = time.perf_counter()
    import tensorflow as tf

    seconds = time.perf_counter() - start
    return {
        "import_seconds": seconds,
        "peak_memory_bytes": _peak_memory_bytes(),
        "tf": tf.__version__,
    }


def measure_gradients(sizes: list[int], max_coordinates: int, repeats: int) -> list[dict]:
    """One row per size: the fields of ``GradientCost`` and its three ratios."""
    from helpers.lesson04_gradient_cost import measure_gradient_cost

    rows = []
    for n_params in sizes:
        cost = measure_gradient_cost(
            n_params, max_coordinates=max_coordinates, repeats=repeats, seed=0
        )
        row = {
            name: getattr(cost, name)
            for name in (
                "n_params",
                "forward_seconds",
                "tape_seconds",
                "forward_difference_seconds",
                "central_difference_seconds",
                "forward_difference_calls",
                "central_difference_calls",
                "sampled_coordinates",
                "tape_ratio",
                "forward_difference_ratio",
                "central_difference_ratio",
            )
        }
        rows.append({key: float(value) for key, value in row.items()})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradient-sizes", default="", help="comma-separated parameter counts")
    parser.add_argument("--max-coordinates", type=int, default=200)
    parser.add_argument("--gradient-repeats", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure_import()
    if args.gradient_sizes:
        sizes = [int(float(size)) for size in args.gradient_sizes.split(",")]
        try:
            result["gradient"] = measure_gradients(
                sizes, args.max_coordinates, args.gradient_repeats
            )
        except Exception as error:  # the lesson's helper is missing or broken: say so, go on
            result["gradient_error"] = f"{type(error).__name__}: {error}"
    print(JSON_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
