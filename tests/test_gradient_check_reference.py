"""``gradient_check`` side by side with ``tf.test.compute_gradient``, on a table of cases.

Each case has its known right verdict (is the tape's gradient the true derivative?), run through
our checker and through TensorFlow's, whose two Jacobians are judged by the same rule
(``|a - n| <= atol + rtol * |n|``, every entry finite). Where one of the two is expected to
differ from the truth, the case says so and why (``ours`` / ``reference``), so a new difference
fails here instead of surprising a learner. Where both give Jacobians, they are compared too.
"""

from helpers.lesson06_gradient_check import DEFAULT_ATOL, DEFAULT_RTOL, gradient_check
from helpers.lesson06_gradients import (
    my_better_softplus,
    my_softplus,
    softplus_forgetting_upstream,
    stable_softplus,
)

import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import tensorflow as tf

from tests.gradient_cases import sine_gradient_of_the_wrong_shape, sine_with_relative_error, x64

PASSED, FAILED, REFUSED = "passed", "FAILED", "refused"  # REFUSED: a ValueError, or no entry


INDICES = tf.constant([0, 2, 2])


@dataclass
class Case:
    f: object
    inputs: object  # a function returning the inputs: each run gets fresh ones
    right: str
    ours: str = ""  # what gradient_check says, when it is not the right verdict
    reference: str = ""  # what compute_gradient's Jacobians say, when not the right verdict
    why: str = ""
    eps: float = 1e-6
    warns: bool = False  # gradient_check must warn (a non-float64 input)
    compare: bool = True  # both Jacobians finite and comparable entry by entry
    kwargs: dict = field(default_factory=dict)


CASES = {
    "correct, matrix output": Case(
        lambda x: tf.tanh(x) @ tf.transpose(x), lambda: [x64(2, 3)], PASSED
    ),
    "correct, two inputs": Case(
        lambda x, y: tf.sin(x) * y, lambda: [x64(3), x64(3, seed=1)], PASSED
    ),
    "correct custom gradient": Case(my_better_softplus, lambda: [x64(4)], PASSED),
    "wrong by 50%": Case(lambda x: sine_with_relative_error(x, 0.5), lambda: [x64(3)], FAILED),
    "wrong by 0.2%": Case(
        lambda x: sine_with_relative_error(x, 2e-3), lambda: [x64(3) + 2.0], FAILED
    ),
    "off by 0.05%, inside rtol": Case(
        lambda x: sine_with_relative_error(x, 5e-4), lambda: [x64(3) + 2.0], PASSED
    ),
    "sparse: tf.gather": Case(lambda p: tf.gather(p, INDICES) ** 2, lambda: [x64(4, 2)], PASSED),
    "sparse: embedding_lookup": Case(
        lambda p: tf.nn.embedding_lookup(p, INDICES) * 3.0, lambda: [x64(5, 2)], PASSED
    ),
    "empty input": Case(tf.sin, lambda: [tf.zeros([0, 3], tf.float64)], REFUSED, compare=False),
    "empty output": Case(lambda x: x[:0], lambda: [x64(3)], REFUSED, compare=False),
    "gradient of the wrong shape": Case(
        sine_gradient_of_the_wrong_shape,
        lambda: [x64(3, 2)],
        FAILED,
        reference=REFUSED,
        why="compute_gradient raises NumPy's broadcast error",
        compare=False,
    ),
    "Python numbers": Case(lambda a, b: 3 * a**2 + 2 * a * b, lambda: [5.0, 3.0], PASSED),
    "float32, default eps": Case(
        lambda x: x**2 + tf.sin(x),
        lambda: [tf.constant([1.0, 2.0])],
        PASSED,
        ours=FAILED,
        why="float32 rounding at eps=1e-6 is far above rtol (torch warns the same way); "
        "compute_gradient's delta is 1/1024",
        warns=True,
        compare=False,
    ),
    "float32, eps near the best": Case(
        lambda x: x**2 + tf.sin(x), lambda: [tf.constant([1.0, 2.0])], PASSED, eps=1e-2, warns=True
    ),
    "scalar output, backward ignores upstream": Case(
        lambda x: 2.0 * tf.reduce_sum(softplus_forgetting_upstream(x)),
        lambda: [x64(3)],
        FAILED,
        reference=FAILED,
    ),
    "sum output, backward ignores upstream": Case(
        lambda x: tf.reduce_sum(softplus_forgetting_upstream(x)),
        lambda: [x64(3)],
        FAILED,
        reference=PASSED,
        why="the upstream gradient of a sum is 1, so a one-hot Jacobian cannot see the bug; "
        "only our random-upstream test does",
    ),
    "vector output, backward ignores upstream": Case(
        softplus_forgetting_upstream, lambda: [x64(3)], FAILED
    ),
    "a kink: stable softplus at 0": Case(
        stable_softplus, lambda: [tf.constant([-3.0, 0.0, 2.5], tf.float64)], FAILED
    ),
    "nan: naive softplus at 1000": Case(
        my_softplus, lambda: [tf.constant([1.0, 1000.0], tf.float64)], FAILED, compare=False
    ),
    "inf: sqrt at 0": Case(
        tf.sqrt, lambda: [tf.constant([0.0, 4.0], tf.float64)], FAILED, compare=False
    ),
    "tuple output, different shapes": Case(
        lambda x: (x, x[:1]), lambda: [x64(3)], REFUSED, compare=False
    ),
}


def ours(case):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            report = gradient_check(case.f, case.inputs(), eps=case.eps)
        except ValueError:
            return REFUSED, None, caught
    return report.verdict, report, caught


def reference(case):
    """compute_gradient's verdict by our rule, and its two Jacobians (or None)."""
    try:
        with np.errstate(invalid="ignore"):  # inf - inf in its differences: the nan case
            theoretical, numerical = tf.test.compute_gradient(case.f, case.inputs())
    except (ValueError, AttributeError, tf.errors.InvalidArgumentError):
        return REFUSED, None  # a tuple output: AttributeError 'tuple' has no 'shape'
    theoretical = [np.asarray(t, np.float64) for t in theoretical]
    numerical = [np.asarray(n, np.float64) for n in numerical]
    if all(t.size == 0 for t in theoretical):
        return REFUSED, None  # nothing to compare
    ok = all(
        np.isfinite(t).all()
        and np.isfinite(n).all()
        and (np.abs(t - n) <= DEFAULT_ATOL + DEFAULT_RTOL * np.abs(n)).all()
        for t, n in zip(theoretical, numerical, strict=True)
    )
    return (PASSED if ok else FAILED), (theoretical, numerical)


@pytest.mark.parametrize("name", list(CASES))
def test_side_by_side(name):
    case = CASES[name]
    verdict, report, caught = ours(case)
    assert verdict == (case.ours or case.right), str(report)
    assert any("not float64" in str(w.message) for w in caught) is case.warns
    reference_verdict, jacobians = reference(case)
    assert reference_verdict == (case.reference or case.right)
    if case.compare and report is not None:
        theoretical, numerical = jacobians
        for k, (t, n) in enumerate(zip(theoretical, numerical, strict=True)):
            # compute_gradient flattens to (y.size, x.size); ours keeps y.shape + x.shape
            np.testing.assert_allclose(report.analytic[k].reshape(t.shape), t, rtol=1e-10)
            # their steps differ (eps against 1/1024): in float32, so do the rounding errors
            tolerance = {"atol": 1e-5} if report.dtype == "float64" else {"rtol": 1e-3}
            np.testing.assert_allclose(report.numerical[k].reshape(n.shape), n, **tolerance)


def test_the_table_covers_every_kind_of_case():
    verdicts = {case.right for case in CASES.values()}
    assert verdicts == {PASSED, FAILED, REFUSED} and len(CASES) >= 20
    assert sum(bool(case.why) for case in CASES.values()) >= 3  # differences are explained
