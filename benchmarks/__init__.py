"""Measured speed and memory of every lesson, checked against the budgets the lessons promise.

Run ``python -m benchmarks.run`` (or ``python benchmarks/run.py``): it measures the floor
(``import tensorflow``), each lesson from a fresh kernel, each widget's answer to a control
change and the cost of one gradient, prints a table, writes ``benchmarks/RESULTS.md`` and exits
non-zero naming whatever is over budget. Timings are noisy on shared machines, so the benchmark
is not part of the test command; ``tests/test_benchmarks_smoke.py`` runs ``--smoke`` so that the
script cannot rot.
"""
