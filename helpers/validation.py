"""Argument checks shared by the helpers: one behaviour and one wording for one kind of mistake.

Every check refuses a ``bool`` (``True`` is an ``int`` to Python, never a count or a rate a
learner meant), accepts NumPy scalars (``np.int64(3)``, ``np.float32(0.5)``: what indexing an
array gives), and raises a ``ValueError`` that names the argument and the allowed values::

    units must be an integer >= 1, got 0
    seed must be an integer >= 0, got True
    valid_size must be a number in (0, 1), got 1.5
    eps must be a number in [1e-12, 0.1], got 0.5

Lesson cells (``# @save``) keep a short inline check of their own that behaves the same way.
"""

import math
import numbers

import numpy as np


def _is_integer(value) -> bool:
    return not isinstance(value, bool | np.bool_) and isinstance(value, int | np.integer)


def _is_number(value) -> bool:
    return not isinstance(value, bool | np.bool_) and isinstance(value, numbers.Real)


def _text(bound: float) -> str:
    """A bound as a learner would write it: ``0.5``, ``1,000`` (an int), ``1e-12``."""
    if isinstance(bound, int):
        return f"{bound:,}"
    if bound != 0 and math.isfinite(bound):
        exponent = math.log10(abs(bound))
        if exponent == round(exponent) and abs(exponent) >= 4:
            return f"{'-' if bound < 0 else ''}1e{round(exponent)}"
    return f"{bound:g}"


def require_int_in_range(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an ``int``, if it is an integer (a NumPy integer too, never a ``bool``) in
    ``[low, high]`` (no upper end if ``high`` is ``None``); else a ``ValueError``."""
    if not _is_integer(value) or value < low or (high is not None and value > high):
        allowed = f">= {_text(low)}" if high is None else f"from {_text(low)} to {_text(high)}"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def require_seed(value, name: str = "seed") -> int:
    """A random seed: an integer >= 0."""
    return require_int_in_range(name, value, 0)


def require_number_in_range(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a ``float``, if it is a finite real number (NumPy's too, never a ``bool``)
    between ``low`` and ``high`` (each end included unless ``*_open``; ``None``: no end)."""
    ok = _is_number(value) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            allowed = f"a number in {left}{_text(low)}, {_text(high)}{right}"
        elif low is not None:
            allowed = f"a number {'>' if low_open else '>='} {_text(low)}"
        elif high is not None:
            allowed = f"a number {'<' if high_open else '<='} {_text(high)}"
        else:
            allowed = "a finite number"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return float(value)


def require_fraction(name: str, value) -> float:
    """A share of something: a number in (0, 1), both ends excluded."""
    return require_number_in_range(name, value, 0.0, 1.0, low_open=True, high_open=True)


def require_log_in_range(name: str, value, low_exponent: float, high_exponent: float) -> float:
    """A value a log slider sets: a number in ``[10**low_exponent, 10**high_exponent]``."""
    return require_number_in_range(name, value, 10.0**low_exponent, 10.0**high_exponent)


def require_choice(name: str, value, allowed):
    """``value`` if it is one of ``allowed`` (a ``bool`` only if a ``bool`` is allowed: ``True``
    would otherwise pass for ``1``); else a ``ValueError`` listing every choice."""
    is_bool = isinstance(value, bool | np.bool_)
    if value not in allowed or (is_bool and not any(isinstance(a, bool) for a in allowed)):
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}, got {value!r}")
    return value
