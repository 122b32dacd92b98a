"""Lesson 01's widget: ``MyGaussianNoise`` in training and in inference."""

from __future__ import annotations

from helpers.widgets.base import FigurePanel, LessonWidget, message_html

import ipywidgets as widgets

# The slider's range. keras.layers.GaussianNoise refuses a stddev above 1, so the widget stops
# there too: every value the learner can reach is one both layers accept.
NOISE_STDDEV_RANGE = (0.0, 1.0)


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
    # Imported here, not at the top: importing helpers.widgets stays light, and TensorFlow loads
    # only when a widget that needs it is built.
    from helpers.layers import MyGaussianNoise

    import keras
    import numpy as np

    low, high = NOISE_STDDEV_RANGE
    if not low <= stddev <= high:
        raise ValueError(f"stddev must be between {low} and {high}, got {stddev!r}")
    if not isinstance(training, bool):
        raise ValueError(f"training must be True or False, got {training!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")

    grid = np.linspace(-2.0, 2.0, 101, dtype="float32")
    inputs = np.tile(grid, (100, 1))  # the first row is plotted, all rows are measured
    stddev_slider = widgets.FloatSlider(
        value=stddev, min=low, max=high, step=0.05, description="stddev", readout_format=".2f"
    )
    mode = widgets.ToggleButtons(
        options=[("training=True (fit)", True), ("training=False (predict)", False)],
        value=training,
    )
    noise_readout = widgets.HTML()
    panel = FigurePanel(width=5.5, height=3.8)
    axes = panel.axes
    axes.plot(grid, grid, color="0.6", linewidth=1, label="identity: output = input")
    (points,) = axes.plot(
        [], [], "o", markersize=3, color="C0", animated=True, label="layer output"
    )
    axes.set(xlim=(-2.2, 2.2), ylim=(-5.0, 5.0), xlabel="input X", ylabel="MyGaussianNoise(X)")
    axes.legend(loc="upper left")

    def update(_change=None):
        try:
            layer = MyGaussianNoise(stddev_slider.value, seed=seed)
        except ValueError as error:  # only reachable if a program widens the slider's range
            points.set_data([], [])
            panel.redraw()
            noise_readout.value = message_html(str(error), "error")
            return
        outputs = keras.ops.convert_to_numpy(layer(inputs, training=mode.value))
        points.set_data(grid, outputs[0])
        panel.redraw()
        noise = outputs - inputs
        text = (
            f"measured noise std: {noise.std():.3f} over {noise.size:,} values "
            f"(stddev = {stddev_slider.value:.2f}, training={mode.value})"
        )
        if not mode.value:
            text += f"; output equals input exactly: {bool((noise == 0).all())}"
        noise_readout.value = message_html(text)

    stddev_slider.observe(update, names="value")
    mode.observe(update, names="value")
    update()
    box = widgets.VBox([widgets.HBox([stddev_slider, mode]), panel.image, noise_readout])
    return LessonWidget(
        box,
        controls={"stddev": stddev_slider, "training": mode},
        readouts={"plot": panel.image, "noise_std": noise_readout},
    )
