"""The widgets and self-checks stay small pieces, cheap to import, and the benchmark still knows
who built what.

A function fits on a screen (a long widget builder becomes a small class with named methods):
this test holds ``helpers/widgets/`` and ``helpers/checks/`` to it. Importing them does not import
TensorFlow or Keras, whose import takes several times what everything else they need takes, so
the benchmark's smoke run, the tools and the tests that need no model stay fast; only those
imports (and helpers modules that make them) are deferred into the functions that use them.
Every builder also records its name on the widget it returns (``@lesson_widget_builder``), which
is how the benchmark reports each timing under the builder a learner calls.
"""

import helpers
from helpers import widgets

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import in_kernel
from tests.widget_builders import BUILDERS, small_arguments

# A screen: "fits on a screen", with room for a docstring.
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


def test_importing_widgets_and_checks_does_not_import_tensorflow():
    code = (
        "import sys\nimport helpers.widgets, helpers.checks\n"
        "print(sorted({'tensorflow', 'keras'} & {m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]", f"importing helpers.widgets / helpers.checks imported {loaded}"


@pytest.mark.parametrize("name", BUILDERS)
def test_every_builder_records_its_name_for_the_benchmark(name):
    built = getattr(widgets, name)(**small_arguments(name))
    assert built.builder == name
    assert in_kernel.builder_name(built) == name
