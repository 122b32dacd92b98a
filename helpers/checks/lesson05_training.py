"""Lesson 05's self-checks: a custom loop on the digits, and two optimizers in one step.

Each check is a ``check_...`` function (the learner's entry point: it lists the report's lines)
over a small class with one method per checked property, so every property reads on its own.
Keras, NumPy and TensorFlow are imported inside the methods, so that importing
``helpers.checks`` does not load TensorFlow.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _digits_model(l2: float, seed: int = 42, max_rows: int = 20_000):
    """A small digits classifier with an L2 penalty, so ``model.losses`` is not empty, that
    records what it predicts in training mode, so the check can recompute the training loss."""
    import keras
    import tensorflow as tf

    class RecordingClassifier(keras.Model):
        """Every training-mode call stores its inputs and predictions (rows of ``log``) and
        the L2 penalty at that moment, in non-trainable variables: a Python list would fill
        only while a TF Function traces, variables fill on every call, in any mode."""

        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(
                32, activation="relu", kernel_regularizer=keras.regularizers.l2(l2)
            )
            self.classes = keras.layers.Dense(10, activation="softmax")
            variable = dict(trainable=False, initializer="zeros")
            self.log = self.add_weight(shape=(max_rows, 74), name="log", **variable)
            self.penalties = self.add_weight(shape=(max_rows,), name="penalties", **variable)
            self.sizes = self.add_weight(shape=(max_rows,), name="sizes", **variable)
            self.counts = self.add_weight(shape=(2,), dtype="int32", name="counts", **variable)

        def call(self, inputs, training=False):
            y_pred = self.classes(self.hidden(inputs))
            if training:
                self._record(tf.stop_gradient(inputs), tf.stop_gradient(y_pred))
            return y_pred

        def _record(self, inputs, y_pred):
            n_rows, n_calls = self.counts[0], self.counts[1]
            size = tf.shape(inputs)[0]
            rows = tf.range(n_rows, n_rows + size)[:, None]
            entry = tf.concat([tf.cast(inputs, "float32"), tf.cast(y_pred, "float32")], axis=1)
            self.log.assign(tf.tensor_scatter_nd_update(self.log, rows, entry))
            penalty = l2 * tf.reduce_sum(tf.square(self.hidden.kernel))
            call = [[n_calls]]
            self.penalties.assign(tf.tensor_scatter_nd_update(self.penalties, call, [penalty]))
            self.sizes.assign(
                tf.tensor_scatter_nd_update(self.sizes, call, [tf.cast(size, "float32")])
            )
            self.counts.assign_add(tf.stack([size, 1]))

    keras.utils.set_random_seed(seed)
    model = RecordingClassifier()
    model(tf.zeros((1, 64)))  # builds it: the learner's loop sees its trainable variables
    return model


def _true_validation(model, X_valid, y_valid):
    """What the model really scores on the validation set: regularized loss and accuracy."""
    import keras
    import numpy as np

    y_pred = model(X_valid, training=False)
    main = float(np.mean(keras.losses.sparse_categorical_crossentropy(y_valid, y_pred)))
    loss = main + sum(float(loss) for loss in model.losses)
    accuracy = float(np.mean(np.argmax(y_pred, axis=-1) == y_valid))
    return loss, accuracy, main


def _recorded_epochs(model, labels_by_row, epochs):
    """Each epoch's true training loss (the mean of its steps' losses, each the batch's mean
    cross-entropy plus the penalty; weighted by batch size or not) and accuracy, recomputed
    from what the model recorded. None when the steps do not split evenly into epochs, a
    message when the model was called with ``training=True`` on rows that are not training
    rows (a validation pass in training mode)."""
    import numpy as np

    n_rows, n_calls = (int(count) for count in model.counts.numpy())
    if n_calls == 0 or n_calls % epochs:
        return None
    log = model.log.numpy()[:n_rows].astype(np.float64)
    sizes = model.sizes.numpy()[:n_calls].astype(int)
    penalties = model.penalties.numpy()[:n_calls].astype(np.float64)
    labels = [labels_by_row.get(row.tobytes()) for row in log[:, :64].astype(np.float32)]
    if None in labels:
        return (
            "the model was called with training=True on rows that are not training rows: "
            "evaluate the validation set with training=False"
        )
    labels = np.array(labels)
    probabilities = np.clip(log[:, 64:], 1e-7, 1 - 1e-7)
    cross_entropy = -np.log(probabilities[np.arange(n_rows), labels])
    correct = np.argmax(log[:, 64:], axis=1) == labels
    ends = np.cumsum(sizes)
    steps = [slice(end - size, end) for end, size in zip(ends, sizes, strict=True)]
    step_losses = np.array([cross_entropy[rows].mean() for rows in steps]) + penalties
    per_epoch = n_calls // epochs
    results = []
    for epoch in range(epochs):
        calls = slice(epoch * per_epoch, (epoch + 1) * per_epoch)
        rows = slice(ends[calls][0] - sizes[calls][0], ends[calls][-1])
        losses = (step_losses[calls].mean(), np.average(step_losses[calls], weights=sizes[calls]))
        results.append((losses, float(correct[rows].mean())))
    return results


def _never_reset_hint(value, epochs_so_far, index) -> str:
    """A hint when ``value`` is the mean over every epoch so far: metrics never reset."""
    import math

    if len(epochs_so_far) < 2:
        return ""
    # Equal steps per epoch, so the running mean is the mean of the epochs' means.
    means = [true[index][0] if index == 0 else true[index] for true in epochs_so_far]
    if not math.isclose(value, sum(means) / len(means), rel_tol=1e-3, abs_tol=1e-4):
        return ""
    return (
        f" (your value is the mean over epochs 1 to {len(means)}: reset the metrics at the "
        f"start of each epoch)"
    )


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
        self.labels_by_row = {
            row.tobytes(): int(label) for row, label in zip(self.X_train, self.y_train, strict=True)
        }
        self.model = _digits_model(l2=0.01, max_rows=4 * epochs * len(self.X_train))
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

    def _matches_the_steps(self, name, index):
        import math

        values = self.recorded(name)
        if values is None or len(values) != self.epochs:
            return False, f"expected {self.epochs} values of {name}"
        if getattr(self.model, "compiled", False):
            return False, (
                "the model was compiled (compile() and fit()): the exercise asks for your own "
                "loop, a tape and apply_gradients"
            )
        if int(self.model.counts.numpy()[1]) == 0:
            return False, "the model was never called with training=True: train it in that mode"
        truth = _recorded_epochs(self.model, self.labels_by_row, self.epochs)
        if truth is None:
            return False, "the model was not trained the same number of steps in each epoch"
        if isinstance(truth, str):
            return False, truth
        for epoch, (value, true) in enumerate(zip(values, truth, strict=True), start=1):
            candidates = true[index] if index == 0 else (true[index],)
            if not any(math.isclose(value, c, rel_tol=1e-3, abs_tol=1e-4) for c in candidates):
                return False, (
                    f"epoch {epoch}: reported {value:.4g}, but that epoch's training steps "
                    f"{'lost' if index == 0 else 'scored'} {candidates[0]:.4g} on average"
                    + _never_reset_hint(value, truth[:epoch], index)
                )
        return True

    def true_training_loss(self):
        return self._matches_the_steps("loss", 0)

    def true_training_accuracy(self):
        return self._matches_the_steps("accuracy", 1)

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
        truth = _true_validation(self.model, self.X_valid, self.y_valid)
        actual = truth[index]
        ok = math.isclose(values[-1], actual, rel_tol=1e-3, abs_tol=1e-4)
        detail = f"reported {values[-1]:.4g}, but the trained model scores {actual:.4g}"
        if index == 0 and math.isclose(values[-1], truth[2], rel_tol=1e-3, abs_tol=1e-4):
            detail += f" ({truth[2]:.4g} without model.losses: add them)"
        return ok, detail

    def true_val_loss(self):
        return self._matches_the_model(0, "val_loss")

    def true_val_accuracy(self):
        return self._matches_the_model(1, "val_accuracy")


def check_digits_training_loop(train_digits, epochs: int = 2, batch_size: int = 64) -> CheckReport:
    """Check a learner's ``train_digits(model, optimizer, train_data, valid_data, *, epochs,
    batch_size)``: a custom loop that returns ``fit``-like history with ``loss``,
    ``accuracy``, ``val_loss`` and ``val_accuracy`` (one value per epoch).

    The learner's loop trains a fresh regularized model once. The model records every
    training step (its inputs, its predictions, its penalty), so the check recomputes each
    epoch's training loss (the mean of that epoch's step losses, ``model.losses`` included)
    and accuracy, and compares them with what the loop reports: a loop that leaves
    ``model.losses`` out, never resets its metrics, or resets them at every step fails there.
    The validation numbers must be the trained model's, penalty included.
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
    report.check(
        "loss is the mean of each epoch's step losses, model.losses included",
        checks.true_training_loss,
    )
    report.check(
        "accuracy is each epoch's accuracy over that epoch's batches", checks.true_training_accuracy
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
