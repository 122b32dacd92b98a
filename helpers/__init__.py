"""Reusable code for the lessons in ``notebooks/``.

Every class a lesson teaches is written out in one of its cells *and* lives here, so later
lessons (and the tests) can import it instead of copying it; ``tests/test_notebook_sync.py``
proves the two copies are the same code.

Importing this package first also quiets TensorFlow: its C++ start-up logs go to stderr, differ
from run to run and would make every lesson's stored outputs flaky. The two variables only work
if they are set *before* TensorFlow is imported, which is why lessons start with
``import helpers``. Values already set by the user (or by ``binder/start``) are respected.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__all__ = [
    "checks",
    "data",
    "lesson00_components",
    "lesson01_layers",
    "lesson02_figure",
    "lesson02_models",
    "lesson03_losses",
    "lesson04_autodiff",
    "lesson04_gradient_cost",
    "lesson05_training",
    "lesson06_gradient_check",
    "lesson06_gradients",
    "lesson06_jacobians",
    "timing",
    "validation",
    "widgets",
]
