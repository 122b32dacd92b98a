"""JupyterLab in a real Chromium: a private server, a browser, and one lesson run at a time.

``tests/test_browser.py`` reads as the list of what a learner's run must show (every cell ran,
widgets and plots rendered, a slider answers); this module holds the *how*: starting a server
that touches nothing of the developer's own Jupyter set-up, knowing when a kernel is really idle,
and asking the kernel for a value.

Isolation, and why:

- The server serves COPIES of ``notebooks/`` and ``helpers/`` from a temporary directory, so a
  test run never modifies a committed notebook. Its config, data, runtime, settings and
  workspace folders live there too; it listens on 127.0.0.1, a free port, a random token.
- Where the machine allows it (``unshare -n``: root on Linux), the server, its kernels and
  Chromium share a network namespace that holds only the loopback interface, so a passing run
  proves the lessons work offline. Chromium joins that namespace through ``nsenter``.
- Chromium runs with background networking off and resolves no host name, and every request
  the page makes is recorded so a test can fail on one that leaves 127.0.0.1.
"""

from __future__ import annotations

from helpers.widgets.base import WIDGET_VIEW

import ast
import html.parser
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / "screenshots"

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_HINT = (
    "no Chromium found: install Debian's package (`sudo apt-get install -y chromium`) or set "
    "CHROMIUM=/path/to/chromium; never `playwright install`"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    # Every host name but 127.0.0.1 fails to resolve at once: a stray request cannot hang a run.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1280, "height": 1000}

# JupyterLab settings the test's server starts with. Without the first, a news pop-up covers
# every screenshot (and asks the internet for news).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

# A new network namespace has a loopback interface that is *down*: bring it up with the
# SIOCGIFFLAGS / SIOCSIFFLAGS ioctls (no dependency on iproute2), then become the server.
LOOPBACK_UP_THEN_EXEC = """
import fcntl, os, socket, struct, sys
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    request = struct.pack("16sH22x", b"lo", 0)
    flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, request)[:18])[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 1))
os.execv(sys.argv[1], sys.argv[1:])
"""

WIDGET_FAILURE_TEXTS = ("Error displaying widget", "Loading widget...")


IN_CI = os.environ.get("CI", "").lower() == "true"


def require_browser() -> str:
    """The Chromium to drive, once Playwright is importable too. Without either, the test is
    skipped locally and fails under CI, where a missing browser means a broken set-up."""
    import pytest

    chromium, reason = find_chromium(), None
    if chromium is None:
        reason = INSTALL_HINT
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "Playwright for Python is not installed: pip install -r requirements.txt"
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} (under CI a missing browser is a failure)")
        pytest.skip(reason)
    return chromium


def find_chromium() -> str | None:
    """The Chromium to drive: ``$CHROMIUM`` if set, else Debian's package, else None."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"] if os.access(os.environ["CHROMIUM"], os.X_OK) else None
    candidates = [*CHROMIUM_PATHS, shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


def network_isolation() -> tuple[bool, str]:
    """Whether a network namespace with only loopback can be made here, and if not, why."""
    if not sys.platform.startswith("linux"):
        return False, "network namespaces exist on Linux only"
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        return False, "unshare/nsenter (util-linux) not installed"
    result = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if result.returncode != 0:
        return False, f"`unshare --net` not permitted here ({result.stderr.strip()})"
    return True, "server, kernels and Chromium ran in a network namespace with only loopback"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A ``jupyter lab`` process serving copies of the lessons; stop it with :meth:`stop`."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen
    isolated: bool
    log_path: Path

    @classmethod
    def start(cls, workdir: Path, isolate: bool, source: Path = ROOT) -> LabServer:
        root, jupyter = workdir / "served", workdir / "jupyter"
        # benchmarks/ for in_kernel.peak_memory_bytes(), the kernel's own high-water mark.
        for folder in ("notebooks", "helpers", "benchmarks"):
            shutil.copytree(
                source / folder,
                root / folder,
                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.keras"),
            )
        for name, values in LAB_SETTINGS.items():
            path = jupyter / "settings" / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(jupyter / "config"),
            JUPYTER_DATA_DIR=str(jupyter / "data"),
            JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
            IPYTHONDIR=str(jupyter / "ipython"),
            # The kernels import the *copy* of helpers (not the editable install's source).
            PYTHONPATH=os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")])),
        )
        # tests/conftest.py sets MPLBACKEND=Agg for unit tests; inherited by a kernel it would
        # replace the inline backend, and no plot would reach the page.
        env.pop("MPLBACKEND", None)
        port, token = _free_port(), secrets.token_hex(24)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            # window.jupyterapp: the test asks the kernel for values through the page.
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        if isolate:  # the same command in a new network namespace, its loopback brought up
            in_namespace = ["unshare", "--net", "--", sys.executable, "-c", LOOPBACK_UP_THEN_EXEC]
            command = in_namespace + command
        log_path = workdir / "jupyter-lab.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=log)
        server = cls(root, port, token, process, isolate, log_path)
        server._wait_until_listening(jupyter / "runtime")
        return server

    def _wait_until_listening(self, runtime_dir: Path, timeout: float = 90.0) -> None:
        # The server writes jpserver-<pid>.json once it listens. (In a network namespace the
        # test process cannot reach the port, so it does not poll it.)
        info = runtime_dir / f"jpserver-{self.process.pid}.json"
        deadline = time.monotonic() + timeout
        while not info.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jupyter lab did not start:\n{self.log_tail()}")
            time.sleep(0.1)

    def lab_url(self, notebook: str) -> str:
        """The URL that opens ``notebooks/<notebook>`` in a workspace of its own (no restored
        tabs from the previous lesson, so no second kernel)."""
        workspace = Path(notebook).stem
        return (
            f"http://127.0.0.1:{self.port}/lab/workspaces/{workspace}/tree/notebooks/{notebook}"
            f"?token={self.token}"
        )

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server by its process id; it shuts its kernels down as it exits."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


# JavaScript run in the page. ``lesson(path)`` is the open notebook's panel, found through
# window.jupyterapp (the server exposes it) so a stray dialog or tab cannot be mistaken for it.
_PANEL = """
const lesson = (path) => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return widget && widget.context && widget.context.path === path ? widget : null;
};
"""

_RUN_STATE_JS = (
    "(path) => {"
    + _PANEL
    + """
  const panel = lesson(path);
  if (!panel || !panel.sessionContext.session) return null;
  const prompts = [...panel.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map((node) => node.textContent.trim());
  const indicator = panel.node.querySelector('.jp-Notebook-ExecutionIndicator');
  const statusBar = document.querySelector('#jp-main-statusbar');
  return {
    prompts,
    indicator: indicator ? indicator.getAttribute('data-status') : null,
    statusBar: statusBar ? statusBar.textContent : '',
    kernel: panel.sessionContext.session.kernel ? panel.sessionContext.session.kernel.status : null,
  };
}"""
)

_RENDERED_JS = (
    "(path) => {"
    + _PANEL
    + """
  const panel = lesson(path);
  const outputs = [...panel.node.querySelectorAll('.jp-OutputArea-output')];
  // A rendered widget view is an output whose child is the widget's own node.
  const widgets = outputs.filter((node) => node.querySelector(':scope > .jupyter-widgets'));
  const images = [...panel.node.querySelectorAll('.jp-OutputArea-output img')].map((img) => ({
    inWidget: img.closest('.jupyter-widgets') !== null,
    loaded: img.complete && img.naturalWidth > 0,
  }));
  // Every picture of the markdown cells (the Colab badge, diagrams): naturalWidth 0 is a
  // broken image, e.g. an attachment JupyterLab's sanitizer dropped.
  const markdownImages = [...panel.node.querySelectorAll('.jp-MarkdownCell img')].map((img) => ({
    alt: img.alt,
    src: (img.getAttribute('src') || '').slice(0, 60),
    loaded: img.complete && img.naturalWidth > 0,
  }));
  return {
    markdownImages,
    widgetViews: widgets.length,
    texts: outputs.map((node) => node.textContent),
    plotImages: images.filter((image) => !image.inWidget).length,
    plotImagesLoaded: images.filter((image) => !image.inWidget && image.loaded).length,
    widgetImages: images.filter((image) => image.inWidget).length,
    widgetImagesLoaded: images.filter((image) => image.inWidget && image.loaded).length,
  };
}"""
)

_MODEL_JS = "(path) => {" + _PANEL + "return lesson(path).content.model.toJSON(); }"

_KERNEL_EVAL_JS = (
    "async ([path, expression]) => {"
    + _PANEL
    + """
  const kernel = lesson(path).sessionContext.session.kernel;
  const future = kernel.requestExecute({
    code: '', silent: true, store_history: false, user_expressions: {value: expression},
  });
  const reply = await future.done;
  return reply.content.user_expressions.value;
}"""
)

_SHUTDOWN_JS = "async (path) => {" + _PANEL + "await lesson(path).sessionContext.shutdown(); }"

# The text each control-/readout- node of a widget shows (an HTML readout's content, a slider's
# readout), by CSS class.
_WIDGET_TEXTS_FN = """
(root) => {
  const texts = {};
  for (const node of root.querySelectorAll('*')) {
    for (const name of node.classList) {
      if (!name.startsWith('control-') && !name.startsWith('readout-')) continue;
      if (node.tagName === 'IMG') {  // a plot readout: its picture changes with its source
        texts[name] = `image ${node.getAttribute('src')}`;
        continue;
      }
      const content = node.querySelector('.widget-html-content, .widget-readout');
      texts[name] = (content || node).textContent.replace(/\\s+/g, ' ').trim();
    }
  }
  return texts;
}
"""
# Resolves once any readout of the widget shows something else than ``before``.
_READOUT_CHANGED_JS = (
    "([root, before]) => { const texts = ("
    + _WIDGET_TEXTS_FN
    + """)(root);
  return Object.keys(texts).some(
    (name) => name.startsWith('readout-') && texts[name] !== before[name]);
}"""
)

# The union of the boxes of a node's visible leaves: what it shows, without its empty width.
_CONTENT_BOX_JS = """
(root) => {
  const box = {left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity};
  for (const node of root.querySelectorAll('*')) {
    const rect = node.getBoundingClientRect();
    if (node.children.length || rect.width === 0 || rect.height === 0) continue;
    box.left = Math.min(box.left, rect.left);
    box.top = Math.min(box.top, rect.top);
    box.right = Math.max(box.right, rect.right);
    box.bottom = Math.max(box.bottom, rect.bottom);
  }
  return box;
}
"""

# Every live ipywidget that carries a control-/readout- class, with its value, as the kernel
# holds it: the page must show exactly these values.
KERNEL_WIDGET_VALUES = (
    "[{'classes': [c for c in w._dom_classes if c.startswith(('control-', 'readout-'))],"
    " 'type': type(w).__name__, 'value': w.value}"
    " for w in list(__import__('ipywidgets').widgets.widget._instances.values())"
    " if isinstance(getattr(w, 'value', None), (str, int, float))"
    " and any(c.startswith(('control-', 'readout-')) for c in w._dom_classes)]"
)
KERNEL_PEAK_MEMORY = "__import__('benchmarks.in_kernel').in_kernel.peak_memory_bytes()"
KERNEL_NETWORK_INTERFACES = "[name for _, name in __import__('socket').if_nameindex()]"

IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif")


class KernelEvalError(RuntimeError):
    """The kernel raised while evaluating an expression the test sent it."""


class _TextOfHTML(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def visible_text(value, widget_type: str) -> str:
    """What the page shows for a widget value: an HTML readout's text, whitespace collapsed."""
    if widget_type in ("HTML", "HTMLMath"):
        parser = _TextOfHTML()
        parser.feed(value)
        value = "".join(parser.parts)
    return re.sub(r"\s+", " ", str(value)).strip()


def is_local(url: str) -> bool:
    """Whether a request stays on the test's server (data:, blob: and about: carry no host)."""
    host = urlsplit(url).hostname
    return host is None or host == "127.0.0.1"


def markdown_image_count(notebook: nbformat.NotebookNode) -> int:
    """How many pictures the markdown cells show (``![...](...)`` or ``<img``)."""
    pattern = re.compile(r"!\[[^\]]*\]\(|<img\b", re.IGNORECASE)
    return sum(
        len(pattern.findall(cell.source)) for cell in notebook.cells if cell.cell_type == "markdown"
    )


def count_outputs(notebook: nbformat.NotebookNode) -> dict[str, int]:
    """How many widget views and plots the notebook's outputs hold: the page must show each."""
    counts = {"widgetViews": 0, "plotImages": 0}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                counts["widgetViews"] += 1
            elif any(mime in data for mime in IMAGE_MIMES):
                counts["plotImages"] += 1
    return counts


@dataclass
class SliderMove:
    """A slider moved with the keyboard: what the page and the kernel showed before and after.

    ``shown_*`` map each control-/readout- CSS class of the widget to the text on the page;
    ``kernel_*`` map each class to the visible text of the kernel's value(s) for it (a list, in
    case a lesson shows two widgets built by the same function).
    """

    control: str
    shown_before: dict[str, str]
    shown_after: dict[str, str]
    kernel_before: dict[str, list[str]]
    kernel_after: dict[str, list[str]]
    response_seconds: float  # key press -> first readout changed on the page
    widget: object  # playwright Locator of the widget's output, for a screenshot

    def screenshot(self, path: Path, padding: int = 8) -> None:
        """A picture of the widget cropped to what it shows (its box spans the page's width)."""
        self.widget.evaluate("(node) => node.scrollIntoView({block: 'center'})")
        box = self.widget.evaluate(_CONTENT_BOX_JS)
        clip = {
            "x": max(box["left"] - padding, 0),
            "y": max(box["top"] - padding, 0),
            "width": box["right"] - box["left"] + 2 * padding,
            "height": box["bottom"] - box["top"] + 2 * padding,
        }
        self.widget.page.screenshot(path=path, clip=clip)

    @property
    def readouts(self) -> list[str]:
        return sorted(name for name in self.shown_after if name.startswith("readout-"))

    @property
    def text_readouts(self) -> list[str]:
        """The readouts whose value is text (HTML, Label): the page must show the kernel's."""
        return [name for name in self.readouts if name in self.kernel_after]


@dataclass
class LessonRun:
    """One lesson after *Restart Kernel and Run All Cells*: its page is still open and its
    kernel alive (so a test can move a slider), until :meth:`close`."""

    name: str
    page: object  # playwright.sync_api.Page
    seconds: float  # open the notebook, restart and run all, everything rendered
    notebook: nbformat.NotebookNode  # the notebook as JupyterLab holds it after the run
    rendered: dict  # what the page shows (see _RENDERED_JS)
    screenshot: Path
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    peak_memory_bytes: int = 0

    @property
    def path(self) -> str:
        return f"notebooks/{self.name}"

    @property
    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not is_local(url)]

    def kernel_eval(self, expression: str):
        """Evaluate ``expression`` in the lesson's kernel (silently: no output, no history, no
        execution count) and return its value, sent as JSON."""
        wrapped = f"__import__('json').dumps({expression}, default=str)"
        reply = self.page.evaluate(_KERNEL_EVAL_JS, [self.path, wrapped])
        if reply.get("status") != "ok":
            raise KernelEvalError(f"{reply.get('ename')}: {reply.get('evalue')}")
        # text/plain holds the repr of the JSON string.
        return json.loads(ast.literal_eval(reply["data"]["text/plain"]))

    def kernel_run(self, code: str):
        """Run ``code`` in the lesson's kernel, in a namespace of its own (the learner's names
        stay untouched), and return the value it leaves in ``result``."""
        return self.kernel_eval(
            f"(lambda scope: (exec({code!r}, scope), scope['result'])[1])({{}})"
        )

    def kernel_widget_texts(self) -> dict[str, list[str]]:
        texts: dict[str, list[str]] = {}
        for widget in self.kernel_eval(KERNEL_WIDGET_VALUES):
            for name in widget["classes"]:
                texts.setdefault(name, []).append(visible_text(widget["value"], widget["type"]))
        return texts

    def move_slider(self, control: str | None = None, key: str = "ArrowRight") -> SliderMove:
        """Focus the slider ``control-<control>`` (default: the first slider control on the
        page), press ``key``, and wait until the page shows what the kernel computed."""
        has_slider = f".control-{control}" if control else "[class*='control-']"
        widget = (
            self.page.locator(".jp-OutputArea-output")
            .filter(has=self.page.locator(f"{has_slider}:has(.noUi-handle)"))
            .first
        )
        if widget.count() == 0:
            raise LookupError(f"{self.name}: no slider {has_slider} in a widget output")
        widget.scroll_into_view_if_needed()
        slider = widget.locator(f"{has_slider}:has(.noUi-handle)").first
        control_class = slider.evaluate(
            "(node) => [...node.classList].find((name) => name.startsWith('control-'))"
        )
        shown_before = widget.evaluate(_WIDGET_TEXTS_FN)
        kernel_before = self.kernel_widget_texts()
        slider.locator(".noUi-handle").focus()
        pressed = time.monotonic()
        self.page.keyboard.press(key)
        self.page.wait_for_function(
            _READOUT_CHANGED_JS, arg=[widget.element_handle(), shown_before], polling="raf"
        )
        response_seconds = time.monotonic() - pressed
        # The kernel may still be sending updates: wait until every readout shows its value.
        deadline = time.monotonic() + 15
        while True:
            shown_after = widget.evaluate(_WIDGET_TEXTS_FN)
            kernel_after = self.kernel_widget_texts()
            settled = all(
                text in kernel_after[name]
                for name, text in shown_after.items()
                if name.startswith("readout-") and name in kernel_after
            )
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return SliderMove(
            control_class,
            shown_before,
            shown_after,
            kernel_before,
            kernel_after,
            response_seconds,
            widget,
        )

    def close(self) -> None:
        """Shut the kernel down (it holds hundreds of MB) and close the page."""
        try:
            self.page.evaluate(_SHUTDOWN_JS, self.path)
        finally:
            self.page.close()


class LabBrowser:
    """One JupyterLab server and one Chromium for all lessons (starting each costs seconds)."""

    def __init__(self, workdir: Path, chromium: str, isolate: bool, source: Path = ROOT):
        from playwright.sync_api import sync_playwright

        self.server = LabServer.start(workdir, isolate, source)
        executable = chromium
        if isolate:
            # Chromium joins the server's network namespace, where 127.0.0.1 is the server's.
            executable = str(workdir / "chromium-in-lab-network")
            Path(executable).write_text(
                "#!/bin/sh\n"
                f"exec nsenter --net=/proc/{self.server.process.pid}/ns/net -- "
                f'{shlex.quote(chromium)} "$@"\n'
            )
            Path(executable).chmod(0o755)
        self._playwright = self.browser = None
        try:
            self._playwright = sync_playwright().start()
            self.browser = self._playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            self.context = self.browser.new_context(viewport=VIEWPORT)
        except Exception:
            self.close()
            raise
        # Every request of the context (pages and their workers), filed under the lesson open.
        self._requests: list[str] = []
        self.context.on("request", lambda request: self._requests.append(request.url))

    def close(self) -> None:
        try:
            if self.browser:
                self.browser.close()
            if self._playwright:
                self._playwright.stop()
        finally:
            self.server.stop()

    def run_lesson(self, name: str, screenshots: Path, timeout: float = 300.0) -> LessonRun:
        """Open ``notebooks/<name>``, clear its outputs, *Restart Kernel and Run All Cells*, wait
        until the kernel is really idle and the outputs rendered; return what the page shows."""
        path = f"notebooks/{name}"
        self._requests = requests = []
        page = self.context.new_page()
        page.on("websocket", lambda websocket: requests.append(websocket.url))
        started = time.monotonic()
        page.goto(self.server.lab_url(name))
        self._wait_for(page, path, _kernel_idle, "the kernel to start", 120)
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for screenshots
        # Clearing first means every prompt, output, widget and plot seen afterwards comes
        # from this run (the copy holds the committed outputs, which look the same).
        _menu(page, "Edit", "Clear Outputs of All Cells")
        self._wait_for(page, path, _cleared, "the outputs to clear")
        _menu(page, "Kernel", "Restart Kernel and Run All Cells")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        self._wait_for(page, path, _run_finished, "Run All to finish", timeout)
        notebook = nbformat.from_dict(page.evaluate(_MODEL_JS, path))
        rendered = self._wait_rendered(page, path, count_outputs(notebook))
        run = LessonRun(
            name=name,
            page=page,
            seconds=time.monotonic() - started,
            notebook=notebook,
            rendered=rendered,
            screenshot=screenshots / f"{Path(name).stem}.png",
            requests=requests,  # keeps growing while the page is open
        )
        run.peak_memory_bytes = run.kernel_eval(KERNEL_PEAK_MEMORY)
        screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=run.screenshot)
        return run

    def _wait_for(self, page, path, condition, what, timeout=60.0) -> dict:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = page.evaluate(_RUN_STATE_JS, path)
            if state and condition(state):
                return state
            time.sleep(0.1)
        raise TimeoutError(f"{path}: waited {timeout:.0f} s for {what}; last state {state}")

    def _wait_rendered(self, page, path, expected: dict[str, int], timeout=30.0) -> dict:
        # Widget views and images render a moment after the kernel is idle.
        deadline = time.monotonic() + timeout
        while True:
            rendered = page.evaluate(_RENDERED_JS, path)
            done = (
                rendered["widgetViews"] >= expected["widgetViews"]
                and rendered["plotImagesLoaded"] >= expected["plotImages"]
                and rendered["widgetImagesLoaded"] == rendered["widgetImages"]
                and all(image["loaded"] for image in rendered["markdownImages"])
                and not any(
                    text in output for output in rendered["texts"] for text in WIDGET_FAILURE_TEXTS
                )
            )
            if done or time.monotonic() > deadline:
                return rendered
            time.sleep(0.1)


def _kernel_idle(state: dict) -> bool:
    # Both signs: the toolbar's indicator alone reads idle while the kernel still starts.
    return state["indicator"] == "idle" and "Idle" in state["statusBar"]


def _cleared(state: dict) -> bool:
    return all(prompt in ("[ ]:", "") for prompt in state["prompts"])


def _run_finished(state: dict) -> bool:
    # Run All queues every cell ([*]); when it ends, or stops at an error (the cells after it
    # go back to [ ]), none is queued any more. Outputs were cleared, so a number means "ran".
    started = any(re.fullmatch(r"\[\d+\]:", prompt) for prompt in state["prompts"])
    queued = any("*" in prompt for prompt in state["prompts"])
    return started and not queued and _kernel_idle(state) and state["kernel"] == "idle"


def _menu(page, menu: str, item: str) -> None:
    """Click a main-menu item as a learner does (an item's label may end with an ellipsis)."""
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}")).first.click()
