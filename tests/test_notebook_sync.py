"""Every class or function a lesson writes out in a ``# @save`` cell is the code in ``helpers``.

This is d2l's ``#@save`` idea: the lesson shows the code where it is taught, later lessons and
tests import it from ``helpers``, and this test fails the moment the two copies drift.
"""

import pytest

from tools.notebook_tools import NOTEBOOKS, helpers_definitions, read, saved_definitions

HELPERS = helpers_definitions()


def test_lessons_save_some_code():
    saved = {name for path in NOTEBOOKS for name in saved_definitions(read(path))}
    assert saved, "no lesson has a '# @save' cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_cells_equal_helpers(path):
    for name, text in saved_definitions(read(path)).items():
        assert name in HELPERS, f"{path.name} saves {name}, which no helpers/*.py module defines"
        module, module_text = HELPERS[name]
        assert text == module_text, (
            f"{name} in {path.name} differs from helpers/{module}: edit both, or copy one over"
        )


def test_names_the_issues_fix_are_saved():
    saved = {name for path in NOTEBOOKS for name in saved_definitions(read(path))}
    for name in ("MyDense", "MyMultiLayer", "MyGaussianNoise"):
        assert name in saved
