"""The lessons in a real browser: JupyterLab in Chromium, the path a learner takes.

nbval proves each notebook's outputs are what its code produces; it does not prove a learner
sees them. For every lesson this test opens JupyterLab (a server of its own, see
``tests/browser_lab.py``), chooses *Restart Kernel and Run All Cells*, waits until the kernel is
really idle, and checks what the page shows: every cell ran, errors only where a failure is
taught, every widget and plot rendered. Then it moves a slider with the keyboard and checks that
the readouts follow the kernel, measures the kernel's peak memory (Binder restarts a kernel past
2 GB), and fails on any request that leaves 127.0.0.1. Where the machine allows it, all of this
runs in a network namespace with only loopback: the lessons are then proven to work offline.

Screenshots of each lesson after its run go to ``tests/screenshots/`` (not committed), with a
``summary.txt`` of the time and memory per lesson. ``UPDATE_SCREENSHOTS=1`` also copies the
gradient explorer's picture to ``notebooks/images/gradient_explorer.png`` (shown in the README).

Without Chromium the test is skipped with a message saying how to install it; under CI
(``CI=true``) a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser_lab import (
    KERNEL_NETWORK_INTERFACES,
    ROOT,
    SCREENSHOTS,
    WIDGET_FAILURE_TEXTS,
    LabBrowser,
    count_outputs,
    is_local,
    markdown_image_count,
    network_isolation,
    require_browser,
    visible_text,
)
from tools.notebook_tools import NOTEBOOKS, code_cells, tags

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PEAK_MEMORY_LIMIT = 1.5e9  # bytes; Binder restarts a kernel past 2 GB
COMMITTED_SCREENSHOT = ROOT / "notebooks" / "images" / "gradient_explorer.png"

# The widget each lesson's slider test moves, by its control's name, and the readouts that
# must change with it (None: the first slider of the lesson, and at least one of its readouts).
# The gradient explorer's finite difference and its error are what its learner follows.
GRADIENT_EXPLORER_LESSON = "04_autodiff.ipynb"
SLIDER_PROBES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "01_custom_layers.ipynb": ("stddev", ("noise_std",)),
    GRADIENT_EXPLORER_LESSON: ("eps", ("finite_difference", "error")),
}

# Lesson 04: what helpers.lesson04_autodiff computes, in the lesson's kernel, for the explorer's
# setting as its controls hold it: each partial by finite differences and its absolute error against
# the tape, written as the readouts write them.
GRADIENT_EXPLORER_EXPECTED = """
import numpy as np
from ipywidgets.widgets.widget import _instances
from helpers import lesson04_autodiff as autodiff

values = {}
for widget in list(_instances.values()):
    for name in getattr(widget, "_dom_classes", ()):
        if name.startswith("control-"):
            values.setdefault(name.removeprefix("control-"), []).append(widget.value)
setting = {name: found[0] for name, found in values.items() if len(found) == 1}
example = autodiff.EXAMPLE_FUNCTIONS[setting["function"]]
point = [setting[f"param{slot + 1}"] for slot in range(len(example.parameter_names))]
args = (example.f, point, setting["eps"], setting["scheme"], setting["dtype"])
estimate = autodiff.finite_difference_gradient(*args).gradient
exact = autodiff.tape_gradient(example.f, point, setting["dtype"])
result = {
    "readout-finite_difference": [str(value) for value in estimate],
    "readout-error": [
        f"abs {abs(np.float64(e) - np.float64(t)):.1e}" for e, t in zip(estimate, exact)
    ],
}
"""

MEASURED: dict[str, dict[str, float]] = {}  # lesson -> numbers for summary.txt


@pytest.fixture(scope="module")
def lab(tmp_path_factory, request):
    chromium = require_browser()
    isolate, _ = network_isolation()
    browser = LabBrowser(tmp_path_factory.mktemp("lab"), chromium, isolate)
    yield browser
    browser.close()
    _write_summary(request)


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def lesson(lab, request):
    """The lesson after Restart Kernel and Run All Cells; its kernel is shut down afterwards."""
    run = lab.run_lesson(request.param.name, SCREENSHOTS)
    MEASURED[run.name] = {"seconds": run.seconds, "peak_mb": run.peak_memory_bytes / 1e6}
    yield run
    run.close()


def test_every_cell_ran(lesson):
    counts = [cell.get("execution_count") for cell in code_cells(lesson.notebook)]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts after Run All: {counts}"


def test_errors_only_where_a_failure_is_taught(lesson):
    for index, cell in enumerate(code_cells(lesson.notebook)):
        errors = [output for output in cell.outputs if output.output_type == "error"]
        if "raises-exception" in tags(cell):
            assert errors, f"code cell {index} is tagged raises-exception but did not raise"
        else:
            detail = f"{errors[0].ename}: {errors[0].evalue}" if errors else ""
            assert not errors, f"code cell {index} raised {detail}: {cell.source[:80]!r}"


def test_every_widget_rendered(lesson):
    expected = count_outputs(lesson.notebook)["widgetViews"]
    assert lesson.rendered["widgetViews"] == expected, (
        f"{lesson.rendered['widgetViews']} of {expected} widget views rendered"
    )
    stuck = [t for t in WIDGET_FAILURE_TEXTS for out in lesson.rendered["texts"] if t in out]
    assert not stuck, f"the page still shows {stuck}"


def test_every_plot_rendered(lesson):
    expected = count_outputs(lesson.notebook)["plotImages"]
    shown = lesson.rendered
    assert shown["plotImagesLoaded"] == shown["plotImages"] == expected, (
        f"{shown['plotImagesLoaded']} plots shown of {expected} in the outputs"
    )
    assert shown["widgetImagesLoaded"] == shown["widgetImages"], (
        f"only {shown['widgetImagesLoaded']} of {shown['widgetImages']} widget plots loaded"
    )


def test_every_markdown_image_loaded(lesson):
    # A broken image (naturalWidth 0) is what a learner sees first if the badge's attachment
    # is dropped: JupyterLab's sanitizer drops SVG attachments.
    images = lesson.rendered["markdownImages"]
    assert len(images) >= markdown_image_count(lesson.notebook) > 0, images
    broken = [image for image in images if not image["loaded"]]
    assert not broken, f"markdown images that did not load: {broken}"


def test_kernel_peak_memory_fits_binder(lesson):
    assert lesson.peak_memory_bytes < PEAK_MEMORY_LIMIT, (
        f"the kernel peaked at {lesson.peak_memory_bytes / 1e6:.0f} MB "
        f"(limit {PEAK_MEMORY_LIMIT / 1e6:.0f} MB; Binder restarts a kernel past 2 GB)"
    )


def test_a_slider_moved_with_the_keyboard_shows_what_the_kernel_computes(lesson):
    if lesson.rendered["widgetViews"] == 0:
        pytest.skip(f"{lesson.name} shows no widget")
    control, required_readouts = SLIDER_PROBES.get(lesson.name, (None, ()))
    try:
        move = lesson.move_slider(control)
    except LookupError as error:
        if control is not None:
            raise
        pytest.skip(str(error))
    MEASURED[lesson.name]["slider_response_ms"] = move.response_seconds * 1000

    # Browser -> kernel: the key press reached the kernel's control.
    assert move.shown_after[move.control] != move.shown_before[move.control], "slider did not move"
    assert move.kernel_after[move.control] != move.kernel_before[move.control], (
        f"the kernel's {move.control} kept its value {move.kernel_before[move.control]}"
    )
    # Kernel -> browser: every readout shows the kernel's value for the new setting.
    for name in move.text_readouts:
        assert move.shown_after[name] in move.kernel_after[name], (
            f"{name}: the page shows {move.shown_after[name]!r}, "
            f"the kernel holds {move.kernel_after[name]}"
        )
    changed = [name for name in move.readouts if move.shown_after[name] != move.shown_before[name]]
    assert changed, f"no readout changed after moving {move.control}"
    for name in required_readouts:
        assert f"readout-{name}" in changed, f"readout-{name} did not change: {move.shown_after}"

    path = SCREENSHOTS / f"{lesson.name.removesuffix('.ipynb')}_widget.png"
    move.screenshot(path)
    if lesson.name == GRADIENT_EXPLORER_LESSON:
        # The readouts hold the numbers helpers.lesson04_autodiff gives for the new eps ...
        for name, expected in lesson.kernel_run(GRADIENT_EXPLORER_EXPECTED).items():
            assert expected, f"the kernel computed no {name}"
            for text in expected:
                assert text in move.shown_after[name], f"{name} lacks {text!r}: {move.shown_after}"
        # ... and the picture of it is the README's.
        shutil.copyfile(path, SCREENSHOTS / COMMITTED_SCREENSHOT.name)
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            COMMITTED_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, COMMITTED_SCREENSHOT)


def test_no_request_leaves_the_machine(lesson):
    assert not lesson.foreign_requests, (
        f"the page asked hosts other than 127.0.0.1 for: {lesson.foreign_requests[:10]}"
    )


def test_lesson_ran_without_network(lesson, lab):
    if not lab.server.isolated:
        pytest.skip(f"no network namespace: {network_isolation()[1]}")
    interfaces = lesson.kernel_eval(KERNEL_NETWORK_INTERFACES)
    assert interfaces == ["lo"], f"the kernel saw network interfaces {interfaces}"


def test_committed_screenshot_is_a_png():
    data = COMMITTED_SCREENSHOT.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{COMMITTED_SCREENSHOT} is not a PNG"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 400 and height >= 150, f"screenshot is only {width}x{height}"


def test_only_requests_to_127_0_0_1_count_as_local():
    assert is_local("http://127.0.0.1:8888/lab/api/settings")
    assert is_local("ws://127.0.0.1:8888/api/kernels/1/channels")
    assert is_local("data:image/png;base64,iVBOR") and is_local("blob:http://127.0.0.1:1/x")
    assert not is_local("https://example.com/picture.png")
    assert not is_local("http://localhost:8888/lab")  # the test's server is on 127.0.0.1 only


def test_readouts_compare_by_the_text_the_page_shows():
    value = '<span style="color:#cf222e">eps &lt; 0:\n  <b>no</b></span>'
    assert visible_text(value, "HTML") == "eps < 0: no"
    assert visible_text("a  <b>", "Label") == "a <b>"  # a Label's value is text, not HTML


def _write_summary(request):
    """Per-lesson numbers in tests/screenshots/summary.txt and the terminal summary."""
    if not MEASURED:
        return
    lines = ["lesson                                     run (s)  kernel peak (MB)  slider (ms)"]
    for name, numbers in sorted(MEASURED.items()):
        slider = numbers.get("slider_response_ms")
        lines.append(
            f"{name:42} {numbers['seconds']:7.1f}  {numbers['peak_mb']:16.0f}  "
            + (f"{slider:11.0f}" if slider is not None else f"{'-':>11}")
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "summary.txt").write_text("\n".join(lines) + "\n")
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():  # a fixture's teardown output is captured
        reporter.ensure_newline()
        reporter.write_line(f"browser test ({SCREENSHOTS.relative_to(ROOT)}/summary.txt):")
        for line in lines:
            reporter.write_line("  " + line)
