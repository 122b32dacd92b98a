"""Each lesson's main road stays short: tools/main_path_words.py counts it, these tests check
the counting on a notebook written here, then the budget on the real lessons (issue 25)."""

import nbformat
import pytest

from tools.main_path_words import (
    BUDGET,
    all_markdown_words,
    count_words,
    main,
    main_path_text,
    main_path_words,
    reading_minutes,
)
from tools.notebook_tools import NOTEBOOKS

NOTE = """Two words.

<details><summary>Going deeper: four summary words</summary>

Hidden **markdown** prose, seven words long here.

</details>

Three more words."""


def test_markup_is_not_a_word():
    assert count_words("# A title\n\n> **Quoted** `keras.ops.exp`\n> -\n\n- one\n1. two") == 6
    assert count_words("<code>build()</code> — ok") == 2


def test_a_closed_note_shows_its_summary_only():
    text = main_path_text(NOTE)
    assert "Hidden" not in text and "Going deeper" in text
    assert count_words(text) == 2 + 5 + 3  # the summary: "Going deeper: four summary words"
    assert count_words(NOTE) == 2 + 5 + 7 + 3


def test_nested_and_unclosed_notes_hide_their_inside():
    nested = "a <details><summary>s</summary> b <details>c</details> d </details> e"
    assert main_path_text(nested).split() == ["a", "s", "e"]
    assert main_path_text("a <details>b c").split() == ["a"]
    assert main_path_text("a <DETAILS open>b</DETAILS> c").split() == ["a", "c"]


def test_a_notebook_counts_markdown_cells_only(tmp_path, capsys):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Lesson 99 · A title"),
        nbformat.v4.new_code_cell("print('code is not prose')"),
        nbformat.v4.new_markdown_cell(NOTE),
    ]
    path = tmp_path / "99_synthetic.ipynb"
    nbformat.write(notebook, path)
    assert main_path_words(path) == 4 + 10
    assert all_markdown_words(path) == 4 + 17
    main([str(path)])
    assert capsys.readouterr().out.startswith("99_synthetic.ipynb: 14 words on the main road")


def test_reading_minutes_round_up():
    assert [reading_minutes(words) for words in (0, 1, 200, 201, 1600)] == [0, 1, 1, 2, 8]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_main_road_within_budget(path):
    words = main_path_words(path)
    assert words <= BUDGET, f"{path.name}: {words} words on the main road, budget {BUDGET}"
