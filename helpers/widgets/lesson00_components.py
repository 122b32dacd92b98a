"""Lesson 00's widgets: the Huber loss against MSE and MAE, and why metrics must stream.

Each widget is a small class whose methods name its parts; ``make_..._widget`` validates, builds
and wires it. Every number comes from NumPy helpers in ``helpers.lesson00_components`` (tested
against Keras there), so a control answers in milliseconds, with no model to run.
"""

from __future__ import annotations

from helpers.validation import require_int_in_range, require_number_in_range
from helpers.widgets.base import (
    FigurePanel,
    LessonWidget,
    check_choice,
    lesson_widget_builder,
    message_html,
)

import html

import ipywidgets as widgets

# NumPy is loaded anyway by matplotlib, which helpers.widgets.base imports.
import numpy as np

THRESHOLD_RANGE = (0.2, 3.0)
OUTLIER_SIZE_RANGE = (-6.0, 12.0)
PRECISION_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 200)
POSITIVE_FRACTION_RANGE = (0.05, 0.95)
LOSS_COLOURS = {"mse": "C0", "mae": "C2", "huber": "C3"}


def _check_range(name: str, value, bounds) -> None:
    """A slider's value, checked as the readout words it: "threshold must be between ..."."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")


class _LossExplorerView:
    """Two sliders; loss and gradient curves; the points and the three fitted lines."""

    def __init__(self, threshold: float, outlier_size: float):
        from helpers import lesson00_components as components

        self.components = components
        self.errors = np.linspace(-4.0, 4.0, 161)
        self.threshold_slider = widgets.FloatSlider(
            value=threshold, min=THRESHOLD_RANGE[0], max=THRESHOLD_RANGE[1], step=0.1,
            description="threshold", readout_format=".1f", continuous_update=True,
        )  # fmt: skip
        self.outlier_slider = widgets.FloatSlider(
            value=outlier_size, min=OUTLIER_SIZE_RANGE[0], max=OUTLIER_SIZE_RANGE[1], step=0.5,
            description="outlier", readout_format=".1f", continuous_update=True,
        )  # fmt: skip
        self.slopes_readout, self.message_readout = widgets.HTML(), widgets.HTML()
        self._build_plot()

    def _build_plot(self) -> None:
        self.panel = FigurePanel(width=10.5, height=3.3, ncols=3)
        loss_axes, gradient_axes, fit_axes = self.panel.axes
        self.huber_lines = {}
        for name in self.components.LINE_LOSSES:
            colour, animated = LOSS_COLOURS[name], name == "huber"
            values = self.components.line_loss(self.errors, name)
            slopes = self.components.line_loss_gradient(self.errors, name)
            (loss_line,) = loss_axes.plot(
                self.errors, values, color=colour, label=name.upper(), animated=animated
            )
            (gradient_line,) = gradient_axes.plot(
                self.errors, slopes, color=colour, animated=animated
            )
            if animated:
                self.huber_lines = {"loss": loss_line, "gradient": gradient_line}
        loss_axes.set(xlabel="error y - prediction", ylabel="loss", ylim=(0, 8))
        loss_axes.legend(loc="upper center", fontsize="small")
        gradient_axes.set(xlabel="error y - prediction", ylabel="d loss / d error", ylim=(-4, 4))
        x = np.linspace(0.0, 4.0, 20)
        fit_axes.plot([0, 4], [1.0, 3.0], color="0.7", linestyle=":", label="true line")
        (self.points,) = fit_axes.plot([], [], "o", color="k", ms=3, animated=True)
        (self.outlier,) = fit_axes.plot([], [], "o", color="C1", ms=7, animated=True)
        self.fit_lines = {}
        for name in self.components.LINE_LOSSES:
            (self.fit_lines[name],) = fit_axes.plot(
                [], [], color=LOSS_COLOURS[name], animated=True, label=f"fit with {name.upper()}"
            )
        fit_axes.set(xlabel="x", ylabel="y", xlim=(-0.2, 4.2), ylim=(-6.0, 16.0))
        fit_axes.legend(loc="upper left", fontsize="x-small")
        self.x = x
        for axes in self.panel.axes:
            axes.grid(True, alpha=0.3)

    def update(self) -> None:
        threshold, size = self.threshold_slider.value, self.outlier_slider.value
        try:
            _check_range("threshold", threshold, THRESHOLD_RANGE)
            _check_range("outlier size", size, OUTLIER_SIZE_RANGE)
        except ValueError as error:
            self.message_readout.value = message_html(str(error), "error")
            return
        self.message_readout.value = ""
        components = self.components
        self.huber_lines["loss"].set_ydata(components.line_loss(self.errors, "huber", threshold))
        self.huber_lines["gradient"].set_ydata(
            components.line_loss_gradient(self.errors, "huber", threshold)
        )
        data = components.make_line_with_outlier(size)
        self.points.set_data(data.x[:-1], data.y[:-1])
        self.outlier.set_data(data.x[-1:], data.y[-1:])
        fits = {
            name: components.fit_line(data.x, data.y, name, threshold) for name in self.fit_lines
        }
        for name, (slope, intercept) in fits.items():
            self.fit_lines[name].set_data([0.0, 4.0], [intercept, intercept + 4.0 * slope])
        self.panel.redraw()
        self.slopes_readout.value = self.slopes_html(fits, data.true_slope)

    def slopes_html(self, fits, true_slope: float) -> str:
        rows = "".join(
            f"<tr><td>{name.upper()}</td><td><code>{slope:.3f}</code></td>"
            f"<td><code>{slope - true_slope:+.3f}</code></td></tr>"
            for name, (slope, _) in fits.items()
        )
        title = (
            f"slope of the fitted line (true slope {true_slope:g}), threshold = "
            f"{self.threshold_slider.value:.1f}, outlier moved by {self.outlier_slider.value:+.1f}"
        )
        header = "<tr><th>loss</th><th>slope</th><th>pulled by</th></tr>"
        return f"<b>{html.escape(title)}</b><table>{header}{rows}</table>"

    def lesson_widget(self) -> LessonWidget:
        controls = widgets.HBox([self.threshold_slider, self.outlier_slider])
        box = widgets.VBox([controls, self.panel.image, self.slopes_readout, self.message_readout])
        return LessonWidget(
            box,
            controls={"threshold": self.threshold_slider, "outlier_size": self.outlier_slider},
            readouts={
                "plot": self.panel.image,
                "slopes": self.slopes_readout,
                "message": self.message_readout,
            },
        )


@lesson_widget_builder
def make_loss_explorer_widget(threshold: float = 1.0, outlier_size: float = 8.0) -> LessonWidget:
    """The Huber threshold and the size of one outlier, against MSE, MAE and Huber.

    Controls: ``threshold`` (the Huber loss's) and ``outlier_size`` (how far the last of 20
    points on ``y = 1 + 0.5 x`` is moved). Readouts: the ``plot`` (each loss and its gradient
    against the error; the points and the line each loss fits), ``slopes`` (each fitted slope
    and how far the outlier pulled it) and ``message``.

    Args:
        threshold: the slider's starting value, within ``THRESHOLD_RANGE``.
        outlier_size: the slider's starting value, within ``OUTLIER_SIZE_RANGE``.
    """
    require_number_in_range("threshold", threshold, *THRESHOLD_RANGE)
    require_number_in_range("outlier_size", outlier_size, *OUTLIER_SIZE_RANGE)
    view = _LossExplorerView(threshold, outlier_size)
    for control in (view.threshold_slider, view.outlier_slider):
        control.observe(lambda change: view.update(), names="value")
    view.update()
    return view.lesson_widget()


class _StreamingPrecisionView:
    """Batch size and class balance; each batch's precision against the streamed one."""

    def __init__(self, batch_size: int, positive_fraction: float, n_samples: int):
        from helpers import lesson00_components as components

        self.components, self.n_samples = components, n_samples
        self.batch_slider = widgets.SelectionSlider(
            options=PRECISION_BATCH_SIZES, value=batch_size, description="batch size"
        )
        self.fraction_slider = widgets.FloatSlider(
            value=positive_fraction, min=POSITIVE_FRACTION_RANGE[0],
            max=POSITIVE_FRACTION_RANGE[1], step=0.05, description="positives",
            readout_format=".2f",
        )  # fmt: skip
        self.precision_readout = widgets.HTML()
        self._build_plot()

    def _build_plot(self) -> None:
        self.panel = FigurePanel(width=7.0, height=3.0)
        axes = self.panel.axes
        (self.batch_points,) = axes.plot(
            [], [], "o", color="C0", ms=3, alpha=0.6, animated=True, label="precision of a batch"
        )
        (self.mean_line,) = axes.plot(
            [], [], color="C1", lw=2, animated=True, label="mean of the batch precisions"
        )
        (self.stream_line,) = axes.plot(
            [], [], color="k", lw=2, linestyle="--", animated=True,
            label="streaming precision = precision of all the data",
        )  # fmt: skip
        axes.set(
            xlabel="index of the batch's first sample",
            ylabel="precision",
            xlim=(-2, self.n_samples + 2),
            ylim=(-0.05, 1.4),
        )
        axes.legend(loc="upper center", fontsize="x-small", ncols=2)
        axes.grid(True, alpha=0.3)

    def update(self) -> None:
        components = self.components
        batch_size, fraction = self.batch_slider.value, self.fraction_slider.value
        y_true, y_pred = components.make_classifier_outputs(fraction, self.n_samples)
        per_batch = components.batch_precisions(y_true, y_pred, batch_size)
        streamed = components.streaming_precision(y_true, y_pred, batch_size)
        whole = components.precision(y_true, y_pred)
        n_batches = len(per_batch)
        self.batch_points.set_data(np.arange(n_batches) * batch_size, per_batch)
        self.mean_line.set_data([0, self.n_samples], [per_batch.mean()] * 2)
        self.stream_line.set_data([0, self.n_samples], [streamed] * 2)
        self.panel.redraw()
        rows = [
            ("mean of the per-batch precisions", per_batch.mean()),
            ("streaming precision (running counts)", streamed),
            ("precision over all the data", whole),
        ]
        empty = int(
            sum(not y_pred[s : s + batch_size].any() for s in range(0, len(y_pred), batch_size))
        )
        body = "".join(
            f"<tr><td>{html.escape(label)}</td><td><code>{value:.3f}</code></td></tr>"
            for label, value in rows
        )
        last = self.n_samples - (n_batches - 1) * batch_size
        batches = f"{n_batches} batches of {batch_size}" if n_batches > 1 else f"1 batch of {last}"
        if last != batch_size:  # say so, or "13 batches of 16" would not add up to 200
            batches += f" (the last of {last})"
        title = (
            f"{self.n_samples} samples, {int(y_true.sum())} positive; {batches}, "
            f"{empty} without any predicted positive (precision 0)"
        )
        self.precision_readout.value = f"<b>{html.escape(title)}</b><table>{body}</table>"

    def lesson_widget(self) -> LessonWidget:
        controls = widgets.HBox([self.batch_slider, self.fraction_slider])
        box = widgets.VBox([controls, self.panel.image, self.precision_readout])
        return LessonWidget(
            box,
            controls={"batch_size": self.batch_slider, "positive_fraction": self.fraction_slider},
            readouts={"plot": self.panel.image, "precisions": self.precision_readout},
        )


@lesson_widget_builder
def make_streaming_metric_widget(
    batch_size: int = 8, positive_fraction: float = 0.2, n_samples: int = 200
) -> LessonWidget:
    """Batch size and class balance against three precisions of one classifier's outputs.

    Controls: ``batch_size`` and ``positive_fraction`` (the share of positive labels). Readouts:
    the ``plot`` (each batch's precision, their mean, the streamed precision) and ``precisions``
    (the mean of the per-batch precisions, the streaming precision and the precision over all
    the data: the last two are always equal, the first is not).

    Args:
        batch_size: the slider's starting value, one of ``PRECISION_BATCH_SIZES``.
        positive_fraction: the slider's starting value, within ``POSITIVE_FRACTION_RANGE``.
        n_samples: how many labels and predictions, an integer >= 1.
    """
    check_choice("batch_size", batch_size, PRECISION_BATCH_SIZES)
    require_number_in_range("positive_fraction", positive_fraction, *POSITIVE_FRACTION_RANGE)
    n_samples = require_int_in_range("n_samples", n_samples, 1)
    view = _StreamingPrecisionView(batch_size, positive_fraction, n_samples)
    for control in (view.batch_slider, view.fraction_slider):
        control.observe(lambda change: view.update(), names="value")
    view.update()
    return view.lesson_widget()
