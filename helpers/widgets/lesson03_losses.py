"""Lesson 03's widget: the reconstruction weight against the validation error.

The widget is a small class whose methods name its parts; ``make_reconstruction_weight_widget``
validates, builds and wires it.
"""

from __future__ import annotations

from helpers.widgets.base import FigurePanel, LessonWidget, lesson_widget_builder, message_html

import html

import ipywidgets as widgets

# NumPy is loaded anyway by matplotlib, which helpers.widgets.base imports.
import numpy as np


def _reconstruction_scores_html(sweep, index: int) -> str:
    """The scores of one weight of a sweep, and how far each moved from weight 0 (if swept)."""
    columns = {
        "training MSE": sweep.train_mse,
        "validation MSE": sweep.validation_mse,
        "gap (validation - training)": sweep.validation_mse - sweep.train_mse,
        "reconstruction error (validation)": sweep.reconstruction_error,
    }
    baseline = sweep.weights.index(0.0) if 0.0 in sweep.weights else None
    rows = []
    for label, values in columns.items():
        change = "" if baseline is None else f"{values[index] - values[baseline]:+.3f}"
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td><code>{values[index]:.3f}</code></td>"
            f"<td><code>{change}</code></td></tr>"
        )
    header = "<tr><th></th><th>value</th><th>change from weight 0</th></tr>"
    title = f"reconstruction_weight = {sweep.weights[index]:g}"
    return f"<b>{html.escape(title)}</b><table>{header}{''.join(rows)}</table>"


def _validate_sweep(sweep, weight: float) -> tuple:
    """The swept weights, once the sweep holds a score per weight and ``weight`` is one."""
    weights = tuple(sweep.weights)
    columns = (sweep.train_mse, sweep.validation_mse, sweep.reconstruction_error)
    if not weights or any(len(column) != len(weights) for column in columns):
        raise ValueError("sweep must hold one score per weight in each of its arrays")
    if weight not in weights:
        raise ValueError(f"weight must be one of the swept weights {weights}, got {weight!r}")
    return weights


class _ReconstructionWeightView:
    """The weight slider, the two score plots (MSE, reconstruction error) and the readouts.

    Every curve is static, drawn once into the panel's background; a slider move looks up
    one row of the sweep, moves the animated markers and rewrites the table.
    """

    def __init__(self, sweep, weights: tuple, weight: float):
        self.sweep, self.weights = sweep, weights
        self.columns = (sweep.train_mse, sweep.validation_mse, sweep.reconstruction_error)
        self.slider = widgets.SelectionSlider(
            options=[(f"{value:g}", value) for value in weights],
            value=weight,
            description="weight",
            continuous_update=True,
        )
        self.scores_readout, self.message_readout = widgets.HTML(), widgets.HTML()
        self._build_plot()

    def _build_plot(self) -> None:
        """Scores against the weight, one tick per swept weight (evenly spaced, labelled)."""
        sweep = self.sweep
        self.panel = FigurePanel(width=8.0, height=3.2, ncols=2)
        mse_axes, error_axes = self.panel.axes
        positions = np.arange(len(self.weights))
        labels = [f"{value:g}" for value in self.weights]
        mse_axes.plot(positions, sweep.train_mse, "o-", color="C0", ms=4, label="training MSE")
        mse_axes.plot(
            positions, sweep.validation_mse, "o-", color="C1", ms=4, label="validation MSE"
        )
        error_axes.plot(positions, sweep.reconstruction_error, "o-", color="C2", ms=4)
        error_axes.set(yscale="log", ylabel="reconstruction error (validation)")
        mse_axes.set(ylabel="MSE (standardized target)")
        mse_axes.legend(loc="best", fontsize="small")
        for axes in (mse_axes, error_axes):
            axes.set_xticks(positions, labels, rotation=45, fontsize="small")
            axes.set_xlabel("reconstruction_weight")
            axes.grid(True, alpha=0.3)
        (self.mse_markers,) = mse_axes.plot([], [], "s", color="k", ms=9, mfc="none", animated=True)
        (self.error_marker,) = error_axes.plot(
            [], [], "s", color="k", ms=9, mfc="none", animated=True
        )

    def update(self) -> None:
        """Mark the chosen weight's scores, write them, and say so if they are not finite."""
        index = self.weights.index(self.slider.value)
        scores = [column[index] for column in self.columns]
        self.mse_markers.set_data([index, index], scores[:2])
        self.error_marker.set_data([index], scores[2:])
        self.panel.redraw()
        self.scores_readout.value = _reconstruction_scores_html(self.sweep, index)
        if all(np.isfinite(scores)):
            self.message_readout.value = ""
        else:
            self.message_readout.value = message_html(
                f"training diverged at weight {self.slider.value:g}: its scores are not finite",
                "error",
            )

    def lesson_widget(self) -> LessonWidget:
        box = widgets.VBox(
            [self.slider, self.panel.image, self.scores_readout, self.message_readout]
        )
        return LessonWidget(
            box,
            controls={"weight": self.slider},
            readouts={
                "plot": self.panel.image,
                "scores": self.scores_readout,
                "message": self.message_readout,
            },
        )


@lesson_widget_builder
def make_reconstruction_weight_widget(sweep=None, weight: float = 0.0) -> LessonWidget:
    """A slider over the reconstruction weights of a sweep, and what the trained models score.

    Controls: ``weight``, a ``SelectionSlider`` over the swept weights (0, then log-spaced:
    ``FloatLogSlider`` cannot reach 0). Readouts: ``scores`` (training and validation MSE,
    their gap and the reconstruction error, each with its change from weight 0), ``message``
    and the ``plot`` (the scores against the weight, the current weight marked).

    Speed: every number comes from the sweep, trained once before the widget is built
    (``helpers.lesson03_losses.sweep_reconstruction_weights``, cached), so a slider move only
    looks up a row and redraws the markers.

    Args:
        sweep: a ``helpers.lesson03_losses.ReconstructionSweep``; by default the cached default
            sweep.
        weight: the slider's starting value, one of ``sweep.weights``.
    """
    if sweep is None:
        from helpers.lesson03_losses import sweep_reconstruction_weights

        sweep = sweep_reconstruction_weights()
    view = _ReconstructionWeightView(sweep, _validate_sweep(sweep, weight), weight)
    view.slider.observe(lambda change: view.update(), names="value")
    view.update()
    return view.lesson_widget()
