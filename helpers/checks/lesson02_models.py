"""Lesson 02's self-check: a residual block with a learned scale.

The check is a ``check_...`` function (the learner's entry point: it lists the report's lines)
over a small class with one method per checked property, so every property reads on its own.
Keras and NumPy are imported inside the methods, so that importing ``helpers.checks`` does not
load TensorFlow.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport, defines_get_config, saved_and_loaded


class _ScaledResidualBlockProperties:
    """What ``check_scaled_residual_block`` checks, each on a fresh ``block_class(2, 8, ...)``."""

    def __init__(self, block_class):
        import numpy as np

        self.block_class = block_class
        self.inputs = np.random.default_rng(2).normal(size=(4, 8)).astype("float32")

    def built(self, initial_scale):
        """A fresh block with ``initial_scale``, and its output on the inputs."""
        import keras

        block = self.block_class(2, 8, initial_scale=initial_scale)
        return block, keras.ops.convert_to_numpy(block(self.inputs))

    @staticmethod
    def scalar_weights(block):
        return [weight for weight in block.trainable_weights if tuple(weight.shape) == ()]

    def built_from_a_shape(self):
        import warnings

        block = self.block_class(2, 8, initial_scale=0.5)
        with warnings.catch_warnings():
            # A layer without build() of its own warns that it may hold unbuilt sublayers:
            # the report's line says that in a learner's words, the warning would repeat it.
            warnings.simplefilter("ignore", UserWarning)
            block.build((None, 8))
        n_weights = len(block.trainable_weights)
        return n_weights == 2 * 2 + 1, (
            f"build((None, 8)) created {n_weights} of 5 weights: build the Dense layers in build()"
        )

    @staticmethod
    def dense_layers(block):
        """The Dense layers the block holds, in attributes or in lists of them."""
        import keras

        found = {}  # by id: Keras also lists the sublayers in a private attribute
        for value in vars(block).values():
            items = value if isinstance(value, (list, tuple)) else [value]
            found |= {id(item): item for item in items if isinstance(item, keras.layers.Dense)}
        return list(found.values())

    def dense_settings(self):
        import keras

        block = self.block_class(2, 8, initial_scale=0.5)
        dense = self.dense_layers(block)
        if len(dense) != 2:
            return False, f"found {len(dense)} Dense layers for n_layers=2"
        activations = sorted({getattr(layer.activation, "__name__", "?") for layer in dense})
        initializers = sorted({type(layer.kernel_initializer).__name__ for layer in dense})
        ok = activations == ["elu"] and all(
            isinstance(layer.kernel_initializer, keras.initializers.HeNormal) for layer in dense
        )
        return ok, (
            f"the Dense layers use activation {activations} and kernel_initializer "
            f"{initializers}: the exercise asks for activation='elu', "
            "kernel_initializer='he_normal'"
        )

    def mixed_precision(self):
        import keras

        block = self.block_class(2, 8, initial_scale=0.5, dtype="mixed_float16")
        try:
            outputs = block(self.inputs)
        except Exception as error:
            return False, (
                f"{type(error).__name__} under mixed_float16: give each Dense layer the block's "
                "policy, dtype=self.dtype_policy"
            )
        dtype = keras.backend.standardize_dtype(outputs.dtype)
        return dtype == "float16", (
            f"the block returns {dtype}: give each Dense layer dtype=self.dtype_policy"
        )

    def output_shape(self):
        shape = self.built(0.5)[1].shape
        return shape == self.inputs.shape, f"output shape {shape}, input shape {self.inputs.shape}"

    def one_scale_weight(self):
        import keras

        block, _ = self.built(0.5)
        scales = self.scalar_weights(block)
        values = [float(keras.ops.convert_to_numpy(weight)) for weight in scales]
        n_weights = len(block.trainable_weights)
        if len(scales) != 1 or n_weights != 2 * 2 + 1:
            return False, f"{len(scales)} scalar weight(s) among {n_weights} trainable weights"
        return values == [0.5], f"the scale starts at {values[0]}"

    def zero_scale_is_identity(self):
        import numpy as np

        difference = np.abs(self.built(0.0)[1] - self.inputs).max()
        return difference == 0, f"max |output - inputs| = {difference:.3g}"

    def output_scales_with_the_weight(self):
        import keras
        import numpy as np

        block, outputs = self.built(0.5)
        scales = self.scalar_weights(block)
        if len(scales) != 1:
            return False, "create the scale weight first"
        scales[0].assign(1.0)
        doubled = keras.ops.convert_to_numpy(block(self.inputs))
        error = np.abs((doubled - self.inputs) - 2 * (outputs - self.inputs)).max()
        return (
            error < 1e-5,
            f"scale 0.5 -> 1.0 changed output - inputs by a factor other than 2 ({error:.3g})",
        )

    def config_round_trip(self):

        # Without its own get_config, a *layer* gets Keras 3's automatic config, which records
        # the values passed, but only while every argument is a plain Python value (it raises
        # NotImplementedError otherwise); a keras.Model subclass gets the defaults instead. The
        # lesson asks for an explicit one, which works in every case.
        if not defines_get_config(self.block_class):
            return False, (
                "define get_config() in the class (Keras' automatic config only covers plain "
                "argument values)"
            )
        config = self.block_class(3, 8, initial_scale=0.25).get_config()
        wanted = {"n_layers": 3, "n_neurons": 8, "initial_scale": 0.25}
        seen = {key: config.get(key) for key in wanted}
        if seen != wanted:
            return False, f"get_config() gives {seen}"
        rebuilt = self.block_class.from_config(config).get_config()
        return rebuilt == config, "from_config(get_config()) built a block with another config"

    def keras_file_round_trip(self):
        import keras
        import numpy as np

        block = self.block_class(2, 8, initial_scale=0.5)
        model = keras.Sequential([keras.Input(shape=(8,)), block])
        scales = self.scalar_weights(block)
        if len(scales) != 1:
            return False, "create the scale weight first"
        scales[0].assign(0.7)  # a trained value: loading must restore it, not re-initialize
        expected = keras.ops.convert_to_numpy(model(self.inputs))
        loaded = saved_and_loaded(model)
        if loaded is None:
            return False, "load_model cannot find the class: register it"
        difference = np.abs(keras.ops.convert_to_numpy(loaded(self.inputs)) - expected).max()
        return difference < 1e-6, f"predictions differ after loading by {difference:.3g}"


def check_scaled_residual_block(block_class) -> CheckReport:
    """Check a ``ScaledResidualBlock(n_layers, n_neurons, initial_scale)``: ``inputs + scale * Z``.

    ``scale`` must be one trainable scalar weight starting at ``initial_scale``, ``build`` must
    build the Dense layers (so a shape alone creates every weight), the Dense layers must be the
    ones the exercise asks for (``elu``, ``he_normal``) and get the block's dtype policy (or
    the block fails under ``mixed_float16``, half plus float), and the class must save and
    load like the lesson's: ``get_config`` plus registration, so that a model
    holding it round-trips through a ``.keras`` file without ``custom_objects``. Each property
    is checked on a fresh block, so one mistake fails its own lines only.

    Args:
        block_class: the learner's class, built as ``block_class(2, 8, initial_scale=...)``.
    """
    checks = _ScaledResidualBlockProperties(block_class)
    report = CheckReport(f"Checking {getattr(block_class, '__name__', block_class)}")
    report.check("the output has the input's shape (4, 8)", checks.output_shape)
    report.check(
        "build((None, 8)) alone creates every weight (Dense layers built)",
        checks.built_from_a_shape,
    )
    report.check(
        "one trainable scalar weight besides the Dense layers', starting at initial_scale",
        checks.one_scale_weight,
    )
    report.check(
        "n_layers Dense layers with activation='elu' and kernel_initializer='he_normal'",
        checks.dense_settings,
    )
    report.check(
        "with initial_scale=0.0 the block returns its inputs exactly",
        checks.zero_scale_is_identity,
    )
    report.check(
        "output = inputs + scale * Z (doubling scale doubles output - inputs)",
        checks.output_scales_with_the_weight,
    )
    report.check(
        "under mixed_float16 it computes in float16 (its Dense layers get its dtype policy)",
        checks.mixed_precision,
    )
    report.check(
        "its own get_config() holds n_layers, n_neurons, initial_scale", checks.config_round_trip
    )
    report.check(
        "a model holding it round-trips through .keras with no custom_objects",
        checks.keras_file_round_trip,
    )
    return report
