"""What the benchmark runs *inside* a lesson's kernel, after the lesson's last cell.

Two measurements are only exact from inside the kernel process:

- its peak memory (``ru_maxrss`` is the high-water mark the kernel itself keeps; sampling from
  outside can miss a short peak);
- a widget's answer to a control change: setting a control's ``value`` from Python runs its
  observers synchronously, so timing the assignment times the whole callback chain (compute,
  redraw, PNG encoding, the comm message to the front end), with the lesson's real data and
  model, as the lesson built the widget. A button is pressed (``click()`` runs its handlers
  synchronously too) a few times instead: it launches work, with budgets of its own.

The results are printed as one ``BENCHMARK-JSON:`` line that the driver parses. This module
imports only the standard library at import time, so importing it costs the kernel nothing.
"""

from __future__ import annotations

import gc
import json
import math
import resource
import statistics
import sys
import time

JSON_PREFIX = "BENCHMARK-JSON:"
# How many distinct allowed values a sweep visits at most: a learner dragging a slider across
# its range and back, not every value of a 1000-step slider.
MAX_SWEEP_VALUES = 16
# How many times each button is pressed: the median is a press after the first (which may trace
# or build what later presses reuse), as a learner's second press.
BUTTON_PRESSES = 3


def peak_memory_bytes() -> int:
    """The high-water mark of this process' resident memory (Linux: KiB; macOS: bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def json_line(payload: dict) -> str:
    return JSON_PREFIX + json.dumps(payload)


# --- which values a control may take --------------------------------------------------------


def _spread(count: int, limit: int = MAX_SWEEP_VALUES) -> list[int]:
    """Up to ``limit`` step indices spread evenly over ``0 .. count - 1``, ends included."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def _stepped_values(low: float, high: float, step: float, integer: bool) -> list:
    steps = int(math.floor((high - low) / step + 1e-9)) if step > 0 else 0
    values = [low + k * step for k in _spread(steps + 1)]
    return [int(v) for v in values] if integer else [round(v, 12) for v in values]


def sweep_values(control) -> tuple[str, list] | str:
    """The attribute to set and the allowed values to sweep, or why the control is not timed.

    Only values the control allows are used (a slider's range and step, a dropdown's options),
    so every change is one a learner could make. Buttons are not slider moves: they launch work
    (training, a sweep) whose cost is the lesson's, not a widget's answer, so they are skipped.
    """
    import ipywidgets as widgets

    if isinstance(control, widgets.Button):
        return "button: launches work, pressed rather than swept"
    if hasattr(control, "options") and hasattr(control, "index"):
        if isinstance(control.index, tuple):
            return "multiple selection (not timed)"
        return ("index", list(range(len(control.options))))
    value = getattr(control, "value", None)
    if isinstance(value, bool):
        return ("value", [False, True])
    if isinstance(control, widgets.FloatLogSlider):
        exponents = _stepped_values(control.min, control.max, control.step, integer=False)
        return ("value", [control.base**e for e in exponents])
    if all(hasattr(control, name) for name in ("min", "max", "step")):
        integer = isinstance(value, int) or (
            isinstance(value, tuple) and all(isinstance(v, int) for v in value)
        )
        values = _stepped_values(control.min, control.max, control.step, integer)
        if isinstance(value, tuple):  # a range slider: move its upper end, keep the lower
            return ("value", [(values[0], v) for v in values[1:]])
        return ("value", values)
    return f"{type(control).__name__} has no allowed range to sweep (not timed)"


def sweep_path(values: list, current, changes: int) -> list:
    """``changes`` values walking the allowed ones up and back down, each differing from the last.

    Setting a trait to its current value notifies no observer, so consecutive values differ and
    the walk starts away from the current one.
    """
    if len({repr(v) for v in values}) < 2:
        return []
    forth_and_back = values + values[-2:0:-1]
    start = next((i for i, v in enumerate(forth_and_back) if v != current), 0)
    path, previous, position = [], current, start
    while len(path) < changes:
        value = forth_and_back[position % len(forth_and_back)]
        if value != previous:
            path.append(value)
            previous = value
        position += 1
    return path


# --- timing -----------------------------------------------------------------------------------


def _timing_row(seconds: list[float], errors: list[str], **details) -> dict:
    return {
        "timed": True,
        **details,
        "median_ms": statistics.median(seconds) * 1e3,
        "max_ms": max(seconds) * 1e3,
        "errors": errors[:3],
        "error_count": len(errors),
    }


def time_presses(button, presses: int = BUTTON_PRESSES) -> dict:
    """Press ``button`` ``presses`` times; return median and max in ms, and any errors."""
    seconds, errors = [], []
    for _ in range(presses):
        start = time.perf_counter()
        try:
            button.click()
        except Exception as error:  # a handler that raises is a finding, not a crash
            errors.append(f"{type(error).__name__}: {error}")
        seconds.append(time.perf_counter() - start)
    return _timing_row(seconds, errors, kind="press", changes=presses, distinct_values=1)


def time_control(control, changes: int = 30) -> dict:
    """Time ``changes`` changes of one control (or a few presses of a button); return median
    and max in ms, and any errors."""
    import ipywidgets as widgets

    if isinstance(control, widgets.Button):
        return time_presses(control)
    plan = sweep_values(control)
    if isinstance(plan, str):
        return {"timed": False, "reason": plan}
    attribute, values = plan
    original = getattr(control, attribute)
    path = sweep_path(values, original, changes)
    if not path:
        return {"timed": False, "reason": "fewer than two allowed values (not timed)"}
    seconds, errors = [], []
    for value in path:
        start = time.perf_counter()
        try:
            setattr(control, attribute, value)
        except Exception as error:  # a callback that raises is a finding, not a crash
            errors.append(f"{type(error).__name__}: {error}")
        seconds.append(time.perf_counter() - start)
    try:
        setattr(control, attribute, original)  # leave the widget as the lesson left it
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    distinct = len(set(map(repr, path)))
    return _timing_row(
        seconds, errors, kind="change", changes=len(seconds), distinct_values=distinct
    )


def builder_name(lesson_widget) -> str:
    """The ``make_..._widget`` function that built a widget (``@lesson_widget_builder`` records
    it on the widget), so each timing is reported under the builder a learner calls."""
    return getattr(lesson_widget, "builder", "") or "unknown builder"


def find_lesson_widgets(namespace: dict) -> list[tuple[str, object]]:
    """Every live ``LessonWidget``, named by a variable of ``namespace`` that holds it if any.

    Widgets a lesson displays without keeping a name are still alive in the output history
    (``Out[n]``), so the garbage collector finds them all.
    """
    from helpers.widgets import LessonWidget

    names = {}
    for name, value in namespace.items():
        if isinstance(value, LessonWidget) and not name.startswith("_"):
            names.setdefault(id(value), name)
    for number, value in sorted((namespace.get("Out") or {}).items()):
        if isinstance(value, LessonWidget):
            names.setdefault(id(value), f"Out[{number}]")
    found = {id(obj): obj for obj in gc.get_objects() if isinstance(obj, LessonWidget)}
    labelled = [
        (names.get(key, f"unnamed #{i}"), obj) for i, (key, obj) in enumerate(found.items())
    ]
    return sorted(labelled, key=lambda pair: pair[0])


def measure_widgets(namespace: dict | None = None, changes: int = 30) -> list[dict]:
    """Time every control of every live lesson widget; ``namespace`` defaults to the kernel's."""
    if namespace is None:
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
    results = []
    for name, lesson_widget in find_lesson_widgets(namespace):
        for control_name, control in lesson_widget.controls.items():
            results.append(
                {
                    "widget": name,
                    "builder": builder_name(lesson_widget),
                    "control": control_name,
                    "type": type(control).__name__,
                    **time_control(control, changes),
                }
            )
    return results


def report(changes: int = 30) -> str:
    """The line the driver's extra cell prints: widgets (if ``changes``) and peak memory."""
    widgets = measure_widgets(changes=changes) if changes else None
    return json_line({"peak_memory_bytes": peak_memory_bytes(), "widgets": widgets})
