"""Unit tests of ``helpers.lesson01_layers`` and of the layer-normalization self-check."""

from helpers.checks import check_dropout, check_layer_normalization
from helpers.data import load_regression_data
from helpers.lesson01_layers import (
    MyDense,
    MyDropout,
    MyExponential,
    MyGaussianNoise,
    MyLayerNormalization,
    MyMultiLayer,
)

import math
import warnings

import keras
import numpy as np
import pytest

from tests.check_reports import failed_descriptions


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.fixture
def batch():
    return np.random.default_rng(0).normal(size=(16, 10)).astype("float32")


class TestMyExponential:
    def test_is_exp(self, batch):
        np.testing.assert_allclose(numpy(MyExponential()(batch)), np.exp(batch), rtol=1e-6)


class TestMyDense:
    def test_builds_its_weights_on_the_first_call(self, batch):
        layer = MyDense(4)
        assert not layer.weights
        layer(batch)
        assert [tuple(w.shape) for w in layer.trainable_weights] == [(10, 4), (4,)]

    def test_computes_activation_of_x_kernel_plus_bias(self, batch):
        layer = MyDense(4, activation="relu")
        layer.build(batch.shape)
        kernel = np.random.default_rng(1).normal(size=(10, 4)).astype("float32")
        bias = np.array([0.5, -0.5, 1.0, 0.0], dtype="float32")
        layer.set_weights([kernel, bias])
        expected = np.maximum(batch @ kernel + bias, 0.0)
        np.testing.assert_allclose(numpy(layer(batch)), expected, rtol=1e-5, atol=1e-5)

    @pytest.mark.parametrize("units", [0, -3, 2.5, None])
    def test_refuses_units_that_are_not_a_positive_whole_number(self, units):
        with pytest.raises(ValueError, match="units"):
            MyDense(units=units)

    def test_config_round_trip(self):
        layer = MyDense(7, activation="tanh", name="hidden")
        clone = MyDense.from_config(layer.get_config())
        assert (clone.units, clone.activation.__name__, clone.name) == (7, "tanh", "hidden")
        assert MyDense(2).get_config()["activation"] == "linear"

    def test_compute_output_shape_replaces_the_last_axis(self):
        assert MyDense(4).compute_output_shape((None, 5, 3)) == (None, 5, 4)


class TestMyMultiLayer:
    def test_returns_sum_and_product(self):
        a = np.array([[1.0, 2.0]], dtype="float32")
        b = np.array([[3.0, 4.0]], dtype="float32")
        total, product = MyMultiLayer()([a, b])
        np.testing.assert_array_equal(numpy(total), [[4.0, 6.0]])
        np.testing.assert_array_equal(numpy(product), [[3.0, 8.0]])

    def test_works_in_a_functional_model(self):
        input_a, input_b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
        total, product = MyMultiLayer()([input_a, input_b])
        assert tuple(total.shape) == tuple(product.shape) == (None, 3)
        model = keras.Model([input_a, input_b], [total, product])
        outputs = model([np.ones((2, 3)), np.full((2, 3), 2.0)])
        np.testing.assert_array_equal(numpy(outputs[1]), np.full((2, 3), 2.0))

    def test_cannot_go_into_a_sequential_model(self):
        with pytest.raises(TypeError, match="Iterating over a symbolic"):
            keras.Sequential([keras.Input(shape=(2,)), MyMultiLayer()])


class TestMyGaussianNoise:
    def test_inference_returns_the_inputs_exactly(self, batch):
        layer = MyGaussianNoise(0.5, seed=1)
        np.testing.assert_array_equal(numpy(layer(batch, training=False)), batch)
        np.testing.assert_array_equal(numpy(layer(batch)), batch)  # no flag means inference

    def test_training_adds_noise_of_the_input_shape(self, batch):
        outputs = numpy(MyGaussianNoise(0.5, seed=1)(batch, training=True))
        assert outputs.shape == batch.shape
        assert np.all(outputs != batch)

    def test_compute_output_shape_is_the_input_shape(self):
        assert MyGaussianNoise(0.1).compute_output_shape((None, 5, 3)) == (None, 5, 3)

    def test_a_seed_reproduces_the_noise_and_each_call_draws_anew(self, batch):
        first, second = MyGaussianNoise(0.5, seed=3), MyGaussianNoise(0.5, seed=3)
        draw = numpy(first(batch, training=True))
        np.testing.assert_array_equal(draw, numpy(second(batch, training=True)))
        assert not np.array_equal(draw, numpy(first(batch, training=True)))

    @pytest.mark.parametrize("stddev", [0.1, 0.5, 1.0])
    @pytest.mark.parametrize("layer_class", [MyGaussianNoise, keras.layers.GaussianNoise])
    def test_measured_std_within_2_percent_of_stddev(self, layer_class, stddev):
        zeros = np.zeros((100_000, 10), dtype="float32")
        noise = numpy(layer_class(stddev, seed=5)(zeros, training=True))
        assert abs(noise.std() / stddev - 1) < 0.02
        assert abs(noise.mean()) < 0.01 * stddev

    def test_zero_stddev_adds_nothing(self, batch):
        outputs = numpy(MyGaussianNoise(0.0)(batch, training=True))
        np.testing.assert_array_equal(outputs, batch)

    @pytest.mark.parametrize("stddev", [-1, -0.01, math.inf, math.nan])
    def test_refuses_a_negative_or_infinite_stddev(self, stddev):
        with pytest.raises(ValueError, match="stddev"):
            MyGaussianNoise(stddev=stddev)

    def test_config_round_trip(self):
        layer = MyGaussianNoise(0.25, seed=9, name="noise")
        clone = MyGaussianNoise.from_config(layer.get_config())
        assert (clone.stddev, clone.seed, clone.name) == (0.25, 9, "noise")

    def test_fit_passes_training_true_and_evaluate_predict_pass_false(self, batch):
        # The layer alone, asked to reproduce its inputs: fit's MSE is the noise's variance.
        model = keras.Sequential([keras.Input(shape=(10,)), MyGaussianNoise(0.5, seed=4)])
        model.compile(loss="mse")
        inputs = np.tile(batch, (16, 1))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The model does not have any trainable")
            history = model.fit(inputs, inputs, epochs=1, verbose=0)
        assert history.history["loss"][0] == pytest.approx(0.25, rel=0.1)
        assert model.evaluate(inputs, inputs, verbose=0) == 0.0
        np.testing.assert_array_equal(model.predict(inputs, verbose=0), inputs)


class TestMyLayerNormalization:
    def test_matches_keras_layer_normalization(self):
        inputs = np.random.default_rng(2).normal(3.0, 2.0, size=(4, 5, 8)).astype("float32")
        expected = numpy(keras.layers.LayerNormalization(epsilon=0.001)(inputs))
        np.testing.assert_allclose(numpy(MyLayerNormalization()(inputs)), expected, atol=1e-5)

    @pytest.mark.parametrize("eps", [0, -0.1, math.inf])
    def test_refuses_eps_that_is_not_positive(self, eps):
        with pytest.raises(ValueError, match="eps"):
            MyLayerNormalization(eps=eps)

    def test_config_round_trip(self):
        clone = MyLayerNormalization.from_config(MyLayerNormalization(eps=0.01).get_config())
        assert clone.eps == 0.01


# Keras' own saving code converts variables in a way NumPy 2 deprecates; nothing to fix here.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_model_of_custom_layers_saves_and_reloads_with_equal_predictions(tmp_path):
    # Fresh random weights prove the round trip as well as trained ones, without a slow fit.
    keras.utils.set_random_seed(0)
    data = load_regression_data()
    model = keras.Sequential(
        [
            keras.Input(shape=(10,)),
            MyGaussianNoise(0.1, seed=1),
            MyDense(8, activation="relu"),
            MyLayerNormalization(),
            MyDense(1),
            MyExponential(),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)  # no custom_objects: the classes are registered
    assert [type(layer) for layer in reloaded.layers] == [type(layer) for layer in model.layers]
    assert reloaded.layers[0].get_config()["stddev"] == 0.1
    np.testing.assert_array_equal(numpy(reloaded(data.X_test)), numpy(model(data.X_test)))


class TestLayerNormalizationCheck:
    def test_the_solution_passes(self):
        report = check_layer_normalization(MyLayerNormalization)
        assert report.passed, str(report)

    def test_the_stub_fails_and_says_why(self):
        class Stub(keras.layers.Layer):
            def __init__(self, eps=0.001, **kwargs):
                super().__init__(**kwargs)
                self.eps = eps

            def call(self, X):
                return X

        text = str(check_layer_normalization(Stub))
        assert "✗ build() creates two trainable weights" in text
        assert "trainable weight shapes []" in text
        assert "✗ matches keras.layers.LayerNormalization" in text
        assert "create the two weights alpha and beta" in text
        assert "checks failed" in text

    def test_a_constructor_that_raises_is_reported_not_raised(self):
        class Broken(keras.layers.Layer):
            def __init__(self, **kwargs):
                raise RuntimeError("not written yet")

        report = check_layer_normalization(Broken)
        assert not report.passed
        assert "RuntimeError: not written yet" in str(report)

    def test_refuses_a_tolerance_that_is_not_positive(self):
        with pytest.raises(ValueError, match="tolerance"):
            check_layer_normalization(MyLayerNormalization, tolerance=0)


class TestMyDropout:
    def test_inference_returns_the_inputs_exactly(self, batch):
        layer = MyDropout(0.5, seed=1)
        np.testing.assert_array_equal(numpy(layer(batch, training=False)), batch)
        np.testing.assert_array_equal(numpy(layer(batch)), batch)

    def test_training_drops_rate_and_scales_the_rest(self):
        outputs = numpy(MyDropout(0.2, seed=1)(np.ones((100, 1000), "float32"), training=True))
        assert abs((outputs == 0).mean() - 0.2) < 0.01
        np.testing.assert_allclose(outputs[outputs != 0], 1 / 0.8)
        assert abs(outputs.mean() - 1.0) < 0.01  # the expected value is kept

    @pytest.mark.parametrize("rate", [-0.1, 1, 1.5, math.nan])
    def test_refuses_a_rate_outside_0_1(self, rate):
        with pytest.raises(ValueError, match="rate"):
            MyDropout(rate)

    def test_config_round_trip(self):
        clone = MyDropout.from_config(MyDropout(0.4, seed=2).get_config())
        assert (clone.rate, clone.seed) == (0.4, 2)


class TestDropoutCheck:
    def test_the_solution_passes(self):
        report = check_dropout(MyDropout)
        assert report.passed, str(report)

    def test_dropout_in_inference_too_fails_the_inference_line_only(self):
        class AlwaysDropping(MyDropout):
            def call(self, X, training=None):
                return super().call(X, training=True)

        assert failed_descriptions(check_dropout(AlwaysDropping)) == [
            "at inference (training=False, or no flag) the inputs pass unchanged"
        ]

    def test_forgetting_to_scale_is_named(self):
        class Unscaled(MyDropout):
            def call(self, X, training=None):
                outputs = super().call(X, training=training)
                return outputs * (1 - self.rate) if training else outputs

        text = str(check_dropout(Unscaled))
        assert "✗ training scales the kept inputs by 1 / (1 - 0.3): kept values [1.0]" in text

    def test_the_stub_fails_and_says_why(self):
        class Stub(keras.layers.Layer):
            def __init__(self, rate, seed=None, **kwargs):
                super().__init__(**kwargs)
                self.rate = rate

            def call(self, X, training=None):
                return X

            def get_config(self):
                return super().get_config()

        text = str(check_dropout(Stub))
        assert "0.0% of the inputs are zero" in text
        assert "rate=1.0 was accepted" in text
        assert "get_config() returns no 'rate'" in text
        assert "8 of 10 checks failed" in text


@pytest.mark.parametrize(
    ("layer_class", "arguments"), [(MyDense, {"units": 3}), (MyLayerNormalization, {})]
)
def test_mixed_precision_symbolic_dtype_matches_the_eager_one(layer_class, arguments, batch):
    """compute_output_shape lets Keras give a symbolic output the layer's compute dtype."""
    layer = layer_class(**arguments, dtype="mixed_float16")
    eager = layer(batch)
    symbolic = layer(keras.Input(shape=(10,)))
    assert keras.backend.standardize_dtype(eager.dtype) == "float16"
    assert symbolic.dtype == "float16"


@pytest.mark.parametrize("layer_class", [MyGaussianNoise, MyDropout])
def test_noise_layers_keep_the_mask(layer_class):
    layer = layer_class(0.1)
    inputs = keras.Input(shape=(4,))
    embedded = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a layer without masking support warns
        outputs = layer(embedded)
    assert outputs._keras_mask is not None
