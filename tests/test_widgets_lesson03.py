"""Lesson 03's widget: the reconstruction weight against what the swept models score.

The widget only looks numbers up, so these tests hand it a made-up sweep: no training needed.
"""

from helpers.lesson03_losses import ReconstructionSweep
from helpers.widgets import make_reconstruction_weight_widget

import statistics
import time

import numpy as np
import pytest
import traitlets

WEIGHTS = (0.0, 0.001, 0.01, 0.1, 1.0)


def _sweep(validation_mse=(0.60, 0.61, 0.59, 0.62, 0.58)):
    return ReconstructionSweep(
        weights=WEIGHTS,
        train_mse=np.array([0.30, 0.31, 0.32, 0.33, 0.35]),
        validation_mse=np.array(validation_mse),
        reconstruction_error=np.array([2.8, 0.33, 0.29, 0.22, 0.11]),
    )


@pytest.fixture(scope="module")
def weight_widget():
    return make_reconstruction_weight_widget(_sweep())


def test_handles_and_first_render(weight_widget):
    assert set(weight_widget.controls) == {"weight"}
    assert set(weight_widget.readouts) == {"plot", "scores", "message"}
    assert bytes(weight_widget.readouts["plot"].value).startswith(b"\x89PNG")
    assert weight_widget.controls["weight"].value == 0.0
    assert "reconstruction_weight = 0" in weight_widget.readouts["scores"].value


def test_the_slider_offers_zero_and_the_swept_weights_only(weight_widget):
    slider = weight_widget.controls["weight"]
    assert [label for label, _ in slider.options] == ["0", "0.001", "0.01", "0.1", "1"]
    with pytest.raises(traitlets.TraitError):  # not one of the options
        slider.value = 0.5


def test_moving_the_slider_shows_that_weights_scores_and_changes(weight_widget):
    slider = weight_widget.controls["weight"]
    before = bytes(weight_widget.readouts["plot"].value)
    slider.value = 1.0
    text = weight_widget.readouts["scores"].value
    assert "reconstruction_weight = 1" in text
    assert "<code>0.350</code>" in text and "<code>+0.050</code>" in text  # training MSE
    assert "<code>0.110</code>" in text and "<code>-2.690</code>" in text  # reconstruction
    assert bytes(weight_widget.readouts["plot"].value) != before
    assert weight_widget.readouts["message"].value == ""
    slider.value = 0.0


def test_a_slider_move_answers_within_50_ms(weight_widget):
    slider = weight_widget.controls["weight"]
    durations = []
    for weight in WEIGHTS[1:] + WEIGHTS[:1] + WEIGHTS[1:]:
        start = time.perf_counter()
        slider.value = weight
        durations.append(time.perf_counter() - start)
    assert statistics.median(durations) < 0.050, durations


def test_a_diverged_training_shows_a_message_not_a_traceback():
    lesson_widget = make_reconstruction_weight_widget(
        _sweep(validation_mse=(0.60, 0.61, 0.59, 0.62, float("nan"))), weight=1.0
    )
    text = lesson_widget.readouts["message"].value
    assert "training diverged at weight 1" in text and "#cf222e" in text
    lesson_widget.controls["weight"].value = 0.1
    assert lesson_widget.readouts["message"].value == ""


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="weight must be one of the swept weights"):
        make_reconstruction_weight_widget(_sweep(), weight=0.5)
    short = _sweep()._replace(train_mse=np.array([0.3, 0.3]))
    with pytest.raises(ValueError, match="sweep must hold one score per weight"):
        make_reconstruction_weight_widget(short)
