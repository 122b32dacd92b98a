"""Measure every lesson against its budgets; print the table and write ``benchmarks/RESULTS.md``.

Usage (from the repository's root)::

    python -m benchmarks.run            # the full run: a few minutes on 2 cores
    python -m benchmarks.run --notebooks notebooks/01_custom_layers.ipynb   # one lesson
    python -m benchmarks.run --smoke    # a short run of every part: the script still works

The full run measures, on the machine it runs on:

1. the floor: ``import tensorflow`` in a fresh process (time, peak memory), 3 runs;
2. each lesson ``notebooks/NN_*.ipynb``: executed with nbclient from a fresh kernel, wall time
   from kernel started to the last cell's end (median of 3 runs) and the kernel's peak memory,
   each run just after its imports alone in another fresh kernel (the budget is the ratio);
3. each widget the lessons build: its answer to one control change (median of 30 changes), and
   to a press of each of its buttons (median of 3 presses);
4. the cost of one gradient for n = 10 ... 1e6 parameters (``helpers.lesson04_gradient_cost``).

It exits with status 1 and names what is over budget (or could not be measured), 0 otherwise.
``--smoke`` runs one floor, a tiny built-in notebook with one widget, and n = 10, and writes
nothing unless ``--output`` is given.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

if __package__ in (None, ""):  # run as a file (python benchmarks/run.py): find the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nbformat

from benchmarks import report
from benchmarks.fresh_process import JSON_PREFIX
from benchmarks.notebook_timing import ROOT, benchmark_notebook

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
GRADIENT_SIZES = [10**k for k in range(1, 7)]  # 10, 100, ..., 1e6 parameters
# measure_gradient_cost's own defaults, written out so RESULTS.md can say what was done.
GRADIENT_REPEATS = 5
GRADIENT_COORDINATES = 200


def lesson_notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def widget_builders() -> list[str]:
    """The ``make_..._widget`` functions the ``helpers/widgets/`` modules define (read, not
    imported)."""
    names = []
    for module in sorted((ROOT / "helpers" / "widgets").glob("*.py")):
        tree = ast.parse(module.read_text())
        names += [
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef)
            and node.name.startswith("make_")
            and node.name.endswith("_widget")
        ]
    return names


# --- the floor and the gradient: a fresh process ---------------------------------------------


def run_fresh_process(gradient_sizes: list[int] | None = None) -> dict:
    """Run ``benchmarks.fresh_process`` in a new interpreter and return what it measured."""
    command = [sys.executable, "-m", "benchmarks.fresh_process"]
    if gradient_sizes:
        command += ["--gradient-sizes", ",".join(str(n) for n in gradient_sizes)]
        command += ["--gradient-repeats", str(GRADIENT_REPEATS)]
        command += ["--max-coordinates", str(GRADIENT_COORDINATES)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith(JSON_PREFIX):
            return json.loads(line[len(JSON_PREFIX) :])
    status = completed.returncode
    raise RuntimeError(
        f"benchmarks.fresh_process failed (exit {status}):\n{completed.stderr[-2000:]}"
    )


# --- the smoke notebook -----------------------------------------------------------------------

SMOKE_WIDGET_SOURCE = '''\
import ipywidgets as widgets
import numpy as np

from helpers.widgets import FigurePanel, LessonWidget
from helpers.widgets.base import lesson_widget_builder


@lesson_widget_builder
def make_smoke_widget():
    """A slider that redraws a curve through FigurePanel: the path every lesson widget takes."""
    x = np.linspace(0.0, 2.0 * np.pi, 200)
    panel = FigurePanel(width=4.0, height=2.5)
    (curve,) = panel.axes.plot(x, np.sin(x), animated=True)
    panel.axes.set(xlabel="x", ylabel="sin(k x)", ylim=(-1.1, 1.1))
    frequency = widgets.FloatSlider(value=1.0, min=0.5, max=4.0, step=0.5, description="k")
    reset = widgets.Button(description="k = 1")
    reset.on_click(lambda button: setattr(frequency, "value", 1.0))
    readout = widgets.HTML()

    def on_change(change):
        curve.set_ydata(np.sin(frequency.value * x))
        readout.value = f"k = {frequency.value:g}"
        panel.redraw()

    frequency.observe(on_change, "value")
    on_change(None)
    box = widgets.VBox([frequency, reset, panel.image, readout])
    controls = {"frequency": frequency, "reset": reset}
    return LessonWidget(box, controls, {"plot": panel.image, "text": readout})


smoke_widget = make_smoke_widget()
smoke_widget
'''


def write_smoke_notebook(directory: Path) -> Path:
    """A tiny lesson-shaped notebook (no TensorFlow) with one widget: enough to exercise it all."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Smoke test of the benchmark"),
        nbformat.v4.new_code_cell("import helpers"),
        nbformat.v4.new_code_cell(SMOKE_WIDGET_SOURCE),
    ]
    path = directory / "00_smoke.ipynb"
    nbformat.write(notebook, path)
    return path


# --- the whole run ----------------------------------------------------------------------------


def versions(tensorflow_version: str) -> dict:
    found = {"Python": platform.python_version(), "TensorFlow": tensorflow_version}
    for name in ("keras", "numpy", "matplotlib", "ipywidgets", "ipykernel", "nbclient"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    return "/".join(f"{load:.2f}" for load in os.getloadavg())


def measure(args: argparse.Namespace) -> report.Results:
    machine = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_before": load_average(),
    }
    print(f"{machine['cpu_count']} CPUs, load {machine['load_before']}", flush=True)

    # The last floor process goes on to measure the gradient cost once its import is recorded:
    # a fresh process either way, and one TensorFlow import fewer.
    floor, gradient, gradient_error = [], None, None
    for number in range(1, args.floor_runs + 1):
        last = number == args.floor_runs
        sizes = args.gradient_sizes if last else None
        if sizes:
            print(f"floor {number}/{args.floor_runs}, then gradient cost for n = {sizes} ...")
        try:
            child = run_fresh_process(sizes)
        except RuntimeError as error:  # the gradient part crashed the child: keep the floor
            if not sizes:
                raise
            gradient_error, sizes = str(error).strip().splitlines()[-1], None
            child = run_fresh_process()
        floor.append({key: child[key] for key in ("import_seconds", "peak_memory_bytes", "tf")})
        if sizes:
            gradient, gradient_error = child.get("gradient"), child.get("gradient_error")
        print(
            f"floor {number}/{args.floor_runs}: import tensorflow "
            f"{child['import_seconds']:.2f} s, {child['peak_memory_bytes'] / 1e6:.0f} MB",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as scratch:
        paths = args.notebooks or (
            [write_smoke_notebook(Path(scratch))] if args.smoke else lesson_notebooks()
        )
        notebooks = []
        for path in paths:
            print(f"{path.name}:", flush=True)
            notebooks.append(
                benchmark_notebook(Path(path), runs=args.runs, widget_changes=args.widget_changes)
            )

    unmeasured = []
    if not args.smoke and not args.notebooks:  # only a run over every lesson can tell
        measured = {row["builder"] for nb in notebooks for row in nb.widgets}
        unmeasured = [name for name in widget_builders() if name not in measured]

    machine["load_after"] = load_average()
    settings = (
        f"{args.floor_runs} floor run(s), {args.runs} run(s) per lesson, "
        f"{args.widget_changes} changes per widget control, gradient cost with "
        f"{GRADIENT_REPEATS} repeats and at most {GRADIENT_COORDINATES} coordinates timed"
    )
    return report.Results(
        machine=machine,
        versions=versions(floor[0]["tf"] if floor else "not measured"),
        floor=floor,
        notebooks=notebooks,
        gradient=gradient,
        gradient_error=gradient_error,
        unmeasured_builders=unmeasured,
        settings=settings,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run of every part")
    parser.add_argument("--notebooks", nargs="*", type=Path, help="default: every lesson")
    parser.add_argument("--runs", type=int, help="runs per notebook (default 3; smoke 1)")
    parser.add_argument("--floor-runs", type=int, help="default 3; smoke 1")
    parser.add_argument("--widget-changes", type=int, default=30, help="changes per control")
    parser.add_argument(
        "--gradient-sizes",
        type=lambda text: [int(float(n)) for n in text.split(",") if n],
        help="comma-separated n, e.g. 10,1e3 (default 10 ... 1e6; smoke 10)",
    )
    parser.add_argument("--output", type=Path, help=f"default {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    for name, value in (("--runs", args.runs), ("--floor-runs", args.floor_runs)):
        if value is not None and value < 1:
            parser.error(f"{name} must be at least 1, got {value}")
    if args.widget_changes < 1:
        parser.error(f"--widget-changes must be at least 1, got {args.widget_changes}")
    smoke = args.smoke
    args.runs = args.runs or (1 if smoke else 3)
    args.floor_runs = args.floor_runs or (1 if smoke else 3)
    if args.gradient_sizes is None:
        args.gradient_sizes = [10] if smoke else GRADIENT_SIZES
    if args.output is None and not smoke:
        args.output = RESULTS
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = measure(args)
    command = "python -m benchmarks.run" + "".join(
        f" {arg}" for arg in (sys.argv[1:] if argv is None else argv)
    )
    text = report.render(results, command)
    print("\n" + text)
    if args.output:
        args.output.write_text(text)
        print(f"written to {args.output}")
    found = report.problems(results)
    for line in found:
        print(f"OVER BUDGET: {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
