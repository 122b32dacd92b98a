"""Lesson 00's widgets: the loss explorer and the streaming-metric explorer, moved without a
browser; every readout is checked against the helpers it shows (themselves tested against Keras
in tests/test_lesson00_components.py)."""

from helpers import lesson00_components as lc
from helpers.widgets import (
    PRECISION_BATCH_SIZES,
    make_loss_explorer_widget,
    make_streaming_metric_widget,
)

import re

import pytest


def slopes(lesson_widget):
    text = lesson_widget.readouts["slopes"].value
    found = re.findall(r"<td>(MSE|MAE|HUBER)</td><td><code>(-?[0-9.]+)</code>", text)
    return {name.lower(): float(value) for name, value in found}


def precisions(lesson_widget):
    text = lesson_widget.readouts["precisions"].value
    return [float(value) for value in re.findall(r"<code>(-?[0-9.]+)</code>", text)]


@pytest.fixture(scope="module")
def loss_explorer():
    return make_loss_explorer_widget(threshold=1.0, outlier_size=8.0)


@pytest.fixture(scope="module")
def metric_explorer():
    return make_streaming_metric_widget(batch_size=8, positive_fraction=0.2)


def test_loss_explorer_handles_and_first_render(loss_explorer):
    assert set(loss_explorer.controls) == {"threshold", "outlier_size"}
    assert set(loss_explorer.readouts) == {"plot", "slopes", "message"}
    assert bytes(loss_explorer.readouts["plot"].value).startswith(b"\x89PNG")
    data = lc.make_line_with_outlier(8.0)
    for loss, slope in slopes(loss_explorer).items():
        assert slope == pytest.approx(lc.fit_line(data.x, data.y, loss, 1.0)[0], abs=5e-4)


def test_the_outlier_pulls_mse_and_hardly_huber(loss_explorer):
    loss_explorer.controls["outlier_size"].value = 0.0
    clean = slopes(loss_explorer)
    assert all(abs(slope - 0.5) < 0.05 for slope in clean.values()), clean
    before = bytes(loss_explorer.readouts["plot"].value)
    loss_explorer.controls["outlier_size"].value = 12.0
    pulled = slopes(loss_explorer)
    assert pulled["mse"] - clean["mse"] > 0.5
    assert abs(pulled["huber"] - clean["huber"]) < 0.1
    assert abs(pulled["mae"] - clean["mae"]) < 0.05
    assert bytes(loss_explorer.readouts["plot"].value) != before
    assert "outlier moved by +12.0" in loss_explorer.readouts["slopes"].value


def test_a_large_threshold_makes_huber_follow_mse(loss_explorer):
    loss_explorer.controls["outlier_size"].value = 2.0
    loss_explorer.controls["threshold"].value = 3.0
    shown = slopes(loss_explorer)
    assert shown["huber"] == pytest.approx(shown["mse"], abs=1e-3)
    assert "threshold = 3.0" in loss_explorer.readouts["slopes"].value
    loss_explorer.controls["threshold"].value = 0.3
    assert abs(slopes(loss_explorer)["huber"] - shown["mse"]) > 0.05


def test_a_value_outside_the_range_shows_a_message(loss_explorer):
    slider = loss_explorer.controls["threshold"]
    slider.max = 10.0  # only a program can widen it
    slider.value = 5.0
    assert "threshold must be between" in loss_explorer.readouts["message"].value
    slider.value = 1.0
    slider.max = 3.0
    assert loss_explorer.readouts["message"].value == ""


def test_metric_explorer_handles_and_first_render(metric_explorer):
    assert set(metric_explorer.controls) == {"batch_size", "positive_fraction"}
    assert set(metric_explorer.readouts) == {"plot", "precisions"}
    assert bytes(metric_explorer.readouts["plot"].value).startswith(b"\x89PNG")
    mean_of_batches, streamed, whole = precisions(metric_explorer)
    y_true, y_pred = lc.make_classifier_outputs(0.2, 200)
    assert whole == pytest.approx(lc.precision(y_true, y_pred), abs=5e-4)
    assert mean_of_batches == pytest.approx(lc.batch_precisions(y_true, y_pred, 8).mean(), abs=5e-4)
    assert streamed == whole


@pytest.mark.parametrize("batch_size", PRECISION_BATCH_SIZES)
def test_streaming_equals_the_whole_data_at_every_batch_size(metric_explorer, batch_size):
    metric_explorer.controls["batch_size"].value = batch_size
    mean_of_batches, streamed, whole = precisions(metric_explorer)
    assert streamed == whole
    if batch_size == 200:  # one batch: its precision is the precision of all the data
        assert mean_of_batches == whole


def test_small_batches_and_rare_positives_pull_the_mean_away(metric_explorer):
    metric_explorer.controls["batch_size"].value = 4
    metric_explorer.controls["positive_fraction"].value = 0.1
    mean_of_batches, _, whole = precisions(metric_explorer)
    assert whole - mean_of_batches > 0.15
    text = metric_explorer.readouts["precisions"].value
    assert "50 batches of 4" in text and "without any predicted positive" in text
    metric_explorer.controls["positive_fraction"].value = 0.2
    metric_explorer.controls["batch_size"].value = 8


def test_the_batch_count_adds_up_to_the_samples(metric_explorer):
    # The walk-through of lesson 00 read "1 batches of 200" and "13 batches of 16" (for 200).
    for batch_size, phrase in ((200, "1 batch of 200,"), (16, "13 batches of 16 (the last of 8)")):
        metric_explorer.controls["batch_size"].value = batch_size
        assert phrase in metric_explorer.readouts["precisions"].value
    metric_explorer.controls["batch_size"].value = 8
    assert "25 batches of 8," in metric_explorer.readouts["precisions"].value


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="threshold"):
        make_loss_explorer_widget(threshold=0.0)
    with pytest.raises(ValueError, match="outlier_size"):
        make_loss_explorer_widget(outlier_size=100.0)
    with pytest.raises(ValueError, match="batch_size"):
        make_streaming_metric_widget(batch_size=3)
    with pytest.raises(ValueError, match="positive_fraction"):
        make_streaming_metric_widget(positive_fraction=1.0)
    with pytest.raises(ValueError, match="n_samples"):
        make_streaming_metric_widget(n_samples=0)
