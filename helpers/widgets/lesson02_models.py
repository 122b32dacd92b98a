"""Lesson 02's widget: the ``ResidualRegressor``'s shape, size and trainability."""

from __future__ import annotations

from helpers.widgets.base import LessonWidget, message_html

import html

import ipywidgets as widgets

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
