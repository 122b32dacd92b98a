"""Lesson 06's widgets: three softplus versions side by side, and a gradient check you can steer.

Both are small classes with named methods (build the controls, compute, render) behind a
``make_..._widget`` function that returns a :class:`LessonWidget`, as the other lessons do.
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

import functools
import html
import math

import ipywidgets as widgets
import numpy as np

# z values from -1000 to 1000 on a roughly logarithmic ladder: the interesting places are 0
# (where the stable version's autodiff gradient is wrong), about -17 (where 1 + exp(z) rounds
# to 1 in float32), 88 and 709 (where the naive gradient is a silent, wrong 0: 1 / (exp(z) + 1)
# is subnormal and flushed to zero) and 89 and 710 (where exp overflows: inf and nan).
SOFTPLUS_Z_VALUES = tuple(
    sorted(
        {0.0}
        | {sign * v for sign in (-1, 1) for v in (0.5, 1, 2, 5, 10, 20, 30, 50, 88, 89, 100)}
        | {sign * v for sign in (-1, 1) for v in (200, 500, 709, 710, 1000)}
    )
)
GRADIENT_DTYPES = ("float32", "float64")
SOFTPLUS_VERSIONS = {
    "naive": "naive: log(exp(z) + 1)",
    "stable": "stable forward pass, autodiff's gradient",
    "custom": "my_better_softplus (custom gradient)",
}
_VERSION_COLOURS = {"naive": "C3", "stable": "C0", "custom": "C2"}


def _softplus_functions() -> dict:
    from helpers import lesson06_gradients as gradients

    return {
        "naive": gradients.my_softplus,
        "stable": gradients.stable_softplus,
        "custom": gradients.my_better_softplus,
    }


# A shown number is wrong when it is nan or inf, or further from the true value than 100 units
# in the last place (rounding and CPU differences stay far below that). Numbers below the
# dtype's normal range count as 0: TensorFlow's CPU kernels flush such subnormals to zero.
_ULPS, _TINY = 100, {"float32": 1.2e-38, "float64": 2.3e-308}
_EPSILON = {"float32": 1.2e-7, "float64": 2.3e-16}


def is_wrong(value: float, true: float, dtype: str) -> bool:
    """Whether ``value`` differs from ``true`` by more than rounding in ``dtype`` (nan, inf
    or a finite number far off, such as the naive gradient's silent 0 at z = 88)."""
    if not math.isfinite(value):
        return value != true  # nan is never right, inf only where the true value is inf
    return abs(value - true) > _ULPS * _EPSILON[dtype] * abs(true) + _TINY[dtype]


def _plain(value: float, wrong: bool = False) -> str:
    """A number as a learner should read it: nan and inf spelled out, a wrong one red."""
    text = str(value) if not math.isfinite(value) else f"{value:.8g}"
    if wrong:
        return f'<b style="color:#cf222e">{text}</b>'
    return f"<code>{text}</code>"


def true_softplus(z: float) -> tuple[float, float]:
    """Softplus and its derivative (the sigmoid) at ``z``, in Python floats that never
    overflow (``math.exp`` raises where ``tf.exp`` says inf)."""
    value = max(z, 0.0) + math.log1p(math.exp(-abs(z)))
    sigmoid = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
    return value, sigmoid


@functools.cache
def _softplus_gradient_curves(dtype: str) -> tuple[np.ndarray, dict]:
    """Each version's gradient on a symmetric grid from -1000 to 1000 (cached per dtype)."""
    import tensorflow as tf

    magnitudes = np.logspace(-2, 3, 81)
    z_grid = np.concatenate([-magnitudes[::-1], [0.0], magnitudes])
    curves = {}
    for key, function in _softplus_functions().items():
        z = tf.Variable(z_grid, dtype=dtype)
        with tf.GradientTape() as tape:
            value = function(z)  # elementwise: the gradient of the sum is each derivative
        curves[key] = tape.gradient(value, z).numpy().astype(np.float64)
    return z_grid, curves


class SoftplusExplorer:
    """Value and gradient of the three softplus versions at ``z``, and their gradient curves."""

    def __init__(self, z: float, dtype: str):
        self.z = widgets.SelectionSlider(
            options=[(f"{v:g}", v) for v in SOFTPLUS_Z_VALUES], value=z, description="z"
        )
        self.dtype = widgets.ToggleButtons(
            options=list(GRADIENT_DTYPES), value=dtype, style={"button_width": "70px"}
        )
        self.table = widgets.HTML()
        self.panel = FigurePanel(width=8.0, height=3.4)
        self._build_plot()
        self.update(full=True)  # make_softplus_widget wires the controls to update()

    def _build_plot(self) -> None:
        ax = self.panel.axes
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set(xlim=(-1000, 1000), ylim=(-0.1, 1.25), xlabel="z (symmetric log scale)")
        ax.set_ylabel("gradient d softplus / dz")
        ax.axhline(1.15, color="0.85", lw=6, zorder=0)
        ax.text(-900, 1.15, "nan ×", va="center", fontsize="small", color="0.3")
        self.lines, self.nan_marks, self.dots = {}, {}, {}
        for key, label in SOFTPLUS_VERSIONS.items():
            colour = _VERSION_COLOURS[key]
            width = 4 if key == "naive" else 1.5  # drawn first and wide: it hides below the others
            (self.lines[key],) = ax.plot([], [], color=colour, lw=width, label=label)
            (self.nan_marks[key],) = ax.plot([], [], "x", color=colour, ms=4)
            (self.dots[key],) = ax.plot([], [], "o", color=colour, ms=7, animated=True)
        self.cursor = ax.axvline(0.0, color="0.4", lw=1, ls="--", animated=True)
        # Beside the axes, not on them: inside, the long labels reach the curves wherever it sits.
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))

    def update(self, full: bool = False) -> None:
        from helpers.lesson06_gradients import value_and_gradient

        z, dtype = self.z.value, self.dtype.value
        rows = []
        for key, function in _softplus_functions().items():
            value, gradient = value_and_gradient(function, z, dtype)
            rows.append((SOFTPLUS_VERSIONS[key], value, gradient))
            shown = gradient if math.isfinite(gradient) else 1.15
            self.dots[key].set_data([z], [shown])
        self.table.value = self._table_html(z, dtype, rows)
        self.cursor.set_xdata([z, z])
        if full:
            self._draw_curves(dtype)
        self.panel.redraw(full=full, background_key=dtype)

    def _draw_curves(self, dtype: str) -> None:
        z_grid, curves = _softplus_gradient_curves(dtype)
        for key, gradient in curves.items():
            finite = np.isfinite(gradient)
            self.lines[key].set_data(z_grid, np.where(finite, gradient, np.nan))
            self.nan_marks[key].set_data(z_grid[~finite], np.full((~finite).sum(), 1.15))
        self.panel.axes.set_title(f"Gradients of the three versions, {dtype}", fontsize="medium")

    @staticmethod
    def _table_html(z: float, dtype: str, rows) -> str:
        true_value, true_gradient = true_softplus(z)
        cells, silent = [], False
        for label, value, grad in rows:
            wrong_value = is_wrong(value, true_value, dtype)
            wrong_gradient = is_wrong(grad, true_gradient, dtype)
            silent |= (wrong_value and math.isfinite(value)) or (
                wrong_gradient and math.isfinite(grad)
            )
            cells.append(
                f"<tr><td>{html.escape(label)}</td><td>{_plain(value, wrong_value)}</td>"
                f"<td>{_plain(grad, wrong_gradient)}</td></tr>"
            )
        # By more than rounding: at z = -20 a right float32 value prints 2.0611537e-09 against
        # the true 2.0611536e-09, and the same digits are red in float64, where they are wrong.
        note = f"red: differs from the true value by more than {dtype} rounding"
        if silent:
            note += " · a wrong <i>finite</i> number: no nan warns you of it"
        return (
            f"<b>softplus at z = {z:g} ({dtype})</b> · true value <code>{true_value:.8g}</code>, "
            f"true gradient (sigmoid): <code>{true_gradient:.8g}</code>"
            f'<table style="border-spacing:1em 0.2em">'
            f"<tr><th>version</th><th>value</th><th>gradient</th></tr>{''.join(cells)}</table>"
            f"<small>{note}</small>"
        )


@lesson_widget_builder
def make_softplus_widget(z: float = 100.0, dtype: str = "float32") -> LessonWidget:
    """Softplus three ways (naive, stable forward pass, custom gradient) at a chosen ``z``.

    Controls: ``z`` (from -1000 to 1000, :data:`SOFTPLUS_Z_VALUES`) and ``dtype``. Readouts:
    ``table`` (value and gradient of each version, in red wherever it differs from the true
    one: ``nan``, ``inf``, or a wrong finite number such as the naive gradient's 0 at z = 88;
    and the true value and gradient) and ``plot`` (the three gradient curves, ``nan`` as
    crosses on the top band).
    A move of ``z`` computes six scalars and redraws the markers; the curves are cached per dtype.
    """
    check_choice("z", z, SOFTPLUS_Z_VALUES)
    check_choice("dtype", dtype, GRADIENT_DTYPES)
    explorer = SoftplusExplorer(z, dtype)

    def on_z_change(change):
        explorer.update()

    def on_dtype_change(change):
        explorer.update(full=True)  # new curves and axes title: a full redraw

    explorer.z.observe(on_z_change, names="value")
    explorer.dtype.observe(on_dtype_change, names="value")
    box = widgets.VBox(
        [widgets.HBox([explorer.z, explorer.dtype]), explorer.table, explorer.panel.image]
    )
    return LessonWidget(
        box,
        controls={"z": explorer.z, "dtype": explorer.dtype},
        readouts={"table": explorer.table, "plot": explorer.panel.image},
    )


# --------------------------------------------------------------------------------------------
# The gradient-check explorer
# --------------------------------------------------------------------------------------------

CHECK_LAYERS = {
    "MyDense": "MyDense(3, activation='tanh')",
    "ResidualBlock": "ResidualBlock(2, 2)",
    "MyLayerNormalization": "MyLayerNormalization()",
    "MySoftplusDense": "MySoftplusDense(3) (correct custom gradient)",
    "MySoftplusDense (broken)": "MySoftplusDense(3, broken_gradient=True)",
}
CHECK_EPS_EXPONENT_RANGE = (-12, -1)
_ERROR_COLOUR_RANGE = (1e-16, 1.0)


def _new_layer(name: str):
    from helpers import lesson01_layers as layers
    from helpers import lesson02_models as models
    from helpers import lesson06_gradients as gradients

    return {
        "MyDense": lambda: layers.MyDense(3, activation="tanh"),
        "ResidualBlock": lambda: models.ResidualBlock(2, 2),
        "MyLayerNormalization": lambda: layers.MyLayerNormalization(),
        "MySoftplusDense": lambda: gradients.MySoftplusDense(3),
        "MySoftplusDense (broken)": lambda: gradients.MySoftplusDense(3, broken_gradient=True),
    }[name]()


class _CheckedLayer:
    """A small layer built in one dtype with fixed weights, its compiled forward pass, and the
    eps-independent half of its gradient check (the tape's Jacobian), computed once."""

    def __init__(self, name: str, dtype: str):
        from helpers import lesson06_gradient_check as checker
        from helpers import lesson06_gradients as gradients

        import tensorflow as tf

        rng = np.random.default_rng(6)  # fixed weights and inputs, the learner's seed untouched
        # Two rows; a residual block's inputs are as wide as its units (2, to keep it fast).
        width = 2 if name == "ResidualBlock" else 3
        self.inputs = tf.constant(rng.normal(size=(2, width)), dtype)
        with gradients.floatx(dtype):
            self.layer = _new_layer(name)
            self.layer(self.inputs)
        for weight in self.layer.trainable_variables:
            weight.assign(0.7 * rng.normal(size=tuple(weight.shape)))
        self.weights = checker.prepare_check_inputs(self.layer.trainable_variables)
        # Compiled once (with no arguments: it reads the weights, as the layer does), since
        # the finite differences call it twice per weight entry.
        compiled = tf.function(self._forward, autograph=False)
        self.forward = lambda *weights: compiled()
        # The tape's half runs eagerly: differentiating through the compiled function would
        # first build its gradient graph, several times slower on a layer's first visit.
        self.output, self.analytic, _ = checker.tape_jacobian(self._forward, self.weights)

    def _forward(self, *weights):
        return self.layer(self.inputs)

    def check(self, eps: float):
        from helpers import lesson06_gradient_check as checker

        numerical, calls = checker.central_difference_jacobian(
            self.forward, self.weights, eps, self.output.shape
        )
        return checker.compare_jacobians(
            self.weights,
            self.output,
            self.analytic,
            numerical,
            eps,
            checker.DEFAULT_ATOL,
            checker.DEFAULT_RTOL,
            calls + 1,
        )


@functools.cache
def _checked_layer(name: str, dtype: str) -> _CheckedLayer:
    return _CheckedLayer(name, dtype)


@functools.lru_cache(maxsize=256)
def _check_report(name: str, dtype: str, eps: float):
    """The check of a layer at one eps: what the slider sweeps, so it is cached."""
    return _checked_layer(name, dtype).check(eps)


def _error_grid(report) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Every weight's worst relative error per entry, stacked as rows of one image (a bias is
    one row, a kernel one row per input), blocks separated by an empty (nan) row."""
    blocks, ticks, row = [], [], 0
    width = max(shape[-1] if shape else 1 for shape in report.input_shapes)
    for index, name in enumerate(report.input_names):
        errors = report.relative_errors_by_entry(index)
        block = np.atleast_2d(errors).reshape(-1, errors.shape[-1] if errors.ndim else 1)
        padded = np.full((block.shape[0], width), np.nan)
        padded[:, : block.shape[1]] = block
        if blocks:
            blocks.append(np.full((1, width), np.nan))
            row += 1
        blocks.append(padded)
        label = "/".join(name.split("/")[1:]) or name  # the path inside the layer
        ticks.append((row + (block.shape[0] - 1) / 2, label))
        row += block.shape[0]
    return np.vstack(blocks), ticks


class GradientCheckExplorer:
    """Choose a layer, a dtype and eps; see each weight entry's relative error as a heatmap.

    Each layer gets its own figure (its weights' shapes set the image's), drawn once and kept:
    going back to a layer only updates the pixels. The ``plot`` readout is one ``Image`` that
    shows the current layer's figure.
    """

    def __init__(self, layer: str, dtype: str, eps: float):
        low, high = CHECK_EPS_EXPONENT_RANGE
        self.layer = widgets.Dropdown(options=list(CHECK_LAYERS), value=layer, description="layer")
        self.dtype = widgets.ToggleButtons(
            options=list(GRADIENT_DTYPES), value=dtype, style={"button_width": "70px"}
        )
        self.eps = widgets.FloatLogSlider(
            value=eps, base=10, min=low, max=high, step=0.5, description="eps", readout_format=".0e"
        )
        self.summary = widgets.HTML()
        self.plot = widgets.Image(format="png", layout=widgets.Layout(width="520px"))
        self.figures: dict[str, tuple[FigurePanel, object]] = {}  # layer -> (panel, its image)
        self.report = None
        self.update()  # make_gradient_check_widget wires the controls to update()

    def update(self) -> None:
        """Check the layer at the current settings (cached) and show the result."""
        try:
            report = _check_report(self.layer.value, self.dtype.value, self.eps.value)
        except Exception as error:  # a widget shows a problem, it does not raise
            self.summary.value = message_html(f"{type(error).__name__}: {error}", "error")
            return
        self.report = report
        grid, ticks = _error_grid(report)
        panel, image = self._figure(self.layer.value, grid, ticks)
        image.set_data(np.clip(grid, *_ERROR_COLOUR_RANGE))
        layer_path = _checked_layer(self.layer.value, self.dtype.value).layer.path
        self.summary.value = self._summary_html(report, layer_path)
        panel.redraw()
        self.plot.value = panel.image.value

    def _figure(self, layer: str, grid: np.ndarray, ticks):
        """The layer's figure: drawn on its first visit, reused after."""
        if layer not in self.figures:
            import matplotlib
            from matplotlib.colors import LogNorm

            panel = FigurePanel(width=6.5, height=3.6)
            # A fixed layout and fixed colour-bar ticks: the constrained layout and LogNorm's
            # tick finder would double the time of the layer's first draw.
            figure = panel.figure
            figure.set_layout_engine("none")
            ax = panel.axes
            ax.set_position([0.22, 0.14, 0.58, 0.76])
            image = ax.imshow(
                np.clip(grid, *_ERROR_COLOUR_RANGE),
                norm=LogNorm(*_ERROR_COLOUR_RANGE),
                cmap=matplotlib.colormaps["viridis"].with_extremes(bad="white"),  # nan: a gap
                aspect="auto",
                animated=True,
            )
            ax.set_yticks([position for position, _ in ticks], [label for _, label in ticks])
            ax.set_xticks(range(grid.shape[1]))
            ax.set_xlabel("column (output unit or feature)")
            ax.set_title(f"Relative error per weight entry: {layer}", fontsize="medium")
            colour_bar = figure.colorbar(image, cax=figure.add_axes([0.83, 0.14, 0.03, 0.76]))
            colour_bar.set_ticks(
                [1e-16, 1e-12, 1e-8, 1e-4, 1.0], labels=["1e-16", "1e-12", "1e-8", "1e-4", "1"]
            )
            colour_bar.set_label("|tape - finite diff.| / scale")
            self.figures[layer] = (panel, image)
        return self.figures[layer]

    @staticmethod
    def _summary_html(report, layer_path: str) -> str:
        colour = "ok" if report.passed else "error"
        verdict = message_html(
            f"{report.verdict}: worst |error| / (atol + rtol·|n|) {report.tolerance_used:.2g} "
            f"(passes up to 1), max relative error {report.max_rel_error:.2g}, "
            f"max |error| {report.max_abs_error:.2g} ({report.dtype}, eps={report.eps:.0e}, "
            f"atol={report.atol:g}, rtol={report.rtol:g})",
            colour,
        )
        worst = report.worst.describe() if report.worst else "none"
        worst = worst.replace(f"{layer_path}/", "")  # a weight's path inside the layer
        return f"{verdict}<br>worst entry: <code>{html.escape(worst)}</code>"


@lesson_widget_builder
def make_gradient_check_widget(
    layer: str = "MyDense", dtype: str = "float64", eps: float = 1e-6
) -> LessonWidget:
    """A gradient check of a real layer's weights, steered by layer, dtype and eps.

    Controls: ``layer`` (a key of :data:`CHECK_LAYERS`, including a layer whose custom
    gradient is deliberately broken), ``dtype`` and ``eps`` (a ``FloatLogSlider``). Readouts:
    ``summary`` (passed or failed against ``torch.autograd.gradcheck``'s tolerances, with the
    measure the verdict reads, and the worst entry) and ``plot`` (the worst relative error of
    every weight entry, log colour scale).

    Speed: per layer and dtype, the layer is built and compiled and the tape's Jacobian is
    computed once (cached); an eps move only reruns the finite differences (2 compiled calls
    per weight entry; each result is cached too) and redraws the image. A layer's figure is
    drawn on its first visit only.
    """
    check_choice("layer", layer, CHECK_LAYERS)
    check_choice("dtype", dtype, GRADIENT_DTYPES)
    low, high = CHECK_EPS_EXPONENT_RANGE
    require_log_in_range("eps", eps, low, high)
    explorer = GradientCheckExplorer(layer, dtype, eps)

    def on_change(change):
        explorer.update()

    for control in (explorer.layer, explorer.dtype, explorer.eps):
        control.observe(on_change, names="value")
    box = widgets.VBox(
        [
            widgets.HBox([explorer.layer, explorer.dtype]),
            explorer.eps,
            explorer.summary,
            explorer.plot,
        ]
    )
    return LessonWidget(
        box,
        controls={"layer": explorer.layer, "dtype": explorer.dtype, "eps": explorer.eps},
        readouts={"summary": explorer.summary, "plot": explorer.plot},
    )
