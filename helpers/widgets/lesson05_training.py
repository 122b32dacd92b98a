"""Lesson 05's widgets: a training-loop explorer and a tracing explorer.

Both are small classes: the constructor builds the controls, named methods do one thing each
(train, draw, describe), and :meth:`lesson_widget` hands out the usual :class:`LessonWidget`.
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

import contextlib
import html
import statistics
import time

import ipywidgets as widgets
import numpy as np

OPTIMIZER_CHOICES = ("SGD", "SGD + momentum", "RMSprop", "Adam", "Nadam")
LEARNING_RATE_EXPONENT_RANGE = (-4, 0)
BATCH_SIZE_CHOICES = (8, 16, 32, 64, 128)
# At most 50 steps per press: even eager Nadam steps (15 to 35 ms each here, under load) answer
# within about 2 s.
TRAIN_STEP_CHOICES = (10, 20, 30, 50)


@contextlib.contextmanager
def _tensorflow_errors_only():
    """Silence TensorFlow's logger below ERROR (its retracing warnings) for a block, then
    restore its level: both explorers retrace on purpose and show it in their readouts."""
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def _make_optimizer(name: str, learning_rate: float):
    import keras

    if name == "SGD":
        return keras.optimizers.SGD(learning_rate)
    if name == "SGD + momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return getattr(keras.optimizers, name)(learning_rate)


def variable_labels(model) -> dict[str, str]:
    """A label for each trainable variable's path that stays the same from one model to the
    next: ``"layer 1 (Dense)/kernel"``, not the path's ``"dense_38/kernel"``, whose counter
    Keras advances with each layer it builds in the session."""
    return {
        variable.path: f"layer {index} ({type(layer).__name__})/{variable.name}"
        for index, layer in enumerate(model.layers, start=1)
        for variable in layer.trainable_variables
    }


def loss_axis_limits(losses, previous_losses=None) -> tuple[float, float]:
    """The log y-axis range for a run's losses: this run's own range, widened for the previous
    run only within a decade of it. So after a diverged run (losses up to 1e36) the next curve
    is not flattened: the grey previous curve is clipped at the edge of the plot instead."""
    current = [v for v in losses if np.isfinite(v) and v > 0]
    previous = [v for v in previous_losses or [] if np.isfinite(v) and v > 0]
    if not current:  # diverged at once: show the previous run, if any
        current, previous = previous, []
    if not current:
        return 0.3, 30.0
    low, high = min(current), max(current)
    low = min([low] + [v for v in previous if v >= low / 10])
    high = max([high] + [v for v in previous if v <= high * 10])
    return low / 1.5, high * 1.5


class TrainingLoopExplorer:
    """Train the lesson's model for N steps in a chosen mode; see the loss, the time, the gradients.

    Controls: ``mode`` (eager / function / xla), ``optimizer``, ``learning_rate`` (a log
    slider), ``batch_size``, ``steps`` and the ``train`` button. Moving a control only says
    what the next run will be (fast); pressing Train runs it from the same initial weights and
    the same batches, so two runs differ only by what you changed: the execution mode changes
    the time per step, not the curve (the lesson's model has no random layer; with Dropout,
    XLA would draw other random numbers). Readouts: ``plot`` (this run's loss, the previous one
    in grey, clipped to this run's scale), ``timing`` (the first call, which traces or
    compiles, and the median later step), ``gradients`` (per-variable gradient norms of the
    last step, labelled by layer) and ``message``.

    The optimizer is built before the step's first call, as ``fit`` builds it, so that call
    traces once (an unbuilt optimizer would make it trace twice: the readout says "tracing").

    Speed: one model, optimizer and compiled step is kept per (mode, optimizer, batch size);
    a later run with the same three restores the initial weights and the optimizer's initial
    variables (not zeros: Nadam's running product of momentum factors starts at 1) instead of
    tracing again.
    """

    # The controls that set up the next run (all but the Train button).
    SETTINGS = ("mode", "optimizer", "learning_rate", "batch_size", "steps")

    def __init__(self, mode="function", optimizer="Nadam", learning_rate=0.01, batch_size=32):
        from helpers import data
        from helpers import lesson05_training as training

        training.validate_mode(mode)
        check_choice("optimizer", optimizer, OPTIMIZER_CHOICES)
        low, high = LEARNING_RATE_EXPONENT_RANGE
        require_log_in_range("learning_rate", learning_rate, low, high)
        check_choice("batch_size", batch_size, BATCH_SIZE_CHOICES)
        self.data = data.load_regression_data()
        self._runs: dict = {}
        self._previous_losses: list[float] | None = None
        self.controls = {
            "mode": widgets.ToggleButtons(
                options=list(training.EXECUTION_MODES), value=mode, description="mode"
            ),
            "optimizer": widgets.Dropdown(
                options=list(OPTIMIZER_CHOICES), value=optimizer, description="optimizer"
            ),
            "learning_rate": widgets.FloatLogSlider(
                value=learning_rate,
                base=10,
                min=low,
                max=high,
                step=0.25,
                description="learning rate",
                readout_format=".1e",
                style={"description_width": "initial"},
            ),
            "batch_size": widgets.SelectionSlider(
                options=list(BATCH_SIZE_CHOICES), value=batch_size, description="batch size"
            ),
            "steps": widgets.SelectionSlider(
                options=list(TRAIN_STEP_CHOICES), value=50, description="steps"
            ),
            "train": widgets.Button(description="Train", button_style="primary"),
        }
        self.readouts = {
            "plan": widgets.HTML(),
            "timing": widgets.HTML(),
            "gradients": widgets.HTML(),
            "message": widgets.HTML(),
        }
        self.panel = self._make_panel()
        self.readouts["plot"] = self.panel.image
        for name in self.SETTINGS:
            self.controls[name].observe(self.describe_plan, names="value")
        self.controls["train"].on_click(self.on_train)
        self.describe_plan()

    def _make_panel(self) -> FigurePanel:
        panel = FigurePanel(width=6.0, height=3.2)
        axes = panel.axes
        axes.set(yscale="log", xlabel="step", ylabel="training loss (batch)")
        axes.grid(True, alpha=0.3)
        (self._previous_line,) = axes.plot([], [], color="0.7", lw=1, label="previous run")
        (self._line,) = axes.plot([], [], color="C0", lw=1.5, label="this run")
        axes.legend(loc="upper right", fontsize="small")
        axes.set(xlim=(0, max(TRAIN_STEP_CHOICES) + 1), ylim=(0.3, 30))
        axes.set_title("Press Train to see the loss of each step", fontsize="medium")
        panel.redraw(full=True)
        return panel

    def settings(self) -> dict:
        return {name: self.controls[name].value for name in self.SETTINGS}

    def describe_plan(self, change=None) -> None:
        """The fast answer to a control: what Train will do."""
        s = self.settings()
        self.readouts["plan"].value = html.escape(
            f"Train will run {s['steps']} steps of {s['optimizer']} (learning rate "
            f"{s['learning_rate']:.1e}) on batches of {s['batch_size']}, in {s['mode']} mode."
        )

    def on_train(self, button=None) -> None:
        # Each new setting traces a new step function, and TensorFlow would warn about the
        # retracing; here it is expected, and the timing readout already shows its cost.
        try:
            with _tensorflow_errors_only():
                self.train()
        except Exception as error:  # a widget shows the problem instead of a traceback
            self.readouts["message"].value = message_html(
                f"Training failed: {type(error).__name__}: {error}", "error"
            )

    def _run_for(self, mode, optimizer_name, batch_size):
        """The cached model, optimizer and compiled step for these settings, reset to step 0."""
        from helpers import lesson05_training as training

        import keras

        key = (mode, optimizer_name, batch_size)
        first_time = key not in self._runs
        if first_time:
            model = training.make_regularized_regressor()
            optimizer = _make_optimizer(optimizer_name, 0.01)
            optimizer.build(model.trainable_variables)
            step = training.make_train_step(model, optimizer, keras.losses.mean_squared_error, mode)
            # The optimizer's fresh state: zeros for moments and the step count, but Nadam's
            # running product of momentum factors starts at 1, so zeros would change its updates.
            fresh_state = [variable.numpy() for variable in optimizer.variables]
            self._runs[key] = (model, optimizer, step, model.get_weights(), fresh_state)
        model, optimizer, step, initial_weights, fresh_state = self._runs[key]
        model.set_weights(initial_weights)
        for variable, value in zip(optimizer.variables, fresh_state, strict=True):
            variable.assign(value)
        return model, optimizer, step, first_time

    def train(self) -> list[float]:
        """Train from the initial weights; update every readout; return the step losses."""
        from helpers import lesson05_training as training

        s = self.settings()
        model, optimizer, step, first_time = self._run_for(
            s["mode"], s["optimizer"], s["batch_size"]
        )
        optimizer.learning_rate = s["learning_rate"]
        rng = np.random.default_rng(42)  # the same batches for every run
        X, y = self.data.X_train, self.data.y_train
        losses, durations, gradients = [], [], None
        for step_number in range(1, s["steps"] + 1):
            rows = rng.integers(len(X), size=s["batch_size"])
            start = time.perf_counter()
            loss, _, gradients = step(X[rows], y[rows])
            loss = float(loss)  # waits for the step to finish: part of its time
            durations.append(1000 * (time.perf_counter() - start))
            if not np.isfinite(loss):
                self.readouts["message"].value = message_html(
                    f"The loss diverged at step {step_number} (it became {loss}): lower the "
                    "learning rate.",
                    "error",
                )
                break
            losses.append(loss)
        else:
            self.readouts["message"].value = ""
        self._show_timing(durations, first_time, s["mode"])
        self._show_gradients(model, training.gradient_norms(model, gradients))
        self._draw(losses, s)
        return losses

    def _show_timing(self, durations, first_time, mode) -> None:
        first = durations[0]
        later = statistics.median(durations[1:]) if len(durations) > 1 else float("nan")
        what = {"eager": "no tracing", "function": "tracing", "xla": "tracing + XLA compile"}[mode]
        if mode != "eager" and not first_time:
            what = "already traced"
        first_label = f"first call ({what})"
        self.readouts["timing"].value = (
            f"{html.escape(first_label)}: <code>{first:.1f} ms</code>; "
            f"then <code>{later:.2f} ms</code> per step (median)"
        )

    def _show_gradients(self, model, norms: dict[str, float]) -> None:
        # Variable paths carry Keras' session counters ("sequential_3/dense_38/kernel"), which
        # change with every model built: label each variable by its layer's place instead.
        names = variable_labels(model)
        rows = "".join(
            f"<tr><td>{html.escape(names[path])}</td><td><code>{norm:.3g}</code></td></tr>"
            for path, norm in norms.items()
        )
        self.readouts["gradients"].value = f"<b>gradient norms, last step</b><table>{rows}</table>"

    def _draw(self, losses, s) -> None:
        axes = self.panel.axes
        if self._previous_losses is not None:
            self._previous_line.set_data(
                range(1, len(self._previous_losses) + 1), self._previous_losses
            )
        self._line.set_data(range(1, len(losses) + 1), losses)
        axes.set_ylim(*loss_axis_limits(losses, self._previous_losses))
        axes.set_xlim(0, max(len(losses), len(self._previous_losses or []), 1) + 1)
        axes.set_title(
            f"{s['optimizer']}, lr {s['learning_rate']:.1e}, batch {s['batch_size']}, {s['mode']}",
            fontsize="medium",
        )
        self.panel.redraw(full=True)
        self._previous_losses = losses

    def lesson_widget(self) -> LessonWidget:
        c, r = self.controls, self.readouts
        box = widgets.VBox(
            [
                c["mode"],
                widgets.HBox([c["optimizer"], c["learning_rate"]]),
                widgets.HBox([c["batch_size"], c["steps"]]),
                widgets.HBox([c["train"], r["plan"]]),
                r["message"],
                r["timing"],
                widgets.HBox([r["plot"], r["gradients"]]),
            ]
        )
        # Shown after one Train press with the starting settings: a loss curve, not empty axes.
        return LessonWidget(box, self.controls, self.readouts, demo=self.on_train)


@lesson_widget_builder
def make_training_loop_widget(**settings) -> LessonWidget:
    """Lesson 05's training-loop explorer (see :class:`TrainingLoopExplorer`)."""
    return TrainingLoopExplorer(**settings).lesson_widget()


# The arguments a learner can pass to the traced function: each builds a fresh value.
TRACING_ARGUMENTS = {
    "Python int 2": lambda tf: 2,
    "Python int 3": lambda tf: 3,
    "Python float 2.0": lambda tf: 2.0,
    "float32 tensor, shape ()": lambda tf: tf.constant(2.0),
    "float32 tensor, shape (2,)": lambda tf: tf.constant([1.0, 2.0]),
    "float32 tensor, shape (3,)": lambda tf: tf.constant([1.0, 2.0, 3.0]),
    "int32 tensor, shape (2,)": lambda tf: tf.constant([1, 2]),
    "float64 tensor, shape (2,)": lambda tf: tf.constant([1.0, 2.0], tf.float64),
}
TRACING_OPTIONS = ("plain", "input_signature", "reduce_retracing")


class TracingExplorer:
    """Call a ``tf.function`` with a chosen argument; see whether it traced, and what it keeps.

    Controls: ``argument`` (a key of :data:`TRACING_ARGUMENTS`), ``option`` (``plain``
    ``@tf.function``, ``input_signature=[tf.TensorSpec(None, tf.float32)]`` or
    ``reduce_retracing=True``; changing it starts a new function), ``call`` and ``reset``.
    Readouts: ``traced`` (did this call trace?), ``count`` (concrete functions so far),
    ``signatures`` (their input signatures, as TensorFlow prints them), ``result`` and
    ``message`` (a refused argument, instead of a traceback).
    """

    def __init__(self, option="plain"):
        check_choice("option", option, TRACING_OPTIONS)
        self.controls = {
            "argument": widgets.Dropdown(
                options=list(TRACING_ARGUMENTS), value="Python int 2", description="argument"
            ),
            "option": widgets.ToggleButtons(
                options=list(TRACING_OPTIONS), value=option, description="tf.function"
            ),
            "call": widgets.Button(description="Call tf_cube", button_style="primary"),
            "reset": widgets.Button(description="New function"),
        }
        self.readouts = {
            name: widgets.HTML() for name in ("traced", "count", "signatures", "result", "message")
        }
        self.controls["call"].on_click(self.call)
        self.controls["reset"].on_click(self.reset)
        self.controls["option"].observe(self.reset, names="value")
        self.reset()

    def reset(self, change=None) -> None:
        """A fresh ``tf.function`` with the chosen option: no concrete function yet."""
        import tensorflow as tf

        self.traces: list[str] = []

        def cube(x):
            self.traces.append(str(x))  # a Python side effect: runs only while tracing
            return x**3

        option = self.controls["option"].value
        if option == "input_signature":
            self.function = tf.function(cube, input_signature=[tf.TensorSpec(None, tf.float32)])
        else:
            self.function = tf.function(cube, reduce_retracing=option == "reduce_retracing")
        for name in self.readouts:
            self.readouts[name].value = ""
        self._show_signatures()

    def call(self, button=None) -> None:
        """Call the function with the chosen argument and show what happened."""
        import tensorflow as tf

        label = self.controls["argument"].value
        before = len(self.traces)
        # The retracing warning: the readouts tell the same story.
        try:
            with _tensorflow_errors_only():
                result = self.function(TRACING_ARGUMENTS[label](tf))
        except (TypeError, ValueError) as error:
            self.readouts["traced"].value = ""
            self.readouts["result"].value = ""
            first_line = str(error).split(". Received args")[0]
            self.readouts["message"].value = message_html(
                f"tf_cube({label}) was refused: {type(error).__name__}: {first_line}", "error"
            )
            return
        self.readouts["message"].value = ""
        if len(self.traces) > before:
            self.readouts["traced"].value = message_html(
                f"tf_cube({label}) traced: Python ran cube() and saw x = {self.traces[-1]}",
                "ok",
            )
        else:
            self.readouts["traced"].value = message_html(
                f"tf_cube({label}) did not trace: it reused a concrete function"
            )
        self.readouts["result"].value = f"result: <code>{html.escape(repr(result))}</code>"
        self._show_signatures()

    def signatures(self) -> list[str]:
        """The input signature of each concrete function, parsed from TensorFlow's listing."""
        text = self.function.pretty_printed_concrete_signatures() if self.traces else ""
        marker = "(POSITIONAL_OR_KEYWORD): "
        return [line.split(marker, 1)[1] for line in text.splitlines() if marker in line]

    def _show_signatures(self) -> None:
        signatures = self.signatures()
        self.readouts["count"].value = f"concrete functions so far: <code>{len(signatures)}</code>"
        items = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in signatures)
        self.readouts["signatures"].value = f"<ol>{items}</ol>" if items else ""

    def demo(self) -> None:
        """A scalar float32 tensor, a vector (a second trace), the scalar again (no trace)."""
        scalar, vector = "float32 tensor, shape ()", "float32 tensor, shape (2,)"
        for label in (scalar, vector, scalar):
            self.controls["argument"].value = label
            self.call()

    def lesson_widget(self) -> LessonWidget:
        c, r = self.controls, self.readouts
        box = widgets.VBox(
            [
                c["option"],
                widgets.HBox([c["argument"], c["call"], c["reset"]]),
                r["traced"],
                r["message"],
                r["result"],
                r["count"],
                r["signatures"],
            ]
        )
        return LessonWidget(box, self.controls, self.readouts, demo=self.demo)


@lesson_widget_builder
def make_tracing_widget(**settings) -> LessonWidget:
    """Lesson 05's tracing explorer (see :class:`TracingExplorer`)."""
    return TracingExplorer(**settings).lesson_widget()
