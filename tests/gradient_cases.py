"""Inputs and functions with known gradients (right or wrong) for the gradient_check tests."""

import numpy as np
import tensorflow as tf


def x64(*shape, seed=0):
    """A float64 tensor of the given shape, normal entries from ``seed``."""
    return tf.constant(np.random.default_rng(seed).normal(size=shape))


@tf.custom_gradient
def sine_with_relative_error(x, error=0.0):
    """sin(x), whose gradient is cos(x) * (1 + error): right for error=0, wrong otherwise."""

    def gradient(upstream):
        return upstream * tf.cos(x) * (1 + error), None

    return tf.sin(x), gradient


@tf.custom_gradient
def sine_gradient_of_the_wrong_shape(x):
    """sin(x), whose gradient is summed over axis 0: the shape of a row, not of x."""
    return tf.sin(x), lambda upstream: tf.reduce_sum(upstream * tf.cos(x), axis=0)
