"""Lesson 04's widgets, driven without a browser: move a control, read what the learner sees."""

from helpers import lesson04_autodiff as autodiff
from helpers.lesson04_gradient_cost import GradientCost
from helpers.widgets import make_gradient_cost_widget, make_gradient_explorer_widget

import re
import statistics
import time

import numpy as np
import pytest


def codes(readout):
    """The values in a readout table, in order (each is in a <code> element)."""
    return re.findall(r"<code>(.*?)</code>", readout.value)


def helper_values(explorer, name):
    """What the helpers compute for the explorer's current settings (str() of each value)."""
    controls = explorer.controls
    example = autodiff.EXAMPLE_FUNCTIONS[controls["function"].value]
    point = [controls[f"param{i + 1}"].value for i in range(len(example.parameter_names))]
    dtype, scheme = controls["dtype"].value, controls["scheme"].value
    if name == "tape":
        return [str(value) for value in autodiff.tape_gradient(example.f, point, dtype)]
    result = autodiff.finite_difference_gradient(
        example.f, point, controls["eps"].value, scheme, dtype
    )
    return [str(value) for value in result.gradient], result.calls


@pytest.fixture(scope="module")
def explorer():
    return make_gradient_explorer_widget()


@pytest.fixture(autouse=True)
def back_to_the_start(explorer):
    yield
    controls = explorer.controls
    controls["function"].value = "book"
    controls["eps"].value, controls["scheme"].value, controls["dtype"].value = (
        1e-6,
        "forward",
        "float64",
    )
    controls["param1"].value, controls["param2"].value = 5.0, 3.0
    controls["parameter"].value = 0


class TestGradientExplorer:
    def test_starts_on_the_books_numbers(self, explorer):
        assert codes(explorer.readouts["finite_difference"]) == [
            "36.000003007075065",
            "10.000000003174137",
        ]
        assert codes(explorer.readouts["tape"]) == ["36.0", "10.0"]
        assert "3 calls of f" in explorer.readouts["finite_difference"].value
        assert explorer.readouts["message"].value == ""

    def test_float32_shows_the_books_38_and_7_6(self, explorer):
        explorer.controls["dtype"].value = "float32"
        assert codes(explorer.readouts["finite_difference"]) == ["38.146973", "7.6293945"]
        assert codes(explorer.readouts["tape"]) == ["36.0", "10.0"]

    def test_moving_eps_changes_the_readouts_as_the_helper_says(self, explorer):
        before = {name: explorer.readouts[name].value for name in ("finite_difference", "error")}
        plot_before = bytes(explorer.readouts["plot"].value)
        explorer.controls["eps"].value = 10**-3.5
        for name, value in before.items():
            assert explorer.readouts[name].value != value
        assert bytes(explorer.readouts["plot"].value) != plot_before
        values, calls = helper_values(explorer, "finite_difference")
        assert codes(explorer.readouts["finite_difference"]) == values
        assert f"{calls} calls of f" in explorer.readouts["finite_difference"].value

    def test_the_error_readout_is_the_difference_of_the_two(self, explorer):
        explorer.controls["eps"].value = 1e-4
        estimates, _ = helper_values(explorer, "finite_difference")
        exact = helper_values(explorer, "tape")
        errors = codes(explorer.readouts["error"])
        for estimate, tape, shown in zip(estimates, exact, errors, strict=True):
            absolute = abs(float(estimate) - float(tape))
            assert shown == f"abs {absolute:.1e}, rel {absolute / abs(float(tape)):.1e}"

    def test_central_differences_cost_four_calls(self, explorer):
        explorer.controls["scheme"].value = "central"
        assert "4 calls of f" in explorer.readouts["finite_difference"].value
        values, _ = helper_values(explorer, "finite_difference")
        assert codes(explorer.readouts["finite_difference"]) == values

    def test_moving_the_point_recomputes_everything(self, explorer):
        explorer.controls["param1"].value = 2.0
        assert codes(explorer.readouts["tape"]) == ["18.0", "4.0"]  # (6·2 + 2·3, 2·2)
        values, _ = helper_values(explorer, "finite_difference")
        assert codes(explorer.readouts["finite_difference"]) == values

    def test_the_tiny_network_shows_four_parameters(self, explorer):
        explorer.controls["function"].value = "tiny_network"
        sliders = [explorer.controls[f"param{i}"] for i in range(1, 5)]
        assert [slider.description for slider in sliders] == ["w", "b", "v", "c"]
        assert all(slider.layout.display != "none" for slider in sliders)
        assert len(explorer.controls["parameter"].options) == 4
        assert "5 calls of f" in explorer.readouts["finite_difference"].value
        explorer.controls["param3"].value = -0.5
        assert codes(explorer.readouts["tape"]) == helper_values(explorer, "tape")
        values, _ = helper_values(explorer, "finite_difference")
        assert codes(explorer.readouts["finite_difference"]) == values

    def test_two_parameter_functions_hide_the_other_sliders(self, explorer):
        explorer.controls["function"].value = "sine_exp"
        assert explorer.controls["param3"].layout.display == "none"
        assert explorer.controls["param1"].value == 1.0

    def test_the_best_eps_readout_follows_the_theory(self, explorer):
        value, _, second = autodiff.derivatives_along(autodiff.book_function, [5.0, 3.0], 0, 2)
        best = autodiff.theoretical_best_eps("forward", "float64", value=value, derivative=second)
        assert f"{best:.1e}" in explorer.readouts["best_eps"].value
        explorer.controls["parameter"].value = 1  # f is linear in w2
        assert "No truncation error" in explorer.readouts["best_eps"].value

    def test_an_eps_move_answers_fast(self, explorer):
        timings = []
        for exponent in np.arange(-9.0, -3.0, 0.25):
            start = time.perf_counter()
            explorer.controls["eps"].value = 10**exponent
            timings.append(time.perf_counter() - start)
        assert statistics.median(timings) < 0.05, timings

    def test_a_failing_update_shows_a_message_not_a_traceback(self, explorer, monkeypatch):
        def refuse(*args, **kwargs):
            raise ValueError("eps=1e-50 is not representable in float32")

        monkeypatch.setattr(autodiff, "finite_difference_gradient", refuse)
        explorer.controls["eps"].value = 1e-5  # must not raise
        assert "not representable" in explorer.readouts["message"].value
        assert "#cf222e" in explorer.readouts["message"].value  # shown as an error
        monkeypatch.undo()
        explorer.controls["eps"].value = 1e-6
        assert explorer.readouts["message"].value == ""

    def test_the_eps_control_is_a_log_slider(self, explorer):
        slider = explorer.controls["eps"]
        assert type(slider).__name__ == "FloatLogSlider"
        assert (slider.min, slider.max) == (-12, 0)

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("function", "cubic"),
            ("eps", 0.0),
            ("eps", 10.0),
            ("scheme", "backward"),
            ("dtype", "float16"),
        ],
    )
    def test_bad_arguments_are_named(self, argument, value):
        with pytest.raises(ValueError, match=argument):
            make_gradient_explorer_widget(**{argument: value})


def fake_cost(n, seconds_per_call=1e-3):
    """A made-up measurement: the widget's logic is tested without timing anything."""
    sampled = min(n, 10)
    return GradientCost(
        n_params=n,
        forward_seconds=seconds_per_call,
        tape_seconds=2 * seconds_per_call,
        forward_difference_seconds=(n + 1) * seconds_per_call,
        central_difference_seconds=2 * n * seconds_per_call,
        forward_difference_calls=n + 1,
        central_difference_calls=2 * n,
        sampled_coordinates=sampled,
    )


class TestGradientCostWidget:
    def test_moving_n_moves_the_readout_and_the_markers(self):
        cost_widget = make_gradient_cost_widget(costs=[fake_cost(n) for n in (10, 1000, 100_000)])
        slider = cost_widget.controls["n_params"]
        assert [value for _, value in slider.options] == [10, 1000, 100_000]
        first, plot = cost_widget.readouts["cost"].value, bytes(cost_widget.readouts["plot"].value)
        assert "11 calls of f" in first and "20 calls of f" in first
        assert "every coordinate" in first
        slider.value = 100_000
        readout = cost_widget.readouts["cost"].value
        assert readout != first and bytes(cost_widget.readouts["plot"].value) != plot
        assert "100,001 calls of f" in readout and "200,000 calls of f" in readout
        assert "timed on 10 of the 100,000 coordinates" in readout
        assert "1e+05 × one forward pass" in readout  # forward differences, 100,001 / 1
        assert "2 × one forward pass" in readout  # the tape

    def test_measures_when_given_sizes(self):
        cost_widget = make_gradient_cost_widget((10, 100), max_coordinates=5, repeats=1)
        slider = cost_widget.controls["n_params"]
        assert [value for _, value in slider.options] == [10, 100]
        slider.value = 100
        assert "timed on 5 of the 100 coordinates" in cost_widget.readouts["cost"].value

    @pytest.mark.parametrize("costs", [[], ["not a cost"]])
    def test_refuses_what_is_not_a_measurement(self, costs):
        with pytest.raises(ValueError, match="costs must be"):
            make_gradient_cost_widget(costs=costs)

    def test_refuses_no_sizes(self):
        with pytest.raises(ValueError, match="n_values"):
            make_gradient_cost_widget(())
