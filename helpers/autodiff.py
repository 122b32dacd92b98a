"""Gradients two ways: finite differences, and reverse-mode autodiff with ``tf.GradientTape``.

Lesson 04 sets them against each other. Finite differences need nothing but calls of ``f``,
which makes them the independent oracle every autodiff test uses, but they cost one or two calls
per parameter and their accuracy is limited by rounding: the error against ``eps`` is V-shaped.
The tape gives every partial derivative at once, exactly up to rounding, for a small multiple of
one forward pass. The functions here measure both sides of that trade: accuracy
(:func:`finite_difference_error_curve`, :func:`theoretical_best_eps`) and cost
(:func:`measure_gradient_cost`, shared with the benchmark script).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

# --------------------------------------------------------------------------------------------
# The cost of one gradient: finite differences against one tape gradient
# --------------------------------------------------------------------------------------------

# The cost model is a Dense(1) layer on ``n - 1`` inputs: exactly ``n`` parameters (the bias is
# the weight of a constant input 1), trained on a small fixed batch with the MSE loss. A
# forward pass reads every parameter once, like any network, and nothing else grows with n.
_COST_BATCH_SIZE = 8
_MAX_COST_PARAMS = 10_000_000  # 8 rows of 1e7 float32 inputs already take 320 MB
_THETA = tf.TensorSpec([None], tf.float32)
# Inputs are stored features-first, (n, batch): measured here, the gradient of that layout's
# matrix-vector product is 2-4 times cheaper than the (batch, n) one for n >= 1e5.
_INPUTS = tf.TensorSpec([None, _COST_BATCH_SIZE], tf.float32)
_TARGETS = tf.TensorSpec([_COST_BATCH_SIZE], tf.float32)
_INDEX = tf.TensorSpec([], tf.int32)
_SCALAR = tf.TensorSpec([], tf.float32)


def _dense_mse(theta, inputs, targets):
    predictions = tf.linalg.matvec(inputs, theta, transpose_a=True)
    return tf.reduce_mean(tf.square(predictions - targets))


# Every timed function is compiled with a shape-free signature, so each is traced once per
# process (not once per n) and a call costs the same graph-execution overhead on both sides.
@tf.function(input_signature=[_THETA, _INPUTS, _TARGETS])
def _cost_model_loss(theta, inputs, targets):
    return _dense_mse(theta, inputs, targets)


@tf.function(input_signature=[_THETA, _INPUTS, _TARGETS])
def _cost_model_tape_gradient(theta, inputs, targets):
    with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = _dense_mse(theta, inputs, targets)
    return tape.gradient(loss, theta)


def _nudge(theta, index, step):
    return tf.tensor_scatter_nd_add(theta, [[index]], [step])


@tf.function(input_signature=[_THETA, _INPUTS, _TARGETS, _INDEX, _SCALAR, _SCALAR])
def _cost_model_forward_difference(theta, inputs, targets, index, eps, base_loss):
    """One entry of the forward-difference gradient: one more call of the loss."""
    return (_dense_mse(_nudge(theta, index, eps), inputs, targets) - base_loss) / eps


@tf.function(input_signature=[_THETA, _INPUTS, _TARGETS, _INDEX, _SCALAR])
def _cost_model_central_difference(theta, inputs, targets, index, eps):
    """One entry of the central-difference gradient: two calls of the loss."""
    plus = _dense_mse(_nudge(theta, index, eps), inputs, targets)
    minus = _dense_mse(_nudge(theta, index, -eps), inputs, targets)
    return (plus - minus) / (2.0 * eps)


def _cost_model_data(n_params: int, seed: int):
    """Fixed random parameters, inputs (features first, plus the constant 1) and targets."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n_params, _COST_BATCH_SIZE)).astype(np.float32)
    inputs[-1] = 1.0  # the bias' input
    theta = (rng.normal(size=n_params) / np.sqrt(n_params)).astype(np.float32)
    targets = rng.normal(size=_COST_BATCH_SIZE).astype(np.float32)
    return tf.constant(theta), tf.constant(inputs), tf.constant(targets)


def _median_seconds(run, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


@dataclass(frozen=True)
class GradientCost:
    """Measured cost of one gradient of an ``n_params``-parameter loss, three ways.

    Seconds are medians over repeats on this machine, so only their ratios mean something
    elsewhere: the ``*_ratio`` properties divide by the time of one forward pass (one loss).
    Finite differences over many parameters are timed on ``sampled_coordinates`` of them and
    scaled by ``n_params``: each coordinate costs the same, so the estimate is fair.
    """

    n_params: int
    forward_seconds: float
    tape_seconds: float
    forward_difference_seconds: float
    central_difference_seconds: float
    forward_difference_calls: int
    central_difference_calls: int
    sampled_coordinates: int

    @property
    def tape_ratio(self) -> float:
        return self.tape_seconds / self.forward_seconds

    @property
    def forward_difference_ratio(self) -> float:
        return self.forward_difference_seconds / self.forward_seconds

    @property
    def central_difference_ratio(self) -> float:
        return self.central_difference_seconds / self.forward_seconds


def _require_int_in_range(name: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high:,}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def measure_gradient_cost(
    n_params: int, *, max_coordinates: int = 200, repeats: int = 5, seed: int = 0
) -> GradientCost:
    """Time one gradient of an ``n_params``-parameter loss: forward, central differences, tape.

    Why: the lesson's claim that finite differences cannot train a network is a claim about
    cost, and a measured one convinces. The loss is a Dense(1) layer on ``n_params - 1``
    inputs (MSE on 8 fixed random rows). Every side runs the same kind of compiled
    ``tf.function``, so the comparison measures the work and not Python overhead:

    - forward differences: one loss at ``theta``, then one per coordinate (``n + 1`` calls);
    - central differences: two losses per coordinate (``2n`` calls);
    - the tape: one forward pass recorded, one backward pass, all ``n`` partials at once.

    Finite differences are timed on at most ``max_coordinates`` coordinates (sampled without
    replacement with ``seed``) and scaled to all ``n_params``.

    Args:
        n_params: the number of parameters, 1 to 10,000,000.
        max_coordinates: how many coordinates to time finite differences on, at least 1.
        repeats: how many timed runs of each measurement (the median is kept), at least 1.
        seed: the seed of the random data, parameters and sampled coordinates.

    Returns:
        A :class:`GradientCost`.
    """
    n_params = _require_int_in_range("n_params", n_params, 1, _MAX_COST_PARAMS)
    max_coordinates = _require_int_in_range("max_coordinates", max_coordinates, 1)
    repeats = _require_int_in_range("repeats", repeats, 1)
    theta, inputs, targets = _cost_model_data(n_params, seed)
    sampled = min(n_params, max_coordinates)
    rng = np.random.default_rng(seed)
    coordinates = [int(i) for i in rng.choice(n_params, size=sampled, replace=False)]
    # Steps near the best ones for float32 (see theoretical_best_eps): only the time matters
    # here, but a meaningful estimate is what a real user would compute.
    forward_eps = tf.constant(np.sqrt(np.finfo(np.float32).eps), tf.float32)
    central_eps = tf.constant(np.cbrt(np.finfo(np.float32).eps), tf.float32)
    # Warm-up: a compiled function's first call traces it (once per process) and allocates.
    base_loss = _cost_model_loss(theta, inputs, targets)
    _cost_model_tape_gradient(theta, inputs, targets)
    _cost_model_forward_difference(theta, inputs, targets, 0, forward_eps, base_loss)
    _cost_model_central_difference(theta, inputs, targets, 0, central_eps)

    def forward_differences():
        for i in coordinates:
            _cost_model_forward_difference(theta, inputs, targets, i, forward_eps, base_loss)

    def central_differences():
        for i in coordinates:
            _cost_model_central_difference(theta, inputs, targets, i, central_eps)

    forward_seconds = _median_seconds(lambda: _cost_model_loss(theta, inputs, targets), repeats)
    tape_seconds = _median_seconds(
        lambda: _cost_model_tape_gradient(theta, inputs, targets), repeats
    )
    forward_per_coordinate = _median_seconds(forward_differences, repeats) / sampled
    central_per_coordinate = _median_seconds(central_differences, repeats) / sampled
    return GradientCost(
        n_params=n_params,
        forward_seconds=forward_seconds,
        tape_seconds=tape_seconds,
        # the base loss f(theta) is one more forward pass
        forward_difference_seconds=forward_seconds + forward_per_coordinate * n_params,
        central_difference_seconds=central_per_coordinate * n_params,
        forward_difference_calls=n_params + 1,
        central_difference_calls=2 * n_params,
        sampled_coordinates=sampled,
    )
