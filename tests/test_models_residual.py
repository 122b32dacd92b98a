"""``helpers.lesson02_models``: ``ResidualBlock``, ``ResidualRegressor``: shapes, sharing, saving.

Small inputs and widths keep the file fast; the properties tested do not depend on size.
"""

from helpers.lesson02_models import (
    ResidualBlock,
    ResidualRegressor,
    residual_regressor_parameter_counts,
)

import keras
import numpy as np
import pytest

from tests.check_reports import failed_lines, only_failure


def _inputs(n_rows, n_features, seed=0):
    return np.random.default_rng(seed).normal(size=(n_rows, n_features)).astype("float32")


@pytest.mark.parametrize(("n_rows", "n_features"), [(1, 3), (5, 10)])
def test_regressor_output_shape_for_several_input_sizes(n_rows, n_features):
    model = ResidualRegressor(output_dim=2, n_neurons=8)
    assert tuple(model(_inputs(n_rows, n_features)).shape) == (n_rows, 2)


@pytest.mark.parametrize("n_features", [4, 7])
def test_block_keeps_the_shape_and_adds_its_input(n_features):
    block = ResidualBlock(n_layers=2, n_neurons=n_features)
    X = _inputs(6, n_features)
    outputs = block(X)
    assert tuple(outputs.shape) == X.shape
    Z = X
    for layer in block.hidden:
        Z = layer(Z)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs), X + Z, rtol=1e-6)


def test_block_tracks_the_layers_in_its_list():
    block = ResidualBlock(n_layers=3, n_neurons=4)
    block(_inputs(1, 4))  # the Dense layers create their weights on their first call
    assert len(block.weights) == 3 * 2  # a kernel and a bias per Dense layer
    assert {id(w) for w in block.weights} == {id(w) for d in block.hidden for w in d.weights}


def test_repeated_block_shares_its_weights():
    """The regressor holds one block1, one block2 and two Dense layers, however deep it runs."""
    counts = set()
    for repeats in (1, 3):
        model = ResidualRegressor(1, n_neurons=6, n_layers_per_block=2, block1_repeats=repeats)
        model(_inputs(2, 5))
        expected = 2 + len(model.block1.weights) + len(model.block2.weights) + 2
        assert len(model.weights) == expected == 12
        counts.add(model.count_params())
    assert len(counts) == 1, f"the parameter count changed with the repeats: {counts}"


@pytest.mark.parametrize(
    ("n_inputs", "output_dim", "n_neurons", "n_layers", "repeats"),
    [(10, 1, 30, 2, 4), (3, 2, 5, 1, 1), (7, 3, 16, 3, 2)],
)
def test_parameter_formula_matches_built_models(n_inputs, output_dim, n_neurons, n_layers, repeats):
    model = ResidualRegressor(output_dim, n_neurons, n_layers, repeats)
    model(_inputs(1, n_inputs))
    counts = residual_regressor_parameter_counts(n_inputs, output_dim, n_neurons, n_layers)
    assert sum(counts.values()) == model.count_params()
    assert counts["block1"] == model.block1.count_params()
    assert counts["hidden1"] == model.hidden1.count_params()


def test_book_defaults_give_the_books_parameter_count():
    model = ResidualRegressor(1)
    model(_inputs(1, 10))
    # 10*30+30 + 2 blocks of 2*(30*30+30) + 30+1
    assert model.count_params() == 330 + 2 * 1860 + 31 == 4081


def test_get_config_from_config_round_trip():
    model = ResidualRegressor(2, n_neurons=7, n_layers_per_block=3, block1_repeats=5, name="r")
    clone = ResidualRegressor.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert (clone.n_neurons, clone.n_layers_per_block, clone.block1_repeats) == (7, 3, 5)
    block = ResidualBlock(3, 9, name="b")
    assert ResidualBlock.from_config(block.get_config()).get_config() == block.get_config()


def _built_regressor():
    """A small regressor with weights: random ones are enough, a round trip must keep them."""
    keras.utils.set_random_seed(0)
    model = ResidualRegressor(1, n_neurons=8, block1_repeats=2)
    X = _inputs(16, 4)
    model(X)
    return model, X


def _predict(model, X):
    return keras.ops.convert_to_numpy(model(X))


def test_keras_file_round_trip_gives_equal_predictions(tmp_path):
    model, X = _built_regressor()
    path = tmp_path / "residual.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # registered: no custom_objects needed
    assert type(loaded) is ResidualRegressor
    assert loaded.block1_repeats == 2
    np.testing.assert_allclose(_predict(loaded, X), _predict(model, X))


def test_weights_file_round_trip_needs_a_built_model(tmp_path):
    model, X = _built_regressor()
    path = tmp_path / "residual.weights.h5"
    model.save_weights(path)
    fresh = ResidualRegressor(1, n_neurons=8, block1_repeats=2)
    with pytest.raises(ValueError, match="not yet been built"):
        fresh.load_weights(path)
    fresh(X[:1])
    assert not np.allclose(_predict(fresh, X), _predict(model, X))
    fresh.load_weights(path)
    np.testing.assert_allclose(_predict(fresh, X), _predict(model, X))


def test_build_from_a_shape_creates_every_weight_and_load_weights_works(tmp_path):
    """Keras 3 builds no sublayer for a custom build(): ours builds them, so build() suffices."""
    model, X = _built_regressor()
    path = tmp_path / "residual.weights.h5"
    model.save_weights(path)
    fresh = ResidualRegressor(1, n_neurons=8, block1_repeats=2)
    fresh.build((None, 4))
    assert len(fresh.weights) == 12
    assert fresh.count_params() == model.count_params()
    fresh.load_weights(path)
    np.testing.assert_allclose(_predict(fresh, X), _predict(model, X))


def test_block_build_builds_its_dense_layers():
    block = ResidualBlock(n_layers=3, n_neurons=5)
    block.build((None, 5))
    assert len(block.trainable_weights) == 3 * 2
    assert block.compute_output_shape((None, 5)) == (None, 5)


def test_mixed_precision_reaches_the_sublayers():
    model = ResidualRegressor(1, n_neurons=8, dtype="mixed_float16")
    outputs = model(_inputs(3, 4))
    assert keras.backend.standardize_dtype(outputs.dtype) == "float16"
    assert {w.dtype for w in model.weights} == {"float32"}


def test_clone_model_rebuilds_the_architecture_with_new_weights():
    model, X = _built_regressor()
    clone = keras.models.clone_model(model)
    assert type(clone) is ResidualRegressor
    assert clone.get_config() == model.get_config()
    assert len(clone.weights) == len(model.weights)
    assert not np.allclose(_predict(clone, X), _predict(model, X))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(_predict(clone, X), _predict(model, X))


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: ResidualBlock(n_layers=0, n_neurons=4), "n_layers"),
        (lambda: ResidualBlock(n_layers=2, n_neurons=0), "n_neurons"),
        (lambda: ResidualBlock(n_layers=2.5, n_neurons=4), "n_layers"),
        (lambda: ResidualRegressor(output_dim=0), "output_dim"),
        (lambda: ResidualRegressor(1, n_neurons=-3), "n_neurons"),
        (lambda: ResidualRegressor(1, n_layers_per_block=0), "n_layers_per_block"),
        (lambda: ResidualRegressor(1, block1_repeats=0), "block1_repeats"),
    ],
)
def test_bad_sizes_raise_value_errors_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"^{argument} must be an integer >= 1"):
        make()


@pytest.mark.parametrize(("n_layers", "repeats"), [(2, 4), (3, 1)])
def test_architecture_picture_follows_the_model(n_layers, repeats):
    """Figure 12-3 is drawn from the model: one box per Dense layer, the repeat count shown."""
    from helpers.lesson02_figure import draw_residual_regressor

    from matplotlib.figure import Figure

    model = ResidualRegressor(1, n_neurons=16, n_layers_per_block=n_layers, block1_repeats=repeats)
    ax = Figure().subplots()
    draw_residual_regressor(model, ax)
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("Dense\n16") == 1 + 2 * n_layers
    assert texts.count("Dense\n1") == 1
    assert texts.count("+") == 2
    expected = "applied once" if repeats == 1 else f"applied × {repeats}:"
    assert any(text.startswith(expected) for text in texts), texts


class TestScaledResidualBlockCheck:
    """Lesson 02's self-check: the solution passes, each wrong answer fails its own line."""

    @staticmethod
    def _block_class(
        with_build=True,
        dense_kwargs=None,
        hand_off_policy=True,
        scale_shape=(),
        use_scale=True,
        registered=True,
        base=keras.layers.Layer,
        with_get_config=True,
    ):
        dense_kwargs = (
            {"activation": "elu", "kernel_initializer": "he_normal"}
            if dense_kwargs is None
            else dense_kwargs
        )

        class ScaledResidualBlock(base):
            def __init__(self, n_layers, n_neurons, initial_scale=0.1, **kwargs):
                super().__init__(**kwargs)
                self.n_layers, self.n_neurons = n_layers, n_neurons
                self.initial_scale = initial_scale
                policy = {"dtype": self.dtype_policy} if hand_off_policy else {}
                self.hidden = [
                    keras.layers.Dense(n_neurons, **dense_kwargs, **policy) for _ in range(n_layers)
                ]
                self.scale = self.add_weight(
                    name="scale",
                    shape=scale_shape,
                    initializer=keras.initializers.Constant(initial_scale),
                )

            if with_build:

                def build(self, input_shape):
                    for layer in self.hidden:
                        layer.build(input_shape)

            def call(self, inputs):
                Z = inputs
                for layer in self.hidden:
                    Z = layer(Z)
                return inputs + (self.scale * Z if use_scale else Z)

            if with_get_config:

                def get_config(self):
                    return {
                        **super().get_config(),
                        "n_layers": self.n_layers,
                        "n_neurons": self.n_neurons,
                        "initial_scale": self.initial_scale,
                    }

        if not registered:
            return ScaledResidualBlock
        return keras.saving.register_keras_serializable(package="test_lesson02")(
            ScaledResidualBlock
        )

    @staticmethod
    def _only_failure(block_class):
        """The one failed line of the check of ``block_class``, as (description, detail)."""
        from helpers.checks import check_scaled_residual_block

        return only_failure(check_scaled_residual_block(block_class))

    def test_the_solution_passes(self):
        from helpers.checks import check_scaled_residual_block

        report = check_scaled_residual_block(self._block_class())
        assert report.passed, str(report)

    @pytest.mark.parametrize("base", [keras.layers.Layer, keras.Model])
    def test_a_block_without_its_own_get_config_is_told_to_define_one(self, base):
        """A Layer gets Keras' automatic config, a Model the defaults: neither is the block's."""
        from helpers.checks import check_scaled_residual_block

        block_class = self._block_class(base=base, with_get_config=False)
        failed = failed_lines(check_scaled_residual_block(block_class))
        detail = failed["its own get_config() holds n_layers, n_neurons, initial_scale"]
        assert detail.startswith("define get_config() in the class"), failed

    def test_without_build_only_the_build_line_fails(self):
        description, _ = self._only_failure(self._block_class(with_build=False))
        assert "build" in description

    def test_dense_layers_without_elu_and_he_normal_are_named(self):
        description, detail = self._only_failure(self._block_class(dense_kwargs={}))
        assert "elu" in description
        assert "['linear']" in detail and "GlorotUniform" in detail

    def test_dense_layers_without_the_blocks_dtype_policy_fail_mixed_precision(self):
        description, detail = self._only_failure(self._block_class(hand_off_policy=False))
        assert "mixed_float16" in description
        assert "InvalidArgumentError" in detail and "dtype=self.dtype_policy" in detail

    def test_a_scale_per_neuron_instead_of_one_scalar_is_named(self):
        from helpers.checks import check_scaled_residual_block

        report = check_scaled_residual_block(self._block_class(scale_shape=(8,)))
        failed = failed_lines(report)
        line = "one trainable scalar weight besides the Dense layers', starting at initial_scale"
        assert failed[line] == "0 scalar weight(s) among 5 trainable weights", str(report)

    def test_a_scale_that_call_never_uses_fails_the_scaling_lines(self):
        from helpers.checks import check_scaled_residual_block

        report = check_scaled_residual_block(self._block_class(use_scale=False))
        assert set(failed_lines(report)) == {
            "with initial_scale=0.0 the block returns its inputs exactly",
            "output = inputs + scale * Z (doubling scale doubles output - inputs)",
        }, str(report)

    def test_an_unregistered_class_is_told_to_register(self):
        description, detail = self._only_failure(self._block_class(registered=False))
        assert "round-trips" in description and "register it" in detail
