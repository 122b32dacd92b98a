"""Gradients that go wrong, and custom gradients (lesson 06).

Lesson 04 set finite differences against the tape on small functions. Their real use is as the
independent test of gradient code: PyTorch ships ``torch.autograd.gradcheck``, JAX
``jax.test_util.check_grads``, TensorFlow ``tf.test.compute_gradient``. This module holds what
lesson 06 (``notebooks/06_custom_gradients.ipynb``) teaches:

- the book's naive softplus (:func:`my_softplus`), the stable forward pass with autodiff's
  gradient (:func:`stable_softplus`) and the one with a hand-written gradient
  (:func:`my_better_softplus`, ``@tf.custom_gradient``);
- :class:`MySoftplusDense`, a layer whose custom gradient can be deliberately broken, for the
  checker to catch;
- :func:`floatx`, to build layers in float64 for a gradient check.

The checker itself, :func:`helpers.lesson06_gradient_check.gradient_check`, is in
:mod:`helpers.lesson06_gradient_check`; what a full Jacobian costs by forward and by reverse
mode is in :mod:`helpers.lesson06_jacobians`.
"""

from __future__ import annotations

from helpers.validation import require_choice

import contextlib
import numbers
from collections.abc import Iterator

import keras
import tensorflow as tf

# --------------------------------------------------------------------------------------------
# Softplus three ways: naive, stable forward pass, stable forward pass and custom gradient
# --------------------------------------------------------------------------------------------


def my_softplus(z):
    """The book's softplus, ``log(exp(z) + 1)``: right for small ``z``, wrong beyond.

    ``exp(z)`` overflows for ``z`` above about 88.7 in float32 (709.8 in float64): the value
    becomes ``inf``, and autodiff's gradient, ``log``'s ``1 / (exp(z) + 1) = 0`` times
    ``exp``'s ``exp(z) = inf``, becomes ``0 * inf``, that is ``nan``, although the true
    gradient is 1. Before that, from about 87.4 (708.4 in float64), the gradient is a silent,
    wrong 0: ``1 / (exp(z) + 1)`` is subnormal, and TensorFlow's CPU kernels flush it to zero.
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
    """Softplus with a stable forward pass *and* a hand-written gradient for the tape.

    The value is ``log1p(exp(-|z|)) + max(0, z)`` (``log1p`` keeps tiny results such as
    softplus(-20) = 2.06e-9 that ``log(1 + ...)`` rounds to 0). The derivative of softplus is
    the sigmoid, written ``1 / (1 + exp(-z))``: for very negative ``z`` that is ``1 / inf = 0``,
    never ``nan``, and it is 0.5 at 0. ``upstream`` is the gradient flowing back from what uses
    the result; the chain rule multiplies it in. Reverse mode uses it; forward mode ignores it
    where the accumulator sees the forward ops (eagerly, or inside a ``tf.function``: the
    stable formula's 0 at ``z = 0`` again), not around a ``tf.function`` call, whose JVP TF
    builds from the backward graph. A second derivative differentiates ``softplus_gradient``
    itself: a silent 0 from about z = -43.7 (float32), ``nan`` below -88.7 (``exp(-z)``
    overflows).
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
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"units must be an integer >= 1, got {units!r}")
        super().__init__(**kwargs)
        self.units = int(units)
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
# Building layers in float64
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
    require_choice("dtype", dtype, ("float16", "float32", "float64"))
    previous_floatx, previous_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous_floatx)
        keras.config.set_dtype_policy(previous_policy)
