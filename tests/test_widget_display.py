"""Every lesson widget displays through IPython's real display formatter without a traceback.

IPython catches an exception raised while *displaying* a value, shows it as a red traceback and
(IPython 7, Colab's) still reports the cell as ok, so neither a builder's tests nor a cell's
status would notice. Here each widget the lessons build goes through ``DisplayFormatter.format``,
the very call that shows a cell's value, with IPython's error report recorded; and a stand-in
for an ipywidgets 7 ``Box`` (this environment has ipywidgets 8; the compatibility run,
``nox -s "compat(stack='colab')"``, runs the real ipywidgets 7) checks the path Colab takes.
"""

from __future__ import annotations

import helpers.data
import helpers.widgets
from helpers.widgets.base import WIDGET_VIEW, LessonWidget

import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.widget_builders import BUILDERS, small_arguments
from tests.widget_stand_ins import Ipywidgets7Box

# What each lesson passes its builder (demo=False: fast; the demo actions are checked in
# tests/test_static_pictures.py; no arguments: the lesson's defaults, the cached sweep and the
# measured costs). A builder not listed gets the cheap arguments of tests/widget_builders.py:
# every builder helpers.widgets exports is displayed, none can be missed.
LESSON_ARGUMENTS = {
    "make_loss_explorer_widget": lambda: dict(threshold=1.0, outlier_size=8.0),
    "make_streaming_metric_widget": lambda: dict(batch_size=8, positive_fraction=0.2),
    "make_gaussian_noise_widget": lambda: dict(stddev=0.3, training=True, seed=42),
    "make_residual_architecture_widget": lambda: dict(
        data=helpers.data.load_regression_data(), demo=False
    ),
    "make_reconstruction_weight_widget": dict,
    "make_gradient_cost_widget": dict,
    "make_training_loop_widget": lambda: dict(demo=False),
}


def build(name):
    """``name``'s widget, built with the lesson's arguments (or cheap ones)."""
    arguments = LESSON_ARGUMENTS[name]() if name in LESSON_ARGUMENTS else small_arguments(name)
    return getattr(helpers.widgets, name)(**arguments)


def test_the_lesson_arguments_name_builders_only():
    assert set(LESSON_ARGUMENTS) <= set(BUILDERS)


@pytest.fixture
def shown(monkeypatch):
    """Display a value as a cell's result does; return its bundle and IPython's error reports."""
    shell = InteractiveShell.instance()
    reports: list[str] = []

    def showtraceback(exc_tuple=None, *args, **kwargs):
        kind, error, _ = exc_tuple or sys.exc_info()
        reports.append(f"{kind.__name__}: {error}")

    monkeypatch.setattr(shell, "showtraceback", showtraceback)

    def show(value):
        data, _ = shell.display_formatter.format(value)
        return data, reports

    return show


@pytest.mark.parametrize("name", BUILDERS)
def test_every_lesson_widget_displays_without_a_traceback(name, shown):
    built = build(name)
    data, reports = shown(built)
    assert reports == [], f"{name}: IPython showed a traceback while displaying it"
    assert data[WIDGET_VIEW]["model_id"] == built.widget.model_id
    assert data["image/png"].startswith(b"\x89PNG")


def test_an_ipywidgets_7_box_displays_without_a_traceback(shown):
    box = Ipywidgets7Box()
    data, reports = shown(LessonWidget(box))
    assert reports == [], "IPython passes include/exclude: they must not reach ipywidgets 7"
    assert data[WIDGET_VIEW]["model_id"] == "abc123"
    assert box.children_displayed == 1
