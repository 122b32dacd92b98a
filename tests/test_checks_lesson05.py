"""Lesson 05's self-checks pass the solutions and fail, with reasons, each typical mistake."""

from helpers.checks import check_digits_training_loop, check_two_optimizer_step
from helpers.lesson05_training import random_batch

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.check_reports import failed_descriptions


def make_train_digits(
    *,
    with_regularization=True,
    last_batch_validation=False,
    training_penalty=True,
    reset="epoch",
    training=True,
    validation_training=None,
):
    """A solution of exercise 1, or one with a chosen mistake: ``reset`` is when the training
    metrics are reset ("epoch", "never" or "step")."""

    def train_digits(model, optimizer, train_data, valid_data, *, epochs, batch_size):
        (X_train, y_train), (X_valid, y_valid) = train_data, valid_data
        loss_fn = keras.losses.sparse_categorical_crossentropy
        mean_loss = keras.metrics.Mean(name="loss")
        accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

        @tf.function
        def train_step(X_batch, y_batch):
            with tf.GradientTape() as tape:
                y_pred = model(X_batch, training=training)
                main_loss = tf.reduce_mean(loss_fn(y_batch, y_pred))
                loss = tf.add_n([main_loss] + model.losses)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            mean_loss.update_state(loss if training_penalty else main_loss)
            accuracy.update_state(y_batch, y_pred)

        history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        for _ in range(epochs):
            if reset == "epoch":
                for metric in (mean_loss, accuracy):
                    metric.reset_state()
            for _ in range(len(X_train) // batch_size):
                if reset == "step":
                    for metric in (mean_loss, accuracy):
                        metric.reset_state()
                train_step(*random_batch(X_train, y_train, batch_size))
            print("a progress bar the check must hide")
            history["loss"].append(float(mean_loss.result()))
            history["accuracy"].append(float(accuracy.result()))
            X_eval, y_eval = (
                (X_valid[-32:], y_valid[-32:]) if last_batch_validation else (X_valid, y_valid)
            )
            y_pred = model(X_eval, training=validation_training)
            val_loss = float(np.mean(loss_fn(y_eval, y_pred)))
            if with_regularization:
                val_loss += sum(float(loss) for loss in model.losses)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(float(np.mean(np.argmax(y_pred, axis=-1) == y_eval)))
        return history

    return train_digits


class TestDigitsTrainingLoop:
    def test_passes_a_solution_and_hides_its_output(self, capsys):
        report = check_digits_training_loop(make_train_digits())
        assert report.passed, str(report)
        assert "progress bar" not in capsys.readouterr().out

    def test_forgetting_model_losses_in_validation_fails_that_line(self):
        report = check_digits_training_loop(make_train_digits(with_regularization=False))
        assert failed_descriptions(report) == [
            "val_loss is the trained model's loss on the validation set, model.losses included"
        ]
        assert "without model.losses: add them" in str(report)

    def test_compile_and_fit_instead_of_a_loop_fail_the_training_lines(self):
        """The exercise asks for a loop: fit's own history would pass every number."""

        def with_fit(model, optimizer, train_data, valid_data, *, epochs, batch_size):
            model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
            fitted = model.fit(
                *train_data,
                epochs=epochs,
                batch_size=batch_size,
                validation_data=valid_data,
                verbose=0,
            )
            return fitted.history

        report = check_digits_training_loop(with_fit, epochs=1)
        assert failed_descriptions(report) == [
            "loss is the mean of each epoch's step losses, model.losses included",
            "accuracy is each epoch's accuracy over that epoch's batches",
        ]
        assert "compile() and fit()" in str(report)

    def test_validating_in_training_mode_is_named(self):
        report = check_digits_training_loop(make_train_digits(validation_training=True), epochs=1)
        assert "evaluate the validation set with training=False" in str(report)
        assert "KeyError" not in str(report)

    def test_forgetting_model_losses_in_the_training_loss_fails_that_line(self):
        report = check_digits_training_loop(make_train_digits(training_penalty=False))
        assert failed_descriptions(report) == [
            "loss is the mean of each epoch's step losses, model.losses included"
        ]

    @pytest.mark.parametrize("reset", ["never", "step"])
    def test_metrics_reset_at_the_wrong_time_fail_both_training_lines(self, reset):
        report = check_digits_training_loop(make_train_digits(reset=reset))
        assert failed_descriptions(report) == [
            "loss is the mean of each epoch's step losses, model.losses included",
            "accuracy is each epoch's accuracy over that epoch's batches",
        ]

    def test_metrics_never_reset_are_named(self):
        # A walk-through's first attempt forgot reset_state(): the detail must say so.
        report = check_digits_training_loop(make_train_digits(reset="never"))
        details = [line.detail for line in report.lines if not line.passed]
        assert all("reset the metrics at the start of each epoch" in d for d in details), details

    def test_training_without_training_true_is_named(self):
        report = check_digits_training_loop(make_train_digits(training=False), epochs=1)
        assert "never called with training=True" in str(report)

    def test_a_loop_in_eager_mode_passes_too(self):
        def eager(model, optimizer, train_data, valid_data, *, epochs, batch_size):
            tf.config.run_functions_eagerly(True)
            try:
                return make_train_digits()(
                    model, optimizer, train_data, valid_data, epochs=epochs, batch_size=batch_size
                )
            finally:
                tf.config.run_functions_eagerly(False)

        assert check_digits_training_loop(eager, epochs=1).passed

    def test_validating_on_part_of_the_data_fails(self):
        report = check_digits_training_loop(make_train_digits(last_batch_validation=True))
        assert not report.passed
        assert any("val_" in line for line in failed_descriptions(report))

    def test_the_stub_fails_every_line_with_a_reason(self):
        def stub(model, optimizer, train_data, valid_data, *, epochs, batch_size):
            return {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}

        report = check_digits_training_loop(stub)
        assert len(failed_descriptions(report)) == len(report.lines) == 7
        assert all(line.detail for line in report.lines)

    def test_a_raising_loop_is_reported_not_raised(self):
        def broken(*args, **kwargs):
            raise ValueError("shapes do not match")

        report = check_digits_training_loop(broken)
        assert not report.passed
        assert "ValueError: shapes do not match" in str(report)


def two_optimizer_step(model, lower_optimizer, upper_optimizer, X_batch, y_batch):
    lower, upper = model.layers
    with tf.GradientTape() as tape:
        y_pred = model(X_batch, training=True)
        main_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y_batch, y_pred))
        loss = tf.add_n([main_loss] + model.losses)
    n_lower = len(lower.trainable_variables)
    gradients = tape.gradient(loss, lower.trainable_variables + upper.trainable_variables)
    lower_optimizer.apply_gradients(
        zip(gradients[:n_lower], lower.trainable_variables, strict=True)
    )
    upper_optimizer.apply_gradients(
        zip(gradients[n_lower:], upper.trainable_variables, strict=True)
    )
    return loss


class TestTwoOptimizerStep:
    def test_passes_a_solution(self):
        report = check_two_optimizer_step(two_optimizer_step)
        assert report.passed, str(report)

    def test_the_books_persistent_tape_passes_too(self):
        def persistent(model, lower_optimizer, upper_optimizer, X_batch, y_batch):
            with tf.GradientTape(persistent=True) as tape:
                y_pred = model(X_batch, training=True)
                loss = tf.add_n(
                    [tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y_batch, y_pred))]
                    + model.losses
                )
            for part, optimizer in zip(
                model.layers, (lower_optimizer, upper_optimizer), strict=True
            ):
                gradients = tape.gradient(loss, part.trainable_variables)
                optimizer.apply_gradients(zip(gradients, part.trainable_variables, strict=True))
            del tape
            return loss

        assert check_two_optimizer_step(persistent).passed

    def test_swapped_optimizers_fail_the_first_two_lines(self):
        def swapped(model, lower_optimizer, upper_optimizer, X_batch, y_batch):
            return two_optimizer_step(model, upper_optimizer, lower_optimizer, X_batch, y_batch)

        failed = failed_descriptions(check_two_optimizer_step(swapped))
        assert failed[:2] == [
            "the lower optimizer updates the lower layers only",
            "the upper optimizer updates the upper layers only",
        ]

    def test_forgetting_model_losses_fails_the_update_and_loss_lines(self):
        def unregularized(model, lower_optimizer, upper_optimizer, X_batch, y_batch):
            lower, upper = model.layers
            with tf.GradientTape() as tape:
                y_pred = model(X_batch, training=True)
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y_batch, y_pred))
            n = len(lower.trainable_variables)
            gradients = tape.gradient(loss, lower.trainable_variables + upper.trainable_variables)
            lower_optimizer.apply_gradients(
                zip(gradients[:n], lower.trainable_variables, strict=True)
            )
            upper_optimizer.apply_gradients(
                zip(gradients[n:], upper.trainable_variables, strict=True)
            )
            return loss

        assert failed_descriptions(check_two_optimizer_step(unregularized)) == [
            "each update is its optimizer's step on the regularized loss's gradient",
            "returns the loss, regularization included",
        ]

    @pytest.mark.parametrize("returned", [None, "text"])
    def test_a_bad_return_value_fails_with_a_reason(self, returned):
        def no_loss(*args):
            two_optimizer_step(*args)
            return returned

        report = check_two_optimizer_step(no_loss)
        assert failed_descriptions(report) == ["returns the loss, regularization included"]
