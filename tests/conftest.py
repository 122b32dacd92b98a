"""Test-wide settings: a quiet TensorFlow for this process and every kernel nbval starts.

Kernels inherit this process' environment, so the variables set here reach the notebooks too
(the notebooks also set them through ``import helpers``, for learners' own front ends).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# No MPLBACKEND here: kernels would inherit it and lose their inline plots. Without a display,
# matplotlib picks a headless backend for the unit tests by itself.
