"""Read, execute and inspect the lesson notebooks: shared by the tests and by maintainers.

Re-execute a lesson before committing it (formats it with ruff, runs it top to bottom in a
fresh kernel, writes it back in canonical form)::

    python -m tools.notebook_tools notebooks/01_custom_layers.ipynb

Canonical form means what ``nbformat`` writes (sorted keys, one-space indent), with no per-cell
timing metadata and no stored widget state, so a re-run changes a file only where an output
really changed.

Bring the ``# @save`` cells back to their ``helpers/`` twins after editing ``helpers/`` (one
direction, like nbdev's ``nbdev_update``: ``helpers/`` is the source, the cells follow; only the
definitions are rewritten, nothing is executed), then re-execute each lesson it changed::

    python -m tools.notebook_tools --sync-saved notebooks/01_custom_layers.ipynb
    python -m tools.notebook_tools notebooks/01_custom_layers.ipynb

Add or refresh a lesson's Google Colab header (an "Open in Colab" badge on top, and a first code
cell that installs ``helpers`` on Colab only), then re-execute the lesson::

    python -m tools.notebook_tools --colab-header notebooks/01_custom_layers.ipynb
    python -m tools.notebook_tools notebooks/01_custom_layers.ipynb

A fork sets its GitHub path (pyproject.toml's one setting, README's badges and links, the lessons'
Colab cells), then re-executes the lessons::

    python -m tools.notebook_tools --repository you/your-fork
    python -m tools.notebook_tools

Run every lesson top to bottom in this environment and report every error (error outputs and
tracebacks, outside ``raises-exception`` cells) and every changed ``compat-compare`` claim, one
line per lesson (what ``nox -s compat`` runs on Colab's stack and on the newest releases)::

    python -m tools.notebook_tools --check STACK_NAME notebooks/*.ipynb
"""

from __future__ import annotations

from helpers.widgets.base import WIDGET_VIEW

import ast
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
# LESSONS_DIR points the notebook tests at another folder, e.g. re-executed copies of the lessons.
LESSONS = Path(os.environ.get("LESSONS_DIR", ROOT / "notebooks"))
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
SAVE_MARKER = "# @save"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def widget_outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The outputs of ``notebook`` that display a live widget, in order."""
    return [
        output
        for cell in code_cells(notebook)
        for output in cell.outputs
        if WIDGET_VIEW in output.get("data", {})
    ]


def canonicalize(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes on every run without meaning anything: timings, widget state, the
    random ids of widget views (numbered instead; without stored state they point nowhere
    anyway), and the way a cell's printed text happened to be split into chunks."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
    for number, output in enumerate(widget_outputs(notebook), start=1):
        output.data[WIDGET_VIEW]["model_id"] = f"widget-{number}"
    return notebook


def _merge_streams(outputs: list) -> list:
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def notebook_client(notebook: nbformat.NotebookNode, path: Path, timeout: int = 600):
    """An nbclient runner of ``notebook`` as a learner runs it: a fresh ``python3`` kernel
    working in the notebook's folder, recording neither per-cell timings nor widget state."""
    from nbclient import NotebookClient

    return NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=False,
    )


def execute(path: Path, timeout: int = 600) -> None:
    """Format ``path`` with ruff, execute it in a fresh kernel and write it back canonically."""
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(path)], check=True)
    notebook = read(path)
    notebook_client(notebook, path, timeout).execute()
    nbformat.write(canonicalize(notebook), path)


def _definition_lines(source: str) -> dict[str, tuple[int, int]]:
    """Map each top-level class or function in ``source`` to its first and last line (from 1,
    decorators included)."""
    spans = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            spans[node.name] = (first, node.end_lineno)
    return spans


def top_level_definitions(source: str) -> dict[str, str]:
    """Map each top-level class or function in ``source`` to its text, decorators included."""
    lines = source.splitlines()
    return {
        name: textwrap.dedent("\n".join(lines[first - 1 : last])).rstrip()
        for name, (first, last) in _definition_lines(source).items()
    }


def is_saved_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(SAVE_MARKER)


def saved_definitions(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The definitions in cells whose first line is ``# @save``: they must equal ``helpers``."""
    saved = {}
    for cell in filter(is_saved_cell, notebook.cells):
        saved.update(top_level_definitions(cell.source))
    return saved


def helpers_definitions(helpers: Path = ROOT / "helpers") -> dict[str, list[tuple[str, str]]]:
    """Map each top-level definition in ``helpers/`` (subpackages too) to every
    ``(module, text)`` that defines it: one, unless two modules use the same name."""
    found: dict[str, list[tuple[str, str]]] = {}
    for module in sorted(helpers.rglob("*.py")):
        for name, text in top_level_definitions(module.read_text()).items():
            found.setdefault(name, []).append((module.relative_to(helpers).as_posix(), text))
    return found


# --- Google Colab -------------------------------------------------------------------------------

COLAB_BADGE_ID, COLAB_SETUP_ID = "colab-badge", "colab-setup"
# The badge travels inside the notebook as a cell attachment: a lesson must ask no host but its
# own server for anything (the browser test checks it), and an image linked from Colab's site
# would be fetched by every front end that opens the lesson, offline ones included. A PNG, not an
# SVG: JupyterLab's sanitizer drops an SVG attachment and shows a broken image. The PNG is
# colab-badge.svg (same folder) drawn by Chromium at its own size, 117 by 20 pixels.
COLAB_BADGE_ATTACHMENT = "colab-badge.png"
COLAB_BADGE_PNG = ROOT / "notebooks" / "images" / COLAB_BADGE_ATTACHMENT
DEFAULT_BRANCH = "main"


def repository_url() -> str:
    """The repository's GitHub address: kept in one place, ``[project.urls]`` of pyproject.toml."""
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["urls"]["Repository"].rstrip("/")


def github_path() -> str:
    """The repository's ``owner/name``, from :func:`repository_url`."""
    return repository_url().removeprefix("https://github.com/")


def colab_url(path: Path) -> str:
    """The address that opens lesson ``path`` (as committed on the default branch) in Colab."""
    return (
        f"https://colab.research.google.com/github/{github_path()}/blob/{DEFAULT_BRANCH}"
        f"/notebooks/{path.name}"
    )


def colab_badge_source(path: Path) -> str:
    return f"[![Open In Colab](attachment:{COLAB_BADGE_ATTACHMENT})]({colab_url(path)})"


def colab_badge_cell(path: Path) -> nbformat.NotebookNode:
    """The badge cell: its link, and the badge picture attached to the cell itself.

    Base64, as JupyterLab and nbconvert both expect: they turn an attachment into a
    ``data:<type>;base64,<data>`` address without encoding it themselves.
    """
    import base64

    png = base64.b64encode(COLAB_BADGE_PNG.read_bytes()).decode("ascii")
    return nbformat.v4.new_markdown_cell(
        colab_badge_source(path),
        attachments={COLAB_BADGE_ATTACHMENT: {"image/png": png}},
    )


def colab_setup_source() -> str:
    """The first code cell: on Colab, pip-install this repository's ``helpers``; elsewhere nothing.

    It prints nothing outside Colab, so nbval and the stored outputs do not see it. The package's
    loose dependency ranges (pyproject.toml) are met by what Colab preinstalls, so pip adds
    ``helpers`` without replacing TensorFlow, Keras, NumPy or ipywidgets, and no restart is needed.
    """
    return textwrap.dedent(
        f"""\
        # On Google Colab only: install this repository's `helpers` package, which the lessons
        # import. Anywhere else (JupyterLab, Binder, a clone) it is installed already: no-op.
        import sys

        if "google.colab" in sys.modules:
            import subprocess

            REPOSITORY = "{repository_url()}"
            pip = [sys.executable, "-m", "pip", "install", "--quiet", f"git+{{REPOSITORY}}"]
            installed = subprocess.run(pip, capture_output=True, text=True)
            if installed.returncode != 0:
                reason = (installed.stderr.strip().splitlines() or ["pip failed"])[-1]
                print(
                    f"Could not install helpers from {{REPOSITORY}} ({{reason}}). Check that the "
                    "runtime is online (Runtime > Restart session), then run this cell again.",
                    file=sys.stderr,
                )"""
    )


def add_colab_header(notebook: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """Add or refresh the badge cell (first) and the setup cell (before the first code cell).

    Idempotent: a header cell whose text is already current is kept as it is (outputs and
    execution count included), so running this twice changes nothing.
    """
    existing = {cell.get("id"): cell for cell in notebook.cells}
    wanted = {
        COLAB_BADGE_ID: colab_badge_cell(path),
        COLAB_SETUP_ID: nbformat.v4.new_code_cell(colab_setup_source()),
    }
    for cell_id, cell in wanted.items():
        cell.id = cell_id
        old = existing.get(cell_id)
        if (
            old is not None
            and old.cell_type == cell.cell_type
            and old.source == cell.source
            and old.get("attachments") == cell.get("attachments")
        ):
            wanted[cell_id] = old
    cells = [cell for cell in notebook.cells if cell.get("id") not in wanted]
    first_code = next((i for i, cell in enumerate(cells) if cell.cell_type == "code"), len(cells))
    cells.insert(first_code, wanted[COLAB_SETUP_ID])
    notebook.cells = [wanted[COLAB_BADGE_ID], *cells]
    return notebook


def write_colab_header(path: Path) -> None:
    notebook = add_colab_header(read(path), path)
    nbformat.write(canonicalize(notebook), path)


# --- The compatibility run -----------------------------------------------------------------------


COMPARED_TAG = "compat-compare"  # a code cell whose printed claim must hold on every stack
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class LessonCheck:
    """What the compatibility run found in one lesson.

    Attributes:
        errors: one line per error outside the cells tagged ``raises-exception``: every
            ``error`` output (IPython also reports an exception raised while *displaying* a
            cell's value as one, yet calls the cell ok), every traceback a cell printed to
            stderr, every traceback in the kernel's own log, and the cell that stopped the run.
        changed: one line per difference between a ``compat-compare`` cell's stored text and
            the text it prints on this stack.
        pictures: widget outputs carrying their static picture, as ``"pictured/widgets"``.
    """

    errors: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    pictures: str = "0/0"

    @property
    def claims_changed(self) -> int:
        return len({line.split(":", 1)[0] for line in self.changed})

    def verdict(self) -> str:
        """The lesson's one-line verdict: ``ok, ...`` or ``FAILED ...``."""
        changed = self.claims_changed
        claims = f"{changed} claim{'s' * (changed != 1)} changed, " if changed else ""
        if self.errors:
            more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            return f"FAILED {len(self.errors)} error(s): {self.errors[0]}{more}; {claims}".rstrip(
                "; ,"
            )
        return f"ok, {claims}widgets with their picture: {self.pictures}"

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.changed)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # tracebacks come coloured


def _exception_line(text: str) -> str:
    """The ``SomeError: message`` line of a printed traceback (the first after its frames)."""
    lines = [line.strip() for line in _plain(text).splitlines() if line.strip()]
    found = [line for line in lines if re.match(r"[\w.]+(Error|Exception|Interrupt)(:|$)", line)]
    return (found or lines[-1:] or ["(empty traceback)"])[0]


def _shorten(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 1] + "…")


def output_errors(cell: nbformat.NotebookNode) -> list[str]:
    """Every error shown in ``cell``'s outputs: ``error`` outputs and stderr tracebacks."""
    found = []
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            found.append(f"{output.ename}: {_plain(output.evalue)}".strip())
        elif output.output_type == "stream" and output.name == "stderr":
            found += traceback_lines(output.text)
    return found


def traceback_lines(text: str) -> list[str]:
    """The exception line (``ValueError: ...``) of each Python traceback printed in ``text``."""
    return [_exception_line(part) for part in _plain(text).split(TRACEBACK)[1:]]


def lesson_errors(notebook: nbformat.NotebookNode) -> list[str]:
    """``output_errors`` of every code cell outside ``raises-exception``, naming the cell."""
    return [
        f"{error} (cell [{cell.get('execution_count')}])"
        for cell in code_cells(notebook)
        if "raises-exception" not in tags(cell)
        for error in output_errors(cell)
    ]


def cell_text(cell: nbformat.NotebookNode) -> str:
    """What ``cell`` printed or showed as text: its streams and ``text/plain`` results."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"] + "\n")
    return _plain("".join(parts))


def compared_changes(stored: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[str]:
    """Each difference, line by line, between the stored and the fresh text of every code cell
    tagged ``compat-compare`` (a cell the run did not reach is not compared)."""
    import difflib

    changes = []
    pairs = zip(code_cells(stored), code_cells(fresh), strict=True)
    for index, (old, new) in enumerate(pairs, start=1):
        if COMPARED_TAG not in tags(old) or new.get("execution_count") is None:
            continue
        before, after = cell_text(old).splitlines(), cell_text(new).splitlines()
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        for kind, a0, a1, b0, b1 in matcher.get_opcodes():
            if kind != "equal":
                was, now = "\n".join(before[a0:a1]), "\n".join(after[b0:b1])
                changes.append(f"cell [{index}]: stored {_shorten(was)}, now {_shorten(now)}")
    return changes


def check_lesson(path: Path, timeout: int = 600) -> LessonCheck:
    """Run a copy of lesson ``path`` top to bottom in a fresh kernel of *this* interpreter.

    Counts every error outside the cells tagged ``raises-exception`` and compares the text of
    the cells tagged ``compat-compare`` with their stored text (see :class:`LessonCheck`). The
    copy runs in a temporary folder, so whatever the lesson saves lands there, not in the
    repository.
    """
    import shutil

    from nbclient.exceptions import CellExecutionError

    result = LessonCheck()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        shutil.copy(path, copy)
        notebook = read(copy)
        stored = read(copy)
        # The kernel's own log goes to a file, not into the report: the tracebacks in it
        # (a failing comm or display callback) count, its warnings do not. Only what the
        # kernel wrote until its last cell finished counts: a kernel being shut down may log
        # a traceback of its own (a ZMQError from a closed socket, ipython/ipykernel#1518),
        # which says nothing about the lesson.
        log_path = Path(folder) / "kernel.log"
        stopped, logged_by_last_cell = None, 0

        def mark_log_end(**_):
            nonlocal logged_by_last_cell
            logged_by_last_cell = log_path.stat().st_size

        client = notebook_client(notebook, copy, timeout)
        client.on_cell_executed = mark_log_end
        with open(log_path, "wb") as log:
            try:
                client.execute(stdout=subprocess.DEVNULL, stderr=log)
            except CellExecutionError as error:
                stopped = _exception_line(str(error))
        kernel_log = log_path.read_bytes()[:logged_by_last_cell].decode(errors="replace")
    result.errors = lesson_errors(notebook)
    if stopped is not None and not any(error.startswith(stopped) for error in result.errors):
        result.errors.append(f"{stopped} (stopped the run)")
    result.errors += [f"{line} (kernel log)" for line in traceback_lines(kernel_log)]
    result.changed = compared_changes(stored, notebook)
    views = widget_outputs(notebook)
    result.pictures = f"{sum('image/png' in output['data'] for output in views)}/{len(views)}"
    return result


def _use_this_interpreter_for_kernels() -> None:
    """Point the ``python3`` kernel at this interpreter, whatever kernel specs exist elsewhere."""
    folder = Path(tempfile.mkdtemp()) / "kernels" / "python3"
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    os.environ["JUPYTER_PATH"] = str(folder.parent.parent)


def stack_versions() -> str:
    from importlib import metadata

    names = ("tensorflow", "tensorflow-cpu", "keras", "keras-nightly", "ipywidgets", "ipykernel")
    names += ("IPython", "numpy", "matplotlib", "scikit-learn")
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return f"Python {sys.version.split()[0]}, " + ", ".join(found)


def check_lessons(stack: str, paths: list[Path]) -> int:
    """Print one line per lesson (``stack  lesson  ok|FAILED ...``), then one line per changed
    ``compat-compare`` claim; return the number of lessons with an error or a changed claim."""
    _use_this_interpreter_for_kernels()
    print(f"{stack}: {stack_versions()}", flush=True)
    failures = 0
    for path in paths:
        start = time.perf_counter()
        result = check_lesson(path.resolve())
        seconds = time.perf_counter() - start
        print(f"{stack:8} {path.name:48} {result.verdict()} ({seconds:.0f} s)", flush=True)
        for line in result.changed:
            print(f"{stack:8}   {path.name} {line}", flush=True)
        failures += result.failed
    return failures


def main(arguments: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tools.notebook_tools",
        description="Re-execute lessons and store them canonically (the default), add their "
        "Colab header, or check that they run on this environment's stack.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--colab-header", action="store_true", help="add or refresh the Colab badge and cell"
    )
    action.add_argument(
        "--check",
        metavar="STACK",
        help="run each lesson, report its errors and changed claims, one line each",
    )
    action.add_argument(
        "--sync-saved",
        action="store_true",
        help="rewrite the definitions in each '# @save' cell from their helpers/ twins (one "
        "direction: helpers/ is the source); outputs are not refreshed, so re-execute each "
        "changed lesson next",
    )
    action.add_argument(
        "--repository",
        metavar="OWNER/NAME",
        help="make OWNER/NAME the repository's GitHub path (pyproject.toml, README's badges and "
        "links, every lesson's Colab header), as a fork does once; then re-execute the lessons",
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    options = parser.parse_args(arguments)
    paths = options.notebooks or NOTEBOOKS
    if options.colab_header:
        for path in paths:
            write_colab_header(path.resolve())
            print(f"Colab header current in {path}")
        return 0
    if options.check:
        return 1 if check_lessons(options.check, paths) else 0
    if options.sync_saved:
        from tools.saved_cells import sync_lessons

        return sync_lessons(paths)
    if options.repository:
        from tools.repository import set_repository

        set_repository(options.repository, paths)
        print(f"repository path set to {options.repository}; re-execute the lessons next")
        return 0
    for notebook_path in paths:
        print(f"executing {notebook_path} ...", flush=True)
        execute(notebook_path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
