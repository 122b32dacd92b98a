"""Lesson 05's self-checks: a custom loop on the digits, and two optimizers in one step.

Each check is a ``check_...`` function (the learner's entry point: it lists the report's lines)
over a small class with one method per checked property, so every property reads on its own.
Keras, NumPy and TensorFlow are imported inside the methods, so that importing
``helpers.checks`` does not load TensorFlow.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _digits_model(l2: float, seed: int = 42):
    """A small digits classifier with an L2 penalty, so ``model.losses`` is not empty."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.l2(l2)),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _true_validation(model, X_valid, y_valid):
    """What the model really scores on the validation set: regularized loss and accuracy."""
    import keras
    import numpy as np

    y_pred = model(X_valid, training=False)
    main = float(np.mean(keras.losses.sparse_categorical_crossentropy(y_valid, y_pred)))
    loss = main + sum(float(loss) for loss in model.losses)
    accuracy = float(np.mean(np.argmax(y_pred, axis=-1) == y_valid))
    return loss, accuracy


class _DigitsLoopProperties:
    """What ``check_digits_training_loop`` checks, all on one run of the learner's loop.

    The loop trains a fresh regularized model the first time a property needs its history;
    a loop that raises is called again by the next property, so each line names the error.
    """

    def __init__(self, train_digits, epochs: int, batch_size: int):
        from helpers.data import load_digits_data

        self.train_digits = train_digits
        self.epochs, self.batch_size = epochs, batch_size
        (self.X_train, self.y_train), (self.X_valid, self.y_valid) = load_digits_data()
        self.model = _digits_model(l2=0.01)
        self._history = None
        self._ran = False

    def history(self):
        """The learner's history, from one run (its progress bar hidden)."""
        import contextlib
        import io

        import keras

        if not self._ran:
            optimizer = keras.optimizers.Nadam(learning_rate=0.01)
            # The learner's progress bar shows timings, different on every run: the report,
            # not the bar, is this cell's output.
            with contextlib.redirect_stdout(io.StringIO()):
                self._history = self.train_digits(
                    self.model,
                    optimizer,
                    (self.X_train, self.y_train),
                    (self.X_valid, self.y_valid),
                    epochs=self.epochs,
                    batch_size=self.batch_size,
                )
            self._ran = True
        return self._history

    def recorded(self, key):
        """The values recorded under ``key``, or None when the history has none."""
        history = self.history()
        values = history.get(key) if isinstance(history, dict) else None
        return [float(value) for value in values] if values else None

    def shaped_like_fit(self):
        history = self.history()
        if not isinstance(history, dict):
            return False, f"got a {type(history).__name__}, expected a dict"
        missing = [key for key in HISTORY_KEYS if key not in history]
        if missing:
            return False, f"missing key(s) {', '.join(missing)}; got {', '.join(history)}"
        lengths = {key: len(history[key]) for key in HISTORY_KEYS}
        ok = all(length == self.epochs for length in lengths.values())
        return ok, f"expected {self.epochs} values per key (one per epoch), got {lengths}"

    def training_loss_falls(self):
        import math

        losses = self.recorded("loss")
        if losses is None:
            return False, "no loss recorded"
        ok = all(math.isfinite(value) for value in losses) and losses[-1] < losses[0] + 1e-6
        return ok, f"training losses per epoch: {[round(value, 4) for value in losses]}"

    def learned(self):
        accuracies = self.recorded("val_accuracy")
        if accuracies is None:
            return False, "no val_accuracy recorded"
        detail = f"validation accuracy {accuracies[-1]:.3g} after {self.epochs} epochs"
        return accuracies[-1] > 0.8, detail

    def _matches_the_model(self, index, name):
        import math

        values = self.recorded(name)
        if values is None:
            return False, f"no {name} recorded"
        actual = _true_validation(self.model, self.X_valid, self.y_valid)[index]
        ok = math.isclose(values[-1], actual, rel_tol=1e-3, abs_tol=1e-4)
        return ok, f"reported {values[-1]:.4g}, but the trained model scores {actual:.4g}"

    def true_val_loss(self):
        return self._matches_the_model(0, "val_loss")

    def true_val_accuracy(self):
        return self._matches_the_model(1, "val_accuracy")


def check_digits_training_loop(train_digits, epochs: int = 2, batch_size: int = 64) -> CheckReport:
    """Check a learner's ``train_digits(model, optimizer, train_data, valid_data, *, epochs,
    batch_size)``: a custom loop that returns ``fit``-like history with ``loss``,
    ``accuracy``, ``val_loss`` and ``val_accuracy`` (one value per epoch).

    The learner's loop trains a fresh regularized model once; the lines then check the
    history's shape, that training helped, and that the reported validation numbers are the
    model's true ones, regularization loss included (a loop that forgets ``model.losses``, or
    reports the last batch's numbers, fails there).
    """
    checks = _DigitsLoopProperties(train_digits, epochs, batch_size)
    report = CheckReport("Checking train_digits(model, optimizer, train_data, valid_data, ...)")
    report.check(
        "returns a dict like fit's history: loss, accuracy, val_loss, val_accuracy",
        checks.shaped_like_fit,
    )
    report.check(
        "the training loss goes down from the first epoch to the last", checks.training_loss_falls
    )
    report.check("learns: validation accuracy above 0.8", checks.learned)
    report.check(
        "val_loss is the trained model's loss on the validation set, model.losses included",
        checks.true_val_loss,
    )
    report.check(
        "val_accuracy is the trained model's accuracy on the validation set",
        checks.true_val_accuracy,
    )
    return report


class _TwoOptimizerStepProperties:
    """What ``check_two_optimizer_step`` checks, each on a fresh two-part model.

    With plain SGD the expected update is known exactly (``w - lr * gradient``), so each
    property can tell "wrong optimizer for a part" from "wrong gradients" from "forgot the
    regularization losses".
    """

    PARTS = ("lower", "upper")

    def __init__(self, two_optimizer_step):
        from helpers.data import load_digits_data

        self.two_optimizer_step = two_optimizer_step
        (X_train, y_train), _ = load_digits_data()
        self.X_batch, self.y_batch = X_train[:32], y_train[:32]

    @staticmethod
    def split_model():
        """``Sequential([lower, upper])``: an L2-regularized hidden part and a softmax part."""
        import keras

        keras.utils.set_random_seed(42)
        lower = keras.Sequential(
            [
                keras.Input(shape=(64,)),
                keras.layers.Dense(
                    16, activation="relu", kernel_regularizer=keras.regularizers.l2(0.1)
                ),
            ]
        )
        upper = keras.Sequential(
            [keras.Input(shape=(16,)), keras.layers.Dense(10, activation="softmax")]
        )
        return keras.Sequential([lower, upper])

    def reference(self, model):
        """The regularized loss and its gradients for each part, before any update."""
        import keras
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y_pred = model(self.X_batch, training=True)
            main = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(self.y_batch, y_pred)
            )
            loss = tf.add_n([main] + model.losses)
        parts = [model.layers[0].trainable_variables, model.layers[1].trainable_variables]
        gradients = tape.gradient(loss, parts[0] + parts[1])
        n = len(parts[0])
        return float(loss), [gradients[:n], gradients[n:]]

    @staticmethod
    def weights(part):
        return [variable.numpy().copy() for variable in part.trainable_variables]

    @staticmethod
    def moved(before, after):
        import numpy as np

        return any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))

    def run(self, lower_lr, upper_lr):
        """One learner's step with two SGD optimizers: what it saw, did and returned."""
        import keras

        model = self.split_model()
        loss, gradients = self.reference(model)
        before = [self.weights(model.layers[0]), self.weights(model.layers[1])]
        returned = self.two_optimizer_step(
            model,
            keras.optimizers.SGD(lower_lr),
            keras.optimizers.SGD(upper_lr),
            self.X_batch,
            self.y_batch,
        )
        after = [self.weights(model.layers[0]), self.weights(model.layers[1])]
        return loss, gradients, before, after, returned

    def _only_its_part_moves(self, part_index):
        rates = (0.1, 0.0) if part_index == 0 else (0.0, 0.1)
        _, _, before, after, _ = self.run(*rates)
        other = 1 - part_index
        ok = self.moved(before[part_index], after[part_index]) and not self.moved(
            before[other], after[other]
        )
        return ok, (
            f"with learning rate 0 for the {self.PARTS[other]} optimizer, the "
            f"{self.PARTS[part_index]} part should move and the other not: moved "
            f"lower={self.moved(before[0], after[0])}, upper={self.moved(before[1], after[1])}"
        )

    def lower_only(self):
        return self._only_its_part_moves(0)

    def upper_only(self):
        return self._only_its_part_moves(1)

    def exact_sgd_update(self):
        import numpy as np

        _, gradients, before, after, _ = self.run(0.1, 0.2)
        for index, lr in ((0, 0.1), (1, 0.2)):
            for b, a, g in zip(before[index], after[index], gradients[index], strict=True):
                expected = b - lr * g.numpy()
                if not np.allclose(a, expected, rtol=1e-4, atol=1e-6):
                    error = float(np.max(np.abs(a - expected)))
                    return False, (
                        f"the {self.PARTS[index]} part's new weights are off by up to "
                        f"{error:.3g}: are model.losses in the loss, and one tape used for both?"
                    )
        return True

    def returns_loss(self):
        import numpy as np

        loss, _, _, _, returned = self.run(0.1, 0.1)
        if returned is None:
            return False, "got None: return the loss"
        value = float(returned)
        ok = np.isclose(value, loss, rtol=1e-4)
        return ok, f"returned {value:.5g}, expected the regularized loss {loss:.5g}"

    def in_a_tf_function(self):
        import keras
        import tensorflow as tf

        model = self.split_model()
        step = tf.function(self.two_optimizer_step)
        lower, upper = keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.001)
        for _ in range(2):
            step(model, lower, upper, self.X_batch, self.y_batch)
        return True


def check_two_optimizer_step(two_optimizer_step) -> CheckReport:
    """Check a learner's ``two_optimizer_step(model, lower_optimizer, upper_optimizer, X_batch,
    y_batch)``: ``model.layers[0]`` (lower) is updated by one optimizer, ``model.layers[1]``
    (upper) by the other, both from the gradients of one regularized loss, which it returns.

    With plain SGD the expected update is known exactly (``w - lr * gradient``), so the
    lines can tell "wrong optimizer for a part" from "wrong gradients" from "forgot the
    regularization losses".
    """
    checks = _TwoOptimizerStepProperties(two_optimizer_step)
    report = CheckReport(
        "Checking two_optimizer_step(model, lower_optimizer, upper_optimizer, ...)"
    )
    report.check("the lower optimizer updates the lower layers only", checks.lower_only)
    report.check("the upper optimizer updates the upper layers only", checks.upper_only)
    report.check(
        "each update is its optimizer's step on the regularized loss's gradient",
        checks.exact_sgd_update,
    )
    report.check("returns the loss, regularization included", checks.returns_loss)
    report.check("runs inside a tf.function, with two Adam optimizers", checks.in_a_tf_function)
    return report
