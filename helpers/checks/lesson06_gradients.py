"""Lesson 06's self-checks: a custom gradient that the checker accepts, a Hessian-vector product."""

from __future__ import annotations

from helpers.checks.base import CheckReport


def check_safe_norm(safe_norm) -> CheckReport:
    """Check a learner's ``safe_norm(x)``: the Euclidean norm, with a gradient that is 0 (not
    ``nan``) at the zero vector, as a ``@tf.custom_gradient``.

    ``tf.norm``'s own gradient at 0 is ``nan``: the formula ``x / |x|`` is ``0 / 0`` there, and
    TensorFlow's chain rule meets ``0 * inf`` (``sqrt``'s derivative at 0 times ``2x``). The
    lines test the value, the gradient by
    :func:`helpers.lesson06_gradients.gradient_check` in float64,
    the zero vector, and the chain rule (a custom gradient must multiply by the upstream
    gradient).
    """
    from helpers.lesson06_gradients import gradient_check

    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(11).normal(size=5))

    def value_is_the_norm():
        value, expected = float(safe_norm(x)), float(tf.norm(x))
        ok = np.isclose(value, expected, rtol=1e-12)
        return ok, f"got {value:.10g}, tf.norm gives {expected:.10g}"

    def gradient_passes_the_check():
        report = gradient_check(safe_norm, [x])
        return report.passed, str(report).replace("\n", " |")

    def gradient_at_zero():
        zero = tf.Variable(tf.zeros(3, tf.float64))
        with tf.GradientTape() as tape:
            value = safe_norm(zero)
        gradient = tape.gradient(value, zero)
        if gradient is None:
            return False, "got None: does the tape see safe_norm's result?"
        gradient = gradient.numpy()
        return bool(np.all(gradient == 0)), f"got {gradient}"

    def chain_rule():
        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = 3.0 * safe_norm(variable)
        gradient = tape.gradient(value, variable).numpy()
        expected = 3.0 * x.numpy() / np.linalg.norm(x.numpy())
        ok = np.allclose(gradient, expected, rtol=1e-10)
        return ok, "the gradient of 3·safe_norm(x) is not 3·x/|x|: multiply by upstream"

    report = CheckReport("Checking safe_norm(x)")
    report.check("its value is tf.norm(x)", value_is_the_norm)
    report.check("gradient_check passes on a random float64 vector", gradient_passes_the_check)
    report.check("the gradient at the zero vector is 0, not nan", gradient_at_zero)
    report.check("chain rule: the gradient of 3·safe_norm(x) is 3·x/|x|", chain_rule)
    return report


def check_hessian_vector_product(hessian_vector_product) -> CheckReport:
    """Check a learner's ``hessian_vector_product(f, x, v)``: the Hessian of a scalar ``f`` at
    ``x`` times ``v``, by nested tapes, against ``tape.jacobian`` of the gradient.

    The functions are chosen so a first derivative cannot pass: ``sum(x³)`` has the diagonal
    Hessian ``diag(6x)``, and ``sum(sin x)·sum(x²)`` a full one.
    """
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(12)
    x = tf.constant(rng.normal(size=4))
    v = tf.constant(rng.normal(size=4))

    def cubes(w):
        return tf.reduce_sum(w**3)

    def coupled(w):
        return tf.reduce_sum(tf.sin(w)) * tf.reduce_sum(w**2)

    def full_hessian(f):
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = f(x)
            gradient = inner.gradient(y, x)
        # Without pfor: in eager mode pfor traces a new function per call, and says so.
        return outer.jacobian(gradient, x, experimental_use_pfor=False).numpy()

    def matches(f):
        def condition():
            result = hessian_vector_product(f, x, v)
            if result is None:
                return False, "got None: does the outer tape watch x?"
            result = np.asarray(result)
            expected = full_hessian(f) @ v.numpy()
            if result.shape != expected.shape:
                return False, f"got shape {result.shape}, expected {expected.shape}"
            ok = np.allclose(result, expected, rtol=1e-10, atol=1e-12)
            return ok, f"got {np.round(result, 4)}, expected {np.round(expected, 4)}"

        return condition

    report = CheckReport("Checking hessian_vector_product(f, x, v)")
    report.check("sum(x³): H·v = 6·x·v", matches(cubes))
    report.check("sum(sin x)·sum(x²): equals tape.jacobian(gradient)·v", matches(coupled))

    def linear_in_v():
        once = np.asarray(hessian_vector_product(coupled, x, v))
        twice = np.asarray(hessian_vector_product(coupled, x, 2.0 * v))
        return np.allclose(twice, 2 * once, rtol=1e-10), "H·(2v) is not 2·H·v"

    report.check("linear in v: H·(2v) = 2·(H·v)", linear_in_v)
    return report
