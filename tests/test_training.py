"""helpers.lesson05_training: the hand-written loop agrees with fit and with itself in each mode."""

from helpers import data as lesson_data
from helpers import lesson05_training as training

import keras
import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture(scope="module")
def data():
    return lesson_data.load_regression_data()


def fit_settings(data, **overrides):
    settings = dict(
        epochs=2,
        batch_size=32,
        optimizer=keras.optimizers.Nadam(learning_rate=0.01),
        loss_fn=keras.losses.mean_squared_error,
        metrics=[keras.metrics.MeanAbsoluteError()],
        validation_data=(data.X_valid, data.y_valid),
    )
    settings.update(overrides)
    return settings


class TestRandomBatch:
    def test_draws_rows_of_the_data_in_pairs(self):
        X = np.arange(20).reshape(10, 2)
        y = np.arange(10)
        X_batch, y_batch = training.random_batch(X, y, batch_size=7)
        assert X_batch.shape == (7, 2) and y_batch.shape == (7,)
        np.testing.assert_array_equal(X_batch[:, 0] // 2, y_batch)

    def test_is_seeded_by_keras(self):
        X, y = np.arange(100), np.arange(100)
        keras.utils.set_random_seed(1)
        first = training.random_batch(X, y)[1]
        keras.utils.set_random_seed(1)
        np.testing.assert_array_equal(training.random_batch(X, y)[1], first)

    @pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
    def test_refuses_a_bad_batch_size(self, batch_size):
        with pytest.raises(ValueError, match="batch_size"):
            training.random_batch(np.zeros(4), np.zeros(4), batch_size)

    def test_refuses_unpaired_data(self):
        with pytest.raises(ValueError, match="X and y"):
            training.random_batch(np.zeros(4), np.zeros(5))


class TestFitWithCustomLoop:
    def test_matches_fit_with_the_same_batches(self, data):
        loop = training.fit_with_custom_loop(
            training.make_regularized_regressor(), data.X_train, data.y_train, **fit_settings(data)
        )
        settings = fit_settings(data)
        model = training.make_regularized_regressor()
        model.compile(
            optimizer=settings["optimizer"], loss="mse", metrics=[keras.metrics.MeanAbsoluteError()]
        )
        fitted = model.fit(
            data.X_train,
            data.y_train,
            epochs=2,
            batch_size=32,
            shuffle=False,
            validation_data=settings["validation_data"],
            verbose=0,
        ).history
        assert sorted(loop) == sorted(fitted)
        for key in fitted:
            np.testing.assert_allclose(loop[key], fitted[key], rtol=1e-5, err_msg=key)

    @pytest.mark.parametrize("mode", ["eager", "xla"])
    def test_every_mode_gives_the_same_losses(self, data, mode):
        histories = {
            name: training.fit_with_custom_loop(
                training.make_regularized_regressor(),
                data.X_train,
                data.y_train,
                mode=name,
                seed=3,
                **fit_settings(data),
            )
            for name in ("function", mode)
        }
        for key, values in histories["function"].items():
            np.testing.assert_allclose(histories[mode][key], values, rtol=1e-5, err_msg=key)

    def test_the_loss_includes_the_regularization_losses(self, data):
        # With a learning rate of 0 nothing moves (once the kernel meets its constraint, which
        # apply_gradients enforces): each loss is the model's MSE plus its L2 penalties.
        model = training.make_regularized_regressor()
        kernel = model.layers[0].kernel
        kernel.assign(kernel.constraint(kernel))
        y_pred = model(data.X_train)
        mse = float(np.mean((np.asarray(y_pred) - data.y_train) ** 2))
        penalty = sum(float(loss) for loss in model.losses)
        history = training.fit_with_custom_loop(
            model,
            data.X_train,
            data.y_train,
            **fit_settings(data, epochs=1, optimizer=keras.optimizers.SGD(0.0)),
        )
        assert penalty > 1.0
        assert history["loss"][0] == pytest.approx(mse + penalty, rel=1e-5)
        assert history["val_loss"][0] > penalty

    def test_the_constraint_holds_after_training(self, data):
        model = training.make_regularized_regressor()
        kernel = model.layers[0].kernel
        assert float(tf.reduce_max(tf.norm(kernel, axis=0))) > 1.0  # He init: longer columns
        training.fit_with_custom_loop(
            model,
            data.X_train,
            data.y_train,
            **fit_settings(data, epochs=1, optimizer=keras.optimizers.SGD(0.1)),
        )
        assert float(tf.reduce_max(tf.norm(kernel, axis=0))) <= 1.0 + 1e-6

    def test_history_without_validation_has_no_val_keys(self, data):
        history = training.fit_with_custom_loop(
            training.make_regularized_regressor(),
            data.X_train[:64],
            data.y_train[:64],
            **fit_settings(data, validation_data=None, metrics=()),
        )
        assert list(history) == ["loss"] and len(history["loss"]) == 2

    def test_a_seed_shuffles_and_is_reproducible(self, data):
        def run(seed):
            return training.fit_with_custom_loop(
                training.make_regularized_regressor(),
                data.X_train,
                data.y_train,
                seed=seed,
                **fit_settings(data, epochs=1, validation_data=None),
            )["loss"]

        assert run(5) == run(5)
        assert run(5) != run(None)

    def test_verbose_shows_a_progress_bar_per_epoch(self, data, capsys):
        training.fit_with_custom_loop(
            training.make_regularized_regressor(),
            data.X_train[:64],
            data.y_train[:64],
            verbose=1,
            **fit_settings(data),
        )
        out = capsys.readouterr().out
        assert "Epoch 1/2" in out and "Epoch 2/2" in out
        assert "2/2" in out and "mean_absolute_error" in out

    @pytest.mark.parametrize(
        ("override", "named"),
        [
            ({"epochs": 0}, "epochs"),
            ({"batch_size": 0}, "batch_size"),
            ({"mode": "graph"}, "mode"),
            ({"validation_data": (np.zeros((3, 10)), np.zeros(2))}, "validation_data"),
        ],
    )
    def test_bad_arguments_are_named(self, data, override, named):
        with pytest.raises(ValueError, match=named):
            training.fit_with_custom_loop(
                training.make_regularized_regressor(),
                data.X_train,
                data.y_train,
                **fit_settings(data, **override),
            )

    def test_x_and_y_of_different_lengths_are_refused(self, data):
        with pytest.raises(ValueError, match="X and y"):
            training.fit_with_custom_loop(
                training.make_regularized_regressor(),
                data.X_train,
                data.y_train[:-1],
                **fit_settings(data),
            )


class TestStepsAndTimings:
    @pytest.mark.parametrize("mode", training.EXECUTION_MODES)
    def test_make_train_step_returns_loss_predictions_and_gradients(self, data, mode):
        model = training.make_regularized_regressor()
        step = training.make_train_step(
            model, keras.optimizers.SGD(0.01), keras.losses.mean_squared_error, mode
        )
        before = model.layers[1].kernel.numpy().copy()
        loss, y_pred, gradients = step(data.X_train[:8], data.y_train[:8])
        assert y_pred.shape == (8, 1) and np.isfinite(float(loss))
        assert len(gradients) == len(model.trainable_variables)
        assert not np.array_equal(model.layers[1].kernel.numpy(), before)
        assert isinstance(step, tf.types.experimental.PolymorphicFunction) == (mode != "eager")

    @pytest.mark.parametrize(("build_first", "expected"), [(False, [2, 2, 3]), (True, [1, 1, 2])])
    def test_an_unbuilt_optimizer_traces_the_first_call_twice(self, data, build_first, expected):
        # Variables may only be created on a TF Function's first call: an optimizer that
        # creates its own in the first trace makes TensorFlow trace again at once. A smaller
        # last batch (282 rows in batches of 32 end with 26) traces once more.
        model = training.make_regularized_regressor()
        optimizer = keras.optimizers.Nadam(0.01)
        if build_first:
            optimizer.build(model.trainable_variables)
        step = training.make_train_step(model, optimizer, keras.losses.mean_squared_error)
        counts = []
        for size in (32, 32, 26):
            step(data.X_train[:size], data.y_train[:size])
            counts.append(step.experimental_get_tracing_count())
        assert counts == expected

    def test_time_train_step_builds_the_optimizer_only_as_fit_does(self, data):
        """A model not built yet has no variables: an optimizer built for none of them would
        refuse the first step's gradients (Keras: "Unknown variable")."""
        unbuilt = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(1)])
        timing = training.time_train_step(
            unbuilt,
            keras.optimizers.Nadam(0.01),
            keras.losses.mean_squared_error,
            data.X_train[:32],
            data.y_train[:32],
            mode="function",
            steps=2,
            repeats=1,
        )
        assert timing.ms_per_step > 0 and unbuilt.built
        # A built model's optimizer is built before the first call, so that call traces once.
        model, optimizer = training.make_regularized_regressor(), keras.optimizers.Nadam(0.01)
        training.build_optimizer_as_fit_does(model, optimizer)
        assert optimizer.built
        variables = list(optimizer.variables)
        training.build_optimizer_as_fit_does(model, optimizer)  # built: left as it is
        assert optimizer.variables == variables

    def test_time_train_step_measures_every_mode(self, data):
        timings = [
            training.time_train_step(
                training.make_regularized_regressor(),
                keras.optimizers.SGD(0.01),
                keras.losses.mean_squared_error,
                data.X_train[:32],
                data.y_train[:32],
                mode=mode,
                steps=3,
                repeats=1,
            )
            for mode in training.EXECUTION_MODES
        ]
        assert [timing.mode for timing in timings] == list(training.EXECUTION_MODES)
        assert all(t.first_call_ms > 0 and t.ms_per_step > 0 for t in timings)
        # A graph removes Python's per-operation dispatch: by far the bigger part of a step
        # of this tiny model (10 to 27 times here; asserted loosely for noisy machines).
        assert timings[1].ms_per_step < timings[0].ms_per_step

    def test_gradient_norms_are_keyed_by_variable_path(self):
        model = training.make_regularized_regressor()
        gradients = [tf.ones_like(v) for v in model.trainable_variables]
        norms = training.gradient_norms(model, gradients)
        assert list(norms) == [v.path for v in model.trainable_variables]
        assert norms[model.layers[0].kernel.path] == pytest.approx(np.sqrt(10 * 30))

    def test_mode_is_validated(self):
        with pytest.raises(ValueError, match="mode must be one of eager, function, xla"):
            training.validate_mode("jit")


def test_digits_data_is_offline_scaled_and_stratified():
    (X_train, y_train), (X_valid, y_valid) = lesson_data.load_digits_data()
    assert X_train.shape[1] == 64 and X_train.dtype == np.float32
    assert X_train.min() >= 0.0 and X_train.max() <= 1.0
    assert len(X_train) + len(X_valid) == 1797
    assert set(np.unique(y_valid)) == set(range(10))
    with pytest.raises(ValueError, match="valid_size"):
        lesson_data.load_digits_data(valid_size=1.5)
