"""Lesson 02's custom Keras models, as ``notebooks/02_custom_models.ipynb`` writes them.

Each class here is written out, character for character, in a ``# @save`` cell of its lesson,
where it is taught; later lessons and the tests import it from here instead of copying it, and
``tests/test_notebook_sync.py`` fails if the two copies drift apart.

Every class is registered with ``keras.saving.register_keras_serializable`` and has a
``get_config``: a subclassed model has no static graph that Keras could save, so the native
``.keras`` format rebuilds it from its class name and its constructor arguments.
"""

import numbers

import keras


@keras.saving.register_keras_serializable(package="helpers")
class ResidualBlock(keras.layers.Layer):
    """``n_layers`` Dense layers whose output is added back to the block's input.

    The Dense layers live in a plain Python list: Keras tracks lists (and dicts) of layers
    assigned to attributes, so their weights show up in ``block.weights`` and get trained and
    saved. The sum ``inputs + Z`` needs ``Z`` as wide as the inputs, so feed the block inputs
    with ``n_neurons`` features. ``build`` builds the Dense layers, so ``block.build(shape)``
    alone creates every weight (Keras 3 does not build a layer's sublayers for it), and each
    Dense layer gets the block's dtype policy, so mixed precision reaches them too.
    """

    def __init__(self, n_layers, n_neurons, **kwargs):
        for name, value in (("n_layers", n_layers), ("n_neurons", n_neurons)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        super().__init__(**kwargs)
        self.n_layers = int(n_layers)
        self.n_neurons = int(n_neurons)
        self.hidden = [
            keras.layers.Dense(
                self.n_neurons,
                activation="elu",
                kernel_initializer="he_normal",
                dtype=self.dtype_policy,
            )
            for _ in range(self.n_layers)
        ]

    def build(self, input_shape):
        shape = input_shape
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        return inputs + Z

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "n_layers": self.n_layers, "n_neurons": self.n_neurons}


@keras.saving.register_keras_serializable(package="helpers")
class ResidualRegressor(keras.Model):
    """The book's custom model: Dense, ``block1`` applied ``block1_repeats`` times, ``block2``.

    The loop calls the *same* ``block1`` object again and again, so its weights are shared:
    repeating it makes the network deeper without adding a single parameter. The defaults are
    the book's (30 neurons, 2 layers per block, ``block1`` applied 1 + 3 times); the other
    arguments let the lesson's widget and exercises try other shapes of the same idea.
    ``build`` builds every sublayer, so ``model.build((None, 10))`` creates all the weights:
    ``summary()`` counts them and ``load_weights`` has somewhere to put them.
    """

    def __init__(
        self, output_dim, n_neurons=30, n_layers_per_block=2, block1_repeats=1 + 3, **kwargs
    ):
        for name, value in (
            ("output_dim", output_dim),
            ("n_neurons", n_neurons),
            ("n_layers_per_block", n_layers_per_block),
            ("block1_repeats", block1_repeats),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        super().__init__(**kwargs)
        self.output_dim = int(output_dim)
        self.n_neurons = int(n_neurons)
        self.n_layers_per_block = int(n_layers_per_block)
        self.block1_repeats = int(block1_repeats)
        policy = self.dtype_policy  # each sublayer computes in the model's dtype
        self.hidden1 = keras.layers.Dense(
            self.n_neurons,
            activation="elu",
            kernel_initializer="he_normal",
            dtype=policy,
            name="hidden1",
        )
        sizes = self.n_layers_per_block, self.n_neurons
        self.block1 = ResidualBlock(*sizes, name="block1", dtype=policy)
        self.block2 = ResidualBlock(*sizes, name="block2", dtype=policy)
        self.out = keras.layers.Dense(self.output_dim, name="output", dtype=policy)

    def build(self, input_shape):
        self.hidden1.build(input_shape)
        shape = self.hidden1.compute_output_shape(input_shape)
        self.block1.build(shape)
        self.block2.build(shape)
        self.out.build(shape)

    def call(self, inputs):
        Z = self.hidden1(inputs)
        for _ in range(self.block1_repeats):
            Z = self.block1(Z)
        Z = self.block2(Z)
        return self.out(Z)

    def get_config(self):
        base_config = super().get_config()
        return {
            **base_config,
            "output_dim": self.output_dim,
            "n_neurons": self.n_neurons,
            "n_layers_per_block": self.n_layers_per_block,
            "block1_repeats": self.block1_repeats,
        }


def residual_regressor_parameter_counts(n_inputs, output_dim, n_neurons, n_layers_per_block):
    """The parameters of a :class:`ResidualRegressor`, layer by layer, without building it.

    Building a model to call ``count_params()`` takes tens of milliseconds; this formula takes
    microseconds, which is what lets the lesson's sliders answer at once
    (``tests/test_models_residual.py`` checks it against real models). Each Dense layer has a
    kernel ``inputs x units`` and a bias ``units``. ``block1_repeats`` is not an argument: a
    repeated block reuses its weights, so the count does not depend on it.

    Returns:
        A dict ``{"hidden1": ..., "block1": ..., "block2": ..., "output": ...}``.
    """
    block = n_layers_per_block * (n_neurons * n_neurons + n_neurons)
    return {
        "hidden1": n_inputs * n_neurons + n_neurons,
        "block1": block,
        "block2": block,
        "output": n_neurons * output_dim + output_dim,
    }
