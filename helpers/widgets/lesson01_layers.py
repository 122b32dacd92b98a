"""Lesson 01's widget: ``MyGaussianNoise`` in training and in inference.

The widget is a small class whose methods name its parts; ``make_gaussian_noise_widget``
validates, builds and wires it.
"""

from __future__ import annotations

from helpers.widgets.base import FigurePanel, LessonWidget, lesson_widget_builder, message_html

import ipywidgets as widgets

# NumPy is loaded anyway by matplotlib, which helpers.widgets.base imports.
import numpy as np

# The slider's range. keras.layers.GaussianNoise refuses a stddev above 1, so the widget stops
# there too: every value the learner can reach is one both layers accept.
NOISE_STDDEV_RANGE = (0.0, 1.0)


def _validate_noise_arguments(stddev: float, training: bool, seed: int) -> None:
    from helpers.validation import require_number_in_range, require_seed

    require_number_in_range("stddev", stddev, *NOISE_STDDEV_RANGE)
    if not isinstance(training, bool):
        raise ValueError(f"training must be True or False, got {training!r}")
    require_seed(seed)


class _GaussianNoiseView:
    """The slider, the toggle, the output-against-input plot and the measured-noise readout."""

    def __init__(self, stddev: float, training: bool, seed: int):
        # Imported here, not at the top: importing helpers.widgets stays light, and TensorFlow
        # loads only when a widget that needs it is built.
        from helpers.lesson01_layers import MyGaussianNoise

        import keras

        self.layer_class, self.to_numpy = MyGaussianNoise, keras.ops.convert_to_numpy
        self.seed = seed
        self.grid = np.linspace(-2.0, 2.0, 101, dtype="float32")
        self.inputs = np.tile(self.grid, (100, 1))  # the first row is plotted, all are measured
        low, high = NOISE_STDDEV_RANGE
        self.stddev_slider = widgets.FloatSlider(
            value=stddev, min=low, max=high, step=0.05, description="stddev", readout_format=".2f"
        )
        self.mode = widgets.ToggleButtons(
            options=[("training=True (fit)", True), ("training=False (predict)", False)],
            value=training,
            # The default button width cuts the labels off ("training=False (p..."): fit them.
            style={"button_width": "auto"},
        )
        self.noise_readout = widgets.HTML()
        self._build_plot()

    def _build_plot(self) -> None:
        """The identity line (static) and the layer's outputs (animated: they move)."""
        self.panel = FigurePanel(width=5.5, height=3.8)
        axes = self.panel.axes
        axes.plot(self.grid, self.grid, color="0.6", linewidth=1, label="identity: output = input")
        (self.points,) = axes.plot(
            [], [], "o", markersize=3, color="C0", animated=True, label="layer output"
        )
        axes.set(xlim=(-2.2, 2.2), ylim=(-5.0, 5.0), xlabel="input X", ylabel="MyGaussianNoise(X)")
        axes.legend(loc="upper left")

    def update(self) -> None:
        """A fresh layer with the same seed, so the slider scales one fixed draw of noise."""
        try:
            layer = self.layer_class(self.stddev_slider.value, seed=self.seed)
        except ValueError as error:  # only reachable if a program widens the slider's range
            self.points.set_data([], [])
            self.panel.redraw()
            self.noise_readout.value = message_html(str(error), "error")
            return
        outputs = self.to_numpy(layer(self.inputs, training=self.mode.value))
        self.points.set_data(self.grid, outputs[0])
        self.panel.redraw()
        self.show_noise(outputs - self.inputs)

    def show_noise(self, noise) -> None:
        text = (
            f"measured noise std: {noise.std():.3f} over {noise.size:,} values "
            f"(stddev = {self.stddev_slider.value:.2f}, training={self.mode.value})"
        )
        if not self.mode.value:
            text += f"; output equals input exactly: {bool((noise == 0).all())}"
        self.noise_readout.value = message_html(text)

    def lesson_widget(self) -> LessonWidget:
        # The toggle on a row of its own: beside the slider, its second label ran past the
        # notebook's width and was cut off.
        box = widgets.VBox([self.stddev_slider, self.mode, self.panel.image, self.noise_readout])
        return LessonWidget(
            box,
            controls={"stddev": self.stddev_slider, "training": self.mode},
            readouts={"plot": self.panel.image, "noise_std": self.noise_readout},
        )


@lesson_widget_builder
def make_gaussian_noise_widget(
    stddev: float = 0.3, training: bool = True, seed: int = 42
) -> LessonWidget:
    """A ``stddev`` slider and a training/inference toggle over ``MyGaussianNoise``.

    The plot shows the layer's output against its input (a grid from -2 to 2) next to the
    identity line, and the readout the noise's standard deviation measured on 10,100 values.
    Every update builds a fresh layer with the same ``seed``, so moving the slider scales one
    fixed draw of noise instead of reshuffling it: the learner sees the spread grow, not jitter.

    Args:
        stddev: the slider's starting value, within ``NOISE_STDDEV_RANGE``.
        training: the toggle's starting value, ``True`` (as in ``fit``) or ``False`` (as in
            ``predict``).
        seed: the layer's seed, an integer >= 0.
    """
    _validate_noise_arguments(stddev, training, seed)
    view = _GaussianNoiseView(stddev, training, seed)
    for control in (view.stddev_slider, view.mode):
        control.observe(lambda change: view.update(), names="value")
    view.update()
    return view.lesson_widget()
