"""Lesson 00's classes and helpers, each set against the Keras feature or the plain computation
it re-implements, on a table of cases that includes the awkward ones (1-D targets, sample
weights, float64, batches of unequal size), and every class through a ``.keras`` round trip."""

from helpers import lesson00_components as lc

import keras
import numpy as np
import pytest
import scipy.optimize

RNG = np.random.default_rng(7)
X = RNG.normal(size=(40, 3)).astype("float32")
Y2 = RNG.normal(scale=2.0, size=(40, 1)).astype("float32")  # errors on both sides of 1
P2 = RNG.normal(size=(40, 1)).astype("float32")


def numbers(tensor):
    return keras.ops.convert_to_numpy(tensor)


# --- the Huber loss ------------------------------------------------------------------------


def huber_inputs(targets):
    """(y_true, y_pred) for a case of targets: their rank, or another type than float32."""
    if targets == "2-D":
        return Y2, P2
    if targets == "1-D":
        return Y2[:, 0], P2
    if targets == "1-D predictions":
        # Keras matches ranks both ways; ours did only one and broadcast (n, 1) - (n,) to (n, n)
        return Y2, P2[:, 0]
    y_true, y_pred = Y2.astype("float64"), P2.astype("float64")
    if targets == "float64":
        return y_true, y_pred
    assert targets == "python lists"
    return y_true.tolist(), y_pred.tolist()


@pytest.mark.parametrize("threshold", [0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("targets", ["2-D", "1-D", "1-D predictions", "float64", "python lists"])
@pytest.mark.parametrize("weighted", [False, True])
def test_huber_loss_matches_keras_huber(threshold, targets, weighted):
    y_true, y_pred = huber_inputs(targets)
    weights = RNG.random(40).astype("float32") if weighted else None
    ours = lc.HuberLoss(threshold)(y_true, y_pred, sample_weight=weights)
    theirs = keras.losses.Huber(delta=threshold)(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(numbers(ours), numbers(theirs), rtol=1e-6)


def test_huber_fn_is_the_threshold_1_loss_and_create_huber_the_general_one():
    errors = np.linspace(-3, 3, 25).astype("float32")[:, None]
    zeros = np.zeros_like(errors)
    np.testing.assert_allclose(
        numbers(lc.huber_fn(errors, zeros)), lc.line_loss(errors, "huber", 1.0), rtol=1e-6
    )
    np.testing.assert_allclose(
        numbers(lc.create_huber(2.0)(errors, zeros)), lc.line_loss(errors, "huber", 2.0), rtol=1e-6
    )


def test_a_loss_subclass_without_the_rank_fix_broadcasts_1d_targets():
    class Unfixed(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.abs(y_true - y_pred)

    y_pred = np.arange(4, dtype="float32")[:, None]
    y_true = np.arange(4, dtype="float32")
    assert float(numbers(Unfixed()(y_true, y_pred))) > 0  # (4, 4) table of every pair
    assert float(numbers(lc.HuberLoss()(y_true, y_pred))) == 0.0


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan")])
def test_huber_classes_refuse_bad_thresholds(bad):
    for make in (lc.HuberLoss, lc.HuberMetric, lc.create_huber):
        with pytest.raises(ValueError, match="threshold"):
            make(bad)
    with pytest.raises(ValueError, match="factor"):
        lc.MyL1Regularizer(-abs(bad) - 1)


def test_quantile_loss_is_the_pinball_loss_and_refuses_bad_quantiles():
    errors = Y2 - P2
    for q in (0.1, 0.5, 0.9):
        expected = np.mean(np.maximum(q * errors, (q - 1) * errors))
        ours = float(numbers(lc.QuantileLoss(q)(Y2[:, 0], P2)))
        assert ours == pytest.approx(expected, rel=1e-5)
    for bad in (0, 1, -0.5, 1.5):
        with pytest.raises(ValueError, match="quantile"):
            lc.QuantileLoss(bad)


# --- streaming metrics ---------------------------------------------------------------------


def stream(metric, y_true, y_pred, sizes, sample_weight=None):
    """Update ``metric`` on consecutive batches of ``sizes``; return its result. A scalar
    ``sample_weight`` goes to every batch as it is, an array is cut as the data."""
    start = 0
    for size in sizes:
        part = slice(start, start + size)
        weights = sample_weight if np.ndim(sample_weight) == 0 else sample_weight[part]
        metric.update_state(y_true[part], y_pred[part], sample_weight=weights)
        start += size
    return float(numbers(metric.result()))


@pytest.mark.parametrize("threshold", [0.5, 2.0])
@pytest.mark.parametrize("weighted", [False, True, "scalar"])
@pytest.mark.parametrize("targets", ["2-D", "1-D", "1-D predictions too"])
def test_huber_metric_streams_the_whole_data_value_and_matches_keras(threshold, weighted, targets):
    y_true = Y2 if targets == "2-D" else Y2[:, 0]
    y_pred = P2[:, 0] if targets == "1-D predictions too" else P2
    weights = RNG.random(40).astype("float32") if weighted is True else None
    if weighted == "scalar":
        weights = 3.0  # the same number for every batch
    ours = stream(lc.HuberMetric(threshold), y_true, y_pred, [3, 17, 1, 19], weights)
    keras_metric = keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=threshold)
    theirs = stream(keras_metric, Y2, P2, [40], weights)
    values = lc.line_loss(Y2 - P2, "huber", threshold)[:, 0]
    w = np.broadcast_to(1.0 if weights is None else weights, (40,))
    assert ours == pytest.approx(float(np.sum(values * w) / np.sum(w)), rel=1e-5)
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_huber_metric_resets_and_survives_fit_and_evaluate():
    metric = lc.HuberMetric(2.0)
    stream(metric, Y2, P2, [40])
    metric.reset_state()
    assert float(numbers(metric.result())) == 0.0
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(loss="mse", metrics=[lc.HuberMetric(2.0)])
    _, value = model.evaluate(X, Y2, batch_size=7, verbose=0)
    predictions = model.predict(X, verbose=0)
    expected = np.mean(lc.line_loss(Y2 - predictions, "huber", 2.0))
    assert value == pytest.approx(expected, rel=1e-5)


def test_streaming_rmse_equals_keras_rmse_and_the_whole_data_value():
    ours = stream(lc.StreamingRMSE(), Y2[:, 0], P2, [5, 30, 5])
    theirs = stream(keras.metrics.RootMeanSquaredError(), Y2, P2, [40])
    assert ours == pytest.approx(float(np.sqrt(np.mean((Y2 - P2) ** 2))), rel=1e-5)
    assert ours == pytest.approx(theirs, rel=1e-5)


@pytest.mark.parametrize("batch_size", [1, 3, 8, 50, 200])
def test_batch_precisions_match_keras_precision_batch_by_batch(batch_size):
    y_true, y_pred = lc.make_classifier_outputs(0.2, n_samples=50, seed=3)
    ours = lc.batch_precisions(y_true, y_pred, batch_size)
    metric = keras.metrics.Precision()
    theirs = []
    for start in range(0, 50, batch_size):
        metric.reset_state()
        part = slice(start, start + batch_size)
        metric.update_state(y_true[part], y_pred[part])
        theirs.append(float(numbers(metric.result())))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    metric = keras.metrics.Precision()
    metric.update_state(y_true, y_pred)
    assert lc.precision(y_true, y_pred) == pytest.approx(float(numbers(metric.result())))


# --- the optimizer -------------------------------------------------------------------------


def momentum_twin(ours, learning_rate, momentum):
    """Compile ``ours`` with MyMomentumOptimizer and return its twin (same weights) compiled with
    the Keras SGD it should equal: ``SGD(learning_rate * (1 - momentum), momentum)``."""
    theirs = keras.models.clone_model(ours)
    theirs.set_weights(ours.get_weights())
    ours.compile(loss="mse", optimizer=lc.MyMomentumOptimizer(learning_rate, momentum))
    sgd = keras.optimizers.SGD(learning_rate * (1 - momentum), momentum=momentum)
    theirs.compile(loss="mse", optimizer=sgd)
    return theirs


def assert_trains_alike(ours, theirs, inputs, targets, batch_size):
    """Train both models on the same consecutive batches; after every step, their weights agree."""
    for start in range(0, len(inputs), batch_size):
        batch = slice(start, start + batch_size)
        ours.train_on_batch(inputs[batch], targets[batch])
        theirs.train_on_batch(inputs[batch], targets[batch])
        for mine, reference in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_my_momentum_optimizer_is_sgd_with_a_scaled_learning_rate_step_for_step(momentum):
    keras.utils.set_random_seed(1)
    ours = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    theirs = momentum_twin(ours, learning_rate=0.05, momentum=momentum)
    assert_trains_alike(ours, theirs, X, Y2, batch_size=4)  # 10 steps


def test_my_momentum_optimizer_refuses_bad_momentum_and_keeps_its_config():
    for bad in (-0.1, 1.0, 2.0):
        with pytest.raises(ValueError, match="momentum"):
            lc.MyMomentumOptimizer(momentum=bad)
    optimizer = lc.MyMomentumOptimizer(0.01, 0.7)
    rebuilt = lc.MyMomentumOptimizer.from_config(optimizer.get_config())
    assert rebuilt.momentum == 0.7
    assert float(numbers(rebuilt.learning_rate)) == pytest.approx(0.01)


# --- every class and function through a .keras round trip --------------------------------


def keras_takes_function_regularizers_and_constraints() -> bool:
    """Keras 3.15 takes any callable; 3.13 (Colab's) only Regularizer / Constraint instances."""
    dense = keras.layers.Dense(
        1, kernel_regularizer=lc.my_l1_regularizer, kernel_constraint=lc.my_positive_weights
    )
    try:
        dense.build((None, 3))
    except ValueError as error:
        assert "Regularizer" in str(error) or "Constraint" in str(error)
        return False
    return True


def test_a_model_with_every_component_round_trips_with_equal_predictions(tmp_path):
    functions = keras_takes_function_regularizers_and_constraints()
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(
                5,
                activation=lc.my_softplus_activation,
                kernel_initializer=lc.MyGlorotInitializer(seed=3),
                kernel_regularizer=lc.MyL1Regularizer(0.02),
                kernel_constraint=lc.MyPositiveWeights(),
            ),
            keras.layers.Dense(
                1,
                kernel_initializer=lc.my_glorot_initializer,
                kernel_regularizer=lc.my_l1_regularizer if functions else lc.MyL1Regularizer(0.01),
                kernel_constraint=lc.my_positive_weights if functions else lc.MyPositiveWeights(),
            ),
        ]
    )
    model.compile(
        loss=lc.HuberLoss(2.0),
        optimizer=lc.MyMomentumOptimizer(0.01, 0.8),
        metrics=[lc.HuberMetric(2.0), lc.StreamingRMSE()],
    )
    model.fit(X, Y2, epochs=2, batch_size=8, verbose=0)
    assert all((numbers(w) >= 0).all() for w in model.layers[0].weights[:1])  # the constraint
    path = tmp_path / "all.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(X, verbose=0), reloaded.predict(X, verbose=0))
    dense = reloaded.layers[0]
    assert isinstance(dense.kernel_regularizer, lc.MyL1Regularizer)
    assert dense.kernel_regularizer.factor == 0.02
    assert dense.kernel_initializer.seed == 3
    assert isinstance(dense.kernel_constraint, lc.MyPositiveWeights)
    assert dense.activation is lc.my_softplus_activation
    assert reloaded.loss.threshold == 2.0
    assert isinstance(reloaded.optimizer, lc.MyMomentumOptimizer)
    assert reloaded.optimizer.momentum == 0.8
    # the optimizer's state is saved too: one more step gives the same weights on both
    model.train_on_batch(X[:8], Y2[:8])
    reloaded.train_on_batch(X[:8], Y2[:8])
    for mine, theirs in zip(model.get_weights(), reloaded.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)


def test_every_config_class_rebuilds_from_its_config():
    for obj, attribute in [
        (lc.HuberLoss(3.0), "threshold"),
        (lc.QuantileLoss(0.9), "quantile"),
        (lc.HuberMetric(0.5), "threshold"),
        (lc.MyL1Regularizer(0.3), "factor"),
        (lc.MyGlorotInitializer(seed=9), "seed"),
    ]:
        rebuilt = type(obj).from_config(obj.get_config())
        assert getattr(rebuilt, attribute) == getattr(obj, attribute)


def test_the_initializer_has_glorots_spread():
    values = numbers(lc.MyGlorotInitializer(seed=0)((300, 200)))
    assert values.std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)


# --- the NumPy helpers ---------------------------------------------------------------------


@pytest.mark.parametrize("loss", lc.LINE_LOSSES)
@pytest.mark.parametrize("outlier_size", [0.0, 5.0, -3.0, 20.0])
@pytest.mark.parametrize("threshold", [0.3, 1.0, 3.0])
def test_fit_line_minimizes_the_mean_loss(loss, outlier_size, threshold):
    data = lc.make_line_with_outlier(outlier_size)
    slope, intercept = lc.fit_line(data.x, data.y, loss, threshold)

    def mean_loss(params):
        return np.mean(lc.line_loss(data.y - (params[0] * data.x + params[1]), loss, threshold))

    reference = scipy.optimize.minimize(
        mean_loss, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14}
    )
    assert mean_loss([slope, intercept]) <= reference.fun + 1e-7


def test_an_outlier_pulls_the_mse_line_and_hardly_the_huber_or_mae_line():
    data = lc.make_line_with_outlier(10.0)
    slopes = {loss: lc.fit_line(data.x, data.y, loss)[0] for loss in lc.LINE_LOSSES}
    assert abs(slopes["mse"] - 0.5) > 0.5
    assert abs(slopes["huber"] - 0.5) < 0.1 and abs(slopes["mae"] - 0.5) < 0.05


def test_line_loss_gradients_are_the_derivatives():
    errors = np.array([-2.5, -0.4, 0.3, 1.7])
    for loss in lc.LINE_LOSSES:
        step = 1e-6
        numeric = (lc.line_loss(errors + step, loss) - lc.line_loss(errors - step, loss)) / 2 / step
        np.testing.assert_allclose(lc.line_loss_gradient(errors, loss), numeric, rtol=1e-5)


def test_add_target_outliers_shifts_the_chosen_fraction_only():
    y = np.zeros((50, 1), dtype="float32")
    shifted = lc.add_target_outliers(y, fraction=0.1, size=8.0, seed=1)
    assert shifted.dtype == y.dtype and (y == 0).all()
    assert int((shifted == 8.0).sum()) == 5 and int((shifted == 0).sum()) == 45


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: lc.add_target_outliers(np.zeros(5), fraction=1.0), "fraction"),
        (lambda: lc.make_line_with_outlier(float("nan")), "outlier_size"),
        (lambda: lc.make_line_with_outlier(1.0, n_points=2), "n_points"),
        (lambda: lc.line_loss([1.0], "hinge"), "loss"),
        (lambda: lc.fit_line([1.0, 2.0], [1.0], "mse"), "x and y"),
        (lambda: lc.batch_precisions([1, 0], [1, 0], 0), "batch_size"),
        (lambda: lc.make_classifier_outputs(1.0), "positive_fraction"),
    ],
)
def test_helpers_refuse_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("batch_size", [1, 3, 8, 50])
def test_streaming_precision_matches_keras_precision_streamed(batch_size):
    y_true, y_pred = lc.make_classifier_outputs(0.3, n_samples=50, seed=5)
    sizes = [min(batch_size, 50 - start) for start in range(0, 50, batch_size)]
    keras_streamed = stream(keras.metrics.Precision(), y_true, y_pred, sizes)
    streamed = lc.streaming_precision(y_true, y_pred, batch_size)
    assert streamed == pytest.approx(keras_streamed, rel=1e-6)
    assert streamed == lc.precision(y_true, y_pred)


# --- cases the review of lesson 00 found (rev00) --------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda value: lc.HuberLoss(value),
        lambda value: lc.HuberMetric(value),
        lambda value: lc.create_huber(value),
        lambda value: lc.MyL1Regularizer(value),
        lambda value: lc.QuantileLoss(value),
        lambda value: lc.MyMomentumOptimizer(momentum=value),
    ],
)
@pytest.mark.parametrize("bad", [True, False, "0.5", None])
def test_hyperparameters_refuse_bools_and_non_numbers_with_a_value_error(make, bad):
    with pytest.raises(ValueError, match="got"):
        make(bad)


def test_my_momentum_optimizer_takes_sparse_gradients_like_sgd():
    keras.utils.set_random_seed(3)
    tokens = np.random.default_rng(3).integers(0, 20, size=(32, 3))
    ours = keras.Sequential(
        [keras.Input((3,), dtype="int32"), keras.layers.Embedding(20, 4), keras.layers.Dense(1)]
    )
    theirs = momentum_twin(ours, learning_rate=0.1, momentum=0.9)
    targets = np.random.default_rng(4).normal(size=(32, 3, 1)).astype("float32")
    assert_trains_alike(ours, theirs, tokens, targets, batch_size=8)  # 4 steps


def test_with_a_learning_rate_schedule_my_momentum_is_not_sgd():
    """The equivalence needs a constant rate: ours scales the whole velocity by today's rate."""

    def schedule(rate):
        return keras.optimizers.schedules.ExponentialDecay(rate, decay_steps=1, decay_rate=0.5)

    variables = [keras.Variable(np.zeros(3, dtype="float32")) for _ in range(2)]
    optimizers = [lc.MyMomentumOptimizer(schedule(0.1), 0.9)]
    optimizers.append(keras.optimizers.SGD(schedule(0.1 * (1 - 0.9)), momentum=0.9))
    for step in range(4):
        gradient = keras.ops.convert_to_tensor(np.full(3, 1.0 + step, dtype="float32"))
        for optimizer, variable in zip(optimizers, variables, strict=True):
            optimizer.apply_gradients([(gradient, variable)])
    gap = np.abs(numbers(variables[0]) - numbers(variables[1])).max()
    assert gap > 1e-3
