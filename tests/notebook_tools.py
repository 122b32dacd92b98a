"""Read, execute and inspect the lesson notebooks: shared by the tests and by maintainers.

Re-execute a lesson before committing it (formats it with ruff, runs it top to bottom in a
fresh kernel, writes it back in canonical form)::

    python -m tests.notebook_tools notebooks/01_custom_layers.ipynb

Canonical form means what ``nbformat`` writes (sorted keys, one-space indent), with no per-cell
timing metadata and no stored widget state, so a re-run changes a file only where an output
really changed.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SAVE_MARKER = "# @save"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def canonicalize(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes on every run without meaning anything: timings, widget state, the
    random ids of widget views (numbered instead; without stored state they point nowhere
    anyway), and the way a cell's printed text happened to be split into chunks."""
    notebook.metadata.pop("widgets", None)
    widget_views = 0
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs = _merge_streams(cell.outputs)
        for output in cell.outputs:
            if WIDGET_VIEW in output.get("data", {}):
                widget_views += 1
                output.data[WIDGET_VIEW]["model_id"] = f"widget-{widget_views}"
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


def top_level_definitions(source: str) -> dict[str, str]:
    """Map each top-level class or function in ``source`` to its text, decorators included."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            text = "\n".join(lines[first - 1 : node.end_lineno])
            found[node.name] = textwrap.dedent(text).rstrip()
    return found


def saved_definitions(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The definitions in cells whose first line is ``# @save``: they must equal ``helpers``."""
    saved = {}
    for cell in code_cells(notebook):
        if cell.source.lstrip().startswith(SAVE_MARKER):
            saved.update(top_level_definitions(cell.source))
    return saved


def helpers_definitions() -> dict[str, tuple[str, str]]:
    """Map each top-level definition in ``helpers/`` (subpackages too) to ``(module, text)``."""
    helpers = ROOT / "helpers"
    found: dict[str, tuple[str, str]] = {}
    for module in sorted(helpers.rglob("*.py")):
        for name, text in top_level_definitions(module.read_text()).items():
            found.setdefault(name, (module.relative_to(helpers).as_posix(), text))
    return found


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:]] or NOTEBOOKS
    for notebook_path in paths:
        print(f"executing {notebook_path} ...", flush=True)
        execute(notebook_path.resolve())
