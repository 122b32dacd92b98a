"""Lesson 01's self-checks: layer normalization and dropout, written by hand.

Each check is a ``check_...`` function (the learner's entry point: it validates, then lists the
report's lines) over a small class with one method per checked property, so every property
reads on its own. Keras and NumPy are imported inside the methods, so that importing
``helpers.checks`` does not load TensorFlow.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport


class _LayerNormalizationProperties:
    """What ``check_layer_normalization`` checks, each on a fresh layer, against Keras' layer.

    The inputs have a mean of 3 and a standard deviation of 2, so a layer that forgets to
    subtract the mean or to divide by the standard deviation cannot pass by luck.
    """

    def __init__(self, layer_class, tolerance: float):
        import numpy as np

        self.layer_class, self.tolerance = layer_class, tolerance
        rng = np.random.default_rng(12)
        self.inputs = rng.normal(3.0, 2.0, size=(32, 8)).astype("float32")
        self.sequences = rng.normal(3.0, 2.0, size=(4, 5, 8)).astype("float32")
        self.alpha = rng.uniform(0.5, 2.0, size=8).astype("float32")
        self.beta = rng.uniform(-1.0, 1.0, size=8).astype("float32")

    @staticmethod
    def keras_output(X, weights=None, eps=0.001):
        import keras

        reference = keras.layers.LayerNormalization(epsilon=eps)
        reference.build(X.shape)
        if weights is not None:
            reference.set_weights(weights)
        return keras.ops.convert_to_numpy(reference(X))

    def compare(self, X, weights=None):
        import keras
        import numpy as np

        layer = self.layer_class()
        layer.build(X.shape)
        if weights is not None:
            if len(layer.trainable_weights) != 2:
                return False, "create the two weights alpha and beta in build() first"
            layer.set_weights(weights)
        outputs = keras.ops.convert_to_numpy(layer(X))
        difference = np.abs(outputs - self.keras_output(X, weights)).max()
        if difference < self.tolerance:
            return True, ""
        return False, f"max |difference| = {difference:.3g}" + self.diagnose(X, outputs, weights)

    @staticmethod
    def diagnose(X, outputs, weights):
        """What to look at when the output is wrong: nan, or moments over the wrong axis."""
        import numpy as np

        if np.isnan(outputs).any():
            return "; the output holds nan: is eps in the denominator?"
        alpha, beta = weights if weights is not None else (1.0, 0.0)
        standardized = (outputs - beta) / alpha  # what each instance's features became
        for axis, name in ((0, "the batch axis (axis 0)"), (1, "axis 1")):
            if axis == X.ndim - 1:
                continue
            mean, variance = X.mean(axis=axis, keepdims=True), X.var(axis=axis, keepdims=True)
            if np.allclose(standardized, (X - mean) / np.sqrt(variance + 0.001), atol=1e-2):
                return f"; your layer normalizes over {name}: use each instance's features, axes=-1"
        row_means = np.abs(standardized.mean(axis=-1)).max()
        if row_means > 0.05:
            return (
                f"; look at each instance's outputs (before alpha and beta): their mean over the "
                f"features should be 0, yours reach {row_means:.3g} (moments over axes=-1, "
                "keepdims=True)"
            )
        return ""

    def constant_row(self):
        """A row whose features are all equal has variance 0: only eps keeps it finite."""
        import keras
        import numpy as np

        rows = np.vstack([np.full((1, 8), 5.0), self.inputs[:3]]).astype("float32")
        outputs = keras.ops.convert_to_numpy(self.layer_class()(rows))
        if not np.isfinite(outputs).all():
            return (
                False,
                "a constant row gives nan (0 / 0): add eps to the variance, inside the root",
            )
        return np.allclose(outputs[0], 0.0, atol=1e-3), f"a constant row gives {outputs[0][:3]}"

    def uses_eps(self):
        """At eps=1.0 the output must change: Keras' sqrt(var + eps) or the book's std + eps."""
        import keras
        import numpy as np

        outputs = keras.ops.convert_to_numpy(self.layer_class(eps=1.0)(self.inputs))
        mean, std = (
            self.inputs.mean(axis=-1, keepdims=True),
            self.inputs.std(axis=-1, keepdims=True),
        )
        references = (self.keras_output(self.inputs, eps=1.0), (self.inputs - mean) / (std + 1.0))
        if any(np.abs(outputs - ref).max() < self.tolerance for ref in references):
            return True, ""
        if np.abs(outputs - self.keras_output(self.inputs)).max() < self.tolerance:
            return (
                False,
                "eps=1.0 gives eps=0.001's output: use self.eps in the formula, not a constant",
            )
        return False, "the output at eps=1.0 matches neither sqrt(variance + eps) nor std + eps"

    def weight_shapes(self):
        layer = self.layer_class()
        layer.build(self.inputs.shape)
        shapes = [tuple(weight.shape) for weight in layer.trainable_weights]
        return shapes == [(8,), (8,)], f"trainable weight shapes {shapes}"

    def initial_values(self):
        layer = self.layer_class()
        layer.build(self.inputs.shape)
        values = [weight.numpy() for weight in layer.trainable_weights]
        ok = len(values) == 2 and (values[0] == 1).all() and (values[1] == 0).all()
        return ok, "expected [alpha, beta] = [ones, zeros], in that order"

    def output_shape(self):
        shape = tuple(self.layer_class()(self.inputs).shape)
        return shape == self.inputs.shape, f"output shape {shape}, input shape {self.inputs.shape}"

    def config_round_trip(self):
        layer = self.layer_class(eps=0.01)
        rebuilt = self.layer_class.from_config(layer.get_config())
        return getattr(rebuilt, "eps", None) == 0.01, "from_config(get_config()) lost eps=0.01"


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
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    checks = _LayerNormalizationProperties(layer_class, tolerance)
    report = CheckReport(f"Checking {getattr(layer_class, '__name__', layer_class)}")
    report.check(
        "build() creates two trainable weights of shape (8,) for 8 features", checks.weight_shapes
    )
    report.check("alpha starts at ones and beta at zeros", checks.initial_values)
    report.check("the output has the input's shape", checks.output_shape)
    report.check(
        "matches keras.layers.LayerNormalization on (32, 8) inputs",
        lambda: checks.compare(checks.inputs),
    )
    report.check(
        "still matches with alpha and beta set to other values",
        lambda: checks.compare(checks.inputs, [checks.alpha, checks.beta]),
    )
    report.check(
        "normalizes the last axis of (4, 5, 8) sequences",
        lambda: checks.compare(checks.sequences),
    )
    report.check("a constant row (variance 0) gives zeros, not nan", checks.constant_row)
    report.check("eps=1.0 changes the output as the formula says", checks.uses_eps)
    report.check(
        "get_config() keeps eps (from_config rebuilds the same layer)", checks.config_round_trip
    )
    return report


class _DropoutProperties:
    """What ``check_dropout`` checks, each on a fresh ``layer_class(rate)`` over 100,000 ones."""

    rate = 0.3

    def __init__(self, layer_class):
        import numpy as np

        self.layer_class = layer_class
        self.ones = np.ones((100, 1000), dtype="float32")

    def output(self, layer, **kwargs):
        import keras

        return keras.ops.convert_to_numpy(layer(self.ones, **kwargs))

    def inference_is_identity(self):
        import numpy as np

        layer = self.layer_class(self.rate)
        flags = ({"training": False}, {})
        same = [np.array_equal(self.output(layer, **flag), self.ones) for flag in flags]
        return all(same), "with training=False or no flag, the outputs differ from the inputs"

    def drops_rate(self):
        share = float((self.output(self.layer_class(self.rate), training=True) == 0).mean())
        return abs(share - self.rate) < 0.01, f"{share:.1%} of the inputs are zero"

    def scales_survivors(self):
        import numpy as np

        kept = self.output(self.layer_class(self.rate), training=True)
        kept = kept[kept != 0]
        expected = 1 / (1 - self.rate)
        ok = kept.size > 0 and np.allclose(kept, expected)
        return ok, f"kept values {np.unique(kept)[:3].round(4).tolist()}, expected {expected:.4f}"

    NOTHING_DROPPED = "no input was dropped: write the training branch first"

    def new_mask_each_call(self):
        """Two calls of a *seeded* layer: a seed, not a SeedGenerator, repeats its mask."""
        import numpy as np

        layer = self.layer_class(self.rate, seed=42)
        first, second = self.output(layer, training=True), self.output(layer, training=True)
        if (first != 0).all():
            return False, self.NOTHING_DROPPED
        return not np.array_equal(first, second), (
            "with seed=42, two calls dropped the same inputs: draw with "
            "seed=self.seed_generator (a SeedGenerator), not seed=self.seed"
        )

    def new_mask_in_a_graph(self):
        """Inside ``tf.function`` (as in ``fit``), a NumPy mask is frozen into the graph."""
        import numpy as np
        import tensorflow as tf

        layer = self.layer_class(self.rate)
        step = tf.function(lambda X: layer(X, training=True))
        first, second = step(self.ones).numpy(), step(self.ones).numpy()
        if (first != 0).all():
            return False, self.NOTHING_DROPPED
        return not np.array_equal(first, second), (
            "inside tf.function (as in fit) two calls dropped the same inputs: draw the mask "
            "with keras.random, not NumPy (a NumPy draw is frozen into the traced graph)"
        )

    def one_draw_per_input(self):
        """Each input gets its own draw: no mask shared by every row or by every column."""
        kept = self.output(self.layer_class(self.rate), training=True) != 0
        if kept.all():
            return False, self.NOTHING_DROPPED
        if (kept == kept[:1]).all():
            return False, (
                "every row of the batch got the same mask: draw one number per input, with "
                "keras.ops.shape(X), not one per feature"
            )
        if (kept == kept[:, :1]).all():
            return False, "each row is kept or dropped whole: draw one number per input"
        return True, ""

    def rate_zero_keeps_everything(self):
        import numpy as np

        kept = self.output(self.layer_class(0.0), training=True)
        return np.array_equal(kept, self.ones), "rate=0 changed X"

    def refuses(self, bad_rate):
        """A condition: building the layer with ``bad_rate`` raises a ValueError naming rate."""

        def condition():
            try:
                self.layer_class(bad_rate)
            except ValueError as error:
                return "rate" in str(error), f"the ValueError does not name rate: {error}"
            return False, f"rate={bad_rate} was accepted"

        return condition

    def config_round_trip(self):
        config = self.layer_class(0.25, seed=7).get_config()
        missing = [key for key in ("rate", "seed") if key not in config]
        if missing:
            return False, (
                f"get_config() returns no {' and no '.join(map(repr, missing))}, only "
                f"{sorted(config)}"
                + (
                    "; without the seed a reloaded layer draws other masks"
                    if "seed" in missing
                    else ""
                )
            )
        rebuilt = self.layer_class.from_config(config)
        seen = (getattr(rebuilt, "rate", None), getattr(rebuilt, "seed", None))
        return seen == (0.25, 7), f"from_config(get_config()) gave (rate, seed) = {seen}"


def check_dropout(layer_class) -> CheckReport:
    """Check a hand-written dropout layer: the training flag, the mask, the scaling, the errors.

    The layer is built as ``layer_class(rate)`` and called on 100,000 ones. The share of zeros
    must be within one percentage point of ``rate``, almost seven standard errors: a correct
    layer passes whatever its seed, and one that drops with a clearly wrong probability fails.
    The mistakes that the share alone misses get their own lines: a seed passed where a
    ``SeedGenerator`` belongs (a seeded layer repeats its mask), a mask drawn with NumPy (frozen
    inside ``tf.function``, so in ``fit``), one mask per feature shared by the whole batch, and
    a ``get_config()`` without ``seed``.

    Args:
        layer_class: the learner's class, built as ``layer_class(rate)``.
    """
    checks = _DropoutProperties(layer_class)
    rate = checks.rate
    report = CheckReport(f"Checking {getattr(layer_class, '__name__', layer_class)}")
    report.check(
        "at inference (training=False, or no flag) the inputs pass unchanged",
        checks.inference_is_identity,
    )
    report.check(f"training zeroes {rate:.0%} of the inputs (± 1%)", checks.drops_rate)
    report.check(f"training scales the kept inputs by 1 / (1 - {rate})", checks.scales_survivors)
    report.check("each training call draws a new mask, even with a seed", checks.new_mask_each_call)
    report.check("each call inside tf.function draws a new mask too", checks.new_mask_in_a_graph)
    report.check(
        "each input gets its own draw (no row or column shared)", checks.one_draw_per_input
    )
    report.check("rate=0 drops nothing, even in training", checks.rate_zero_keeps_everything)
    report.check("rate=1 raises a ValueError that names rate", checks.refuses(1.0))
    report.check("rate=-0.1 raises a ValueError that names rate", checks.refuses(-0.1))
    report.check(
        "get_config() keeps rate and seed (from_config rebuilds the same layer)",
        checks.config_round_trip,
    )
    return report
