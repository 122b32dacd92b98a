"""Builders of the lessons' interactive widgets: one module per lesson, on a shared base.

Each ``make_..._widget`` function returns a :class:`Lesson widget <LessonWidget>`: the widget to
display *and* handles on its controls and readouts, so a test can move a slider and assert on
what the learner would see, without a browser. Readouts are widget values (``HTML``, ``Image``)
rather than printed text: a print inside a callback would land in the notebook's stored outputs
under some front ends and not others, and make them impossible to compare.

The shared pieces (:class:`LessonWidget`, :class:`FigurePanel`, :func:`message_html`) live in
:mod:`helpers.widgets.base`; each lesson's builders in ``lessonNN_topic.py``. Everything is
re-exported here, so lessons and tests write ``helpers.widgets.make_..._widget``.
"""

from helpers.widgets.base import FigurePanel, LessonWidget, message_html
from helpers.widgets.lesson00_components import (
    OUTLIER_SIZE_RANGE,
    POSITIVE_FRACTION_RANGE,
    PRECISION_BATCH_SIZES,
    THRESHOLD_RANGE,
    make_loss_explorer_widget,
    make_streaming_metric_widget,
)
from helpers.widgets.lesson01_layers import NOISE_STDDEV_RANGE, make_gaussian_noise_widget
from helpers.widgets.lesson02_models import (
    RESIDUAL_LAYERS_RANGE,
    RESIDUAL_NEURON_CHOICES,
    RESIDUAL_REPEATS_RANGE,
    make_residual_architecture_widget,
)
from helpers.widgets.lesson03_losses import make_reconstruction_weight_widget
from helpers.widgets.lesson04_autodiff import (
    COST_WIDGET_SIZES,
    EPS_EXPONENT_RANGE,
    EXPLORER_DTYPES,
    make_gradient_cost_widget,
    make_gradient_explorer_widget,
)
from helpers.widgets.lesson05_training import (
    BATCH_SIZE_CHOICES,
    LEARNING_RATE_EXPONENT_RANGE,
    OPTIMIZER_CHOICES,
    TRACING_ARGUMENTS,
    TRACING_OPTIONS,
    TRAIN_STEP_CHOICES,
    TracingExplorer,
    TrainingLoopExplorer,
    make_tracing_widget,
    make_training_loop_widget,
)
from helpers.widgets.lesson06_gradients import (
    CHECK_EPS_EXPONENT_RANGE,
    CHECK_LAYERS,
    GRADIENT_DTYPES,
    SOFTPLUS_Z_VALUES,
    GradientCheckExplorer,
    SoftplusExplorer,
    make_gradient_check_widget,
    make_softplus_widget,
)

__all__ = [
    "OUTLIER_SIZE_RANGE",
    "POSITIVE_FRACTION_RANGE",
    "PRECISION_BATCH_SIZES",
    "THRESHOLD_RANGE",
    "make_loss_explorer_widget",
    "make_streaming_metric_widget",
    "BATCH_SIZE_CHOICES",
    "LEARNING_RATE_EXPONENT_RANGE",
    "OPTIMIZER_CHOICES",
    "TRACING_ARGUMENTS",
    "TRACING_OPTIONS",
    "TRAIN_STEP_CHOICES",
    "TracingExplorer",
    "TrainingLoopExplorer",
    "make_tracing_widget",
    "make_training_loop_widget",
    "CHECK_EPS_EXPONENT_RANGE",
    "CHECK_LAYERS",
    "COST_WIDGET_SIZES",
    "EPS_EXPONENT_RANGE",
    "EXPLORER_DTYPES",
    "GRADIENT_DTYPES",
    "NOISE_STDDEV_RANGE",
    "RESIDUAL_LAYERS_RANGE",
    "RESIDUAL_NEURON_CHOICES",
    "RESIDUAL_REPEATS_RANGE",
    "SOFTPLUS_Z_VALUES",
    "FigurePanel",
    "GradientCheckExplorer",
    "LessonWidget",
    "SoftplusExplorer",
    "make_gaussian_noise_widget",
    "make_gradient_cost_widget",
    "make_gradient_check_widget",
    "make_gradient_explorer_widget",
    "make_reconstruction_weight_widget",
    "make_residual_architecture_widget",
    "make_softplus_widget",
    "message_html",
]
