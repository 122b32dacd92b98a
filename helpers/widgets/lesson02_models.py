"""Lesson 02's widget: the ``ResidualRegressor``'s shape, size and trainability.

The widget is a small class whose methods name its parts; ``make_residual_architecture_widget``
validates, builds and wires it.
"""

from __future__ import annotations

from helpers.widgets.base import LessonWidget, lesson_widget_builder, message_html, set_tooltip

import html
from typing import NamedTuple

import ipywidgets as widgets

# The sliders' ranges: every reachable combination builds a valid model that trains in about
# a second. The neuron choices include the book's 30.
RESIDUAL_LAYERS_RANGE = (1, 4)
RESIDUAL_NEURON_CHOICES = (4, 8, 16, 30, 64)
RESIDUAL_REPEATS_RANGE = (1, 6)


def _residual_parameters_html(n_inputs, n_layers, n_neurons, repeats, output_dim=1):
    """The parameter count layer by layer, and what sharing block1's weights saves."""
    from helpers.lesson02_models import residual_regressor_parameter_counts

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
    if repeats == 1:
        sharing = "block1 runs once: sharing saves nothing here"
    else:
        sharing = f"Without sharing (a new block for each of the {repeats} passes): {unshared:,}"
    return (
        f"<table>{rows}<tr><td><b>total</b></td><td></td>"
        f"<td style='text-align:right'><b>{total:,}</b></td></tr></table>{sharing}"
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


class TrainingResult(NamedTuple):
    """What one Train click measured: enough to say how the model did, and why."""

    valid_mse: float
    n_params: int
    first_train_mse: float  # the untrained model's, on the training rows
    last_train_mse: float  # after the last step


def _train_residual_regressor(data, n_layers, n_neurons, repeats, epochs, seed):
    """Train a fresh ResidualRegressor briefly; return a :class:`TrainingResult`.

    Why not ``fit``: its first call traces a training graph, which costs seconds here, more
    than a few hundred rows need. So the steps run eagerly, one full batch each (``epochs``
    steps), with RMSprop, whose update is a handful of operations per weight (Nadam's is
    several times more, and each costs time when run eagerly).
    """
    from helpers.lesson02_models import ResidualRegressor

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = ResidualRegressor(
        1, n_neurons=n_neurons, n_layers_per_block=n_layers, block1_repeats=repeats
    )
    optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
    X_train, y_train = tf.constant(data.X_train), tf.constant(data.y_train)
    model(X_train[:1])  # build the weights before handing them to the optimizer
    losses = []
    for _ in range(epochs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(X_train) - y_train) ** 2)
        losses.append(float(loss))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
    last_train_mse = float(tf.reduce_mean((model(X_train) - y_train) ** 2))
    errors = keras.ops.convert_to_numpy(model(data.X_valid)) - data.y_valid
    return TrainingResult(
        float((errors**2).mean()), model.count_params(), losses[0], last_train_mse
    )


# A result worse than the baseline is a finding, not an error: amber, not the error's red.
_WORSE_COLOUR = "#9a6700"


def _training_result_html(
    result: TrainingResult, baselines: dict[str, float], epochs: int, n_rows: int
) -> str:
    """The validation MSE, coloured by how it compares with the mean predictor, and why.

    ``baselines`` are the mean predictor's MSEs (``helpers.data.mean_predictor_mse``).
    """
    text = (
        f"validation MSE after {epochs} epochs: {result.valid_mse:.3g}; always predicting the "
        f"training mean: {baselines['valid']:.3g}; the built model has {result.n_params:,} "
        "parameters. "
    )
    if result.valid_mse < baselines["valid"]:
        return message_html(text + "It beats the mean predictor.", "ok")
    # A model whose training MSE is still near the mean predictor's (or above) has not learned
    # its training rows yet, whatever it would do on new ones.
    if result.last_train_mse > 0.8 * baselines["train"]:
        why = (
            f"Worse than the mean predictor, because it is not trained enough yet: the untrained "
            f"model starts at a training MSE of {result.first_train_mse:.3g} (each pass of "
            f"block1 adds its output, so more passes start further off), and {epochs} "
            f"full-batch steps bring it down only to {result.last_train_mse:.3g} (the mean "
            f"predictor scores {baselines['train']:.3g} on the training rows). Try fewer repeats "
            "or neurons (or the exercise's scaled block)."
        )
    else:
        why = (
            f"Worse than the mean predictor on new rows, although it fits its training rows "
            f"(MSE {result.last_train_mse:.3g}): {result.n_params:,} parameters for "
            f"{n_rows} rows learn much that does not carry over. Try a smaller model."
        )
    return f'<span style="color:{_WORSE_COLOUR}">{html.escape(text + why)}</span>'


def _validate_training_arguments(epochs: int, seed: int) -> None:
    from helpers.validation import require_int_in_range, require_seed

    require_int_in_range("epochs", epochs, 1, 200)
    require_seed(seed)


class _ResidualArchitectureView:
    """Three sliders and a Train button over a ``ResidualRegressor``, and what they show.

    A slider move only rewrites the parameter table and the shapes (formulas, no model); the
    button trains, and its results are kept per setting so that going back to a setting
    answers at once.
    """

    def __init__(self, data, epochs: int, seed: int):
        self.data, self.epochs, self.seed = data, epochs, seed
        self.n_inputs = data.X_train.shape[1]
        # The score to beat: always predicting the training mean (0.933 on the default split).
        from helpers.data import mean_predictor_mse

        self.baselines = mean_predictor_mse(data)
        self.results: dict[tuple[int, int, int], TrainingResult] = {}
        self._build_controls()
        self.parameters = widgets.HTML()
        self.shapes = widgets.HTML()
        self.validation = widgets.HTML()

    def _build_controls(self) -> None:
        self.layers_slider = widgets.IntSlider(
            value=2,
            min=RESIDUAL_LAYERS_RANGE[0],
            max=RESIDUAL_LAYERS_RANGE[1],
            description="layers",
        )
        self.neurons_slider = widgets.SelectionSlider(
            options=RESIDUAL_NEURON_CHOICES, value=30, description="neurons"
        )
        self.repeats_slider = widgets.IntSlider(
            value=4,
            min=RESIDUAL_REPEATS_RANGE[0],
            max=RESIDUAL_REPEATS_RANGE[1],
            description="repeats",
        )
        for slider, tip in (
            (self.layers_slider, "Dense layers in each residual block"),
            (self.neurons_slider, "neurons in every hidden Dense layer"),
            (self.repeats_slider, "how many times block1 is applied (the book: 1 + 3)"),
        ):
            set_tooltip(slider, tip)
        self.train_button = widgets.Button(description="Train", icon="play")

    def sliders(self) -> tuple:
        return self.layers_slider, self.neurons_slider, self.repeats_slider

    def setting(self) -> tuple[int, int, int]:
        return tuple(slider.value for slider in self.sliders())

    def update(self) -> None:
        """The size and the shapes of the chosen setting, by formula; then its result if any."""
        n_layers, n_neurons, repeats = self.setting()
        self.parameters.value = _residual_parameters_html(
            self.n_inputs, n_layers, n_neurons, repeats
        )
        self.shapes.value = _residual_shapes_html(self.n_inputs, n_neurons, repeats)
        self.show_result()

    def show_result(self) -> None:
        if self.setting() not in self.results:
            self.validation.value = message_html(
                f"Press Train: {self.epochs} full-batch epochs, then the validation MSE."
            )
            return
        self.validation.value = _training_result_html(
            self.results[self.setting()], self.baselines, self.epochs, len(self.data.X_train)
        )

    def train(self) -> None:
        """Train the chosen setting once (then it is cached); a failure shows in the readout."""
        if self.setting() not in self.results:
            self.validation.value = message_html("Training…")
            try:
                self.results[self.setting()] = _train_residual_regressor(
                    self.data, *self.setting(), self.epochs, self.seed
                )
            except Exception as error:  # show it in the readout, never as a traceback
                self.validation.value = message_html(f"{type(error).__name__}: {error}", "error")
                return
        self.show_result()

    def lesson_widget(self) -> LessonWidget:
        box = widgets.VBox(
            [
                widgets.HBox(
                    [
                        widgets.VBox([*self.sliders(), self.train_button]),
                        widgets.VBox([self.parameters, self.shapes]),
                    ]
                ),
                self.validation,
            ]
        )
        return LessonWidget(
            box,
            controls={
                "n_layers": self.layers_slider,
                "n_neurons": self.neurons_slider,
                "block1_repeats": self.repeats_slider,
                "train": self.train_button,
            },
            readouts={
                "parameters": self.parameters,
                "output_shape": self.shapes,
                "validation_loss": self.validation,
            },
            demo=self.train,  # shown trained once (the starting shape), not "Press Train"
        )


@lesson_widget_builder
def make_residual_architecture_widget(data=None, epochs: int = 20, seed: int = 42):
    """Sliders over a ``ResidualRegressor``'s shape: its size at once, its training on a click.

    Moving a slider recomputes the parameter count by formula (checked against built models in
    the tests) and the shapes stage by stage: no model is built, so it answers in well under a
    millisecond. (Redrawing the lesson's architecture picture would take 100 ms or more, too
    slow for a slider, so the lesson draws it in a cell instead.)
    The *Train* button builds the model for real, trains it for ``epochs`` full-batch steps
    (RMSprop, learning rate 0.01) and shows its validation MSE beside the baseline's (always
    predicting the training mean): green when it beats the baseline; amber when it does not,
    with the reason read off its training MSE (still far off, so not trained yet, or fitting
    its training rows but not new ones). Results are cached per setting, so going back to a
    setting answers at once.

    Args:
        data: a :class:`helpers.data.RegressionData`; by default ``load_regression_data()``.
        epochs: training epochs per click, 1 to 200.
        seed: the random seed of each training run, an integer >= 0.
    """
    from helpers.data import load_regression_data

    _validate_training_arguments(epochs, seed)
    view = _ResidualArchitectureView(load_regression_data() if data is None else data, epochs, seed)
    for slider in view.sliders():
        slider.observe(lambda change: view.update(), names="value")
    view.train_button.on_click(lambda button: view.train())
    view.update()
    return view.lesson_widget()
