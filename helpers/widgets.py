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
    static (limits, titles, a non-animated artist) or adding an artist, call
    ``redraw(full=True)``.
    """

    def __init__(self, width: float = 6.0, height: float = 3.5, dpi: int = 80, ncols: int = 1):
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.subplots(1, ncols)
        self.axes = list(axes) if ncols > 1 else axes
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{width * dpi}px"))
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


# --- Lesson 04 (autodiff): finite differences against the tape, and what a gradient costs -------

# The eps slider spans the whole V: from steps lost in rounding (1e-12) to steps so large that
# Taylor's remainder dominates (1). Exponents move by quarter decades.
EPS_EXPONENT_RANGE = (-12, 0)
EXPLORER_DTYPES = ("float32", "float64")
# The error axis is fixed per dtype, so a slider move only redraws what moved (fast), and the
# same error sits at the same height whatever the point: wide enough for every example's V.
_ERROR_AXIS_LIMITS = {"float32": (1e-9, 1e3), "float64": (1e-17, 1e3)}
_PARAMETER_SLOTS = 4  # the most parameters an example function has


def _partial_name(name: str) -> str:
    return f"∂f/∂{name}"


def _table_html(title: str, rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(label)}</td><td><code>{html.escape(value)}</code></td></tr>"
        for label, value in rows
    )
    return f"<b>{html.escape(title)}</b><table>{cells}</table>"


def make_gradient_explorer_widget(
    function: str = "book", eps: float = 1e-6, scheme: str = "forward", dtype: str = "float64"
) -> LessonWidget:
    """Finite-difference and tape gradients side by side, and the V-shaped error against eps.

    Controls: ``function`` (a key of ``helpers.autodiff.EXAMPLE_FUNCTIONS``), the point
    (``param1`` ... ``param4``, one slider per parameter, the unused ones hidden), ``eps`` (a
    ``FloatLogSlider``), ``scheme``, ``dtype`` and ``parameter`` (whose error the plot shows).
    Readouts: ``finite_difference`` and ``tape`` (``str()`` of each NumPy value, exactly what
    ``finite_difference_gradient``/``tape_gradient`` return), ``error`` (absolute and
    relative, per parameter), ``best_eps``, ``message`` and the ``plot``.

    Speed: the curve, the tape gradient and the derivatives that scale the theoretical best
    eps depend on the point, not on eps, and are cached per point; an eps move recomputes only
    the finite differences (n + 1 or 2n calls of a tiny function) and redraws the marker.
    """
    from helpers import autodiff

    import numpy as np

    if function not in autodiff.EXAMPLE_FUNCTIONS:
        raise ValueError(
            f"function must be one of {', '.join(autodiff.EXAMPLE_FUNCTIONS)}, got {function!r}"
        )
    low, high = EPS_EXPONENT_RANGE
    autodiff.validate_eps(eps)
    if not 10.0**low <= eps <= 10.0**high:
        raise ValueError(f"eps must be between 1e{low} and 1e{high}, got {eps!r}")
    autodiff.validate_scheme(scheme)
    if dtype not in EXPLORER_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(EXPLORER_DTYPES)}, got {dtype!r}")

    function_menu = widgets.Dropdown(
        options=[(example.label, key) for key, example in autodiff.EXAMPLE_FUNCTIONS.items()],
        value=function,
        description="f",
    )
    point_sliders = [
        widgets.FloatSlider(min=-6.0, max=6.0, step=0.1, readout_format=".1f")
        for _ in range(_PARAMETER_SLOTS)
    ]
    eps_slider = widgets.FloatLogSlider(
        value=eps, base=10, min=low, max=high, step=0.25, description="eps", readout_format=".1e"
    )
    scheme_toggle = widgets.ToggleButtons(
        options=list(autodiff.SCHEMES), value=scheme, description="scheme"
    )
    dtype_toggle = widgets.ToggleButtons(
        options=list(EXPLORER_DTYPES), value=dtype, description="dtype"
    )
    parameter_menu = widgets.Dropdown(description="plot")
    finite_difference_readout, tape_readout, error_readout = (widgets.HTML() for _ in range(3))
    best_eps_readout, message_readout = widgets.HTML(), widgets.HTML()

    panel = FigurePanel(width=6.0, height=3.4)
    axes = panel.axes
    eps_grid = np.logspace(low, high, 8 * (high - low) + 1)
    axes.set(xscale="log", yscale="log", xlim=(10.0**low, 10.0**high), xlabel="eps (step)")
    axes.set_ylabel("|finite difference - tape|")
    axes.grid(True, which="major", alpha=0.3)
    # No minor ticks: hundreds of tick artists would be walked on every redraw, for nothing.
    axes.minorticks_off()
    (curve,) = axes.plot(eps_grid, eps_grid, color="C0", animated=True, label="measured error")
    (truncation_line,) = axes.plot(
        eps_grid, eps_grid, "--", color="C2", lw=1, animated=True, label="truncation (Taylor)"
    )
    (rounding_line,) = axes.plot(
        eps_grid, eps_grid, ":", color="C3", lw=1.5, animated=True, label="rounding"
    )
    best_line = axes.axvline(1e-6, color="0.4", lw=1, ls="-.", animated=True, label="best eps")
    (marker,) = axes.plot([eps], [1.0], "o", color="C1", ms=8, animated=True, label="current eps")
    axes.legend(loc="lower left", fontsize="x-small", ncols=2)
    axes.title.set_animated(True)

    point_cache: dict = {}
    state = {"quiet": False}

    def example():
        return autodiff.EXAMPLE_FUNCTIONS[function_menu.value]

    def current_point():
        count = len(example().parameter_names)
        return tuple(float(slider.value) for slider in point_sliders[:count])

    def analysis():
        """What depends on the point (not on eps): cached, so revisiting a point is free."""
        key = (
            function_menu.value,
            current_point(),
            scheme_toggle.value,
            dtype_toggle.value,
            parameter_menu.value,
        )
        if key not in point_cache:
            f, point, index = example().f, list(current_point()), parameter_menu.value
            derivatives = autodiff.derivatives_along(
                f, point, index, order=2 if scheme_toggle.value == "forward" else 3
            )
            tape = autodiff.tape_gradient(f, point, dtype_toggle.value)
            point_cache[key] = {
                "tape": tape,
                "curve": autodiff.finite_difference_error_curve(
                    f,
                    point,
                    eps_grid,
                    index=index,
                    scheme=scheme_toggle.value,
                    dtype=dtype_toggle.value,
                    reference=tape[index],
                ),
                "value": derivatives[0],
                "derivative": derivatives[-1],
            }
        return point_cache[key]

    def clipped(errors):
        """Exact estimates (error 0) are drawn on the bottom edge: a log axis has no 0."""
        return np.maximum(errors, _ERROR_AXIS_LIMITS[dtype_toggle.value][0])

    def above_axis(errors):
        """The model's parts only where they are visible (a vanishing part is not drawn)."""
        return np.where(errors >= _ERROR_AXIS_LIMITS[dtype_toggle.value][0], errors, np.nan)

    def update_eps():
        """The fast path: finite differences at the new eps, the readouts and the marker."""
        names = example().parameter_names
        point = analysis()
        result = autodiff.finite_difference_gradient(
            example().f,
            list(current_point()),
            eps_slider.value,
            scheme_toggle.value,
            dtype_toggle.value,
        )
        rows_fd, rows_tape, rows_error, errors = [], [], [], []
        for name, estimate, exact in zip(names, result.gradient, point["tape"], strict=True):
            absolute = abs(np.float64(estimate) - np.float64(exact))
            relative = f"{absolute / abs(np.float64(exact)):.1e}" if exact != 0 else "n/a"
            rows_fd.append((_partial_name(name), str(estimate)))
            rows_tape.append((_partial_name(name), str(exact)))
            rows_error.append((_partial_name(name), f"abs {absolute:.1e}, rel {relative}"))
            errors.append(absolute)
        finite_difference_readout.value = _table_html(
            f"finite differences ({result.calls} calls of f)", rows_fd
        )
        tape_readout.value = _table_html("tape (1 forward + 1 backward pass)", rows_tape)
        error_readout.value = _table_html("error of the finite differences", rows_error)
        marker.set_data([eps_slider.value], clipped([errors[parameter_menu.value]]))
        panel.redraw()

    def update_point(full=False):
        """Everything that depends on the point; then the eps readouts."""
        point = analysis()
        curve.set_ydata(clipped(point["curve"]))
        truncation, rounding = autodiff.finite_difference_error_model(
            eps_grid,
            scheme_toggle.value,
            dtype_toggle.value,
            value=point["value"],
            derivative=point["derivative"],
        )
        truncation_line.set_ydata(above_axis(truncation))
        rounding_line.set_ydata(above_axis(rounding))
        best = autodiff.theoretical_best_eps(
            scheme_toggle.value,
            dtype_toggle.value,
            value=point["value"],
            derivative=point["derivative"],
        )
        name = _partial_name(example().parameter_names[parameter_menu.value])
        if np.isfinite(best) and best > 0:
            best_line.set_xdata([best, best])
            best_line.set_visible(True)
            best_eps_readout.value = (
                f"Theoretical best eps for {html.escape(name)} "
                f"({scheme_toggle.value}, {dtype_toggle.value}): <code>{best:.1e}</code>"
            )
        else:
            best_line.set_visible(False)
            order = "second" if scheme_toggle.value == "forward" else "third"
            best_eps_readout.value = html.escape(
                f"No truncation error for {name} here (its {order} derivative is 0): "
                "only rounding is left, so the larger eps, the better."
            )
        axes.set_title(
            f"Error of {name}: {scheme_toggle.value} differences in {dtype_toggle.value}",
            fontsize="medium",
        )
        if full:
            # The title is animated, so the static background depends on the dtype's y-limits
            # alone: two cached backgrounds serve every function, scheme and parameter.
            axes.set_ylim(*_ERROR_AXIS_LIMITS[dtype_toggle.value])
            panel.redraw(full=True, background_key=dtype_toggle.value)
        update_eps()

    def show_function():
        """Name, set and show one point slider per parameter; reset the plotted parameter."""
        chosen = example()
        for slot, slider in enumerate(point_sliders):
            used = slot < len(chosen.parameter_names)
            slider.layout.display = None if used else "none"
            if used:
                slider.description = chosen.parameter_names[slot]
                slider.value = chosen.default_point[slot]
        parameter_menu.options = [
            (_partial_name(name), index) for index, name in enumerate(chosen.parameter_names)
        ]
        parameter_menu.value = 0

    def guarded(update, **kwargs):
        def handler(change=None):
            if state["quiet"]:
                return
            state["quiet"] = True  # changes made by this update must not re-enter it
            try:
                update(**kwargs)
                message_readout.value = ""
            except (ValueError, FloatingPointError) as error:
                message_readout.value = message_html(str(error), "error")
            finally:
                state["quiet"] = False

        return handler

    def on_function(change=None):
        show_function()
        update_point(full=True)

    function_menu.observe(guarded(on_function), names="value")
    for control in (scheme_toggle, dtype_toggle, parameter_menu):
        control.observe(guarded(update_point, full=True), names="value")
    for slider in point_sliders:
        slider.observe(guarded(update_point), names="value")
    eps_slider.observe(guarded(update_eps), names="value")
    guarded(on_function)()

    for readout in (finite_difference_readout, tape_readout):
        readout.layout.margin = "0 2em 0 0"
    readouts_row = widgets.HBox([finite_difference_readout, tape_readout, error_readout])
    box = widgets.VBox(
        [
            function_menu,
            widgets.HBox([widgets.VBox(point_sliders[:2]), widgets.VBox(point_sliders[2:])]),
            eps_slider,
            widgets.HBox([scheme_toggle, dtype_toggle]),
            readouts_row,
            best_eps_readout,
            message_readout,
            parameter_menu,
            panel.image,
        ]
    )
    controls = {
        "function": function_menu,
        **{f"param{slot + 1}": slider for slot, slider in enumerate(point_sliders)},
        "eps": eps_slider,
        "scheme": scheme_toggle,
        "dtype": dtype_toggle,
        "parameter": parameter_menu,
    }
    readouts = {
        "finite_difference": finite_difference_readout,
        "tape": tape_readout,
        "error": error_readout,
        "best_eps": best_eps_readout,
        "message": message_readout,
        "plot": panel.image,
    }
    return LessonWidget(box, controls, readouts)


# The cost widget's default sizes: a decade apart, measured in about a second in all
# (finite differences on at most 10 coordinates each: every coordinate costs the same).
COST_WIDGET_SIZES = (10, 100, 1_000, 10_000, 100_000)


def make_gradient_cost_widget(
    n_values=COST_WIDGET_SIZES, *, costs=None, max_coordinates: int = 10, repeats: int = 3
) -> LessonWidget:
    """What one gradient costs against the number of parameters n: finite differences vs tape.

    Each n is measured once, with ``helpers.autodiff.measure_gradient_cost`` (the benchmark's
    implementation too), before the widget is shown; the ``n_params`` slider then only moves
    markers and rewrites the readout. Pass ``costs`` (a list of ``GradientCost``) to show
    measurements made elsewhere instead.

    Controls: ``n_params`` (a selection slider over the measured n, log-spaced).
    Readouts: ``cost`` (time, calls of f and multiple of one forward pass, per method) and the
    log-log ``plot`` of seconds against n.
    """
    from helpers import autodiff

    import numpy as np

    if costs is None:
        n_values = sorted({int(n) for n in n_values})
        if not n_values:
            raise ValueError("n_values must hold at least one number of parameters")
        costs = [
            autodiff.measure_gradient_cost(n, max_coordinates=max_coordinates, repeats=repeats)
            for n in n_values
        ]
    if not costs or not all(isinstance(cost, autodiff.GradientCost) for cost in costs):
        raise ValueError("costs must be a non-empty list of helpers.autodiff.GradientCost")
    costs = sorted(costs, key=lambda cost: cost.n_params)
    by_n = {cost.n_params: cost for cost in costs}
    sizes = np.array(list(by_n), dtype=float)
    series = {
        "forward differences": ("forward_difference_seconds", "C0", "o"),
        "central differences": ("central_difference_seconds", "C1", "s"),
        "tape (one gradient)": ("tape_seconds", "C2", "^"),
        "one forward pass": ("forward_seconds", "0.5", "."),
    }

    panel = FigurePanel(width=6.0, height=3.4)
    axes = panel.axes
    markers = []
    for label, (field_name, colour, symbol) in series.items():
        seconds = [getattr(cost, field_name) for cost in by_n.values()]
        axes.plot(sizes, seconds, "-", color=colour, marker=symbol, ms=4, label=label)
        (marker,) = axes.plot([], [], symbol, color=colour, ms=11, mfc="none", animated=True)
        markers.append((marker, field_name))
    axes.set(xscale="log", yscale="log", xlabel="number of parameters n", ylabel="seconds")
    axes.set_title("The cost of one gradient, measured on this machine", fontsize="medium")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize="x-small")
    sampled = max(cost.sampled_coordinates for cost in costs)
    axes.text(
        0.98,
        0.4,
        f"finite differences: timed on at most {sampled} sampled\ncoordinates, scaled to all n",
        transform=axes.transAxes,
        ha="right",
        va="center",
        fontsize="x-small",
        color="0.3",
    )
    slider = widgets.SelectionSlider(
        options=[(f"{n:,}", n) for n in by_n], value=costs[0].n_params, description="n"
    )
    readout = widgets.HTML()

    def show(change=None):
        cost = by_n[slider.value]
        for marker, field_name in markers:
            marker.set_data([cost.n_params], [getattr(cost, field_name)])
        panel.redraw()
        rows = [
            (
                "forward differences",
                cost.forward_difference_seconds,
                f"{cost.forward_difference_calls:,} calls of f",
                cost.forward_difference_ratio,
            ),
            (
                "central differences",
                cost.central_difference_seconds,
                f"{cost.central_difference_calls:,} calls of f",
                cost.central_difference_ratio,
            ),
            ("tape", cost.tape_seconds, "1 forward + 1 backward pass", cost.tape_ratio),
        ]
        cells = "".join(
            f"<tr><td>{name}</td><td>{seconds * 1e3:,.2f} ms</td><td>{calls}</td>"
            f"<td>{ratio:,.3g} × one forward pass</td></tr>"
            for name, seconds, calls, ratio in rows
        )
        note = (
            f"finite differences timed on {cost.sampled_coordinates:,} of the "
            f"{cost.n_params:,} coordinates and scaled"
            if cost.sampled_coordinates < cost.n_params
            else "finite differences timed on every coordinate"
        )
        readout.value = (
            f"<b>n = {cost.n_params:,} parameters</b> (one forward pass: "
            f"{cost.forward_seconds * 1e3:.2f} ms; {note})<table>{cells}</table>"
        )

    panel.redraw(full=True)
    slider.observe(show, names="value")
    show()
    box = widgets.VBox([slider, readout, panel.image])
    return LessonWidget(box, {"n_params": slider}, {"cost": readout, "plot": panel.image})


# --- Lesson 02 (custom models): the ResidualRegressor's shape, size and trainability ----------

# The sliders' ranges: every reachable combination builds a valid model that trains in about
# a second. The neuron choices include the book's 30.
RESIDUAL_LAYERS_RANGE = (1, 4)
RESIDUAL_NEURON_CHOICES = (4, 8, 16, 30, 64)
RESIDUAL_REPEATS_RANGE = (1, 6)


def _residual_parameters_html(n_inputs, n_layers, n_neurons, repeats, output_dim=1):
    """The parameter count layer by layer, and what sharing block1's weights saves."""
    from helpers.models import residual_regressor_parameter_counts

    counts = residual_regressor_parameter_counts(n_inputs, output_dim, n_neurons, n_layers)
    notes = {
        "hidden1": f"{n_inputs}×{n_neurons} + {n_neurons}",
        "block1": f"{n_layers}×({n_neurons}×{n_neurons} + {n_neurons}), applied {repeats}×",
        "block2": f"{n_layers}×({n_neurons}×{n_neurons} + {n_neurons})",
        "output": f"{n_neurons}×{output_dim} + {output_dim}",
    }
    rows = "".join(
        f"<tr><td>{name}</td><td>{html.escape(notes[name])}</td>"
        f"<td style='text-align:right'>{count:,}</td></tr>"
        for name, count in counts.items()
    )
    total = sum(counts.values())
    unshared = total + (repeats - 1) * counts["block1"]
    return (
        f"<table>{rows}<tr><td><b>total</b></td><td></td>"
        f"<td style='text-align:right'><b>{total:,}</b></td></tr></table>"
        f"Without sharing (a new block for each of the {repeats} passes): {unshared:,}"
    )


def _residual_shapes_html(n_inputs, n_neurons, repeats, output_dim=1):
    """The shape after each stage: residual blocks must keep it, or ``inputs + Z`` fails."""
    stages = [
        ("inputs", n_inputs),
        ("hidden1", n_neurons),
        (f"block1 ×{repeats}", n_neurons),
        ("block2", n_neurons),
        ("output", output_dim),
    ]
    steps = " → ".join(f"{name} <code>(None, {width})</code>" for name, width in stages)
    return f"{steps}<br>output shape: <b><code>(None, {output_dim})</code></b>"


def _train_residual_regressor(data, n_layers, n_neurons, repeats, epochs, seed):
    """Train a fresh ResidualRegressor briefly; return its validation MSE and parameter count.

    Why not ``fit``: its first call traces a training graph, which costs seconds here, more
    than a few hundred rows need. So the steps run eagerly, one full batch each (``epochs``
    steps), with RMSprop, whose update is a handful of operations per weight (Nadam's is
    several times more, and each costs time when run eagerly).
    """
    from helpers.models import ResidualRegressor

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = ResidualRegressor(
        1, n_neurons=n_neurons, n_layers_per_block=n_layers, block1_repeats=repeats
    )
    optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
    X_train, y_train = tf.constant(data.X_train), tf.constant(data.y_train)
    model(X_train[:1])  # build the weights before handing them to the optimizer
    for _ in range(epochs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(X_train) - y_train) ** 2)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
    errors = keras.ops.convert_to_numpy(model(data.X_valid)) - data.y_valid
    return float((errors**2).mean()), model.count_params()


def make_residual_architecture_widget(data=None, epochs: int = 20, seed: int = 42):
    """Sliders over a ``ResidualRegressor``'s shape: its size at once, its training on a click.

    Moving a slider recomputes the parameter count by formula (checked against built models in
    the tests) and the shapes stage by stage: no model is built, so it answers in well under a
    millisecond. (Redrawing the lesson's architecture picture would take 100 ms or more, too
    slow for a slider, so the lesson draws it in a cell instead.)
    The *Train* button builds the model for real, trains it for ``epochs`` full-batch steps
    (RMSprop, learning rate 0.01) and shows its validation MSE (1.0 is what always predicting
    the mean scores). Results are cached per setting, so going back to a setting answers at
    once.

    Args:
        data: a :class:`helpers.data.RegressionData`; by default ``load_regression_data()``.
        epochs: training epochs per click, 1 to 200.
        seed: the random seed of each training run, an integer >= 0.
    """
    from helpers.data import load_regression_data

    if not isinstance(epochs, int) or not 1 <= epochs <= 200:
        raise ValueError(f"epochs must be a whole number from 1 to 200, got {epochs!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    data = load_regression_data() if data is None else data
    n_inputs = data.X_train.shape[1]

    layers_slider = widgets.IntSlider(
        value=2, min=RESIDUAL_LAYERS_RANGE[0], max=RESIDUAL_LAYERS_RANGE[1], description="layers"
    )
    neurons_slider = widgets.SelectionSlider(
        options=RESIDUAL_NEURON_CHOICES, value=30, description="neurons"
    )
    repeats_slider = widgets.IntSlider(
        value=4, min=RESIDUAL_REPEATS_RANGE[0], max=RESIDUAL_REPEATS_RANGE[1], description="repeats"
    )
    for slider, tip in (
        (layers_slider, "Dense layers in each residual block"),
        (neurons_slider, "neurons in every hidden Dense layer"),
        (repeats_slider, "how many times block1 is applied (the book: 1 + 3)"),
    ):
        slider.tooltip = tip
    train_button = widgets.Button(description="Train", icon="play")
    parameters = widgets.HTML()
    shapes = widgets.HTML()
    validation = widgets.HTML()
    results: dict[tuple[int, int, int], tuple[float, int]] = {}

    def setting():
        return layers_slider.value, neurons_slider.value, repeats_slider.value

    def show_result():
        if setting() not in results:
            validation.value = message_html(
                f"Press Train: {epochs} full-batch epochs, then the validation MSE."
            )
            return
        loss, n_params = results[setting()]
        validation.value = message_html(
            f"validation MSE after {epochs} epochs: {loss:.3g} "
            f"(1.0 = always predicting the mean); the built model has {n_params:,} parameters",
            "ok",
        )

    def update(_change=None):
        n_layers, n_neurons, repeats = setting()
        parameters.value = _residual_parameters_html(n_inputs, n_layers, n_neurons, repeats)
        shapes.value = _residual_shapes_html(n_inputs, n_neurons, repeats)
        show_result()

    def train(_button=None):
        if setting() not in results:
            validation.value = message_html("Training…")
            try:
                results[setting()] = _train_residual_regressor(data, *setting(), epochs, seed)
            except Exception as error:  # show it in the readout, never as a traceback
                validation.value = message_html(f"{type(error).__name__}: {error}", "error")
                return
        show_result()

    for slider in (layers_slider, neurons_slider, repeats_slider):
        slider.observe(update, names="value")
    train_button.on_click(train)
    update()
    box = widgets.VBox(
        [
            widgets.HBox(
                [
                    widgets.VBox([layers_slider, neurons_slider, repeats_slider, train_button]),
                    widgets.VBox([parameters, shapes]),
                ]
            ),
            validation,
        ]
    )
    return LessonWidget(
        box,
        controls={
            "n_layers": layers_slider,
            "n_neurons": neurons_slider,
            "block1_repeats": repeats_slider,
            "train": train_button,
        },
        readouts={
            "parameters": parameters,
            "output_shape": shapes,
            "validation_loss": validation,
        },
    )


# --- Lesson 03 (losses and metrics): the reconstruction weight against the validation error ----


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


def make_reconstruction_weight_widget(sweep=None, weight: float = 0.0) -> LessonWidget:
    """A slider over the reconstruction weights of a sweep, and what the trained models score.

    Controls: ``weight``, a ``SelectionSlider`` over the swept weights (0, then log-spaced:
    ``FloatLogSlider`` cannot reach 0). Readouts: ``scores`` (training and validation MSE,
    their gap and the reconstruction error, each with its change from weight 0), ``message``
    and the ``plot`` (the scores against the weight, the current weight marked).

    Speed: every number comes from the sweep, trained once before the widget is built
    (``helpers.models.sweep_reconstruction_weights``, cached), so a slider move only looks up
    a row and redraws the markers.

    Args:
        sweep: a ``helpers.models.ReconstructionSweep``; by default the cached default sweep.
        weight: the slider's starting value, one of ``sweep.weights``.
    """
    import numpy as np

    if sweep is None:
        from helpers.models import sweep_reconstruction_weights

        sweep = sweep_reconstruction_weights()
    weights = tuple(sweep.weights)
    columns = (sweep.train_mse, sweep.validation_mse, sweep.reconstruction_error)
    if not weights or any(len(column) != len(weights) for column in columns):
        raise ValueError("sweep must hold one score per weight in each of its arrays")
    if weight not in weights:
        raise ValueError(f"weight must be one of the swept weights {weights}, got {weight!r}")

    slider = widgets.SelectionSlider(
        options=[(f"{value:g}", value) for value in weights],
        value=weight,
        description="weight",
        continuous_update=True,
    )
    scores_readout, message_readout = widgets.HTML(), widgets.HTML()

    panel = FigurePanel(width=8.0, height=3.2, ncols=2)
    mse_axes, error_axes = panel.axes
    positions = np.arange(len(weights))
    labels = [f"{value:g}" for value in weights]
    mse_axes.plot(positions, sweep.train_mse, "o-", color="C0", ms=4, label="training MSE")
    mse_axes.plot(positions, sweep.validation_mse, "o-", color="C1", ms=4, label="validation MSE")
    error_axes.plot(positions, sweep.reconstruction_error, "o-", color="C2", ms=4)
    error_axes.set(yscale="log", ylabel="reconstruction error (validation)")
    mse_axes.set(ylabel="MSE (standardized target)")
    mse_axes.legend(loc="best", fontsize="small")
    for axes in (mse_axes, error_axes):
        axes.set_xticks(positions, labels, rotation=45, fontsize="small")
        axes.set_xlabel("reconstruction_weight")
        axes.grid(True, alpha=0.3)
    (mse_markers,) = mse_axes.plot([], [], "s", color="k", ms=9, mfc="none", animated=True)
    (error_marker,) = error_axes.plot([], [], "s", color="k", ms=9, mfc="none", animated=True)

    def update(_change=None):
        index = weights.index(slider.value)
        scores = [column[index] for column in columns]
        mse_markers.set_data([index, index], scores[:2])
        error_marker.set_data([index], scores[2:])
        panel.redraw()
        scores_readout.value = _reconstruction_scores_html(sweep, index)
        if all(np.isfinite(scores)):
            message_readout.value = ""
        else:
            message_readout.value = message_html(
                f"training diverged at weight {slider.value:g}: its scores are not finite",
                "error",
            )

    slider.observe(update, names="value")
    update()
    box = widgets.VBox([slider, panel.image, scores_readout, message_readout])
    return LessonWidget(
        box,
        controls={"weight": slider},
        readouts={"plot": panel.image, "scores": scores_readout, "message": message_readout},
    )
