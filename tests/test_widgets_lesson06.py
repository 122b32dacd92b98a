"""Lesson 06's widgets, driven without a browser: move a control, read what the learner sees."""

from helpers import lesson06_gradients as gradients
from helpers.widgets import (
    CHECK_LAYERS,
    SOFTPLUS_Z_VALUES,
    lesson06_gradients,
    make_gradient_check_widget,
    make_softplus_widget,
)

import html
import re
import statistics
import time

import pytest

# Timing asserts are generous: these tests share the machine with others. The budgets (50 ms
# median per control, 200 ms for a new layer) are measured by ``python -m benchmarks.run``.
MEDIAN_SECONDS, NEW_LAYER_SECONDS = 0.1, 0.6


def rows(table_html):
    """``[(version, value, gradient), ...]`` as the softplus table shows them."""
    found = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table_html)
    strip = lambda cell: html.unescape(re.sub(r"<[^>]+>", "", cell))  # noqa: E731
    return [(strip(a), strip(b), strip(c)) for a, b, c in found]


def red(cell_html_fragment, table_html):
    return f'<b style="color:#cf222e">{cell_html_fragment}</b>' in table_html


@pytest.fixture(scope="module")
def softplus():
    return make_softplus_widget()


@pytest.fixture(scope="module")
def checker():
    return make_gradient_check_widget()


class TestSoftplusWidget:
    def test_starts_at_100_in_float32_with_the_books_nan(self, softplus):
        table = softplus.readouts["table"].value
        assert rows(table) == [
            ("naive: log(exp(z) + 1)", "inf", "nan"),
            ("stable forward pass, autodiff's gradient", "100", "1"),
            ("my_better_softplus (custom gradient)", "100", "1"),
        ]
        assert red("nan", table) and red("inf", table)

    def test_the_readouts_are_the_helpers_values(self, softplus):
        softplus.controls["z"].value = -20.0
        shown = rows(softplus.readouts["table"].value)
        functions = [gradients.my_softplus, gradients.stable_softplus, gradients.my_better_softplus]
        for (_, value, gradient), function in zip(shown, functions, strict=True):
            expected = gradients.value_and_gradient(function, -20.0, "float32")
            assert (value, gradient) == tuple(f"{number:.8g}" for number in expected)
        softplus.controls["z"].value = 100.0

    def test_z_0_shows_the_stable_versions_wrong_gradient(self, softplus):
        softplus.controls["z"].value = 0.0
        (_, _, naive), (_, _, stable), (_, _, custom) = rows(softplus.readouts["table"].value)
        assert (naive, stable, custom) == ("0.5", "0", "0.5")
        assert "true gradient (sigmoid): <code>0.5</code>" in softplus.readouts["table"].value
        softplus.controls["z"].value = 100.0

    def test_the_true_gradient_is_shown_at_both_ends(self, softplus):
        for z, shown in [(-1000.0, "0"), (-709.0, "1.2"), (1000.0, "1")]:
            softplus.controls["z"].value = z
            assert f"true gradient (sigmoid): <code>{shown}" in softplus.readouts["table"].value
        softplus.controls["z"].value = 100.0

    def test_float64_moves_the_overflow_to_710(self, softplus):
        softplus.controls["dtype"].value = "float64"
        assert rows(softplus.readouts["table"].value)[0][1:] == ("100", "1")
        softplus.controls["z"].value = 710.0
        assert rows(softplus.readouts["table"].value)[0][1:] == ("inf", "nan")
        softplus.controls["z"].value, softplus.controls["dtype"].value = 100.0, "float32"

    def test_the_plot_follows_z_and_dtype(self, softplus):
        before = bytes(softplus.readouts["plot"].value)
        softplus.controls["z"].value = -5.0
        moved = bytes(softplus.readouts["plot"].value)
        softplus.controls["dtype"].value = "float64"
        assert len({before, moved, bytes(softplus.readouts["plot"].value)}) == 3
        softplus.controls["z"].value, softplus.controls["dtype"].value = 100.0, "float32"

    def test_the_slider_spans_minus_to_plus_1000(self, softplus):
        values = [value for _, value in softplus.controls["z"].options]
        assert values == list(SOFTPLUS_Z_VALUES) and (values[0], values[-1]) == (-1000, 1000)
        assert {0.0, 88.0, 89.0, 709.0, 710.0} <= set(values)

    def test_a_z_move_answers_fast(self, softplus):
        timings = []
        for z in SOFTPLUS_Z_VALUES:
            start = time.perf_counter()
            softplus.controls["z"].value = z
            timings.append(time.perf_counter() - start)
        assert statistics.median(timings) < MEDIAN_SECONDS, timings
        softplus.controls["z"].value = 100.0

    @pytest.mark.parametrize(("argument", "value"), [("z", 3.3), ("dtype", "float16")])
    def test_bad_arguments_are_named(self, argument, value):
        with pytest.raises(ValueError, match=argument):
            make_softplus_widget(**{argument: value})


def summary(checker):
    return checker.readouts["summary"].value


def independent_check(layer, dtype, eps):
    """The same check, run by gradient_check itself on the widget's layer (not its cache)."""
    checked = lesson06_gradients._checked_layer(layer, dtype)
    return gradients.gradient_check(
        lambda *w: checked.layer(checked.inputs), checked.weights, eps=eps
    )


class TestGradientCheckWidget:
    @pytest.fixture(autouse=True)
    def back_to_the_start(self, checker):
        yield
        controls = checker.controls
        controls["layer"].value, controls["dtype"].value = "MyDense", "float64"
        controls["eps"].value = 1e-6

    def test_starts_on_a_passing_mydense_in_float64(self, checker):
        assert "passed" in summary(checker) and "float64, eps=1e-06" in summary(checker)

    @pytest.mark.parametrize("layer", list(CHECK_LAYERS))
    def test_each_layer_shows_what_gradient_check_finds(self, checker, layer):
        checker.controls["layer"].value = layer
        report = independent_check(layer, "float64", 1e-6)
        assert report.passed is ("broken" not in layer)
        assert report.verdict in summary(checker)
        shown = float(re.search(r"max relative error ([-+.e0-9]+)", summary(checker)).group(1))
        if report.max_rel_error > 1e-3:  # a real error: the same number
            assert shown == pytest.approx(report.max_rel_error, rel=0.01)
        else:  # rounding, whose last digits vary from call to call (threaded reductions)
            assert shown < 1e-6

    def test_the_broken_layer_fails_and_names_its_worst_entry(self, checker):
        checker.controls["layer"].value = "MySoftplusDense (broken)"
        assert "FAILED" in summary(checker) and "#cf222e" in summary(checker)
        assert "worst entry: <code>∂ output[" in summary(checker)

    def test_float32_fails_a_correct_layer_at_1e_6_and_passes_near_the_best_eps(self, checker):
        checker.controls["dtype"].value = "float32"
        assert "FAILED" in summary(checker)
        checker.controls["eps"].value = 10**-2.5
        assert "passed" in summary(checker)

    def test_the_heatmap_changes_with_layer_dtype_and_eps(self, checker):
        seen = {bytes(checker.readouts["plot"].value)}
        checker.controls["eps"].value = 1e-3
        seen.add(bytes(checker.readouts["plot"].value))
        checker.controls["dtype"].value = "float32"
        seen.add(bytes(checker.readouts["plot"].value))
        checker.controls["layer"].value = "ResidualBlock"
        seen.add(bytes(checker.readouts["plot"].value))
        assert len(seen) == 4

    def test_controls_answer_fast(self, checker):
        start = time.perf_counter()
        checker.controls["layer"].value = "MyLayerNormalization"
        assert time.perf_counter() - start < NEW_LAYER_SECONDS
        timings = []
        for exponent in [-11, -9.5, -8, -6.5, -5, -3.5, -2, -1.5, -4.5]:
            start = time.perf_counter()
            checker.controls["eps"].value = 10.0**exponent
            timings.append(time.perf_counter() - start)
        assert statistics.median(timings) < MEDIAN_SECONDS, timings

    def test_a_failing_check_shows_a_message_not_a_traceback(self, checker, monkeypatch):
        def refuse(*args):
            raise RuntimeError("the layer could not be built")

        monkeypatch.setattr(lesson06_gradients, "_check_report", refuse)
        checker.controls["eps"].value = 1e-4  # must not raise
        assert "could not be built" in summary(checker) and "#cf222e" in summary(checker)
        monkeypatch.undo()
        checker.controls["eps"].value = 1e-6
        assert "passed" in summary(checker)

    def test_the_eps_control_is_a_log_slider(self, checker):
        slider = checker.controls["eps"]
        assert type(slider).__name__ == "FloatLogSlider" and (slider.min, slider.max) == (-12, -1)

    @pytest.mark.parametrize(
        ("argument", "value"),
        [("layer", "Dense"), ("dtype", "float16"), ("eps", 0.0), ("eps", 1.0), ("eps", "1e-6")],
    )
    def test_bad_arguments_are_named(self, argument, value):
        with pytest.raises(ValueError, match=argument):
            make_gradient_check_widget(**{argument: value})
