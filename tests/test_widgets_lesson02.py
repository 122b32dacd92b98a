"""Lesson 02's widget: parameter count and shapes at once, a short training run on a click."""

from helpers.lesson02_models import residual_regressor_parameter_counts
from helpers.widgets import lesson02_models, make_residual_architecture_widget

import re
import statistics
import time

import pytest


@pytest.fixture(scope="module")
def lesson_widget():
    return make_residual_architecture_widget(epochs=3)


def _total(readout_html):
    return int(re.search(r"<b>total</b>.*?<b>([\d,]+)</b>", readout_html).group(1).replace(",", ""))


def test_starts_on_the_books_model(lesson_widget):
    readouts = lesson_widget.readouts
    assert _total(readouts["parameters"].value) == 4081
    assert "Without sharing (a new block for each of the 4 passes): 9,661" in (
        readouts["parameters"].value
    )
    assert "output shape: <b><code>(None, 1)</code></b>" in readouts["output_shape"].value
    assert "Press Train" in readouts["validation_loss"].value


@pytest.mark.parametrize(("n_layers", "n_neurons", "repeats"), [(1, 4, 1), (4, 64, 6), (3, 8, 2)])
def test_sliders_update_count_and_shapes(lesson_widget, n_layers, n_neurons, repeats):
    controls, readouts = lesson_widget.controls, lesson_widget.readouts
    controls["n_layers"].value = n_layers
    controls["n_neurons"].value = n_neurons
    controls["block1_repeats"].value = repeats
    expected = sum(residual_regressor_parameter_counts(10, 1, n_neurons, n_layers).values())
    assert _total(readouts["parameters"].value) == expected
    assert f"block1 ×{repeats} <code>(None, {n_neurons})</code>" in readouts["output_shape"].value


def test_repeats_never_change_the_count(lesson_widget):
    totals = set()
    for repeats in range(1, 7):
        lesson_widget.controls["block1_repeats"].value = repeats
        totals.add(_total(lesson_widget.readouts["parameters"].value))
    assert len(totals) == 1


def test_slider_moves_answer_within_50_ms(lesson_widget):
    controls = lesson_widget.controls
    timings = []
    for name, values in (
        ("n_layers", [1, 2, 3, 4, 2]),
        ("n_neurons", [4, 8, 16, 64, 30]),
        ("block1_repeats", [1, 2, 3, 5, 6, 4]),
    ):
        for value in values:
            start = time.perf_counter()
            controls[name].value = value
            timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.050, timings


def test_train_shows_a_rounded_validation_loss_and_caches_it(lesson_widget):
    controls, readout = lesson_widget.controls, lesson_widget.readouts["validation_loss"]
    controls["n_layers"].value, controls["n_neurons"].value = 1, 8
    controls["block1_repeats"].value = 1
    controls["train"].click()
    match = re.search(r"validation MSE after 3 epochs: ([0-9.e+-]+) ", readout.value)
    assert match, readout.value
    assert len(match.group(1).replace(".", "").lstrip("0")) <= 3  # 3 significant digits
    expected = sum(residual_regressor_parameter_counts(10, 1, 8, 1).values())
    assert f"the built model has {expected:,} parameters" in readout.value
    controls["block1_repeats"].value = 2  # another setting: not trained yet
    assert "Press Train" in readout.value
    controls["block1_repeats"].value = 1  # back: the cached result shows at once
    assert match.group(0) in readout.value


def test_a_failing_training_run_shows_a_message(monkeypatch):
    def broken(*args):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(lesson02_models, "_train_residual_regressor", broken)
    lesson_widget = make_residual_architecture_widget(epochs=1)
    lesson_widget.controls["train"].click()
    value = lesson_widget.readouts["validation_loss"].value
    assert "RuntimeError: out of memory" in value and "#cf222e" in value


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"epochs": 0}, "epochs"), ({"epochs": 2.5}, "epochs"), ({"seed": -1}, "seed")],
)
def test_bad_arguments_raise_value_errors(kwargs, argument):
    with pytest.raises(ValueError, match=f"^{argument} must be"):
        make_residual_architecture_widget(**kwargs)
