"""Lesson 06's self-checks: a custom gradient that the checker accepts, a Hessian-vector product."""

from __future__ import annotations

from helpers.checks.base import CheckReport


def _uses_custom_gradient(function) -> bool:
    """Whether ``function`` is decorated with ``@tf.custom_gradient`` (TensorFlow marks the
    decorated function with a ``_tf_decorator`` named ``custom_gradient``), also under an
    outer ``@tf.function``, whose wrapper hides that mark (``python_function`` keeps it)."""
    function = getattr(function, "python_function", function)
    decorator = getattr(function, "_tf_decorator", None)
    return getattr(decorator, "decorator_name", None) == "custom_gradient"


def _gradient_conditions(safe_norm, x):
    """The gradient lines of :func:`check_safe_norm`: 0 at the zero vector, exactly ``x / |x|``
    elsewhere (a constant such as ``+ 1e-3`` passes ``gradient_check`` but not this), and
    linear in the upstream gradient."""
    import numpy as np
    import tensorflow as tf

    textbook = x.numpy() / np.linalg.norm(x.numpy())

    def gradient_at_zero():
        zero = tf.Variable(tf.zeros(3, tf.float64))
        with tf.GradientTape() as tape:
            value = safe_norm(zero)
        gradient = tape.gradient(value, zero)
        if gradient is None:
            return False, "got None: does the tape see safe_norm's result?"
        gradient = gradient.numpy()
        return bool(np.all(gradient == 0)), f"got {gradient}"

    def gradient_of(scale):
        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = scale * safe_norm(variable)
        return tape.gradient(value, variable).numpy()

    def gradient_is_exact():
        gradient = gradient_of(1.0)
        ok = np.allclose(gradient, textbook, rtol=1e-10, atol=0)
        if gradient.shape != textbook.shape:
            return ok, f"got shape {gradient.shape}: the gradient must have x's shape"
        ratios = gradient / textbook
        if np.allclose(ratios, ratios[0], rtol=1e-9):  # x/|x| times one number
            return ok, (
                f"got x/|x| times {ratios[0]:.6g}: the formula is slightly off (a constant "
                "added, such as + 1e-3?); keep x / |x| exactly and make only the zero vector "
                "special"
            )
        return ok, f"got {np.round(gradient, 4)}, not x/|x| = {np.round(textbook, 4)}"

    def chain_rule():
        ok = np.allclose(gradient_of(3.0), 3.0 * gradient_of(1.0), rtol=1e-10)
        return (
            ok,
            "the gradient of 3·safe_norm(x) is not 3 times safe_norm's: multiply by upstream",
        )

    return gradient_at_zero, gradient_is_exact, chain_rule


def check_safe_norm(safe_norm) -> CheckReport:
    """Check a learner's ``safe_norm(x)``: the Euclidean norm, with a gradient that is 0 (not
    ``nan``) at the zero vector, as a ``@tf.custom_gradient``.

    ``tf.norm``'s own gradient at 0 is ``nan``: the formula ``x / |x|`` is ``0 / 0`` there, and
    TensorFlow's chain rule meets ``0 * inf`` (``sqrt``'s derivative at 0 times ``2x``). Each
    line catches one plausible wrong answer: no ``@tf.custom_gradient`` at all (such as
    ``sqrt(sum(x**2) + 1e-30)``, whose value at 0 is not 0 either), a value that is not the
    norm, a gradient that :func:`helpers.lesson06_gradient_check.gradient_check` rejects, the
    textbook ``x / |x|`` (``nan`` at 0), a formula slightly off (``x / (|x| + 1e-3)``, which
    passes ``gradient_check``'s tolerance), and a gradient that forgets ``upstream``.
    """
    from helpers.lesson06_gradient_check import gradient_check

    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(11).normal(size=5))

    def written_with_custom_gradient():
        hint = "the exercise asks for a hand-written gradient: put @tf.custom_gradient above it"
        return _uses_custom_gradient(safe_norm), hint

    def value_is_the_norm():
        value, expected = float(safe_norm(x)), float(tf.norm(x))
        at_zero = float(safe_norm(tf.zeros(3, tf.float64)))
        ok = np.isclose(value, expected, rtol=1e-12) and at_zero == 0
        return ok, f"got {value:.10g} and {at_zero:.3g} at 0; tf.norm gives {expected:.10g} and 0"

    def gradient_passes_the_check():
        report = gradient_check(safe_norm, [x])
        return report.passed, str(report).replace("\n", " |")

    at_zero, exact, chain_rule = _gradient_conditions(safe_norm, x)

    report = CheckReport("Checking safe_norm(x)")
    report.check("it is written with @tf.custom_gradient", written_with_custom_gradient)
    report.check("its value is tf.norm(x), and 0 at the zero vector", value_is_the_norm)
    report.check("gradient_check passes on a random float64 vector", gradient_passes_the_check)
    report.check("the gradient at the zero vector is 0, not nan", at_zero)
    report.check("away from 0 the gradient is exactly x/|x|", exact)
    report.check("chain rule: the gradient of 3·safe_norm(x) is 3 times safe_norm's", chain_rule)
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

    report = CheckReport("Checking hessian_vector_product(f, x, v)")
    report.check("sum(x³): H·v = 6·x·v", _matches_nested_tapes(hessian_vector_product, cubes, x, v))
    report.check(
        "sum(sin x)·sum(x²): equals tape.jacobian(gradient)·v",
        _matches_nested_tapes(hessian_vector_product, coupled, x, v),
    )

    def linear_in_v():
        once = hessian_vector_product(coupled, x, v)
        twice = hessian_vector_product(coupled, x, 2.0 * v)
        if once is None or twice is None:
            return False, _NONE_HINT
        once, twice = np.asarray(once), np.asarray(twice)
        return np.allclose(twice, 2 * once, rtol=1e-10), "H·(2v) is not 2·H·v"

    report.check("linear in v: H·(2v) = 2·(H·v)", linear_in_v)
    report.check(
        "it never builds the whole Hessian (no tape.jacobian)",
        _builds_no_jacobian(lambda: hessian_vector_product(coupled, x, v)),
    )
    return report


def _full_hessian(f, x):
    """The whole Hessian of a scalar ``f`` at ``x``: the reference the learner's H·v meets."""
    import tensorflow as tf

    with tf.GradientTape(persistent=True) as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = f(x)
        gradient = inner.gradient(y, x)
    # Without pfor: in eager mode pfor traces a new function per call, and says so.
    return outer.jacobian(gradient, x, experimental_use_pfor=False).numpy()


# None comes from an outer tape that recorded no path from x to (gradient · v): most often
# because inner.gradient(...) ran after the outer tape's with-block had closed, else because
# the outer tape does not watch x. The hint names both, the commoner first.
_NONE_HINT = (
    "got None: the outer tape recorded nothing that leads from x to (gradient · v). Compute "
    "inner.gradient(...) and the product with v inside the outer tape's with-block, and "
    "watch x with both tapes"
)


def _matches_nested_tapes(hessian_vector_product, f, x, v):
    """A check line: the learner's H·v of ``f`` equals the full Hessian times ``v`` exactly."""
    import numpy as np

    def condition():
        result = hessian_vector_product(f, x, v)
        if result is None:
            return False, _NONE_HINT
        result = np.asarray(result)
        expected = _full_hessian(f, x) @ v.numpy()
        if result.shape != expected.shape:
            return False, f"got shape {result.shape}, expected {expected.shape}"
        ok = np.allclose(result, expected, rtol=1e-10, atol=1e-12)
        if np.allclose(result, expected, rtol=1e-4, atol=1e-8):
            return ok, (
                f"close but not exact (largest difference {np.abs(result - expected).max():.1g}"
                "): finite differences? Nested tapes give H·v exactly"
            )
        return ok, f"got {np.round(result, 4)}, expected {np.round(expected, 4)}"

    return condition


def _builds_no_jacobian(call):
    """A check line: ``call()`` runs without ``tf.GradientTape.jacobian`` or
    ``batch_jacobian``, the calls that build a whole Hessian, which the exercise avoids."""
    import tensorflow as tf

    def condition():
        used = []
        originals = {
            name: getattr(tf.GradientTape, name) for name in ("jacobian", "batch_jacobian")
        }

        def spy(name):
            def method(self, *args, **kwargs):
                used.append(name)
                return originals[name](self, *args, **kwargs)

            return method

        try:
            for name in originals:
                setattr(tf.GradientTape, name, spy(name))
            call()
        finally:
            for name, original in originals.items():
                setattr(tf.GradientTape, name, original)
        hint = (
            f"it calls tape.{used[0] if used else 'jacobian'}, which builds all n² entries of H: "
            "differentiate (gradient · v) with an outer tape instead"
        )
        return not used, hint

    return condition
