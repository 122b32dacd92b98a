"""``python -m tools.main_path_words [notebooks]``: how long each lesson's main road is.

A lesson has two depths (DEVELOPERS.md, "Style"): the main road a learner reads in about 15
minutes, and "going deeper" notes, ``<details><summary>Going deeper: ...</summary>`` blocks
that start closed. This counts the words of markdown prose a reader meets with every note
closed: the markdown cells' text outside ``<details>`` blocks, plus each note's summary line,
which stays visible. Code cells and outputs are not prose and do not count.

A word is a run of non-blank characters holding at least one letter or digit, once markdown's
markup is taken away (heading hashes, quote and list markers, HTML tags): ``keras.ops.exp``
is one word, a lone ``>`` or ``-`` is none. The budget is ``BUDGET`` words per lesson
(issue 25); at ~200 words a minute that is about eight minutes of reading.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from tools.notebook_tools import NOTEBOOKS, read

BUDGET = 1600
WORDS_PER_MINUTE = 200

_DETAILS_TAG = re.compile(r"<(/?)details\b[^>]*>", re.IGNORECASE)
_SUMMARY = re.compile(r"<summary\b[^>]*>(.*?)</summary>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_LINE_MARKUP = re.compile(r"^\s*(?:>\s*)*(?:#{1,6}\s|[-*+]\s|\d+\.\s)?", re.MULTILINE)
_WORD = re.compile(r"\S*[^\W_]\S*")


def main_path_text(markdown: str) -> str:
    """The part of one markdown cell a reader sees with every note closed.

    Text inside ``<details>`` (nested ones too) is dropped, except each outermost note's
    ``<summary>``, which a closed note still shows. An unclosed ``<details>`` hides the rest
    of the cell, as a browser would.
    """
    kept, depth, position = [], 0, 0
    for tag in _DETAILS_TAG.finditer(markdown):
        if depth == 0:
            kept.append(markdown[position : tag.start()])
        closing = tag.group(1) == "/"
        if not closing and depth == 0:
            summary = _SUMMARY.match(markdown, tag.end())
            if summary:
                kept.append(" " + summary.group(1) + " ")
        depth = max(depth - 1, 0) if closing else depth + 1
        position = tag.end()
    if depth == 0:
        kept.append(markdown[position:])
    return "".join(kept)


def count_words(markdown: str) -> int:
    """Words of prose in ``markdown``, markup taken away (see the module's docstring)."""
    text = _HTML_TAG.sub(" ", markdown)
    text = _LINE_MARKUP.sub("", text)
    return len(_WORD.findall(text))


def word_counts(path: Path) -> tuple[int, int]:
    """Words of markdown prose in the lesson at ``path``: on its main road, and in all of it
    (the "going deeper" notes included)."""
    markdown = [cell.source for cell in read(path).cells if cell.cell_type == "markdown"]
    main_road = sum(count_words(main_path_text(source)) for source in markdown)
    return main_road, sum(count_words(source) for source in markdown)


def main_path_words(path: Path) -> int:
    """Words of markdown prose on the main road of the lesson at ``path``."""
    return word_counts(path)[0]


def all_markdown_words(path: Path) -> int:
    """Words of all the markdown prose of the lesson at ``path``, notes included."""
    return word_counts(path)[1]


def reading_minutes(words: int) -> int:
    """Minutes to read ``words`` at ``WORDS_PER_MINUTE``, rounded up."""
    return -(-words // WORDS_PER_MINUTE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.main_path_words",
        description="Words of markdown prose on each lesson's main road (outside the "
        f"'going deeper' notes), against the budget of {BUDGET}.",
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    paths = parser.parse_args(argv).notebooks or NOTEBOOKS
    for path in paths:
        words, with_notes = word_counts(path)
        verdict = "ok" if words <= BUDGET else f"over by {words - BUDGET}"
        print(
            f"{path.name}: {words} words on the main road (~{reading_minutes(words)} min), "
            f"{with_notes} with the notes; {verdict}"
        )


if __name__ == "__main__":
    main()
