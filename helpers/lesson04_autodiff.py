"""Gradients two ways: finite differences, and reverse-mode autodiff with ``tf.GradientTape``.

Lesson 04 sets them against each other. Finite differences need nothing but calls of ``f``,
which makes them the independent oracle every autodiff test uses, but they cost one or two calls
per parameter and their accuracy is limited by rounding: the error against ``eps`` is V-shaped.
The tape gives every partial derivative at once, exactly up to rounding, for a small multiple of
one forward pass. The functions here measure both sides of that trade: accuracy
(:func:`finite_difference_error_curve`, :func:`theoretical_best_eps`) and cost
(``measure_gradient_cost`` in :mod:`helpers.lesson04_gradient_cost`, shared with the benchmark).
"""

from __future__ import annotations

from helpers.validation import require_int_in_range

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

# --------------------------------------------------------------------------------------------
# Finite differences and tape gradients of a scalar function f(*params)
# --------------------------------------------------------------------------------------------

SCHEMES = ("forward", "central")
DTYPES = ("float16", "float32", "float64")


class FiniteDifferenceGradient(NamedTuple):
    """What :func:`finite_difference_gradient` returns: ``gradient, calls = ...`` unpacks it.

    Attributes:
        gradient: one NumPy value per parameter, shaped like it: the estimated partials.
        calls: how many times ``f`` was called, the price of the estimate.
    """

    gradient: list
    calls: int

    def __repr__(self) -> str:
        # str() of a NumPy value prints its shortest round-tripping digits, as Python prints
        # the book's 36.000003007075065 (and float32's 38.146973), without NumPy 2's
        # ``np.float64(...)`` wrapping.
        values = ", ".join(str(value) for value in self.gradient)
        return f"FiniteDifferenceGradient(gradient=[{values}], calls={self.calls})"


class CallCounter:
    """Wraps ``f`` and counts its calls: the honest measure of what a gradient costs."""

    def __init__(self, f):
        self.f = f
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self.f(*args)


def scalar_value(output) -> np.ndarray:
    """``f``'s output as a 0-d NumPy array; a ValueError naming its shape if it is no scalar."""
    value = output.numpy() if tf.is_tensor(output) else np.asarray(output)
    if value.shape != ():
        raise ValueError(
            f"f must return a scalar (one number, like a loss), but it returned a value of shape "
            f"{value.shape}; reduce it first, e.g. with tf.reduce_sum or tf.reduce_mean"
        )
    return value


def nudge(param, position, step: float):
    """``param`` with ``step`` added to its entry at ``position`` (``()`` for a scalar).

    The addition happens in ``param``'s own type and dtype, exactly as ``w1 + eps`` does in
    the book: for a scalar it *is* ``param + step``, so its rounding is part of the lesson.
    """
    if position == ():
        return param + step
    dtype = param.dtype.as_numpy_dtype if tf.is_tensor(param) else param.dtype
    delta = np.zeros(shape_of(param), dtype)
    delta[position] = step
    return param + (tf.constant(delta) if tf.is_tensor(param) else delta)


def shape_of(param) -> tuple:
    """The shape of a tensor or NumPy value as a tuple; ``()`` for a Python number."""
    return tuple(param.shape) if hasattr(param, "shape") else ()


def _float_dtype(dtype):
    """The NumPy dtype for ``dtype`` (a name, a NumPy or a TensorFlow dtype), checked."""
    try:
        name = tf.as_dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)} (or None), got {dtype!r}")
    return np.dtype(name)


def _param_dtype(param):
    """The dtype of a tensor or NumPy value; None for Python numbers (they adapt)."""
    if tf.is_tensor(param) or isinstance(param, tf.Variable):
        return np.dtype(param.dtype.as_numpy_dtype)
    if isinstance(param, np.ndarray | np.generic):
        return param.dtype
    if isinstance(param, int | float) and not isinstance(param, bool):
        return None
    raise ValueError(
        f"each param must be a number, a NumPy value or a tensor, got {type(param).__name__}"
    )


def validate_gradient_arguments(f, params, dtype):
    """Check ``f`` and ``params`` together; return the params as a list and the dtype to use.

    Why so fussy: a gradient helper given a mismatch fails deep inside ``f`` with a message
    about tensors; a learner is better served by one that names the argument at fault.
    """
    if not callable(f):
        raise ValueError(f"f must be a function of the params, got {type(f).__name__}")
    if not isinstance(params, list | tuple) or not params:
        raise ValueError(
            f"params must be a non-empty list or tuple of parameter values, e.g. [5.0, 3.0], "
            f"got {params!r}"
        )
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # some built-ins have none: the call itself will tell
        signature = None
    if signature is not None:
        try:
            signature.bind(*params)
        except TypeError as error:
            raise ValueError(
                f"f{signature} cannot take the {len(params)} params given: {error}"
            ) from None
    own_dtypes = {_param_dtype(param) for param in params} - {None}
    if dtype is not None:
        return list(params), _float_dtype(dtype)
    if len(own_dtypes) > 1:
        names = ", ".join(sorted(str(d) for d in own_dtypes))
        raise ValueError(f"params mix dtypes ({names}): pass dtype= to compute in one of them")
    if own_dtypes and not np.issubdtype(own_dtypes.pop(), np.floating):
        raise ValueError(
            "params hold integers, which cannot be nudged by eps: pass floats or dtype='float64'"
        )
    return list(params), None


def prepare_params(f, params, dtype=None):
    """Check ``f`` and ``params``; return the params (in ``dtype`` if given) and the dtype.

    The dtype returned is the one the arithmetic will happen in: ``dtype`` itself, else the
    params' own, else float64 (plain Python numbers).
    """
    params, dtype = validate_gradient_arguments(f, params, dtype)
    if dtype is None:
        return params, _working_dtype(params)
    return [_as_dtype(param, dtype) for param in params], dtype


def _working_dtype(params, default="float64"):
    """The params' own dtype; ``default`` when all are Python numbers (float64 in Python)."""
    return next((d for d in map(_param_dtype, params) if d is not None), np.dtype(default))


def _as_tensor(param, dtype):
    """A tensor of ``dtype``; a Python float is converted once, not rounded to float32 first."""
    if tf.is_tensor(param) or isinstance(param, tf.Variable):
        return tf.cast(param, dtype)
    return tf.convert_to_tensor(np.asarray(param, _float_dtype(dtype)))


def _as_dtype(param, dtype):
    if tf.is_tensor(param) or isinstance(param, tf.Variable):
        return tf.cast(param, dtype)
    return np.asarray(param, dtype)[()]  # [()] turns a 0-d array into a NumPy scalar


def validate_eps(eps, dtype=None) -> float:
    """``eps`` as a float, or a ValueError saying why it cannot be a finite-difference step."""
    if isinstance(eps, bool) or not isinstance(eps, int | float | np.integer | np.floating):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive, finite number (like 1e-6), got {eps!r}")
    if dtype is not None and not 0 < np.asarray(eps, dtype) < np.inf:
        raise ValueError(f"eps={eps!r} is not representable in {np.dtype(dtype).name}")
    return float(eps)


def validate_scheme(scheme) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be 'forward' or 'central', got {scheme!r}")
    return scheme


def finite_difference_gradient(f, params, eps=1e-6, scheme="forward", dtype=None):
    """Estimate every partial derivative of a scalar ``f(*params)`` by nudging one entry at a time.

    ``forward``: ``(f(w + eps) - f(w)) / eps``, n + 1 calls of ``f`` for n entries in all;
    ``central``: ``(f(w + eps) - f(w - eps)) / (2 * eps)``, 2n calls, a far smaller error.
    Each param may be a Python number, a NumPy value or a tensor (scalar or not). With
    ``dtype=None`` the arithmetic happens in the params' own types, exactly as the book's
    ``(f(w1 + eps, w2) - f(w1, w2)) / eps``; ``dtype="float32"`` converts them first.

    Returns:
        A :class:`FiniteDifferenceGradient`: ``gradient`` (one NumPy value per param, shaped
        like it) and ``calls``, the number of calls of ``f`` it took.
    """
    params, dtype = prepare_params(f, params, dtype)
    eps, scheme = validate_eps(eps, dtype), validate_scheme(scheme)
    f = CallCounter(f)

    def f_with(index, value):
        """``f`` with ``params[index]`` replaced by ``value``, as a NumPy scalar."""
        return scalar_value(f(*params[:index], value, *params[index + 1 :]))

    base = scalar_value(f(*params)) if scheme == "forward" else None
    gradient = []
    for index, param in enumerate(params):
        partials = []
        for position in np.ndindex(shape_of(param)):  # one position () for a scalar
            plus = f_with(index, nudge(param, position, eps))
            if scheme == "forward":
                partials.append((plus - base) / eps)
            else:
                minus = f_with(index, nudge(param, position, -eps))
                partials.append((plus - minus) / (2 * eps))
        gradient.append(np.reshape(partials, shape_of(param))[()])
    return FiniteDifferenceGradient(gradient, f.calls)


def tape_gradient(f, params, dtype=None) -> list:
    """Every partial derivative of a scalar ``f(*params)`` at once, by ``tf.GradientTape``.

    Params become watched tensors in ``dtype``; by default in the params' own dtype, and
    Python numbers alone in TensorFlow's default, float32. A param ``f`` does not use gets 0
    (its true partial), not ``None``. Returns one NumPy value per param, shaped like it.
    """
    params, dtype = validate_gradient_arguments(f, params, dtype)
    dtype = dtype or _working_dtype(params, default="float32")
    tensors = [_as_tensor(param, dtype) for param in params]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        output = f(*tensors)
    scalar_value(output)  # the same check, and message, as finite differences
    gradients = tape.gradient(output, tensors, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [gradient.numpy()[()] for gradient in gradients]


# --------------------------------------------------------------------------------------------
# Why the error of finite differences is V-shaped
# --------------------------------------------------------------------------------------------


def unit_roundoff(dtype) -> float:
    """The largest relative error of rounding one result: 2**-24 in float32, 2**-53 in float64."""
    return float(np.finfo(_float_dtype(dtype)).eps) / 2


def finite_difference_error_model(eps, scheme, dtype, *, value=1.0, derivative=1.0):
    """The two parts of a finite difference's error, as ``(truncation, rounding)``.

    Truncation (Taylor's remainder) shrinks with ``eps``; rounding grows as ``1 / eps``,
    because ``f`` is only known to about ``u * |f|`` and a difference of two such values is
    divided by ``eps``. Their sum is the V of the error curve.

    - forward: ``eps * |f''| / 2`` and ``2 * u * |f| / eps``;
    - central: ``eps**2 * |f'''| / 6`` and ``u * |f| / eps``.

    Args:
        eps: a step or an array of steps.
        scheme: ``"forward"`` or ``"central"``.
        dtype: the dtype the differences are computed in (it sets ``u``).
        value: ``|f|`` at the point.
        derivative: ``|f''|`` (forward) or ``|f'''|`` (central) along the nudged parameter.
    """
    validate_scheme(scheme)
    eps = np.asarray(eps, dtype=np.float64)
    u, value, derivative = unit_roundoff(dtype), abs(float(value)), abs(float(derivative))
    if scheme == "forward":
        return eps * derivative / 2, 2 * u * value / eps
    return eps**2 * derivative / 6, u * value / eps


def theoretical_best_eps(scheme, dtype, *, value=1.0, derivative=1.0) -> float:
    """The ``eps`` at the bottom of the V: where :func:`finite_difference_error_model` is least.

    With ``value = derivative = 1`` it is ``2 * sqrt(u)`` for forward differences (2.1e-8 in
    float64, 4.9e-4 in float32) and ``cbrt(3 * u)`` for central ones (6.9e-6 and 5.6e-3).
    So the book's ``eps=1e-6`` is about 50 times the forward optimum in float64 (an error
    near 5e-7 instead of 2e-8) and about 490 times too small in float32. ``inf`` when the
    derivative is 0: that Taylor term vanishes, but the next one may not (f''' for forward
    differences), and then :func:`next_order_best_eps` gives the bottom of the V.
    """
    validate_scheme(scheme)
    u, value, derivative = unit_roundoff(dtype), abs(float(value)), abs(float(derivative))
    if derivative == 0:
        return math.inf
    if scheme == "forward":
        return 2 * math.sqrt(u * value / derivative)
    return (3 * u * value / derivative) ** (1 / 3)


# When the leading derivative is 0 (f'' for forward differences, f''' for central ones), the
# next Taylor term sets the truncation error: eps² |f'''| / 6 (forward), eps⁴ |f⁽⁵⁾| / 120
# (central). A zero f'' alone does not mean "no truncation error".
_NEXT_ORDER = {"forward": (6.0, 2.0), "central": (120.0, 4.0)}  # divisor, power of eps


def next_order_truncation(eps, scheme, *, derivative):
    """The truncation error's next Taylor term, for when the leading one vanishes.

    ``eps**2 * |f'''| / 6`` for forward differences, ``eps**4 * |f⁽⁵⁾| / 120`` for central ones;
    ``derivative`` is that f''' or f⁽⁵⁾ along the nudged parameter.
    """
    divisor, power = _NEXT_ORDER[validate_scheme(scheme)]
    return np.asarray(eps, dtype=np.float64) ** power * abs(float(derivative)) / divisor


def next_order_best_eps(scheme, dtype, *, value=1.0, derivative=1.0) -> float:
    """The bottom of the V when the leading truncation term is 0: the next term against rounding.

    Forward: ``eps**2 |f'''| / 6 + 2u|f| / eps`` is least at ``cbrt(6u|f| / |f'''|)``; central:
    ``eps**4 |f⁽⁵⁾| / 120 + u|f| / eps`` at ``(30u|f| / |f⁽⁵⁾|) ** (1/5)``. ``inf`` when that
    derivative is 0 too (as for a polynomial of low degree).
    """
    divisor, power = _NEXT_ORDER[validate_scheme(scheme)]
    u, value, derivative = unit_roundoff(dtype), abs(float(value)), abs(float(derivative))
    if derivative == 0:
        return math.inf
    rounding = (2.0 if scheme == "forward" else 1.0) * u * value
    # Where the slope of eps**power * derivative / divisor + rounding / eps is 0.
    return (divisor * rounding / (power * derivative)) ** (1 / (power + 1))


def _validate_index(params, index) -> None:
    if not (isinstance(index, int) and 0 <= index < len(params)) or shape_of(params[index]) != ():
        raise ValueError(f"index must pick a scalar param, 0 to {len(params) - 1}, got {index!r}")


def derivatives_along(f, params, index: int, order: int = 3) -> list[float]:
    """``[f, df, d2f, ...]`` up to ``order``, along the scalar ``params[index]``, in float64.

    Nested tapes: each tape differentiates what the tape inside it recorded. Used to scale
    :func:`theoretical_best_eps` to the function at the point. The nest is compiled once per
    ``(f, index, order)``, because the explorer widget asks again on every slider move.
    """
    params, _ = validate_gradient_arguments(f, params, "float64")
    _validate_index(params, index)
    order = require_int_in_range("order", order, 0, 5)
    tensors = [_as_tensor(param, tf.float64) for param in params]
    derivatives = _compiled_derivatives(f, len(params), index, order)(*tensors)
    return [float(value) for value in derivatives.numpy()]


@functools.lru_cache(maxsize=64)
def _compiled_derivatives(f, count: int, index: int, order: int):
    @tf.function(input_signature=[tf.TensorSpec([], tf.float64)] * count)
    def derivatives(*tensors):
        variable = tensors[index]

        def up_to(k):
            """[f, df, ..., d^k f], each differentiated by a tape recording the one inside it."""
            if k == 0:
                return [f(*tensors[:index], variable, *tensors[index + 1 :])]
            with tf.GradientTape() as tape:
                tape.watch(variable)
                lower = up_to(k - 1)
            zero = tf.UnconnectedGradients.ZERO  # a derivative that no longer depends on w is 0
            return [*lower, tape.gradient(lower[-1], variable, unconnected_gradients=zero)]

        values = up_to(order)
        if values[0].shape.rank != 0:
            scalar_value(np.zeros(values[0].shape))  # raises the usual message
        return tf.stack([tf.cast(value, tf.float64) for value in values])

    return derivatives


def finite_difference_error_curve(
    f, params, eps_values, *, index=0, scheme="forward", dtype=None, reference=None
):
    """The absolute error of the estimated partial along ``params[index]``, for each step.

    The reference is :func:`tape_gradient` in the same dtype (pass ``reference`` if you
    already have it), so the curve shows what finite differences get wrong. For speed ``f``
    is called once with the nudged param replaced by the array of all nudged values (the
    other params stay scalars); a function that does not broadcast that way is evaluated
    step by step instead, with the same result.

    Returns:
        A float64 array of errors, one per ``eps_values`` entry (0 where the estimate is exact).
    """
    params, dtype = prepare_params(f, params, dtype)
    validate_scheme(scheme)
    _validate_index(params, index)
    eps_values = np.asarray(eps_values, dtype=np.float64)
    for eps in eps_values:
        validate_eps(float(eps), dtype)
    # The reference in the same dtype as the differences: Python floats are differenced in
    # float64, and a float32 tape would put a floor of ~1e-7 under the error curve.
    exact = tape_gradient(f, params, dtype)[index] if reference is None else reference
    estimates = _broadcast_partials(f, params, eps_values, index, scheme, dtype)
    if estimates is None:  # f does not broadcast: one call per step
        estimates = np.array(
            [
                finite_difference_gradient(f, params, float(eps), scheme).gradient[index]
                for eps in eps_values
            ]
        )
    return np.abs(estimates.astype(np.float64) - np.float64(exact))


def _broadcast_partials(f, params, eps_values, index, scheme, dtype):
    """All steps' estimates from one call of ``f`` per side, or None if ``f`` won't broadcast."""
    steps = eps_values.astype(dtype)  # the same rounding as ``param + eps`` does for one step

    def f_with(value):
        try:
            output = f(*params[:index], value, *params[index + 1 :])
        except (ValueError, TypeError, tf.errors.InvalidArgumentError):
            return None
        output = output.numpy() if tf.is_tensor(output) else np.asarray(output)
        return output if output.shape == steps.shape else None

    param = params[index]
    plus = f_with(param + steps)
    if plus is None:
        return None
    if scheme == "forward":
        return (plus - scalar_value(f(*params))) / eps_values.astype(dtype)
    minus = f_with(param - steps)
    if minus is None:
        return None
    return (plus - minus) / (2 * eps_values).astype(dtype)


# --------------------------------------------------------------------------------------------
# Functions to explore (the gradient explorer widget, the lesson, the tests)
# --------------------------------------------------------------------------------------------


def book_function(w1, w2):
    """The book's example (chapter 12): 3·w1² + 2·w1·w2, gradient (6·w1 + 2·w2, 2·w1)."""
    return 3 * w1**2 + 2 * w1 * w2


def _math_for(*values):
    """TensorFlow's math for tensors (a tape can record it), NumPy's for anything else.

    Why both: finite differences only call ``f``, and a NumPy call costs microseconds where a
    TensorFlow op costs tens of them; the gradient explorer makes hundreds of calls per move.
    """
    if any(tf.is_tensor(value) or isinstance(value, tf.Variable) for value in values):
        return SimpleNamespace(
            sin=tf.sin, exp=tf.exp, tanh=tf.tanh, mean=tf.reduce_mean, asarray=tf.convert_to_tensor
        )
    return SimpleNamespace(sin=np.sin, exp=np.exp, tanh=np.tanh, mean=np.mean, asarray=np.asarray)


def sine_exp_function(w1, w2):
    """A transcendental example, sin(w1)·exp(w2): at (1, 0.5) no derivative of any order is 0."""
    ops = _math_for(w1, w2)
    return ops.sin(w1) * ops.exp(w2)


_TINY_INPUTS = (-1.5, -0.5, 0.5, 1.5)
_TINY_TARGETS = (-0.9, -0.4, 0.3, 0.8)


def tiny_network_loss(w, b, v, c):
    """The MSE of a network with one hidden unit, ``v·tanh(w·x + b) + c``, on four points.

    Four parameters are few enough to read every partial derivative side by side. Each param
    may also be an array of values (the data then go on a new last axis), so one call
    evaluates many nudged networks at once.
    """
    ops = _math_for(w, b, v, c)
    w, b, v, c = (
        param if len(param.shape) == 0 else param[..., None]  # scalars broadcast as they are
        for param in map(ops.asarray, (w, b, v, c))
    )
    x, y = (ops.asarray(np.asarray(data, w.dtype.name)) for data in (_TINY_INPUTS, _TINY_TARGETS))
    predictions = v * ops.tanh(w * x + b) + c
    return ops.mean((predictions - y) ** 2, axis=-1)


@dataclass(frozen=True)
class ExampleFunction:
    """A function to explore, with its parameters' names and a point worth starting from."""

    label: str
    f: Callable
    parameter_names: tuple[str, ...]
    default_point: tuple[float, ...]


EXAMPLE_FUNCTIONS = {
    "book": ExampleFunction("3·w1² + 2·w1·w2 (the book)", book_function, ("w1", "w2"), (5.0, 3.0)),
    "sine_exp": ExampleFunction("sin(w1)·exp(w2)", sine_exp_function, ("w1", "w2"), (1.0, 0.5)),
    "tiny_network": ExampleFunction(
        "MSE of v·tanh(w·x + b) + c", tiny_network_loss, ("w", "b", "v", "c"), (0.8, 0.1, 1.2, 0.0)
    ),
}


# --------------------------------------------------------------------------------------------
# A loss built from gradients: penalizing the gradient of the outputs with respect to inputs
# --------------------------------------------------------------------------------------------


def refuse_layers_that_mix_rows(model, training) -> None:
    """A ValueError if ``model``, called with ``training``, mixes the rows of a batch.

    Why: :func:`input_gradient_penalty` takes one gradient of the outputs' sum, which is each
    example's own gradient only if no output row depends on another example's inputs. A
    trainable BatchNormalization in training breaks that; Keras has no public recursive list
    of layers, hence the private ``_flatten_layers`` (nested models and layers included).
    """
    if not training or not isinstance(model, keras.layers.Layer):
        return
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable:
            raise ValueError(
                f"model holds the BatchNormalization layer {layer.name!r}: with training=True it "
                f"normalizes with the batch's statistics, so every output depends on every row "
                f"and the gradient of the outputs' sum is not each example's gradient (with only "
                f"linear layers after it, it is about 0). Use training=False, freeze the layer "
                f"(layer.trainable = False), or take the diagonal blocks of "
                f"tape.jacobian(outputs, inputs)"
            )


def input_gradient_penalty(model, inputs, training=False):
    """The mean over examples of ``||d outputs_i / d inputs_i||²``, and the outputs, in one pass.

    Why one tape suffices: the gradient of a non-scalar target is the gradient of its sum, so
    row ``i`` of the tape's answer is ``sum_k d outputs_k / d inputs_i``. That is example
    ``i``'s own gradient only when each output row depends on its own input row alone: true of
    Dense layers, activations, Dropout, and BatchNormalization at inference. A trainable
    BatchNormalization called with ``training=True`` normalizes with the batch's statistics,
    which mixes the rows (its outputs even sum to a constant: with only linear layers after
    it, the sum's gradient is about 0): such a model is refused with a ValueError. With
    several outputs per example, the penalty is the squared norm of each example's Jacobian
    (``tape.batch_jacobian``, which makes the same row-by-row assumption), not the gradient
    of the outputs' sum.
    """
    refuse_layers_that_mix_rows(model, training)
    inputs = tf.convert_to_tensor(inputs)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = model(inputs, training=training)
    if outputs.shape[1:].num_elements() == 1:  # one output per example: the sum's gradient
        per_example = tape.gradient(outputs, inputs)
    else:  # several: each example's Jacobian, shaped (batch, *output_shape, *input_shape)
        per_example = tape.batch_jacobian(outputs, inputs)
    example_axes = list(range(1, per_example.shape.rank))
    squared_norms = tf.reduce_sum(tf.square(per_example), axis=example_axes)
    return tf.reduce_mean(squared_norms), outputs


def train_with_input_gradient_penalty(
    model, X, y, *, penalty_weight=0.0, epochs=100, learning_rate=0.01
):
    """Train ``model`` on the full batch ``X, y`` to minimize MSE + penalty_weight · penalty.

    The outer tape records the inner one (in :func:`input_gradient_penalty`), so it can
    differentiate the penalty with respect to the weights: a second derivative, which costs
    a few more passes through the recorded operations per step (not one pass per weight).
    Models that mix the rows of a batch in training (BatchNormalization) are refused.
    Returns the training MSE and penalty of the last step, as floats (measured before that
    step's update, as any training loop reports them).
    """
    if not (np.isfinite(penalty_weight) and penalty_weight >= 0):
        raise ValueError(f"penalty_weight must be a finite number >= 0, got {penalty_weight!r}")
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    refuse_layers_that_mix_rows(model, training=True)  # before tracing: a clear traceback
    X, y = tf.constant(X, tf.float32), tf.constant(y, tf.float32)
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(model.trainable_variables)  # its variables must exist before tf.function

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            penalty, predictions = input_gradient_penalty(model, X, training=True)
            mse = tf.reduce_mean(tf.square(predictions - y))
            loss = mse + penalty_weight * penalty
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return mse, penalty

    for _ in range(epochs):
        mse, penalty = train_step()
    return {"mse": float(mse), "penalty": float(penalty)}
