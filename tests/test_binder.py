"""Binder readiness: ``binder/`` follows repo2docker's conventions and matches what CI tests.

repo2docker reads only ``binder/`` when it exists: ``runtime.txt`` (the Python), then
``requirements.txt`` (pip), ``postBuild`` (run once at build time) and ``start`` (run at every
launch, must end by ``exec "$@"`` to hand over to the server). Nobody builds the image in CI (it
needs Docker and the internet), so these tests check what would break it: a Python or a
package version other than the tested one, a module the lessons import that the image lacks, a
script that is not executable or not valid shell, and settings that would land where neither
JupyterLab nor the server reads them (a kernel per lesson left running is what kills a learner's
session on Binder).
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
from jupyterlab.labapp import LabApp
from packaging.requirements import Requirement

from tests.notebook_tools import NOTEBOOKS, ROOT, code_cells, read

BINDER = ROOT / "binder"
QUIET_TF = ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")


def _pins(path) -> dict[str, Requirement]:
    """The requirements of a pip file by normalized name (options and local paths skipped)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        pins[re.sub(r"[-_.]+", "-", requirement.name).lower()] = requirement
    return pins


def _pinned_version(requirement: Requirement) -> str | None:
    specifiers = list(requirement.specifier)
    if len(specifiers) == 1 and specifiers[0].operator == "==":
        return specifiers[0].version
    return None


def test_runtime_is_the_tested_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), f"runtime.txt: {runtime!r} (want python-3.X)"
    tested = f"python-{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != tested:
        message = f"binder/runtime.txt says {runtime}, the tests run on {tested}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": Binder must run the Python CI tests")
        pytest.skip(message + " (only CI's Python must match)")


def test_binder_pins_every_package_exactly_and_as_requirements_txt_does():
    binder, tested = _pins(BINDER / "requirements.txt"), _pins(ROOT / "requirements.txt")
    assert binder, "binder/requirements.txt pins nothing"
    for name, requirement in binder.items():
        version = _pinned_version(requirement)
        assert version, f"binder/requirements.txt: {requirement} is not pinned with =="
        if name in tested:
            assert _pinned_version(tested[name]) == version, (
                f"{name}: binder pins {version}, requirements.txt {tested[name].specifier}"
            )
    # The lessons' runtime, at least; test tools (pytest, playwright...) need not be on Binder.
    for name in ("tensorflow-cpu", "keras", "numpy", "ipywidgets", "jupyterlab"):
        assert name in binder, f"binder/requirements.txt does not pin {name}"


def test_binder_requirements_name_no_local_path():
    # A local path (`-e .`) makes repo2docker install everything after copying the repository,
    # so every commit would reinstall TensorFlow; postBuild installs `helpers` instead.
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        assert not re.match(r"\s*(-e\b|\.|/|file:)", line), f"local path in binder: {line!r}"
    assert (
        "pip install" in (BINDER / "postBuild").read_text()
        and "-e ." in (BINDER / "postBuild").read_text()
    ), "postBuild must install the helpers package (pip install --no-deps -e .)"


def _imported_modules() -> set[str]:
    """Top-level modules imported by helpers/*.py and by the lessons' code cells."""
    sources = [path.read_text() for path in sorted((ROOT / "helpers").glob("*.py"))]
    for path in NOTEBOOKS:
        for cell in code_cells(read(path)):
            # IPython magics and shell escapes are not Python.
            lines = cell.source.splitlines()
            lines = [line for line in lines if not line.lstrip().startswith(("%", "!"))]
            sources.append("\n".join(lines))
    modules = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"helpers", "__future__"}


def _with_dependencies(names) -> set[str]:
    """The installed distributions ``names`` pull in, themselves included (no extras)."""
    seen, todo = set(), list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_binder_installs_every_module_the_lessons_import():
    provided = _with_dependencies(_pins(BINDER / "requirements.txt"))
    distributions = metadata.packages_distributions()
    missing = {}
    for module in sorted(_imported_modules()):
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(module, [])}
        if not names & provided:
            missing[module] = sorted(names) or ["not installed here"]
    assert not missing, f"imported by the lessons, not installed on Binder: {missing}"


@pytest.mark.parametrize("script", ["start", "postBuild"])
def test_binder_scripts_are_executable_valid_shell(script):
    path = BINDER / script
    assert os.access(path, os.X_OK), f"binder/{script} is not executable (chmod +x, git add)"
    text = path.read_text()
    assert text.startswith("#!/bin/bash\n"), f"binder/{script} must start with #!/bin/bash"
    bash = shutil.which("bash")
    if bash:
        result = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"binder/{script} is not valid shell: {result.stderr}"
    statements = [line.strip() for line in text.splitlines()]
    statements = [line for line in statements if line and not line.startswith("#")]
    if script == "start":
        assert statements[-1] == 'exec "$@"', 'binder/start must end with exec "$@"'
    else:
        assert statements[0].startswith("set -e"), "binder/postBuild must begin with set -e"


def test_start_hands_over_to_the_server_with_tensorflow_quiet():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    code = f"import os; print(*(os.environ[name] for name in {QUIET_TF}))"
    command = [bash, str(BINDER / "start"), sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "0"], result.stdout


# One learner, many lessons (issue 23): the settings postBuild installs, and a check of them run
# by the image's Python. ``argv[1]``: an empty user-settings directory.
TRACKER = "@jupyterlab/notebook-extension:tracker"
CULL_SETTINGS = {
    "cull_idle_timeout": 600,
    "cull_interval": 60,
    "cull_connected": True,
    "cull_busy": False,
}
READ_AS_JUPYTER_DOES = f"""
import json, sys
from jupyter_server.serverapp import ServerApp
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyterlab.labapp import LabApp
from jupyterlab_server.settings_utils import get_settings

lab = LabApp()  # where `jupyter lab` reads its overrides and schemas, by default
settings, _ = get_settings(lab.app_settings_dir, lab.schemas_dir, sys.argv[1], {TRACKER!r})
server = ServerApp()  # the server's config files, found on its own config path
server.load_config_file()
manager = AsyncMappingKernelManager(parent=server)  # the server's default kernel manager
print(json.dumps({{
    "app_settings_dir": lab.app_settings_dir,
    "kernelShutdown": settings["schema"]["properties"]["kernelShutdown"]["default"],
    "config_files": server.loaded_config_files,
    "cull": {{name: getattr(manager, name) for name in {list(CULL_SETTINGS)!r}}},
}}))
"""


def test_binder_settings_shut_closed_lessons_down_and_cull_idle_kernels():
    overrides = json.loads((BINDER / "overrides.json").read_text())
    assert overrides == {TRACKER: {"kernelShutdown": True}}
    config = json.loads((BINDER / "jupyter_server_config.json").read_text())
    assert config == {"MappingKernelManager": CULL_SETTINGS}
    # Every name is a configurable trait of the installed server, with a value it accepts.
    traits = MappingKernelManager.class_traits(config=True)
    for name, value in CULL_SETTINGS.items():
        assert name in traits, f"jupyter_server has no MappingKernelManager.{name}"
        assert traits[name].validate(None, value) == value
    # A culled kernel must have been idle longer than the culler's period, and never busy.
    assert CULL_SETTINGS["cull_idle_timeout"] >= 5 * CULL_SETTINGS["cull_interval"]
    schema = json.loads(
        (Path(LabApp().schemas_dir) / TRACKER.replace(":", "/")).with_suffix(".json").read_text()
    )
    assert schema["properties"]["kernelShutdown"]["type"] == "boolean"
    assert schema["properties"]["kernelShutdown"]["default"] is False, (
        "JupyterLab now shuts a closed notebook's kernel down by itself: overrides.json may go"
    )


def test_postbuild_puts_the_settings_where_jupyterlab_and_the_server_read_them(tmp_path):
    """Run postBuild in a stand-in for the image's environment and read the settings back the
    way JupyterLab and the server do.

    The stand-in is a virtual environment on this Python's packages: its own prefix, holding a
    JupyterLab application directory as the image's does (else JupyterLab would find this
    environment's). ``python -m pip`` is a no-op there, so only the settings part runs.
    """
    prefix = tmp_path / "image-prefix"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(prefix)],
        check=True,
    )
    (prefix / "share" / "jupyter" / "lab").mkdir(parents=True)
    (prefix / "share" / "jupyter" / "lab" / "schemas").symlink_to(LabApp().schemas_dir)
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    shim.write_text(
        '#!/bin/sh\n[ "$1 $2" = "-m pip" ] && exit 0\n'
        f'exec {shlex.quote(str(prefix / "bin" / "python"))} "$@"\n'
    )
    shim.chmod(0o755)
    home = tmp_path / "home"  # an empty home: no user's own Jupyter settings count
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env.update(PATH=f"{shim.parent}{os.pathsep}{env['PATH']}", HOME=str(home))
    env.update(JUPYTER_CONFIG_DIR=str(home / ".jupyter"), JUPYTERLAB_SETTINGS_DIR="")
    ours = Path(LabApp().app_settings_dir) / "overrides.json"
    ours_before = ours.read_bytes() if ours.exists() else None

    result = subprocess.run(
        ["bash", str(BINDER / "postBuild")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert (ours.read_bytes() if ours.exists() else None) == ours_before, "postBuild wrote here"

    user_settings = home / "user-settings"
    user_settings.mkdir(parents=True)
    read = subprocess.run(
        [str(shim), "-c", READ_AS_JUPYTER_DOES, str(user_settings)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    found = json.loads(read.stdout)
    lab_settings = prefix / "share" / "jupyter" / "lab" / "settings"
    assert Path(found["app_settings_dir"]) == lab_settings
    assert json.loads((lab_settings / "overrides.json").read_text()) == {
        TRACKER: {"kernelShutdown": True}
    }
    assert found["kernelShutdown"] is True, "JupyterLab does not read the image's overrides.json"
    assert found["config_files"] == [str(prefix / "etc" / "jupyter" / "jupyter_server_config.json")]
    assert found["cull"] == CULL_SETTINGS, "the server does not read the image's cull settings"
