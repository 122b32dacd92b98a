"""Gradients that go wrong, custom gradients, and a checker that catches them (lesson 06).

Lesson 04 set finite differences against the tape on small functions. Their real use is as the
independent test of gradient code: PyTorch ships ``torch.autograd.gradcheck``, JAX
``jax.test_util.check_grads``, TensorFlow ``tf.test.compute_gradient``. This module holds what
lesson 06 (``notebooks/06_custom_gradients.ipynb``) teaches:

- the book's naive softplus (:func:`my_softplus`), the stable forward pass with autodiff's
  gradient (:func:`stable_softplus`) and the one with a hand-written gradient
  (:func:`my_better_softplus`, ``@tf.custom_gradient``);
- :func:`gradient_check`: the tape's whole Jacobian against central differences, returning a
  :class:`GradientCheckReport` instead of raising, so a notebook can show what went wrong;
- :class:`MySoftplusDense`, a layer whose custom gradient can be deliberately broken, for the
  checker to catch.

What a full Jacobian costs by forward and by reverse mode is in :mod:`helpers.lesson06_jacobians`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

# --------------------------------------------------------------------------------------------
# Softplus three ways: naive, stable forward pass, stable forward pass and custom gradient
# --------------------------------------------------------------------------------------------


def my_softplus(z):
    """The book's softplus, ``log(exp(z) + 1)``: right for small ``z``, ``inf``/``nan`` beyond.

    ``exp(z)`` overflows for ``z`` above about 88.7 in float32 (709.8 in float64): the value
    becomes ``inf``, and autodiff's gradient, ``log``'s ``1 / (exp(z) + 1) = 0`` times
    ``exp``'s ``exp(z) = inf``, becomes ``0 * inf``, that is ``nan``, although the true
    gradient is 1.
    """
    return tf.math.log(tf.exp(z) + 1.0)


def stable_softplus(z):
    """``log(1 + exp(-|z|)) + max(0, z)``: the same function, and ``exp`` never overflows.

    The value never overflows, but for negative ``z`` it loses digits as ``1 + exp(z)`` nears 1
    (0 below about -16.6 in float32, where ``log1p`` would keep them). Autodiff's gradient is
    right for large ``|z|``, but at exactly ``z = 0`` it is 0 instead of 0.5: ``abs`` and
    ``maximum`` have no derivative there, and TensorFlow picks one (``sign(0) = 0``, the tie of
    ``maximum`` goes to the constant), although their sum is smooth.
    """
    return tf.math.log(1 + tf.exp(-tf.abs(z))) + tf.maximum(tf.zeros_like(z), z)


@tf.custom_gradient
def my_better_softplus(z):
    """Softplus with a stable forward pass *and* a hand-written gradient: right everywhere.

    The value is ``log1p(exp(-|z|)) + max(0, z)`` (``log1p`` keeps tiny results such as
    softplus(-20) = 2.06e-9 that ``log(1 + ...)`` rounds to 0). The derivative of softplus is
    the sigmoid, written ``1 / (1 + exp(-z))``: for very negative ``z`` that is ``1 / inf = 0``,
    never ``nan``, and it is 0.5 at 0. ``upstream`` is the gradient flowing back from what uses
    the result; the chain rule multiplies it in.
    """

    def softplus_gradient(upstream):
        return upstream / (1 + tf.exp(-z))

    value = tf.math.log1p(tf.exp(-tf.abs(z))) + tf.maximum(tf.zeros_like(z), z)
    return value, softplus_gradient


def value_and_gradient(function, z, dtype="float32"):
    """``function(z)`` and its tape gradient at ``z``, as Python floats (``nan``, ``inf`` kept)."""
    z = tf.Variable(z, dtype=dtype)
    with tf.GradientTape() as tape:
        value = function(z)
    return float(value), float(tape.gradient(value, z))


# --------------------------------------------------------------------------------------------
# A layer with a custom gradient, correct or deliberately broken
# --------------------------------------------------------------------------------------------


@tf.custom_gradient
def softplus_forgetting_upstream(z):
    """Softplus whose gradient forgets the chain rule: the classic custom-gradient bug."""

    def softplus_gradient(upstream):
        return 1 / (1 + tf.exp(-z))  # wrong: should be upstream / (1 + tf.exp(-z))

    value = tf.math.log1p(tf.exp(-tf.abs(z))) + tf.maximum(tf.zeros_like(z), z)
    return value, softplus_gradient


@keras.saving.register_keras_serializable(package="helpers")
class MySoftplusDense(keras.layers.Layer):
    """A dense layer with :func:`my_better_softplus` as activation, or a broken twin of it.

    With ``broken_gradient=True`` the activation's custom gradient ignores the upstream
    gradient (it returns the sigmoid alone): the forward pass is unchanged and every
    prediction is right, only training would go wrong. A check of the plain sum of the outputs
    would not show it (every upstream gradient is then 1); a check of the whole Jacobian does.
    """

    def __init__(self, units, broken_gradient=False, **kwargs):
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a whole number >= 1, got {units!r}")
        super().__init__(**kwargs)
        self.units = units
        self.broken_gradient = bool(broken_gradient)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=[batch_input_shape[-1], self.units], initializer="glorot_normal"
        )
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")

    def call(self, X):
        Z = X @ self.kernel + self.bias
        if self.broken_gradient:
            return softplus_forgetting_upstream(Z)
        return my_better_softplus(Z)

    def compute_output_shape(self, batch_input_shape):
        return (*batch_input_shape[:-1], self.units)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "units": self.units, "broken_gradient": self.broken_gradient}


# --------------------------------------------------------------------------------------------
# The gradient checker
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def floatx(dtype: str) -> Iterator[None]:
    """Build layers in ``dtype`` (``"float64"`` for a gradient check), then restore the defaults.

    A layer's ``dtype="float64"`` argument reaches the sublayers it creates only if its code
    passes it on (the book's ``ResidualBlock`` does not), and a float32 layer silently casts
    float64 inputs to float32. The global dtype policy reaches every layer built while it is set;
    it is set here together with ``floatx``, because Keras fixes the policy from ``floatx`` when
    the first layer is built, and ``set_floatx`` alone no longer changes it after that.
    """
    if dtype not in ("float16", "float32", "float64"):
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype!r}")
    previous_floatx, previous_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous_floatx)
        keras.config.set_dtype_policy(previous_policy)


# torch.autograd.gradcheck's documented defaults: central differences with eps=1e-6, and an
# analytical entry a passes against the numerical n when |a - n| <= atol + rtol * |n|.
DEFAULT_EPS, DEFAULT_ATOL, DEFAULT_RTOL = 1e-6, 1e-5, 1e-3


@dataclass(frozen=True)
class WorstEntry:
    """The Jacobian entry furthest outside the tolerance: d output[...] / d input[...]."""

    input_name: str
    input_index: int
    input_position: tuple
    output_position: tuple
    analytic: float
    numerical: float

    def describe(self) -> str:
        output = f"output[{', '.join(map(str, self.output_position))}]"
        where = f"[{', '.join(map(str, self.input_position))}]" if self.input_position else ""
        return (
            f"∂ {output} / ∂ {self.input_name}{where}: tape {_number(self.analytic)}, "
            f"finite differences {_number(self.numerical)}"
        )


@dataclass
class GradientCheckReport:
    """What :func:`gradient_check` found: ``passed``, the worst errors and where they are.

    ``analytic`` and ``numerical`` hold one Jacobian per input, shaped ``output.shape +
    input.shape`` as ``tape.jacobian`` returns it; :meth:`relative_errors` gives the error of
    each entry. It prints as a few lines of text and renders as coloured HTML in a notebook.
    Errors are printed by :func:`format_error`: below 1e-6 as the bound "< 1e-6", since at that
    size they are rounding, whose digits (even their power of ten) differ between machines.
    """

    passed: bool
    max_abs_error: float
    max_rel_error: float
    worst: WorstEntry | None
    input_names: list[str]
    input_shapes: list[tuple]
    output_shape: tuple
    dtype: str
    eps: float
    atol: float
    rtol: float
    calls: int
    analytic: list[np.ndarray] = field(repr=False)
    numerical: list[np.ndarray] = field(repr=False)
    problems: list[str] = field(default_factory=list)

    def relative_errors(self, index: int = 0) -> np.ndarray:
        """``|tape - numerical| / max(|tape|, |numerical|)`` per entry of input ``index``'s
        Jacobian (0 where both are 0, ``nan`` where either is)."""
        return _relative_error(self.analytic[index], self.numerical[index])

    def relative_errors_by_entry(self, index: int = 0) -> np.ndarray:
        """The worst relative error of each entry of input ``index`` (over all outputs),
        shaped like that input: what the lesson's heatmap shows."""
        errors = self.relative_errors(index)
        n_output_axes = len(self.output_shape)
        flat = errors.reshape((-1, *self.input_shapes[index])) if n_output_axes else errors[None]
        return np.where(np.isnan(flat).any(axis=0), np.nan, np.nanmax(flat, axis=0, initial=0.0))

    def _lines(self) -> list[str]:
        inputs = ", ".join(
            f"{name} {tuple(shape)}"
            for name, shape in zip(self.input_names, self.input_shapes, strict=True)
        )
        entries = sum(math.prod(shape) for shape in self.input_shapes)
        lines = [
            f"inputs: {inputs}; output {tuple(self.output_shape)}",
            f"{entries} input entries, {self.calls} calls of f; {self.dtype}, eps={self.eps:g}, "
            f"atol={self.atol:g}, rtol={self.rtol:g}",
            f"max |error| {format_error(self.max_abs_error)}, "
            f"max relative error {format_error(self.max_rel_error)}",
        ]
        if self.worst is not None and not self.passed:
            lines.append(f"worst entry: {self.worst.describe()}")
        lines.extend(self.problems)
        return lines

    @property
    def verdict(self) -> str:
        return "passed" if self.passed else "FAILED"

    def __str__(self) -> str:
        lines = [f"  {line}" for line in self._lines()]
        return "\n".join([f"Gradient check {self.verdict}", *lines])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        colour = "#1a7f37" if self.passed else "#cf222e"
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self._lines())
        return (
            f'<b style="color:{colour}">Gradient check {self.verdict}</b>'
            f"<ul style='margin-top:0'>{items}</ul>"
        )


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.3g}"


def format_error(value: float, digits: int = 2, floor: float = 1e-6) -> str:
    """An error as the lesson prints it, stable from machine to machine.

    A float64 check's errors are rounding, about 1e-11 to 1e-8 for the lesson's layers; their
    digits, and even their power of ten, differ between machines (and between a compiled and
    an eager run), so anything below ``floor`` is shown as that one bound (``"< 1e-6"``),
    far above them and far below the tolerances. From ``floor`` to 1e-3 an error is shown as
    the next power of ten above it (``"< 1e-4"`` for 1e-5 or 3.2e-5); a larger one gets
    ``digits`` significant digits.
    """
    if math.isnan(value):
        return "nan"
    if value == 0:
        return "0"
    if value < floor:
        return f"< 1e{math.ceil(math.log10(floor) - 1e-9)}"  # a true bound for any floor
    if value < 1e-3:
        return f"< 1e{math.floor(math.log10(value)) + 1}"
    return f"{value:.{digits}g}"


def _relative_error(analytic: np.ndarray, numerical: np.ndarray) -> np.ndarray:
    difference = np.abs(analytic - numerical)
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(scale > 0, difference / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(np.isnan(difference), np.nan, relative)


def validate_number(name: str, value, *, positive: bool) -> float:
    """``value`` as a float if finite and > 0 (``positive``) or >= 0; else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        allowed = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")
    return value


def prepare_check_inputs(inputs) -> list:
    """``inputs`` as :func:`gradient_check` uses them: a list of float tensors and variables
    (one tensor or variable alone is wrapped); ``ValueError`` naming what is wrong."""
    if isinstance(inputs, tf.Variable | keras.Variable | tf.Tensor | np.ndarray):
        inputs = [inputs]
    if not isinstance(inputs, Sequence) or isinstance(inputs, str) or not inputs:
        raise ValueError(
            f"inputs must be a non-empty list of tensors or variables, got {inputs!r:.80}"
        )
    prepared = []
    for index, item in enumerate(inputs):
        if not isinstance(item, tf.Variable | keras.Variable):
            try:
                item = tf.convert_to_tensor(item)
            except (TypeError, ValueError) as error:
                raise ValueError(f"inputs[{index}] is not a tensor: {error}") from None
        if not tf.as_dtype(item.dtype).is_floating:
            raise ValueError(
                f"inputs[{index}] must hold floats (float64 for a reliable check), "
                f"got {tf.as_dtype(item.dtype).name}"
            )
        prepared.append(item)
    return prepared


def _watchable(item):
    """What a tape watches for an input: a Keras variable's underlying ``tf.Variable``."""
    return item.value if isinstance(item, keras.Variable) else item


def _input_name(item, index: int) -> str:
    if isinstance(item, tf.Variable | keras.Variable):
        return getattr(item, "path", None) or item.name.split(":")[0]
    return f"inputs[{index}]"


def call_checked(f: Callable, inputs: list) -> tf.Tensor:
    """``f(*inputs)`` as a tensor; ``ValueError`` naming ``f`` if it is not one of floats."""
    output = f(*inputs)
    try:
        output = tf.convert_to_tensor(output)
    except (TypeError, ValueError):
        raise ValueError(f"f must return a tensor of floats, got {output!r:.80}") from None
    if not output.dtype.is_floating:
        raise ValueError(f"f must return a tensor of floats, got dtype {output.dtype.name}")
    return output


def tape_jacobian(f: Callable, inputs: list) -> tuple[np.ndarray, list[np.ndarray]]:
    """``f(*inputs)`` and its Jacobian with respect to every input (float64 NumPy arrays).

    One reverse pass per output entry, each with a one-hot upstream gradient: that is what
    catches a custom gradient that ignores its upstream gradient. ``inputs`` as prepared by
    :func:`gradient_check`; public so a widget can cache this half of a check.
    """
    sources = [_watchable(item) for item in inputs]
    ZERO = tf.UnconnectedGradients.ZERO  # an input f does not use has a zero Jacobian
    with tf.GradientTape(persistent=True) as tape:
        for source in sources:
            tape.watch(source)
        output = call_checked(f, inputs)
        entries = tf.unstack(tf.reshape(output, [-1])) if output.shape.rank else [output]
    rows = []
    for entry in entries:
        gradients = tape.gradient(entry, sources, unconnected_gradients=ZERO)
        rows.append([np.asarray(g, dtype=np.float64) for g in gradients])
    del tape
    jacobians = [
        np.stack([row[k] for row in rows]).reshape((*output.shape, *source.shape))
        for k, source in enumerate(sources)
    ]
    return output.numpy(), jacobians


def _nudged_outputs(f: Callable, inputs: list, index: int, position: tuple, step: float):
    """``f`` with one entry of ``inputs[index]`` moved by ``step``, as a float64 array."""
    item = inputs[index]
    values = np.array(item.numpy())
    moved = values.copy()
    moved[position] += step
    if isinstance(item, tf.Variable | keras.Variable):
        item.assign(moved)
        try:
            return np.asarray(call_checked(f, inputs), dtype=np.float64)
        finally:
            item.assign(values)
    nudged = [*inputs[:index], tf.constant(moved, dtype=item.dtype), *inputs[index + 1 :]]
    return np.asarray(call_checked(f, nudged), dtype=np.float64)


def central_difference_jacobian(f, inputs, eps, output_shape) -> tuple[list[np.ndarray], int]:
    """The numerical Jacobians (one per input) and the number of calls of ``f`` they took."""
    jacobians, calls = [], 0
    for index, item in enumerate(inputs):
        shape = tuple(item.shape)
        jacobian = np.empty((*output_shape, *shape))
        for position in np.ndindex(shape):
            plus = _nudged_outputs(f, inputs, index, position, eps)
            minus = _nudged_outputs(f, inputs, index, position, -eps)
            calls += 2
            with np.errstate(invalid="ignore"):  # inf - inf: a nan the report names
                jacobian[(..., *position)] = (plus - minus) / (2 * eps)
        jacobians.append(jacobian)
    return jacobians, calls


def gradient_check(f, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Compare the tape's whole Jacobian of ``f(*inputs)`` with central differences.

    Each entry of every input is nudged by ``+eps`` and ``-eps`` (2 calls of ``f`` per entry,
    a variable is assigned and restored), giving the numerical Jacobian; the tape gives the
    analytical one. An entry passes when ``|tape - numerical| <= atol + rtol * |numerical|``:
    the rule and the defaults of ``torch.autograd.gradcheck``, which, like this checker, is
    designed for float64. In float32 a correct gradient can "fail": ``eps=1e-6`` sits on the
    rounding side of lesson 04's V curve. The check runs in the inputs' own dtype.

    Args:
        f: a function of the inputs returning a float tensor of any shape (the whole Jacobian is
            checked). It must be deterministic: a second call that differs fails the check.
        inputs: tensors or ``tf.Variable``s (Keras weights too), or one of them; ``f`` receives
            them in order. For weights, ``f`` may ignore its arguments and call the layer.
        eps: the finite-difference step, finite and > 0.
        atol, rtol: the absolute and relative tolerances, finite and >= 0.

    Returns:
        A :class:`GradientCheckReport`. It does not raise on a mismatch, nor on ``nan``
        (reported as a failed line); it raises ``ValueError`` on bad arguments.
    """
    eps = validate_number("eps", eps, positive=True)
    atol = validate_number("atol", atol, positive=False)
    rtol = validate_number("rtol", rtol, positive=False)
    if not callable(f):
        raise ValueError(f"f must be a function of the inputs, got {f!r:.80}")
    inputs = prepare_check_inputs(inputs)
    output, analytic = tape_jacobian(f, inputs)
    numerical, calls = central_difference_jacobian(f, inputs, eps, output.shape)
    report = compare_jacobians(inputs, output, analytic, numerical, eps, atol, rtol, calls + 2)
    again = call_checked(f, inputs).numpy()  # finite differences assume the same f each call
    if not np.array_equal(again, output, equal_nan=True):
        report.problems.append("f is not deterministic: two calls at the same inputs differ")
        report.passed = False
    return report


def compare_jacobians(
    inputs, output, analytic, numerical, eps, atol, rtol, calls
) -> GradientCheckReport:
    """Judge each entry by ``|a - n| <= atol + rtol * |n|`` and find the worst one."""
    names = [_input_name(item, index) for index, item in enumerate(inputs)]
    differences = [np.abs(a - n) for a, n in zip(analytic, numerical, strict=True)]
    worst, worst_score, problems = None, -1.0, []
    for index, (a, n, difference) in enumerate(zip(analytic, numerical, differences, strict=True)):
        problems += _non_finite_entries(names[index], a, n)
        if a.size == 0:
            continue
        # How many tolerances off each entry is (1 is the limit); nan counts as the worst.
        with np.errstate(divide="ignore", invalid="ignore"):  # atol = 0 and n = 0: 0 / 0
            score = np.where(difference == 0, 0.0, difference / (atol + rtol * np.abs(n)))
        score = np.where(np.isnan(score), np.inf, score)
        flat_index = int(np.argmax(score))
        if score.flat[flat_index] > worst_score:
            worst_score = float(score.flat[flat_index])
            position = np.unravel_index(flat_index, a.shape)
            output_axes = output.ndim
            worst = WorstEntry(
                names[index],
                index,
                tuple(int(p) for p in position[output_axes:]),
                tuple(int(p) for p in position[:output_axes]),
                float(a[position]),
                float(n[position]),
            )
    if any(np.isnan(difference).any() for difference in differences):
        max_abs = max_rel = math.nan
    else:
        max_abs = max((float(d.max(initial=0.0)) for d in differences), default=0.0)
        relative = [_relative_error(a, n) for a, n in zip(analytic, numerical, strict=True)]
        max_rel = max((float(r.max(initial=0.0)) for r in relative), default=0.0)
    return GradientCheckReport(
        passed=bool(worst_score <= 1.0 and not problems),
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        worst=worst,
        input_names=names,
        input_shapes=[tuple(item.shape) for item in inputs],
        output_shape=tuple(output.shape),
        dtype=tf.as_dtype(inputs[0].dtype).name,
        eps=eps,
        atol=atol,
        rtol=rtol,
        calls=calls,
        analytic=analytic,
        numerical=numerical,
        problems=problems,
    )


def _non_finite_entries(name: str, analytic: np.ndarray, numerical: np.ndarray) -> list[str]:
    """A report line for each Jacobian (tape, finite differences) holding ``nan`` or ``inf``."""
    lines = []
    for label, values in (("the tape's", analytic), ("the finite differences'", numerical)):
        bad = ~np.isfinite(values)
        if bad.any():
            position = tuple(int(p) for p in np.unravel_index(np.argmax(bad), values.shape))
            lines.append(
                f"{label} Jacobian for {name} holds {int(bad.sum())} nan/inf entries, "
                f"the first at position {position}"
            )
    return lines
