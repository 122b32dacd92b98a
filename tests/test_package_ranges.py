"""pyproject.toml's loose ranges: what installing ``helpers`` may ask of an environment.

On Google Colab the lessons' first cell pip-installs this repository with its dependencies, so
every range must already be met by what Colab preinstalls (else pip would replace TensorFlow's
Keras or Colab's ipywidgets, and the runtime would need a restart). The pinned set
(requirements.txt) must meet them too, and every third-party module ``helpers`` imports must be
declared. ``nox -s "compat(stack='colab')"`` checks the same thing by installing for real.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from setuptools import find_packages

from tools.notebook_tools import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DECLARED = {
    re.sub(r"[-_.]+", "-", Requirement(line).name).lower(): Requirement(line)
    for line in PYPROJECT["project"]["dependencies"]
}
# TensorFlow is deliberately not declared (see pyproject.toml): `tensorflow` and
# `tensorflow-cpu` are two names for one module, and pip cannot tell that one satisfies the other.
NOT_DECLARED = {"tensorflow", "tensorflow-cpu"}


def colab_stack() -> dict[str, str]:
    pytest.importorskip("nox")
    import noxfile

    return noxfile.COLAB_STACK


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            pins[re.sub(r"[-_.]+", "-", requirement.name).lower()] = specifier.version
    return pins


def test_colab_preinstalls_a_version_in_every_declared_range():
    stack = colab_stack()
    for name, version in stack.items():
        if name in DECLARED:
            assert DECLARED[name].specifier.contains(version, prereleases=True), (
                f"Colab has {name} {version}: outside {DECLARED[name]}, pip would replace it"
            )
    for name in ("keras", "numpy", "ipywidgets", "matplotlib", "scikit-learn"):
        assert name in DECLARED and name in stack, f"{name}: declared and checked against Colab"


def test_the_pinned_set_is_within_the_declared_ranges():
    pins = pinned()
    for name, requirement in DECLARED.items():
        assert name in pins, f"{name} is declared in pyproject.toml but not pinned"
        assert requirement.specifier.contains(pins[name]), (
            f"pinned {name} {pins[name]}: {requirement}"
        )


def test_tensorflow_is_not_a_declared_dependency():
    assert not NOT_DECLARED & set(DECLARED), "declare no TensorFlow (see pyproject.toml)"


def _third_party_imports() -> set[str]:
    modules = set()
    for path in (ROOT / "helpers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"helpers", "__future__"}


def test_every_module_helpers_imports_is_declared():
    distributions = metadata.packages_distributions()
    undeclared = {}
    for module in sorted(_third_party_imports()):
        names = {re.sub(r"[-_.]+", "-", name).lower() for name in distributions.get(module, [])}
        if not names & (set(DECLARED) | NOT_DECLARED):
            undeclared[module] = sorted(names) or ["not installed here"]
    assert not undeclared, f"helpers imports these; declare them in pyproject.toml: {undeclared}"


def test_a_plain_install_ships_every_helpers_subpackage():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = set(find_packages(str(ROOT), include=include))
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "helpers").rglob("__init__.py")
    }
    assert on_disk <= shipped, f"not shipped by a non-editable install: {on_disk - shipped}"
