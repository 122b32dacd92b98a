"""Lesson 05: the training loop ``fit`` hides, written out, and what ``tf.function`` does to it.

The loop is the book's: draw a batch, run the model under a ``tf.GradientTape``, add the
regularization losses (``model.losses``) to the main loss, ask the tape for the gradients, let
the optimizer apply them, update the metrics. What changed since the book is small but real:
Keras 3 metrics have ``reset_state()`` (not ``reset_states()``), and Keras 3 optimizers apply
each variable's ``constraint`` inside ``apply_gradients`` themselves, so the book's extra loop
over ``model.variables`` is no longer needed.

The same step runs in three execution modes, to be measured against each other:

- ``"eager"``: plain Python, every operation dispatched one by one;
- ``"function"``: wrapped in ``tf.function``, traced once into a graph and run as one call;
- ``"xla"``: ``tf.function(jit_compile=True)``, the graph further compiled by XLA (fused kernels).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

EXECUTION_MODES = ("eager", "function", "xla")


def validate_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`EXECUTION_MODES`, else a ``ValueError`` naming it."""
    if mode not in EXECUTION_MODES:
        raise ValueError(f"mode must be one of {', '.join(EXECUTION_MODES)}, got {mode!r}")
    return mode


def validate_positive_int(name: str, value) -> int:
    """``value`` if it is an integer >= 1 (not a bool), else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def validate_same_length(X, y, names: str = "X and y") -> None:
    """Inputs and targets must pair up row by row: a clear error instead of a shape error."""
    if len(X) != len(y):
        raise ValueError(f"{names} must have the same length, got {len(X)} and {len(y)}")


# @save
def random_batch(X, y, batch_size=32):
    """The book's batch: ``batch_size`` rows drawn at random, with replacement.

    It uses NumPy's global generator, which ``keras.utils.set_random_seed`` seeds, so a
    seeded lesson draws the same batches on every run.
    """
    validate_same_length(X, y)
    validate_positive_int("batch_size", batch_size)
    idx = np.random.randint(len(X), size=batch_size)  # noqa: NPY002 (the book's generator)
    return X[idx], y[idx]


# @save
def make_train_step(model, optimizer, loss_fn, mode="function"):
    """One training step, ``step(X_batch, y_batch) -> (loss, y_pred, gradients)``, in ``mode``.

    The loss is the mean of ``loss_fn`` over the batch plus the regularization losses that the
    model's layers collect in ``model.losses`` (computed inside the tape, so they get their
    gradients too). ``apply_gradients`` also applies each variable's constraint (Keras 3).
    The step returns its gradients so callers can look at them (their norms, say).
    """
    validate_mode(mode)

    def train_step(X_batch, y_batch):
        with tf.GradientTape() as tape:
            y_pred = model(X_batch, training=True)
            main_loss = tf.reduce_mean(loss_fn(y_batch, y_pred))
            loss = tf.add_n([main_loss] + model.losses)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss, y_pred, gradients

    if mode == "eager":
        return train_step
    return tf.function(train_step, jit_compile=mode == "xla")


def make_eval_step(model, loss_fn, mode="function"):
    """``step(X, y) -> (loss, y_pred)``: the training loss without training, in ``mode``.

    As in ``fit``'s validation, the regularization losses are part of the loss.
    """
    validate_mode(mode)

    def eval_step(X, y):
        y_pred = model(X, training=False)
        main_loss = tf.reduce_mean(loss_fn(y, y_pred))
        return tf.add_n([main_loss] + model.losses), y_pred

    if mode == "eager":
        return eval_step
    return tf.function(eval_step, jit_compile=mode == "xla")


def batch_order(n_rows: int, epoch: int, seed=None) -> np.ndarray:
    """The rows of one epoch in training order: in order without a seed (``fit(shuffle=False)``),
    or a permutation drawn from ``seed`` and the epoch number, the same in every mode."""
    if seed is None:
        return np.arange(n_rows)
    return np.random.default_rng([seed, epoch]).permutation(n_rows)


def _check_fit_arguments(X, y, epochs, batch_size, mode, validation_data):
    validate_positive_int("epochs", epochs)
    validate_positive_int("batch_size", batch_size)
    validate_mode(mode)
    validate_same_length(X, y)
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_valid, y_valid)")
        validate_same_length(*validation_data, names="validation_data's X and y")


def fit_with_custom_loop(
    model,
    X,
    y,
    *,
    epochs,
    batch_size,
    optimizer,
    loss_fn,
    metrics=(),
    validation_data=None,
    mode="function",
    seed=None,
    verbose=0,
):
    """Train ``model`` with a hand-written loop; return a history shaped like ``fit``'s.

    Each epoch walks the data in batches of ``batch_size`` (the last one smaller), in order
    when ``seed`` is None (as ``fit(..., shuffle=False)``), else shuffled from ``seed``. The
    epoch's loss is the mean of the step losses weighted by batch size, as ``fit`` reports it.
    ``metrics`` are Keras metric objects, reset at the start of each epoch. With
    ``validation_data``, the loss and metrics are computed on it after each epoch (``val_``
    keys). ``mode`` is ``"eager"``, ``"function"`` or ``"xla"``: the losses agree to float32
    rounding. ``verbose=1`` shows a ``keras.utils.Progbar`` per epoch, as ``fit`` does.

    Returns:
        ``{"loss": [...], "<metric>": [...], "val_loss": [...], ...}``: one float per epoch.
    """
    _check_fit_arguments(X, y, epochs, batch_size, mode, validation_data)
    X, y = np.asarray(X), np.asarray(y)
    train_step = make_train_step(model, optimizer, loss_fn, mode)
    eval_step = make_eval_step(model, loss_fn, mode)
    loss_tracker = keras.metrics.Mean(name="loss")
    history: dict[str, list[float]] = {}
    n_steps = -(-len(X) // batch_size)
    for epoch in range(epochs):
        for tracker in [loss_tracker, *metrics]:
            tracker.reset_state()
        progress = _progress_bar(epoch, epochs, n_steps, metrics) if verbose else None
        order = batch_order(len(X), epoch, seed)
        for step in range(n_steps):
            rows = order[step * batch_size : (step + 1) * batch_size]
            X_batch, y_batch = X[rows], y[rows]
            loss, y_pred, _ = train_step(X_batch, y_batch)
            loss_tracker.update_state(loss, sample_weight=len(rows))
            for metric in metrics:
                metric.update_state(y_batch, y_pred)
            if progress is not None:
                progress.update(step + 1, _status(loss_tracker, metrics))
        _record(history, "", loss_tracker, metrics)
        if validation_data is not None:
            X_valid, y_valid = (np.asarray(a) for a in validation_data)
            val_loss, y_pred = eval_step(X_valid, y_valid)
            loss_tracker.reset_state()
            loss_tracker.update_state(val_loss)
            for metric in metrics:
                metric.reset_state()
                metric.update_state(y_valid, y_pred)
            _record(history, "val_", loss_tracker, metrics)
    return history


def _progress_bar(epoch, epochs, n_steps, metrics):
    print(f"Epoch {epoch + 1}/{epochs}")
    names = ["loss", *(metric.name for metric in metrics)]
    return keras.utils.Progbar(n_steps, stateful_metrics=names)


def _status(loss_tracker, metrics):
    return [(tracker.name, float(tracker.result())) for tracker in [loss_tracker, *metrics]]


def _record(history, prefix, loss_tracker, metrics):
    for tracker in [loss_tracker, *metrics]:
        history.setdefault(prefix + tracker.name, []).append(float(tracker.result()))


class StepTiming(NamedTuple):
    """What one execution mode costs: its first call (tracing, compiling) and a later step."""

    mode: str
    first_call_ms: float
    ms_per_step: float


def time_train_step(model, optimizer, loss_fn, X_batch, y_batch, *, mode, steps=50, repeats=3):
    """Time ``mode``'s training step: its first call alone, then the best of ``repeats`` runs
    of ``steps`` calls (the minimum, the least disturbed by other work on the machine).

    The first call, and each run of ``steps`` calls, ends with ``.numpy()`` on the loss:
    TensorFlow may return before the work is done (asynchronous execution, accelerators), and
    a timing must include it.
    """
    validate_positive_int("steps", steps)
    validate_positive_int("repeats", repeats)
    step = make_train_step(model, optimizer, loss_fn, mode)
    X_batch, y_batch = tf.constant(X_batch), tf.constant(y_batch)
    start = time.perf_counter()
    step(X_batch, y_batch)[0].numpy()
    first_call_ms = 1000 * (time.perf_counter() - start)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            loss = step(X_batch, y_batch)[0]
        loss.numpy()
        runs.append(1000 * (time.perf_counter() - start) / steps)
    return StepTiming(mode, first_call_ms, min(runs))


def gradient_norms(model, gradients) -> dict[str, float]:
    """The norm of each trainable variable's gradient, keyed by the variable's path
    (``"sequential/dense/kernel"``): which layer learns, which one barely moves, which one
    explodes."""
    return {
        variable.path: float(tf.norm(gradient))
        for variable, gradient in zip(model.trainable_variables, gradients, strict=True)
    }


def make_regularized_regressor(seed: int = 42):
    """The lesson's model: the book's regressor (ELU, He initialization, L2 on both kernels)
    for the diabetes data's 10 features, plus a max-norm constraint on the hidden kernel, so
    the loop has both a regularization loss and a constraint to honour. Seeded weights."""
    keras.utils.set_random_seed(seed)
    l2_reg = keras.regularizers.l2(0.05)
    return keras.Sequential(
        [
            keras.Input(shape=(10,)),
            keras.layers.Dense(
                30,
                activation="elu",
                kernel_initializer="he_normal",
                kernel_regularizer=l2_reg,
                kernel_constraint=keras.constraints.MaxNorm(1.0),
            ),
            keras.layers.Dense(1, kernel_regularizer=l2_reg),
        ]
    )
