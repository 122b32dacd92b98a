"""Builders of the lessons' interactive widgets.

Each ``make_..._widget`` function returns a :class:`Lesson widget <LessonWidget>`: the widget to
display *and* handles on its controls and readouts, so a test can move a slider and assert on
what the learner would see, without a browser. Readouts are widget values (``HTML``, ``Image``)
rather than printed text: a print inside a callback would land in the notebook's stored outputs
under some front ends and not others, and make them impossible to compare.

Plots are rendered by :class:`FigurePanel`, which keeps one matplotlib figure alive, updates its
artists in place and re-encodes it as a PNG ``Image`` value. That is several times faster than
building a new figure on every slider move, which is what keeps a widget's answer under 50 ms.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field

import ipywidgets as widgets
import PIL.Image

# A bare Figure on an Agg canvas (not pyplot) needs no GUI backend and never touches the
# notebook's inline one.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


@dataclass
class LessonWidget:
    """A built widget with named handles for tests and for the lesson's prose.

    Attributes:
        widget: the top-level widget to display.
        controls: the inputs by name (sliders, toggles, dropdowns, buttons).
        readouts: the outputs by name (``HTML`` readouts, ``Image`` plots).
    """

    widget: widgets.Widget
    controls: dict[str, widgets.Widget] = field(default_factory=dict)
    readouts: dict[str, widgets.Widget] = field(default_factory=dict)

    def __post_init__(self):
        # CSS classes named after the handles let the browser test find each control and
        # readout on the page (``.control-eps``, ``.readout-gradient``) without guessing.
        for prefix, handles in (("control", self.controls), ("readout", self.readouts)):
            for name, handle in handles.items():
                handle.add_class(f"{prefix}-{name}")

    def _repr_mimebundle_(self, **kwargs):
        # Displaying the handle displays the widget, so a lesson cell can end with it.
        return self.widget._repr_mimebundle_(**kwargs)


class FigurePanel:
    """A matplotlib figure shown as an ``ipywidgets.Image`` that redraws in a few milliseconds.

    Drawing a whole figure (axes, ticks, labels) takes 70 to 150 ms here, too slow for a slider.
    So the panel uses *blitting*: the static parts are drawn once and kept as a background;
    artists created with ``animated=True`` (the line or marker that moves) are the only ones
    redrawn on each change, then the pixels are encoded as PNG: about 8 ms in all.

    Usage: create artists on ``panel.axes`` (animated ones for what changes), update them in
    a callback (``line.set_data(...)``), then call :meth:`redraw`. After changing anything
    static (limits, titles, a non-animated artist) call ``redraw(full=True)``.
    """

    def __init__(self, width: float = 6.0, height: float = 3.5, dpi: int = 80, ncols: int = 1):
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.subplots(1, ncols)
        self.axes = list(axes) if ncols > 1 else axes
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{width * dpi}px"))
        self._background = None

    def _animated_artists(self):
        return [artist for artist in self.figure.findobj() if artist.get_animated()]

    def redraw(self, full: bool = False) -> None:
        """Draw the figure (only its animated artists unless ``full``) and update the image."""
        if full or self._background is None:
            self.canvas.draw()  # draws every non-animated artist
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self._animated_artists():
            self.figure.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        pixels = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba())
        buffer = io.BytesIO()
        pixels.save(buffer, format="png", compress_level=1)
        self.image.value = buffer.getvalue()


def message_html(text: str, kind: str = "info") -> str:
    """HTML for a readout line; ``kind="error"`` shows a problem instead of a traceback."""
    colour = {"info": "inherit", "error": "#cf222e", "ok": "#1a7f37"}[kind]
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


# --- Lesson 01 (custom layers): MyGaussianNoise in training and inference ----------------------

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
    # Imported here, not at the top: only this lesson's widget needs Keras and the layers.
    import keras
    import numpy as np

    from helpers.layers import MyGaussianNoise

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
