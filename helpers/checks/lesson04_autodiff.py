"""Lesson 04's self-checks: the central-difference formula and a second derivative by tapes.

Each failed line names the likely mistake (a forward difference, a misplaced 2, ``eps``
ignored, ``inner.gradient`` called outside the outer tape...) without printing the answer.
"""

from __future__ import annotations

from helpers.checks.base import CheckReport

import functools
import math

# A central difference a constant factor off the derivative, and what that factor means.
_FACTOR_HINTS = (
    (2, "twice too large: divide by the distance between the two points"),
    (0.5, "half too small: divide by the distance between the two points"),
    (-1, "the sign is flipped: subtract the left value from the right one"),
)


def _central_difference_hint(value, w, eps, f, derivative) -> str:
    """Name the formula a wrong value of ``central_difference(f, w, eps)`` matches, if any."""
    forward = (f(w + eps) - f(w)) / eps
    backward = (f(w) - f(w - eps)) / eps
    guesses = [
        (forward, "that is the forward difference: a central one steps to both sides of w"),
        (backward, "that is the backward difference: a central one steps to both sides of w"),
        *((factor * derivative, hint) for factor, hint in _FACTOR_HINTS),
    ]
    for guess, hint in guesses:
        if math.isclose(value, guess, rel_tol=1e-9):
            return hint
    return "compare with the definition in section 1 of the lesson"


class _CentralDifferenceProperties:
    """What ``check_central_difference`` checks, one method per line of the report."""

    def __init__(self, central_difference):
        self.central_difference = central_difference
        self.calls: list = []

    def cube(self, w):
        self.calls.append(w)
        return w**3

    def exact_on_quadratic(self):
        def quadratic(w):
            return w**2 + 3 * w

        value = self.central_difference(quadratic, 1.5, 0.5)
        if value == 6.0:
            return True
        hint = _central_difference_hint(value, 1.5, 0.5, quadratic, 6.0)
        return False, f"got {value!r} for d/dw (w² + 3w) at 1.5 with eps=0.5, expected 6.0: {hint}"

    def points(self):
        """The value at ``w = 2`` with ``eps = 1e-3``, and the sorted points ``f`` was called at."""
        self.calls.clear()
        value = self.central_difference(self.cube, 2.0, 1e-3)
        return value, sorted(float(point) for point in self.calls)

    def symmetric_points(self):
        _, points = self.points()
        if len(points) != 2:
            return False, f"f was called at {len(points)} points, expected 2"
        left, right = points[0] - 2.0, points[1] - 2.0
        if left == 0 or right == 0:
            return False, "one of the two points is w itself: that is a one-sided difference"
        ok = left < 0 < right and math.isclose(right, -left, rel_tol=1e-6)
        return ok, f"f was called at w {left:+.3g} and w {right:+.3g}: step equally to both sides"

    def divides_by_distance(self):
        value, points = self.points()
        if len(points) != 2 or points[0] == points[1]:
            return False, "needs two different points to divide by their distance"
        slope = (points[1] ** 3 - points[0] ** 3) / (points[1] - points[0])
        if math.isclose(value, slope, rel_tol=1e-9):
            return True
        hint = _central_difference_hint(value, 2.0, 1e-3, lambda w: w**3, slope)
        return False, f"got {value:.10g} for d/dw w³ at 2 with eps=1e-3: {hint}"

    def two_calls(self):
        self.points()
        count = len(self.calls)
        return count == 2, f"f was called {count} times: each call costs a forward pass"

    def second_order(self):
        values = [self.central_difference(math.sin, 1.0, eps) for eps in (1e-2, 1e-3)]
        errors = [abs(value - math.cos(1.0)) for value in values]
        ratio = errors[0] / errors[1] if errors[1] else math.inf
        if 0.9 < ratio < 1.1:
            return False, _flat_error_hint(values[1], math.cos(1.0))
        return 50 < ratio < 200, f"the error shrank {ratio:.3g}-fold, expected about 100-fold"


def _flat_error_hint(value, derivative) -> str:
    """Why the error stays put: a constant factor off (a misplaced 2, a sign), or no eps."""
    for factor, hint in _FACTOR_HINTS:
        if math.isclose(value, factor * derivative, rel_tol=1e-3):
            return f"the error does not change with eps because the value is {hint}"
    return "the error does not change with eps: does your code use eps?"


def check_central_difference(central_difference) -> CheckReport:
    """Check a learner's ``central_difference(f, w, eps)`` for a function of one variable.

    Every correct central difference passes, whatever its step (``eps`` to each side, as in the
    lesson, or ``eps / 2``): it is exact on a quadratic, calls ``f`` at two points placed
    symmetrically around ``w``, divides by their distance, and its error shrinks 100-fold
    when ``eps`` shrinks 10-fold (second order). Each wrong formula fails a line whose detail
    names it, without printing the answer.
    """
    checks = _CentralDifferenceProperties(central_difference)
    report = CheckReport("Checking central_difference(f, w, eps)")
    report.check("exact on a quadratic: d/dw (w² + 3w) at 1.5 is 6.0", checks.exact_on_quadratic)
    report.check("calls f at two points, one step to each side of w", checks.symmetric_points)
    report.check(
        "divides the difference of f by the distance between them", checks.divides_by_distance
    )
    report.check("calls f exactly twice", checks.two_calls)
    report.check(
        "second order: eps 10 times smaller, error about 100 times smaller", checks.second_order
    )
    return report


_NONE_HINT = (
    "got None: the outer tape recorded nothing that leads to the first derivative. Call "
    "inner.gradient(...) inside the outer tape's with-block (and make w a tf.Variable, or "
    "watch it with both tapes)"
)


def _exact_in_float64(second_derivative):
    """The line only autodiff passes: d²/dw² exp(2w) at a float64 0.5, to the last bit."""
    import tensorflow as tf

    w = tf.constant(0.5, tf.float64)
    # The tapes compute exp(2w) times 2 times 2: exactly 4 * exp(1.0) in float64.
    expected = float(4 * tf.exp(2 * w))
    value = second_derivative(lambda w: tf.exp(2 * w), w)
    if value is None:
        return False, _NONE_HINT
    value = float(value)
    if value == expected:
        return True
    if math.isclose(value, expected, rel_tol=1e-3):
        return False, (
            f"got {value!r}, off by {value - expected:.2g}: close, not exact. A finite "
            f"difference approximates; nested tapes give exactly {expected!r}"
        )
    return False, f"got {value!r}, expected exactly {expected!r}"


def check_second_derivative(second_derivative) -> CheckReport:
    """Check a learner's ``second_derivative(f, w)``: d²f/dw² at ``w`` by nested tapes.

    The last line asks for what only autodiff gives: d²/dw² exp(2w) at a float64 0.5, equal to
    the last bit to ``4 * exp(1.0)``, which is what the tapes compute (a first derivative,
    ``2 * exp(1.0)``, fails it too). A second difference without a tape misses it
    (tests/test_checks_lesson04.py tries hundreds of steps). On a polynomial it would not:
    for w³ at 3 a power-of-two step gives exactly 18.0, and for w⁴ at 3 the float64 rounding
    of a small power-of-two step hides its truncation error. A first
    derivative returned by mistake, and ``None`` from a gradient called outside the outer tape,
    each get a hint that names them.
    """
    import tensorflow as tf

    def close_to(f, w, expected, first, description):
        def condition():
            value = second_derivative(f, w)
            if value is None:
                return False, _NONE_HINT
            value = float(value)
            if math.isclose(value, expected, rel_tol=1e-5):
                return True
            detail = f"got {value:.6g} for {description}, expected {expected:.6g}"
            if math.isclose(value, first, rel_tol=1e-5):
                detail += ": that is the first derivative; differentiate it again with a tape"
            return False, detail

        return condition

    report = CheckReport("Checking second_derivative(f, w)")
    report.check("d²/dw² w³ at 3.0 is 18", close_to(lambda w: w**3, 3.0, 18.0, 27.0, "w³ at 3.0"))
    report.check(
        "d²/dw² sin(w) at 1.0 is -sin(1)",
        close_to(tf.sin, 1.0, -math.sin(1.0), math.cos(1.0), "sin(w) at 1.0"),
    )
    report.check(
        "d²/dw² exp(2w) at 0.5 is 4e",
        close_to(lambda w: tf.exp(2 * w), 0.5, 4 * math.e, 2 * math.e, "exp(2w) at 0.5"),
    )

    report.check(
        "exact, not approximated: exp(2w) at a float64 0.5, to the last bit",
        functools.partial(_exact_in_float64, second_derivative),
    )
    return report
