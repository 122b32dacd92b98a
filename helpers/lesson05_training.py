"""Lesson 05: the training loop ``fit`` hides, written out, and what ``tf.function`` does to it.

The loop is the book's: draw a batch, run the model under a ``tf.GradientTape``, add the
regularization losses (``model.losses``) to the main loss, ask the tape for the gradients, let
the optimizer apply them, update the metrics. What changed since the book is small but real:
Keras 3 metrics have ``reset_state()`` (not ``reset_states()``), and Keras 3 optimizers apply
each variable's ``constraint`` inside ``apply_gradients`` themselves, so the book's extra loop
over ``model.variables`` is no longer needed.

The same step runs in three execution modes, to be measured against each other:

- ``"eager"``: plain Python, every operation dispatched one by one;
- ``"function"``: wrapped in ``tf.function``, traced into a graph on its first call (twice
  when that call creates the optimizer's variables) and again for each new input signature,
  such as a smaller last batch;
- ``"xla"``: ``tf.function(jit_compile=True)``, the graph further compiled by XLA (fused
  kernels), once per trace.

The modes agree to float32 rounding for a model without randomness. A model with random
layers (Dropout) trains differently under XLA: TensorFlow's stateless random ops draw another
stream there for the same seed. ``fit(jit_compile=True)`` is the ``"xla"`` mode's twin.
"""

from __future__ import annotations

from helpers.validation import require_choice, require_int_in_range

import time
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

EXECUTION_MODES = ("eager", "function", "xla")


def validate_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`EXECUTION_MODES`, else a ``ValueError`` naming it."""
    return require_choice("mode", mode, EXECUTION_MODES)


def validate_positive_int(name: str, value) -> int:
    """``value`` if it is an integer >= 1 (not a bool), else a ``ValueError`` naming ``name``."""
    return require_int_in_range(name, value, 1)


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


def _is_sparse(array) -> bool:
    """A SciPy sparse matrix or a ``tf.SparseTensor``: ``fit`` takes them, the loop does not."""
    return hasattr(array, "toarray") or isinstance(array, tf.SparseTensor)


def _check_fit_arguments(X, y, epochs, batch_size, mode, validation_data):
    validate_positive_int("epochs", epochs)
    validate_positive_int("batch_size", batch_size)
    validate_mode(mode)
    if _is_sparse(X) or _is_sparse(y):
        raise ValueError(
            "fit_with_custom_loop slices dense arrays, got a sparse one: pass X.toarray() "
            "(or tf.sparse.to_dense(X)), or use compile() and fit(), which take sparse inputs"
        )
    if isinstance(y, list | tuple | dict):
        raise ValueError(
            "fit_with_custom_loop trains a model with one output on one array of targets, got "
            f"y as a {type(y).__name__}: for several outputs use compile() and fit()"
        )
    validate_same_length(X, y)
    if len(X) == 0:
        raise ValueError("X and y are empty: there is no batch to train on (fit trains nothing)")
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_valid, y_valid)")
        validate_same_length(*validation_data, names="validation_data's X and y")


def _check_model_and_optimizer(model, optimizer):
    """Refuse what the loop does not do as ``fit`` does, rather than train differently."""
    outputs = getattr(model, "outputs", None)
    if outputs is not None and len(outputs) > 1:
        raise ValueError(
            f"fit_with_custom_loop trains a model with one output, this one has {len(outputs)}: "
            "for several outputs use compile() and fit()"
        )
    if getattr(getattr(model, "dtype_policy", None), "name", None) == "mixed_float16":
        raise ValueError(
            "fit_with_custom_loop does not scale the loss, and this model's dtype policy is "
            "'mixed_float16', for which compile() wraps the optimizer in a LossScaleOptimizer: "
            "the loop would train differently; use compile() and fit()"
        )
    variable_dtype = getattr(getattr(model, "dtype_policy", None), "variable_dtype", None)
    if variable_dtype not in (None, keras.config.floatx()):
        raise ValueError(
            f"the model's variables are {variable_dtype} but Keras' floatx is "
            f"{keras.config.floatx()!r}, the loss's dtype: the loss and model.losses would not "
            f"add up (fit fails on this model too); call keras.config.set_floatx("
            f"{variable_dtype!r}) as well"
        )
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) or (
        getattr(optimizer, "loss_scale_factor", None) is not None
    ):
        raise ValueError(
            "fit_with_custom_loop does not scale the loss, so with a LossScaleOptimizer or a "
            "loss_scale_factor its updates would be that factor too small: use compile() and "
            "fit(), which call optimizer.scale_loss(), or an optimizer without loss scaling"
        )


# compile() picks these from the targets' shapes; the loop asks for the object itself.
_SHAPE_DEPENDENT_NAMES = {
    "accuracy": "keras.metrics.SparseCategoricalAccuracy() (or Binary/CategoricalAccuracy)",
    "acc": "keras.metrics.SparseCategoricalAccuracy() (or Binary/CategoricalAccuracy)",
    "crossentropy": "keras.losses.SparseCategoricalCrossentropy() (or Binary/Categorical...)",
    "ce": "keras.losses.SparseCategoricalCrossentropy() (or Binary/Categorical...)",
}


def _refuse_shape_dependent_name(kind, identifier):
    if isinstance(identifier, str) and identifier.lower() in _SHAPE_DEPENDENT_NAMES:
        raise ValueError(
            f"{kind} {identifier!r} means different things for different targets (compile() "
            f"guesses from their shapes): pass {_SHAPE_DEPENDENT_NAMES[identifier.lower()]}"
        )


class _FunctionLoss(keras.losses.Loss):
    """A plain loss function as ``compile`` wraps it: targets of shape ``(n,)`` against
    predictions of shape ``(n, 1)`` are first given the same rank (the rule of Keras'
    ``squeeze_or_expand_to_same_rank``), instead of broadcasting into an ``(n, n)`` matrix;
    then the base class casts both to float32 and averages over the batch."""

    def __init__(self, fn, name=None):
        super().__init__(name=name or getattr(fn, "__name__", None))
        self.fn = fn

    def call(self, y_true, y_pred):
        true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
        if pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
            if true_rank == 1:
                y_true = tf.expand_dims(y_true, axis=-1)
            else:
                y_pred = tf.squeeze(y_pred, axis=-1)
        elif true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
            if pred_rank == 1:
                y_pred = tf.expand_dims(y_pred, axis=-1)
            else:
                y_true = tf.squeeze(y_true, axis=-1)
        return self.fn(y_true, y_pred)


def as_loss(loss):
    """``loss`` (a ``keras.losses.Loss``, a function or a name such as ``"mse"``) as the
    ``Loss`` object ``compile`` would use: one float32 number per batch."""
    _refuse_shape_dependent_name("loss", loss)
    name = loss if isinstance(loss, str) else None
    loss = keras.losses.get(loss) if isinstance(loss, str) else loss
    if isinstance(loss, keras.losses.Loss):
        if loss.reduction in (None, "none"):
            raise ValueError(
                f"loss {loss.name!r} has reduction={loss.reduction!r}: the loop needs one "
                "number per batch; use the default reduction, 'sum_over_batch_size'"
            )
        return loss
    if not callable(loss):
        raise ValueError(f"loss must be a keras Loss, a function or a name, got {loss!r}")
    return _FunctionLoss(loss, name)


def as_metrics(metrics):
    """``metrics`` as ``compile`` takes them (a list or tuple, or None), as ``Metric`` objects."""
    if metrics is None:
        return []
    if not isinstance(metrics, list | tuple):
        raise ValueError(
            f"metrics must be a list or tuple (as in compile()), got {metrics!r}: "
            f"write metrics=[{metrics!r}]"
        )
    return [as_metric(metric) for metric in metrics]


def as_optimizer(optimizer):
    """``optimizer`` (an optimizer or a name such as ``"adam"``) as ``compile`` takes it."""
    if isinstance(optimizer, str):
        return keras.optimizers.get(optimizer)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(f"optimizer must be a keras optimizer or a name, got {optimizer!r}")
    return optimizer


def as_metric(metric):
    """``metric`` (a ``keras.metrics.Metric``, a function or a name such as ``"mae"``) as the
    ``Metric`` object ``compile`` would use, named as ``fit``'s history names it."""
    _refuse_shape_dependent_name("metric", metric)
    if isinstance(metric, keras.metrics.Metric):
        return metric
    found = keras.metrics.get(metric)
    if not isinstance(found, keras.metrics.Metric):
        found = keras.metrics.MeanMetricWrapper(found)
    found.name = metric if isinstance(metric, str) else getattr(metric, "__name__", found.name)
    return found


def as_float_data(array):
    """``array`` as NumPy, floats cast to Keras' float type (float32), as ``fit`` casts them."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(keras.config.floatx(), copy=False)
    return array


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
    ``optimizer``, ``loss_fn`` and ``metrics`` are taken as ``compile`` takes them (objects,
    functions or names like ``"adam"``, ``"mse"``); the metrics are reset at the start of each
    epoch. With
    ``validation_data``, the loss and metrics are computed on it after each epoch, in batches
    of ``batch_size`` as ``fit`` does (``val_`` keys). Float data is cast to float32, and an
    optimizer with ``use_ema=True`` gets its averages swapped in at the end, as in ``fit``.
    As ``fit`` does, the loop builds the optimizer before the first step (a built model's),
    so that step traces once.
    ``verbose=1`` shows a ``keras.utils.Progbar`` per epoch.

    ``mode`` is ``"eager"``, ``"function"`` or ``"xla"``: for a model without randomness the
    losses agree to float32 rounding; with Dropout, ``"xla"`` draws other random numbers
    (``fit(jit_compile=True)`` draws the same as ``"xla"``).

    Refused with a ``ValueError`` (use ``compile`` and ``fit``): several outputs, loss scaling
    (``LossScaleOptimizer``, ``loss_scale_factor``, or a ``mixed_float16`` model, for which
    ``compile`` adds a ``LossScaleOptimizer`` itself), a loss without reduction, the names
    ``compile`` resolves from the targets' shapes (``"accuracy"``, ``"crossentropy"``), sparse
    inputs, empty data, and a model whose variables are not of Keras' ``floatx`` (a float64
    policy without ``set_floatx("float64")``, on which ``fit`` fails too).

    Returns:
        ``{"loss": [...], "<metric>": [...], "val_loss": [...], ...}``: one float per epoch.
    """
    _check_fit_arguments(X, y, epochs, batch_size, mode, validation_data)
    optimizer = as_optimizer(optimizer)
    _check_model_and_optimizer(model, optimizer)
    X, y = as_float_data(X), as_float_data(y)
    if validation_data is not None:
        validation_data = tuple(as_float_data(array) for array in validation_data)
    loss_fn, metrics = as_loss(loss_fn), as_metrics(metrics)
    build_optimizer_as_fit_does(model, optimizer)
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
            _evaluate(eval_step, validation_data, batch_size, loss_tracker, metrics)
            _record(history, "val_", loss_tracker, metrics)
    optimizer.finalize_variable_values(model.trainable_variables)  # EMA: the averages
    return history


def build_optimizer_as_fit_does(model, optimizer) -> None:
    """Build ``optimizer`` for a built ``model``'s variables before the first step, as ``fit``
    does, so that the step traces once: an optimizer that creates its variables during the
    first trace makes TensorFlow trace again at once (variables may only be created on a
    function's first call). An unbuilt model has no variables yet: its optimizer is left to
    build itself at the first ``apply_gradients``, and a built optimizer is left as it is."""
    if model.built and not optimizer.built:
        optimizer.build(model.trainable_variables)


def _evaluate(eval_step, validation_data, batch_size, loss_tracker, metrics):
    """``fit``'s validation: batches of ``batch_size``, losses averaged weighted by size."""
    X_valid, y_valid = validation_data
    for tracker in [loss_tracker, *metrics]:
        tracker.reset_state()
    for start in range(0, len(X_valid), batch_size):
        X_batch, y_batch = X_valid[start : start + batch_size], y_valid[start : start + batch_size]
        loss, y_pred = eval_step(X_batch, y_batch)
        loss_tracker.update_state(loss, sample_weight=len(X_batch))
        for metric in metrics:
            metric.update_state(y_batch, y_pred)


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

    The optimizer is built first, as ``fit`` builds it (:func:`build_optimizer_as_fit_does`),
    so the first call traces once.

    The first call, and each run of ``steps`` calls, ends with ``.numpy()`` on the loss:
    TensorFlow may return before the work is done (asynchronous execution, accelerators), and
    a timing must include it.
    """
    validate_positive_int("steps", steps)
    validate_positive_int("repeats", repeats)
    build_optimizer_as_fit_does(model, optimizer)
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
