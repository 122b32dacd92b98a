"""A gradient checker: the tape's whole Jacobian against central differences (lesson 06).

:func:`gradient_check` returns a :class:`GradientCheckReport` instead of raising, so a notebook
can show what went wrong. From ``torch.autograd.gradcheck`` it takes two things: the comparison
rule with its defaults (central differences, ``eps=1e-6``, an entry passes when
``|a - n| <= atol + rtol * |n|``), and the test that the backward pass multiplies by its upstream
gradient (done the way JAX's ``check_grads`` does it: one random upstream gradient). What it does
*not* do, and gradcheck does: complex inputs, forward mode (``check_forward_ad``), second order
(``gradgradcheck``), batched gradients, sparse *inputs*, a fast mode. It refuses with a
``ValueError`` what it cannot check (empty inputs or outputs, several outputs of different
shapes), and it is tested side by side with ``tf.test.compute_gradient`` in
``tests/test_gradient_check_reference.py``.
"""

from __future__ import annotations

from helpers.validation import require_number_in_range

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

# torch.autograd.gradcheck's documented defaults: central differences with eps=1e-6, and an
# analytical entry a passes against the numerical n when |a - n| <= atol + rtol * |n|.
DEFAULT_EPS, DEFAULT_ATOL, DEFAULT_RTOL = 1e-6, 1e-5, 1e-3
UPSTREAM_SEED = 19  # the random upstream gradient of the upstream test is the same every run


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
        output = "output"
        if self.output_position:
            output = f"output[{', '.join(map(str, self.output_position))}]"
        where = f"[{', '.join(map(str, self.input_position))}]" if self.input_position else ""
        return (
            f"∂ {output} / ∂ {self.input_name}{where}: tape {_number(self.analytic)}, "
            f"finite differences {_number(self.numerical)}"
        )


@dataclass(frozen=True)
class UpstreamTest:
    """The backward pass run once with a random upstream gradient ``u``, against ``u · J``.

    A backward pass that ignores its upstream gradient gives the right Jacobian rows when the
    upstream is one-hot (or the output a scalar whose upstream is 1), so the Jacobian alone
    cannot see it; with a random ``u`` it gives something other than ``u · J``. ``worst`` names
    the entry furthest outside ``atol + rtol * (|u| · |J|)`` when the test fails.
    """

    passed: bool
    worst: str = ""

    def line(self) -> str:
        if self.passed:
            return "upstream test passed: a random upstream gradient u gives u · J"
        return (
            f"upstream test FAILED: with a random upstream gradient u, {self.worst}: "
            "does a custom gradient multiply by its upstream gradient?"
        )


@dataclass
class GradientCheckReport:
    """What :func:`gradient_check` found: ``passed``, the worst errors and where they are.

    ``analytic`` and ``numerical`` hold one Jacobian per input, shaped ``output.shape +
    input.shape`` as ``tape.jacobian`` returns it; :meth:`relative_errors` gives the error of
    each entry. ``tolerance_used`` is what the verdict reads: the worst entry's
    ``|a - n| / (atol + rtol * |n|)``, which passes up to 1. ``max_rel_error`` is the size of
    the errors, ``|a - n| / max(|a|, |n|)``, not the verdict's measure. Errors are printed by
    :func:`format_error`: below 1e-6 as the bound "< 1e-6", since at that size they are
    rounding, whose digits (even their power of ten) differ between machines.
    """

    passed: bool
    max_abs_error: float
    max_rel_error: float
    tolerance_used: float
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
    upstream: UpstreamTest | None = None

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
            f"max |error| {format_error(self.max_abs_error)}; worst |error| / (atol + rtol·|n|): "
            f"{format_error(self.tolerance_used, floor=1e-3)} (passes up to 1)",
        ]
        if self.worst is not None and not self.tolerance_used <= 1:  # nan included
            lines.append(f"worst entry: {self.worst.describe()}")
        if self.upstream is not None:
            lines.append(self.upstream.line())
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

    A float64 check's errors are rounding, about 1e-11 to 1e-6 for the lesson's layers (the
    largest where a Jacobian entry is small); their digits, and even their power of ten,
    differ between machines (and between a compiled and an eager run), so anything below
    ``floor`` is shown as that one bound (``"< 1e-6"``); choose a ``floor`` far above them
    and far below the tolerances. From ``floor`` to 1e-3 an error is shown as
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
    return require_number_in_range(name, value, 0.0, low_open=positive)


def _tolerance_score(difference, scale, atol: float, rtol: float):
    """How many tolerances off each entry is, ``difference / (atol + rtol * scale)`` (1 is the
    limit; an exact entry scores 0 even where atol = 0 and scale = 0), a nan as the worst."""
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(difference == 0, 0.0, difference / (atol + rtol * scale))
    return np.where(np.isnan(score), np.inf, score)


# --------------------------------------------------------------------------------------------
# Inputs and outputs: what the checker accepts, and what it refuses
# --------------------------------------------------------------------------------------------

_TENSORS = (tf.Variable, keras.Variable, tf.Tensor, np.ndarray, np.generic)


def _as_float_tensor(item, index: int):
    """One input as a float tensor or variable. Python numbers and lists become float64
    (TensorFlow would make them float32, too coarse for the check); ``ValueError`` else."""
    if not isinstance(item, tf.Variable | keras.Variable):
        try:
            probe = tf.convert_to_tensor(item)
        except (TypeError, ValueError) as error:
            raise ValueError(f"inputs[{index}] is not a tensor: {error}") from None
        from_python = not isinstance(item, _TENSORS)
        if from_python and (probe.dtype.is_floating or probe.dtype.is_integer):
            probe = tf.constant(item, tf.float64)  # from the Python values, not from float32
        item = probe
    dtype = tf.as_dtype(item.dtype)
    if not dtype.is_floating:
        raise ValueError(
            f"inputs[{index}] must hold floats (float64 for a reliable check), got {dtype.name}"
        )
    if item.shape.num_elements() == 0:
        raise ValueError(
            f"inputs[{index}] is empty (shape {tuple(item.shape)}): it has no derivative to "
            "check; leave it out"
        )
    return item


def prepare_check_inputs(inputs) -> list:
    """``inputs`` as :func:`gradient_check` uses them: a list of float tensors and variables
    (one tensor or variable alone is wrapped; Python numbers and lists become float64);
    ``ValueError`` naming what is wrong, an empty input included."""
    if isinstance(inputs, tf.Variable | keras.Variable | tf.Tensor | np.ndarray):
        inputs = [inputs]
    if not isinstance(inputs, Sequence) or isinstance(inputs, str) or not inputs:
        raise ValueError(
            f"inputs must be a non-empty list of tensors or variables, got {inputs!r:.80}"
        )
    return [_as_float_tensor(item, index) for index, item in enumerate(inputs)]


def warn_unless_float64(inputs: list) -> None:
    """A ``UserWarning`` for each input that is not float64, as ``torch.autograd.gradcheck``
    gives: the tolerances are for float64, and in float32 a correct gradient usually fails."""
    for index, item in enumerate(inputs):
        dtype = tf.as_dtype(item.dtype).name
        if dtype != "float64":
            warnings.warn(
                f"gradient_check: {_input_name(item, index)} is {dtype}, not float64: the "
                "tolerances are for float64, and a correct gradient may fail (build layers "
                "under floatx('float64'))",
                UserWarning,
                stacklevel=3,
            )


def _watchable(item):
    """What a tape watches for an input: a Keras variable's underlying ``tf.Variable``."""
    return item.value if isinstance(item, keras.Variable) else item


def _input_name(item, index: int) -> str:
    if isinstance(item, tf.Variable | keras.Variable):
        return getattr(item, "path", None) or item.name.split(":")[0]
    return f"inputs[{index}]"


def call_checked(f: Callable, inputs: list) -> tf.Tensor:
    """``f(*inputs)`` as one non-empty tensor of floats; else a ``ValueError`` that says why."""
    output = f(*inputs)
    try:
        output = tf.convert_to_tensor(output)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError):
        parts = isinstance(output, list | tuple)
        hint = " (parts of different shapes: return one tensor, e.g. tf.concat)" if parts else ""
        raise ValueError(f"f must return one tensor of floats, got {output!r:.80}{hint}") from None
    if not output.dtype.is_floating:
        raise ValueError(f"f must return one tensor of floats, got dtype {output.dtype.name}")
    if output.shape.num_elements() == 0:
        raise ValueError(
            f"f returned an empty tensor (shape {tuple(output.shape)}): there is no derivative "
            "to check"
        )
    return output


# --------------------------------------------------------------------------------------------
# The two Jacobians, and the upstream test
# --------------------------------------------------------------------------------------------


def _dense_gradient(gradient, source, name: str) -> tuple[np.ndarray | None, str]:
    """A gradient as a float64 array (an ``IndexedSlices`` densified, as
    ``tf.convert_to_tensor`` does), or ``None`` and a problem line if its shape is wrong."""
    gradient = tf.convert_to_tensor(gradient)  # a gather's IndexedSlices becomes dense
    if tuple(gradient.shape) != tuple(source.shape):
        return None, (
            f"the tape's gradient for {name} has shape {tuple(gradient.shape)}, but {name} has "
            f"shape {tuple(source.shape)}: a custom gradient must return its input's shape"
        )
    return np.asarray(gradient, dtype=np.float64), ""


def tape_jacobian(f: Callable, inputs: list) -> tuple[np.ndarray, list[np.ndarray], dict]:
    """``f(*inputs)``, its Jacobian with respect to every input (float64 NumPy arrays), and
    ``{input index: problem line}`` for gradients of the wrong shape (their Jacobian is nan).

    One reverse pass per output entry, each with a one-hot upstream gradient. ``inputs`` as
    prepared by :func:`prepare_check_inputs`; public so a widget can cache this half.
    """
    sources = [_watchable(item) for item in inputs]
    names = [_input_name(item, index) for index, item in enumerate(inputs)]
    ZERO = tf.UnconnectedGradients.ZERO  # an input f does not use has a zero Jacobian
    with tf.GradientTape(persistent=True) as tape:
        for source in sources:
            tape.watch(source)
        output = call_checked(f, inputs)
        entries = tf.unstack(tf.reshape(output, [-1])) if output.shape.rank else [output]
    jacobians = [np.empty((len(entries), *source.shape)) for source in sources]
    problems = {}
    for row, entry in enumerate(entries):
        gradients = tape.gradient(entry, sources, unconnected_gradients=ZERO)
        for k, gradient in enumerate(gradients):
            dense, problem = _dense_gradient(gradient, sources[k], names[k])
            if problem:
                problems[k], jacobians[k][row] = problem, np.nan
            else:
                jacobians[k][row] = dense
    del tape
    shaped = [J.reshape((*output.shape, *J.shape[1:])) for J in jacobians]
    return output.numpy(), shaped, problems


def upstream_test(f, inputs, analytic, atol, rtol) -> tuple[np.ndarray, UpstreamTest | None]:
    """Run the backward pass once with a random upstream gradient ``u`` and compare it with
    ``u · J``; return ``f``'s output of that call too (the caller tests determinism with it).

    ``u``'s entries have sizes from 0.2 to 0.8 and random signs, never near 0 or 1, so a
    backward pass that ignores ``u`` is off by at least 20%. ``None`` (no test) when a
    Jacobian is not finite or has the wrong shape: the report already fails on that.
    """
    sources = [_watchable(item) for item in inputs]
    with tf.GradientTape() as tape:
        for source in sources:
            tape.watch(source)
        output = call_checked(f, inputs)
    rng = np.random.default_rng(UPSTREAM_SEED)
    u = rng.uniform(0.2, 0.8, output.shape) * rng.choice([-1.0, 1.0], output.shape)
    upstream = tf.constant(u, output.dtype)
    gradients = tape.gradient(output, sources, upstream, tf.UnconnectedGradients.ZERO)
    if not all(np.isfinite(J).all() for J in analytic):
        return output.numpy(), None
    axes = (list(range(u.ndim)), list(range(u.ndim)))
    worst, worst_score = "", 0.0
    for index, (gradient, source, J) in enumerate(zip(gradients, sources, analytic, strict=True)):
        name = _input_name(inputs[index], index)
        vjp, problem = _dense_gradient(gradient, source, name)
        if problem:
            return output.numpy(), UpstreamTest(False, problem)
        expected = np.tensordot(u, J, axes)
        scale = np.tensordot(np.abs(u), np.abs(J), axes)  # the size of the sum's terms
        score = _tolerance_score(np.abs(vjp - expected), scale, atol, rtol)
        if score.size and score.max() > max(worst_score, 1.0):
            position = np.unravel_index(int(np.argmax(score)), score.shape)
            where = f"[{', '.join(map(str, position))}]" if position else ""
            worst_score = float(score.max())
            worst = (
                f"the tape gives {vjp[position]:.3g} for {name}{where}, "
                f"u · J gives {expected[position]:.3g}"
            )
    return output.numpy(), UpstreamTest(not worst, worst)


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


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------


def gradient_check(f, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Compare the tape's whole Jacobian of ``f(*inputs)`` with central differences.

    Each entry of every input is nudged by ``+eps`` and ``-eps`` (2 calls of ``f`` per entry,
    a variable is assigned and restored), giving the numerical Jacobian; the tape gives the
    analytical one, one backward pass per output entry. An entry passes when
    ``|tape - numerical| <= atol + rtol * |numerical|``: the rule and the defaults of
    ``torch.autograd.gradcheck``. It then tests, as gradcheck does (with a zero upstream
    gradient there), that the backward pass multiplies by its upstream gradient: one backward
    pass with a random upstream ``u``, as JAX's ``check_grads`` does, compared with ``u · J``
    (a custom gradient that ignores ``upstream`` fails there, even for a scalar output). Like
    gradcheck it warns on inputs that are not float64: at ``eps=1e-6`` a correct float32
    gradient usually fails.

    Args:
        f: a function of the inputs returning one float tensor of any shape (the whole Jacobian
            is checked). It must be deterministic: a second call that differs fails the check.
        inputs: tensors or ``tf.Variable``s (Keras weights too), or one of them; ``f`` receives
            them in order. Python numbers and lists become float64 tensors. For weights, ``f``
            may ignore its arguments and call the layer.
        eps: the finite-difference step, finite and > 0.
        atol, rtol: the absolute and relative tolerances, finite and >= 0.

    Returns:
        A :class:`GradientCheckReport`. It does not raise on a mismatch, ``nan`` or a gradient
        of the wrong shape (each a failed line); it raises ``ValueError`` on bad arguments,
        an empty input or output, and an ``f`` that does not return one tensor of floats.
    """
    eps = validate_number("eps", eps, positive=True)
    atol = validate_number("atol", atol, positive=False)
    rtol = validate_number("rtol", rtol, positive=False)
    if not callable(f):
        raise ValueError(f"f must be a function of the inputs, got {f!r:.80}")
    inputs = prepare_check_inputs(inputs)
    warn_unless_float64(inputs)
    output, analytic, shape_problems = tape_jacobian(f, inputs)
    numerical, calls = central_difference_jacobian(f, inputs, eps, output.shape)
    report = compare_jacobians(
        inputs, output, analytic, numerical, eps, atol, rtol, calls + 2, shape_problems
    )
    again, report.upstream = upstream_test(f, inputs, analytic, atol, rtol)
    if not np.array_equal(again, output, equal_nan=True):  # finite differences need one f
        report.problems.append("f is not deterministic: two calls at the same inputs differ")
        report.upstream = None  # a random f fails it too: that line would blame the gradient
    upstream_passed = report.upstream is None or report.upstream.passed
    report.passed = report.passed and not report.problems and upstream_passed
    return report


def compare_jacobians(
    inputs, output, analytic, numerical, eps, atol, rtol, calls, shape_problems=None
) -> GradientCheckReport:
    """Judge each entry by ``|a - n| <= atol + rtol * |n|`` and find the worst one.

    ``shape_problems`` (from :func:`tape_jacobian`) are failed lines; those inputs' (nan)
    Jacobians are left out of the comparison.
    """
    shape_problems = shape_problems or {}
    names = [_input_name(item, index) for index, item in enumerate(inputs)]
    worst, worst_score, problems = None, 0.0, list(shape_problems.values())
    max_abs, max_rel = 0.0, 0.0
    for index, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        if index in shape_problems:
            continue
        problems += _non_finite_entries(names[index], a, n)
        difference = np.abs(a - n)
        max_abs = max(max_abs, float(np.max(difference, initial=0.0)))
        max_rel = max(max_rel, float(np.max(_relative_error(a, n), initial=0.0)))
        score = _tolerance_score(difference, np.abs(n), atol, rtol)
        flat_index = int(np.argmax(score))
        if worst is None or score.flat[flat_index] > worst_score:
            worst_score = float(score.flat[flat_index])
            position = np.unravel_index(flat_index, a.shape)
            worst = WorstEntry(
                names[index],
                index,
                tuple(int(p) for p in position[output.ndim :]),
                tuple(int(p) for p in position[: output.ndim]),
                float(a[position]),
                float(n[position]),
            )
    compared = [k for k in range(len(inputs)) if k not in shape_problems]
    if not compared or any(not np.isfinite(analytic[k] - numerical[k]).all() for k in compared):
        max_abs = max_rel = worst_score = math.nan
    return GradientCheckReport(
        passed=bool(worst_score <= 1.0 and not problems),
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        tolerance_used=worst_score,
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
