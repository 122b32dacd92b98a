"""The compatibility run: every lesson, top to bottom, on the stacks learners will meet next.

    nox                                # both stacks (the same as: nox -s compat)
    nox -s "compat(stack='colab')"     # Google Colab's preinstalled releases only
    nox -s "compat(stack='newest')"    # the newest releases, pre-releases included

Each stack gets a fresh virtual environment (under ``.nox/``, git-ignored) on the Python running
nox, installs this repository's ``helpers`` package into it the way its users do, then executes
every lesson in a fresh kernel of that environment. Errors count, not outputs: printed
versions and trained digits differ between releases, which is why this is not part of
``python -m pytest`` (whose nbval run compares outputs on the pinned set of requirements.txt).
*Every* error counts, outside the cells tagged ``raises-exception``: each ``error`` output (IPython
shows an exception raised while displaying a cell's value as one and still calls the cell ok),
each traceback printed to stderr or to the kernel's log. The only outputs compared are those of
the cells tagged ``compat-compare`` (a claim the prose makes, which must hold on every stack).
It prints one line per stack and lesson (plus one line per changed claim) and exits non-zero on
any error or changed claim. Downloads: two TensorFlow stacks from the package index (Colab's is
the full ``tensorflow`` wheel, about 0.9 GB with its dependencies).
"""

from __future__ import annotations

import json
import platform
import shutil
import sys

import nox

nox.options.sessions = ["compat"]
nox.options.error_on_missing_interpreters = True

# Google Colab's preinstalled releases (its published package list, googlecolab/backend-info,
# 2026-08; Colab runs them on Python 3.13). tests/test_package_ranges.py checks them against
# pyproject.toml's ranges.
COLAB_STACK = {
    "tensorflow": "2.20.0",
    "keras": "3.13.2",
    "ipywidgets": "7.7.1",
    "ipython": "7.34.0",
    "ipykernel": "6.17.1",
    "numpy": "2.1.3",
    "matplotlib": "3.10.0",
    "scikit-learn": "1.6.1",
}
# What the run itself needs besides the lessons' stack: the notebook runner, as pinned.
RUNNER = ("nbclient==0.11.0", "nbformat==5.11.1")
# The newest of everything, pre-releases included. No Keras named: TensorFlow brings the Keras it
# is released with (a TensorFlow release candidate depends on keras-nightly, which installs the
# same `keras` module as the `keras` distribution; naming both would let one overwrite the other).
NEWEST_STACK = ("ipywidgets", "ipython", "ipykernel", "numpy", "matplotlib", "scikit-learn")


def _tensorflow_distribution(stack: str) -> str:
    """The TensorFlow wheel a stack runs.

    Colab's stack: the full ``tensorflow`` wheel, which is what Colab preinstalls (its import
    path differs from ``tensorflow-cpu``'s: it loads the CUDA stubs and warns when it finds no
    GPU). Newest stack: ``tensorflow-cpu`` on Linux x86-64 (the same code without the CUDA
    libraries: a third of the download), ``tensorflow`` elsewhere, as in requirements.txt.
    """
    linux_x86 = sys.platform == "linux" and platform.machine() == "x86_64"
    return "tensorflow-cpu" if linux_x86 and stack != "colab" else "tensorflow"


def _versions(session: nox.Session, names) -> dict[str, str]:
    code = (
        "import json, sys\nfrom importlib import metadata\nfound = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n        found[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError:\n        pass\nprint(json.dumps(found))"
    )
    output = session.run("python", "-c", code, *names, silent=True, log=False)
    return json.loads(output.strip().splitlines()[-1])


@nox.session
@nox.parametrize("stack", ["colab", "newest"])
def compat(session: nox.Session, stack: str) -> None:
    """Execute every lesson on one stack; fail on any error outside ``raises-exception`` cells."""
    # Lessons must import the helpers installed here, not a working copy on PYTHONPATH.
    session.env["PYTHONPATH"] = None
    # ipykernel 6 starts debugpy, which warns on stdout about Python's frozen modules.
    session.env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    tensorflow = _tensorflow_distribution(stack)
    # pip builds the package in-tree (build/): start from no earlier build, so no file deleted
    # from helpers/ since then can be shipped.
    shutil.rmtree("build", ignore_errors=True)
    if stack == "colab":
        pins = {**COLAB_STACK}
        pins[tensorflow] = pins.pop("tensorflow")
        session.install(*(f"{name}=={version}" for name, version in pins.items()), *RUNNER)
        before = _versions(session, pins)
        # As Colab's first cell does: the package with its declared (loose) dependencies.
        session.install(".")
        after = _versions(session, pins)
        replaced = {
            name: f"{version} -> {after.get(name, 'removed')}"
            for name, version in before.items()
            if after.get(name) != version
        }
        if replaced:
            session.error(f"installing helpers replaced Colab's preinstalled {replaced}")
    else:
        session.install("--pre", "--upgrade", tensorflow, *NEWEST_STACK, *RUNNER)
        # Without dependencies: the stack above is the newest one, keep it exactly.
        session.install("--no-deps", ".")
    session.run("python", "-m", "tools.notebook_tools", "--check", stack, *session.posargs)
