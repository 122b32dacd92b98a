"""Lesson 00: custom losses, components, metrics and an optimizer, the Keras 3 way.

The first half of the book's chapter 12 writes each of Keras' pluggable parts by hand: a loss
(the Huber loss, as a function and as a ``keras.losses.Loss`` class), an activation, an
initializer, a regularizer, a constraint, a streaming metric and an optimizer. Everything the
lesson writes out in a ``# @save`` cell lives here (``tests/test_notebook_sync.py`` proves the two
copies are the same code), together with the small NumPy helpers behind the lesson's two
widgets: targets with outliers, a line fitted with a chosen loss, precision per batch.

What changed since the book is mostly in the classes' plumbing: ``keras.ops`` instead of
``keras.backend``, ``Metric.add_weight(name=...)`` (its first positional argument is now the
shape), ``reset_state()``, and an optimizer written with ``build`` / ``update_step`` instead of
slots and ``_resource_apply_dense``. Every class registers itself with
``keras.saving.register_keras_serializable`` so a ``.keras`` file finds it by name.
"""

from __future__ import annotations

from helpers.validation import require_fraction, require_int_in_range, require_number_in_range

import math
import numbers
from typing import NamedTuple

import keras
import numpy as np

LINE_LOSSES = ("mse", "mae", "huber")


# @save
def match_target_rank(y_true, y_pred):
    """``(y_true, y_pred)`` as tensors of ``y_pred``'s dtype and of one rank: ``y_true`` gets a
    trailing axis when it has one axis less than ``y_pred``, loses its trailing axis of size 1
    when it has one more.

    Targets of shape ``(n,)`` against predictions of shape ``(n, 1)`` (or ``(n, 1)`` against
    ``(n,)``) would otherwise broadcast to an ``(n, n)`` table of every target against every
    prediction. Keras does this for a plain loss function (it wraps it), but not for the ``call``
    of a ``Loss`` subclass.
    """
    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_true = keras.ops.convert_to_tensor(y_true, dtype=y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = keras.ops.expand_dims(y_true, axis=-1)
    elif len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = keras.ops.squeeze(y_true, axis=-1)
    return y_true, y_pred


# @save
@keras.saving.register_keras_serializable(package="helpers")
def huber_fn(y_true, y_pred):
    """The book's Huber loss with threshold 1: squared for small errors, linear for large."""
    error = y_true - y_pred
    is_small_error = keras.ops.abs(error) < 1
    squared_loss = keras.ops.square(error) / 2
    linear_loss = keras.ops.abs(error) - 0.5
    return keras.ops.where(is_small_error, squared_loss, linear_loss)


# @save
def create_huber(threshold=1.0):
    """The book's factory: a Huber loss function with its own ``threshold``.

    The function it returns is named ``huber_fn``; a saved model records that name only, not the
    threshold, which is why the lesson moves on to a ``Loss`` class.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    if not 0 < threshold < math.inf:
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")

    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = keras.ops.abs(error) < threshold
        squared_loss = keras.ops.square(error) / 2
        linear_loss = threshold * keras.ops.abs(error) - threshold**2 / 2
        return keras.ops.where(is_small_error, squared_loss, linear_loss)

    return huber_fn


# @save
@keras.saving.register_keras_serializable(package="helpers")
class HuberLoss(keras.losses.Loss):
    """The Huber loss as a class: its ``threshold`` is saved with the model.

    ``get_config`` returns the threshold, so ``load_model`` rebuilds the same loss;
    ``match_target_rank`` keeps 1-D targets from broadcasting against ``(n, 1)`` predictions.
    """

    def __init__(self, threshold=1.0, **kwargs):
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        if not 0 < threshold < math.inf:
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        super().__init__(**kwargs)
        self.threshold = threshold

    def call(self, y_true, y_pred):
        y_true, y_pred = match_target_rank(y_true, y_pred)
        error = y_true - y_pred
        is_small_error = keras.ops.abs(error) < self.threshold
        squared_loss = keras.ops.square(error) / 2
        linear_loss = self.threshold * keras.ops.abs(error) - self.threshold**2 / 2
        return keras.ops.where(is_small_error, squared_loss, linear_loss)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


# @save
@keras.saving.register_keras_serializable(package="helpers")
def my_softplus_activation(z):
    """The book's ``my_softplus`` activation, ``log(exp(z) + 1)``, what
    ``keras.activations.softplus`` computes (this naive form overflows to ``inf`` for z above
    about 88 in float32: lesson 06, whose ``helpers.lesson06_gradients.my_softplus`` is the
    same formula without registration)."""
    return keras.ops.log(keras.ops.exp(z) + 1.0)


# @save
@keras.saving.register_keras_serializable(package="helpers")
def my_glorot_initializer(shape, dtype=None):
    """The book's initializer: normal, with Glorot's variance ``2 / (fan_in + fan_out)``."""
    stddev = math.sqrt(2.0 / (shape[0] + shape[1]))
    return keras.random.normal(shape, stddev=stddev, dtype=dtype)


# @save
@keras.saving.register_keras_serializable(package="helpers")
def my_l1_regularizer(weights):
    """The book's regularizer: an L1 penalty with factor 0.01."""
    return keras.ops.sum(keras.ops.abs(0.01 * weights))


# @save
@keras.saving.register_keras_serializable(package="helpers")
def my_positive_weights(weights):
    """The book's constraint: negative weights are set to 0 after each training step."""
    return keras.ops.where(weights < 0.0, keras.ops.zeros_like(weights), weights)


# @save
@keras.saving.register_keras_serializable(package="helpers")
class MyGlorotInitializer(keras.initializers.Initializer):
    """``my_glorot_initializer`` as a class, with a ``seed`` that ``get_config`` saves."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        stddev = math.sqrt(2.0 / (shape[0] + shape[1]))
        return keras.random.normal(shape, stddev=stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"seed": self.seed}


# @save
@keras.saving.register_keras_serializable(package="helpers")
class MyL1Regularizer(keras.regularizers.Regularizer):
    """The book's L1 regularizer class: its ``factor`` is a hyperparameter, so it is saved."""

    def __init__(self, factor):
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            raise ValueError(f"factor must be a finite number >= 0, got {factor!r}")
        if not 0 <= factor < math.inf:
            raise ValueError(f"factor must be a finite number >= 0, got {factor!r}")
        self.factor = factor

    def __call__(self, weights):
        return keras.ops.sum(keras.ops.abs(self.factor * weights))

    def get_config(self):
        return {"factor": self.factor}


# @save
@keras.saving.register_keras_serializable(package="helpers")
class MyPositiveWeights(keras.constraints.Constraint):
    """``my_positive_weights`` as a class. No hyperparameter: the inherited config is empty."""

    def __call__(self, weights):
        return keras.ops.where(weights < 0.0, keras.ops.zeros_like(weights), weights)


# @save
@keras.saving.register_keras_serializable(package="helpers")
class HuberMetric(keras.metrics.Metric):
    """The Huber loss as a streaming metric: its mean over every sample seen so far.

    Two variables made with ``add_weight`` hold the running sum and count, so ``result()`` is
    the value over the whole epoch, not a mean of per-batch means. Every value counts, as in the
    book's class (so 1-D predictions give the whole-data value too, where Keras' own mean metrics
    count each batch of 1-D values as one sample); ``sample_weight`` (one per sample, or a
    number) weights each sample's values.
    """

    def __init__(self, threshold=1.0, name="huber_metric", **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.huber_fn = create_huber(threshold)  # refuses a threshold that is not > 0
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = keras.ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true, y_pred = match_target_rank(y_true, y_pred)
        values = self.huber_fn(y_true, y_pred)  # one value per element
        if sample_weight is None:
            sample_weight = keras.ops.ones_like(values)
        sample_weight = keras.ops.convert_to_tensor(sample_weight, dtype=self.dtype)
        if len(sample_weight.shape) > len(values.shape):  # (n, 1) weights, (n,) values
            sample_weight = keras.ops.squeeze(sample_weight, axis=-1)
        while len(sample_weight.shape) < len(values.shape):  # (n,) weights, (n, k) values
            sample_weight = keras.ops.expand_dims(sample_weight, axis=-1)
        sample_weight = keras.ops.broadcast_to(sample_weight, keras.ops.shape(values))
        self.total.assign_add(keras.ops.sum(values * sample_weight))
        self.count.assign_add(keras.ops.sum(sample_weight))

    def result(self):
        return keras.ops.divide_no_nan(self.total, self.count)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


# @save
@keras.saving.register_keras_serializable(package="helpers")
class MyMomentumOptimizer(keras.optimizers.Optimizer):
    """The book's momentum optimizer, written the Keras 3 way.

    Its rule: ``m <- momentum * m - (1 - momentum) * gradient``, then
    ``variable <- variable + learning_rate * m``. With a constant learning rate that is
    ``keras.optimizers.SGD`` with momentum and a learning rate of
    ``learning_rate * (1 - momentum)``; with a schedule (or weight decay, which Keras scales by
    the learning rate) the two differ, since this rule scales the whole velocity by the current
    rate. ``build`` creates one momentum variable per model variable, ``update_step`` applies
    the rule to one variable.
    """

    def __init__(self, learning_rate=0.001, momentum=0.9, name="MyMomentumOptimizer", **kwargs):
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = [
            self.add_variable_from_reference(variable, name="momentum") for variable in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = keras.ops.cast(learning_rate, variable.dtype)
        gradient = keras.ops.cast(gradient, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        # keras.ops, not * and -: they also take a sparse gradient (from an Embedding)
        scaled_gradient = keras.ops.multiply(gradient, 1.0 - self.momentum)
        self.assign(m, keras.ops.subtract(m * self.momentum, scaled_gradient))
        self.assign_add(variable, m * learning_rate)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "momentum": self.momentum}


# @save
@keras.saving.register_keras_serializable(package="helpers")
class QuantileLoss(keras.losses.Loss):
    """The pinball loss of a ``quantile`` in (0, 1): the solution of the lesson's exercise 1.

    An error ``e = y_true - y_pred`` costs ``quantile * e`` when the prediction is too low and
    ``(quantile - 1) * e`` when it is too high, so a model trained with it predicts that
    quantile of the target. ``get_config`` saves ``quantile``.
    """

    def __init__(self, quantile=0.5, **kwargs):
        if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real):
            raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
        super().__init__(**kwargs)
        self.quantile = quantile

    def call(self, y_true, y_pred):
        y_true, y_pred = match_target_rank(y_true, y_pred)
        error = y_true - y_pred
        return keras.ops.maximum(self.quantile * error, (self.quantile - 1) * error)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "quantile": self.quantile}


# @save
@keras.saving.register_keras_serializable(package="helpers")
class StreamingRMSE(keras.metrics.Metric):
    """The root mean squared error over every sample seen: the solution of exercise 2.

    The running sum of squared errors and the running count live in ``add_weight`` variables;
    ``result()`` takes the root only at the end, so batches of any sizes give the whole-data RMSE.
    """

    def __init__(self, name="streaming_rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = keras.ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true, y_pred = match_target_rank(y_true, y_pred)
        squared_errors = keras.ops.square(y_true - y_pred)
        self.total.assign_add(keras.ops.sum(squared_errors))
        self.count.assign_add(keras.ops.cast(keras.ops.size(squared_errors), self.dtype))

    def result(self):
        return keras.ops.sqrt(keras.ops.divide_no_nan(self.total, self.count))


# --- The NumPy helpers behind the lesson's measurements and widgets ---------------------------


def add_target_outliers(y, fraction: float = 0.1, size: float = 8.0, seed: int = 0):
    """A copy of the targets ``y`` with ``fraction`` of the rows shifted up by ``size``.

    Used to train the same model with MSE, MAE and Huber on corrupted targets, then score it on
    clean ones. The rows are chosen by ``seed``, so every run corrupts the same ones.
    """
    require_number_in_range("fraction", fraction, 0.0, 1.0, high_open=True)
    require_number_in_range("size", size)
    y = np.array(y, copy=True)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), size=round(fraction * len(y)), replace=False)
    y[rows] += np.asarray(size, dtype=y.dtype)
    return y


class LineData(NamedTuple):
    """Points near the line ``y = 1 + 0.5 x``; the last point is the outlier."""

    x: np.ndarray
    y: np.ndarray
    true_slope: float
    true_intercept: float


def make_line_with_outlier(outlier_size: float = 5.0, n_points: int = 20, seed: int = 0):
    """``n_points`` on ``y = 1 + 0.5 x`` (x in [0, 4]) with small noise; the last point (at x = 4)
    is moved up by ``outlier_size``, which may be 0 or negative."""
    require_number_in_range("outlier_size", outlier_size)
    n_points = require_int_in_range("n_points", n_points, 3)
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 4.0, n_points)
    y = 1.0 + 0.5 * x + rng.normal(0.0, 0.1, n_points)
    y[-1] += outlier_size
    return LineData(x, y, 0.5, 1.0)


def line_loss(errors, loss: str, threshold: float = 1.0):
    """The per-point loss of ``errors`` (``y - prediction``) for ``loss`` in :data:`LINE_LOSSES`.

    ``"mse"`` is the squared error (no 1/2), ``"mae"`` the absolute error and ``"huber"`` the
    Huber loss with ``threshold``, as ``keras.losses`` define them per point.
    """
    errors = np.asarray(errors, dtype=float)
    if loss == "mse":
        return errors**2
    if loss == "mae":
        return np.abs(errors)
    if loss == "huber":
        threshold = require_number_in_range("threshold", threshold, 0.0, low_open=True)
        small = np.abs(errors) < threshold
        return np.where(small, errors**2 / 2, threshold * np.abs(errors) - threshold**2 / 2)
    raise ValueError(f"loss must be one of {', '.join(LINE_LOSSES)}, got {loss!r}")


def line_loss_gradient(errors, loss: str, threshold: float = 1.0):
    """The derivative of :func:`line_loss` with respect to the error (0 at e = 0 for MAE)."""
    errors = np.asarray(errors, dtype=float)
    if loss == "mse":
        return 2 * errors
    if loss == "mae":
        return np.sign(errors)
    if loss == "huber":
        threshold = require_number_in_range("threshold", threshold, 0.0, low_open=True)
        return np.clip(errors, -threshold, threshold)
    raise ValueError(f"loss must be one of {', '.join(LINE_LOSSES)}, got {loss!r}")


def fit_line(x, y, loss: str = "mse", threshold: float = 1.0, iterations: int = 100):
    """``(slope, intercept)`` of the line that minimizes the mean ``loss`` over the points.

    MSE has a closed form (least squares). MAE and Huber are solved by iteratively reweighted
    least squares: each point's weight is ``loss'(e) / (2 e)`` at the current errors (1 inside
    Huber's threshold), so points with large errors count less. A few milliseconds for the
    widget's 20 points; the tests compare it with a general-purpose minimizer.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got {x.shape}, {y.shape}")
    line_loss(0.0, loss, threshold)  # validates loss and threshold
    design = np.column_stack([x, np.ones_like(x)])
    params = np.linalg.lstsq(design, y, rcond=None)[0]
    if loss == "mse":
        return float(params[0]), float(params[1])
    for _ in range(iterations):
        size = np.abs(y - design @ params)
        if loss == "mae":
            weights = 1.0 / np.maximum(size, 1e-6)
        else:
            weights = np.where(size < threshold, 1.0, threshold / np.maximum(size, 1e-12))
        root = np.sqrt(weights)
        params = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
    return float(params[0]), float(params[1])


def _label_batches(y_true, y_pred, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The labels and predictions as booleans, in ``(true, pred)`` batches of ``batch_size``
    (the last one may be shorter), after checking all three arguments."""
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one shape, got {y_true.shape}")
    batch_size = require_int_in_range("batch_size", batch_size, 1)
    starts = range(0, len(y_true), batch_size)
    return [(y_true[i : i + batch_size], y_pred[i : i + batch_size]) for i in starts]


def batch_precisions(y_true, y_pred, batch_size: int):
    """Precision of each batch of ``batch_size`` (the last one may be shorter).

    A batch without any predicted positive gets 0, the value ``keras.metrics.Precision`` gives
    (it divides with ``divide_no_nan``).
    """
    precisions = []
    for true, pred in _label_batches(y_true, y_pred, batch_size):
        predicted = int(pred.sum())
        precisions.append(float((true & pred).sum() / predicted) if predicted else 0.0)
    return np.array(precisions)


def streaming_precision(y_true, y_pred, batch_size: int) -> float:
    """Precision streamed batch by batch the way ``keras.metrics.Precision`` keeps it: running
    counts of true and false positives, divided only at the end (0 if nothing was predicted)."""
    true_positives = false_positives = 0
    for true, pred in _label_batches(y_true, y_pred, batch_size):
        true_positives += int((true & pred).sum())
        false_positives += int((~true & pred).sum())
    predicted = true_positives + false_positives
    return true_positives / predicted if predicted else 0.0


def precision(y_true, y_pred) -> float:
    """Precision over all the data: true positives / predicted positives (0 if none)."""
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    predicted = int(y_pred.sum())
    return float((y_true & y_pred).sum() / predicted) if predicted else 0.0


def make_classifier_outputs(positive_fraction: float = 0.5, n_samples: int = 200, seed: int = 0):
    """Labels with ``positive_fraction`` positives, and a classifier's 0/1 predictions for them.

    The classifier finds 80% of the positives and wrongly flags 10% of the negatives, so its
    precision depends on how many positives there are: that is what the widget varies.
    """
    require_fraction("positive_fraction", positive_fraction)
    rng = np.random.default_rng(seed)
    y_true = rng.random(n_samples) < positive_fraction
    draws = rng.random(n_samples)
    y_pred = np.where(y_true, draws < 0.8, draws < 0.1)
    return y_true.astype(int), y_pred.astype(int)
