"""Lesson 03's code: ``ReconstructingRegressor``, the weight sweep, ``ActivityPenalty``.

The model is trained for one or two epochs only: the properties tested (how the loss is made
up, which metrics are reported, saving) hold from the first step.
"""

from helpers.data import load_regression_data
from helpers.lesson03_losses import (
    ActivityPenalty,
    ReconstructingRegressor,
    _stacked_forward,
    sweep_reconstruction_weights,
)

import keras
import numpy as np
import pytest

DATA = load_regression_data()


def _compiled(weight, seed=1):
    keras.utils.set_random_seed(seed)
    model = ReconstructingRegressor(1, reconstruction_weight=weight)
    model.compile(loss="mse", optimizer="sgd")
    return model


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.mark.parametrize("weight", [0.05, 0.5])
def test_reported_loss_is_main_loss_plus_weighted_reconstruction(weight):
    model = _compiled(weight)
    X, y = DATA.X_valid, DATA.y_valid  # one fixed batch: evaluate reports its loss as is
    results = model.evaluate(X, y, batch_size=len(X), verbose=0, return_dict=True)
    mse = float(np.mean((_numpy(model(X)) - y) ** 2))
    reconstruction = results["reconstruction_error"]
    assert reconstruction > 0
    assert results["loss"] == pytest.approx(mse + weight * reconstruction, rel=1e-5)
    assert results["loss"] != pytest.approx(mse, rel=1e-3)  # the added loss is not negligible


def test_model_losses_hold_the_weighted_reconstruction_after_a_call():
    model = _compiled(0.05)
    model(DATA.X_valid)
    (added,) = model.losses
    model.reconstruction_error.reset_state()
    model(DATA.X_valid)
    error = float(model.reconstruction_error.result())
    assert float(_numpy(added)) == pytest.approx(0.05 * error, rel=1e-6)


def test_fit_history_and_evaluate_report_the_reconstruction_error():
    model = _compiled(0.05)
    history = model.fit(
        DATA.X_train,
        DATA.y_train,
        epochs=2,
        batch_size=47,
        validation_data=(DATA.X_valid, DATA.y_valid),
        verbose=0,
    )
    for key in ("reconstruction_error", "val_reconstruction_error"):
        assert len(history.history[key]) == 2
        assert all(value > 0 for value in history.history[key])
    results = model.evaluate(DATA.X_valid, DATA.y_valid, verbose=0, return_dict=True)
    assert results["reconstruction_error"] > 0  # not a silent 0
    assert results["reconstruction_error"] == pytest.approx(
        history.history["val_reconstruction_error"][-1], rel=1e-5
    )


def test_weight_zero_gives_exactly_the_plain_mse():
    model = _compiled(0.0)
    X, y = DATA.X_valid, DATA.y_valid
    predictions = model(X)
    loss = float(_numpy(model.compute_loss(x=X, y=y, y_pred=predictions)))
    assert loss == float(_numpy(keras.losses.MeanSquaredError()(y, predictions)))
    results = model.evaluate(X, y, batch_size=len(X), verbose=0, return_dict=True)
    assert results["loss"] == pytest.approx(loss, rel=1e-6)


def test_round_trip_through_a_keras_file(tmp_path):
    model = _compiled(0.2)
    model.fit(DATA.X_train, DATA.y_train, epochs=1, batch_size=47, verbose=0)
    path = tmp_path / "reconstructing.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, ReconstructingRegressor)
    assert loaded.reconstruction_weight == 0.2
    assert loaded.get_config()["output_dim"] == 1
    np.testing.assert_array_equal(_numpy(loaded(DATA.X_valid)), _numpy(model(DATA.X_valid)))
    loaded(DATA.X_valid)
    model(DATA.X_valid)
    assert float(_numpy(loaded.losses[0])) == float(_numpy(model.losses[0]))


@pytest.mark.parametrize("weight", [-0.1, float("nan"), float("inf")])
def test_bad_reconstruction_weight_raises(weight):
    with pytest.raises(ValueError, match="reconstruction_weight"):
        ReconstructingRegressor(1, reconstruction_weight=weight)


def test_stacked_forward_is_the_models_forward_pass():
    model = _compiled(1.0)
    X = DATA.X_valid
    predictions = _numpy(model(X))
    parameters = [
        (_numpy(layer.kernel)[None], _numpy(layer.bias)[None, None])
        for layer in [*model.hidden, model.out, model.reconstruct]
    ]
    stacked_predictions, reconstruction = _stacked_forward(parameters, X)
    np.testing.assert_allclose(_numpy(stacked_predictions)[0], predictions, rtol=1e-5, atol=1e-6)
    error = float(np.mean((_numpy(reconstruction)[0] - X) ** 2))
    assert error == pytest.approx(float(_numpy(model.losses[0])), rel=1e-5)


def test_small_sweep_trains_the_reconstruction_only_when_weighted():
    sweep = sweep_reconstruction_weights(weights=(0.0, 1.0), n_seeds=1, epochs=5)
    assert sweep.weights == (0.0, 1.0)
    for scores in (sweep.train_mse, sweep.validation_mse, sweep.reconstruction_error):
        assert scores.shape == (2,)
        assert np.isfinite(scores).all()
    # At weight 0 the reconstruction layer gets no gradient: it stays a random projection.
    assert sweep.reconstruction_error[1] < 0.5 * sweep.reconstruction_error[0]
    assert sweep_reconstruction_weights(weights=(0.0, 1.0), n_seeds=1, epochs=5) is sweep
    assert sweep.validation_by_model.shape == (2, 1)
    change, error = sweep.validation_change()
    assert change[0] == 0 and np.isnan(error).all()  # one seed: no standard error


def test_sweep_seeds_give_each_model_its_own_luck_and_pair_them_across_weights():
    # Lesson 03's sweep (issue 24, item 2): models of one weight differ (their own
    # initialization and batch order); weight 0 against itself changes by exactly 0.
    sweep = sweep_reconstruction_weights(weights=(0.0, 0.0, 1.0), n_seeds=3, epochs=2)
    by_model = sweep.validation_by_model
    assert by_model.shape == (3, 3)
    assert len(set(np.round(by_model[0], 6))) == 3  # three seeds, three different scores
    # Same seeds, same weight: the same model, up to float32 rounding (the stacked matrix
    # products may round each model's slice differently).
    np.testing.assert_allclose(by_model[0], by_model[1], rtol=1e-4)
    np.testing.assert_allclose(sweep.validation_mse, by_model.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(sweep.validation_spread(), by_model.std(axis=1), rtol=1e-6)
    change, error = sweep.validation_change()
    assert abs(change[1]) < 1e-4 and error[1] < 1e-4
    differences = by_model[2] - by_model[0]
    assert change[2] == pytest.approx(differences.mean())
    assert error[2] == pytest.approx(differences.std(ddof=1) / np.sqrt(3))


def test_validation_change_needs_weight_zero():
    sweep = sweep_reconstruction_weights(weights=(0.1, 1.0), n_seeds=1, epochs=1)
    with pytest.raises(ValueError, match="no weight 0"):
        sweep.validation_change()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"weights": ()}, "weights"),
        ({"weights": (0.0, -1.0)}, "weights"),
        ({"n_seeds": 0}, "n_seeds"),
        ({"epochs": 1.5}, "epochs"),
        ({"batch_size": 10_000}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
    ],
)
def test_sweep_refuses_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sweep_reconstruction_weights(**kwargs)


def test_activity_penalty_round_trips_inside_a_model(tmp_path):
    model = keras.Sequential(
        [keras.Input(shape=(10,)), ActivityPenalty(0.2), keras.layers.Dense(1)]
    )
    model.save(tmp_path / "penalty.keras")
    loaded = keras.models.load_model(tmp_path / "penalty.keras")
    np.testing.assert_array_equal(_numpy(loaded(DATA.X_valid)), _numpy(model(DATA.X_valid)))
    assert float(_numpy(loaded.losses[0])) == pytest.approx(
        0.2 * float(np.abs(DATA.X_valid).mean()), rel=1e-6
    )


def test_activity_regularizer_is_activity_penalty_times_the_units():
    # Lesson 03 and ActivityPenalty's docstring: Keras sums over the units; from Keras 3.14 on it
    # divides by the batch size (keras#22021), Keras 3.13 (Colab's) does not.
    features = DATA.X_valid[:8]
    regularized = keras.layers.Activation(
        "linear", activity_regularizer=keras.regularizers.L1(0.01)
    )
    regularized(features)
    penalized = ActivityPenalty(0.01)
    penalized(features)
    ratio = float(_numpy(regularized.losses[0])) / float(_numpy(penalized.losses[0]))
    rows, units = features.shape
    divides = tuple(int(part) for part in keras.__version__.split(".")[:2]) >= (3, 14)
    assert ratio == pytest.approx(units if divides else units * rows, rel=1e-5)


@keras.saving.register_keras_serializable(package="tests")
class _BookBuildRegressor(ReconstructingRegressor):
    def build(self, batch_input_shape):  # the book's build(): no sublayer built
        self.reconstruct = keras.layers.Dense(batch_input_shape[-1])
        keras.Model.build(self, batch_input_shape)


def test_a_build_that_leaves_layers_unbuilt_loads_no_weights_and_says_nothing(tmp_path, recwarn):
    # Lesson 03's pitfall: each unbuilt layer's "was never built" error is
    # erased by a second, empty load through another path. If a Keras release starts raising
    # or warning here, the lesson's explanation must change.
    model = _BookBuildRegressor(1)
    model(DATA.X_valid[:4])
    model.save(tmp_path / "book.keras")
    loaded = keras.models.load_model(tmp_path / "book.keras")
    assert len(model.weights) == 14 and len(loaded.weights) == 0
    assert not [w for w in recwarn if "build" in str(w.message) or "load" in str(w.message)]
    unbuilt = keras.layers.Dense(1)
    with pytest.raises(ValueError, match="was never built"):
        unbuilt.load_own_variables({"0": np.zeros((30, 1)), "1": np.zeros(1)})
    unbuilt.load_own_variables({})  # the empty load: no error


class CountingRegressor(ReconstructingRegressor):
    """Counts the Python runs of ``call``: in ``fit`` each one is a trace of a step function."""

    runs = 0

    def call(self, inputs):
        CountingRegressor.runs += 1
        return super().call(inputs)


@pytest.mark.parametrize(("build_optimizer", "traces"), [(True, 1), (False, 2)])
def test_fit_traces_once_whatever_the_batch_size_if_the_optimizer_is_built(build_optimizer, traces):
    # Lesson 03's speed choices: 282 rows in batches of 32 end with a batch of 26, yet one
    # trace serves both (tf.data leaves the batch dimension open); an unbuilt Adam creates
    # its variables in the first trace, and TensorFlow traces the step again.
    keras.utils.set_random_seed(0)
    model = CountingRegressor(1)
    model.compile(loss="mse", optimizer="adam")
    model.build(DATA.X_train.shape)
    if build_optimizer:
        model.optimizer.build(model.trainable_variables)
    CountingRegressor.runs = 0
    model.fit(DATA.X_train, DATA.y_train, epochs=1, batch_size=32, verbose=0)
    assert len(DATA.X_train) % 32 != 0
    assert CountingRegressor.runs == traces


class ShapeRecordingRegressor(ReconstructingRegressor):
    """Records the input shape of each Python run of ``call``: the shape a step is traced for."""

    shapes = []

    def call(self, inputs):
        ShapeRecordingRegressor.shapes.append(tuple(inputs.shape))
        return super().call(inputs)


@pytest.mark.parametrize(("batch_size", "shape"), [(47, (47, 10)), (32, (None, 10))])
def test_fit_traces_a_fixed_batch_shape_only_when_every_batch_is_full(batch_size, shape):
    # Lesson 03, cell 12 (issue 24, item 13): 282 rows in batches of 47 trace (47, 10); with a
    # smaller last batch, the one trace leaves the batch dimension open.
    keras.utils.set_random_seed(0)
    model = ShapeRecordingRegressor(1)
    model.compile(loss="mse", optimizer="adam")
    model.build(DATA.X_train.shape)
    model.optimizer.build(model.trainable_variables)
    ShapeRecordingRegressor.shapes = []
    model.fit(DATA.X_train, DATA.y_train, epochs=1, batch_size=batch_size, verbose=0)
    assert ShapeRecordingRegressor.shapes == [shape]
