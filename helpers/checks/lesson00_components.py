"""Lesson 00's self-checks: a loss class that keeps its hyperparameter through a ``.keras`` file,
and a streaming metric whose ``result()`` over batches is the whole-data value.

Each check is a ``check_...`` function (the learner's entry point: it lists the report's lines)
over a small class with one method per checked property. Every failed line names the likely
mistake. Keras and NumPy are imported inside the methods, so that importing ``helpers.checks``
does not load TensorFlow.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport, saved_and_loaded, values_accepted

import contextlib
import warnings


def _as_float(tensor) -> float:
    import keras

    return float(keras.ops.convert_to_numpy(tensor))


def _data():
    import numpy as np

    rng = np.random.default_rng(11)
    y_true = rng.normal(scale=2.0, size=(40, 1)).astype("float32")
    y_pred = rng.normal(size=(40, 1)).astype("float32")
    return y_true, y_pred


class _QuantileLossProperties:
    """What ``check_quantile_loss`` checks: the values, the shapes, the config, the file."""

    def __init__(self, loss_class):
        self.loss_class = loss_class
        self.y_true, self.y_pred = _data()

    def expected(self, quantile: float) -> float:
        import numpy as np

        error = self.y_true - self.y_pred
        return float(np.mean(np.maximum(quantile * error, (quantile - 1) * error)))

    def computes_the_pinball_loss(self):
        values = {q: _as_float(self.loss_class(q)(self.y_true, self.y_pred)) for q in (0.1, 0.9)}
        if abs(values[0.1] - values[0.9]) < 1e-7:
            return False, (
                f"the loss is {values[0.9]:.4f} for quantile 0.1 and 0.9 alike: "
                "call() must use self.quantile"
            )
        expected = self.expected(0.9)
        return abs(values[0.9] - expected) < 1e-5 * max(1.0, expected), (
            f"quantile 0.9 gives {values[0.9]:.5f}, expected {expected:.5f}: the loss of an "
            "error e = y_true - y_pred is max(q * e, (q - 1) * e)"
        )

    def handles_1d_targets(self):
        # Against the class's own value on (n, 1) targets, so a wrong formula (the first line)
        # is not reported a second time as a broadcasting problem.
        one_d = _as_float(self.loss_class(0.9)(self.y_true[:, 0], self.y_pred))
        expected = _as_float(self.loss_class(0.9)(self.y_true, self.y_pred))
        return abs(one_d - expected) < 1e-5 * max(1.0, abs(expected)), (
            f"targets of shape (40,) give {one_d:.5f} instead of {expected:.5f}: they broadcast "
            "against predictions of shape (40, 1) into a (40, 40) table; give y_true the rank "
            "of y_pred first (match_target_rank)"
        )

    def refuses_bad_quantiles(self):
        accepted = values_accepted(self.loss_class, (0.0, 1.0, -0.5, 1.5))
        return not accepted, f"no ValueError for quantile = {accepted}: check 0 < quantile < 1"

    def config_keeps_quantile(self):
        config = self.loss_class(0.9).get_config()
        rebuilt = self.loss_class.from_config(config)
        seen = getattr(rebuilt, "quantile", None)
        return seen == 0.9, (
            f"from_config(get_config()) gives quantile = {seen}: add quantile to get_config()"
        )

    def survives_a_keras_file(self):
        import keras

        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(loss=self.loss_class(0.9), optimizer="sgd")
        reloaded = saved_and_loaded(model)
        if reloaded is None:
            return False, (
                "load_model cannot find the class: decorate it with "
                "@keras.saving.register_keras_serializable()"
            )
        seen = getattr(reloaded.loss, "quantile", None)
        return type(reloaded.loss).__name__ == self.loss_class.__name__ and seen == 0.9, (
            f"the reloaded model's loss is {type(reloaded.loss).__name__} with quantile {seen}"
        )


def check_quantile_loss(loss_class) -> CheckReport:
    """Check a ``QuantileLoss(quantile)`` class: the pinball loss, saved with its quantile.

    Args:
        loss_class: the learner's ``keras.losses.Loss`` subclass, built as
            ``loss_class(quantile)``.
    """
    checks = _QuantileLossProperties(loss_class)
    report = CheckReport(f"Checking {getattr(loss_class, '__name__', loss_class)}")
    report.check(
        "call() computes the pinball loss of self.quantile", checks.computes_the_pinball_loss
    )
    report.check(
        "1-D targets against (n, 1) predictions give the same loss", checks.handles_1d_targets
    )
    report.check("a quantile outside (0, 1) raises ValueError", checks.refuses_bad_quantiles)
    report.check("get_config() keeps quantile", checks.config_keeps_quantile)
    report.check(
        "a model saved to .keras loads back with its loss and quantile, no custom_objects",
        checks.survives_a_keras_file,
    )
    return report


class _StreamingRMSEProperties:
    """What ``check_streaming_rmse`` checks: streaming, state, reset, ``evaluate``, shapes."""

    sizes = (3, 17, 1, 19)

    def __init__(self, metric_class):
        import numpy as np

        self.metric_class = metric_class
        self.y_true, self.y_pred = _data()
        self.expected = float(np.sqrt(np.mean((self.y_true - self.y_pred) ** 2)))

    def streamed(self, metric, y_true) -> float:
        start = 0
        for size in self.sizes:
            metric.update_state(y_true[start : start + size], self.y_pred[start : start + size])
            start += size
        return _as_float(metric.result())

    def close(self, value: float) -> bool:
        return abs(value - self.expected) < 1e-5 * self.expected

    def mean_of_batch_rmses(self) -> float:
        import numpy as np

        edges = np.cumsum((0, *self.sizes))
        errors = self.y_true - self.y_pred
        return float(
            np.mean(
                [
                    np.sqrt(np.mean(errors[a:b] ** 2))
                    for a, b in zip(edges[:-1], edges[1:], strict=True)
                ]
            )
        )

    def streams_the_whole_data_rmse(self):
        value = self.streamed(self.metric_class(), self.y_true)
        if self.close(value):
            return True, ""
        detail = f"result() = {value:.5f}, the RMSE of all 40 samples is {self.expected:.5f}"
        if abs(value - self.mean_of_batch_rmses()) < 1e-4:
            detail += (
                ": that is the mean of the per-batch RMSEs, not the whole-data RMSE; keep the "
                "running sum of squared errors and the count, and take the root in result()"
            )
        elif value == 0:
            detail += ": does update_state() add each batch to the running totals?"
        elif abs(value - self.last_batch_rmse()) < 1e-4 * value:
            detail += (
                ": that is the RMSE of the last batch only; update_state() must add to the "
                "running totals (assign_add), not overwrite them (assign)"
            )
        elif abs(value - self.expected**2) < 1e-4 * self.expected**2:
            detail += ": that is the mean squared error; take its root in result()"
        elif abs(value - self.root_of_sum_per_batch()) < 1e-4 * value:
            detail += (
                ": the count grows by 1 per batch; add the number of values in the batch "
                "(keras.ops.size) instead"
            )
        return False, detail

    def last_batch_rmse(self) -> float:
        import numpy as np

        last = self.sizes[-1]
        return float(np.sqrt(np.mean((self.y_true[-last:] - self.y_pred[-last:]) ** 2)))

    def root_of_sum_per_batch(self) -> float:
        import numpy as np

        return float(np.sqrt(np.sum((self.y_true - self.y_pred) ** 2) / len(self.sizes)))

    def keeps_state_in_variables(self):
        metric = self.metric_class()
        count = len(metric.variables)
        return count >= 2, (
            f"metric.variables holds {count} variable(s): make the running sum and count with "
            "self.add_weight(name=..., initializer='zeros'), not Python numbers"
        )

    def ignores_its_data(self) -> bool:
        """True if ``result()`` is the same for very different data (an unfinished metric)."""
        first = self.streamed(self.metric_class(), self.y_true)
        return abs(first - self.streamed(self.metric_class(), self.y_true * 10)) < 1e-7

    UNFINISHED = "result() does not depend on the data yet: finish the first line"

    def resets(self):
        # Against a fresh metric of the same class: a wrong value (the first line) is not a
        # reset problem.
        if self.ignores_its_data():
            return False, self.UNFINISHED
        fresh = self.streamed(self.metric_class(), self.y_true)
        metric = self.metric_class()
        self.streamed(metric, self.y_true * 10)  # a first, very different epoch
        metric.reset_state()
        value = self.streamed(metric, self.y_true)
        return abs(value - fresh) < 1e-5 * max(1.0, abs(fresh)), (
            f"after reset_state() and the same batches, result() = {value:.5f} instead of "
            f"{fresh:.5f} (a new metric's): reset_state() must set every running total back to 0"
        )

    def works_in_evaluate(self):
        import keras
        import numpy as np

        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
        model.set_weights([np.zeros((1, 1), dtype="float32")])
        model.compile(loss="mse", metrics=[self.metric_class()])
        inputs = np.ones((40, 1), dtype="float32")
        hint = (
            "inside evaluate, update_state runs in a compiled graph, where only variables "
            "accumulate"
        )
        try:
            with contextlib.redirect_stdout(None), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, value = model.evaluate(inputs, self.y_true, batch_size=7, verbose=0)
        except Exception as error:  # a traceback from inside a compiled step is pages long
            first_line = str(error).splitlines()[0][:100] if str(error) else ""
            return False, f"evaluate raised {type(error).__name__} ({first_line}): {hint}"
        expected = float(np.sqrt(np.mean(self.y_true**2)))
        eager = self.metric_class()
        for start in range(0, 40, 7):
            eager.update_state(self.y_true[start : start + 7], np.zeros((40, 1))[start : start + 7])
        if abs(value - _as_float(eager.result())) < 1e-5 * max(1.0, abs(value)):
            hint = "the same value as update_state() gives outside evaluate: fix the first line"
        return abs(value - expected) < 1e-5 * expected, (
            f"evaluate(batch_size=7) reports {value:.5f}, expected {expected:.5f}: {hint}"
        )

    def handles_1d_targets(self):
        if self.ignores_its_data():
            return False, self.UNFINISHED
        value = self.streamed(self.metric_class(), self.y_true[:, 0])
        two_d = self.streamed(self.metric_class(), self.y_true)  # the class's own (n, 1) value
        return abs(value - two_d) < 1e-5 * max(1.0, abs(two_d)), (
            f"targets of shape (n,) give {value:.5f} instead of {two_d:.5f}: they "
            "broadcast against predictions of shape (n, 1); give y_true the rank of y_pred first"
        )


def check_streaming_rmse(metric_class) -> CheckReport:
    """Check a ``StreamingRMSE()`` metric: its ``result()`` over batches is the whole-data RMSE.

    Args:
        metric_class: the learner's ``keras.metrics.Metric`` subclass, built with no argument.
    """
    checks = _StreamingRMSEProperties(metric_class)
    report = CheckReport(f"Checking {getattr(metric_class, '__name__', metric_class)}")
    report.check(
        "result() after batches of 3, 17, 1 and 19 samples is the RMSE of all 40",
        checks.streams_the_whole_data_rmse,
    )
    report.check(
        "the running totals are variables made with add_weight", checks.keeps_state_in_variables
    )
    report.check("reset_state() starts a new epoch from zero", checks.resets)
    report.check("evaluate(batch_size=7) reports the whole-data RMSE", checks.works_in_evaluate)
    report.check(
        "1-D targets against (n, 1) predictions give the same RMSE", checks.handles_1d_targets
    )
    return report
