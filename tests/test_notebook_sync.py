"""Every class or function a lesson writes out in a ``# @save`` cell is the code in ``helpers``.

This is d2l's ``#@save`` idea: the lesson shows the code where it is taught, later lessons and
tests import it from ``helpers``, and this test fails the moment the two copies drift. The mend
is one command, ``python -m tools.notebook_tools --sync-saved`` (``helpers/`` is the source; the
cells follow), tested here on a synthetic lesson.
"""

import nbformat
import pytest

from tools.notebook_tools import NOTEBOOKS, helpers_definitions, main, read, saved_definitions
from tools.saved_cells import SyncError, helpers_twin

HELPERS = helpers_definitions()


def test_lessons_save_some_code():
    saved = {name for path in NOTEBOOKS for name in saved_definitions(read(path))}
    assert saved, "no lesson has a '# @save' cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_cells_equal_helpers(path):
    for name, text in saved_definitions(read(path)).items():
        module, module_text = helpers_twin(name, HELPERS)
        assert text == module_text, (
            f"{name} in {path.name} differs from helpers/{module}: edit helpers/{module}, then "
            f"run python -m tools.notebook_tools --sync-saved {path} and re-execute the lesson"
        )


def test_no_two_helpers_modules_define_one_public_name():
    # A lesson's saved name must have one twin, and a reader finds a name in one place. A private
    # helper (a leading underscore) is never saved nor imported elsewhere: each module has its own.
    twice = {
        name: [m for m, _ in found]
        for name, found in HELPERS.items()
        if len(found) > 1 and not name.startswith("_")
    }
    assert not twice, f"defined in several helpers modules (rename all but one): {twice}"


def test_the_layers_lesson_01_teaches_are_saved():
    saved = {name for path in NOTEBOOKS for name in saved_definitions(read(path))}
    for name in ("MyDense", "MyMultiLayer", "MyGaussianNoise"):
        assert name in saved


# --- The sync command, on a synthetic lesson and a synthetic helpers/ ----------------------------

SQUARE = 'def square(x):\n    """x times x."""\n    return x * x'
CUBE = "@decorated\ndef cube(x):\n    return x**3"


def _helpers(tmp_path, modules):
    root = tmp_path / "helpers"
    root.mkdir()
    for name, text in modules.items():
        (root / name).write_text(text + "\n")
    return root


def _lesson(tmp_path, *sources):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for cell in notebook.cells:
        cell.outputs = [nbformat.v4.new_output("stream", text="stored output\n")]
    path = tmp_path / "01_lesson.ipynb"
    nbformat.write(notebook, path)
    return path


def test_sync_rewrites_saved_definitions_and_keeps_the_rest(tmp_path, monkeypatch, capsys):
    root = _helpers(tmp_path, {"maths.py": f"import numpy\n\n\n{SQUARE}\n\n\n{CUBE}"})
    monkeypatch.setattr(
        "tools.notebook_tools.helpers_definitions", lambda: helpers_definitions(root)
    )
    stale_square = "def square(x):\n    return x ** 2  # drifted"
    saved = f"# @save\nimport numpy\n\nRATE = 0.5\n\n\n{stale_square}\n\n\n{CUBE}\n\nsquare(3)"
    not_saved = stale_square  # the same name outside a '# @save' cell is the lesson's own
    path = _lesson(tmp_path, saved, not_saved)

    assert main(["--sync-saved", str(path)]) == 0

    synced = read(path)
    assert synced.cells[0].source == saved.replace(stale_square, SQUARE)
    assert synced.cells[1].source == not_saved
    assert all(cell.outputs[0].text == "stored output\n" for cell in synced.cells)
    assert "synced square; re-execute it" in capsys.readouterr().out
    # Idempotent: a second run changes nothing.
    before = path.read_text()
    assert main(["--sync-saved", str(path)]) == 0
    assert path.read_text() == before
    assert "already equal" in capsys.readouterr().out


def test_two_modules_defining_one_name_is_an_error(tmp_path, monkeypatch, capsys):
    root = _helpers(tmp_path, {"a.py": SQUARE, "b.py": SQUARE.replace("x * x", "x**2")})
    with pytest.raises(SyncError, match=r"several modules \(helpers/a.py, helpers/b.py\)"):
        helpers_twin("square", helpers_definitions(root))
    monkeypatch.setattr(
        "tools.notebook_tools.helpers_definitions", lambda: helpers_definitions(root)
    )
    path = _lesson(tmp_path, f"# @save\n{SQUARE}")
    before = path.read_text()
    assert main(["--sync-saved", str(path)]) == 1
    assert "several modules" in capsys.readouterr().err
    assert path.read_text() == before


def test_a_saved_name_helpers_lacks_is_an_error(tmp_path):
    root = _helpers(tmp_path, {"a.py": SQUARE})
    with pytest.raises(SyncError, match=r"no helpers/\*\.py module defines it"):
        helpers_twin("cube", helpers_definitions(root))
