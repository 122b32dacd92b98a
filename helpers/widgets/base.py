"""What every lesson widget is built on: the handle a builder returns, and a fast plot panel.

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

from helpers.validation import require_choice
from helpers.widgets.picture import register_plot, widget_picture

import functools
import html
import io
import warnings
from collections.abc import Callable
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
        builder: the name of the ``make_..._widget`` function that built it, set by
            :func:`lesson_widget_builder`: the benchmark reports each timing under it.
        demo: for a widget whose interesting state needs an action (a Train press, a few
            calls), that action: it runs once, just before the widget is first displayed, so
            the live view *and* the stored picture show the widget at work, not an empty
            start. A builder's ``demo=False`` drops it (tests that start from the start).
    """

    widget: widgets.Widget
    controls: dict[str, widgets.Widget] = field(default_factory=dict)
    readouts: dict[str, widgets.Widget] = field(default_factory=dict)
    builder: str = ""
    demo: Callable[[], object] | None = None

    def __post_init__(self):
        # CSS classes named after the handles let the browser test find each control and
        # readout on the page (``.control-eps``, ``.readout-gradient``) without guessing.
        for prefix, handles in (("control", self.controls), ("readout", self.readouts)):
            for name, handle in handles.items():
                handle.add_class(f"{prefix}-{name}")

    def _repr_mimebundle_(self, **kwargs):
        """The live widget's view *and* a PNG picture of its current state, in one output.

        Displaying the handle displays the widget, so a lesson cell can end with it. Front ends
        with a kernel (JupyterLab, Colab, VS Code) rank the widget view first and show the live
        widget; pages without one (GitHub, nbviewer, nbconvert) show the picture instead of the
        widget's repr, the way ipympl's canvas does. A picture that cannot be drawn costs the
        picture only: the live widget is still displayed, with a one-line warning.
        """
        self.run_demo()
        bundle = widget_view_bundle(self.widget, **kwargs)
        try:
            bundle["image/png"] = widget_picture(self.widget)
        except Exception as error:  # a picture is never worth losing the live widget
            warnings.warn(
                f"no static picture of this widget ({type(error).__name__}: {error}); "
                "the live widget still works",
                RuntimeWarning,
                stacklevel=2,
            )
        return bundle

    def run_demo(self) -> None:
        """Run the :attr:`demo` action, once: a failure warns and leaves the widget as it was."""
        demo, self.demo = self.demo, None
        if demo is None:
            return
        try:
            demo()
        except Exception as error:  # the widget still works: a learner can press the button
            warnings.warn(
                f"the widget's demo failed ({type(error).__name__}: {error})",
                RuntimeWarning,
                stacklevel=3,
            )


def set_tooltip(control: widgets.Widget, text: str) -> None:
    """Give ``control`` a hover text under ipywidgets 8 and 7 alike.

    ipywidgets 8 syncs ``tooltip`` to the page; ipywidgets 7 (Google Colab's) only knows
    ``description_tooltip``, and silently keeps a ``tooltip`` attribute to itself.
    """
    major = int(widgets.__version__.split(".")[0])
    setattr(control, "tooltip" if major >= 8 else "description_tooltip", text)


def lesson_widget_builder(make):
    """Mark ``make`` as a widget builder: the :class:`LessonWidget` it returns records its name.

    The benchmark times every control of every live widget and reports each under the builder
    that made it; recording the name here keeps that true however a builder wires its controls
    (closures, a class's bound methods).

    Every builder also takes ``demo=False``: the widget then skips its :attr:`LessonWidget.demo`
    action and is first shown in its starting state (tests of that state use it).
    """

    @functools.wraps(make)
    def build(*args, demo: bool = True, **kwargs):
        built = make(*args, **kwargs)
        built.builder = make.__name__
        if not demo:
            built.demo = None
        return built

    return build


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def widget_view_bundle(widget: widgets.Widget, **kwargs) -> dict:
    """The MIME bundle that shows ``widget`` live, under ipywidgets 8 and 7 alike.

    ipywidgets 8 returns it from ``_repr_mimebundle_``. ipywidgets 7 (Google Colab's) has no such
    method: it publishes the very same bundle from ``_ipython_display_``, which IPython calls
    *instead of* any other repr, so an object wrapping a widget must build the bundle itself.

    ``kwargs`` are IPython's ``include``/``exclude``: they go to ipywidgets 8's method only.
    ipywidgets 7's ``_handle_displayed(**kwargs)`` hands its keyword arguments on to every
    display callback, and ``Box``'s callback takes none: forwarding them raised a ``TypeError``
    that IPython showed as a traceback above every widget on Colab.
    """
    own = getattr(widget, "_repr_mimebundle_", None)
    if own is not None:
        return dict(own(**kwargs))
    plaintext = repr(widget)
    bundle = {"text/plain": plaintext[:110] + "…" if len(plaintext) > 110 else plaintext}
    if widget._view_name is not None:
        bundle[WIDGET_VIEW] = {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}
        widget._handle_displayed()  # what ipywidgets 7's _ipython_display_ does after display
    return bundle


class FigurePanel:
    """A matplotlib figure shown as an ``ipywidgets.Image`` that redraws in a few milliseconds.

    Drawing a whole figure (axes, ticks, labels) takes 70 to 150 ms here, too slow for a slider.
    So the panel uses *blitting*: the static parts are drawn once and kept as a background;
    artists created with ``animated=True`` (the line or marker that moves) are the only ones
    redrawn on each change, then the pixels are encoded as PNG: about 8 ms in all.

    Usage: create artists on ``panel.axes`` (animated ones for what changes), update them in
    a callback (``line.set_data(...)``), then call :meth:`redraw`. After changing anything
    static (limits, titles, a non-animated artist) or adding an artist, call
    ``redraw(full=True)``.
    """

    def __init__(self, width: float = 6.0, height: float = 3.5, dpi: int = 80, ncols: int = 1):
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.subplots(1, ncols)
        self.axes = list(axes) if ncols > 1 else axes
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{width * dpi}px"))
        register_plot(self.image, self.figure)  # its picture tells an empty plot from data
        self._background = None
        self._backgrounds: dict = {}
        self._animated: list = []

    def redraw(self, full: bool = False, background_key=None) -> None:
        """Draw the figure (only its animated artists unless ``full``) and update the image.

        ``background_key`` names the static state a full redraw draws (say, the y-limits in
        use): its background is kept under that name, and a later full redraw with the same
        key restores it instead of drawing everything again. A toggle that flips between a few
        static states then answers as fast as a slider.
        """
        if full or self._background is None:
            cached = self._backgrounds.get(background_key)
            if cached is None:
                self.canvas.draw()  # draws every non-animated artist
                background = self.canvas.copy_from_bbox(self.figure.bbox)
                # Walking the artist tree costs milliseconds: do it on real full draws only.
                self._animated = [a for a in self.figure.findobj() if a.get_animated()]
                if background_key is not None:
                    # The layout (axes positions) belongs to the background: wider tick
                    # labels in another state move the axes, and the animated artists must
                    # be drawn where this background has them.
                    positions = [(ax, ax.get_position()) for ax in self.figure.axes]
                    self._backgrounds[background_key] = (background, positions)
            else:
                background, positions = cached
                for ax, position in positions:
                    ax.set_position(position)
                    ax.set_in_layout(True)  # set_position opts out of the layout; opt back in
            self._background = background
        self.canvas.restore_region(self._background)
        for artist in self._animated:
            self.figure.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        pixels = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba())
        buffer = io.BytesIO()
        pixels.save(buffer, format="png", compress_level=1)
        self.image.value = buffer.getvalue()


def check_choice(name: str, value, allowed) -> None:
    """Refuse a starting ``value`` that no control could show: a ``ValueError`` naming ``name``
    and every ``allowed`` choice (a builder's menus, toggles and selection sliders)."""
    require_choice(name, value, allowed)


def message_html(text: str, kind: str = "info") -> str:
    """HTML for a readout line; ``kind="error"`` shows a problem instead of a traceback."""
    colour = {"info": "inherit", "error": "#cf222e", "ok": "#1a7f37"}[kind]
    return f'<span style="color:{colour}">{html.escape(text)}</span>'
