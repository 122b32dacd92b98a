"""The compatibility run's verdict (``tools.notebook_tools --check``): every error counts outside
the cells tagged ``raises-exception``, and a ``compat-compare`` cell's text must not change.
Tiny notebooks, so a kernel start is the cost."""

from __future__ import annotations

import nbformat
import pytest

from tools.notebook_tools import check_lesson, compared_changes, lesson_errors, main


def notebook(tmp_path, name, *cells, stored=None):
    """A notebook of code cells ``(source, tags)``; ``stored`` gives cells a stored text."""
    made = nbformat.v4.new_notebook()
    made.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for index, (source, cell_tags) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = cell_tags
        if stored and index in stored:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored[index])]
        made.cells.append(cell)
    path = tmp_path / name
    nbformat.write(made, path)
    return path


# An error shown by IPython, in a cell that ran to its end: the kernel reports it ok.
SHOWN_TRACEBACK = """\
try:
    1 / 0
except ZeroDivisionError:
    get_ipython().showtraceback()"""
# A traceback in the kernel's own log (a failing comm or display callback writes it there).
KERNEL_LOG_TRACEBACK = """\
import os
os.write(2, b"Traceback (most recent call last):\\n  File x\\nValueError: in the kernel log\\n")"""
# A value whose display raises: IPython 7 (Colab's) shows an error output and calls the cell
# ok; newer IPython also fails the cell.
BROKEN_DISPLAY = """\
class Shown:
    def _repr_mimebundle_(self, include=None, exclude=None):
        raise TypeError("unexpected keyword argument 'include'")

Shown()"""
# A traceback the kernel logs while it shuts down, after the last cell (ipykernel's own
# shutdown race, ipython/ipykernel#1518, logs a ZMQError like this one): not the lesson's.
SHUTDOWN_TRACEBACK = """\
import atexit, os
atexit.register(
    os.write, 2, b"Traceback (most recent call last):\\nzmq.error.ZMQError: at shutdown\\n"
)"""
STDERR_TRACEBACK = """\
import sys, traceback
try:
    {}["missing"]
except KeyError:
    traceback.print_exc(file=sys.stderr)"""


@pytest.mark.slow
def test_an_error_counts_only_outside_raises_exception_cells(tmp_path, capsys):
    taught = notebook(
        tmp_path,
        "01_taught.ipynb",
        ("1 / 0", ["raises-exception"]),
        (SHUTDOWN_TRACEBACK, []),
    )
    broken = notebook(tmp_path, "02_broken.ipynb", ("x = 1", []), ("import no_such_module", []))
    shown = notebook(
        tmp_path,
        "03_shown.ipynb",
        (SHOWN_TRACEBACK, []),
        (STDERR_TRACEBACK, []),
        (KERNEL_LOG_TRACEBACK, []),
        (BROKEN_DISPLAY, []),
    )
    assert check_lesson(taught).errors == []
    assert check_lesson(broken).errors == [
        "ModuleNotFoundError: No module named 'no_such_module' (cell [2])"
    ]
    # The first three cells "succeed" as far as the kernel says: their errors count all the same.
    assert check_lesson(shown).errors == [
        "ZeroDivisionError: division by zero (cell [1])",
        "KeyError: 'missing' (cell [2])",
        "TypeError: unexpected keyword argument 'include' (cell [4])",
        "ValueError: in the kernel log (kernel log)",
    ]
    assert main(["--check", "here", str(taught), str(broken), str(shown)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("here: Python ")
    assert "01_taught.ipynb" in lines[1] and " ok, widgets with their picture: 0/0" in lines[1]
    assert "02_broken.ipynb" in lines[2] and "FAILED 1 error(s): ModuleNotFoundError" in lines[2]
    assert "03_shown.ipynb" in lines[3] and "FAILED 4 error(s): ZeroDivisionError" in lines[3]
    assert len(lines) == 4, "one line per lesson"
    assert not list(tmp_path.glob("*.keras")), "the run works on copies elsewhere"


@pytest.mark.slow
def test_a_compared_claim_that_changed_is_reported_and_fails_the_run(tmp_path, capsys):
    claims = notebook(
        tmp_path,
        "04_claims.ipynb",
        ("print('float32 digits: 7')", ["compat-compare"]),  # holds
        ("print('keras 3.14')\nprint('same')", ["compat-compare"]),  # changed
        ("print('not compared')", []),
        stored={0: "float32 digits: 7\n", 1: "keras 3.15\nsame\n", 2: "anything\n"},
    )
    result = check_lesson(claims)
    assert result.errors == []
    assert result.changed == ["cell [2]: stored 'keras 3.15', now 'keras 3.14'"]
    assert result.verdict() == "ok, 1 claim changed, widgets with their picture: 0/0"
    assert main(["--check", "here", str(claims)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "04_claims.ipynb" in lines[1] and "ok, 1 claim changed" in lines[1]
    assert lines[2].split() == [
        "here", "04_claims.ipynb", "cell", "[2]:", "stored", "'keras", "3.15',", "now",
        "'keras", "3.14'",
    ]  # fmt: skip


def test_compared_text_is_shortened_and_cells_not_reached_are_skipped():
    def cell(text, cell_tags, count):
        made = nbformat.v4.new_code_cell("print(...)", execution_count=count)
        made.metadata["tags"] = cell_tags
        made.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        return made

    stored, fresh = nbformat.v4.new_notebook(), nbformat.v4.new_notebook()
    stored.cells = [cell("a" * 200, ["compat-compare"], 1), cell("x", ["compat-compare"], 2)]
    fresh.cells = [cell("b" * 200, ["compat-compare"], 1), cell("y", ["compat-compare"], None)]
    (change,) = compared_changes(stored, fresh)
    assert change.startswith("cell [1]: stored 'aaa") and "…', now 'bbb" in change
    assert len(change) < 200
    # An error output in a raises-exception cell is not counted; elsewhere it is.
    taught = nbformat.v4.new_code_cell("1/0", execution_count=1)
    taught.metadata["tags"] = ["raises-exception"]
    taught.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="x")]
    plain = nbformat.v4.new_code_cell("f()", execution_count=2)
    plain.outputs = list(taught.outputs)
    stored.cells = [taught, plain]
    assert lesson_errors(stored) == ["ZeroDivisionError: x (cell [2])"]
