"""Run a lesson from a fresh kernel and time it from "kernel started" to its last cell's end.

The clock starts when the kernel has answered ``kernel_info`` (it is ready: what a learner waits
for before pressing Run All is not the lesson's fault) and stops when the lesson's last cell has
finished. Then extra cells, outside the timing, read the kernel's peak memory and, in one run,
time every widget the lesson built (see ``benchmarks/in_kernel.py``).

Before each run, the lesson's imports alone (every top-level ``import`` of its code cells, in one
cell) are timed the same way in a fresh kernel of their own: the floor of that lesson on this
machine at this moment. The budget is a ratio to it, so a slower or busier machine moves both.

The notebook is executed as an in-memory copy: the committed file is never written.
"""

from __future__ import annotations

import ast
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

from benchmarks.in_kernel import JSON_PREFIX
from tools.notebook_tools import notebook_client

ROOT = Path(__file__).resolve().parent.parent
SLOWEST_CELLS = 3


@dataclass
class NotebookRun:
    """One execution: lesson seconds after kernel start, start-up seconds, kernel peak memory."""

    seconds: float
    kernel_start_seconds: float
    peak_memory_bytes: int
    widgets: list[dict] | None = None
    # (code cell number from 1, seconds, first line) of the slowest cells: where to look first
    slowest_cells: list[tuple[int, float, str]] = field(default_factory=list)
    # the lesson's imports alone, in a fresh kernel started just before this run
    imports_seconds: float = float("nan")


@dataclass
class NotebookResult:
    """All runs of one notebook; ``error`` is set when a run failed (then no timings)."""

    name: str
    runs: list[NotebookRun] = field(default_factory=list)
    error: str | None = None

    @property
    def median_seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def median_imports_seconds(self) -> float:
        return statistics.median(run.imports_seconds for run in self.runs)

    @property
    def import_ratio(self) -> float:
        """The lesson's median time over its imports' median time: 1 is the floor."""
        return self.median_seconds / self.median_imports_seconds

    @property
    def peak_memory_bytes(self) -> int:
        # A memory budget is about the worst case, so the largest run counts, not the median.
        return max(run.peak_memory_bytes for run in self.runs)

    @property
    def widgets(self) -> list[dict]:
        return next((run.widgets for run in self.runs if run.widgets is not None), [])


def _measurement_cell(widget_changes: int) -> nbformat.NotebookNode:
    source = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import benchmarks.in_kernel\n"
        f"print(benchmarks.in_kernel.report(changes={widget_changes}))\n"
    )
    return nbformat.v4.new_code_cell(source)


def _parse_report(cell: nbformat.NotebookNode) -> dict:
    for output in cell.outputs:
        if output.output_type == "error":
            raise RuntimeError(f"measurement cell failed: {output.ename}: {output.evalue}")
        if output.output_type == "stream":
            for line in output.text.splitlines():
                if line.startswith(JSON_PREFIX):
                    return json.loads(line[len(JSON_PREFIX) :])
    raise RuntimeError("measurement cell printed no BENCHMARK-JSON line")


def import_statements(notebook: nbformat.NotebookNode) -> list[str]:
    """Every top-level ``import`` / ``from ... import`` of the code cells, in order, once each.

    Cells are read as IPython runs them (``%magics`` become Python first); imports inside
    functions or ``if`` blocks are left out, as they are not the lesson's start-up.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    transform, found = TransformerManager().transform_cell, []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(transform(cell.source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                statement = ast.unparse(node)
                if statement not in found:
                    found.append(statement)
    return found


def imports_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook of one code cell: the lesson's imports alone."""
    imports = nbformat.v4.new_notebook(metadata=notebook.metadata)
    imports.cells = [nbformat.v4.new_code_cell("\n".join(import_statements(notebook)))]
    return imports


def run_once(path: Path, widget_changes: int = 0, timeout: int = 600) -> NotebookRun:
    """Execute ``path`` once in a fresh kernel; ``widget_changes`` > 0 also times its widgets."""
    return _run(nbformat.read(path, as_version=4), path, widget_changes, timeout)


def run_imports_once(path: Path, timeout: int = 600) -> float:
    """Seconds the imports of lesson ``path`` alone take, from a fresh kernel's start."""
    return _run(imports_notebook(nbformat.read(path, as_version=4)), path, 0, timeout).seconds


def _run(
    notebook: nbformat.NotebookNode, path: Path, widget_changes: int, timeout: int
) -> NotebookRun:
    client = notebook_client(notebook, path, timeout)
    started = time.perf_counter()
    with client.setup_kernel():
        client.wait_for_reply(client.kc.kernel_info())
        ready = time.perf_counter()
        cell_seconds = []
        for index, cell in enumerate(notebook.cells):
            start = time.perf_counter()
            client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            if cell.cell_type == "code":
                first_line = next((line for line in cell.source.splitlines() if line), "")
                cell_seconds.append((time.perf_counter() - start, first_line))
        finished = time.perf_counter()
        measurement = _measurement_cell(widget_changes)
        notebook.cells.append(measurement)
        client.execute_cell(measurement, len(notebook.cells) - 1)
    report = _parse_report(measurement)
    return NotebookRun(
        seconds=finished - ready,
        kernel_start_seconds=ready - started,
        peak_memory_bytes=report["peak_memory_bytes"],
        widgets=report["widgets"],
        slowest_cells=sorted(
            ((number, seconds, line) for number, (seconds, line) in enumerate(cell_seconds, 1)),
            key=lambda cell: -cell[1],
        )[:SLOWEST_CELLS],
    )


def benchmark_notebook(
    path: Path, runs: int = 3, widget_changes: int = 30, progress=print
) -> NotebookResult:
    """``runs`` fresh-kernel executions, each after one of its imports alone; the last one also
    times the widgets."""
    result = NotebookResult(path.stem)
    for number in range(1, runs + 1):
        changes = widget_changes if number == runs else 0
        try:
            imports_seconds = run_imports_once(path)
            run = run_once(path, widget_changes=changes)
            run.imports_seconds = imports_seconds
        except (CellExecutionError, RuntimeError, TimeoutError) as error:
            result.error = f"{type(error).__name__}: {str(error).strip().splitlines()[-1]}"
            progress(f"  {path.stem} run {number}: FAILED {result.error}")
            return result
        result.runs.append(run)
        progress(
            f"  {path.stem} run {number}/{runs}: {run.seconds:.2f} s after a "
            f"{run.kernel_start_seconds:.2f} s kernel start (imports alone "
            f"{imports_seconds:.2f} s: {run.seconds / imports_seconds:.2f}x), "
            f"peak {run.peak_memory_bytes / 1e6:.0f} MB"
        )
    return result
