"""The widgets and self-checks stay small pieces, and the benchmark still knows who built what.

The guide asks that a function fit on a screen (a long widget builder becomes a small class
with named methods): this test holds ``helpers/widgets/`` and ``helpers/checks/`` to it. Every
builder also records its name on the widget it returns (``@lesson_widget_builder``), which is
how the benchmark reports each timing under the builder a learner calls.
"""

import helpers
from helpers import widgets
from helpers.lesson03_losses import ReconstructionSweep
from helpers.lesson04_gradient_cost import GradientCost

import ast
from pathlib import Path

import numpy as np
import pytest

from benchmarks import in_kernel

# A screen: the guide's "fits on a screen", with room for a docstring.
MAX_FUNCTION_LINES = 60
PACKAGES = ("widgets", "checks")


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("package", PACKAGES)
def test_every_function_fits_on_a_screen(package):
    root = Path(helpers.__file__).parent / package
    too_long = [
        f"{path.name}: {name} ({lines} lines)"
        for path in sorted(root.glob("*.py"))
        for name, lines in _functions(path)
        if lines > MAX_FUNCTION_LINES
    ]
    assert not too_long, f"split these into named pieces: {too_long}"


BUILDERS = [name for name in widgets.__all__ if name.startswith("make_")]


def _small_arguments(name):
    """Cheap arguments for builders that would otherwise train or time something first."""
    sweep = ReconstructionSweep(
        weights=(0.0, 0.1, 1.0),
        train_mse=np.array([0.3, 0.3, 0.4]),
        validation_mse=np.array([0.6, 0.5, 0.7]),
        reconstruction_error=np.array([2.0, 0.3, 0.1]),
    )
    costs = [GradientCost(n, 1e-4, 2e-4, 1e-5 * n, 2e-5 * n, n + 1, 2 * n, n) for n in (10, 100)]
    return {
        "make_reconstruction_weight_widget": {"sweep": sweep},
        "make_gradient_cost_widget": {"costs": costs},
    }.get(name, {})


@pytest.mark.parametrize("name", BUILDERS)
def test_every_builder_records_its_name_for_the_benchmark(name):
    built = getattr(widgets, name)(**_small_arguments(name))
    assert built.builder == name
    assert in_kernel.builder_name(built) == name
