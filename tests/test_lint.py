"""ruff's lint and format checks pass over the whole repository, notebooks included, and
actionlint passes over the GitHub Actions workflow."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.notebook_tools import ROOT


def _ruff(*args):
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_check():
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def _actionlint(*args, cwd=ROOT):
    # requirements.txt installs it beside this interpreter, which need not be on PATH.
    folders = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    actionlint = shutil.which("actionlint", path=folders)
    assert actionlint, "actionlint is missing: pip install -r requirements.txt"
    return subprocess.run([actionlint, *args], cwd=cwd, capture_output=True, text=True)


def test_the_workflow_passes_actionlint():
    assert list((ROOT / ".github" / "workflows").glob("*.yml")), "no workflow to check"
    result = _actionlint()  # every workflow under .github/workflows
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n"
    )
    result = _actionlint(str(broken), cwd=tmp_path)
    assert result.returncode != 0 and "no-such-input" in result.stdout
