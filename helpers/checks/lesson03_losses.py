"""Lesson 03's self-check: a layer that adds an activity penalty with ``add_loss``.

The check is a ``check_...`` function (the learner's entry point: it lists the report's lines)
over a small class with one method per checked property, so every property reads on its own.
Each failed line names the likely mistake, because "expected 0.0089" teaches less than
"the penalty does not follow rate". Keras and NumPy are imported inside the methods, so that
importing ``helpers.checks`` does not load TensorFlow.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport, defines_get_config, values_accepted


class _ActivityPenaltyProperties:
    """What ``check_activity_penalty`` checks: the layer alone, traced, then inside a model."""

    rate = 0.01
    other_rate = 0.25  # a second rate: a penalty hard-coded to 0.01 fails there

    def __init__(self, layer_class):
        import numpy as np

        self.layer_class = layer_class
        rng = np.random.default_rng(3)
        self.inputs = rng.normal(0.5, 2.0, size=(16, 6)).astype("float32")
        self.targets = rng.normal(size=(16, 1)).astype("float32")
        self.mean_abs = float(np.abs(self.inputs).mean())

    @staticmethod
    def numbers(tensors):
        import keras

        return [float(keras.ops.convert_to_numpy(tensor)) for tensor in tensors]

    def passes_inputs_through(self):
        import keras
        import numpy as np

        outputs = keras.ops.convert_to_numpy(self.layer_class(self.rate)(self.inputs))
        if outputs.shape != self.inputs.shape:
            return False, f"output shape {outputs.shape}, input shape {self.inputs.shape}"
        difference = np.abs(outputs - self.inputs).max()
        return difference == 0, f"max |output - inputs| = {difference:.3g}"

    def penalty_hint(self, seen: float, rate: float) -> str:
        """Name the mistake a wrong penalty value points to."""
        size = self.inputs.size
        if abs(seen - self.rate * self.mean_abs) < 1e-6 and rate != self.rate:
            return (
                f"it does not follow rate (at rate={rate} it is rate 0.01's penalty): use self.rate"
            )
        if abs(seen - rate * self.mean_abs * size) < 1e-6 * size:
            return "that is rate * sum(|inputs|): take the mean, not the sum"
        if abs(seen - self.mean_abs) < 1e-6:
            return "that is mean(|inputs|) alone: multiply it by rate"
        return "compute rate * keras.ops.mean(keras.ops.abs(inputs)) in call()"

    def adds_the_penalty(self):
        for rate in (self.rate, self.other_rate):
            layer = self.layer_class(rate)
            layer(self.inputs)
            seen = self.numbers(layer.losses)
            if len(seen) != 1:
                return False, (
                    f"layer.losses holds {len(seen)} losses after one call: "
                    "call self.add_loss(...) once in call()"
                )
            expected = rate * self.mean_abs
            if abs(seen[0] - expected) > 1e-6:
                return False, (
                    f"at rate={rate}: penalty {seen[0]:.6g}, expected {expected:.6g}; "
                    + self.penalty_hint(seen[0], rate)
                )
        return True, ""

    def refuses_bad_rates(self):
        bad_rates = (-0.1, float("nan"), float("inf"))
        accepted = [repr(rate) for rate in values_accepted(self.layer_class, bad_rates)]
        hint = ""
        if "nan" in accepted and "-0.1" not in accepted:
            hint = " (a test like rate < 0 is False for nan: test what a good rate is instead)"
        return not accepted, f"{' and '.join(accepted)} raised no ValueError{hint}"

    def works_when_traced(self):
        """Inside ``fit`` the layer runs in a traced graph, where NumPy cannot compute."""
        import tensorflow as tf

        layer = self.layer_class(self.rate)

        @tf.function
        def traced(inputs):
            layer(inputs)
            return list(layer.losses)

        try:
            seen = self.numbers(traced(tf.constant(self.inputs)))
        except NotImplementedError:
            return False, (
                "NotImplementedError: NumPy (np.abs, np.mean) cannot compute on the symbolic "
                "tensors of a traced graph, and fit traces call() into one: use keras.ops.abs "
                "and keras.ops.mean"
            )
        ok = len(seen) == 1 and abs(seen[0] - self.rate * self.mean_abs) < 1e-6
        return ok, f"inside tf.function, layer.losses holds {seen}"

    def has_a_gradient(self):
        """The penalty only pushes activations towards zero if it has a gradient."""
        import numpy as np
        import tensorflow as tf

        layer = self.layer_class(self.rate)
        inputs = tf.constant(self.inputs)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            layer(inputs)
            losses = list(layer.losses)
        if not losses:
            return False, "no loss to differentiate: add the penalty with self.add_loss(...)"
        gradient = tape.gradient(losses[0], inputs)
        if gradient is None:
            return False, (
                "the penalty has no gradient with respect to the activations (tf.stop_gradient "
                "or a NumPy value cuts it): training could not push them towards zero"
            )
        expected = self.rate * np.sign(self.inputs) / self.inputs.size
        difference = float(np.abs(gradient.numpy() - expected).max())
        return difference < 1e-7, f"its gradient is off by up to {difference:.3g}"

    def is_registered(self):
        import keras

        name = keras.saving.get_registered_name(self.layer_class)
        ok = keras.saving.get_registered_object(name) is self.layer_class
        return ok, (
            "not registered: decorate the class with "
            "@keras.saving.register_keras_serializable(), or load_model cannot find it"
        )

    def model_with_penalty(self):
        """A small compiled model with the learner's layer between two Dense layers."""
        import keras

        model = keras.Sequential(
            [
                keras.Input(shape=(6,)),
                keras.layers.Dense(4, activation="selu"),
                self.layer_class(self.rate),
                keras.layers.Dense(1),
            ]
        )
        model.compile(loss="mse")
        return model

    def model_gathers_it(self):
        model = self.model_with_penalty()
        model(self.inputs)
        seen = self.numbers(model.losses)
        return len(seen) == 1 and seen[0] > 0, f"model.losses after one call: {seen}"

    def loss_includes_it(self):
        import keras
        import numpy as np

        model = self.model_with_penalty()
        predictions = model(self.inputs)
        penalties = self.numbers(model.losses)
        loss = float(model.compute_loss(x=self.inputs, y=self.targets, y_pred=predictions))
        mse = float(np.mean((keras.ops.convert_to_numpy(predictions) - self.targets) ** 2))
        return abs(loss - (mse + sum(penalties))) < 1e-5 and penalties != [], (
            f"loss {loss:.6g}, MSE {mse:.6g}, penalties {penalties}"
        )

    def config_keeps_rate(self):
        if not defines_get_config(self.layer_class):
            return False, (
                f"{self.layer_class.__name__} does not define get_config(): Keras 3 recorded "
                "rate from the constructor on its own, but only because it is a plain number "
                "(an object argument would be lost); write get_config() as the exercise asks"
            )
        config = self.layer_class(self.other_rate).get_config()
        rebuilt = self.layer_class.from_config(config)
        rate = getattr(rebuilt, "rate", None)
        ok = isinstance(config, dict) and rate == self.other_rate
        return ok, f"get_config() gives {config}, rebuilt with rate={rate!r}"


def check_activity_penalty(layer_class) -> CheckReport:
    """Check an ``ActivityPenalty(rate)`` layer: returns its inputs, adds ``rate * mean(|inputs|)``.

    The penalty is an L1 "sparsity" penalty on the activations that reach the layer. Beyond the
    layer itself, the report checks what the lesson teaches: the penalty is computed inside a
    traced graph (as in ``fit``) and has a gradient, a model holding the layer gathers it in
    ``model.losses``, the loss the model minimizes (``compute_loss``, which ``fit`` calls) is
    the compiled loss plus that penalty, and the class serializes (registered, ``get_config``).

    Args:
        layer_class: the learner's class, built as ``layer_class(rate)``.
    """
    checks = _ActivityPenaltyProperties(layer_class)
    report = CheckReport(f"Checking {getattr(layer_class, '__name__', layer_class)}")
    report.check("returns its inputs unchanged", checks.passes_inputs_through)
    report.check("after a call, layer.losses holds rate * mean(|inputs|)", checks.adds_the_penalty)
    report.check("a negative or non-finite rate raises ValueError", checks.refuses_bad_rates)
    report.check("works in a traced graph (tf.function, as in fit)", checks.works_when_traced)
    report.check("the penalty has a gradient: rate * sign(inputs) / size", checks.has_a_gradient)
    report.check(
        "a model holding the layer gathers the penalty in model.losses", checks.model_gathers_it
    )
    report.check("the loss the model minimizes is MSE + the penalty", checks.loss_includes_it)
    report.check("registered for saving (register_keras_serializable)", checks.is_registered)
    report.check(
        "defines get_config() that keeps rate (from_config rebuilds the same layer)",
        checks.config_keeps_rate,
    )
    for line in report.lines:  # a NumPy penalty: Keras' long error, once per line, says less
        if not line.passed and "on a tensor input" in line.detail:
            line.detail = (
                "add_loss() refused a NumPy number, not a tensor: compute the penalty with "
                "keras.ops.abs and keras.ops.mean"
            )
    return report
