"""Every widget also carries a picture of its state, for readers without a kernel.

GitHub, nbviewer and ``jupyter nbconvert --to html`` cannot run a widget: without a picture in
the same output they print its repr (``VBox(children=(...``). These tests check the picture where
it is made (``LessonWidget``'s display path, under ipywidgets 8 and the ipywidgets 7 way), and
where it is seen: each stored lesson rendered by nbconvert, as nbviewer would. A picture must also
be worth looking at: a plot with no data (a widget still waiting for its first Train press) is
refused, in pictures of widget states and in the stored lessons.
"""

from __future__ import annotations

import helpers.data
import helpers.widgets
from helpers.widgets import base, picture
from helpers.widgets.base import WIDGET_VIEW, FigurePanel, LessonWidget, message_html

import base64
import html
import io
import warnings

import ipywidgets as widgets
import nbconvert
import PIL.Image
import pytest

from tests.widget_stand_ins import Ipywidgets7Box
from tools.notebook_tools import NOTEBOOKS, read, widget_outputs

# A stored picture costs its size in every lesson file (base64 adds a third): keep it small.
MAX_PICTURE_BYTES = 60_000


@pytest.fixture(scope="module")
def small_widget() -> LessonWidget:
    """A lesson-like widget: a slider, a toggle, a hidden slider, a plot and HTML readouts."""
    slider = widgets.FloatLogSlider(value=1e-6, min=-12, max=0, description="eps")
    hidden = widgets.IntSlider(value=3, description="unused")
    hidden.layout.display = "none"
    toggle = widgets.ToggleButtons(options=["forward", "central"], value="central")
    panel = FigurePanel(width=3.0, height=2.0)
    panel.axes.plot([0, 1], [1, 0])
    panel.redraw(full=True)
    table = widgets.HTML("<b>errors</b><table><tr><td>∂f/∂w1</td><td><code>3.0e-06</code></td>")
    message = widgets.HTML(message_html("eps must be > 0", "error"))
    box = widgets.VBox([widgets.HBox([slider, hidden, toggle]), panel.image, table, message])
    return LessonWidget(box, {"eps": slider, "scheme": toggle}, {"plot": panel.image})


def test_the_output_holds_the_live_view_and_a_picture(small_widget):
    bundle = small_widget._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == small_widget.widget.model_id
    assert bundle["text/plain"].startswith("VBox(")
    png = bundle["image/png"]
    assert png.startswith(b"\x89PNG") and len(png) < MAX_PICTURE_BYTES
    image = PIL.Image.open(io.BytesIO(png))
    assert image.width >= small_widget.readouts["plot"].layout.width.count("0")  # decodes
    assert image.mode == "P"  # palette PNG: about a third of the bytes of RGB


def test_the_picture_shows_controls_and_readouts_but_not_hidden_widgets(small_widget):
    texts = picture.widget_texts(small_widget.widget)
    for expected in ("eps", "1e-06", "forward", "central", "errors", "∂f/∂w1", "3.0e-06"):
        assert expected in texts, (expected, texts)
    assert "eps must be > 0" in texts and picture.CAPTION in texts
    assert "unused" not in texts


def test_readout_html_keeps_tables_bold_code_and_colour():
    blocks = picture.html_blocks(
        message_html("diverged", "error") + "<br><b>t</b><table>"
        "<tr><th>a</th><td><code>1</code></td></tr></table>"
    )
    kinds = [kind for kind, _ in blocks]
    assert kinds == ["line", "line", "table"], blocks
    (error_run,) = blocks[0][1]
    assert error_run.text == "diverged" and error_run.colour == (0xCF, 0x22, 0x2E)
    assert blocks[1][1][0].bold
    header, value = blocks[2][1][0]
    assert header[0].bold and value[0].mono and value[0].text == "1"


def test_a_widget_whose_picture_fails_still_displays_live(small_widget, monkeypatch):
    def broken(_widget):
        raise OSError("no font")

    monkeypatch.setattr(base, "widget_picture", broken)
    with pytest.warns(RuntimeWarning, match="no static picture.*OSError: no font"):
        bundle = small_widget._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "image/png" not in bundle


def test_ipywidgets_7_widgets_get_the_same_bundle():
    widget = Ipywidgets7Box("VBox(" + "x" * 200 + ")")
    bundle = base.widget_view_bundle(widget)
    assert bundle[WIDGET_VIEW] == {"version_major": 2, "version_minor": 0, "model_id": "abc123"}
    assert bundle["text/plain"].endswith("…") and len(bundle["text/plain"]) == 111
    assert widget.children_displayed == 1  # display callbacks run, as ipywidgets 7 runs them


def rendered_widget_problems(path) -> list[str]:
    """What a reader of nbconvert's HTML of ``path`` would see wrong: a widget's bare repr, or
    a widget output whose picture is missing from the page."""
    notebook = read(path)
    page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    problems = []
    for number, output in enumerate(widget_outputs(notebook), start=1):
        data = output["data"]
        if "image/png" not in data:
            problems.append(f"widget {number} has no picture (image/png) in its output")
        elif data["image/png"].strip()[:200] not in page:
            problems.append(f"widget {number}'s picture is not on the rendered page")
        if html.escape(data["text/plain"], quote=False) in page:
            problems.append(f"widget {number} shows as its repr: {data['text/plain'][:60]}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_a_lesson_rendered_without_a_kernel_shows_pictures_not_reprs(path):
    assert widget_outputs(read(path)), f"{path.name} displays no widget"
    problems = rendered_widget_problems(path)
    assert not problems, (
        f"{path.name}: {problems}; re-execute it: python -m tools.notebook_tools {path}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_stored_pictures_are_small(path):
    for output in widget_outputs(read(path)):
        if "image/png" in output["data"]:
            png = base64.b64decode(output["data"]["image/png"])
            assert len(png) < MAX_PICTURE_BYTES, f"{path.name}: a {len(png):,}-byte picture"


def test_pictures_do_not_warn(small_widget):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        picture.widget_picture(small_widget.widget)


def test_a_picture_says_whether_its_plots_show_data():
    empty, reference_only, with_data = (FigurePanel(width=2.0, height=1.5) for _ in range(3))
    empty.axes.plot([], [], label="this run")
    reference_only.axes.axhline(1.0)  # a reference line across the axes is not data
    with_data.axes.plot([1, 2], [3, 4])
    for panel in (empty, reference_only, with_data):
        panel.redraw(full=True)
    box = widgets.VBox([widgets.HTML("<b>loss</b>"), empty.image, reference_only.image])
    assert picture.picture_plots(picture.widget_picture(box)) == (2, 2)
    assert picture.picture_plots(picture.widget_picture(with_data.image)) == (1, 0)
    assert picture.picture_plots(picture.widget_picture(widgets.HTML("x"))) == (0, 0)
    assert picture.picture_plots(PNG_WITHOUT_TEXT) is None


def _png_without_text() -> bytes:
    buffer = io.BytesIO()
    PIL.Image.new("RGB", (2, 2)).save(buffer, format="png")
    return buffer.getvalue()


PNG_WITHOUT_TEXT = _png_without_text()


def displayed_picture(built: LessonWidget) -> bytes:
    """The picture a lesson stores: the one displaying the widget produces."""
    return built._repr_mimebundle_()["image/png"]


def test_a_widget_waiting_for_a_train_press_is_pictured_after_one():
    waiting = helpers.widgets.make_training_loop_widget(demo=False)
    assert picture.picture_plots(displayed_picture(waiting)) == (1, 1), "the empty start state"
    shown = helpers.widgets.make_training_loop_widget()
    assert picture.picture_plots(displayed_picture(shown)) == (1, 0), "after one Train press"
    assert "first call (tracing)" in shown.readouts["timing"].value
    assert shown.demo is None, "the demo runs once, before the first display only"


def test_widgets_without_a_plot_are_pictured_after_their_demo_too():
    tracing = helpers.widgets.make_tracing_widget()
    displayed_picture(tracing)
    texts = picture.widget_texts(tracing.widget)
    assert "concrete functions so far: 2" in texts, texts
    assert any("did not trace" in text for text in texts), texts
    untouched = helpers.widgets.make_tracing_widget(demo=False)
    displayed_picture(untouched)
    assert "concrete functions so far: 0" in picture.widget_texts(untouched.widget)
    residual = helpers.widgets.make_residual_architecture_widget(
        helpers.data.load_regression_data(), epochs=2
    )
    displayed_picture(residual)
    assert "validation MSE after 2 epochs" in residual.readouts["validation_loss"].value


def test_a_failing_demo_warns_and_the_widget_still_displays(small_widget):
    def broken():
        raise RuntimeError("no data")

    built = LessonWidget(small_widget.widget, demo=broken)
    with pytest.warns(RuntimeWarning, match="demo failed.*RuntimeError: no data"):
        bundle = built._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "image/png" in bundle


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_stored_pictures_show_data_in_every_plot(path):
    for number, output in enumerate(widget_outputs(read(path)), start=1):
        plots = picture.picture_plots(base64.b64decode(output["data"]["image/png"]))
        assert plots is not None, f"{path.name}: widget {number}'s picture predates plot records"
        assert plots[1] == 0, (
            f"{path.name}: widget {number}'s picture shows {plots[1]} of {plots[0]} plots empty; "
            "give its widget a demo (LessonWidget.demo) and re-execute the lesson"
        )
