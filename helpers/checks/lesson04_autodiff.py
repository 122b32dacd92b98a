"""Lesson 04's self-checks: the central-difference formula and a second derivative by tapes."""

from __future__ import annotations

from helpers.checks.base import CheckReport


def check_central_difference(central_difference) -> CheckReport:
    """Check a learner's ``central_difference(f, w, eps)`` for a function of one variable.

    The functions are chosen so that the forward formula, a misplaced ``2`` or an extra call
    each fail a different line: central differences are exact on a quadratic, call ``f``
    twice, and their error shrinks 100-fold when ``eps`` shrinks 10-fold (second order).
    """
    import math

    calls = []

    def cube(w):
        calls.append(w)
        return w**3

    def exact_on_quadratic():
        value = central_difference(lambda w: w**2 + 3 * w, 1.5, 0.5)
        return value == 6.0, f"got {value!r} for d/dw (w² + 3w) at 1.5 with eps=0.5, expected 6.0"

    def matches_formula():
        value = central_difference(cube, 2.0, 1e-3)
        expected = ((2.0 + 1e-3) ** 3 - (2.0 - 1e-3) ** 3) / (2 * 1e-3)
        ok = math.isclose(value, expected, rel_tol=1e-12)
        return ok, f"got {value:.10g} for d/dw w³ at 2 with eps=1e-3, expected {expected:.10g}"

    def two_calls():
        calls.clear()
        central_difference(cube, 2.0, 1e-3)
        return len(calls) == 2, f"f was called {len(calls)} times"

    def second_order():
        errors = [
            abs(central_difference(math.sin, 1.0, eps) - math.cos(1.0)) for eps in (1e-2, 1e-3)
        ]
        ratio = errors[0] / errors[1] if errors[1] else math.inf
        return 50 < ratio < 200, f"the error shrank {ratio:.3g}-fold, expected about 100-fold"

    report = CheckReport("Checking central_difference(f, w, eps)")
    report.check("exact on a quadratic: d/dw (w² + 3w) at 1.5 is 6.0", exact_on_quadratic)
    report.check("equals (f(w + eps) - f(w - eps)) / (2 * eps)", matches_formula)
    report.check("calls f exactly twice", two_calls)
    report.check("second order: eps 10 times smaller, error about 100 times smaller", second_order)
    return report


def check_second_derivative(second_derivative) -> CheckReport:
    """Check a learner's ``second_derivative(f, w)``: d²f/dw² at ``w`` by nested tapes.

    Finite differences could pass a loose check, so the last line asks for what only autodiff
    gives: the exact 18.0 for w³ at 3 in float64 (at 3, unlike at 2, f' and f'' differ).
    """
    import math

    import tensorflow as tf

    def close_to(f, w, expected, description):
        def condition():
            value = second_derivative(f, w)
            if value is None:
                return False, "got None: does the outer tape watch w (or is w a tf.Variable)?"
            value = float(value)
            ok = math.isclose(value, expected, rel_tol=1e-5)
            return ok, f"got {value:.6g} for {description}, expected {expected:.6g}"

        return condition

    report = CheckReport("Checking second_derivative(f, w)")
    report.check("d²/dw² w³ at 3.0 is 18", close_to(lambda w: w**3, 3.0, 18.0, "w³ at 3.0"))
    report.check(
        "d²/dw² sin(w) at 1.0 is -sin(1)",
        close_to(tf.sin, 1.0, -math.sin(1.0), "sin(w) at 1.0"),
    )
    report.check(
        "d²/dw² exp(2w) at 0.5 is 4e",
        close_to(lambda w: tf.exp(2 * w), 0.5, 4 * math.e, "exp(2w) at 0.5"),
    )

    def exact_in_float64():
        value = second_derivative(lambda w: w**3, tf.constant(3.0, tf.float64))
        value = None if value is None else float(value)
        return value == 18.0, f"got {value!r}, expected exactly 18.0"

    report.check(
        "exact, not approximated: w³ at a float64 3.0 gives exactly 18.0", exact_in_float64
    )
    return report
