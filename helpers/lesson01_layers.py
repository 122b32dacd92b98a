"""Lesson 01's custom Keras layers, as ``notebooks/01_custom_layers.ipynb`` writes them.

Each class here is written out, character for character, in a ``# @save`` cell of its lesson,
where it is taught; later lessons and the tests import it from here instead of copying it, and
``tests/test_notebook_sync.py`` fails if the two copies drift apart.

Every class is registered with ``keras.saving.register_keras_serializable`` and has a
``get_config`` (its own, or the inherited one when the constructor takes no arguments of its
own): that is what lets ``keras.models.load_model`` rebuild a saved model without being handed
the classes through ``custom_objects``.
"""

import math
import numbers

import keras


@keras.saving.register_keras_serializable(package="helpers")
class MyExponential(keras.layers.Layer):
    """``exp(X)`` element by element: what a ``Lambda`` layer does, but as a class.

    A ``Lambda`` layer wrapping a Python ``lambda`` stores it as bytecode, which Keras 3 refuses
    to load back without ``safe_mode=False``; a registered class is saved by name and loads
    safely. It has no constructor arguments, so the inherited ``get_config`` is all it needs.
    """

    def call(self, X):
        return keras.ops.exp(X)


@keras.saving.register_keras_serializable(package="helpers")
class MyDense(keras.layers.Layer):
    """A fully connected layer by hand: ``activation(X @ kernel + bias)``.

    ``build`` creates the weights on the first call, once the size of the inputs is known, so
    the constructor does not need it; ``compute_output_shape`` tells Keras the output's shape
    without running ``call`` (and so the right dtype under mixed precision); ``get_config``
    returns the constructor's arguments so a saved model can be rebuilt.
    """

    def __init__(self, units, activation=None, **kwargs):
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"units must be an integer >= 1, got {units!r}")
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=[batch_input_shape[-1], self.units], initializer="glorot_normal"
        )
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def compute_output_shape(self, batch_input_shape):
        return (*batch_input_shape[:-1], self.units)

    def get_config(self):
        base_config = super().get_config()
        return {
            **base_config,
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
        }


@keras.saving.register_keras_serializable(package="helpers")
class MyMultiLayer(keras.layers.Layer):
    """Two inputs in, two outputs out: their sum and their element-wise product.

    Called on a list ``[X1, X2]``, a layer receives that list as its one argument. Keras 3
    works out the output shapes by running ``call`` on symbolic inputs, so no
    ``compute_output_shape`` is needed, and no constructor arguments means no ``get_config``.
    """

    def call(self, X):
        X1, X2 = X
        return X1 + X2, X1 * X2


@keras.saving.register_keras_serializable(package="helpers")
class MyGaussianNoise(keras.layers.Layer):
    """Adds Gaussian noise of standard deviation ``stddev`` while training, nothing otherwise.

    Keras passes ``training=True`` from ``fit`` and ``training=False`` from ``predict`` and
    ``evaluate``; a direct call without it (``training=None``) is inference too. The noise
    comes from ``keras.random`` with the layer's own ``SeedGenerator``: a seeded layer draws
    the same sequence of noise on every run, and a new draw on every call. Like Keras' own
    ``GaussianNoise`` it supports masking: a mask (padded time steps) passes through it.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        if (
            isinstance(stddev, bool)
            or not isinstance(stddev, numbers.Real)
            or not 0 <= stddev < math.inf
        ):
            raise ValueError(f"stddev must be a finite number >= 0, got {stddev!r}")
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True  # the output's padded steps are the input's: keep the mask

    def call(self, X, training=None):
        if training:
            noise = keras.random.normal(
                keras.ops.shape(X),
                stddev=self.stddev,
                dtype=self.compute_dtype,
                seed=self.seed_generator,
            )
            return X + noise
        return X

    def compute_output_shape(self, batch_input_shape):
        return batch_input_shape

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "stddev": self.stddev, "seed": self.seed}


@keras.saving.register_keras_serializable(package="helpers")
class MyLayerNormalization(keras.layers.Layer):
    """Layer normalization by hand, the solution of the book's chapter 12 exercise 12.

    Each instance's features are standardized with their own mean and variance, then scaled by
    ``alpha`` and shifted by ``beta`` (learned, one per feature). The formula is the one
    ``keras.layers.LayerNormalization`` uses, ``eps`` inside the square root, so the two agree
    to float32 precision.
    """

    def __init__(self, eps=0.001, **kwargs):
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < math.inf:
            raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
        super().__init__(**kwargs)
        self.eps = eps

    def build(self, batch_input_shape):
        self.alpha = self.add_weight(name="alpha", shape=batch_input_shape[-1:], initializer="ones")
        self.beta = self.add_weight(name="beta", shape=batch_input_shape[-1:], initializer="zeros")

    def call(self, X):
        mean, variance = keras.ops.moments(X, axes=-1, keepdims=True)
        return self.alpha * (X - mean) / keras.ops.sqrt(variance + self.eps) + self.beta

    def compute_output_shape(self, batch_input_shape):
        return batch_input_shape

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "eps": self.eps}


@keras.saving.register_keras_serializable(package="helpers")
class MyDropout(keras.layers.Layer):
    """Zeroes each input with probability ``rate`` while training, nothing at inference.

    The solution of lesson 01's second exercise. The inputs that survive are scaled by
    ``1 / (1 - rate)``, so each input keeps its expected value: the next layer sees inputs of
    the same size in training and at inference, as with ``keras.layers.Dropout``.
    """

    def __init__(self, rate, seed=None, **kwargs):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {rate!r}")
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True  # the output's padded steps are the input's: keep the mask

    def call(self, X, training=None):
        if training:
            draws = keras.random.uniform(keras.ops.shape(X), seed=self.seed_generator)
            return keras.ops.where(draws >= self.rate, X / (1 - self.rate), 0.0)
        return X

    def compute_output_shape(self, batch_input_shape):
        return batch_input_shape

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "rate": self.rate, "seed": self.seed}
