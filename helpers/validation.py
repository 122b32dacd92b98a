"""Argument checks shared by the lessons' helpers: one wording for one kind of mistake."""

import numpy as np


def require_int_in_range(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` (a NumPy integer is accepted, a ``bool`` refused), or a
    ``ValueError`` naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high:,}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)
