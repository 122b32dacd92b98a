"""Lesson 05's widgets, driven without a browser: move a control, press Train, read the result."""

from helpers.widgets import (
    OPTIMIZER_CHOICES,
    make_tracing_widget,
    make_training_loop_widget,
)

import re

import numpy as np
import pytest


@pytest.fixture(scope="module")
def explorer():
    return make_training_loop_widget()


@pytest.fixture(autouse=True)
def back_to_the_start(request):
    yield
    if "explorer" in request.fixturenames:
        explorer = request.getfixturevalue("explorer")
        controls = explorer.controls
        controls["mode"].value, controls["optimizer"].value = "function", "Nadam"
        controls["learning_rate"].value, controls["batch_size"].value = 0.01, 32
        controls["steps"].value = 50
        explorer.readouts["message"].value = ""


def train(explorer, **settings):
    for name, value in settings.items():
        explorer.controls[name].value = value
    explorer.controls["train"].click()


def timing_numbers(explorer):
    return [
        float(x) for x in re.findall(r"<code>([\d.]+) ms</code>", explorer.readouts["timing"].value)
    ]


class TestTrainingLoopExplorer:
    def test_a_control_only_describes_the_next_run(self, explorer):
        plot_before = bytes(explorer.readouts["plot"].value)
        explorer.controls["optimizer"].value = "SGD"
        assert "SGD" in explorer.readouts["plan"].value
        assert bytes(explorer.readouts["plot"].value) == plot_before

    def test_train_draws_times_and_shows_gradient_norms(self, explorer):
        plot_before = bytes(explorer.readouts["plot"].value)
        train(explorer, steps=10)
        assert bytes(explorer.readouts["plot"].value) != plot_before
        first_call, per_step = timing_numbers(explorer)
        assert first_call > 0 and per_step > 0
        norms = re.findall(
            r"<td>([^<]+)</td><td><code>([^<]+)</code>", explorer.readouts["gradients"].value
        )
        assert [path.rsplit("/", 1)[1] for path, _ in norms] == ["kernel", "bias", "kernel", "bias"]
        assert all(float(norm) > 0 for _, norm in norms)
        assert explorer.readouts["message"].value == ""

    def test_every_mode_gives_the_same_curve(self, explorer):
        from helpers.widgets.lesson05_training import TrainingLoopExplorer

        losses = {}
        for mode in ("eager", "function", "xla"):
            run = TrainingLoopExplorer(mode=mode)
            run.controls["steps"].value = 10
            losses[mode] = run.train()
        np.testing.assert_allclose(losses["eager"], losses["function"], rtol=1e-5)
        np.testing.assert_allclose(losses["xla"], losses["function"], rtol=1e-4)

    def test_a_second_run_restarts_from_the_same_weights(self):
        from helpers.widgets.lesson05_training import TrainingLoopExplorer

        run = TrainingLoopExplorer()
        run.controls["steps"].value = 10
        first = run.train()
        second = run.train()  # cached step, weights and optimizer reset
        assert "already traced" in run.readouts["timing"].value
        np.testing.assert_allclose(second, first, rtol=1e-6)
        fresh = TrainingLoopExplorer()
        fresh.controls["steps"].value = 10
        np.testing.assert_allclose(fresh.train(), first, rtol=1e-6)

    @pytest.mark.parametrize("name", OPTIMIZER_CHOICES)
    def test_a_run_is_the_optimizers_own_first_steps(self, name):
        """The reset restores each optimizer's fresh state: zeros would break Nadam (its
        running product of momentum factors starts at 1), the lesson's default optimizer."""
        from helpers import lesson05_training as training
        from helpers.widgets.lesson05_training import TrainingLoopExplorer, _make_optimizer

        import keras

        run = TrainingLoopExplorer(mode="eager", optimizer=name)
        run.controls["steps"].value = 10
        shown = run.train()
        model = training.make_regularized_regressor()
        step = training.make_train_step(
            model, _make_optimizer(name, 0.01), keras.losses.mean_squared_error, "eager"
        )
        rng, X, y = np.random.default_rng(42), run.data.X_train, run.data.y_train
        expected = []
        for _ in range(10):
            rows = rng.integers(len(X), size=32)  # the widget's batches
            expected.append(float(step(X[rows], y[rows])[0]))
        np.testing.assert_allclose(shown, expected, rtol=1e-6)

    def test_gradient_norms_keep_their_labels_from_one_model_to_the_next(self):
        """Keras numbers layers per session (dense_38, dense_40...): the labels must not."""
        from helpers.widgets.lesson05_training import TrainingLoopExplorer

        labels = []
        for optimizer in ("SGD", "Adam"):  # each builds a new model: new Keras counters
            run = TrainingLoopExplorer(mode="eager", optimizer=optimizer)
            run.controls["steps"].value = 10
            run.train()
            cells = re.findall(r"<tr><td>([^<]+)</td>", run.readouts["gradients"].value)
            labels.append(cells)
        assert (
            labels[0]
            == labels[1]
            == [
                "layer 1 (Dense)/kernel",
                "layer 1 (Dense)/bias",
                "layer 2 (Dense)/kernel",
                "layer 2 (Dense)/bias",
            ]
        )

    def test_after_a_diverged_run_the_plot_scales_to_the_next_run(self):
        from helpers.widgets.lesson05_training import TrainingLoopExplorer

        run = TrainingLoopExplorer(mode="eager", optimizer="SGD", learning_rate=1.0)
        run.controls["steps"].value = 30
        run.train()
        assert "diverged" in run.readouts["message"].value
        assert run.panel.axes.get_ylim()[1] > 1e3  # the diverged run's own scale
        run.controls["optimizer"].value, run.controls["learning_rate"].value = "Nadam", 0.01
        shown = run.train()
        low, high = run.panel.axes.get_ylim()
        assert low <= min(shown) and max(shown) <= high  # the whole new curve is in view
        assert high < 10 * max(shown)  # and the diverged run does not flatten it

    def test_loss_axis_limits(self):
        from helpers.widgets.lesson05_training import loss_axis_limits

        assert loss_axis_limits([1.0, 2.0]) == pytest.approx((1 / 1.5, 3.0))
        # a previous run within a decade widens the range; one far above is clipped
        assert loss_axis_limits([1.0, 2.0], [0.5, 5.0]) == pytest.approx((0.5 / 1.5, 7.5))
        assert loss_axis_limits([1.0, 2.0], [1e30, np.inf]) == pytest.approx((1 / 1.5, 3.0))
        # a run that diverged at once shows the previous run; nothing at all, the start range
        assert loss_axis_limits([], [1.0, 2.0]) == pytest.approx((1 / 1.5, 3.0))
        assert loss_axis_limits([]) == (0.3, 30.0)

    def test_a_diverging_run_shows_a_message(self, explorer):
        train(explorer, optimizer="SGD", learning_rate=1.0, steps=30)
        message = explorer.readouts["message"].value
        assert "diverged" in message and "lower the learning rate" in message

    def test_a_failing_run_shows_a_message_not_a_traceback(self, explorer, monkeypatch):
        from helpers.widgets.lesson05_training import TrainingLoopExplorer

        def broken(self):
            raise RuntimeError("out of memory")

        monkeypatch.setattr(TrainingLoopExplorer, "train", broken)
        explorer.controls["train"].click()
        assert "RuntimeError: out of memory" in explorer.readouts["message"].value

    def test_controls_allow_only_possible_values(self, explorer):
        controls = explorer.controls
        for value in controls["batch_size"].options:  # every choice is planned as shown
            controls["batch_size"].value = value
            assert f"on batches of {value}," in explorer.readouts["plan"].value
        for value in controls["steps"].options:
            controls["steps"].value = value
            assert f"Train will run {value} steps" in explorer.readouts["plan"].value
        assert (controls["learning_rate"].min, controls["learning_rate"].max) == (-4, 0)
        assert list(controls["mode"].options) == ["eager", "function", "xla"]

    @pytest.mark.parametrize(
        ("argument", "value"),
        [("mode", "graph"), ("optimizer", "Adagrad"), ("learning_rate", 10.0), ("batch_size", 7)],
    )
    def test_bad_arguments_are_named(self, argument, value):
        with pytest.raises(ValueError, match=argument):
            make_training_loop_widget(**{argument: value})


@pytest.fixture
def tracer():
    return make_tracing_widget()


def call(tracer, label):
    tracer.controls["argument"].value = label
    tracer.controls["call"].click()
    return tracer.readouts


def count(tracer):
    return int(re.search(r"<code>(\d+)</code>", tracer.readouts["count"].value).group(1))


class TestTracingExplorer:
    def test_a_python_value_traces_once_per_value(self, tracer):
        assert "traced" in call(tracer, "Python int 2")["traced"].value
        assert "did not trace" in call(tracer, "Python int 2")["traced"].value
        assert "traced: " in call(tracer, "Python int 3")["traced"].value
        assert count(tracer) == 2
        assert "Literal[2]" in tracer.readouts["signatures"].value

    def test_equal_python_values_share_a_trace(self, tracer):
        # 2.0 == 2 in Python: the float reuses the int's trace, and its int32 result.
        call(tracer, "Python int 2")
        readouts = call(tracer, "Python float 2.0")
        assert "did not trace" in readouts["traced"].value
        assert "int32" in readouts["result"].value and count(tracer) == 1

    def test_reduce_retracing_does_not_generalize_python_numbers(self, tracer):
        tracer.controls["option"].value = "reduce_retracing"
        call(tracer, "Python int 2")
        assert "traced: " in call(tracer, "Python int 3")["traced"].value
        assert count(tracer) == 2

    def test_new_shapes_and_dtypes_trace_again(self, tracer):
        for label in (
            "float32 tensor, shape (2,)",
            "float32 tensor, shape (3,)",
            "int32 tensor, shape (2,)",
        ):
            assert "did not trace" not in call(tracer, label)["traced"].value
        assert count(tracer) == 3
        assert "dtype=tf.int32" in tracer.readouts["signatures"].value

    def test_reduce_retracing_generalizes_the_shape(self, tracer):
        tracer.controls["option"].value = "reduce_retracing"
        call(tracer, "float32 tensor, shape (2,)")
        call(tracer, "float32 tensor, shape (3,)")
        assert "shape=(None,)" in tracer.readouts["signatures"].value
        assert "did not trace" in call(tracer, "float32 tensor, shape (2,)")["traced"].value

    def test_an_input_signature_refuses_with_a_message(self, tracer):
        tracer.controls["option"].value = "input_signature"
        call(tracer, "float32 tensor, shape (2,)")
        assert "did not trace" in call(tracer, "float32 tensor, shape (3,)")["traced"].value
        readouts = call(tracer, "int32 tensor, shape (2,)")
        assert "refused" in readouts["message"].value and "TypeError" in readouts["message"].value
        assert count(tracer) == 1

    def test_changing_the_option_starts_a_new_function(self, tracer):
        call(tracer, "Python int 2")
        tracer.controls["option"].value = "reduce_retracing"
        assert count(tracer) == 0 and tracer.readouts["signatures"].value == ""

    def test_bad_option_is_named(self):
        with pytest.raises(ValueError, match="option"):
            make_tracing_widget(option="jit")
