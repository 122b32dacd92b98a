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

from tests.widget_stand_ins import Ipywidgets7Box

# Every builder a lesson calls, with the lesson's arguments (demo=False: fast; the demo actions
# are checked in tests/test_static_pictures.py).
LESSON_WIDGETS = {
    "01 noise": lambda: helpers.widgets.make_gaussian_noise_widget(
        stddev=0.3, training=True, seed=42
    ),
    "02 residual": lambda: helpers.widgets.make_residual_architecture_widget(
        helpers.data.load_regression_data(), demo=False
    ),
    "03 reconstruction": lambda: helpers.widgets.make_reconstruction_weight_widget(),
    "04 cost": lambda: helpers.widgets.make_gradient_cost_widget(),
    "04 explorer": lambda: helpers.widgets.make_gradient_explorer_widget(),
    "05 training": lambda: helpers.widgets.make_training_loop_widget(demo=False),
    "05 tracing": lambda: helpers.widgets.make_tracing_widget(),
    "06 check": lambda: helpers.widgets.make_gradient_check_widget(),
    "06 softplus": lambda: helpers.widgets.make_softplus_widget(),
}


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


@pytest.mark.parametrize("name", LESSON_WIDGETS)
def test_every_lesson_widget_displays_without_a_traceback(name, shown):
    built = LESSON_WIDGETS[name]()
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
