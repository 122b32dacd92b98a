"""Self-checks for the lessons' exercises: one module per lesson, on a shared report.

A learner calls ``helpers.checks.check_...(their_code)`` and gets a short report: one line per
property that was checked, each passed or failed with the reason. A check never raises because
the learner's code did: an exception becomes a failed line that names it, since a traceback
from inside a checker teaches less than "calling your layer raised ValueError: ...".

The report classes live in :mod:`helpers.checks.base`, each lesson's checks in
``lessonNN_topic.py``; everything is re-exported here.
"""

from helpers.checks.base import CheckLine, CheckReport
from helpers.checks.lesson00_components import check_quantile_loss, check_streaming_rmse
from helpers.checks.lesson01_layers import check_dropout, check_layer_normalization
from helpers.checks.lesson02_models import check_scaled_residual_block
from helpers.checks.lesson03_losses import check_activity_penalty
from helpers.checks.lesson04_autodiff import check_central_difference, check_second_derivative
from helpers.checks.lesson05_training import check_digits_training_loop, check_two_optimizer_step
from helpers.checks.lesson06_gradients import check_hessian_vector_product, check_safe_norm

__all__ = [
    "CheckLine",
    "CheckReport",
    "check_activity_penalty",
    "check_central_difference",
    "check_digits_training_loop",
    "check_dropout",
    "check_hessian_vector_product",
    "check_layer_normalization",
    "check_quantile_loss",
    "check_scaled_residual_block",
    "check_safe_norm",
    "check_second_derivative",
    "check_streaming_rmse",
    "check_two_optimizer_step",
]
