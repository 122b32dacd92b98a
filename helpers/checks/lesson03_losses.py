"""Lesson 03's self-check: a layer that adds an activity penalty with ``add_loss``."""

from __future__ import annotations

from helpers.checks.base import CheckReport


def check_activity_penalty(layer_class) -> CheckReport:
    """Check an ``ActivityPenalty(rate)`` layer: returns its inputs, adds ``rate * mean(|inputs|)``.

    The penalty is an L1 "sparsity" penalty on the activations that reach the layer. Beyond the
    layer itself, the report checks what the lesson teaches: a model holding the layer gathers
    its loss in ``model.losses``, and the loss the model minimizes (``compute_loss``, which
    ``fit`` calls) is the compiled loss plus that penalty.

    Args:
        layer_class: the learner's class, built as ``layer_class(rate)``.
    """
    # Imported here so that importing helpers.checks does not load TensorFlow.
    import keras
    import numpy as np

    rng = np.random.default_rng(3)
    inputs = rng.normal(0.5, 2.0, size=(16, 6)).astype("float32")
    targets = rng.normal(size=(16, 1)).astype("float32")
    rate = 0.01
    expected_penalty = rate * float(np.abs(inputs).mean())

    def numbers(tensors):
        return [float(keras.ops.convert_to_numpy(tensor)) for tensor in tensors]

    def passes_inputs_through():
        outputs = keras.ops.convert_to_numpy(layer_class(rate)(inputs))
        if outputs.shape != inputs.shape:
            return False, f"output shape {outputs.shape}, input shape {inputs.shape}"
        difference = np.abs(outputs - inputs).max()
        return difference == 0, f"max |output - inputs| = {difference:.3g}"

    def adds_the_penalty():
        layer = layer_class(rate)
        layer(inputs)
        seen = numbers(layer.losses)
        if len(seen) != 1:
            return False, f"layer.losses holds {len(seen)} losses after one call"
        return abs(seen[0] - expected_penalty) < 1e-6, (
            f"penalty {seen[0]:.6g}, expected rate * mean(|inputs|) = {expected_penalty:.6g}"
        )

    def refuses_bad_rates():
        refused = []
        for bad in (-0.1, float("nan"), float("inf")):
            try:
                layer_class(bad)
            except ValueError:
                refused.append(bad)
        return len(refused) == 3, f"only {refused} raised ValueError among -0.1, nan, inf"

    def model_with_penalty():
        model = keras.Sequential(
            [
                keras.Input(shape=(6,)),
                keras.layers.Dense(4, activation="selu"),
                layer_class(rate),
                keras.layers.Dense(1),
            ]
        )
        model.compile(loss="mse")
        return model

    def model_gathers_it():
        model = model_with_penalty()
        model(inputs)
        seen = numbers(model.losses)
        return len(seen) == 1 and seen[0] > 0, f"model.losses after one call: {seen}"

    def loss_includes_it():
        model = model_with_penalty()
        predictions = model(inputs)
        penalties = numbers(model.losses)
        loss = float(model.compute_loss(x=inputs, y=targets, y_pred=predictions))
        mse = float(np.mean((keras.ops.convert_to_numpy(predictions) - targets) ** 2))
        return abs(loss - (mse + sum(penalties))) < 1e-5 and penalties != [], (
            f"loss {loss:.6g}, MSE {mse:.6g}, penalties {penalties}"
        )

    def config_keeps_rate():
        config = layer_class(0.25).get_config()
        rebuilt = layer_class.from_config(config)
        return getattr(rebuilt, "rate", None) == 0.25, f"get_config() gives {config}"

    report = CheckReport(f"Checking {getattr(layer_class, '__name__', layer_class)}")
    report.check("returns its inputs unchanged", passes_inputs_through)
    report.check("after a call, layer.losses holds rate * mean(|inputs|)", adds_the_penalty)
    report.check("a negative or non-finite rate raises ValueError", refuses_bad_rates)
    report.check("a model holding the layer gathers the penalty in model.losses", model_gathers_it)
    report.check("the loss the model minimizes is MSE + the penalty", loss_includes_it)
    report.check("get_config() keeps rate (from_config rebuilds the same layer)", config_keeps_rate)
    return report
