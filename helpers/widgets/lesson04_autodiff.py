"""Lesson 04's widgets: finite differences against the tape, and what a gradient costs.

Each widget is a small class whose methods name its parts (controls, plot, updates, layout);
the ``make_..._widget`` function validates the arguments, builds one, wires its controls and
returns the :class:`LessonWidget`.
"""

from __future__ import annotations

from helpers.validation import require_log_in_range
from helpers.widgets.base import (
    FigurePanel,
    LessonWidget,
    check_choice,
    lesson_widget_builder,
    message_html,
)

import html

import ipywidgets as widgets

# NumPy is loaded anyway by matplotlib, which helpers.widgets.base imports: importing it here
# costs nothing. TensorFlow (through helpers.lesson04_autodiff) still loads only when a widget
# is built.
import numpy as np

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


def _validate_explorer_arguments(function: str, eps: float, scheme: str, dtype: str) -> None:
    """Refuse a starting value no control could show, naming the argument and what is allowed."""
    from helpers import lesson04_autodiff as autodiff

    check_choice("function", function, autodiff.EXAMPLE_FUNCTIONS)
    low, high = EPS_EXPONENT_RANGE
    require_log_in_range("eps", eps, low, high)
    autodiff.validate_scheme(scheme)
    check_choice("dtype", dtype, EXPLORER_DTYPES)


class _GradientExplorer:
    """The gradient explorer's controls, readouts and plot, and the updates that tie them.

    Two update paths keep it fast. :meth:`update_eps` is the slider's path: finite differences
    at the new eps (n + 1 or 2n calls of a tiny function), the readouts and the marker, drawn
    over the cached background. :meth:`update_point` is the path of everything else: what
    depends on the point is computed once per point (:meth:`analysis` caches it), and a
    toggle's full redraw restores one of two backgrounds cached per dtype.
    """

    def __init__(self, function: str, eps: float, scheme: str, dtype: str):
        from helpers import lesson04_autodiff as autodiff

        self.autodiff = autodiff  # kept on the instance: TensorFlow loads when one is built
        low, high = EPS_EXPONENT_RANGE
        self.eps_grid = np.logspace(low, high, 8 * (high - low) + 1)
        self._point_cache: dict = {}
        self._quiet = False  # True while an update runs: the changes it makes must not re-enter
        self._build_controls(function, eps, scheme, dtype)
        self._build_readouts()
        self._build_plot(eps)

    # --- the parts ------------------------------------------------------------------------

    def _build_controls(self, function: str, eps: float, scheme: str, dtype: str) -> None:
        """A menu for f, a slider per parameter slot (unused ones hidden later), eps, toggles."""
        low, high = EPS_EXPONENT_RANGE
        self.function_menu = widgets.Dropdown(
            options=[(ex.label, key) for key, ex in self.autodiff.EXAMPLE_FUNCTIONS.items()],
            value=function,
            description="f",
        )
        self.point_sliders = [
            widgets.FloatSlider(min=-6.0, max=6.0, step=0.1, readout_format=".1f")
            for _ in range(_PARAMETER_SLOTS)
        ]
        self.eps_slider = widgets.FloatLogSlider(
            value=eps,
            base=10,
            min=low,
            max=high,
            step=0.25,
            description="eps",
            readout_format=".1e",
        )
        self.scheme_toggle = widgets.ToggleButtons(
            options=list(self.autodiff.SCHEMES), value=scheme, description="scheme"
        )
        self.dtype_toggle = widgets.ToggleButtons(
            options=list(EXPLORER_DTYPES), value=dtype, description="dtype"
        )
        # Which partial derivative's error the plot shows (the readouts show them all).
        self.parameter_menu = widgets.Dropdown(
            description="plot the error of", style={"description_width": "initial"}
        )

    def _build_readouts(self) -> None:
        self.finite_difference_readout = widgets.HTML()
        self.tape_readout = widgets.HTML()
        self.error_readout = widgets.HTML()
        self.best_eps_readout = widgets.HTML()
        self.message_readout = widgets.HTML()

    def _build_plot(self, eps: float) -> None:
        """The log-log V of the error against eps; every artist that moves is ``animated``."""
        low, high = EPS_EXPONENT_RANGE
        grid = self.eps_grid
        self.panel = FigurePanel(width=8.0, height=4.2)
        axes = self.axes = self.panel.axes
        axes.set(xscale="log", yscale="log", xlim=(10.0**low, 10.0**high), xlabel="eps (step)")
        axes.set_ylabel("|finite difference - tape|")
        axes.grid(True, which="major", alpha=0.3)
        # No minor ticks: hundreds of tick artists would be walked on every redraw, for nothing.
        axes.minorticks_off()
        (self.curve,) = axes.plot(grid, grid, color="C0", animated=True, label="measured error")
        (self.truncation_line,) = axes.plot(
            grid, grid, "--", color="C2", lw=1, animated=True, label="truncation (Taylor)"
        )
        (self.rounding_line,) = axes.plot(
            grid, grid, ":", color="C3", lw=1.5, animated=True, label="rounding"
        )
        self.best_line = axes.axvline(
            1e-6, color="0.4", lw=1, ls="-.", animated=True, label="best eps"
        )
        (self.marker,) = axes.plot(
            [eps], [1.0], "o", color="C1", ms=8, animated=True, label="current eps"
        )
        # Outside the axes, on the right: the curves and the best-eps line never run under it.
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", borderaxespad=0)
        axes.title.set_animated(True)

    # --- what the controls select ---------------------------------------------------------

    def example(self):
        return self.autodiff.EXAMPLE_FUNCTIONS[self.function_menu.value]

    def current_point(self) -> tuple[float, ...]:
        count = len(self.example().parameter_names)
        return tuple(float(slider.value) for slider in self.point_sliders[:count])

    def analysis(self) -> dict:
        """What depends on the point (not on eps): cached, so revisiting a point is free."""
        key = (
            self.function_menu.value,
            self.current_point(),
            self.scheme_toggle.value,
            self.dtype_toggle.value,
            self.parameter_menu.value,
        )
        if key not in self._point_cache:
            self._point_cache[key] = self._analyse_point()
        return self._point_cache[key]

    def _analyse_point(self) -> dict:
        """The tape gradient, the error curve over eps and the derivatives that scale the model."""
        autodiff, scheme, dtype = self.autodiff, self.scheme_toggle.value, self.dtype_toggle.value
        f, point, index = self.example().f, list(self.current_point()), self.parameter_menu.value
        derivatives = autodiff.derivatives_along(
            f, point, index, order=2 if scheme == "forward" else 3
        )
        tape = autodiff.tape_gradient(f, point, dtype)
        curve = autodiff.finite_difference_error_curve(
            f, point, self.eps_grid, index=index, scheme=scheme, dtype=dtype, reference=tape[index]
        )
        next_derivative = None
        if derivatives[-1] == 0:  # the leading Taylor term vanishes: the next one may not
            next_order = 3 if scheme == "forward" else 5
            next_derivative = autodiff.derivatives_along(f, point, index, order=next_order)[-1]
        return {
            "tape": tape,
            "curve": curve,
            "value": derivatives[0],
            "derivative": derivatives[-1],
            "next_derivative": next_derivative,
        }

    def clipped(self, errors):
        """Exact estimates (error 0) are drawn on the bottom edge: a log axis has no 0."""
        return np.maximum(errors, _ERROR_AXIS_LIMITS[self.dtype_toggle.value][0])

    def above_axis(self, errors):
        """The model's parts only where they are visible (a vanishing part is not drawn)."""
        return np.where(errors >= _ERROR_AXIS_LIMITS[self.dtype_toggle.value][0], errors, np.nan)

    # --- updates --------------------------------------------------------------------------

    def update_eps(self) -> None:
        """The fast path: finite differences at the new eps, the readouts and the marker."""
        tape = self.analysis()["tape"]
        result = self.autodiff.finite_difference_gradient(
            self.example().f,
            list(self.current_point()),
            self.eps_slider.value,
            self.scheme_toggle.value,
            self.dtype_toggle.value,
        )
        errors = self._show_gradients(result, tape)
        self.marker.set_data(
            [self.eps_slider.value], self.clipped([errors[self.parameter_menu.value]])
        )
        self.panel.redraw()

    def _show_gradients(self, result, tape) -> list:
        """Fill the three tables (estimate, tape, error) and return the absolute errors."""
        rows_fd, rows_tape, rows_error, errors = [], [], [], []
        names = self.example().parameter_names
        for name, estimate, exact in zip(names, result.gradient, tape, strict=True):
            absolute = abs(np.float64(estimate) - np.float64(exact))
            relative = f"{absolute / abs(np.float64(exact)):.1e}" if exact != 0 else "n/a"
            rows_fd.append((_partial_name(name), str(estimate)))
            rows_tape.append((_partial_name(name), str(exact)))
            rows_error.append((_partial_name(name), f"abs {absolute:.1e}, rel {relative}"))
            errors.append(absolute)
        self.finite_difference_readout.value = _table_html(
            f"finite differences ({result.calls} calls of f)", rows_fd
        )
        self.tape_readout.value = _table_html("tape (1 forward + 1 backward pass)", rows_tape)
        self.error_readout.value = _table_html("error of the finite differences", rows_error)
        return errors

    def update_point(self, full: bool = False) -> None:
        """Everything that depends on the point; then the eps readouts."""
        point = self.analysis()
        self.curve.set_ydata(self.clipped(point["curve"]))
        self._draw_error_model(point)
        name = _partial_name(self.example().parameter_names[self.parameter_menu.value])
        self._show_best_eps(point, name)
        self.axes.set_title(
            f"Error of {name}: {self.scheme_toggle.value} differences in {self.dtype_toggle.value}",
            fontsize="medium",
        )
        if full:
            # The title is animated, so the static background depends on the dtype's y-limits
            # alone: two cached backgrounds serve every function, scheme and parameter.
            self.axes.set_ylim(*_ERROR_AXIS_LIMITS[self.dtype_toggle.value])
            self.panel.redraw(full=True, background_key=self.dtype_toggle.value)
        self.update_eps()

    def _draw_error_model(self, point: dict) -> None:
        """The two parts of the error Taylor predicts: truncation (falls with eps) and rounding."""
        truncation, rounding = self.autodiff.finite_difference_error_model(
            self.eps_grid,
            self.scheme_toggle.value,
            self.dtype_toggle.value,
            value=point["value"],
            derivative=point["derivative"],
        )
        if point["next_derivative"]:  # f'' (or f''') is 0 here: Taylor's next term truncates
            truncation = self.autodiff.next_order_truncation(
                self.eps_grid, self.scheme_toggle.value, derivative=point["next_derivative"]
            )
        self.truncation_line.set_ydata(self.above_axis(truncation))
        self.rounding_line.set_ydata(self.above_axis(rounding))

    def _show_best_eps(self, point: dict, name: str) -> None:
        """The eps at the bottom of the V, drawn and written; or why there is none."""
        scheme, dtype = self.scheme_toggle.value, self.dtype_toggle.value
        leading, following = ("second", "third") if scheme == "forward" else ("third", "fifth")
        best = self.autodiff.theoretical_best_eps(
            scheme, dtype, value=point["value"], derivative=point["derivative"]
        )
        note = ""
        if not np.isfinite(best) and point["next_derivative"]:
            best = self.autodiff.next_order_best_eps(
                scheme, dtype, value=point["value"], derivative=point["next_derivative"]
            )
            term = "eps² |f'''| / 6" if scheme == "forward" else "eps⁴ |f⁽⁵⁾| / 120"
            note = (
                f"Its {leading} derivative is 0 here, so truncation starts at Taylor's next "
                f"term, {term}. "
            )
        if np.isfinite(best) and best > 0:
            self.best_line.set_xdata([best, best])
            self.best_line.set_visible(True)
            self.best_eps_readout.value = html.escape(note) + (
                f"Theoretical best eps for {html.escape(name)} "
                f"({scheme}, {dtype}): <code>{best:.1e}</code>"
            )
        elif best == 0:  # |f| = 0 at the point: the rounding model u·|f| / eps vanishes
            self.best_line.set_visible(False)
            self.best_eps_readout.value = html.escape(
                f"{note}f is 0 at this point, so rounding does not grow like 1 / eps (it stays "
                f"near u·|{name}|): there is no V, and the smaller eps, the smaller the error."
            )
        else:
            self.best_line.set_visible(False)
            self.best_eps_readout.value = html.escape(
                f"No truncation error from Taylor's first two terms for {name} here (its "
                f"{leading} and {following} derivatives are 0): rounding is what is left, so a "
                "larger eps does better, as long as the measured curve keeps falling."
            )

    def show_function(self) -> None:
        """Name, set and show one point slider per parameter; reset the plotted parameter."""
        chosen = self.example()
        for slot, slider in enumerate(self.point_sliders):
            used = slot < len(chosen.parameter_names)
            slider.layout.display = None if used else "none"
            if used:
                slider.description = chosen.parameter_names[slot]
                slider.value = chosen.default_point[slot]
        self.parameter_menu.options = [
            (_partial_name(name), index) for index, name in enumerate(chosen.parameter_names)
        ]
        self.parameter_menu.value = 0

    def on_function(self) -> None:
        self.show_function()
        self.update_point(full=True)

    # --- wiring and layout ----------------------------------------------------------------

    def guarded(self, update, **kwargs):
        """``update`` as a handler: not re-entered, and a bad value shows in ``message``."""

        def handler(change=None):
            if self._quiet:
                return
            self._quiet = True  # changes made by this update must not re-enter it
            try:
                update(**kwargs)
                self.message_readout.value = ""
            except (ValueError, FloatingPointError) as error:
                self.message_readout.value = message_html(str(error), "error")
            finally:
                self._quiet = False

        return handler

    def reactions(self) -> list:
        """``(control, handler)`` pairs, in the order the controls are observed."""
        full_point = self.guarded(self.update_point, full=True)
        return [
            (self.function_menu, self.guarded(self.on_function)),
            *((control, full_point) for control in self._toggles()),
            *((slider, self.guarded(self.update_point)) for slider in self.point_sliders),
            (self.eps_slider, self.guarded(self.update_eps)),
        ]

    def _toggles(self) -> tuple:
        return self.scheme_toggle, self.dtype_toggle, self.parameter_menu

    def layout(self) -> widgets.VBox:
        for readout in (self.finite_difference_readout, self.tape_readout):
            readout.layout.margin = "0 2em 0 0"
        readouts_row = widgets.HBox(
            [self.finite_difference_readout, self.tape_readout, self.error_readout]
        )
        sliders = self.point_sliders
        return widgets.VBox(
            [
                self.function_menu,
                widgets.HBox([widgets.VBox(sliders[:2]), widgets.VBox(sliders[2:])]),
                self.eps_slider,
                widgets.HBox([self.scheme_toggle, self.dtype_toggle]),
                readouts_row,
                self.best_eps_readout,
                self.message_readout,
                self.parameter_menu,
                self.panel.image,
            ]
        )

    def lesson_widget(self) -> LessonWidget:
        controls = {
            "function": self.function_menu,
            **{f"param{slot + 1}": slider for slot, slider in enumerate(self.point_sliders)},
            "eps": self.eps_slider,
            "scheme": self.scheme_toggle,
            "dtype": self.dtype_toggle,
            "parameter": self.parameter_menu,
        }
        readouts = {
            "finite_difference": self.finite_difference_readout,
            "tape": self.tape_readout,
            "error": self.error_readout,
            "best_eps": self.best_eps_readout,
            "message": self.message_readout,
            "plot": self.panel.image,
        }
        return LessonWidget(self.layout(), controls, readouts)


@lesson_widget_builder
def make_gradient_explorer_widget(
    function: str = "book", eps: float = 1e-6, scheme: str = "forward", dtype: str = "float64"
) -> LessonWidget:
    """Finite-difference and tape gradients side by side, and the V-shaped error against eps.

    Controls: ``function`` (a key of ``helpers.lesson04_autodiff.EXAMPLE_FUNCTIONS``), the point
    (``param1`` ... ``param4``, one slider per parameter, the unused ones hidden), ``eps`` (a
    ``FloatLogSlider``), ``scheme``, ``dtype`` and ``parameter`` (whose error the plot shows).
    Readouts: ``finite_difference`` and ``tape`` (``str()`` of each NumPy value, exactly what
    ``finite_difference_gradient``/``tape_gradient`` return), ``error`` (absolute and
    relative, per parameter), ``best_eps``, ``message`` and the ``plot``.

    Speed: the curve, the tape gradient and the derivatives that scale the theoretical best
    eps depend on the point, not on eps, and are cached per point; an eps move recomputes only
    the finite differences (n + 1 or 2n calls of a tiny function) and redraws the marker.
    """
    _validate_explorer_arguments(function, eps, scheme, dtype)
    explorer = _GradientExplorer(function, eps, scheme, dtype)
    for control, handler in explorer.reactions():
        control.observe(handler, names="value")
    explorer.guarded(explorer.on_function)()
    return explorer.lesson_widget()


# The cost widget's default sizes: a decade apart, measured in about a second in all
# (finite differences on at most 10 coordinates each: every coordinate costs the same).
COST_WIDGET_SIZES = (10, 100, 1_000, 10_000, 100_000)
# What the cost plot draws: label -> (GradientCost field, colour, marker symbol).
_COST_SERIES = {
    "forward differences": ("forward_difference_seconds", "C0", "o"),
    "central differences": ("central_difference_seconds", "C1", "s"),
    "tape (one gradient)": ("tape_seconds", "C2", "^"),
    "one forward pass": ("forward_seconds", "0.5", "."),
}


def _measured_costs(n_values, costs, max_coordinates: int, repeats: int) -> list:
    """The costs to show, sorted by n: measured now unless given, and checked either way."""
    from helpers import lesson04_gradient_cost as gradient_cost

    if costs is None:
        n_values = sorted({int(n) for n in n_values})
        if not n_values:
            raise ValueError("n_values must hold at least one number of parameters")
        costs = [
            gradient_cost.measure_gradient_cost(n, max_coordinates=max_coordinates, repeats=repeats)
            for n in n_values
        ]
    if not costs or not all(isinstance(cost, gradient_cost.GradientCost) for cost in costs):
        raise ValueError(
            "costs must be a non-empty list of helpers.lesson04_gradient_cost.GradientCost"
        )
    return sorted(costs, key=lambda cost: cost.n_params)


def _cost_table_html(cost) -> str:
    """One n's readout: time, calls of f and multiple of one forward pass, per method."""
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
    warning = ""
    if cost.is_noise:
        warning = "<br>" + message_html(
            f"Noise at this n: the repeated timings disagree (spread {cost.spread:.0%}) or the "
            f"tape seems cheaper than the forward pass it records ({cost.tape_ratio:.2g}×), "
            "which it cannot be. Each call is so short that the machine's jitter dominates: "
            "trust the calls column here, and the times at larger n.",
            "error",
        )
    return (
        f"<b>n = {cost.n_params:,} parameters</b> (one forward pass: "
        f"{cost.forward_seconds * 1e3:.3f} ms; {note})<table>{cells}</table>{warning}"
    )


class _GradientCostView:
    """The measured costs as curves against n, with markers and a table for the chosen n.

    Everything is measured before the view is built; the curves are static (drawn once into
    the panel's background), so a slider move only moves the animated markers and rewrites
    the table.
    """

    def __init__(self, costs: list):
        self.by_n = {cost.n_params: cost for cost in costs}
        self.markers: list = []  # (marker artist, GradientCost field it shows)
        self._build_plot(costs)
        self.slider = widgets.SelectionSlider(
            options=[(f"{n:,}", n) for n in self.by_n], value=costs[0].n_params, description="n"
        )
        self.readout = widgets.HTML()

    def _build_plot(self, costs: list) -> None:
        self.panel = FigurePanel(width=6.0, height=3.4)
        axes = self.panel.axes
        sizes = np.array(list(self.by_n), dtype=float)
        for label, (field_name, colour, symbol) in _COST_SERIES.items():
            seconds = [getattr(cost, field_name) for cost in self.by_n.values()]
            axes.plot(sizes, seconds, "-", color=colour, marker=symbol, ms=4, label=label)
            (marker,) = axes.plot([], [], symbol, color=colour, ms=11, mfc="none", animated=True)
            self.markers.append((marker, field_name))
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

    def show(self) -> None:
        """Mark the chosen n on every curve and write its table."""
        cost = self.by_n[self.slider.value]
        for marker, field_name in self.markers:
            marker.set_data([cost.n_params], [getattr(cost, field_name)])
        self.panel.redraw()
        self.readout.value = _cost_table_html(cost)

    def lesson_widget(self) -> LessonWidget:
        box = widgets.VBox([self.slider, self.readout, self.panel.image])
        return LessonWidget(
            box, {"n_params": self.slider}, {"cost": self.readout, "plot": self.panel.image}
        )


@lesson_widget_builder
def make_gradient_cost_widget(
    n_values=COST_WIDGET_SIZES, *, costs=None, max_coordinates: int = 10, repeats: int = 3
) -> LessonWidget:
    """What one gradient costs against the number of parameters n: finite differences vs tape.

    Each n is measured once, with ``helpers.lesson04_gradient_cost.measure_gradient_cost`` (the
    benchmark's implementation too), before the widget is shown; the ``n_params`` slider then
    only moves markers and rewrites the readout. Pass ``costs`` (a list of ``GradientCost``) to show
    measurements made elsewhere instead.

    Controls: ``n_params`` (a selection slider over the measured n, log-spaced).
    Readouts: ``cost`` (time, calls of f and multiple of one forward pass, per method) and the
    log-log ``plot`` of seconds against n.
    """
    view = _GradientCostView(_measured_costs(n_values, costs, max_coordinates, repeats))
    view.panel.redraw(full=True)
    view.slider.observe(lambda change: view.show(), names="value")
    view.show()
    return view.lesson_widget()
