"""The benchmark script keeps working: its parts in process, then one ``--smoke`` run end to end.

Nothing here checks a timing (timings are noisy on shared machines and the benchmark is not part
of the test command); these tests check that every part still runs and reports what it should,
so that ``python -m benchmarks.run`` does not rot between two real runs.
"""

from helpers.widgets import LessonWidget

import subprocess
import sys

import ipywidgets as widgets
import pytest

from benchmarks import in_kernel, report
from benchmarks.notebook_timing import NotebookResult, NotebookRun
from tests.notebook_tools import ROOT

# --- which values a control is moved to ------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "expected"),
    [
        (widgets.IntSlider(value=3, min=0, max=4), ("value", [0, 1, 2, 3, 4])),
        (widgets.FloatSlider(min=0.0, max=1.0, step=0.5), ("value", [0.0, 0.5, 1.0])),
        (widgets.FloatLogSlider(min=-2, max=0, step=1), ("value", [0.01, 0.1, 1.0])),
        (widgets.Dropdown(options=["a", "b", "c"]), ("index", [0, 1, 2])),
        (widgets.Checkbox(value=True), ("value", [False, True])),
        (widgets.IntRangeSlider(value=(0, 1), min=0, max=2), ("value", [(0, 1), (0, 2)])),
    ],
    ids=["IntSlider", "FloatSlider", "FloatLogSlider", "Dropdown", "Checkbox", "IntRangeSlider"],
)
def test_sweep_values_are_the_allowed_ones(control, expected):
    attribute, values = in_kernel.sweep_values(control)
    assert attribute == expected[0]
    assert values == expected[1]


def test_a_long_slider_is_swept_across_its_whole_range_in_a_few_values():
    attribute, values = in_kernel.sweep_values(widgets.IntSlider(min=0, max=1000))
    assert len(values) == in_kernel.MAX_SWEEP_VALUES
    assert (values[0], values[-1]) == (0, 1000)


def test_buttons_and_free_text_are_not_timed_and_say_why():
    assert "button" in in_kernel.sweep_values(widgets.Button())
    assert "not timed" in in_kernel.sweep_values(widgets.Text())


def test_sweep_path_changes_the_value_every_time():
    path = in_kernel.sweep_path([0, 1, 2], current=0, changes=30)
    assert len(path) == 30
    assert path[0] != 0
    assert all(a != b for a, b in zip(path, path[1:], strict=False))
    assert in_kernel.sweep_path([5], current=5, changes=30) == []


# --- timing a control in process -------------------------------------------------------------


def make_counting_widget(fail_at=None):
    """A widget whose observer counts its calls (and raises at one value if asked)."""
    slider = widgets.IntSlider(value=2, min=0, max=9)
    calls = []

    def on_change(change):
        calls.append(change["new"])
        if change["new"] == fail_at:
            raise ValueError("impossible value")

    slider.observe(on_change, "value")
    return LessonWidget(slider, {"slider": slider}, {}, builder="make_counting_widget"), calls


def test_time_control_runs_the_observer_once_per_change_and_restores_the_value():
    lesson_widget, calls = make_counting_widget()
    row = in_kernel.time_control(lesson_widget.controls["slider"], changes=30)
    assert row["timed"] and row["changes"] == 30 and row["error_count"] == 0
    assert len(calls) == 31  # 30 timed changes, then back to the lesson's value
    assert lesson_widget.controls["slider"].value == 2
    assert 0 <= row["median_ms"] <= row["max_ms"]


def test_a_callback_that_raises_is_counted_not_propagated():
    lesson_widget, _ = make_counting_widget(fail_at=9)
    row = in_kernel.time_control(lesson_widget.controls["slider"], changes=30)
    assert row["error_count"] >= 1 and "ValueError: impossible value" in row["errors"][0]


def test_widgets_are_found_named_and_traced_to_their_builder():
    lesson_widget, _ = make_counting_widget()
    rows = in_kernel.measure_widgets({"noise_widget": lesson_widget}, changes=2)
    mine = [row for row in rows if row["widget"] == "noise_widget"]
    assert [(row["builder"], row["control"]) for row in mine] == [
        ("make_counting_widget", "slider")
    ]


# --- budgets ---------------------------------------------------------------------------------


def fake_results(seconds=5.0, peak=5e8, widget_ms=10.0, tape_ratio=3.0):
    widget_row = {
        "widget": "w",
        "builder": "make_w_widget",
        "control": "eps",
        "type": "FloatSlider",
        "timed": True,
        "changes": 30,
        "distinct_values": 16,
        "median_ms": widget_ms,
        "max_ms": widget_ms * 2,
        "errors": [],
        "error_count": 0,
    }
    lesson = NotebookResult("01_x", [NotebookRun(seconds, 1.0, int(peak), [widget_row])])
    gradient = {
        "n_params": 1e6,
        "sampled_coordinates": 200.0,
        "forward_seconds": 0.01,
        "tape_ratio": tape_ratio,
        "forward_difference_ratio": 1e6,
        "central_difference_ratio": 2e6,
    }
    machine = {"date": "today", "cpu_count": 2, "cpu_model": "x", "load_before": "0"}
    return report.Results(
        machine={**machine, "load_after": "0"},
        versions={"Python": "3"},
        floor=[{"import_seconds": 2.5, "peak_memory_bytes": 6.5e8, "tf": "2"}],
        notebooks=[lesson],
        gradient=[gradient],
    )


def test_every_budget_met_means_no_problem_and_a_complete_table():
    results = fake_results()
    assert report.problems(results) == []
    text = report.render(results, "python -m benchmarks.run")
    assert "**Every budget is met.**" in text
    assert "1,000,000" in text and "200 of 1,000,000, scaled" in text


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"seconds": 16.0}, "01_x: 16.0 s median"),
        ({"peak": 1.2e9}, "01_x: kernel peak 1.20 GB"),
        ({"widget_ms": 80.0}, "control 'eps': 80 ms median"),
        ({"tape_ratio": 7.0}, "n=1,000,000: tape = 7.0 forward passes"),
    ],
)
def test_what_is_over_budget_is_named(over, named):
    found = report.problems(fake_results(**over))
    assert len(found) == 1 and named in found[0], found


# --- the script, end to end ------------------------------------------------------------------


def test_smoke_run_of_the_script(tmp_path):
    output = tmp_path / "RESULTS.md"
    completed = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # 1 is a budget verdict (a loaded machine may be slow); anything else is the script broken.
    assert completed.returncode in (0, 1), completed.stdout[-3000:] + completed.stderr[-3000:]
    text = output.read_text()
    for heading in ("## The floor", "## Lessons", "## Widgets", "## The cost of one gradient"):
        assert heading in text
    assert "smoke_widget (make_smoke_widget)" in text and "30 over" in text
    assert "(`import ipywidgets as widgets`)" in text  # the slowest cell is named
    assert "| 10 |" in text, (
        "the gradient cost at n = 10 is missing: is helpers.lesson04_autodiff there?"
    )
