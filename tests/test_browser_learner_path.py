"""A learner's real path through the lessons, with the Binder image's settings (issue 23).

``tests/test_browser.py`` runs each lesson and then deletes its kernel through the server's API,
which a learner never does. Here one page goes from lesson to lesson as a learner does: open the
lesson from the file browser, *Run > Run All Cells*, wait until the kernel is idle, close the
tab with its close button (answering *Discard* if JupyterLab asks to save), open the next one.
The server starts with the settings ``binder/postBuild`` installs in the image
(``binder/overrides.json``: closing a notebook's tab shuts its kernel down;
``binder/jupyter_server_config.json``: idle kernels are culled), read from the places JupyterLab
and the server read them.

At every step every lesson runs with no error output outside the cells that teach a failure, the
kernel of a closed tab is gone (from the server and as a process), and the memory of all kernel
processes together (their RSS, sampled in a thread throughout) stays under what one learner gets
on Binder (``tests/screenshots/learner_path.txt`` lists it at each step). Without those settings
a learner who reaches lesson 03 holds three kernels (about 2.2 GB) and the third one dies.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.browser_lab import (
    _MODEL_JS,
    _PANEL,
    ROOT,
    SCREENSHOTS,
    LabBrowser,
    _cleared,
    _kernel_idle,
    _menu,
    _run_finished,
    network_isolation,
    require_browser,
)
from tools.notebook_tools import code_cells, tags

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSONS = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
TOTAL_KERNEL_MEMORY_LIMIT = 1.5e9  # bytes, all kernels together; Binder gives a learner 1-2 GB
SUMMARY = SCREENSHOTS / "learner_path.txt"  # all kernels' RSS at each step, in MB (not committed)
SUMMARY_HEADER = f"{'lesson':45}{'peak (MB)':>12}{'after run':>12}{'after close':>12}"

_KERNEL_ID_JS = (
    "(path) => {"
    + _PANEL
    + "const session = lesson(path).sessionContext.session;"
    + " return session && session.kernel ? session.kernel.id : null; }"
)
_RUNNING_KERNELS_JS = """async () => {
  const kernels = window.jupyterapp.serviceManager.kernels;
  await kernels.refreshRunning();
  return [...kernels.running()].map((model) => model.id);
}"""
_KERNEL_SHUTDOWN_SETTING_JS = """async () => (await window.jupyterapp.serviceManager.settings.fetch(
  '@jupyterlab/notebook-extension:tracker')).schema.properties.kernelShutdown.default"""
_OPEN_TABS_JS = """() => [...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tabLabel')]
  .map((node) => node.textContent)"""


def install_binder_settings(workdir: Path) -> None:
    """Give the server that ``LabServer.start(workdir, ...)`` starts the Binder image's settings:
    the server's config file in its config directory, and JupyterLab's ``overrides.json`` in an
    application-settings directory of its own (the image's is in its prefix; this one must not
    touch the developer's installation)."""
    config, app_settings = workdir / "jupyter" / "config", workdir / "jupyter" / "app-settings"
    config.mkdir(parents=True, exist_ok=True)
    app_settings.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(
        ROOT / "binder" / "jupyter_server_config.json", config / "jupyter_server_config.json"
    )
    shutil.copyfile(ROOT / "binder" / "overrides.json", app_settings / "overrides.json")
    lab_config = {"LabApp": {"app_settings_dir": str(app_settings)}}
    (config / "jupyter_lab_config.json").write_text(json.dumps(lab_config))


def kernel_processes(server_pid: int) -> dict[str, psutil.Process]:
    """The server's kernel processes by kernel id (read from the connection file's name)."""
    kernels = {}
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            cmdline = child.cmdline()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if any("ipykernel" in part for part in cmdline):
            connection = next((part for part in cmdline if "kernel-" in part), "")
            kernel_id = Path(connection).stem.removeprefix("kernel-") or str(child.pid)
            kernels[kernel_id] = child
    return kernels


def total_kernel_rss(server_pid: int) -> int:
    total = 0
    for process in kernel_processes(server_pid).values():
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


class KernelMemorySampler(threading.Thread):
    """The highest total RSS of the server's kernels, sampled every ``period`` seconds."""

    def __init__(self, server_pid: int, period: float = 0.25):
        super().__init__(daemon=True)
        self.server_pid, self.period = server_pid, period
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.peak = max(self.peak, total_kernel_rss(self.server_pid))
            except psutil.NoSuchProcess:
                return
            self._halt.wait(self.period)

    def take_peak(self) -> int:
        """The peak since the last call (and now), then start a new interval."""
        peak, self.peak = max(self.peak, total_kernel_rss(self.server_pid)), 0
        return peak

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


@dataclass
class Step:
    """One lesson on the learner's path, with the kernels' memory around it (bytes)."""

    name: str
    kernel_id: str
    execution_counts: list
    errors: list[str]  # outside cells tagged raises-exception
    peak_during_run: int = 0  # all kernels together, from opening to idle after Run All
    after_run: int = 0
    after_close: int = 0
    kernels_after_close: list[str] = field(default_factory=list)  # the server's, by id
    closed_kernel_process_alive: bool = False
    seconds: float = 0.0


class LearnerPath:
    """One page of JupyterLab walking through the lessons as a learner does."""

    def __init__(self, lab: LabBrowser):
        self.lab = lab
        self.page = lab.context.new_page()
        self.server_pid = lab.server.process.pid
        self.sampler = KernelMemorySampler(self.server_pid)
        self.sampler.start()

    def close(self) -> None:
        self.sampler.stop()
        self.page.close()

    def walk(self, name: str, first: bool, close_wait: float = 30.0) -> Step:
        path, started = f"notebooks/{name}", time.monotonic()
        self.sampler.take_peak()
        if first:
            self.page.goto(self.lab.server.lab_url(name))
        else:  # the file browser shows notebooks/ since the first lesson opened
            item = self.page.locator(".jp-DirListing-item", has_text=name).first
            item.dblclick()
        self.lab._wait_for(self.page, path, _kernel_idle, "the kernel to start", 120)
        # Clearing first means every prompt and output seen afterwards comes from this run.
        _menu(self.page, "Edit", "Clear Outputs of All Cells")
        self.lab._wait_for(self.page, path, _cleared, "the outputs to clear")
        _menu(self.page, "Run", "Run All Cells")
        self.lab._wait_for(self.page, path, _run_finished, "Run All to finish", 300)
        notebook = self.page.evaluate(_MODEL_JS, path)
        kernel_id = self.page.evaluate(_KERNEL_ID_JS, path)
        step = Step(name, kernel_id, *_counts_and_errors(notebook))
        step.after_run = total_kernel_rss(self.server_pid)
        step.peak_during_run = self.sampler.take_peak()

        self._close_tab(name)
        deadline = time.monotonic() + close_wait
        while True:
            step.kernels_after_close = self.page.evaluate(_RUNNING_KERNELS_JS)
            step.closed_kernel_process_alive = kernel_id in kernel_processes(self.server_pid)
            gone = (
                kernel_id not in step.kernels_after_close and not step.closed_kernel_process_alive
            )
            if gone or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        step.after_close = total_kernel_rss(self.server_pid)
        step.seconds = time.monotonic() - started
        return step

    def _close_tab(self, name: str) -> None:
        """Click the tab's close button in the main area; answer *Discard* to "Save your work"."""
        tab = self.page.locator("#jp-main-dock-panel .lm-TabBar-tab").filter(
            has=self.page.locator(".lm-TabBar-tabLabel", has_text=name)
        )
        tab.locator(".lm-TabBar-tabCloseIcon").click()
        deadline = time.monotonic() + 15
        while name in self.page.evaluate(_OPEN_TABS_JS):
            discard = self.page.locator(".jp-Dialog .jp-mod-warn", has_text="Discard")
            if discard.count():
                discard.first.click()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the tab of {name} did not close")
            time.sleep(0.1)


def _counts_and_errors(notebook: dict) -> tuple[list, list[str]]:
    cells = code_cells(nbformat.from_dict(notebook))
    errors = [
        f"code cell {index}: {output.ename}: {output.evalue}"
        for index, cell in enumerate(cells)
        if "raises-exception" not in tags(cell)
        for output in cell.outputs
        if output.output_type == "error"
    ]
    return [cell.get("execution_count") for cell in cells], errors


def _summary_line(step: Step) -> str:
    numbers = (step.peak_during_run, step.after_run, step.after_close)
    return f"{step.name:45}" + "".join(f"{value / 1e6:12.0f}" for value in numbers)


@pytest.fixture(scope="module")
def binder_lab(tmp_path_factory):
    chromium = require_browser()
    workdir = tmp_path_factory.mktemp("learner-path")
    install_binder_settings(workdir)
    lab = LabBrowser(workdir, chromium, network_isolation()[0])
    yield lab
    lab.close()


def test_a_learner_goes_through_every_lesson_closing_each_tab(binder_lab):
    assert LESSONS, "no lesson found"
    path, summary = LearnerPath(binder_lab), [SUMMARY_HEADER]
    try:
        for index, lesson in enumerate(LESSONS):
            step = path.walk(lesson.name, first=index == 0)
            summary.append(_summary_line(step))
            SUMMARY.parent.mkdir(parents=True, exist_ok=True)
            SUMMARY.write_text("\n".join(summary) + "\n")
            if index == 0:  # the page and the server run with the Binder image's settings
                assert path.page.evaluate(_KERNEL_SHUTDOWN_SETTING_JS) is True
                timeout = json.loads((ROOT / "binder" / "jupyter_server_config.json").read_text())[
                    "MappingKernelManager"
                ]["cull_idle_timeout"]
                log = binder_lab.server.log_path.read_text(errors="replace")
                assert f"Culling kernels with idle durations > {timeout} seconds" in log
            where = f"{step.name} (lesson {index + 1} of {len(LESSONS)} on the path)"
            counts = step.execution_counts
            assert counts == list(range(1, len(counts) + 1)), f"{where}: Run All ran {counts}"
            assert not step.errors, f"{where}: error outputs {step.errors}"
            assert step.peak_during_run < TOTAL_KERNEL_MEMORY_LIMIT, (
                f"{where}: all kernels together held {step.peak_during_run / 1e6:.0f} MB "
                f"(limit {TOTAL_KERNEL_MEMORY_LIMIT / 1e6:.0f} MB)"
            )
            assert step.kernel_id not in step.kernels_after_close, (
                f"{where}: its kernel still runs after its tab was closed"
            )
            assert not step.closed_kernel_process_alive, f"{where}: its kernel process lives on"
    finally:
        path.close()
