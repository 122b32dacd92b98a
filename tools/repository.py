"""``python -m tools.notebook_tools --repository OWNER/NAME``: the repository's path, one setting.

pyproject.toml's ``[project.urls] Repository`` is the setting; README's badges and links and the
lessons' Colab header cells are written from it (tests/test_colab.py checks that they agree).
"""

from __future__ import annotations

import re
from pathlib import Path

from tools import notebook_tools as nt

GITHUB_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")


def set_repository(github_path: str, paths: list[Path]) -> None:
    """Make ``github_path`` (``owner/name``) the repository's path: in pyproject.toml's
    ``[project.urls]`` (the one setting), then in what is written from it: README's badges and
    Binder/Colab links, and the Colab header of each lesson in ``paths``. What a fork runs once.
    """
    if not GITHUB_PATH.fullmatch(github_path):
        raise ValueError(f"the repository path must be owner/name, got {github_path!r}")
    old = nt.github_path()
    pyproject = nt.ROOT / "pyproject.toml"
    setting = 'Repository = "https://github.com/{}"'
    text = pyproject.read_text()
    if setting.format(old) not in text:
        raise ValueError(f"pyproject.toml has no line {setting.format(old)!r} to rewrite")
    pyproject.write_text(text.replace(setting.format(old), setting.format(github_path)))
    readme = nt.ROOT / "README.md"
    links = re.compile(rf"(github\.com/|/gh/|/github/){re.escape(old)}(?=/)")
    readme.write_text(links.sub(rf"\g<1>{github_path}", readme.read_text()))
    for path in paths:
        nt.write_colab_header(path.resolve())
