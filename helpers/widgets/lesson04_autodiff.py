"""Lesson 04's widgets: finite differences against the tape, and what a gradient costs."""

from __future__ import annotations

from helpers.widgets.base import FigurePanel, LessonWidget, message_html

import html

import ipywidgets as widgets

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
