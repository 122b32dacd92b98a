"""Every widget builder ``helpers.widgets`` exports, and cheap arguments to build each with."""

from helpers import widgets
from helpers.lesson03_losses import ReconstructionSweep
from helpers.lesson04_gradient_cost import GradientCost

import numpy as np

BUILDERS = [name for name in widgets.__all__ if name.startswith("make_")]


def small_arguments(name):
    """Cheap arguments for builders that would otherwise train or time something first."""
    sweep = ReconstructionSweep(
        weights=(0.0, 0.1, 1.0),
        train_mse=np.array([0.3, 0.3, 0.4]),
        validation_mse=np.array([0.6, 0.5, 0.7]),
        reconstruction_error=np.array([2.0, 0.3, 0.1]),
    )
    costs = [GradientCost(n, 1e-4, 2e-4, 1e-5 * n, 2e-5 * n, n + 1, 2 * n, n) for n in (10, 100)]
    return {
        "make_reconstruction_weight_widget": {"sweep": sweep},
        "make_gradient_cost_widget": {"costs": costs},
    }.get(name, {})
