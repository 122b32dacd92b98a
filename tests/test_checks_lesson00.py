"""Lesson 00's self-checks pass the solutions and fail, naming the mistake, one plausible wrong
answer per check line."""

from helpers.checks import check_quantile_loss, check_streaming_rmse
from helpers.lesson00_components import QuantileLoss, StreamingRMSE, match_target_rank

import keras
import pytest

from tests.check_reports import failed_lines


def make_quantile_loss(
    *,
    uses_quantile=True,
    fixes_rank=True,
    validates=True,
    saves_quantile=True,
    register=True,
    error_sign=1,
):
    """The solution of exercise 1, or the same class with one chosen mistake."""

    class WrongQuantileLoss(keras.losses.Loss):
        def __init__(self, quantile=0.5, **kwargs):
            if validates and not 0 < quantile < 1:
                raise ValueError(f"quantile must be in (0, 1), got {quantile}")
            super().__init__(**kwargs)
            self.quantile = quantile

        def call(self, y_true, y_pred):
            if fixes_rank:
                y_true, y_pred = match_target_rank(y_true, y_pred)
            q = self.quantile if uses_quantile else 0.5  # the mistake: a hard-coded quantile
            error = error_sign * (y_true - y_pred)  # -1: the mistake e = y_pred - y_true
            return keras.ops.maximum(q * error, (q - 1) * error)

        def get_config(self):
            config = super().get_config()
            return {**config, "quantile": self.quantile} if saves_quantile else config

    WrongQuantileLoss.__module__ = "__main__"  # where a learner's class lives
    if register:
        keras.saving.register_keras_serializable(package="test_lesson00")(WrongQuantileLoss)
    return WrongQuantileLoss


def test_a_swapped_error_sign_fails_only_the_value_line():
    """e = y_pred - y_true gives the (1 - q) loss: one line says so, the rank line stays green."""
    failures = failed_lines(check_quantile_loss(make_quantile_loss(error_sign=-1)))
    assert set(failures) == {"call() computes the pinball loss of self.quantile"}, failures
    assert "e = y_true - y_pred" in failures["call() computes the pinball loss of self.quantile"]


QUANTILE_LINES = {
    "uses_quantile": ("call() computes the pinball loss of self.quantile", "self.quantile"),
    "fixes_rank": ("1-D targets against (n, 1) predictions give the same loss", "broadcast"),
    "validates": ("a quantile outside (0, 1) raises ValueError", "0 < quantile < 1"),
    "saves_quantile": ("get_config() keeps quantile", "add quantile to get_config()"),
    "register": (
        "a model saved to .keras loads back with its loss and quantile, no custom_objects",
        "register_keras_serializable",
    ),
}


def test_the_quantile_solution_passes():
    report = check_quantile_loss(QuantileLoss)
    assert report.passed, str(report)
    assert len(report.lines) == len(QUANTILE_LINES)


@pytest.mark.parametrize("mistake", sorted(QUANTILE_LINES))
def test_each_quantile_mistake_fails_its_line_with_a_hint(mistake):
    report = check_quantile_loss(make_quantile_loss(**{mistake: False}))
    line, hint = QUANTILE_LINES[mistake]
    failures = failed_lines(report)
    assert line in failures, str(report)
    assert hint in failures[line], failures[line]


def test_forgetting_get_config_also_loses_the_quantile_in_the_file():
    report = check_quantile_loss(make_quantile_loss(saves_quantile=False))
    detail = failed_lines(report)[QUANTILE_LINES["register"][0]]
    assert "quantile 0.5" in detail


def make_streaming_rmse(mistake=None):
    """The solution of exercise 2, or a metric with one chosen mistake."""

    class WrongRMSE(keras.metrics.Metric):
        def __init__(self, name="wrong_rmse", **kwargs):
            super().__init__(name=name, **kwargs)
            if mistake == "python_state":
                self.total, self.count = 0.0, 0.0
            else:
                self.total = self.add_weight(name="total", initializer="zeros")
                self.count = self.add_weight(name="count", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = keras.ops.convert_to_tensor(y_pred, dtype=self.dtype)
            y_true = keras.ops.convert_to_tensor(y_true, dtype=self.dtype)
            if mistake != "no_rank_fix":
                y_true, y_pred = match_target_rank(y_true, y_pred)
            squared = keras.ops.square(y_true - y_pred)
            if mistake == "mean_of_batches":  # sums each batch's RMSE, counts batches
                self.total.assign_add(keras.ops.sqrt(keras.ops.mean(squared)))
                self.count.assign_add(1.0)
                return
            size = keras.ops.cast(keras.ops.size(squared), self.dtype)
            if mistake == "counts_batches":
                size = keras.ops.convert_to_tensor(1.0)
            if mistake == "overwrites":  # assign, not assign_add: only the last batch stays
                self.total.assign(keras.ops.sum(squared))
                self.count.assign(size)
            elif mistake == "python_state":
                self.total = self.total + keras.ops.sum(squared)
                self.count = self.count + size
            else:
                self.total.assign_add(keras.ops.sum(squared))
                self.count.assign_add(size)

        def result(self):
            if mistake in ("mean_of_batches", "no_root"):
                return self.total / self.count
            return keras.ops.sqrt(self.total / self.count)

        def reset_state(self):
            if mistake == "python_state":
                self.total, self.count = 0.0, 0.0
            elif mistake == "partial_reset":
                self.total.assign(0.0)  # the count is forgotten
            else:
                for variable in self.variables:
                    variable.assign(0.0)

    return WrongRMSE


RMSE_LINES = {
    "mean_of_batches": (
        "result() after batches of 3, 17, 1 and 19 samples is the RMSE of all 40",
        "the mean of the per-batch RMSEs, not the whole-data RMSE",
    ),
    "python_state": (
        "the running totals are variables made with add_weight",
        "not Python numbers",
    ),
    "partial_reset": (
        "reset_state() starts a new epoch from zero",
        "every running total back to 0",
    ),
    "no_rank_fix": (
        "1-D targets against (n, 1) predictions give the same RMSE",
        "broadcast",
    ),
    "counts_batches": (
        "result() after batches of 3, 17, 1 and 19 samples is the RMSE of all 40",
        "the count grows by 1 per batch",
    ),
    "no_root": (
        "result() after batches of 3, 17, 1 and 19 samples is the RMSE of all 40",
        "take its root in result()",
    ),
    "overwrites": (
        "result() after batches of 3, 17, 1 and 19 samples is the RMSE of all 40",
        "not overwrite them (assign)",
    ),
}

# A mistake in the value is reported once, on the first line, not again as a reset, evaluate or
# broadcasting problem (the review of lesson 00 found a count per batch failing four lines).
VALUE_MISTAKES_ALSO_FAIL_ONLY = {
    "counts_batches": {"evaluate(batch_size=7) reports the whole-data RMSE"},
    "no_root": {"evaluate(batch_size=7) reports the whole-data RMSE"},
    "overwrites": {"evaluate(batch_size=7) reports the whole-data RMSE"},
}


@pytest.mark.parametrize("mistake", sorted(VALUE_MISTAKES_ALSO_FAIL_ONLY))
def test_a_wrong_value_is_not_blamed_on_reset_or_shapes(mistake):
    failures = failed_lines(check_streaming_rmse(make_streaming_rmse(mistake)))
    first_line = RMSE_LINES[mistake][0]
    assert set(failures) == {first_line} | VALUE_MISTAKES_ALSO_FAIL_ONLY[mistake], failures
    for line in VALUE_MISTAKES_ALSO_FAIL_ONLY[mistake]:
        assert "fix the first line" in failures[line]


def test_the_streaming_solution_and_its_handwritten_twin_pass():
    for metric_class in (StreamingRMSE, make_streaming_rmse()):
        report = check_streaming_rmse(metric_class)
        assert report.passed, str(report)


@pytest.mark.parametrize("mistake", sorted(RMSE_LINES))
def test_each_streaming_mistake_fails_its_line_with_a_hint(mistake):
    report = check_streaming_rmse(make_streaming_rmse(mistake))
    line, hint = RMSE_LINES[mistake]
    failures = failed_lines(report)
    assert line in failures, str(report)
    assert hint in failures[line], failures[line]


def test_python_number_state_fails_in_evaluate_too():
    """The evaluate line's own wrong answer: state that only accumulates eagerly."""
    report = check_streaming_rmse(make_streaming_rmse("python_state"))
    detail = failed_lines(report)["evaluate(batch_size=7) reports the whole-data RMSE"]
    assert detail.startswith("evaluate raised TypeError") and "compiled graph" in detail, detail
    assert len(detail) < 300


def test_the_lessons_stubs_fail_every_line_with_a_reason():
    class QuantileStub(keras.losses.Loss):
        def __init__(self, quantile=0.5, **kwargs):
            super().__init__(**kwargs)
            self.quantile = quantile

        def call(self, y_true, y_pred):
            return keras.ops.abs(y_true - y_pred)

    QuantileStub.__module__ = "__main__"

    class RMSEStub(keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            pass

        def result(self):
            return keras.ops.convert_to_tensor(0.0)

    for report in (check_quantile_loss(QuantileStub), check_streaming_rmse(RMSEStub)):
        assert not any(line.passed for line in report.lines), str(report)
        assert all(line.detail for line in report.lines), str(report)
    report = check_streaming_rmse(RMSEStub)
    assert "does update_state() add each batch" in report.lines[0].detail
