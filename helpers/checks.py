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


# --- Lesson 01 (custom layers): the book's layer-normalization exercise ------------------------


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
