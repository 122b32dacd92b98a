"""Google Colab: the header cells ``tools.notebook_tools --colab-header`` writes, and the links.

Colab itself cannot be reached from here, so the install cell is run in this process twice: as
outside Colab (it must do nothing and print nothing, or nbval and every stored lesson would see
it) and as on Colab, with ``google.colab`` faked and pip replaced by a stub.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import types

import nbformat
import pytest

from tools import notebook_tools
from tools.notebook_tools import (
    COLAB_BADGE_ID,
    COLAB_SETUP_ID,
    NOTEBOOKS,
    ROOT,
    add_colab_header,
    code_cells,
    colab_setup_source,
    colab_url,
    read,
    repository_url,
)

IDS = [path.name for path in NOTEBOOKS]


@pytest.fixture
def lesson_copies(tmp_path):
    """Copies of the stored lessons with the header written (the stored ones stay untouched)."""
    copies = []
    for path in NOTEBOOKS:
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        notebook_tools.write_colab_header(copy)
        copies.append(copy)
    return copies


def test_the_header_is_idempotent_and_placed_before_the_first_code_cell(lesson_copies):
    for copy in lesson_copies:
        first = copy.read_text()
        notebook_tools.write_colab_header(copy)
        assert copy.read_text() == first, f"{copy.name}: a second --colab-header changed it"
        notebook = read(copy)
        nbformat.validate(notebook)
        assert notebook.cells[0].id == COLAB_BADGE_ID
        assert colab_url(copy) in notebook.cells[0].source
        first_code = code_cells(notebook)[0]
        assert first_code.id == COLAB_SETUP_ID and first_code.source == colab_setup_source()
        assert sum(cell.id in (COLAB_BADGE_ID, COLAB_SETUP_ID) for cell in notebook.cells) == 2


def test_a_stale_header_is_refreshed_not_duplicated(tmp_path):
    copy = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], copy)
    notebook = add_colab_header(read(copy), copy)
    notebook.cells[0].source = "[old badge](https://example.org)"
    code_cells(notebook)[0].source = "print('old install cell')"
    refreshed = add_colab_header(notebook, copy)
    assert refreshed.cells[0].source == notebook_tools.colab_badge_source(copy)
    assert refreshed.cells[0].attachments == notebook_tools.colab_badge_cell(copy).attachments
    assert code_cells(refreshed)[0].source == colab_setup_source()
    without_header = [
        c for c in read(NOTEBOOKS[0]).cells if c.get("id") not in (COLAB_BADGE_ID, COLAB_SETUP_ID)
    ]
    assert len(refreshed.cells) == len(without_header) + 2


def test_the_badge_is_attached_not_fetched():
    # Every front end would fetch a linked image when the lesson opens, offline ones included.
    for path in NOTEBOOKS:
        badge = read(path).cells[0]
        assert badge.source.startswith("[![Open In Colab](attachment:colab-badge.png)]")
        # A PNG: JupyterLab's sanitizer drops an SVG attachment (a broken image).
        png = base64.b64decode(badge.attachments["colab-badge.png"]["image/png"])
        assert png.startswith(b"\x89PNG") and len(png) < 4000


def test_the_install_cell_is_formatted_and_lint_clean(tmp_path):
    script = tmp_path / "cell.py"
    script.write_text(colab_setup_source() + "\n")
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(ROOT / "pyproject.toml")]
    for command in (["format", "--check", *config], ["check", *config]):
        result = subprocess.run([*ruff, *command, str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def run_install_cell(monkeypatch, capsys, on_colab: bool, returncode: int = 0):
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, returncode, "", "fatal: unable to access")

    monkeypatch.setattr(subprocess, "run", fake_run)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(colab_setup_source(), "colab-setup", "exec"), {})
    return calls, capsys.readouterr()


def test_outside_colab_the_install_cell_does_nothing(monkeypatch, capsys):
    calls, printed = run_install_cell(monkeypatch, capsys, on_colab=False)
    assert calls == [] and printed.out == "" and printed.err == ""


def test_on_colab_the_install_cell_pip_installs_this_repository(monkeypatch, capsys):
    calls, printed = run_install_cell(monkeypatch, capsys, on_colab=True)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", f"git+{repository_url()}"]]
    assert printed.out == "" and printed.err == ""


def test_an_install_that_fails_says_so_in_one_line_and_what_to_do(monkeypatch, capsys):
    _, printed = run_install_cell(monkeypatch, capsys, on_colab=True, returncode=1)
    assert printed.out == ""
    lines = printed.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert repository_url() in lines[0] and "fatal: unable to access" in lines[0]
    assert "run this cell again" in lines[0]


def test_readme_links_every_lesson_to_colab_and_binder_on_the_one_repository_path():
    readme = (ROOT / "README.md").read_text()
    github_path = repository_url().removeprefix("https://github.com/")
    for path in NOTEBOOKS:
        assert colab_url(path) in readme, f"README has no Colab link to {path.name}"
        binder = f"https://mybinder.org/v2/gh/{github_path}/HEAD?labpath=notebooks%2F{path.name}"
        assert binder in readme, f"README has no Binder link to {path.name} on {github_path}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_stored_lesson_has_the_current_colab_header(path):
    notebook = read(path)
    current = add_colab_header(read(path), path)
    assert [cell.source for cell in notebook.cells] == [cell.source for cell in current.cells], (
        f"{path.name}: run python -m tools.notebook_tools --colab-header {path}, then re-execute"
    )
