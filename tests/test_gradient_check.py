"""Lesson 06's helpers: the softplus versions, gradient_check and its report, the broken layer,
forward against reverse mode, and the exercises' self-checks."""

from helpers import lesson06_jacobians as jacobians
from helpers.checks import check_hessian_vector_product, check_safe_norm
from helpers.lesson01_layers import MyDense, MyLayerNormalization
from helpers.lesson02_models import ResidualBlock
from helpers.lesson06_gradient_check import format_error, gradient_check
from helpers.lesson06_gradients import (
    MySoftplusDense,
    floatx,
    my_better_softplus,
    my_softplus,
    softplus_forgetting_upstream,
    stable_softplus,
    value_and_gradient,
)

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.gradient_cases import sine_gradient_of_the_wrong_shape, sine_with_relative_error, x64


def sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


def softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


# --- softplus three ways ----------------------------------------------------------------------


class TestSoftplus:
    def test_the_books_version_overflows_at_100_in_float32(self):
        value, gradient = value_and_gradient(my_softplus, 100.0)
        assert math.isinf(value) and math.isnan(gradient)

    def test_the_books_version_is_fine_in_float64_until_exp_overflows(self):
        assert value_and_gradient(my_softplus, 100.0, "float64") == (100.0, 1.0)
        assert math.isnan(value_and_gradient(my_softplus, 710.0, "float64")[1])

    def test_the_stable_forward_pass_fixes_large_z_but_not_the_gradient_at_0(self):
        assert value_and_gradient(stable_softplus, 1000.0) == (1000.0, 1.0)
        value, gradient = value_and_gradient(stable_softplus, 0.0, "float64")
        assert value == pytest.approx(math.log(2)) and gradient == 0.0  # the kink: 0, not 0.5

    @pytest.mark.parametrize("dtype", ["float32", "float64"])
    @pytest.mark.parametrize("z", [-1000.0, -100.0, -20.0, -1.0, 0.0, 0.5, 30.0, 89.0, 1000.0])
    def test_the_custom_gradient_version_is_right_at_every_point_for_the_tape(self, z, dtype):
        value, gradient = value_and_gradient(my_better_softplus, z, dtype)
        # Below float32's normal range (1.2e-38) TensorFlow may flush tiny results to 0.
        rel, tiny = (1e-6, 1.2e-38) if dtype == "float32" else (1e-14, 1e-300)
        assert value == pytest.approx(softplus(z), rel=rel, abs=tiny)
        assert gradient == pytest.approx(sigmoid(z), rel=rel, abs=tiny)

    def test_the_books_numbers_at_1000(self):
        assert value_and_gradient(my_better_softplus, 1000.0) == (1000.0, 1.0)

    def test_the_custom_gradient_multiplies_the_upstream_gradient(self):
        z = tf.Variable([0.0, 2.0])
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.constant([3.0, -2.0]) * my_better_softplus(z))
        expected = [3.0 * 0.5, -2.0 * sigmoid(2.0)]
        np.testing.assert_allclose(tape.gradient(loss, z), expected, rtol=1e-6)

    def test_matches_keras_softplus_on_a_grid(self):
        z = tf.constant(np.linspace(-50, 50, 101))
        np.testing.assert_allclose(my_better_softplus(z), tf.nn.softplus(z), rtol=1e-12)

    def test_the_naive_gradient_is_a_silent_wrong_0_before_it_overflows(self):
        # 1 / (exp(z) + 1) is subnormal there, and TensorFlow's CPU kernels flush it to 0
        assert value_and_gradient(my_softplus, 88.0) == (88.0, 0.0)
        assert value_and_gradient(my_softplus, 709.0, "float64") == (709.0, 0.0)
        assert float(tf.math.reciprocal(tf.exp(88.0) + 1)) == 0.0

    def test_forward_mode_ignores_the_custom_gradient(self):
        z = tf.constant([-2.0, 0.0, 1.5])
        with tf.autodiff.ForwardAccumulator(z, tf.ones_like(z)) as accumulator:
            value = my_better_softplus(z)
        jvp = accumulator.jvp(value).numpy()
        assert jvp[1] == 0.0  # the stable formula's kink: the custom gradient is not used
        np.testing.assert_allclose(jvp[[0, 2]], [sigmoid(-2.0), sigmoid(1.5)], rtol=1e-5)

    def test_forward_mode_around_a_tf_function_call_uses_the_custom_gradient(self):
        # TF builds the JVP of a function call by transposing its backward graph, which holds
        # the custom gradient: 0.5 at 0, where the eager forward mode above gives 0.
        z = tf.constant([-2.0, 0.0, 1.5])
        with tf.autodiff.ForwardAccumulator(z, tf.ones_like(z)) as accumulator:
            value = tf.function(my_better_softplus)(z)
        expected = [sigmoid(-2.0), 0.5, sigmoid(1.5)]
        np.testing.assert_allclose(accumulator.jvp(value).numpy(), expected, rtol=1e-5)

    @pytest.mark.parametrize(("z", "dtype"), [(-60.0, "float32"), (-500.0, "float64")])
    def test_the_second_derivative_is_a_silent_0_before_the_nan(self, z, dtype):
        assert second_derivative_through_the_custom_gradient(z, dtype) == 0.0  # truly e**z > 0

    @pytest.mark.parametrize(("z", "dtype"), [(-100.0, "float32"), (-1000.0, "float64")])
    def test_the_second_derivative_through_the_custom_gradient_is_nan_far_left(self, z, dtype):
        assert math.isnan(second_derivative_through_the_custom_gradient(z, dtype))


def second_derivative_through_the_custom_gradient(z, dtype):
    """d²/dz² of ``my_better_softplus`` by nested tapes: the outer one differentiates the
    custom gradient function's own operations."""
    variable = tf.Variable(z, dtype=dtype)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            value = my_better_softplus(variable)
        gradient = inner.gradient(value, variable)
    return float(outer.gradient(gradient, variable))


# --- gradient_check ----------------------------------------------------------------------------


class TestGradientCheck:
    def test_a_correct_gradient_passes_with_rounding_sized_errors(self):
        report = gradient_check(lambda x: tf.sin(x) * tf.exp(x), [x64(3, 2)])
        assert report.passed and report.problems == [] and report.upstream.passed
        assert report.max_abs_error < 1e-8 and report.max_rel_error < 1e-7
        assert report.tolerance_used < 1e-3
        assert report.calls == 2 * 6 + 2  # two per entry, the tape's call, the upstream call

    def test_the_whole_jacobian_is_compared(self):
        x = x64(3)
        report = gradient_check(lambda x: tf.stack([tf.reduce_sum(x**2), x[0] * x[2]]), [x])
        expected = np.stack([2 * x.numpy(), [x[2].numpy(), 0.0, x[0].numpy()]])
        np.testing.assert_allclose(report.analytic[0], expected, rtol=1e-12)
        np.testing.assert_allclose(report.numerical[0], expected, rtol=1e-7)
        assert report.output_shape == (2,) and report.input_shapes == [(3,)]

    @pytest.mark.parametrize(("error", "passed"), [(5e-4, True), (2e-3, False)])
    def test_the_tolerance_is_gradchecks(self, error, passed):
        # |a - n| <= atol + rtol |n| with rtol = 1e-3: a relative error of 5e-4 passes, 2e-3 not.
        x = tf.constant([0.3, 1.0, 2.0], tf.float64)
        report = gradient_check(lambda x: sine_with_relative_error(x, error), [x])
        assert report.passed is passed
        # the relative error is |a - n| / max(|a|, |n|), and here |a| = (1 + error) |n|
        assert report.max_rel_error == pytest.approx(error / (1 + error), rel=1e-3)
        # what the verdict reads: |a - n| / (atol + rtol |n|), about error / 1e-3 here
        assert (report.tolerance_used <= 1) is passed
        assert f"(atol + rtol·|n|): {format_error(report.tolerance_used, floor=1e-3)}" in str(
            report
        )

    def test_a_wrong_gradient_fails_and_the_worst_entry_is_named(self):
        report = gradient_check(lambda x, y: x * y, [x64(2, seed=1), x64(2, seed=2)], atol=0)
        assert report.passed  # first a right one
        x = tf.constant([0.5, 1.5, 3.0], tf.float64)
        report = gradient_check(lambda x: sine_with_relative_error(x, 0.5), [x])
        assert not report.passed
        worst = report.worst
        assert worst.output_position == worst.input_position  # an elementwise function
        assert worst.analytic == pytest.approx(1.5 * worst.numerical, rel=1e-6)
        assert "FAILED" in str(report) and "worst entry" in str(report)

    def test_the_gradient_at_the_kink_of_the_stable_softplus_fails(self):
        report = gradient_check(stable_softplus, [tf.constant([-3.0, 0.0, 2.5], tf.float64)])
        assert not report.passed
        assert report.worst.input_position == (1,) and report.worst.output_position == (1,)
        assert (report.worst.analytic, report.worst.numerical) == (0.0, pytest.approx(0.5))

    def test_nan_is_a_failed_line_not_a_crash(self):
        with pytest.warns(UserWarning, match="float32"):
            report = gradient_check(my_softplus, [tf.constant([1.0, 100.0])])
        assert not report.passed and math.isnan(report.max_rel_error)
        assert any("nan/inf" in problem for problem in report.problems)
        assert "tape's Jacobian" in str(report)

    def test_an_input_f_does_not_use_has_a_zero_jacobian(self):
        report = gradient_check(lambda x, unused: tf.sin(x), [x64(2), x64(3)])
        assert report.passed and not report.analytic[1].any()

    def test_variables_are_nudged_and_restored(self):
        kernel = tf.Variable(x64(2, 2))
        before = kernel.numpy().copy()
        X = x64(3, 2, seed=4)
        report = gradient_check(lambda k: tf.tanh(X @ k), kernel)  # one input needs no list
        assert report.passed and report.input_names == ["Variable"]
        np.testing.assert_array_equal(kernel.numpy(), before)

    def test_keras_weights_of_a_layer(self):
        with floatx("float64"):
            layer = MyDense(2, activation="tanh", name="dense")
            X = x64(3, 4)
            layer(X)
        before = [w.numpy().copy() for w in layer.weights]
        report = gradient_check(lambda X, *w: layer(X), [X, *layer.trainable_variables])
        assert report.passed and report.dtype == "float64"
        assert report.input_names == ["inputs[0]", "dense/kernel", "dense/bias"]
        for weight, value in zip(layer.weights, before, strict=True):
            np.testing.assert_array_equal(weight.numpy(), value)

    @pytest.mark.parametrize(
        "build",
        [
            lambda: ResidualBlock(2, 3),
            lambda: MyLayerNormalization(),
            lambda: MySoftplusDense(3),
        ],
    )
    def test_custom_layers_pass_in_float64(self, build):
        with floatx("float64"):
            layer = build()
            X = x64(2, 3)
            layer(X)
        report = gradient_check(lambda X, *w: layer(X), [X, *layer.trainable_variables])
        assert report.passed, str(report)

    def test_agrees_with_tf_test_compute_gradient(self):
        x = x64(2, 3)

        def f(x):
            return tf.tanh(x) @ tf.transpose(x)

        report = gradient_check(f, [x])
        theoretical, numerical = tf.test.compute_gradient(f, [x])
        # compute_gradient flattens to (y.size, x.size); tape.jacobian keeps y.shape + x.shape.
        np.testing.assert_allclose(report.analytic[0].reshape(4, 6), theoretical[0], rtol=1e-12)
        np.testing.assert_allclose(report.numerical[0].reshape(4, 6), numerical[0], rtol=1e-5)

    def test_float32_fails_a_correct_gradient_at_the_default_eps(self):
        results = {}
        for dtype in ("float64", "float32"):
            with floatx(dtype):
                layer = MyDense(3, activation="tanh")
                X = tf.constant(np.random.default_rng(0).normal(size=(2, 3)), dtype)
                layer(X)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the float32 warning, tested elsewhere
                results[dtype] = gradient_check(layer, [X])
        assert results["float64"].passed and results["float64"].max_rel_error < 1e-6
        assert not results["float32"].passed and results["float32"].max_rel_error > 1e-3

    def test_a_random_f_is_reported(self):
        rng = np.random.default_rng(0)
        report = gradient_check(lambda x: x + rng.normal(), [x64(2)])
        assert not report.passed
        assert "not deterministic" in " ".join(report.problems)
        assert report.upstream is None and "upstream" not in str(report)

    def test_scalar_inputs_and_outputs(self):
        report = gradient_check(lambda w1, w2: 3 * w1**2 + 2 * w1 * w2, [5.0, 3.0])
        assert report.output_shape == () and report.input_shapes == [(), ()]
        assert report.dtype == "float64"  # Python numbers become float64, not TF's float32
        np.testing.assert_array_equal(report.analytic, [36.0, 10.0])
        assert report.passed

    def test_python_numbers_and_lists_become_float64_and_float32_warns(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning for what becomes float64
            assert gradient_check(lambda x: x * x, [3.0]).passed
            assert gradient_check(lambda x: x**2, [[1.0, 2.0]]).dtype == "float64"
        with pytest.warns(UserWarning, match=r"inputs\[0\] is float32, not float64"):
            gradient_check(lambda x: x * x, [tf.constant(3.0)])

    def test_a_backward_pass_ignoring_upstream_fails_its_own_line_on_a_scalar(self):
        v = x64(3)
        report = gradient_check(lambda w: tf.reduce_sum(softplus_forgetting_upstream(w)), [v])
        assert report.tolerance_used < 1e-3  # the Jacobian alone cannot see it
        assert not report.passed and not report.upstream.passed
        assert "upstream test FAILED" in str(report) and "multiply by its upstream" in str(report)

    def test_sparse_gradients_are_densified(self):
        params, indices = x64(4, 2), tf.constant([0, 2, 2])
        report = gradient_check(lambda p: tf.gather(p, indices) * 2.0, [params])
        assert report.passed and report.analytic[0].shape == (3, 2, 4, 2)

    @pytest.mark.parametrize(
        ("f", "inputs", "message"),
        [
            (tf.sin, [tf.zeros([0, 3], tf.float64)], r"inputs\[0\] is empty \(shape \(0, 3\)\)"),
            (lambda x: x[:0], [x64(3)], r"f returned an empty tensor \(shape \(0,\)\)"),
            (lambda x: (x, x[:1]), [x64(3)], "parts of different shapes"),
        ],
    )
    def test_empty_and_ragged_are_refused(self, f, inputs, message):
        with pytest.raises(ValueError, match=message):
            gradient_check(f, inputs)

    def test_a_gradient_of_the_wrong_shape_is_a_failed_line_naming_it(self):
        report = gradient_check(sine_gradient_of_the_wrong_shape, [x64(3, 2)])
        assert not report.passed
        assert "has shape (2,), but inputs[0] has shape (3, 2)" in str(report)

    def test_relative_errors_by_entry_has_the_inputs_shape(self):
        report = gradient_check(lambda x: tf.sin(x) * 2.0, [x64(2, 3)])
        assert report.relative_errors(0).shape == (2, 3, 2, 3)
        by_entry = report.relative_errors_by_entry(0)
        assert by_entry.shape == (2, 3) and (by_entry < 1e-6).all()

    def test_renders_as_text_and_html(self):
        report = gradient_check(tf.sin, [x64(2)])
        assert str(report).startswith("Gradient check passed") and repr(report) == str(report)
        assert "Gradient check passed" in report._repr_html_()

    @pytest.mark.parametrize(
        ("keyword", "value"),
        [
            ("eps", 0.0),
            ("eps", -1e-6),
            ("eps", float("nan")),
            ("eps", float("inf")),
            ("eps", "small"),
            ("atol", -1.0),
            ("rtol", float("nan")),
            ("rtol", True),
        ],
    )
    def test_bad_numbers_are_named(self, keyword, value):
        with pytest.raises(ValueError, match=keyword):
            gradient_check(tf.sin, [x64(2)], **{keyword: value})

    @pytest.mark.parametrize(
        ("inputs", "message"),
        [
            ([], "inputs must be a non-empty list"),
            ("x", "inputs must be a non-empty list"),
            ([object()], r"inputs\[0\] is not a tensor"),
            (["a"], r"inputs\[0\] must hold floats"),
            ([tf.constant([1, 2])], r"inputs\[0\] must hold floats"),
        ],
    )
    def test_bad_inputs_are_named(self, inputs, message):
        with pytest.raises(ValueError, match=message):
            gradient_check(tf.sin, inputs)

    @pytest.mark.parametrize(
        "f", [lambda x: None, lambda x: "loss", lambda x: tf.constant(3), lambda x: [x, "a"]]
    )
    def test_f_must_return_floats(self, f):
        with pytest.raises(ValueError, match="f must return one tensor of floats"):
            gradient_check(f, [x64(2)])

    def test_f_must_be_callable(self):
        with pytest.raises(ValueError, match="f must be a function"):
            gradient_check("sin", [x64(2)])


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0, "0"),
        (3.2e-11, "< 1e-6"),  # rounding-sized errors all get one bound, far above them
        (1.4e-8, "< 1e-6"),  # ResidualBlock's in the lesson: its decade differs by machine
        (9.9e-7, "< 1e-6"),
        (1e-6, "< 1e-5"),  # a bound is strict: 1e-6 is not "< 1e-6"
        (1e-5, "< 1e-4"),
        (3.2e-5, "< 1e-4"),
        (0.0123, "0.012"),
        (math.nan, "nan"),
    ],
)
def test_format_error(value, shown):
    assert format_error(value) == shown
    assert format_error(3.2e-11, floor=1e-12) == "< 1e-10"
    assert format_error(1e-13, floor=3e-7) == "< 1e-6"  # the bound holds for any floor


# --- the layer with a (broken) custom gradient -----------------------------------------------


class TestMySoftplusDense:
    def build(self, broken):
        with floatx("float64"):
            layer = MySoftplusDense(3, broken_gradient=broken)
            X = x64(2, 3, seed=2)
            layer(X)
        return layer, X

    def test_broken_and_correct_layers_compute_the_same_values(self):
        broken, X = self.build(True)
        correct, _ = self.build(False)
        correct.set_weights(broken.get_weights())
        np.testing.assert_array_equal(broken(X), correct(X))

    def test_a_scalar_sum_hides_the_bug_from_the_jacobian_not_from_the_upstream_test(self):
        layer, X = self.build(True)
        weights = layer.trainable_variables
        summed = gradient_check(lambda *w: tf.reduce_sum(layer(X)), weights)
        assert summed.tolerance_used < 1e-3 and summed.problems == []
        assert not summed.passed and not summed.upstream.passed
        report = gradient_check(lambda *w: layer(X), weights)
        assert not report.passed and report.max_rel_error > 0.5
        worst = report.worst  # a weight of another unit: the true derivative is 0
        assert worst.numerical == 0.0 and worst.analytic != 0.0

    def test_the_correct_layer_passes(self):
        layer, X = self.build(False)
        assert gradient_check(lambda X, *w: layer(X), [X, *layer.trainable_variables]).passed

    @pytest.mark.parametrize("broken", [False, True])
    def test_round_trips_through_a_keras_file(self, broken, tmp_path):
        model = keras.Sequential([keras.Input(shape=(3,)), MySoftplusDense(2, broken)])
        X = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
        path = tmp_path / "model.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
        assert loaded.layers[-1].broken_gradient is broken

    def test_output_shape_and_bad_units(self):
        assert MySoftplusDense(4).compute_output_shape((None, 7)) == (None, 4)
        with pytest.raises(ValueError, match="units"):
            MySoftplusDense(0)


# --- floatx ------------------------------------------------------------------------------------


def test_floatx_builds_sublayers_in_float64_and_restores_the_defaults():
    keras.layers.Dense(1)  # a layer already built: the policy is fixed from then on
    before = (keras.config.floatx(), keras.config.dtype_policy().name)
    with floatx("float64"):
        block = ResidualBlock(2, 2)
        block(x64(1, 2))
    assert {weight.dtype for weight in block.weights} == {"float64"}
    assert (keras.config.floatx(), keras.config.dtype_policy().name) == before


def test_floatx_restores_after_an_error_and_refuses_unknown_types():
    before = keras.config.floatx()
    with pytest.raises(RuntimeError), floatx("float64"):
        raise RuntimeError("in the block")
    assert keras.config.floatx() == before
    with pytest.raises(ValueError, match="dtype"), floatx("int32"):
        pass


# --- forward against reverse mode --------------------------------------------------------------


class TestJacobianModes:
    def test_both_modes_give_the_tapes_jacobian(self):
        x = tf.constant([0.1, -0.7, 2.0])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = jacobians.one_to_many(x[:1], 4)
        for f, point in [
            (jacobians.many_to_one, x),
            (lambda t: jacobians.one_to_many(t, 4), x[:1]),
        ]:
            with tf.GradientTape() as tape:
                tape.watch(point)
                y = tf.reshape(f(point), [-1])
            expected = tape.jacobian(y, point)
            np.testing.assert_allclose(jacobians.forward_mode_jacobian(f, point), expected, 1e-6)
            np.testing.assert_allclose(jacobians.reverse_mode_jacobian(f, point), expected, 1e-6)

    def test_measures_every_size_and_counts_passes(self):
        rows = jacobians.measure_jacobian_cost(sizes=(1, 3), repeats=1)
        assert [row.n for row in rows] == [1, 3]
        assert rows[1].passes == {
            "forward_many_to_one": 3,
            "reverse_many_to_one": 1,
            "forward_one_to_many": 1,
            "reverse_one_to_many": 3,
        }
        assert all(seconds > 0 for row in rows for seconds in vars(row).values())

    @pytest.mark.parametrize(
        ("keyword", "value"), [("sizes", ()), ("sizes", (0,)), ("sizes", (2.5,)), ("repeats", 0)]
    )
    def test_bad_arguments_are_named(self, keyword, value):
        with pytest.raises(ValueError, match=keyword):
            jacobians.measure_jacobian_cost(**{keyword: value})


# --- the exercises' self-checks ----------------------------------------------------------------


@tf.custom_gradient
def textbook_norm(x):
    norm = tf.norm(x)
    return norm, lambda upstream: upstream * x / norm


@tf.custom_gradient
def safe_norm(x):
    norm = tf.norm(x)
    return norm, lambda upstream: upstream * tf.math.divide_no_nan(x, norm)


@tf.custom_gradient
def norm_forgetting_upstream(x):
    norm = tf.norm(x)
    return norm, lambda upstream: tf.math.divide_no_nan(x, norm)


@tf.custom_gradient
def norm_plus_constant(x):
    norm = tf.norm(x)
    return norm, lambda upstream: upstream * x / (tf.abs(norm) + 1e-3)


def nested_tapes_hvp(f, x, v):
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = f(x)
        gradient_dot_v = tf.reduce_sum(inner.gradient(y, x) * v)
    return outer.gradient(gradient_dot_v, x)


def first_derivative_only(f, x, v):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.gradient(y, x)


class TestSelfChecks:
    def test_safe_norm_passes(self):
        assert check_safe_norm(safe_norm).passed

    def test_the_textbook_gradient_fails_only_at_zero(self):
        report = check_safe_norm(textbook_norm)
        assert [line.passed for line in report.lines] == [True, True, True, False, True, True]
        assert "nan" in report.lines[3].detail

    def test_forgetting_upstream_fails_the_upstream_test_and_the_chain_rule(self):
        report = check_safe_norm(norm_forgetting_upstream)
        assert [line.passed for line in report.lines] == [True, True, False, True, True, False]
        assert "upstream" in report.lines[2].detail and "upstream" in report.lines[5].detail

    def test_a_solution_without_custom_gradient_is_rejected(self):
        report = check_safe_norm(lambda x: tf.sqrt(tf.reduce_sum(x**2) + 1e-30))
        assert [line.passed for line in report.lines[:2]] == [False, False]
        assert "@tf.custom_gradient" in report.lines[0].detail

    def test_a_slightly_wrong_formula_is_named_not_blamed_on_upstream(self):
        report = check_safe_norm(norm_plus_constant)
        assert [line.passed for line in report.lines] == [True, True, True, True, False, True]
        assert "slightly off" in report.lines[4].detail
        assert "upstream" not in report.lines[4].detail

    def test_an_error_in_the_learners_code_is_a_failed_line(self):
        @tf.custom_gradient
        def broken(x):
            raise ZeroDivisionError("oops")

        report = check_safe_norm(broken)
        assert not report.passed and "ZeroDivisionError" in str(report)

    def test_the_nested_tapes_hvp_passes_and_the_stub_fails(self):
        assert check_hessian_vector_product(nested_tapes_hvp).passed
        report = check_hessian_vector_product(first_derivative_only)
        assert not any(line.passed for line in report.lines[:3])

    def test_inner_gradient_outside_the_outer_tape_gets_the_right_hint(self):
        def outside(f, x, v):
            with tf.GradientTape() as outer:
                outer.watch(x)
                with tf.GradientTape() as inner:
                    inner.watch(x)
                    y = f(x)
            gradient = inner.gradient(y, x)  # the classic mistake: the outer tape has stopped
            return outer.gradient(tf.reduce_sum(gradient * v), x)

        report = check_hessian_vector_product(outside)
        assert [line.passed for line in report.lines] == [False, False, False, True]
        for line in report.lines[:3]:
            assert "inside the outer tape's with-block" in line.detail
            assert "TypeError" not in line.detail and "does the outer tape watch" not in line.detail

    def test_an_hvp_that_builds_the_whole_hessian_is_rejected(self):
        def full_hessian_hvp(f, x, v):
            with tf.GradientTape() as outer:
                outer.watch(x)
                with tf.GradientTape() as inner:
                    inner.watch(x)
                    y = f(x)
                gradient = inner.gradient(y, x)
            return tf.linalg.matvec(outer.jacobian(gradient, x), v)

        report = check_hessian_vector_product(full_hessian_hvp)
        assert [line.passed for line in report.lines] == [True, True, True, False]
        assert "tape.jacobian" in report.lines[3].detail
        assert tf.GradientTape.jacobian.__name__ == "jacobian"  # the spy is removed again

    def test_a_finite_difference_hvp_is_named(self):
        def finite_difference_hvp(f, x, v, step=1e-5):
            def gradient(at):
                with tf.GradientTape() as tape:
                    tape.watch(at)
                    y = f(at)
                return tape.gradient(y, at)

            return (gradient(x + step * v) - gradient(x - step * v)) / (2 * step)

        report = check_hessian_vector_product(finite_difference_hvp)
        assert not report.lines[1].passed and "finite differences" in report.lines[1].detail

    def test_a_custom_gradient_under_tf_function_counts(self):
        report = check_safe_norm(tf.function(safe_norm))
        assert report.lines[0].passed

    def test_a_gradient_of_the_wrong_shape_is_not_called_a_constant(self):
        @tf.custom_gradient
        def summed(x):
            norm = tf.norm(x)
            return norm, lambda upstream: upstream * tf.reduce_sum(x) / norm * tf.ones_like(x)

        report = check_safe_norm(summed)
        assert not report.lines[4].passed and "slightly off" not in report.lines[4].detail

    def test_an_hvp_of_the_wrong_shape_is_explained(self):
        report = check_hessian_vector_product(lambda f, x, v: tf.zeros([2]))
        assert "shape" in report.lines[0].detail


def test_lesson_06_saves_the_functions_and_layer_it_teaches():
    from tools.notebook_tools import ROOT, read, saved_definitions

    saved = saved_definitions(read(ROOT / "notebooks" / "06_custom_gradients.ipynb"))
    assert {"my_softplus", "my_better_softplus", "gradient_check", "MySoftplusDense"} <= set(saved)
