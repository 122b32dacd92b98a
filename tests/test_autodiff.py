"""Unit tests of ``helpers.lesson04_autodiff``: finite differences, tape gradients, their cost."""

from helpers import lesson04_autodiff as autodiff
from helpers import lesson04_gradient_cost as gradient_cost
from helpers.lesson04_gradient_cost import GradientCost, measure_gradient_cost

import dataclasses
import math

import keras
import numpy as np
import pytest
import tensorflow as tf


class TestMeasureGradientCost:
    def test_counts_calls_and_samples_coordinates(self):
        cost = measure_gradient_cost(1000, max_coordinates=10, repeats=1)
        assert cost.n_params == 1000
        assert cost.forward_difference_calls == 1001
        assert cost.central_difference_calls == 2000
        assert cost.sampled_coordinates == 10

    def test_small_models_time_every_coordinate(self):
        cost = measure_gradient_cost(10, max_coordinates=200, repeats=1)
        assert cost.sampled_coordinates == 10

    def test_ratios_divide_by_one_forward_pass(self):
        cost = measure_gradient_cost(50, repeats=1)
        assert cost.tape_ratio == pytest.approx(cost.tape_seconds / cost.forward_seconds)
        assert cost.forward_difference_ratio == pytest.approx(
            cost.forward_difference_seconds / cost.forward_seconds
        )
        assert cost.central_difference_ratio == pytest.approx(
            cost.central_difference_seconds / cost.forward_seconds
        )
        with pytest.raises(dataclasses.FrozenInstanceError):
            cost.n_params = 3

    def test_finite_differences_grow_with_n_the_tape_does_not(self):
        # The benchmark (issue 7) relies on "a tape gradient costs at most 5 forward passes".
        cost = measure_gradient_cost(100_000, max_coordinates=20, repeats=5)
        assert cost.tape_ratio <= 5, cost
        assert cost.forward_difference_ratio > 0.1 * cost.n_params, cost
        assert cost.central_difference_seconds > 100 * cost.tape_seconds, cost

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("n_params", 0),
            ("n_params", 10**8),
            ("n_params", 2.5),
            ("n_params", True),
            ("max_coordinates", 0),
            ("repeats", 0),
        ],
    )
    def test_bad_arguments_are_named(self, argument, value):
        arguments = {"n_params": 10, argument: value}
        with pytest.raises(ValueError, match=argument):
            measure_gradient_cost(**arguments)

    def test_the_timed_functions_compute_the_gradient(self):
        # What is timed must be a real gradient: the loss is quadratic in theta, so central
        # differences are exact up to rounding and must agree with the tape.
        theta, inputs, targets = gradient_cost._cost_model_data(50, seed=1)
        tape = gradient_cost._cost_model_tape_gradient(theta, inputs, targets).numpy()
        base = float(gradient_cost._cost_model_loss(theta, inputs, targets))
        eps = 1e-2

        def nudged(i, step):
            return float(gradient_cost._cost_model_nudged_loss(theta, inputs, targets, i, step))

        for i in (0, 17, 49):  # 49 is the bias
            central = (nudged(i, eps) - nudged(i, -eps)) / (2 * eps)
            forward = (nudged(i, eps) - base) / eps
            np.testing.assert_allclose(central, tape[i], atol=1e-3)
            np.testing.assert_allclose(forward, tape[i], atol=0.1)

    def test_is_a_gradient_cost(self):
        assert isinstance(measure_gradient_cost(3, repeats=1), GradientCost)


# --- finite differences and the tape: the book's numbers ------------------------------------

BOOK_POINT = [5, 3]


def book(w1, w2):
    return 3 * w1**2 + 2 * w1 * w2


class TestTheBooksNumbers:
    def test_forward_differences_on_python_numbers(self):
        gradient, calls = autodiff.finite_difference_gradient(book, BOOK_POINT)
        assert [float(g) for g in gradient] == [36.000003007075065, 10.000000003174137]
        assert calls == 3

    def test_central_differences_cost_two_calls_per_parameter(self):
        result = autodiff.finite_difference_gradient(book, BOOK_POINT, scheme="central")
        assert result.calls == 4
        assert float(result.gradient[0]) == 36.00000000147929

    @pytest.mark.parametrize(
        "params",
        [
            [tf.constant(5.0), tf.constant(3.0)],
            [np.float32(5.0), np.float32(3.0)],
            pytest.param([5.0, 3.0], id="python floats, dtype=float32"),
        ],
    )
    def test_float32_gives_38_and_7_6(self, params):
        dtype = "float32" if isinstance(params[0], float) else None
        gradient, _ = autodiff.finite_difference_gradient(book, params, dtype=dtype)
        assert all(g.dtype == np.float32 for g in gradient)
        assert [str(g) for g in gradient] == ["38.146973", "7.6293945"]

    def test_the_tape_is_exact(self):
        assert autodiff.tape_gradient(book, [5.0, 3.0]) == [36.0, 10.0]
        assert autodiff.tape_gradient(book, [tf.Variable(5.0), tf.Variable(3.0)]) == [36.0, 10.0]

    def test_repr_prints_values_as_the_book_does(self):
        result = autodiff.finite_difference_gradient(book, BOOK_POINT)
        assert repr(result) == (
            "FiniteDifferenceGradient(gradient=[36.000003007075065, 10.000000003174137], calls=3)"
        )


# --- agreement with analytic derivatives and with tf.test.compute_gradient ------------------


def array_function(w, b):
    return tf.reduce_sum(tf.tanh(w) * b)


ORACLE_CASES = [
    (autodiff.book_function, [5.0, 3.0]),
    (autodiff.sine_exp_function, [1.0, 0.5]),
    (autodiff.sine_exp_function, [-2.3, 0.1]),
    (autodiff.tiny_network_loss, [0.8, 0.1, 1.2, 0.0]),
    (array_function, [np.array([0.3, -1.2, 2.0]), 0.7]),
]


@pytest.mark.parametrize(
    ("f", "point"), ORACLE_CASES, ids=lambda value: getattr(value, "__name__", "")
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_agrees_with_tf_test_compute_gradient(f, point, dtype):
    tensors = [tf.constant(np.asarray(p, dtype)) for p in point]
    theoretical, numerical = tf.test.compute_gradient(f, tensors, delta=1e-3)
    tape = autodiff.tape_gradient(f, point, dtype=dtype)
    eps = 1e-6 if dtype == "float64" else 1e-2
    estimate = autodiff.finite_difference_gradient(f, point, eps, "central", dtype).gradient
    tape_tolerance, difference_tolerance = (1e-12, 1e-6) if dtype == "float64" else (1e-5, 2e-3)
    for index, param in enumerate(point):
        shape = np.shape(param)
        np.testing.assert_allclose(
            tape[index], theoretical[index].reshape(shape), rtol=tape_tolerance, atol=1e-7
        )
        np.testing.assert_allclose(
            estimate[index], numerical[index].reshape(shape), rtol=difference_tolerance, atol=1e-4
        )
        assert np.shape(estimate[index]) == shape and np.shape(tape[index]) == shape


def tiny_network_gradient(w, b, v, c):
    """The tiny network's gradient by hand: the chain rule written out."""
    x, y = np.array(autodiff._TINY_INPUTS), np.array(autodiff._TINY_TARGETS)
    hidden = np.tanh(w * x + b)
    residual = 2 * (v * hidden + c - y) / len(x)
    slope = residual * v * (1 - hidden**2)
    return [np.sum(slope * x), np.sum(slope), np.sum(residual * hidden), np.sum(residual)]


@pytest.mark.parametrize("point", [(0.8, 0.1, 1.2, 0.0), (-1.5, 0.7, 0.3, -0.4)])
def test_tiny_network_against_the_chain_rule_by_hand(point):
    expected = tiny_network_gradient(*point)
    np.testing.assert_allclose(
        autodiff.tape_gradient(autodiff.tiny_network_loss, list(point), "float64"),
        expected,
        rtol=1e-13,
    )
    estimate = autodiff.finite_difference_gradient(
        autodiff.tiny_network_loss, list(point), 1e-5, "central", "float64"
    )
    np.testing.assert_allclose(estimate.gradient, expected, rtol=1e-8, atol=1e-10)
    assert estimate.calls == 8


def test_python_floats_reach_float64_unrounded():
    # tf.cast(0.1, tf.float64) would round 0.1 to float32 first: the gradient would be off by 1e-9.
    (gradient,) = autodiff.tape_gradient(lambda w: w**2, [0.1], dtype="float64")
    assert gradient == 0.2


def test_unused_parameters_get_a_zero_partial():
    assert autodiff.tape_gradient(lambda a, b: a * 2.0, [1.0, 4.0]) == [2.0, 0.0]
    assert autodiff.finite_difference_gradient(lambda a, b: a * 2.0, [1.0, 4.0]).gradient[1] == 0


def test_example_functions_compute_the_same_in_numpy_and_tensorflow():
    for example in autodiff.EXAMPLE_FUNCTIONS.values():
        point = [np.float64(p) for p in example.default_point]
        with_numpy = example.f(*point)
        with_tensorflow = example.f(*[tf.constant(p) for p in point]).numpy()
        np.testing.assert_allclose(with_numpy, with_tensorflow, rtol=1e-14)


# --- the V: error model, best eps, error curve -----------------------------------------------


def test_unit_roundoff():
    assert autodiff.unit_roundoff("float32") == 2.0**-24
    assert autodiff.unit_roundoff(tf.float64) == 2.0**-53


def test_theoretical_best_eps_for_unit_scales():
    u = 2.0**-53
    assert autodiff.theoretical_best_eps("forward", "float64") == pytest.approx(2 * u**0.5)
    assert autodiff.theoretical_best_eps("central", "float64") == pytest.approx((3 * u) ** (1 / 3))
    assert autodiff.theoretical_best_eps("forward", "float32", derivative=0) == float("inf")


@pytest.mark.parametrize("scheme", ["forward", "central"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_best_eps_minimizes_the_error_model(scheme, dtype):
    eps = np.logspace(-14, 0, 14001)
    truncation, rounding = autodiff.finite_difference_error_model(
        eps, scheme, dtype, value=3.0, derivative=0.5
    )
    best = autodiff.theoretical_best_eps(scheme, dtype, value=3.0, derivative=0.5)
    assert eps[np.argmin(truncation + rounding)] == pytest.approx(best, rel=2e-3)


def test_derivatives_along_by_nested_tapes():
    assert autodiff.derivatives_along(book, [5.0, 3.0], 0) == [105.0, 36.0, 6.0, 0.0]
    assert autodiff.derivatives_along(book, [5.0, 3.0], 1, order=2) == [105.0, 10.0, 0.0]
    values = autodiff.derivatives_along(autodiff.sine_exp_function, [1.0, 0.5], 0)
    s, c, e = np.sin(1.0), np.cos(1.0), np.exp(0.5)
    np.testing.assert_allclose(values, [s * e, c * e, -s * e, -c * e], rtol=1e-14)


V_CASES = [
    (autodiff.sine_exp_function, [1.0, 0.5], 0),
    (autodiff.sine_exp_function, [1.0, 0.5], 1),
    (autodiff.sine_exp_function, [-2.3, 0.1], 0),
    (autodiff.tiny_network_loss, [0.8, 0.1, 1.2, 0.0], 0),
    (autodiff.book_function, [5.0, 3.0], 0),
]


@pytest.mark.parametrize(("f", "point", "index"), V_CASES)
@pytest.mark.parametrize("scheme", ["forward", "central"])
def test_the_error_curve_bottoms_out_near_the_theoretical_best_eps(f, point, index, scheme):
    values = autodiff.derivatives_along(f, point, index, order=3)
    derivative = values[2] if scheme == "forward" else values[3]
    eps = np.logspace(-12, 0, 193)
    errors = autodiff.finite_difference_error_curve(
        f, point, eps, index=index, scheme=scheme, dtype="float64"
    )
    if derivative == 0:  # the book's quadratic f, central: no truncation error, no V
        assert errors[-1] < 1e-12 * abs(values[1])
        return
    best = autodiff.theoretical_best_eps(scheme, "float64", value=values[0], derivative=derivative)
    smoothed = np.convolve(np.log(np.maximum(errors, 1e-300)), np.ones(5) / 5, mode="same")
    measured_best = eps[2:-2][np.argmin(smoothed[2:-2])]
    assert best / 10 < measured_best < best * 10, (measured_best, best)


@pytest.mark.parametrize("scheme", ["forward", "central"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_curve_is_the_helpers_error_at_each_eps(scheme, dtype):
    eps = np.logspace(-8, 0, 9)
    for f, point in [(book, [5.0, 3.0]), (autodiff.sine_exp_function, [1.0, 0.5])]:
        curve = autodiff.finite_difference_error_curve(
            f, point, eps, index=0, scheme=scheme, dtype=dtype
        )
        exact = autodiff.tape_gradient(f, point, dtype)[0]
        one_by_one = [
            abs(
                np.float64(autodiff.finite_difference_gradient(f, point, e, scheme, dtype)[0][0])
                - np.float64(exact)
            )
            for e in eps
        ]
        np.testing.assert_array_equal(curve, one_by_one)


@pytest.mark.parametrize("scheme", ["forward", "central"])
def test_python_floats_are_compared_with_a_float64_tape(scheme):
    # Python floats are differenced in float64: a float32 reference put a floor of ~1e-8
    # (central) to ~1e-7 under the curve, hiding the bottom of the V (issue 14, item 2).
    eps = np.logspace(-12, 0, 49)
    f, point = autodiff.sine_exp_function, [1.0, 0.5]
    default = autodiff.finite_difference_error_curve(f, point, eps, scheme=scheme)
    float64 = autodiff.finite_difference_error_curve(f, point, eps, scheme=scheme, dtype="float64")
    np.testing.assert_array_equal(default, float64)
    if scheme == "central":  # the V's bottom: about 3e-12 in float64, 1e-8 against float32
        assert default.min() < 1e-10


def test_a_function_that_does_not_broadcast_is_evaluated_step_by_step():
    def scalar_only(w1, w2):
        return math.sin(float(w1)) * w2  # float() of an array fails: no broadcasting

    eps = [1e-6, 1e-3]
    curve = autodiff.finite_difference_error_curve(
        scalar_only, [1.0, 2.0], eps, dtype="float64", reference=2 * math.cos(1.0)
    )
    expected = [
        abs(
            autodiff.finite_difference_gradient(scalar_only, [1.0, 2.0], e)[0][0]
            - 2 * math.cos(1.0)
        )
        for e in eps
    ]
    np.testing.assert_array_equal(curve, expected)


# --- bad input: a ValueError a learner understands -------------------------------------------


@pytest.mark.parametrize("eps", [0, -1e-6, float("nan"), float("inf"), "1e-6", None])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match="eps must be"):
        autodiff.finite_difference_gradient(book, [5.0, 3.0], eps=eps)


def test_eps_that_rounds_to_zero_in_the_dtype():
    with pytest.raises(ValueError, match="not representable in float32"):
        autodiff.finite_difference_gradient(book, [5.0, 3.0], eps=1e-50, dtype="float32")


def test_unknown_scheme():
    with pytest.raises(ValueError, match="scheme must be 'forward' or 'central', got 'backward'"):
        autodiff.finite_difference_gradient(book, [5.0, 3.0], scheme="backward")


@pytest.mark.parametrize("gradient", [autodiff.finite_difference_gradient, autodiff.tape_gradient])
def test_a_non_scalar_f_is_named_with_its_shape(gradient):
    with pytest.raises(ValueError, match=r"scalar .* shape \(2,\)"):
        gradient(lambda a, b: tf.stack([a, b]), [1.0, 2.0])


@pytest.mark.parametrize("gradient", [autodiff.finite_difference_gradient, autodiff.tape_gradient])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([1.0, 2.0, 3.0], r"f\(w1, w2\) cannot take the 3 params"),
        ([1.0], r"cannot take the 1 params"),
        (5.0, "params must be a non-empty list or tuple"),
        ([], "params must be a non-empty list or tuple"),
        ([tf.constant(1.0), tf.constant(2.0, tf.float64)], r"mix dtypes \(float32, float64\)"),
        ([np.array(1), np.array(2)], "integers"),
        (["a", 1.0], "number, a NumPy value or a tensor, got str"),
    ],
)
def test_mismatched_params(gradient, params, message):
    with pytest.raises(ValueError, match=message):
        gradient(book, params)


def test_bad_dtype():
    with pytest.raises(ValueError, match="dtype must be one of float16, float32, float64"):
        autodiff.finite_difference_gradient(book, [5.0, 3.0], dtype="int32")


def test_f_must_be_callable():
    with pytest.raises(ValueError, match="f must be a function"):
        autodiff.tape_gradient(42, [1.0])


@pytest.mark.parametrize("index", [-1, 2, 0.5])
def test_index_must_pick_a_scalar_param(index):
    with pytest.raises(ValueError, match="index must pick a scalar param"):
        autodiff.derivatives_along(book, [5.0, 3.0], index)
    with pytest.raises(ValueError, match="index must pick a scalar param"):
        autodiff.finite_difference_error_curve(book, [5.0, 3.0], [1e-3], index=index)


def test_call_counter_counts():
    counter = autodiff.CallCounter(book)
    counter(1.0, 2.0)
    counter(1.0, 2.0)
    assert counter.calls == 2


# --- the input-gradient penalty ---------------------------------------------------------------


def test_the_penalty_of_a_linear_model_is_its_squared_weights():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    inputs = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    penalty, outputs = autodiff.input_gradient_penalty(model, inputs)
    weights = model.layers[0].kernel.numpy()
    assert float(penalty) == pytest.approx(float(np.sum(weights**2)), rel=1e-6)
    assert outputs.shape == (5, 1)


def test_training_with_the_penalty_shrinks_the_input_gradients():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 4)).astype("float32")
    y = (X @ np.array([[3.0], [-2.0], [1.0], [0.5]])).astype("float32")
    penalties = []
    for weight in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
        history = autodiff.train_with_input_gradient_penalty(
            model, X, y, penalty_weight=weight, epochs=60, learning_rate=0.05
        )
        penalties.append(history["penalty"])
    assert penalties[1] < 0.5 * penalties[0]


@pytest.mark.parametrize(
    ("argument", "value"),
    [("penalty_weight", -1.0), ("penalty_weight", float("nan")), ("epochs", 0)],
)
def test_training_refuses_bad_arguments(argument, value):
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=argument):
        autodiff.train_with_input_gradient_penalty(
            model, np.zeros((4, 2)), np.zeros((4, 1)), **{argument: value}
        )


def diagonal_jacobian_penalty(model, inputs, training):
    """The true mean of ||d outputs_i / d inputs_i||²: diagonal blocks of the full Jacobian."""
    inputs = tf.convert_to_tensor(inputs)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = model(inputs, training=training)
    jacobian = tape.jacobian(outputs, inputs)  # (batch, *out, batch, *in)
    blocks = tf.stack([jacobian[i, ..., i, :] for i in range(inputs.shape[0])])
    return float(tf.reduce_mean(tf.reduce_sum(tf.square(blocks), axis=[1, 2])))


def small_model(*middle, outputs=1):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input(shape=(3,)), keras.layers.Dense(4, activation="tanh"), *middle]
        + [keras.layers.Dense(outputs)]
    )


PENALTY_INPUTS = np.random.default_rng(2).normal(size=(12, 3)).astype("float32")


@pytest.mark.parametrize("outputs", [1, 2, 3])
@pytest.mark.parametrize("training", [False, True])
def test_the_penalty_is_each_examples_own_jacobian_norm(outputs, training):
    # With several outputs, the gradient of their sum is not the Jacobian (issue 14, item 1).
    model = small_model(keras.layers.Dropout(0.0), outputs=outputs)
    penalty, _ = autodiff.input_gradient_penalty(model, PENALTY_INPUTS, training=training)
    expected = diagonal_jacobian_penalty(model, PENALTY_INPUTS, training)
    assert float(penalty) == pytest.approx(expected, rel=1e-5)


def test_batch_normalization_at_inference_or_frozen_keeps_rows_apart():
    model = small_model(keras.layers.BatchNormalization())
    penalty, _ = autodiff.input_gradient_penalty(model, PENALTY_INPUTS)
    assert float(penalty) == pytest.approx(
        diagonal_jacobian_penalty(model, PENALTY_INPUTS, False), rel=1e-5
    )
    model.layers[1].trainable = False  # Keras 3: a frozen BatchNormalization uses its moving stats
    penalty, _ = autodiff.input_gradient_penalty(model, PENALTY_INPUTS, training=True)
    assert float(penalty) == pytest.approx(
        diagonal_jacobian_penalty(model, PENALTY_INPUTS, True), rel=1e-5
    )


def test_batch_normalization_in_training_mixes_rows_and_is_refused():
    model = small_model(keras.layers.BatchNormalization())
    # Why refuse: the sum's gradient is about 0 there, the true per-example value is not.
    with tf.GradientTape() as tape:
        inputs = tf.constant(PENALTY_INPUTS)
        tape.watch(inputs)
        outputs = model(inputs, training=True)
    assert float(tf.reduce_max(tf.abs(tape.gradient(outputs, inputs)))) < 1e-5
    assert diagonal_jacobian_penalty(model, PENALTY_INPUTS, True) > 1e-3
    with pytest.raises(ValueError, match="BatchNormalization layer 'batch_normalization"):
        autodiff.input_gradient_penalty(model, PENALTY_INPUTS, training=True)
    nested = keras.Sequential([keras.Input(shape=(3,)), model])
    with pytest.raises(ValueError, match="BatchNormalization"):
        autodiff.train_with_input_gradient_penalty(
            nested, PENALTY_INPUTS, np.zeros((12, 1)), epochs=1
        )


def test_batch_normalization_before_a_nonlinearity_is_wrong_without_being_zero():
    # The sum's gradient is about 0 only when linear layers alone follow the normalization;
    # with a ReLU after it, it is neither 0 nor each example's value: refused all the same.
    model = small_model(keras.layers.BatchNormalization(), keras.layers.ReLU())
    with tf.GradientTape() as tape:
        inputs = tf.constant(PENALTY_INPUTS)
        tape.watch(inputs)
        outputs = model(inputs, training=True)
    sum_gradient = tape.gradient(outputs, inputs)
    sum_penalty = float(tf.reduce_mean(tf.reduce_sum(tf.square(sum_gradient), axis=1)))
    own_penalty = diagonal_jacobian_penalty(model, PENALTY_INPUTS, True)
    assert sum_penalty > 1e-3 and sum_penalty != pytest.approx(own_penalty, rel=0.05)
    with pytest.raises(ValueError, match="with only linear layers after it, it is about 0"):
        autodiff.input_gradient_penalty(model, PENALTY_INPUTS, training=True)


def test_training_reports_the_last_steps_mse_before_its_update():
    model = small_model()
    targets = np.ones((12, 1), np.float32)
    before = float(np.mean((keras.ops.convert_to_numpy(model(PENALTY_INPUTS)) - targets) ** 2))
    result = autodiff.train_with_input_gradient_penalty(
        model, PENALTY_INPUTS, targets, learning_rate=0.1, epochs=1
    )
    after = float(np.mean((keras.ops.convert_to_numpy(model(PENALTY_INPUTS)) - targets) ** 2))
    assert result["mse"] == pytest.approx(before, rel=1e-5)
    assert after != pytest.approx(before, rel=1e-3)


def test_training_with_several_outputs_runs_the_jacobian_penalty():
    model = small_model(outputs=2)
    result = autodiff.train_with_input_gradient_penalty(
        model, PENALTY_INPUTS, np.zeros((12, 2)), penalty_weight=0.5, epochs=3
    )
    penalty, _ = autodiff.input_gradient_penalty(model, PENALTY_INPUTS, training=True)
    assert result["penalty"] > 0 and np.isfinite(result["mse"])
    assert float(penalty) == pytest.approx(
        diagonal_jacobian_penalty(model, PENALTY_INPUTS, True), rel=1e-5
    )
