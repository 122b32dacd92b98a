"""The compatibility run's verdict (``tools.notebook_tools --check``): errors only, and only
outside the cells tagged ``raises-exception``. Tiny notebooks, so a kernel start is the cost."""

from __future__ import annotations

import nbformat
import pytest

from tools.notebook_tools import check_lesson, main


def notebook(tmp_path, name, *cells):
    made = nbformat.v4.new_notebook()
    made.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for source, cell_tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = cell_tags
        made.cells.append(cell)
    path = tmp_path / name
    nbformat.write(made, path)
    return path


@pytest.mark.slow
def test_an_error_counts_only_outside_raises_exception_cells(tmp_path, capsys):
    taught = notebook(tmp_path, "01_taught.ipynb", ("1 / 0", ["raises-exception"]), ("x = 1", []))
    broken = notebook(tmp_path, "02_broken.ipynb", ("x = 1", []), ("import no_such_module", []))
    assert check_lesson(taught) == (None, "0/0")
    error, _ = check_lesson(broken)
    assert error.startswith("ModuleNotFoundError"), error
    assert main(["--check", "here", str(taught), str(broken)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("here: Python ")
    assert "01_taught.ipynb" in lines[1] and " ok" in lines[1]
    assert "02_broken.ipynb" in lines[2] and "FAILED ModuleNotFoundError" in lines[2]
    assert not list(tmp_path.glob("*.keras")), "the run works on copies elsewhere"
