"""What every self-check returns: a report of named lines, each passed or failed.

A learner calls ``helpers.checks.check_...(their_code)`` and gets a short report: one line per
property that was checked, each passed or failed with the reason. A check never raises because
the learner's code did: an exception becomes a failed line that names it, since a traceback
from inside a checker teaches less than "calling your layer raised ValueError: ...".
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CheckLine:
    """One checked property: what was expected and, when it failed, what was seen instead."""

    description: str
    passed: bool
    detail: str = ""


@dataclass
class CheckReport:
    """The result of a self-check: ``report.passed`` is True when every line passed.

    It renders as plain text (``✓``/``✗`` lines) in a console and as a coloured list in
    JupyterLab, and both renderings are deterministic so stored outputs can be compared.
    """

    title: str
    lines: list[CheckLine] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.lines) and all(line.passed for line in self.lines)

    def check(self, description: str, condition: Callable[[], bool | tuple[bool, str]]) -> bool:
        """Evaluate ``condition()`` and record it; an exception it raises is a failed line.

        ``condition`` may return a bool or a ``(bool, detail)`` pair whose detail explains a
        failure (for instance the value that was seen).
        """
        try:
            outcome = condition()
        except Exception as error:  # the learner's code failed: report it, don't raise
            self.lines.append(CheckLine(description, False, f"{type(error).__name__}: {error}"))
            return False
        passed, detail = outcome if isinstance(outcome, tuple) else (outcome, "")
        self.lines.append(CheckLine(description, bool(passed), "" if passed else detail))
        return bool(passed)

    def summary(self) -> str:
        failed = sum(not line.passed for line in self.lines)
        if self.passed:
            return f"All {len(self.lines)} checks passed."
        return f"{failed} of {len(self.lines)} checks failed: keep going!"

    def __str__(self) -> str:
        rows = [self.title]
        for line in self.lines:
            mark = "✓" if line.passed else "✗"
            rows.append(
                f"  {mark} {line.description}" + (f": {line.detail}" if line.detail else "")
            )
        rows.append(self.summary())
        return "\n".join(rows)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items = []
        for line in self.lines:
            colour, mark = ("#1a7f37", "✓") if line.passed else ("#cf222e", "✗")
            detail = f": <code>{html.escape(line.detail)}</code>" if line.detail else ""
            items.append(
                f'<li style="color:{colour}">{mark} {html.escape(line.description)}{detail}</li>'
            )
        colour = "#1a7f37" if self.passed else "#cf222e"
        return (
            f"<b>{html.escape(self.title)}</b><ul style='list-style:none'>{''.join(items)}</ul>"
            f'<p style="color:{colour}"><b>{html.escape(self.summary())}</b></p>'
        )


# --- Probes more than one lesson's checks use ------------------------------------------------
# Keras is imported inside them, so that importing ``helpers.checks`` stays cheap.


def values_accepted(make: Callable, values) -> list:
    """Those of ``values`` for which ``make(value)`` raises no ``ValueError`` (a check that a
    learner's constructor refuses bad hyperparameters lists what got through)."""
    accepted = []
    for value in values:
        try:
            make(value)
        except ValueError:
            continue
        accepted.append(value)
    return accepted


def defines_get_config(cls) -> bool:
    """Whether ``cls`` (or a class of the learner's between it and Keras) defines
    ``get_config``, rather than inheriting Keras' automatic one (a ``Layer``'s records plain
    constructor values only; a ``Model``'s gives the defaults)."""
    owner = next(base for base in cls.__mro__ if "get_config" in vars(base))
    return not owner.__module__.startswith("keras")


def saved_and_loaded(model):
    """``model`` through a ``.keras`` file, or ``None`` if a class in it is not registered."""
    import os
    import tempfile
    import warnings

    import keras

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "checked.keras")
        model.save(path)
        try:
            with warnings.catch_warnings():
                # Sequential builds a custom layer before calling it, and Keras warns that a
                # layer without build() may hold unbuilt sublayers: true, and harmless here
                # (the call that follows builds them), but noise in a learner's report.
                warnings.simplefilter("ignore", UserWarning)
                return keras.models.load_model(path)
        except TypeError as error:
            if "Could not locate" in str(error):
                return None
            raise
