"""The shared argument checks (``helpers.validation``): one behaviour, one wording.

Bools are refused (``True`` is an ``int`` to Python, never a count a learner meant), NumPy
scalars accepted (what indexing an array gives), and every error names the argument and what is
allowed. The shared code that takes counts, seeds, fractions and choices uses them.
"""

from helpers.data import load_digits_data, load_regression_data
from helpers.timing import median_seconds
from helpers.validation import (
    require_choice,
    require_fraction,
    require_int_in_range,
    require_log_in_range,
    require_number_in_range,
    require_seed,
)
from helpers.widgets.base import check_choice

import numpy as np
import pytest


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_integers_numpy_ones_included_are_accepted_as_int(value):
    accepted = require_int_in_range("units", value, 1)
    assert accepted == 3 and type(accepted) is int


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (True, 1, None, "units must be an integer >= 1, got True"),
        (np.bool_(True), 1, None, "units must be an integer >= 1, got"),
        (3.0, 1, None, "units must be an integer >= 1, got 3.0"),
        ("3", 1, None, "units must be an integer >= 1, got '3'"),
        (0, 1, None, "units must be an integer >= 1, got 0"),
        (10**7, 1, 10**6, "units must be an integer from 1 to 1,000,000, got 10000000"),
    ],
)
def test_bools_floats_text_and_out_of_range_integers_are_refused(value, low, high, message):
    with pytest.raises(ValueError) as raised:
        require_int_in_range("units", value, low, high)
    assert str(raised.value).startswith(message)


def test_a_seed_is_an_integer_from_zero():
    assert require_seed(np.int64(0)) == 0
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="seed must be an integer >= 0"):
            require_seed(bad)


@pytest.mark.parametrize("value", [0.5, np.float32(0.5), np.float64(0.5), 1, np.int64(1)])
def test_numbers_numpy_ones_included_are_accepted_as_float(value):
    accepted = require_number_in_range("rate", value, 0, 2)
    assert accepted == float(value) and type(accepted) is float


@pytest.mark.parametrize(
    ("value", "bounds", "message"),
    [
        (True, {"low": 0}, "rate must be a number >= 0, got True"),
        (float("nan"), {"low": 0}, "rate must be a number >= 0, got nan"),
        (float("inf"), {}, "rate must be a finite number, got inf"),
        (0.0, {"low": 0, "low_open": True}, "rate must be a number > 0, got 0.0"),
        (2.0, {"high": 1}, "rate must be a number <= 1, got 2.0"),
        ("0.5", {"low": 0, "high": 1}, "rate must be a number in [0, 1], got '0.5'"),
    ],
)
def test_bools_nan_inf_text_and_out_of_range_numbers_are_refused(value, bounds, message):
    with pytest.raises(ValueError) as raised:
        require_number_in_range("rate", value, **bounds)
    assert str(raised.value) == message


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1, 1.5, True])
def test_a_fraction_excludes_both_ends(value):
    with pytest.raises(ValueError, match=r"valid_size must be a number in \(0, 1\)"):
        require_fraction("valid_size", value)


def test_a_log_slider_value_is_bounded_by_powers_of_ten():
    assert require_log_in_range("eps", 1e-12, -12, -1) == 1e-12
    assert require_log_in_range("eps", np.float32(1e-3), -12, -1) == pytest.approx(1e-3)
    for bad in (1e-13, 0.5, 0.0, True):
        with pytest.raises(ValueError, match=r"eps must be a number in \[1e-12, 0.1\]"):
            require_log_in_range("eps", bad, -12, -1)


def test_a_choice_is_one_of_the_allowed_and_a_bool_is_not_a_number():
    assert require_choice("batch_size", np.int64(32), (16, 32)) == 32
    assert require_choice("training", False, (True, False)) is False
    for bad in (True, 64):
        with pytest.raises(ValueError, match="batch_size must be one of 1, 32"):
            require_choice("batch_size", bad, (1, 32))
    with pytest.raises(ValueError, match="dtype must be one of float32, float64, got 'f16'"):
        check_choice("dtype", "f16", ("float32", "float64"))  # the widgets' name for it


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: load_regression_data(seed=True), "seed"),
        (lambda: load_regression_data(seed=-1), "seed"),
        (lambda: load_regression_data(test_size=True), "test_size"),
        (lambda: load_digits_data(valid_size=0.0), "valid_size"),
        (lambda: load_digits_data(seed=1.5), "seed"),
        (lambda: median_seconds(lambda: None, repeats=0), "repeats"),
        (lambda: median_seconds(lambda: None, repeats=True), "repeats"),
        (lambda: median_seconds(None, repeats=3), "run"),
    ],
)
def test_the_shared_modules_use_the_shared_checks(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_numpy_arguments_work_in_the_shared_modules():
    data = load_regression_data(seed=np.int64(42), valid_size=np.float32(0.25))
    assert len(data.X_train) > 0
    assert median_seconds(lambda: None, repeats=np.int64(3)) >= 0


# The classes the lessons write out in `# @save` cells keep short inline checks of their own;
# they behave as helpers.validation does: a bool is refused, a NumPy number accepted.
def _lesson_classes():
    from helpers import lesson01_layers as l01
    from helpers import lesson02_models as l02
    from helpers import lesson03_losses as l03
    from helpers import lesson06_gradients as l06

    return {
        "MyDense(units)": (lambda v: l01.MyDense(v), np.int64(3)),
        "MyGaussianNoise(stddev)": (lambda v: l01.MyGaussianNoise(v), np.float64(0.1)),
        "MyLayerNormalization(eps)": (lambda v: l01.MyLayerNormalization(eps=v), np.float32(1e-3)),
        "MyDropout(rate)": (lambda v: l01.MyDropout(v), np.float64(0.2)),
        "ResidualBlock(n_layers)": (lambda v: l02.ResidualBlock(v, 4), np.int64(2)),
        "ResidualRegressor(output_dim)": (lambda v: l02.ResidualRegressor(v), np.int32(1)),
        "ReconstructingRegressor(weight)": (
            lambda v: l03.ReconstructingRegressor(1, reconstruction_weight=v),
            np.float64(0.05),
        ),
        "ActivityPenalty(rate)": (lambda v: l03.ActivityPenalty(v), np.float64(0.01)),
        "MySoftplusDense(units)": (lambda v: l06.MySoftplusDense(v), np.int64(3)),
    }


@pytest.mark.parametrize("name", list(_lesson_classes()))
def test_lesson_classes_refuse_bools_and_take_numpy_numbers(name):
    make, numpy_value = _lesson_classes()[name]
    with pytest.raises(ValueError, match="got True"):
        make(True)
    with pytest.raises(ValueError, match="got '1'"):
        make("1")
    make(numpy_value)  # accepted
