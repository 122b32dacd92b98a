"""Small, offline data for the lessons.

Lessons must run without a network, so the data comes from a package: scikit-learn ships the
diabetes data set (442 patients, 10 features, a disease-progression target) inside its wheel.
It is small enough to train on in a second, and real enough that a model has something to learn.
"""

from helpers.validation import require_fraction, require_seed

from typing import NamedTuple

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split


class RegressionData(NamedTuple):
    """Standardized train/valid/test splits; ``y`` arrays have shape ``(n, 1)``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_regression_data(seed: int = 42, test_size: float = 0.2, valid_size: float = 0.2):
    """Load the diabetes data, split it, and standardize it with the training set's statistics.

    Why standardize the target too: its raw scale (25 to 346) would make losses in the
    thousands; standardized, losses read against one yardstick: predicting the training
    mean, whose MSE is exactly 1.0 on the training set and a little different on the others
    (:func:`mean_predictor_mse` gives each split's).

    Args:
        seed: the random seed of the splits, so every run sees the same rows.
        test_size: the fraction of all rows kept for testing, in (0, 1).
        valid_size: the fraction of the remaining rows kept for validation, in (0, 1).

    Returns:
        A :class:`RegressionData` of float32 arrays.
    """
    seed = require_seed(seed)
    test_size = require_fraction("test_size", test_size)
    valid_size = require_fraction("valid_size", valid_size)
    X, y = load_diabetes(return_X_y=True)
    y = y.reshape(-1, 1)
    X_full, X_test, y_full, y_test = train_test_split(X, y, test_size=test_size, random_state=seed)
    X_train, X_valid, y_train, y_valid = train_test_split(
        X_full, y_full, test_size=valid_size, random_state=seed
    )
    X_mean, X_std = X_train.mean(axis=0), X_train.std(axis=0)
    y_mean, y_std = y_train.mean(axis=0), y_train.std(axis=0)

    def x(a):
        return ((a - X_mean) / X_std).astype(np.float32)

    def t(a):
        return ((a - y_mean) / y_std).astype(np.float32)

    return RegressionData(x(X_train), t(y_train), x(X_valid), t(y_valid), x(X_test), t(y_test))


def mean_predictor_mse(data: RegressionData) -> dict[str, float]:
    """The MSE of the baseline that predicts the training set's mean target for every row.

    This is the score a model must beat. The target is standardized with the training set's
    statistics, so on the training set it is exactly 1.0, but not on the validation and test
    sets, whose means and spreads differ a little (0.933 and 0.861 with the default splits).

    Returns:
        ``{"train": ..., "valid": ..., "test": ...}``, as Python floats.
    """
    mean = float(np.mean(data.y_train))
    splits = {"train": data.y_train, "valid": data.y_valid, "test": data.y_test}
    return {name: float(np.mean((y - mean) ** 2)) for name, y in splits.items()}


def load_digits_data(seed: int = 42, valid_size: float = 0.2):
    """scikit-learn's bundled 8x8 digits (1,797 images), the exercises' offline Fashion MNIST.

    Pixels scaled to [0, 1] and flattened to 64 features, float32; labels int32 in 0..9.

    Returns:
        ``(X_train, y_train), (X_valid, y_valid)``.
    """
    seed = require_seed(seed)
    valid_size = require_fraction("valid_size", valid_size)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_valid, y_train, y_valid = train_test_split(
        X, y.astype(np.int32), test_size=valid_size, random_state=seed, stratify=y
    )
    return (X_train, y_train), (X_valid, y_valid)
