"""Self-checks for the lessons' exercises.

A learner calls ``helpers.checks.check_...(their_code)`` and gets a short report: one line per
property that was checked, each passed or failed with the reason. A check never raises because
the learner's code did: an exception becomes a failed line that names it, since a traceback
from inside a checker teaches less than "calling your layer raised ValueError: ...".
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CheckLine:
    """One checked property: what was expected and, when it failed, what was seen instead."""

    description: str
    passed: bool
    detail: str = ""


@dataclass
class CheckReport:
    """The result of a self-check: ``report.passed`` is True when every line passed.

    It renders as plain text (``✓``/``✗`` lines) in a console and as a coloured list in
    JupyterLab, and both renderings are deterministic so stored outputs can be compared.
    """

    title: str
    lines: list[CheckLine] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.lines) and all(line.passed for line in self.lines)

    def check(self, description: str, condition: Callable[[], bool | tuple[bool, str]]) -> bool:
        """Evaluate ``condition()`` and record it; an exception it raises is a failed line.

        ``condition`` may return a bool or a ``(bool, detail)`` pair whose detail explains a
        failure (for instance the value that was seen).
        """
        try:
            outcome = condition()
        except Exception as error:  # the learner's code failed: report it, don't raise
            self.lines.append(CheckLine(description, False, f"{type(error).__name__}: {error}"))
            return False
        passed, detail = outcome if isinstance(outcome, tuple) else (outcome, "")
        self.lines.append(CheckLine(description, bool(passed), "" if passed else detail))
        return bool(passed)

    def summary(self) -> str:
        failed = sum(not line.passed for line in self.lines)
        if self.passed:
            return f"All {len(self.lines)} checks passed."
        return f"{failed} of {len(self.lines)} checks failed: keep going!"

    def __str__(self) -> str:
        rows = [self.title]
        for line in self.lines:
            mark = "✓" if line.passed else "✗"
            rows.append(
                f"  {mark} {line.description}" + (f": {line.detail}" if line.detail else "")
            )
        rows.append(self.summary())
        return "\n".join(rows)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items = []
        for line in self.lines:
            colour, mark = ("#1a7f37", "✓") if line.passed else ("#cf222e", "✗")
            detail = f": <code>{html.escape(line.detail)}</code>" if line.detail else ""
            items.append(
                f'<li style="color:{colour}">{mark} {html.escape(line.description)}{detail}</li>'
            )
        colour = "#1a7f37" if self.passed else "#cf222e"
        return (
            f"<b>{html.escape(self.title)}</b><ul style='list-style:none'>{''.join(items)}</ul>"
            f'<p style="color:{colour}"><b>{html.escape(self.summary())}</b></p>'
        )


# --- Lesson 01 (custom layers): layer normalization and dropout, written by hand ------------------


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


# --- Lesson 04 (autodiff): the central-difference formula and a second derivative by tapes ----


def check_central_difference(central_difference) -> CheckReport:
    """Check a learner's ``central_difference(f, w, eps)`` for a function of one variable.

    The functions are chosen so that the forward formula, a misplaced ``2`` or an extra call
    each fail a different line: central differences are exact on a quadratic, call ``f``
    twice, and their error shrinks 100-fold when ``eps`` shrinks 10-fold (second order).
    """
    import math

    calls = []

    def cube(w):
        calls.append(w)
        return w**3

    def exact_on_quadratic():
        value = central_difference(lambda w: w**2 + 3 * w, 1.5, 0.5)
        return value == 6.0, f"got {value!r} for d/dw (w² + 3w) at 1.5 with eps=0.5, expected 6.0"

    def matches_formula():
        value = central_difference(cube, 2.0, 1e-3)
        expected = ((2.0 + 1e-3) ** 3 - (2.0 - 1e-3) ** 3) / (2 * 1e-3)
        ok = math.isclose(value, expected, rel_tol=1e-12)
        return ok, f"got {value:.10g} for d/dw w³ at 2 with eps=1e-3, expected {expected:.10g}"

    def two_calls():
        calls.clear()
        central_difference(cube, 2.0, 1e-3)
        return len(calls) == 2, f"f was called {len(calls)} times"

    def second_order():
        errors = [
            abs(central_difference(math.sin, 1.0, eps) - math.cos(1.0)) for eps in (1e-2, 1e-3)
        ]
        ratio = errors[0] / errors[1] if errors[1] else math.inf
        return 50 < ratio < 200, f"the error shrank {ratio:.3g}-fold, expected about 100-fold"

    report = CheckReport("Checking central_difference(f, w, eps)")
    report.check("exact on a quadratic: d/dw (w² + 3w) at 1.5 is 6.0", exact_on_quadratic)
    report.check("equals (f(w + eps) - f(w - eps)) / (2 * eps)", matches_formula)
    report.check("calls f exactly twice", two_calls)
    report.check("second order: eps 10 times smaller, error about 100 times smaller", second_order)
    return report


def check_second_derivative(second_derivative) -> CheckReport:
    """Check a learner's ``second_derivative(f, w)``: d²f/dw² at ``w`` by nested tapes.

    Finite differences could pass a loose check, so the last line asks for what only autodiff
    gives: the exact 18.0 for w³ at 3 in float64 (at 3, unlike at 2, f' and f'' differ).
    """
    import math

    import tensorflow as tf

    def close_to(f, w, expected, description):
        def condition():
            value = second_derivative(f, w)
            if value is None:
                return False, "got None: does the outer tape watch w (or is w a tf.Variable)?"
            value = float(value)
            ok = math.isclose(value, expected, rel_tol=1e-5)
            return ok, f"got {value:.6g} for {description}, expected {expected:.6g}"

        return condition

    report = CheckReport("Checking second_derivative(f, w)")
    report.check("d²/dw² w³ at 3.0 is 18", close_to(lambda w: w**3, 3.0, 18.0, "w³ at 3.0"))
    report.check(
        "d²/dw² sin(w) at 1.0 is -sin(1)",
        close_to(tf.sin, 1.0, -math.sin(1.0), "sin(w) at 1.0"),
    )
    report.check(
        "d²/dw² exp(2w) at 0.5 is 4e",
        close_to(lambda w: tf.exp(2 * w), 0.5, 4 * math.e, "exp(2w) at 0.5"),
    )

    def exact_in_float64():
        value = second_derivative(lambda w: w**3, tf.constant(3.0, tf.float64))
        value = None if value is None else float(value)
        return value == 18.0, f"got {value!r}, expected exactly 18.0"

    report.check(
        "exact, not approximated: w³ at a float64 3.0 gives exactly 18.0", exact_in_float64
    )
    return report


# --- Lesson 02 (custom models): a residual block with a learned scale ---------------------------


def check_scaled_residual_block(block_class) -> CheckReport:
    """Check a ``ScaledResidualBlock(n_layers, n_neurons, initial_scale)``: ``inputs + scale * Z``.

    ``scale`` must be one trainable scalar weight starting at ``initial_scale``, and the class
    must save and load like the lesson's: ``get_config`` plus registration, so that a model
    holding it round-trips through a ``.keras`` file without ``custom_objects``. Each property
    is checked on a fresh block, so one mistake fails its own lines only.

    Args:
        block_class: the learner's class, built as ``block_class(2, 8, initial_scale=...)``.
    """
    # Imported here so that importing helpers.checks does not load TensorFlow.
    import os
    import tempfile
    import warnings

    import keras
    import numpy as np

    inputs = np.random.default_rng(2).normal(size=(4, 8)).astype("float32")

    def built(initial_scale):
        block = block_class(2, 8, initial_scale=initial_scale)
        return block, keras.ops.convert_to_numpy(block(inputs))

    def scalar_weights(block):
        return [weight for weight in block.trainable_weights if tuple(weight.shape) == ()]

    def output_shape():
        shape = built(0.5)[1].shape
        return shape == inputs.shape, f"output shape {shape}, input shape {inputs.shape}"

    def one_scale_weight():
        block, _ = built(0.5)
        scales = scalar_weights(block)
        values = [float(keras.ops.convert_to_numpy(weight)) for weight in scales]
        n_weights = len(block.trainable_weights)
        if len(scales) != 1 or n_weights != 2 * 2 + 1:
            return False, f"{len(scales)} scalar weight(s) among {n_weights} trainable weights"
        return values == [0.5], f"the scale starts at {values[0]}"

    def zero_scale_is_identity():
        difference = np.abs(built(0.0)[1] - inputs).max()
        return difference == 0, f"max |output - inputs| = {difference:.3g}"

    def output_scales_with_the_weight():
        block, outputs = built(0.5)
        scales = scalar_weights(block)
        if len(scales) != 1:
            return False, "create the scale weight first"
        scales[0].assign(1.0)
        doubled = keras.ops.convert_to_numpy(block(inputs))
        error = np.abs((doubled - inputs) - 2 * (outputs - inputs)).max()
        return (
            error < 1e-5,
            f"scale 0.5 -> 1.0 changed output - inputs by a factor other than 2 ({error:.3g})",
        )

    def config_round_trip():
        # Keras 3 records plain constructor arguments by itself, but not reliably (a model
        # holding custom layers gets NotImplementedError): the lesson asks for an explicit one.
        if block_class.get_config is keras.layers.Layer.get_config:
            return False, "define get_config() in the class"
        config = block_class(3, 8, initial_scale=0.25).get_config()
        wanted = {"n_layers": 3, "n_neurons": 8, "initial_scale": 0.25}
        seen = {key: config.get(key) for key in wanted}
        if seen != wanted:
            return False, f"get_config() gives {seen}"
        rebuilt = block_class.from_config(config).get_config()
        return rebuilt == config, "from_config(get_config()) built a block with another config"

    def keras_file_round_trip():
        block = block_class(2, 8, initial_scale=0.5)
        model = keras.Sequential([keras.Input(shape=(8,)), block])
        scales = scalar_weights(block)
        if len(scales) != 1:
            return False, "create the scale weight first"
        scales[0].assign(0.7)  # a trained value: loading must restore it, not re-initialize
        expected = keras.ops.convert_to_numpy(model(inputs))
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "scaled.keras")
            model.save(path)
            try:
                with warnings.catch_warnings():
                    # Sequential builds the block before calling it, and Keras warns that a
                    # layer without build() may hold unbuilt sublayers: true, and harmless
                    # here (the call that follows builds them), but noise in a learner's report.
                    warnings.simplefilter("ignore", UserWarning)
                    loaded = keras.models.load_model(path)
            except TypeError as error:
                if "Could not locate class" in str(error):
                    return False, "load_model cannot find the class: register it"
                raise
        difference = np.abs(keras.ops.convert_to_numpy(loaded(inputs)) - expected).max()
        return difference < 1e-6, f"predictions differ after loading by {difference:.3g}"

    report = CheckReport(f"Checking {getattr(block_class, '__name__', block_class)}")
    report.check("the output has the input's shape (4, 8)", output_shape)
    report.check(
        "one trainable scalar weight besides the Dense layers', starting at initial_scale",
        one_scale_weight,
    )
    report.check(
        "with initial_scale=0.0 the block returns its inputs exactly", zero_scale_is_identity
    )
    report.check(
        "output = inputs + scale * Z (doubling scale doubles output - inputs)",
        output_scales_with_the_weight,
    )
    report.check("its own get_config() holds n_layers, n_neurons, initial_scale", config_round_trip)
    report.check(
        "a model holding it round-trips through .keras with no custom_objects",
        keras_file_round_trip,
    )
    return report


# --- Lesson 03 (losses and metrics): a layer that adds an activity penalty with add_loss -------


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
