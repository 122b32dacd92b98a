"""Lesson 03's self-check: a layer that adds an activity penalty with ``add_loss``.

The check is a ``check_...`` function (the learner's entry point: it lists the report's lines)
over a small class with one method per checked property, so every property reads on its own.
Keras and NumPy are imported inside the methods, so that importing ``helpers.checks`` does not
load TensorFlow.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport


class _ActivityPenaltyProperties:
    """What ``check_activity_penalty`` checks: the layer alone, then a model holding it."""

    rate = 0.01

    def __init__(self, layer_class):
        import numpy as np

        self.layer_class = layer_class
        rng = np.random.default_rng(3)
        self.inputs = rng.normal(0.5, 2.0, size=(16, 6)).astype("float32")
        self.targets = rng.normal(size=(16, 1)).astype("float32")
        self.expected_penalty = self.rate * float(np.abs(self.inputs).mean())

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

    def adds_the_penalty(self):
        layer = self.layer_class(self.rate)
        layer(self.inputs)
        seen = self.numbers(layer.losses)
        if len(seen) != 1:
            return False, f"layer.losses holds {len(seen)} losses after one call"
        expected = self.expected_penalty
        return abs(seen[0] - expected) < 1e-6, (
            f"penalty {seen[0]:.6g}, expected rate * mean(|inputs|) = {expected:.6g}"
        )

    def refuses_bad_rates(self):
        refused = []
        for bad in (-0.1, float("nan"), float("inf")):
            try:
                self.layer_class(bad)
            except ValueError:
                refused.append(bad)
        return len(refused) == 3, f"only {refused} raised ValueError among -0.1, nan, inf"

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
        config = self.layer_class(0.25).get_config()
        rebuilt = self.layer_class.from_config(config)
        return getattr(rebuilt, "rate", None) == 0.25, f"get_config() gives {config}"


def check_activity_penalty(layer_class) -> CheckReport:
    """Check an ``ActivityPenalty(rate)`` layer: returns its inputs, adds ``rate * mean(|inputs|)``.

    The penalty is an L1 "sparsity" penalty on the activations that reach the layer. Beyond the
    layer itself, the report checks what the lesson teaches: a model holding the layer gathers
    its loss in ``model.losses``, and the loss the model minimizes (``compute_loss``, which
    ``fit`` calls) is the compiled loss plus that penalty.

    Args:
        layer_class: the learner's class, built as ``layer_class(rate)``.
    """
    checks = _ActivityPenaltyProperties(layer_class)
    report = CheckReport(f"Checking {getattr(layer_class, '__name__', layer_class)}")
    report.check("returns its inputs unchanged", checks.passes_inputs_through)
    report.check("after a call, layer.losses holds rate * mean(|inputs|)", checks.adds_the_penalty)
    report.check("a negative or non-finite rate raises ValueError", checks.refuses_bad_rates)
    report.check(
        "a model holding the layer gathers the penalty in model.losses", checks.model_gathers_it
    )
    report.check("the loss the model minimizes is MSE + the penalty", checks.loss_includes_it)
    report.check(
        "get_config() keeps rate (from_config rebuilds the same layer)", checks.config_keeps_rate
    )
    return report
