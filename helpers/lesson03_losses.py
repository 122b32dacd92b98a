"""Lesson 03: losses and metrics computed from a model's internals.

``notebooks/03_losses_and_metrics_from_internals.ipynb`` writes these out: a regressor that adds a
reconstruction loss with ``add_loss`` and tracks it as a metric, the sweep of its weight that the
lesson's widget shows, and ``ActivityPenalty`` (the solution of its exercise), a layer that adds
its own loss.

Each class here is written out, character for character, in a ``# @save`` cell of its lesson,
and ``tests/test_notebook_sync.py`` fails if the two copies drift apart. Every class is
registered with ``keras.saving.register_keras_serializable`` and has a ``get_config``.
"""

from helpers.validation import require_int_in_range, require_number_in_range

import functools
import math
import numbers
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="helpers")
class ReconstructingRegressor(keras.Model):
    """A regressor that must also rebuild its inputs from its last hidden layer.

    ``call`` adds ``reconstruction_weight * reconstruction MSE`` with ``add_loss``, so ``fit``
    minimizes the main loss plus that term: the hidden layers must keep what is in the inputs,
    which regularizes the model (chapter 12, "Losses and Metrics Based on Model Internals").
    The unweighted reconstruction MSE is also tracked as the ``reconstruction_error`` metric,
    which both ``fit`` and ``evaluate`` report.
    """

    def __init__(self, output_dim, reconstruction_weight=0.05, **kwargs):
        super().__init__(**kwargs)
        weight = reconstruction_weight  # a number (not a bool), finite, >= 0: False for NaN too
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not 0 <= weight < math.inf
        ):
            raise ValueError(
                f"reconstruction_weight must be finite and >= 0, got {reconstruction_weight!r}"
            )
        self.output_dim = output_dim
        self.reconstruction_weight = float(reconstruction_weight)
        self.hidden = [
            keras.layers.Dense(
                30, activation="selu", kernel_initializer="lecun_normal", dtype=self.dtype_policy
            )
            for _ in range(5)
        ]
        self.out = keras.layers.Dense(output_dim, dtype=self.dtype_policy)
        # A metric stored as an attribute is tracked: fit and evaluate report its result.
        self.reconstruction_error = keras.metrics.Mean(name="reconstruction_error")

    def build(self, batch_input_shape):
        # The reconstruction has one unit per input: their number is only known now.
        self.reconstruct = keras.layers.Dense(batch_input_shape[-1], dtype=self.dtype_policy)
        # Keras 3: build() must create ALL the state, sublayers included, or load_model has
        # layers without weights to load the saved ones into.
        shape = batch_input_shape
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.out.build(shape)
        self.reconstruct.build(shape)

    def call(self, inputs):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        reconstruction = self.reconstruct(Z)
        reconstruction_loss = keras.ops.mean(keras.ops.square(reconstruction - inputs))
        self.add_loss(self.reconstruction_weight * reconstruction_loss)
        # Updated on every call, not only when training: evaluate reports it too. Weighted by
        # the batch's size, so it is the mean over rows whatever the batch size.
        batch_size = keras.ops.shape(inputs)[0]
        self.reconstruction_error.update_state(reconstruction_loss, sample_weight=batch_size)
        return self.out(Z)

    def get_config(self):
        config = super().get_config()
        config.update(output_dim=self.output_dim, reconstruction_weight=self.reconstruction_weight)
        return config


SWEEP_WEIGHTS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


class ReconstructionSweep(NamedTuple):
    """What trained :class:`ReconstructingRegressor` models score, per reconstruction weight.

    ``train_mse``, ``validation_mse`` and ``reconstruction_error`` hold one number per weight,
    the mean over the sweep's models (one per seed): the training and validation MSE of the
    predictions and the validation reconstruction error (unweighted). ``validation_by_model``
    keeps every model's validation MSE, shaped ``(weights, seeds)``, because one model's score
    moves more between seeds than the means move between weights: only the spread tells which
    differences are real. Left out (``None``), each weight counts as one model.
    """

    weights: tuple[float, ...]
    train_mse: np.ndarray
    validation_mse: np.ndarray
    reconstruction_error: np.ndarray
    validation_by_model: np.ndarray | None = None

    def models(self) -> np.ndarray:
        """Every model's validation MSE, ``(weights, seeds)``."""
        if self.validation_by_model is None:
            return np.asarray(self.validation_mse, dtype=float)[:, None]
        return np.asarray(self.validation_by_model)

    def validation_spread(self) -> np.ndarray:
        """The standard deviation of one model's validation MSE, per weight (over the seeds)."""
        return self.models().std(axis=1)

    def validation_change(self) -> tuple[np.ndarray, np.ndarray]:
        """The change of the validation MSE from weight 0, per weight: ``(mean, standard error)``.

        Paired: the model of seed ``s`` at each weight is compared with the model of the same
        seed at weight 0 (same initialization, same batches), which removes most of the
        seed-to-seed spread. The standard error is that of the mean of the paired differences
        (``nan`` with one seed). Raises ``ValueError`` if weight 0 was not swept.
        """
        if 0.0 not in self.weights:
            raise ValueError(f"the sweep has no weight 0 to compare with: {self.weights}")
        by_model = self.models()
        differences = by_model - by_model[self.weights.index(0.0)]
        n_seeds = differences.shape[1]
        if n_seeds < 2:
            return differences.mean(axis=1), np.full(len(self.weights), np.nan)
        return differences.mean(axis=1), differences.std(axis=1, ddof=1) / np.sqrt(n_seeds)


@functools.cache
def sweep_reconstruction_weights(
    weights=SWEEP_WEIGHTS, n_seeds=10, epochs=40, batch_size=47, learning_rate=1e-3, seed=42
):
    """Train a :class:`ReconstructingRegressor` per weight and seed; measure them on the data.

    Why not ``fit`` each model: every ``fit`` traces its own training step, a second or more
    per model here, so 24 models would take more than a lesson's whole time budget. Instead all
    the models are trained side by side, their weights stacked along a first axis (model ``k``
    is slice ``k`` of every kernel), in one compiled loop that is traced once. The models share
    nothing and Adam updates every weight on its own, so this is the same as training them one
    by one. ``tests/test_models_reconstructing.py`` checks that the stacked forward pass is the
    model's.

    Each seed gives a model its own initialization and its own order of batches, and every
    weight gets the same ``n_seeds`` of them: so comparing two weights seed by seed removes
    the luck of the draw (:meth:`ReconstructionSweep.validation_change`), and the spread over
    seeds shows how large that luck is. The result is cached: calling again with the same
    arguments returns at once.

    Args:
        weights: the reconstruction weights, each finite and >= 0.
        n_seeds: how many models per weight (initializations and batch orders), >= 1.
        epochs: passes over the training set, >= 1.
        batch_size: rows per training step, from 1 to the number of training rows.
        learning_rate: Adam's step size, > 0.
        seed: the seed of the initializations and of the batches' order.

    Returns:
        A :class:`ReconstructionSweep`.
    """
    from helpers.data import load_regression_data  # here: importing models needs no sklearn

    data = load_regression_data()
    n_rows, n_inputs = data.X_train.shape
    if not weights or not all(0 <= weight < float("inf") for weight in weights):
        raise ValueError(f"weights must be finite numbers >= 0, at least one, got {weights!r}")
    require_int_in_range("n_seeds", n_seeds, 1)
    require_int_in_range("epochs", epochs, 1)
    require_int_in_range("batch_size", batch_size, 1, n_rows)
    require_number_in_range("learning_rate", learning_rate, 0.0, low_open=True)

    model_weights = tf.constant(np.repeat(np.float32(weights), n_seeds))
    parameters = _stacked_initial_parameters(n_inputs, len(weights), n_seeds, seed)
    rng = np.random.default_rng(seed)
    steps = n_rows // batch_size  # the last, partial batch is dropped: one traced shape
    orders = [  # per seed, its epochs' shuffled rows: shape (seeds, epochs * steps * batch)
        np.concatenate([rng.permutation(n_rows)[: steps * batch_size] for _ in range(epochs)])
        for _ in range(n_seeds)
    ]
    # Shape (steps, models, batch_size): model k takes seed k % n_seeds's batches.
    batches = np.tile(np.stack(orders), (len(weights), 1)).reshape(
        len(model_weights), -1, batch_size
    )
    batches = batches.transpose(1, 0, 2)
    X_train, y_train = tf.constant(data.X_train), tf.constant(data.y_train)
    _train_stacked(parameters, model_weights, X_train, y_train, tf.constant(batches), learning_rate)

    def scores(X, y):
        y_pred, reconstruction = _stacked_forward(parameters, tf.constant(X))
        mse = tf.reduce_mean(tf.square(y_pred - y), axis=[1, 2])
        error = tf.reduce_mean(tf.square(reconstruction - X), axis=[1, 2])
        return [t.numpy().reshape(len(weights), n_seeds) for t in (mse, error)]

    train_mse, _ = scores(data.X_train, data.y_train)
    validation_mse, reconstruction_error = scores(data.X_valid, data.y_valid)
    return ReconstructionSweep(
        tuple(float(weight) for weight in weights),
        train_mse.mean(axis=1),
        validation_mse.mean(axis=1),
        reconstruction_error.mean(axis=1),
        validation_mse,
    )


def _stacked_initial_parameters(n_inputs, n_weights, n_seeds, seed):
    """``[(kernel, bias), ...]`` variables of ``n_weights * n_seeds`` stacked models.

    Initialized as :class:`ReconstructingRegressor` is: LeCun normal for the five hidden
    layers, Glorot uniform (Dense's default) for the output and the reconstruction, zero biases.
    Model ``k`` uses initialization ``k % n_seeds``, so every weight gets the same starts.
    """
    shapes = [(n_inputs, 30)] + [(30, 30)] * 4
    initializers = [keras.initializers.LecunNormal] * 5 + [keras.initializers.GlorotUniform] * 2
    shapes += [(30, 1), (30, n_inputs)]
    parameters = []
    for layer, (initializer, shape) in enumerate(zip(initializers, shapes, strict=True)):
        starts = [initializer(seed=seed + 100 * s + layer)(shape) for s in range(n_seeds)]
        kernel = np.tile(np.stack(starts), (n_weights, 1, 1))
        bias = np.zeros((n_weights * n_seeds, 1, shape[1]), np.float32)
        parameters.append((tf.Variable(kernel), tf.Variable(bias)))
    return parameters


def _stacked_forward(parameters, X):
    """Predictions ``(models, rows, 1)`` and reconstructions ``(models, rows, inputs)``.

    ``X @ kernel`` broadcasts a ``(rows, inputs)`` batch (or one batch per model, ``(models,
    rows, inputs)``) against the ``(models, inputs, units)`` kernels, so one matrix product runs
    the layer of every model at once.
    """
    Z = X
    for kernel, bias in parameters[:-2]:
        Z = tf.nn.selu(Z @ kernel + bias)
    (output_kernel, output_bias), (reconstruct_kernel, reconstruct_bias) = parameters[-2:]
    return Z @ output_kernel + output_bias, Z @ reconstruct_kernel + reconstruct_bias


@tf.function
def _train_stacked(parameters, model_weights, X, y, batches, learning_rate):
    """Adam on ``sum over models of (MSE + weight * reconstruction MSE)``, one step a batch.

    ``batches`` is shaped ``(steps, models, batch_size)``: each model takes its own rows.

    Adam is written out (a dozen lines) because tracing a Keras optimizer's update takes
    seconds here, more than the rest of the sweep: about 2 s in all to trace and run this loop
    (measured with 24 models, 40 epochs, on 2 CPUs; tracing is most of it, so the lesson's 80
    models cost little more).
    """
    variables = [variable for pair in parameters for variable in pair]
    first_moments = [tf.zeros_like(variable) for variable in variables]
    second_moments = [tf.zeros_like(variable) for variable in variables]
    step = tf.constant(0.0)
    for batch in batches:
        X_batch, y_batch = tf.gather(X, batch), tf.gather(y, batch)
        with tf.GradientTape() as tape:
            y_pred, reconstruction = _stacked_forward(parameters, X_batch)
            mse = tf.reduce_mean(tf.square(y_pred - y_batch), axis=[1, 2])
            reconstruction_loss = tf.reduce_mean(tf.square(reconstruction - X_batch), axis=[1, 2])
            loss = tf.reduce_sum(mse + model_weights * reconstruction_loss)
        gradients = tape.gradient(loss, variables)
        step += 1.0
        for i, (variable, gradient) in enumerate(zip(variables, gradients, strict=True)):
            first_moments[i] = 0.9 * first_moments[i] + 0.1 * gradient
            second_moments[i] = 0.999 * second_moments[i] + 0.001 * tf.square(gradient)
            m_hat = first_moments[i] / (1.0 - 0.9**step)
            v_hat = second_moments[i] / (1.0 - 0.999**step)
            variable.assign_sub(learning_rate * m_hat / (tf.sqrt(v_hat) + 1e-7))


@keras.saving.register_keras_serializable(package="helpers")
class ActivityPenalty(keras.layers.Layer):
    """Returns its inputs unchanged and adds ``rate * mean(|inputs|)`` to the model's losses.

    The solution of lesson 03's exercise. Put after a hidden layer, it pushes that layer's
    activations towards zero (an L1 "sparsity" penalty). ``activity_regularizer=L1(rate)``
    sums ``|inputs|`` over each example's entries instead of averaging them: from Keras 3.14
    on it adds ``rate * sum(|inputs|) / batch_size``, this penalty times the number of units
    (of entries per example, beyond 2-D inputs); Keras 3.13 and older 3.x releases do not
    divide by the batch size (keras-team/keras#22021), so theirs is larger by that factor too.
    The loss comes from ``add_loss`` inside a layer: the model holding the layer gathers it in
    ``model.losses``, and ``fit`` minimizes it with the compiled loss.
    """

    def __init__(self, rate=0.01, **kwargs):
        # a number (not a bool), finite and >= 0: the comparison is False for NaN too
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < math.inf:
            raise ValueError(f"rate must be finite and >= 0, got {rate!r}")
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * keras.ops.mean(keras.ops.abs(inputs)))
        return inputs

    def compute_output_shape(self, batch_input_shape):
        return batch_input_shape

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "rate": self.rate}
