"""``python -m tools.notebook_tools --sync-saved``: the ``# @save`` cells follow ``helpers/``.

One direction, like nbdev's ``nbdev_update``: ``helpers/`` is the source, each ``# @save`` cell's
definitions are rewritten from it, and nothing is executed (re-execute a changed lesson next).
A saved name that no helpers module defines, or that two define, is an error: which one would
the lesson be teaching?
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from tools import notebook_tools as nt


class SyncError(ValueError):
    """A ``# @save`` definition has no single twin in ``helpers/``."""


def helpers_twin(name: str, definitions: dict[str, list[tuple[str, str]]]) -> tuple[str, str]:
    """The one ``(module, text)`` of ``helpers/`` that a saved ``name`` must equal.

    None, or more than one (which of two modules would the lesson be teaching?), is an error.
    """
    found = definitions.get(name, [])
    if not found:
        raise SyncError(f"{name} is saved by a lesson, but no helpers/*.py module defines it")
    if len(found) > 1:
        modules = ", ".join(f"helpers/{module}" for module, _ in found)
        raise SyncError(f"{name} is defined in several modules ({modules}): rename all but one")
    return found[0]


def sync_saved_cells(
    notebook: nbformat.NotebookNode, definitions: dict[str, list[tuple[str, str]]]
) -> list[str]:
    """Rewrite each definition in the ``# @save`` cells of ``notebook`` with its ``helpers/``
    text, in place; return the names that changed. The rest of a cell (its marker, imports,
    comments and statements between the definitions) is kept as it is; outputs are not touched.

    One direction, like nbdev's ``nbdev_update``: ``helpers/`` is the source, the cells follow.
    """
    changed = []
    for cell in filter(nt.is_saved_cell, notebook.cells):
        lines = cell.source.splitlines()
        spans = nt._definition_lines(cell.source)
        current = nt.top_level_definitions(cell.source)
        # Bottom to top, so that the line numbers of the definitions above stay valid.
        for name, (first, last) in sorted(spans.items(), key=lambda item: -item[1][0]):
            _, text = helpers_twin(name, definitions)
            if current[name] != text:
                lines[first - 1 : last] = text.splitlines()
                changed.append(name)
        cell.source = "\n".join(lines)
    return sorted(changed)


def write_synced(path: Path, definitions: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Sync the ``# @save`` cells of lesson ``path`` from ``helpers/``; write it only if changed."""
    notebook = nt.read(path)
    changed = sync_saved_cells(notebook, definitions)
    if changed:
        nbformat.write(nt.canonicalize(notebook), path)
    return changed


def sync_lessons(paths: list[Path]) -> int:
    """``--sync-saved``: one line per lesson; non-zero if a saved name has no single twin."""
    definitions = nt.helpers_definitions()
    for path in paths:
        try:
            changed = write_synced(path.resolve(), definitions)
        except SyncError as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 1
        if changed:
            print(
                f"{path}: synced {', '.join(changed)}; re-execute it: "
                f"python -m tools.notebook_tools {path}"
            )
        else:
            print(f"{path}: '# @save' cells already equal helpers/")
    return 0
