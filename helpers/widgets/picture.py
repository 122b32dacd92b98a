"""A static picture of a widget's current state, for pages that have no kernel.

A live widget needs a kernel: GitHub, nbviewer and ``jupyter nbconvert --to html`` have none, so
they show a widget's output as its ``text/plain`` repr (``VBox(children=(FloatSlider(...``)
unless the same output also carries a picture. :func:`widget_picture` draws one: the widget tree
walked in display order, each control drawn as what it shows (a slider's track and readout, the
chosen toggle), each ``Image`` readout pasted as it is (the plot), each ``HTML`` readout set as
text (its tables, bold, ``<code>`` and colours kept), with a caption saying it is a picture.

Why a PNG and not an HTML fallback: nbconvert shows one MIME type per output and prefers
``text/html`` to ``image/png``, GitHub strips the CSS an HTML layout would need, and nbval compares
stored ``text/html`` (readouts hold timings and trained digits) but never ``image/png``. A PNG
looks the same everywhere and keeps the stored notebooks nbval-stable.

Text is drawn with the DejaVu fonts that ship inside matplotlib, so the picture needs no system
font and shows the lessons' symbols (∂, ², ×).
"""

from __future__ import annotations

import html.parser
import io
import math
import os
import re
import weakref
from dataclasses import dataclass
from functools import cache

import ipywidgets as widgets
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import PIL.PngImagePlugin

FONT_SIZE = 13
LINE_HEIGHT = 18
TEXT_WIDTH = 640  # readout paragraphs wrap at this width, in pixels
DESCRIPTION_WIDTH = 64  # controls' descriptions line up in a column this wide
GAP = 6  # between stacked items, in pixels
PALETTE_COLOURS = 128  # the stored PNG is quantized to this many colours: a third of the bytes
INK, MUTED, ACCENT = (31, 35, 40), (101, 109, 118), (9, 105, 218)
RULE, FILL, WHITE = (208, 215, 222), (234, 238, 242), (255, 255, 255)
CAPTION = "A picture of this widget when the cell ran. Run the notebook to use the live widget."


@cache
def _font(bold: bool = False, mono: bool = False, size: int = FONT_SIZE):
    import matplotlib

    name = "DejaVuSans" + ("Mono" if mono else "") + ("-Bold" if bold else "") + ".ttf"
    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)
    return PIL.ImageFont.truetype(path, size)


@dataclass(frozen=True)
class Run:
    """A piece of text in one style."""

    text: str
    bold: bool = False
    mono: bool = False
    colour: tuple[int, int, int] = INK

    @property
    def font(self):
        return _font(self.bold, self.mono)


class _ReadoutParser(html.parser.HTMLParser):
    """The HTML of a readout as blocks: ``("line", runs)`` or ``("table", rows of cells of runs)``.

    It knows the little HTML the lessons' readouts use: ``b``/``strong``/``th`` (bold), ``code``
    (monospace), ``span style="color:#..."``, ``br``/``p``/``div`` (line breaks) and tables.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list = []
        self._runs: list[Run] = []
        self._bold = self._mono = 0
        self._colours: list[tuple[int, int, int] | None] = []
        self._table: list | None = None
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag in ("b", "strong", "th"):
            self._bold += 1
        if tag in ("code", "tt", "pre", "kbd"):
            self._mono += 1
        if tag == "span":
            match = re.search(r"color:\s*#([0-9a-fA-F]{6})", dict(attrs).get("style") or "")
            self._colours.append(tuple(bytes.fromhex(match[1])) if match else None)
        if tag in ("br", "p", "div", "li", "table"):
            self._end_line()
        if tag in ("tr", "td", "th"):
            self._end_cell()  # closing tags are optional in HTML
        if tag == "table":
            self._table = []
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            if not self._table:
                self._table.append([])
            self._runs, self._in_cell = [], True

    def handle_endtag(self, tag):
        if tag in ("b", "strong", "th"):
            self._bold = max(0, self._bold - 1)
        if tag in ("code", "tt", "pre", "kbd"):
            self._mono = max(0, self._mono - 1)
        if tag == "span" and self._colours:
            self._colours.pop()
        if tag in ("td", "th"):
            self._end_cell()
        elif tag == "table":
            self._end_table()
        elif tag in ("p", "div", "li"):
            self._end_line()

    def handle_data(self, data):
        text = re.sub(r"\s+", " ", data)
        if not text.strip() and not self._runs:
            return
        colour = next((c for c in reversed(self._colours) if c is not None), INK)
        self._runs.append(Run(text, self._bold > 0, self._mono > 0, colour))

    def _end_line(self):
        if self._table is None and any(run.text.strip() for run in self._runs):
            self.blocks.append(("line", self._runs))
        if self._table is None:
            self._runs = []

    def _end_cell(self):
        if self._in_cell and self._table:
            self._table[-1].append(self._runs)
            self._runs, self._in_cell = [], False

    def _end_table(self):
        self._end_cell()
        if self._table is not None:
            rows = [row for row in self._table if row]
            if rows:
                self.blocks.append(("table", rows))
            self._table = None

    def close(self):
        super().close()
        self._end_table()
        self._end_line()


def html_blocks(markup: str) -> list:
    """Parse a readout's HTML into the blocks :class:`Picture` draws (see ``_ReadoutParser``)."""
    parser = _ReadoutParser()
    parser.feed(markup)
    parser.close()
    return parser.blocks


def _blank(width: int, height: int) -> PIL.Image.Image:
    return PIL.Image.new("RGB", (max(1, math.ceil(width)), max(1, math.ceil(height))), WHITE)


def _stack(images: list, vertical: bool, gap: int = GAP) -> PIL.Image.Image | None:
    images = [image for image in images if image is not None]
    if not images:
        return None
    if vertical:
        width = max(image.width for image in images)
        height = sum(image.height for image in images) + gap * (len(images) - 1)
    else:
        width = sum(image.width for image in images) + 2 * gap * (len(images) - 1)
        height = max(image.height for image in images)
    canvas, offset = _blank(width, height), 0
    for image in images:
        canvas.paste(image, (0, offset) if vertical else (offset, 0))
        offset += (image.height + gap) if vertical else (image.width + 2 * gap)
    return canvas


# The matplotlib figure behind each plot readout (``FigurePanel`` registers its ``Image``): the
# picture then knows which images are plots, and whether they show any data.
_PLOT_FIGURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def register_plot(image: widgets.Image, figure) -> None:
    """Record that ``image`` shows ``figure``: its picture will tell whether it plots data."""
    _PLOT_FIGURES[image] = figure


def plots_data(figure) -> bool:
    """Whether ``figure`` shows data: a line with points (reference lines across the whole
    axes, ``axhline``/``axvline``, do not count), a scatter or a filled area, a bar or an image.
    A plot whose lines are all empty is a widget waiting for an action (say, a Train press)."""
    for axes in figure.axes:
        for line in axes.lines:
            across = line.get_transform() is not axes.transData  # axhline/axvline: axes units
            if line.get_visible() and len(line.get_xdata()) and not across:
                return True
        for collection in axes.collections:
            if collection.get_visible() and len(collection.get_offsets()):
                return True
        if any(patch.get_visible() for patch in axes.patches) or axes.images:
            return True
    return False


class Picture:
    """Draws a widget tree; ``texts`` records every string drawn (tests read it), ``plots``
    counts the plot readouts drawn and ``empty_plots`` those showing no data."""

    def __init__(self):
        self.texts: list[str] = []
        self.plots = self.empty_plots = 0

    # --- text -----------------------------------------------------------------------------
    def _runs_width(self, runs: list[Run]) -> float:
        return sum(run.font.getlength(run.text) for run in runs)

    def _draw_runs(self, draw, runs: list[Run], x: float, y: float) -> float:
        for run in runs:
            draw.text((x, y + 2), run.text, font=run.font, fill=run.colour)
            x += run.font.getlength(run.text)
        return x

    def _wrap(self, runs: list[Run], width: int) -> list[list[Run]]:
        """Greedy word wrap that keeps each word's style."""
        lines: list[list[Run]] = [[]]
        used = 0.0
        for run in runs:
            for word in re.findall(r"\S+\s*|\s+", run.text):
                piece = Run(word, run.bold, run.mono, run.colour)
                size = run.font.getlength(word.rstrip())
                if used and used + size > width:
                    lines.append([])
                    used = 0.0
                    piece = Run(word.lstrip(), run.bold, run.mono, run.colour)
                lines[-1].append(piece)
                used += run.font.getlength(piece.text)
        return [line for line in lines if line]

    def text_lines(self, runs: list[Run], width: int = TEXT_WIDTH) -> PIL.Image.Image | None:
        self.texts.append("".join(run.text for run in runs).strip())
        lines = self._wrap(runs, width)
        if not lines:
            return None
        image = _blank(max(self._runs_width(line) for line in lines) + 2, LINE_HEIGHT * len(lines))
        draw = PIL.ImageDraw.Draw(image)
        for index, line in enumerate(lines):
            self._draw_runs(draw, line, 0, index * LINE_HEIGHT)
        return image

    def table(self, rows: list[list[list[Run]]]) -> PIL.Image.Image:
        columns = max(len(row) for row in rows)
        widths = [0.0] * columns
        for row in rows:
            for index, cell in enumerate(row):
                widths[index] = max(widths[index], self._runs_width(cell))
                self.texts.append("".join(run.text for run in cell).strip())
        padding, height = 12, LINE_HEIGHT + 4
        image = _blank(sum(widths) + padding * columns, height * len(rows) + 1)
        draw = PIL.ImageDraw.Draw(image)
        for row_index, row in enumerate(rows):
            y, x = row_index * height, 0.0
            for index, cell in enumerate(row):
                self._draw_runs(draw, cell, x + 2, y + 1)
                x += widths[index] + padding
            draw.line([(0, y + height), (image.width, y + height)], fill=RULE)
        return image

    def readout(self, markup: str) -> PIL.Image.Image | None:
        blocks = [
            self.text_lines(content) if kind == "line" else self.table(content)
            for kind, content in html_blocks(markup)
            if content
        ]
        return _stack(blocks, vertical=True, gap=2)

    # --- controls -------------------------------------------------------------------------
    def _label(self, text: str, colour=MUTED, bold=False) -> PIL.Image.Image:
        return self.text_lines([Run(text, bold=bold, colour=colour)])

    def _box(self, text: str, selected: bool = False, arrow: bool = False) -> PIL.Image.Image:
        label = text + ("  ▾" if arrow else "")
        self.texts.append(text)
        font = _font(bold=selected)
        image = _blank(font.getlength(label) + 16, LINE_HEIGHT + 6)
        draw = PIL.ImageDraw.Draw(image)
        box = (0, 0, image.width - 1, image.height - 1)
        draw.rounded_rectangle(box, radius=3, fill=ACCENT if selected else FILL, outline=RULE)
        draw.text((8, 4), label, font=font, fill=WHITE if selected else INK)
        return image

    def _slider(self, fraction: float, readout: str) -> PIL.Image.Image:
        track = _blank(170, LINE_HEIGHT + 6)
        draw = PIL.ImageDraw.Draw(track)
        middle, left, right = track.height // 2, 8, track.width - 8
        handle = left + min(1.0, max(0.0, fraction)) * (right - left)
        draw.rounded_rectangle((left, middle - 2, right, middle + 2), radius=2, fill=FILL)
        draw.rounded_rectangle((left, middle - 2, handle, middle + 2), radius=2, fill=ACCENT)
        draw.ellipse((handle - 7, middle - 7, handle + 7, middle + 7), fill=WHITE, outline=ACCENT)
        return _stack([track, self._label(readout, INK, bold=True)], vertical=False)

    def control(self, widget: widgets.Widget) -> PIL.Image.Image | None:
        """A control as it looks: description, then slider, toggles, menu or value."""
        if isinstance(widget, widgets.Button):
            return self._box(widget.description or "button")
        if isinstance(widget, widgets.ToggleButtons):
            labels = list(widget._options_labels)
            drawn = [self._box(label, index == widget.index) for index, label in enumerate(labels)]
            body = _stack(drawn, vertical=False, gap=1)
        elif isinstance(widget, widgets.Dropdown):
            body = self._box(_selected_label(widget), arrow=True)
        elif isinstance(widget, widgets.SelectionSlider):
            last = max(1, len(widget.options) - 1)
            body = self._slider((widget.index or 0) / last, _selected_label(widget))
        elif isinstance(widget, widgets.FloatLogSlider):
            exponent = math.log(widget.value, widget.base)
            fraction = (exponent - widget.min) / ((widget.max - widget.min) or 1)
            body = self._slider(fraction, _formatted(widget.value, widget.readout_format))
        elif isinstance(widget, widgets.IntSlider | widgets.FloatSlider):
            fraction = (widget.value - widget.min) / ((widget.max - widget.min) or 1)
            body = self._slider(fraction, _formatted(widget.value, widget.readout_format))
        elif hasattr(widget, "value"):
            body = self._label(str(widget.value), INK, bold=True)
        else:
            return None
        description = getattr(widget, "description", "")
        if not description:
            return body
        label = self._label(description)
        column = _blank(max(label.width, DESCRIPTION_WIDTH), label.height)  # aligned, as live
        column.paste(label, (0, 0))
        return _stack([column, body], vertical=False)

    # --- the tree -------------------------------------------------------------------------
    def draw(self, widget: widgets.Widget) -> PIL.Image.Image | None:
        """The picture of ``widget`` and everything inside it, hidden widgets left out."""
        layout = getattr(widget, "layout", None)
        if layout is not None and (layout.display == "none" or layout.visibility == "hidden"):
            return None
        if isinstance(widget, widgets.Box):
            children = [self.draw(child) for child in widget.children]
            return _stack(children, vertical=not isinstance(widget, widgets.HBox))
        if isinstance(widget, widgets.Image):
            figure = _PLOT_FIGURES.get(widget)
            if figure is not None:
                self.plots += 1
                self.empty_plots += not plots_data(figure)
            if not widget.value:
                return None
            return PIL.Image.open(io.BytesIO(bytes(widget.value))).convert("RGB")
        if isinstance(widget, widgets.HTML | widgets.HTMLMath | widgets.Label):
            markup = widget.value if not isinstance(widget, widgets.Label) else _escaped(widget)
            return self.readout(markup)
        if isinstance(widget, widgets.Output):
            return None  # its content lives in the front end, not in the kernel
        return self.control(widget)

    def framed(self, widget: widgets.Widget) -> PIL.Image.Image:
        """The widget's picture on a white card with a thin border and a caption below."""
        body = self.draw(widget) or self._label("(nothing to show)")
        caption = self.text_lines([Run(CAPTION, colour=MUTED)], width=max(body.width, 360))
        content = _stack([body, caption], vertical=True, gap=10)
        card = _blank(content.width + 24, content.height + 24)
        card.paste(content, (12, 12))
        PIL.ImageDraw.Draw(card).rectangle((0, 0, card.width - 1, card.height - 1), outline=RULE)
        return card


def _formatted(value, readout_format: str) -> str:
    try:  # ipywidgets' readout formats (".2f", ".1e", "d") are also Python format specs
        return format(value, readout_format)
    except (TypeError, ValueError):
        return str(value)


def _selected_label(widget) -> str:
    # Not ``widget.label``: ipywidgets 7.7 leaves it empty until the value first changes.
    labels, index = widget._options_labels, widget.index
    return "" if index is None else str(labels[index])


def _escaped(label: widgets.Label) -> str:
    return html.escape(str(label.value))


def widget_picture(widget: widgets.Widget) -> bytes:
    """A PNG of ``widget``'s current state: its controls, plots and readouts (see module doc).

    The PNG also says, in two text chunks, how many plots it shows (``plots``) and how many of
    them show no data (``plots without data``): a stored picture of a widget still waiting for
    its first action is then found by reading the file (see :func:`picture_plots`).
    """
    picture = Picture()
    image = picture.framed(widget)
    palette = image.quantize(
        colors=PALETTE_COLOURS,
        method=PIL.Image.Quantize.MEDIANCUT,
        dither=PIL.Image.Dither.NONE,
    )
    info = PIL.PngImagePlugin.PngInfo()
    info.add_text("plots", str(picture.plots))
    info.add_text("plots without data", str(picture.empty_plots))
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True, pnginfo=info)
    return buffer.getvalue()


def picture_plots(png: bytes) -> tuple[int, int] | None:
    """``(plots, plots without data)`` as a picture by :func:`widget_picture` records them;
    ``None`` for a PNG that does not say (drawn before pictures recorded it)."""
    text = PIL.Image.open(io.BytesIO(png)).text
    if "plots" not in text:
        return None
    return int(text["plots"]), int(text["plots without data"])


def widget_texts(widget: widgets.Widget) -> list[str]:
    """Every string :func:`widget_picture` draws for ``widget``, in drawing order."""
    picture = Picture()
    picture.framed(widget)
    return [text for text in picture.texts if text]
