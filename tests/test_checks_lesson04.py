"""Lesson 04's self-checks reject each plausible wrong answer, with a hint naming the mistake.

Issue 24 (item 8) and issue 25 ("self-checks that diagnose"): every correct central difference
passes, whatever its step; each wrong one fails with a hint that does not print the answer; a
second derivative without a tape, or with ``inner.gradient`` outside the outer tape, is named.
"""

from helpers.checks import check_central_difference, check_second_derivative

import numpy as np
import pytest
import tensorflow as tf

from tests.check_reports import failed_lines

# --- exercise 1: central_difference(f, w, eps) ----------------------------------------------


@pytest.mark.parametrize(
    "central_difference",
    [
        lambda f, w, eps: (f(w + eps) - f(w - eps)) / (2 * eps),
        lambda f, w, eps: (f(w + eps / 2) - f(w - eps / 2)) / eps,  # half steps: also central
    ],
    ids=["eps-steps", "half-steps"],
)
def test_every_correct_central_difference_passes(central_difference):
    report = check_central_difference(central_difference)
    assert report.passed, str(report)


def test_the_report_never_prints_the_answer_formula():
    report = check_central_difference(lambda f, w, eps: (f(w + eps) - f(w)) / eps)
    text = str(report) + report._repr_html_()
    assert "2 * eps" not in text and "f(w - eps)" not in text and "f(w + eps)" not in text


@pytest.mark.parametrize(
    ("wrong", "line", "hint"),
    [
        (
            lambda f, w, eps: (f(w + eps) - f(w)) / eps,
            "exact on a quadratic: d/dw (w² + 3w) at 1.5 is 6.0",
            "forward difference",
        ),
        (
            lambda f, w, eps: (f(w) - f(w - eps)) / eps,
            "exact on a quadratic: d/dw (w² + 3w) at 1.5 is 6.0",
            "backward difference",
        ),
        (
            lambda f, w, eps: (f(w + eps) - f(w - eps)) / eps,
            "divides the difference of f by the distance between them",
            "twice too large",
        ),
        (
            lambda f, w, eps: (f(w - eps) - f(w + eps)) / (2 * eps),
            "divides the difference of f by the distance between them",
            "sign is flipped",
        ),
        (
            lambda f, w, eps: (f(w + eps) - f(w - 2 * eps)) / (3 * eps),
            "calls f at two points, one step to each side of w",
            "step equally to both sides",
        ),
        (
            lambda f, w, eps: (f(w + 1e-3) - f(w - 1e-3)) / 2e-3,
            "second order: eps 10 times smaller, error about 100 times smaller",
            "does your code use eps",
        ),
    ],
    ids=["forward", "backward", "missing-2", "sign", "asymmetric", "eps-ignored"],
)
def test_a_wrong_central_difference_is_named(wrong, line, hint):
    failed = failed_lines(check_central_difference(wrong))
    assert line in failed, failed
    assert hint in failed[line]


def test_a_missing_2_is_not_blamed_on_eps():
    # The error of a formula off by a factor 2 does not shrink with eps either: the second
    # order line must name the factor, not ask whether the code uses eps (a walk-through found it).
    failed = failed_lines(
        check_central_difference(lambda f, w, eps: (f(w + eps) - f(w - eps)) / eps)
    )
    detail = failed["second order: eps 10 times smaller, error about 100 times smaller"]
    assert "twice too large" in detail and "use eps" not in detail


def test_a_forward_difference_is_also_called_one_sided():
    failed = failed_lines(check_central_difference(lambda f, w, eps: (f(w + eps) - f(w)) / eps))
    assert "one-sided" in failed["calls f at two points, one step to each side of w"]


def test_an_extra_call_of_f_is_named():
    def wasteful(f, w, eps):
        f(w)  # computed and thrown away: one more forward pass
        return (f(w + eps) - f(w - eps)) / (2 * eps)

    failed = failed_lines(check_central_difference(wasteful))
    assert "f was called 3 times" in failed["calls f exactly twice"]


# --- exercise 2: second_derivative(f, w) -----------------------------------------------------


def _nested(f, w):  # the lesson's solution
    w = tf.Variable(w)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = f(w)
        dy_dw = inner.gradient(y, w)
    return outer.gradient(dy_dw, w)


def _persistent(f, w):  # one persistent tape that records its own gradient: also correct
    w = tf.Variable(w)
    with tf.GradientTape(persistent=True) as tape:
        y = f(w)
        dy_dw = tape.gradient(y, w)
    return tape.gradient(dy_dw, w)


@pytest.mark.parametrize("second_derivative", [_nested, _persistent], ids=["nested", "persistent"])
def test_correct_second_derivatives_pass(second_derivative):
    report = check_second_derivative(second_derivative)
    assert report.passed, str(report)


def test_the_stub_is_told_it_returns_the_first_derivative():
    def stub(f, w):
        w = tf.Variable(w)
        with tf.GradientTape() as tape:
            y = f(w)
        return tape.gradient(y, w)

    failed = failed_lines(check_second_derivative(stub))
    assert "that is the first derivative" in failed["d²/dw² w³ at 3.0 is 18"]
    assert len(failed) == 4  # the exact line too: its first derivative is not its second


def test_inner_gradient_outside_the_outer_tape_gets_the_right_hint():
    def outside(f, w):
        w = tf.Variable(w)
        with tf.GradientTape() as outer, tf.GradientTape() as inner:
            y = f(w)
        dy_dw = inner.gradient(y, w)  # the classic mistake: the outer tape has stopped
        return outer.gradient(dy_dw, w)

    failed = failed_lines(check_second_derivative(outside))
    detail = failed["d²/dw² w³ at 3.0 is 18"]
    assert "inside the outer tape's with-block" in detail
    assert "does the outer tape watch w" not in detail


def _second_difference(h):
    def second_derivative(f, w):
        w = tf.constant(w, tf.float64) if isinstance(w, float) else w
        return (f(w + h) - 2 * f(w) + f(w - h)) / h**2

    return second_derivative


def test_a_second_difference_without_a_tape_fails_the_exact_line_only():
    # Issue 24, item 8: with h = 2**-10 it was exact for w³ at 3 and passed every line.
    failed = failed_lines(check_second_derivative(_second_difference(2.0**-10)))
    line = "exact, not approximated: exp(2w) at a float64 0.5, to the last bit"
    assert list(failed) == [line]
    assert "A finite difference approximates" in failed[line]


def test_polynomials_would_not_catch_a_second_difference():
    # Why the exact line uses exp: on w³ and w⁴ at 3, power-of-two steps give exact answers.
    w = tf.constant(3.0, tf.float64)
    assert float(_second_difference(2.0**-10)(lambda v: v**3, w)) == 18.0
    assert float(_second_difference(2.0**-16)(lambda v: v**4, w)) == 108.0


def test_no_step_makes_a_second_difference_exact_on_the_check():
    w = tf.constant(0.5, tf.float64)
    exact = float(4 * tf.exp(2 * w))
    steps = [2.0**-k for k in range(1, 40)] + list(np.logspace(-12, -1, 300))
    values = [float(_second_difference(h)(lambda v: tf.exp(2 * v), w)) for h in steps]
    assert exact not in values
