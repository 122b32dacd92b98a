"""A full Jacobian two ways, forward mode and reverse mode, and what each costs (lesson 06).

Reverse mode (``tf.GradientTape``) gives one row of the Jacobian per backward pass, forward
mode (``tf.autodiff.ForwardAccumulator``) one column per forward pass. So a Jacobian of
``f: R^n -> R^m`` costs ``m`` reverse passes or ``n`` forward passes: reverse mode wins for a
loss (``m = 1``), forward mode for a function with more outputs than inputs.
:func:`measure_jacobian_cost` times both on this machine.
"""

from __future__ import annotations

from helpers.timing import median_seconds
from helpers.validation import require_int_in_range

from dataclasses import dataclass

import tensorflow as tf


def many_to_one(x):
    """n inputs -> 1 output: a scalar loss of a vector."""
    return tf.reduce_sum(tf.sin(x) * x)


def one_to_many(t, m):
    """1 input -> m outputs: a curve sampled at m frequencies."""
    frequencies = tf.range(1, m + 1, dtype=t.dtype)
    return tf.sin(t * frequencies) * frequencies


def forward_mode_jacobian(f, x) -> tf.Tensor:
    """The Jacobian column by column: one ``ForwardAccumulator`` pass (a JVP) per input entry."""
    n = int(tf.size(x))
    columns = []
    for i in range(n):
        tangent = tf.reshape(tf.one_hot(i, n, dtype=x.dtype), x.shape)
        with tf.autodiff.ForwardAccumulator(x, tangent) as accumulator:
            y = f(x)
        columns.append(tf.reshape(accumulator.jvp(y), [-1]))
    return tf.stack(columns, axis=-1)


def reverse_mode_jacobian(f, x) -> tf.Tensor:
    """The Jacobian row by row: one backward pass (a VJP) per output entry."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.reshape(f(x), [-1])
        entries = tf.unstack(y)
    rows = [tf.reshape(tape.gradient(entry, x), [-1]) for entry in entries]
    del tape
    return tf.stack(rows)


@dataclass(frozen=True)
class JacobianCost:
    """Median seconds of one full Jacobian, each mode, for ``n`` inputs -> 1 output and for
    1 input -> ``n`` outputs; ``passes`` is how many JVPs/VJPs each took (fixed by the mode)."""

    n: int
    forward_many_to_one: float
    reverse_many_to_one: float
    forward_one_to_many: float
    reverse_one_to_many: float

    @property
    def passes(self) -> dict[str, int]:
        return {
            "forward_many_to_one": self.n,
            "reverse_many_to_one": 1,
            "forward_one_to_many": 1,
            "reverse_one_to_many": self.n,
        }


def measure_jacobian_cost(sizes=(1, 4, 16, 32), repeats: int = 2) -> list[JacobianCost]:
    """Time full Jacobians by both modes as the number of inputs (or outputs) grows.

    Eager execution: each pass costs about the same fixed overhead, so the times grow with
    the number of passes, which is the point. Each time is the median of ``repeats`` runs
    after one warm-up run: in eager mode ``ForwardAccumulator`` traces a small function per op
    and input shape on first use, a one-off cost that is not the mode's.
    """
    if not sizes:
        raise ValueError(f"sizes must hold at least one size, got {sizes!r}")
    sizes = [require_int_in_range("sizes", n, 1, 4096) for n in sizes]
    repeats = require_int_in_range("repeats", repeats, 1)

    def warm_median_seconds(run):
        run()  # the warm-up
        return median_seconds(run, repeats)

    t = tf.constant([0.5])
    rows = []
    for n in sizes:
        x = tf.linspace(-1.0, 1.0, n)

        def curve(u, n=n):
            return one_to_many(u, n)

        rows.append(
            JacobianCost(
                n,
                warm_median_seconds(lambda x=x: forward_mode_jacobian(many_to_one, x)),
                warm_median_seconds(lambda x=x: reverse_mode_jacobian(many_to_one, x)),
                warm_median_seconds(lambda curve=curve: forward_mode_jacobian(curve, t)),
                warm_median_seconds(lambda curve=curve: reverse_mode_jacobian(curve, t)),
            )
        )
    return rows
