"""Lesson 03's self-check rejects each plausible wrong answer, with a hint naming the mistake.

Issue 24 (item 18) and issue 25 ("self-checks that diagnose"): one wrong ``ActivityPenalty``
per mistake a learner makes, each failing the line that should catch it.
"""

from helpers.checks import check_activity_penalty
from helpers.lesson03_losses import ActivityPenalty

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.check_reports import failed_lines


def _validated(rate):
    if not 0 <= rate < float("inf"):
        raise ValueError(f"rate must be finite and >= 0, got {rate!r}")
    return rate


def _penalty_layer(penalty, *, validate=True, config=True, package="tests_lesson03"):
    """A registered ActivityPenalty whose call() adds ``penalty(self, inputs)``."""

    class WrongPenalty(keras.layers.Layer):
        def __init__(self, rate=0.01, **kwargs):
            super().__init__(**kwargs)
            self.rate = _validated(rate) if validate else rate

        def call(self, inputs):
            self.add_loss(penalty(self, inputs))
            return inputs

        if config:

            def get_config(self):
                return {**super().get_config(), "rate": self.rate}

    WrongPenalty.__name__ = WrongPenalty.__qualname__ = f"Penalty{id(penalty)}"
    if package is None:
        return WrongPenalty
    return keras.saving.register_keras_serializable(package=package)(WrongPenalty)


def _mean_abs(self, inputs):
    return self.rate * keras.ops.mean(keras.ops.abs(inputs))


def test_the_solution_passes_every_line():
    report = check_activity_penalty(ActivityPenalty)
    assert report.passed, str(report)
    assert len(report.lines) == 9


def test_a_correct_layer_of_the_learners_own_passes():
    assert check_activity_penalty(_penalty_layer(_mean_abs)).passed


def test_the_stub_fails_and_its_get_config_is_not_ticked():
    class Stub(keras.layers.Layer):  # the lesson's stub, as the learner finds it
        def __init__(self, rate=0.01, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate

        def call(self, inputs):
            return inputs

    report = check_activity_penalty(Stub)
    failed = failed_lines(report)
    assert not report.passed
    assert any("layer.losses" in description for description in failed)
    assert any("model.losses" in description for description in failed)
    assert "add_loss" in failed["after a call, layer.losses holds rate * mean(|inputs|)"]
    assert (
        "does not define get_config()"
        in failed["defines get_config() that keeps rate (from_config rebuilds the same layer)"]
    )
    message = failed["a negative or non-finite rate raises ValueError"]
    assert message.startswith("-0.1 and nan and inf raised no ValueError")
    assert "[]" not in message


@pytest.mark.parametrize(
    ("penalty", "hint"),
    [
        (lambda self, x: 0.01 * keras.ops.mean(keras.ops.abs(x)), "does not follow rate"),
        (lambda self, x: self.rate * keras.ops.sum(keras.ops.abs(x)), "not the sum"),
        (lambda self, x: keras.ops.mean(keras.ops.abs(x)), "multiply it by rate"),
    ],
    ids=["rate-hard-coded", "sum", "rate-missing"],
)
def test_a_wrong_penalty_value_is_named(penalty, hint):
    failed = failed_lines(check_activity_penalty(_penalty_layer(penalty)))
    assert hint in failed["after a call, layer.losses holds rate * mean(|inputs|)"]


def test_a_numpy_penalty_fails_in_a_traced_graph():
    # np.abs works on the eager tensor of a plain call, so only the traced line can catch it.
    numpy_penalty = _penalty_layer(lambda self, x: self.rate * keras.ops.mean(np.abs(x)))
    failed = failed_lines(check_activity_penalty(numpy_penalty))
    assert list(failed) == [
        "works in a traced graph (tf.function, as in fit)",
        "the penalty has a gradient: rate * sign(inputs) / size",  # NumPy cuts the tape too
    ]
    assert "keras.ops.abs" in failed["works in a traced graph (tf.function, as in fit)"]


def test_an_all_numpy_penalty_gets_one_short_hint():
    # np.mean(np.abs(x)) is a NumPy number, which add_loss() refuses even in a plain call: the
    # walk-through met Keras' multi-line error, with terminal colour codes, on five lines.
    numpy_penalty = _penalty_layer(lambda self, x: self.rate * np.mean(np.abs(x)))
    failed = failed_lines(check_activity_penalty(numpy_penalty))
    assert "after a call, layer.losses holds rate * mean(|inputs|)" in failed
    for detail in failed.values():
        assert "keras.ops.abs" in detail and "\n" not in detail, detail


def test_a_numpy_penalty_really_breaks_fit():
    # Why the traced line exists: the same layer raises inside fit.
    layer_class = _penalty_layer(lambda self, x: self.rate * keras.ops.mean(np.abs(x)))
    model = keras.Sequential([keras.Input(shape=(3,)), layer_class(0.1), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(NotImplementedError):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0)


def test_a_penalty_without_gradient_is_named():
    stopped = _penalty_layer(lambda self, x: tf.stop_gradient(_mean_abs(self, x)))
    failed = failed_lines(check_activity_penalty(stopped))
    assert list(failed) == ["the penalty has a gradient: rate * sign(inputs) / size"]
    assert "stop_gradient" in failed["the penalty has a gradient: rate * sign(inputs) / size"]


def test_an_unregistered_class_is_named():
    failed = failed_lines(check_activity_penalty(_penalty_layer(_mean_abs, package=None)))
    assert list(failed) == ["registered for saving (register_keras_serializable)"]
    assert (
        "register_keras_serializable"
        in failed["registered for saving (register_keras_serializable)"]
    )


def test_a_rate_test_that_lets_nan_through_is_named():
    class NegativeOnly(keras.layers.Layer):
        def __init__(self, rate=0.01, **kwargs):
            if rate < 0:  # False for nan, and inf passes
                raise ValueError("rate must be >= 0")
            super().__init__(**kwargs)
            self.rate = rate

        def call(self, inputs):
            self.add_loss(_mean_abs(self, inputs))
            return inputs

        def get_config(self):
            return {**super().get_config(), "rate": self.rate}

    failed = failed_lines(check_activity_penalty(NegativeOnly))
    message = failed["a negative or non-finite rate raises ValueError"]
    assert message.startswith("nan and inf raised no ValueError")
    assert "False for nan" in message
