"""Unit tests of the shared helpers every lesson stands on: data, self-checks, widget plumbing."""

from helpers.checks import CheckReport
from helpers.data import load_regression_data
from helpers.widgets import FigurePanel, LessonWidget, message_html

import ipywidgets as widgets
import numpy as np
import pytest


class TestRegressionData:
    def test_shapes_and_dtype(self):
        data = load_regression_data()
        assert data.X_train.shape == (282, 10) and data.y_train.shape == (282, 1)
        assert data.X_valid.shape == (71, 10) and data.y_valid.shape == (71, 1)
        assert data.X_test.shape == (89, 10) and data.y_test.shape == (89, 1)
        assert all(array.dtype == np.float32 for array in data)

    def test_standardized_with_training_statistics(self):
        data = load_regression_data()
        np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(data.X_train.std(axis=0), 1.0, atol=1e-5)
        np.testing.assert_allclose(data.y_train.mean(), 0.0, atol=1e-5)
        # The other splits use the training statistics, so they are only roughly standard.
        assert abs(float(data.X_test.mean())) < 0.3

    def test_same_seed_same_split_other_seed_other_split(self):
        first, again, other = (load_regression_data(seed=s) for s in (42, 42, 7))
        np.testing.assert_array_equal(first.X_train, again.X_train)
        assert not np.array_equal(first.X_train, other.X_train)

    @pytest.mark.parametrize("argument", ["test_size", "valid_size"])
    @pytest.mark.parametrize("value", [0.0, 1.0, -0.1, 1.5])
    def test_fractions_outside_0_1_are_refused(self, argument, value):
        with pytest.raises(ValueError, match=argument):
            load_regression_data(**{argument: value})


class TestCheckReport:
    def test_all_passing(self):
        report = CheckReport("Exercise")
        report.check("one is one", lambda: 1 == 1)
        report.check("two is two", lambda: (True, "unused"))
        assert report.passed
        assert str(report) == ("Exercise\n  ✓ one is one\n  ✓ two is two\nAll 2 checks passed.")

    def test_a_failure_shows_its_detail(self):
        report = CheckReport("Exercise")
        report.check("shape is (2, 3)", lambda: (False, "got (3, 2)"))
        assert not report.passed
        assert "✗ shape is (2, 3): got (3, 2)" in str(report)
        assert "1 of 1 checks failed" in str(report)

    def test_an_exception_in_learner_code_is_a_failed_line_not_a_traceback(self):
        report = CheckReport("Exercise")
        report.check("calls the layer", lambda: 1 / 0)
        assert not report.passed
        assert "ZeroDivisionError: division by zero" in str(report)
        assert "✗" in report._repr_html_()

    def test_an_empty_report_has_not_passed(self):
        assert not CheckReport("nothing checked").passed


class TestWidgetPlumbing:
    def test_handles_get_css_classes_for_the_browser(self):
        slider, readout = widgets.FloatSlider(), widgets.HTML()
        LessonWidget(widgets.VBox([slider, readout]), {"eps": slider}, {"value": readout})
        assert "control-eps" in slider._dom_classes
        assert "readout-value" in readout._dom_classes

    def test_figure_panel_redraws_only_what_changed(self):
        panel = FigurePanel(width=3, height=2, dpi=50)
        (line,) = panel.axes.plot([0, 1], [0, 1], animated=True)
        panel.axes.set_ylim(0, 2)
        panel.redraw()
        first = bytes(panel.image.value)
        assert first.startswith(b"\x89PNG")
        line.set_ydata([1, 2])
        panel.redraw()
        assert bytes(panel.image.value) != first
        line.set_ydata([0, 1])
        panel.redraw()
        assert bytes(panel.image.value) == first  # the background was restored, not drawn over

    def test_figure_panel_keeps_a_background_per_static_state(self):
        panel = FigurePanel(width=3, height=2, dpi=50)
        panel.axes.plot([0, 1], [0, 1], animated=True)
        panel.axes.set_ylim(0, 2)
        panel.redraw(full=True, background_key="narrow")
        narrow = bytes(panel.image.value)
        panel.axes.set_ylim(0, 20)
        panel.redraw(full=True, background_key="wide")
        assert bytes(panel.image.value) != narrow
        panel.axes.set_ylim(0, 2)
        panel.canvas.draw = None  # a cached background must not be drawn again
        panel.redraw(full=True, background_key="narrow")
        assert bytes(panel.image.value) == narrow

    def test_error_messages_are_escaped_and_coloured(self):
        text = message_html("stddev must be <= 1", "error")
        assert "&lt;=" in text and "#cf222e" in text


# ipywidgets 8 still accepts description_tooltip, with a DeprecationWarning: expected here.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tooltips_use_the_name_each_ipywidgets_syncs(monkeypatch):
    from helpers.widgets.base import set_tooltip

    slider = widgets.IntSlider()
    set_tooltip(slider, "how many layers")
    assert slider.tooltip == "how many layers"
    # Colab's ipywidgets 7 syncs only description_tooltip.
    monkeypatch.setattr(widgets, "__version__", "7.7.1")
    set_tooltip(slider, "on Colab")
    assert slider.description_tooltip == "on Colab"
