"""fit_with_custom_loop side by side with Keras' own ``compile`` + ``fit(shuffle=False)``.

A differential test: each configuration of the table below trains one model with the lesson's
loop and a twin (same seed, same initial weights, same batches) with ``fit``; every history
key and every final weight must agree to a relative 1e-5. Rows cover each case the loop once
got wrong (a plain loss function with 1-D targets, float64 data, EMA, an ``add_loss`` that is
a sum, batched validation, losses and metrics given by name) and the common path (execution
modes, optimizers with schedules and clipping, regularizers, constraints, BatchNorm, Dropout,
a partial last batch, a thresholded metric). What the loop does not do as ``fit`` does is
refused with a ``ValueError`` that names the case: the last table checks those.

Thresholded metrics (accuracy) compare a prediction with a threshold: float32 rounding can
move one prediction across it, and the metric then jumps by one sample (1/n). The
classification row agrees within the tolerance here; should one ever differ by one such jump,
that is the reason, not a bug (the loss and the weights, which are continuous, would still
agree).

Tiny data (32 rows of 5 features in batches of 16, 40 rows for a partial last batch of 8;
two epochs; 20 validation rows, in batches of 16 and 4), and most rows run eagerly (the loop's
``"eager"`` mode against ``fit(run_eagerly=True)``): tracing and compiling would cost more
than the training. The ``"function"`` and ``"xla"`` rows compare with ``fit`` and
``fit(jit_compile=True)``.
"""

from helpers import lesson05_training as training

import contextlib
import functools

import keras
import numpy as np
import pytest
from keras import ops

RTOL = 1e-5
N_FEATURES = 5


def regression_data(n_rows, seed, dtype="float32", one_dimensional=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, N_FEATURES)).astype(dtype)
    y = (X @ rng.normal(size=N_FEATURES) + 0.1 * rng.normal(size=n_rows)).astype(dtype)
    return X, (y if one_dimensional else y[:, None])


def classification_data(n_rows, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, N_FEATURES)).astype("float32")
    return X, np.argmax(X[:, :3], axis=1)


@keras.saving.register_keras_serializable(package="tests")
class SumPenalty(keras.layers.Layer):
    """The ``add_loss`` of Keras' own docstring: a sum over the batch, not a per-row mean,
    so the validation loss depends on how the validation set is cut into batches."""

    def call(self, inputs):
        self.add_loss(1e-3 * ops.sum(ops.square(inputs)))
        return inputs


def regressor(*, layers=(), l2=0.0, seed=0):
    keras.utils.set_random_seed(seed)
    regularizer = keras.regularizers.l2(l2) if l2 else None
    return keras.Sequential(
        [
            keras.Input(shape=(N_FEATURES,)),
            keras.layers.Dense(
                8,
                activation="elu",
                kernel_regularizer=regularizer,
                kernel_constraint=keras.constraints.MaxNorm(1.0),
            ),
            *[make() for make in layers],
            keras.layers.Dense(1, kernel_regularizer=regularizer),
        ]
    )


def classifier(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(N_FEATURES,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def huber_fn(y_true, y_pred):
    """The book's Huber loss, a plain function: compile wraps it, so must the loop."""
    error = y_true - y_pred
    is_small = ops.abs(error) < 1.0
    return ops.where(is_small, ops.square(error) / 2, ops.abs(error) - 0.5)


def case(name, *, model=regressor, data=regression_data, n_rows=32, mode="eager", **kwargs):
    settings = dict(
        optimizer=lambda: keras.optimizers.Nadam(learning_rate=0.01),
        loss=lambda: "mse",
        metrics=lambda: ["mae"],
        model=model,
        data=data,
        n_rows=n_rows,
        mode=mode,
        batch_size=16,
        validation=True,
    )
    settings.update(kwargs)
    return pytest.param(settings, id=name)


def schedule():
    return keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)


CASES = [
    case("nadam-mse-eager"),
    case("partial-last-batch", n_rows=40),
    case("sgd-momentum-schedule", optimizer=lambda: keras.optimizers.SGD(schedule(), 0.9)),
    case("adam-clipnorm", optimizer=lambda: keras.optimizers.Adam(0.02, clipnorm=0.5)),
    case("rmsprop-clipvalue", optimizer=lambda: keras.optimizers.RMSprop(0.01, clipvalue=0.1)),
    case("l2-regularizers", model=lambda: regressor(l2=0.05)),
    case("ema", optimizer=lambda: keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.5)),
    case(
        "batchnorm",
        model=lambda: regressor(layers=[lambda: keras.layers.BatchNormalization(momentum=0.5)]),
    ),
    case(
        "dropout-eager",
        model=lambda: regressor(layers=[lambda: keras.layers.Dropout(0.3)]),
    ),
    case(
        "dropout-function",
        model=lambda: regressor(layers=[lambda: keras.layers.Dropout(0.3)]),
        mode="function",
    ),
    case(
        "dropout-xla",
        model=lambda: regressor(layers=[lambda: keras.layers.Dropout(0.3)]),
        mode="xla",
        validation=False,  # each new batch size compiles again, in the loop and in fit
    ),
    case("add-loss-sum-batched-validation", model=lambda: regressor(layers=[SumPenalty])),
    case(
        "plain-function-1d-targets",
        loss=lambda: huber_fn,
        data=lambda n, seed: regression_data(n, seed, one_dimensional=True),
    ),
    case(
        "float64-data",
        loss=lambda: keras.losses.mean_squared_error,
        data=lambda n, seed: regression_data(n, seed, dtype="float64"),
    ),
    case(
        "loss-and-metric-objects",
        loss=lambda: keras.losses.Huber(),
        metrics=lambda: [keras.metrics.RootMeanSquaredError(), keras.metrics.MeanSquaredError()],
    ),
    case("names-mae-and-mse", loss=lambda: "mae", metrics=lambda: ["mse", "mape"]),
    case(
        "classifier-thresholded-metric",
        model=classifier,
        data=classification_data,
        optimizer=lambda: keras.optimizers.Adam(0.05),
        loss=lambda: "sparse_categorical_crossentropy",
        metrics=lambda: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    ),
    case("no-validation", validation=False, metrics=lambda: []),
    case("optimizer-by-name-metrics-none", optimizer=lambda: "adam", metrics=lambda: None),
]


SETTINGS = {param.id: param.values[0] for param in CASES}


def loop_and_fit(make_model, X, y, *, optimizer, loss, metrics, mode, **common):
    """Train ``make_model()`` with the loop in ``mode`` and a twin with compile + fit in the same
    mode; ``optimizer``, ``loss`` and ``metrics`` make fresh arguments for each. Return the
    loop's history and model, and fit's."""
    loop_model = make_model()
    loop = training.fit_with_custom_loop(
        loop_model,
        X,
        y,
        optimizer=optimizer(),
        loss_fn=loss(),
        metrics=metrics(),
        mode=mode,
        **common,
    )
    fit_model = make_model()
    fit_model.compile(
        optimizer=optimizer(),
        loss=loss(),
        metrics=metrics(),
        run_eagerly=mode == "eager",
        jit_compile=mode == "xla",
    )
    fitted = fit_model.fit(X, y, shuffle=False, verbose=0, **common).history
    return loop, loop_model, fitted, fit_model


def assert_same_history(loop, fitted):
    """The loop's history has fit's keys, and each value agrees to RTOL."""
    assert sorted(loop) == sorted(fitted)
    for key in fitted:
        np.testing.assert_allclose(loop[key], fitted[key], rtol=RTOL, err_msg=key)


@contextlib.contextmanager
def dtype_policy(policy, floatx="float32"):
    """Keras' global dtype policy (and floatx) inside the block; float32 for both after it."""
    keras.config.set_dtype_policy(policy)
    keras.config.set_floatx(floatx)
    try:
        yield
    finally:
        keras.config.set_dtype_policy("float32")
        keras.config.set_floatx("float32")


@functools.cache
def train_both(name):
    """The loop's history and model, and fit's, for the case ``name`` (trained once)."""
    settings = SETTINGS[name]
    X, y = settings["data"](settings["n_rows"], 1)
    validation_data = settings["data"](20, 2) if settings["validation"] else None
    return loop_and_fit(
        settings["model"],
        X,
        y,
        optimizer=settings["optimizer"],
        loss=settings["loss"],
        metrics=settings["metrics"],
        mode=settings["mode"],
        epochs=2,
        batch_size=settings["batch_size"],
        validation_data=validation_data,
    )


@pytest.mark.parametrize("name", SETTINGS)
def test_the_loop_matches_fit(name):
    loop, loop_model, fitted, fit_model = train_both(name)
    assert_same_history(loop, fitted)
    for ours, theirs in zip(loop_model.get_weights(), fit_model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-7)


def test_dropout_trains_differently_under_xla_only():
    """Why each Dropout row compares with its own fit: under XLA, TensorFlow's stateless
    random ops draw another stream for the same seed, so that mode parts ways with the other
    two (and ``fit(jit_compile=True)`` goes the ``"xla"`` way: the row above)."""
    eager = train_both("dropout-eager")[0]["loss"]
    function = train_both("dropout-function")[0]["loss"]
    xla = train_both("dropout-xla")[0]["loss"]
    np.testing.assert_allclose(eager, function, rtol=RTOL)
    assert not np.allclose(xla, function, rtol=1e-3)


def two_output_model():
    inputs = keras.Input(shape=(N_FEATURES,))
    return keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])


def mixed_precision_model():
    """A model built under the ``mixed_float16`` policy: ``compile`` wraps a plain optimizer in
    a ``LossScaleOptimizer`` for it (``auto_scale_loss``), so ``fit`` scales the loss."""
    with dtype_policy("mixed_float16"):
        return regressor()


def float64_policy_model():
    """Variables in float64 while floatx stays float32: fit fails on it too (float32 loss plus
    float64 penalties); with ``set_floatx("float64")`` as well, the loop and fit agree."""
    with dtype_policy("float64"):
        return regressor(l2=0.01)


def test_fit_scales_the_loss_of_a_mixed_precision_model():
    """Why such a model is refused: with the same plain optimizer, fit trains differently."""
    model = mixed_precision_model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)


REFUSED = [
    pytest.param(
        dict(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01))),
        "LossScaleOptimizer",
        id="loss-scale-optimizer",
    ),
    pytest.param(
        dict(optimizer=keras.optimizers.SGD(0.01, loss_scale_factor=1024.0)),
        "loss_scale_factor",
        id="loss-scale-factor",
    ),
    pytest.param(dict(model=two_output_model()), "several outputs", id="two-output-model"),
    pytest.param(dict(y=[np.zeros((16, 1))] * 2), "several outputs", id="targets-as-a-list"),
    pytest.param(dict(metrics=["accuracy"]), "SparseCategoricalAccuracy", id="accuracy-name"),
    pytest.param(dict(loss_fn="crossentropy"), "SparseCategoricalCrossentropy", id="ce-name"),
    pytest.param(
        dict(loss_fn=keras.losses.MeanSquaredError(reduction=None)), "reduction", id="no-reduction"
    ),
    pytest.param(dict(loss_fn=42), "loss must be", id="not-a-loss"),
    pytest.param(dict(model=mixed_precision_model()), "mixed_float16", id="mixed-precision"),
    pytest.param(dict(model=float64_policy_model()), "set_floatx", id="float64-policy"),
    pytest.param(dict(X=np.zeros((0, N_FEATURES)), y=np.zeros((0, 1))), "empty", id="empty"),
    pytest.param(dict(X="sparse"), "sparse", id="scipy-sparse-inputs"),
    pytest.param(dict(metrics="mae"), "metrics must be a list", id="metrics-a-bare-string"),
    pytest.param(dict(optimizer=0.01), "optimizer must be", id="not-an-optimizer"),
]


@pytest.mark.parametrize(("override", "named"), REFUSED)
def test_what_the_loop_does_not_do_is_refused_by_name(override, named):
    X, y = regression_data(16, 1)
    settings = dict(
        model=regressor(),
        optimizer=keras.optimizers.SGD(0.01),
        loss_fn="mse",
        metrics=[],
        X=X,
        y=y,
    )
    settings.update(override)
    if isinstance(settings["X"], str):  # built here: the test module does not import SciPy
        import scipy.sparse

        settings["X"] = scipy.sparse.csr_matrix(X)
    model, X, y = settings.pop("model"), settings.pop("X"), settings.pop("y")
    with pytest.raises(ValueError, match=named):
        training.fit_with_custom_loop(model, X, y, epochs=1, batch_size=8, **settings)


@pytest.mark.parametrize(("policy", "floatx"), [("float64", "float64"), ("mixed_bfloat16", None)])
def test_other_dtype_policies_match_fit(policy, floatx):
    """A float64 model (with floatx float64 too) and a bfloat16 one (no loss scaling: compile
    adds a LossScaleOptimizer for mixed_float16 only) train as fit trains them."""
    X, y = regression_data(32, 1, dtype="float64")
    with dtype_policy(policy, floatx or "float32"):
        loop, _, fitted, _ = loop_and_fit(
            lambda: regressor(l2=0.01),
            X,
            y,
            optimizer=lambda: keras.optimizers.Nadam(0.01),
            loss=lambda: "mse",
            metrics=lambda: None,
            mode="function",
            epochs=2,
            batch_size=16,
            validation_data=regression_data(20, 2),
        )
    assert_same_history(loop, fitted)
