"""The repository's GitHub path is one setting, and one command moves everything written from it.

pyproject.toml's ``[project.urls] Repository`` is the setting; README's badges and links and the
lessons' Colab cells are written from it (tests/test_colab.py checks that they agree). A fork
runs ``python -m tools.notebook_tools --repository you/your-fork`` once: tried here on copies.
"""

import shutil

import pytest

from tools import notebook_tools
from tools.notebook_tools import NOTEBOOKS, ROOT, main, read


@pytest.fixture
def copy_root(tmp_path, monkeypatch):
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    lesson = tmp_path / "notebooks" / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], lesson)
    monkeypatch.setattr(notebook_tools, "ROOT", tmp_path)
    return tmp_path, lesson


def test_a_fork_sets_its_path_in_one_command(copy_root):
    root, lesson = copy_root
    old = notebook_tools.repository_url().removeprefix("https://github.com/")

    assert main(["--repository", "alice/keras-fork", str(lesson)]) == 0

    assert notebook_tools.repository_url() == "https://github.com/alice/keras-fork"
    readme = (root / "README.md").read_text()
    assert notebook_tools.colab_url(lesson) in readme
    assert "mybinder.org/v2/gh/alice/keras-fork/HEAD?labpath=notebooks%2F" in readme
    assert f"/{old}/" not in readme
    cells = read(lesson).cells
    assert cells[0].source == notebook_tools.colab_badge_source(lesson)
    (setup,) = [cell for cell in cells if cell.get("id") == notebook_tools.COLAB_SETUP_ID]
    assert 'REPOSITORY = "https://github.com/alice/keras-fork"' in setup.source


@pytest.mark.parametrize("path", ["alice", "alice/fork/extra", "https://github.com/a/b", "a b/c"])
def test_a_path_that_is_not_owner_slash_name_is_refused(copy_root, path):
    root, lesson = copy_root
    before = (root / "pyproject.toml").read_text()
    with pytest.raises(ValueError, match="owner/name"):
        main(["--repository", path, str(lesson)])
    assert (root / "pyproject.toml").read_text() == before
