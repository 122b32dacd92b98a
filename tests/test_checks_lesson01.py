"""Lesson 01's self-checks against the plausible wrong answers of issues 24 and 25.

Each wrong answer is the lesson's solution with one mistake a learner makes; the check must
reject it on the line that checks that property, with a hint that names the mistake.
"""

from helpers.checks import check_dropout, check_layer_normalization
from helpers.lesson01_layers import MyDropout, MyLayerNormalization

import keras
import numpy as np
import pytest

from tests.check_reports import failed_lines, only_failure


def normalization(formula):
    """MyLayerNormalization whose call() is ``formula(layer, X, mean, variance)``."""

    class WrongNormalization(MyLayerNormalization):
        def call(self, X):
            mean, variance = keras.ops.moments(X, axes=-1, keepdims=True)
            return self.alpha * formula(self, X, mean, variance) + self.beta

    return WrongNormalization


class TestLayerNormalizationCheck:
    def test_the_books_formula_passes(self):
        book = normalization(lambda layer, X, m, v: (X - m) / (keras.ops.sqrt(v) + layer.eps))
        assert check_layer_normalization(book).passed

    def test_an_eps_never_used_gives_nan_on_a_constant_row(self):
        no_eps = normalization(lambda layer, X, m, v: (X - m) / keras.ops.sqrt(v))
        failed = failed_lines(check_layer_normalization(no_eps))
        detail = failed["a constant row (variance 0) gives zeros, not nan"]
        assert "nan" in detail and "add eps" in detail
        assert "use self.eps" in failed["eps=1.0 changes the output as the formula says"]

    def test_an_eps_hard_coded_to_its_default_is_named(self):
        constant = normalization(lambda layer, X, m, v: (X - m) / keras.ops.sqrt(v + 0.001))
        description, detail = only_failure(check_layer_normalization(constant))
        assert description.startswith("eps=1.0")
        assert "use self.eps in the formula, not a constant" in detail

    def test_moments_over_the_batch_axis_fail_the_comparisons_and_say_which_axis(self):
        class BatchAxis(MyLayerNormalization):
            def call(self, X):
                mean, variance = keras.ops.moments(X, axes=0, keepdims=True)
                return self.alpha * (X - mean) / keras.ops.sqrt(variance + self.eps) + self.beta

        report = check_layer_normalization(BatchAxis)
        failed = failed_lines(report)
        detail = failed["matches keras.layers.LayerNormalization on (32, 8) inputs"]
        assert "batch axis (axis 0)" in detail and "axes=-1" in detail
        comparisons = [d for d in failed if "match" in d or "normalizes" in d]
        assert len(comparisons) == 3, str(report)
        assert all("axis" in failed[d] for d in comparisons), str(report)
        assert not any("weight" in d or "shape" in d for d in failed), str(report)

    def test_alpha_and_beta_swapped_fail_the_initial_values_line(self):
        class Swapped(MyLayerNormalization):
            def build(self, batch_input_shape):
                self.beta = self.add_weight(shape=batch_input_shape[-1:], initializer="zeros")
                self.alpha = self.add_weight(shape=batch_input_shape[-1:], initializer="ones")

        failed = failed_lines(check_layer_normalization(Swapped))
        assert "in that order" in failed["alpha starts at ones and beta at zeros"]

    def test_ignoring_alpha_and_beta_fails_only_the_line_that_sets_them(self):
        plain = normalization(
            lambda layer, X, m, v: (
                ((X - m) / keras.ops.sqrt(v + layer.eps) - layer.beta) / layer.alpha
            )
        )
        description, _ = only_failure(check_layer_normalization(plain))
        assert description == "still matches with alpha and beta set to other values"

    def test_moments_over_axis_1_fail_on_sequences_only_and_say_which_axis(self):
        class AxisOne(MyLayerNormalization):
            def call(self, X):
                mean, variance = keras.ops.moments(X, axes=1, keepdims=True)
                return self.alpha * (X - mean) / keras.ops.sqrt(variance + self.eps) + self.beta

        description, detail = only_failure(check_layer_normalization(AxisOne))
        assert description == "normalizes the last axis of (4, 5, 8) sequences"
        assert "axis 1" in detail and "axes=-1" in detail


class SeedInsteadOfGenerator(MyDropout):
    def call(self, X, training=None):
        if training:
            draws = keras.random.uniform(keras.ops.shape(X), seed=self.seed)
            return keras.ops.where(draws >= self.rate, X / (1 - self.rate), 0.0)
        return X


class NumPyMask(MyDropout):
    def call(self, X, training=None):
        if training:
            draws = np.random.default_rng().uniform(size=tuple(X.shape)).astype("float32")
            return keras.ops.where(draws >= self.rate, X / (1 - self.rate), 0.0)
        return X


class OneMaskPerFeature(MyDropout):
    def call(self, X, training=None):
        if training:
            draws = keras.random.uniform(keras.ops.shape(X)[-1:], seed=self.seed_generator)
            return keras.ops.where(draws >= self.rate, X / (1 - self.rate), 0.0)
        return X


class ConfigWithoutSeed(MyDropout):
    def get_config(self):
        config = super().get_config()
        del config["seed"]
        return config


class TestDropoutCheck:
    def test_a_seed_instead_of_a_seed_generator_is_named(self):
        description, detail = only_failure(check_dropout(SeedInsteadOfGenerator))
        assert description.startswith("each training call draws a new mask")
        assert "SeedGenerator" in detail and "seed=self.seed" in detail

    def test_a_numpy_mask_is_frozen_inside_tf_function(self):
        description, detail = only_failure(check_dropout(NumPyMask))
        assert "tf.function" in description
        assert "NumPy" in detail and "keras.random" in detail

    @pytest.mark.parametrize("seed", range(5))
    def test_one_mask_per_feature_fails_whatever_the_global_seed(self, seed):
        keras.utils.set_random_seed(seed)
        failed = failed_lines(check_dropout(OneMaskPerFeature))
        detail = failed["each input gets its own draw (no row or column shared)"]
        assert "every row of the batch got the same mask" in detail

    def test_a_config_without_seed_is_named(self):
        description, detail = only_failure(check_dropout(ConfigWithoutSeed))
        assert description.startswith("get_config() keeps rate and seed")
        assert "no 'seed'" in detail and "reloaded layer" in detail

    def test_a_layer_that_drops_nothing_is_not_blamed_for_its_seed_or_numpy(self):
        class DropsNothing(MyDropout):
            def call(self, X, training=None):
                return X

        failed = failed_lines(check_dropout(DropsNothing))
        mask_lines = [d for d in failed if "mask" in d or "own draw" in d]
        assert len(mask_lines) == 3
        assert all(failed[d].startswith("no input was dropped") for d in mask_lines)
