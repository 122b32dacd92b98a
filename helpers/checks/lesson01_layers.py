"""Lesson 01's self-checks: layer normalization and dropout, written by hand."""

from __future__ import annotations

from helpers.checks.base import CheckReport


def check_layer_normalization(layer_class, tolerance: float = 2e-3) -> CheckReport:
    """Check a hand-written layer normalization against ``keras.layers.LayerNormalization``.

    Each property is checked on a fresh layer, so one mistake (say, in ``build``) fails its own
    lines and the others still say what is right. The inputs have a mean of 3 and a standard
    deviation of 2, so a layer that forgets to subtract the mean or to divide by the standard
    deviation cannot pass by luck. The default ``tolerance`` accepts the book's ``sigma + eps``
    as well as Keras' ``sqrt(variance + eps)``; both differ from a wrong formula by far more.

    Args:
        layer_class: the learner's class, built as ``layer_class()`` (default ``eps=0.001``).
        tolerance: the largest absolute difference from Keras' output that still passes, > 0.
    """
    # Imported here so that importing helpers.checks does not load TensorFlow.
    import keras
    import numpy as np

    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    rng = np.random.default_rng(12)
    inputs = rng.normal(3.0, 2.0, size=(32, 8)).astype("float32")
    sequences = rng.normal(3.0, 2.0, size=(4, 5, 8)).astype("float32")
    alpha = rng.uniform(0.5, 2.0, size=8).astype("float32")
    beta = rng.uniform(-1.0, 1.0, size=8).astype("float32")

    def keras_output(X, weights=None):
        reference = keras.layers.LayerNormalization(epsilon=0.001)
        reference.build(X.shape)
        if weights is not None:
            reference.set_weights(weights)
        return keras.ops.convert_to_numpy(reference(X))

    def compare(X, weights=None):
        layer = layer_class()
        layer.build(X.shape)
        if weights is not None:
            if len(layer.trainable_weights) != 2:
                return False, "create the two weights alpha and beta in build() first"
            layer.set_weights(weights)
        difference = np.abs(keras.ops.convert_to_numpy(layer(X)) - keras_output(X, weights))
        return difference.max() < tolerance, f"max |difference| = {difference.max():.3g}"

    def weight_shapes():
        layer = layer_class()
        layer.build(inputs.shape)
        shapes = [tuple(weight.shape) for weight in layer.trainable_weights]
        return shapes == [(8,), (8,)], f"trainable weight shapes {shapes}"

    def initial_values():
        layer = layer_class()
        layer.build(inputs.shape)
        values = [weight.numpy() for weight in layer.trainable_weights]
        ok = len(values) == 2 and (values[0] == 1).all() and (values[1] == 0).all()
        return ok, "expected [alpha, beta] = [ones, zeros], in that order"

    def output_shape():
        shape = tuple(layer_class()(inputs).shape)
        return shape == inputs.shape, f"output shape {shape}, input shape {inputs.shape}"

    def config_round_trip():
        layer = layer_class(eps=0.01)
        rebuilt = layer_class.from_config(layer.get_config())
        return getattr(rebuilt, "eps", None) == 0.01, "from_config(get_config()) lost eps=0.01"

    report = CheckReport(f"Checking {getattr(layer_class, '__name__', layer_class)}")
    report.check(
        "build() creates two trainable weights of shape (8,) for 8 features", weight_shapes
    )
    report.check("alpha starts at ones and beta at zeros", initial_values)
    report.check("the output has the input's shape", output_shape)
    report.check(
        "matches keras.layers.LayerNormalization on (32, 8) inputs", lambda: compare(inputs)
    )
    report.check(
        "still matches with alpha and beta set to other values",
        lambda: compare(inputs, [alpha, beta]),
    )
    report.check("normalizes the last axis of (4, 5, 8) sequences", lambda: compare(sequences))
    report.check("get_config() keeps eps (from_config rebuilds the same layer)", config_round_trip)
    return report


def check_dropout(layer_class) -> CheckReport:
    """Check a hand-written dropout layer: the training flag, the mask, the scaling, the errors.

    The layer is built as ``layer_class(rate)`` and called on 100,000 ones. The share of zeros
    must be within one percentage point of ``rate``, almost seven standard errors: a correct
    layer passes whatever its seed, and one that drops with a clearly wrong probability fails.

    Args:
        layer_class: the learner's class, built as ``layer_class(rate)``.
    """
    # Imported here so that importing helpers.checks does not load TensorFlow.
    import keras
    import numpy as np

    rate = 0.3
    ones = np.ones((100, 1000), dtype="float32")

    def output(layer, **kwargs):
        return keras.ops.convert_to_numpy(layer(ones, **kwargs))

    def inference_is_identity():
        layer = layer_class(rate)
        same = [np.array_equal(output(layer, **flag), ones) for flag in ({"training": False}, {})]
        return all(same), "with training=False or no flag, the outputs differ from the inputs"

    def drops_rate():
        share = float((output(layer_class(rate), training=True) == 0).mean())
        return abs(share - rate) < 0.01, f"{share:.1%} of the inputs are zero"

    def scales_survivors():
        kept = output(layer_class(rate), training=True)
        kept = kept[kept != 0]
        expected = 1 / (1 - rate)
        ok = kept.size > 0 and np.allclose(kept, expected)
        return ok, f"kept values {np.unique(kept)[:3].round(4).tolist()}, expected {expected:.4f}"

    def new_mask_each_call():
        layer = layer_class(rate)
        first, second = output(layer, training=True), output(layer, training=True)
        return not np.array_equal(first, second), "two calls dropped the same inputs"

    def rate_zero_keeps_everything():
        return np.array_equal(output(layer_class(0.0), training=True), ones), "rate=0 changed X"

    def refuses(bad_rate):
        def condition():
            try:
                layer_class(bad_rate)
            except ValueError as error:
                return "rate" in str(error), f"the ValueError does not name rate: {error}"
            return False, f"rate={bad_rate} was accepted"

        return condition

    def config_round_trip():
        config = layer_class(0.25).get_config()
        if "rate" not in config:
            return False, f"get_config() returns no 'rate', only {sorted(config)}"
        rebuilt = layer_class.from_config(config)
        return getattr(rebuilt, "rate", None) == 0.25, "from_config(get_config()) lost rate=0.25"

    report = CheckReport(f"Checking {getattr(layer_class, '__name__', layer_class)}")
    report.check(
        "at inference (training=False, or no flag) the inputs pass unchanged", inference_is_identity
    )
    report.check(f"training zeroes {rate:.0%} of the inputs (± 1%)", drops_rate)
    report.check(f"training scales the kept inputs by 1 / (1 - {rate})", scales_survivors)
    report.check("each training call draws a new mask", new_mask_each_call)
    report.check("rate=0 drops nothing, even in training", rate_zero_keeps_everything)
    report.check("rate=1 raises a ValueError that names rate", refuses(1.0))
    report.check("rate=-0.1 raises a ValueError that names rate", refuses(-0.1))
    report.check("get_config() keeps rate (from_config rebuilds the same layer)", config_round_trip)
    return report
