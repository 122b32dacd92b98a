"""Unit tests of ``helpers.autodiff``: finite differences, tape gradients and their cost."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from helpers import autodiff
from helpers.autodiff import GradientCost, measure_gradient_cost


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
        theta, inputs, targets = autodiff._cost_model_data(50, seed=1)
        tape = autodiff._cost_model_tape_gradient(theta, inputs, targets).numpy()
        eps = tf.constant(1e-2)
        base = autodiff._cost_model_loss(theta, inputs, targets)
        for i in (0, 17, 49):  # 49 is the bias
            central = autodiff._cost_model_central_difference(theta, inputs, targets, i, eps)
            forward = autodiff._cost_model_forward_difference(theta, inputs, targets, i, eps, base)
            np.testing.assert_allclose(float(central), tape[i], atol=1e-3)
            np.testing.assert_allclose(float(forward), tape[i], atol=0.1)

    def test_is_a_gradient_cost(self):
        assert isinstance(measure_gradient_cost(3, repeats=1), GradientCost)
