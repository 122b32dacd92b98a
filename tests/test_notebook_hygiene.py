"""The committed lessons are clean: run in order from a fresh kernel, canonical, portable.

nbval checks that the stored outputs are what the code produces today; these tests check the
things nbval does not: that the outputs were produced in one top-to-bottom run, that only the
cells teaching a failure hold an error, and that nothing of the author's machine leaked in.
"""

import json
import re

import nbformat
import pytest

from tools.notebook_tools import (
    COLAB_SETUP_ID,
    NOTEBOOKS,
    canonicalize,
    code_cells,
    colab_setup_source,
    output_errors,
    read,
    tags,
)

IDS = [path.name for path in NOTEBOOKS]


def test_lessons_exist_and_are_numbered():
    assert NOTEBOOKS, "no notebooks/NN_topic.ipynb found"
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), numbers  # 00, 01, ... with no gap


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_valid_and_canonical(path):
    notebook = read(path)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    canonical = nbformat.writes(canonicalize(read(path))) + "\n"
    assert path.read_text() == canonical, (
        f"{path.name} is not in canonical form: run python -m tools.notebook_tools {path}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_executed_in_order_from_a_fresh_kernel(path):
    counts = [cell.execution_count for cell in code_cells(read(path))]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_errors_only_where_a_failure_is_taught(path):
    # Every error output counts, and every traceback printed to stderr: IPython shows an
    # exception raised while *displaying* a value as an error output of a cell it calls ok.
    for index, cell in enumerate(code_cells(read(path))):
        errors = output_errors(cell)
        if "raises-exception" in tags(cell):
            assert errors, f"code cell {index} is tagged raises-exception but did not raise"
        else:
            assert not errors, f"code cell {index} shows {errors}: {cell.source[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_author_machine_or_log_noise_in_outputs(path):
    text = json.dumps({"metadata": read(path).metadata, "outputs": _outputs(path)})
    for pattern in (r"/root\b", r"/home/", r"/work/", r"/tmp/", r"site-packages", r"\\Users\\"):
        assert not re.search(pattern, text), f"{path.name} output mentions {pattern}"
    for noise in ("oneDNN custom operations", "cuda", "TF_ENABLE_ONEDNN_OPTS", "I0000 "):
        assert noise not in text, f"{path.name} holds TensorFlow log noise: {noise!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_lesson_starts_by_importing_helpers(path):
    cells = code_cells(read(path))
    if cells[0].get("id") == COLAB_SETUP_ID:
        # The Colab install cell may come first: it imports only `sys` (and, on Colab,
        # `subprocess`), never TensorFlow, and it must be exactly the generated one.
        assert cells[0].source == colab_setup_source(), (
            f"{path.name}: stale Colab cell; run python -m tools.notebook_tools --colab-header"
        )
        cells = cells[1:]
    first = cells[0].source
    statements = [line for line in first.splitlines() if line.strip() and not line.startswith("#")]
    assert re.match(r"(import|from) helpers\b", statements[0]), (
        "the first statement (after the Colab install cell) must import helpers: "
        "it quiets TensorFlow before its import"
    )


def _outputs(path):
    return [cell.outputs for cell in code_cells(read(path))]
