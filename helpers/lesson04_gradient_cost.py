"""What one gradient costs: finite differences against one tape gradient, in forward passes.

Lesson 04 measures it (and its widget plots it); the benchmark script checks the tape's side
against its budget. Measured on one model whose size is exactly ``n`` parameters, so the
question "how does the cost grow with n" has a clean answer: finite differences need ``n + 1``
(forward) or ``2n`` (central) passes, the tape a small constant number.
"""

from __future__ import annotations

from helpers.timing import median_seconds
from helpers.validation import require_int_in_range

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
# Inputs are stored features-first, (n, batch), and contracted with tensordot: measured here,
# that gradient costs under 2 forward passes at n = 1e6, the (batch, n) matvec's about 5.
_INPUTS = tf.TensorSpec([None, _COST_BATCH_SIZE], tf.float32)
_TARGETS = tf.TensorSpec([_COST_BATCH_SIZE], tf.float32)
_INDEX = tf.TensorSpec([], tf.int32)
_SCALAR = tf.TensorSpec([], tf.float32)


def _dense_mse(theta, inputs, targets):
    predictions = tf.tensordot(theta, inputs, axes=1)
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


@tf.function(input_signature=[_THETA, _INPUTS, _TARGETS, _INDEX, _SCALAR])
def _cost_model_nudged_loss(theta, inputs, targets, index, step):
    """The loss at ``theta`` with entry ``index`` moved by ``step``: one call of f."""
    nudged = tf.tensor_scatter_nd_add(theta, [[index]], [step])
    return _dense_mse(nudged, inputs, targets)


def _cost_model_data(n_params: int, seed: int):
    """Fixed random parameters, inputs (features first, plus the constant 1) and targets."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n_params, _COST_BATCH_SIZE)).astype(np.float32)
    inputs[-1] = 1.0  # the bias' input
    theta = (rng.normal(size=n_params) / np.sqrt(n_params)).astype(np.float32)
    targets = rng.normal(size=_COST_BATCH_SIZE).astype(np.float32)
    return tf.constant(theta), tf.constant(inputs), tf.constant(targets)


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


def measure_gradient_cost(
    n_params: int, *, max_coordinates: int = 200, repeats: int = 5, seed: int = 0
) -> GradientCost:
    """Time one gradient of an ``n_params``-parameter loss: forward, central differences, tape.

    Why: the lesson's claim that finite differences cannot train a network is a claim about
    cost, and a measured one convinces. The loss is a Dense(1) layer on ``n_params - 1``
    inputs (MSE on 8 fixed random rows). Every call runs a compiled ``tf.function``, so every
    call pays the same dispatch overhead and the ratios count calls, not Python:

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
    n_params = require_int_in_range("n_params", n_params, 1, _MAX_COST_PARAMS)
    max_coordinates = require_int_in_range("max_coordinates", max_coordinates, 1)
    repeats = require_int_in_range("repeats", repeats, 1)
    theta, inputs, targets = _cost_model_data(n_params, seed)
    sampled = min(n_params, max_coordinates)
    rng = np.random.default_rng(seed)
    coordinates = [int(i) for i in rng.choice(n_params, size=sampled, replace=False)]
    # Steps near the best ones for float32 (see theoretical_best_eps): only the time matters
    # here, but a meaningful estimate is what a real user would compute.
    forward_eps = float(np.sqrt(np.finfo(np.float32).eps))
    central_eps = float(np.cbrt(np.finfo(np.float32).eps))
    # Warm-up: a compiled function's first call traces it (once per process) and allocates.
    base_loss = float(_cost_model_loss(theta, inputs, targets))
    _cost_model_tape_gradient(theta, inputs, targets)
    _cost_model_nudged_loss(theta, inputs, targets, 0, forward_eps)

    # Each call of f is one call of a compiled function that copies theta with one entry
    # nudged, then computes the loss forward_seconds times: the copy makes it a little dearer
    # (about 1.3 times, measured here), which the ratios include. Quotients are plain floats.
    def forward_differences():
        for i in coordinates:
            nudged = float(_cost_model_nudged_loss(theta, inputs, targets, i, forward_eps))
            _ = (nudged - base_loss) / forward_eps

    def central_differences():
        for i in coordinates:
            plus = float(_cost_model_nudged_loss(theta, inputs, targets, i, central_eps))
            minus = float(_cost_model_nudged_loss(theta, inputs, targets, i, -central_eps))
            _ = (plus - minus) / (2 * central_eps)

    forward_seconds = median_seconds(lambda: _cost_model_loss(theta, inputs, targets), repeats)
    tape_seconds = median_seconds(
        lambda: _cost_model_tape_gradient(theta, inputs, targets), repeats
    )
    forward_per_coordinate = median_seconds(forward_differences, repeats) / sampled
    central_per_coordinate = median_seconds(central_differences, repeats) / sampled
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
