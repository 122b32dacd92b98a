"""The budgets, the check against them, and the Markdown table ``RESULTS.md`` holds.

The budgets are the promises the README makes under "Speed and memory": a lesson nobody waits
for, a kernel that fits on Binder with room to spare, a widget that follows the slider (and a
button whose work is done before the learner wonders), and reverse-mode autodiff whose gradient
costs a few forward passes whatever the number of parameters, while finite differences grow
with it. Every timing budget lives here, none in the test run (timings flake on shared
machines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.notebook_timing import NotebookResult

# Kernel started -> last cell finished, at most this many times the lesson's imports alone
# (timed in a fresh kernel beside it, in the same run): a ratio holds on a slower or busier
# machine, where an absolute number in seconds would not. 2x would be as cheap as it gets.
LESSON_IMPORT_RATIO = 3.5
KERNEL_PEAK_BYTES = 1.0e9  # 1.0 GB (10^9 bytes), the kernel's resident high-water mark
WIDGET_MEDIAN_MS = 50.0  # median answer to one control change, for every control
# A button launches work (training, a call): median of a few presses, by builder.
PRESS_MEDIAN_MS = 2000.0
PRESS_MEDIAN_MS_BY_BUILDER = {"make_tracing_widget": 50.0}  # a call of a traced tf_cube
# The slowest single change, where one change may build something new: (builder, control).
CONTROL_MAX_MS = {("make_gradient_check_widget", "layer"): 200.0}  # a new layer to check
TAPE_FORWARD_RATIO = 5.0  # one tape gradient, in forward passes, for every n measured
# Finite differences cost about n forward passes: at least this fraction of n, for every n.
DIFFERENCE_MIN_FRACTION_OF_N = 0.1


def widget_budgets(row: dict) -> tuple[float, float | None]:
    """``(median_ms, max_ms or None)``: the budgets of one timed control or button."""
    if row.get("kind") == "press":
        median = PRESS_MEDIAN_MS_BY_BUILDER.get(row["builder"], PRESS_MEDIAN_MS)
    else:
        median = WIDGET_MEDIAN_MS
    return median, CONTROL_MAX_MS.get((row["builder"], row["control"]))


@dataclass
class Results:
    """Everything one benchmark run measured, ready to check and to render."""

    machine: dict
    versions: dict
    floor: list[dict]
    notebooks: list[NotebookResult]
    gradient: list[dict] | None
    gradient_error: str | None = None
    unmeasured_builders: list[str] = field(default_factory=list)
    settings: str = ""


# Each check below is written "not (measure <= budget)", so a measure that came out nan (not
# measured) fails its budget rather than slipping through both comparisons.


def notebook_problems(notebook: NotebookResult) -> list[str]:
    """The lesson's own budgets (time against its imports, kernel memory), one line each."""
    if notebook.error:
        return [f"{notebook.name}: did not run to the end ({notebook.error})"]
    found = []
    if not notebook.import_ratio <= LESSON_IMPORT_RATIO:
        found.append(
            f"{notebook.name}: {notebook.median_seconds:.1f} s median, "
            f"{notebook.import_ratio:.2f}x its imports alone "
            f"({notebook.median_imports_seconds:.1f} s), budget {LESSON_IMPORT_RATIO}x"
        )
    if not notebook.peak_memory_bytes <= KERNEL_PEAK_BYTES:
        found.append(
            f"{notebook.name}: kernel peak {notebook.peak_memory_bytes / 1e9:.2f} GB, "
            f"budget {KERNEL_PEAK_BYTES / 1e9:.1f} GB"
        )
    return found


def widget_problems(label: str, row: dict) -> list[str]:
    """One control's (or button's) errors and, when it was timed, its budgets."""
    found = []
    if row.get("error_count"):
        found.append(f"{label} raised {row['error_count']}x: {row['errors'][0]}")
    if not row.get("timed"):
        return found
    median, slowest = widget_budgets(row)
    if not row["median_ms"] <= median:
        found.append(f"{label}: {row['median_ms']:.0f} ms median, budget {median:.0f} ms")
    if slowest is not None and not row["max_ms"] <= slowest:
        found.append(f"{label}: {row['max_ms']:.0f} ms at worst, budget {slowest:.0f} ms")
    return found


def gradient_problems(row: dict) -> list[str]:
    """One size n: the tape's cost in forward passes, and finite differences growing with n."""
    found = []
    if not row["tape_ratio"] <= TAPE_FORWARD_RATIO:
        found.append(
            f"gradient cost at n={row['n_params']:,.0f}: tape = {row['tape_ratio']:.1f} "
            f"forward passes, budget {TAPE_FORWARD_RATIO:.0f}"
        )
    for scheme in ("forward", "central"):
        ratio = row[f"{scheme}_difference_ratio"]
        if not ratio >= DIFFERENCE_MIN_FRACTION_OF_N * row["n_params"]:
            found.append(
                f"gradient cost at n={row['n_params']:,.0f}: {scheme} differences = "
                f"{ratio:,.3g} forward passes, expected at least "
                f"{DIFFERENCE_MIN_FRACTION_OF_N:g} n (do they still touch every coordinate?)"
            )
    return found


def problems(results: Results) -> list[str]:
    """One line per budget that is exceeded or could not be checked; empty when all are met."""
    found = []
    for notebook in results.notebooks:
        found += notebook_problems(notebook)
        if notebook.error:
            continue
        for row in notebook.widgets:
            label = f"{notebook.name}: widget {row['widget']} control {row['control']!r}"
            found += widget_problems(label, row)
    for builder in results.unmeasured_builders:
        found.append(f"widget builder {builder}: no lesson kernel held a widget it built")
    if results.gradient_error:
        found.append(f"gradient cost: not measured ({results.gradient_error})")
    for row in results.gradient or []:
        found += gradient_problems(row)
    return found


# --- Markdown ---------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗ over"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _seconds_list(values) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _floor_section(floor: list[dict]) -> list[str]:
    seconds = sorted(run["import_seconds"] for run in floor)
    peaks = sorted(run["peak_memory_bytes"] / 1e6 for run in floor)
    median = seconds[len(seconds) // 2]
    return [
        "## The floor: `import tensorflow` in a fresh process",
        "",
        "No lesson can start faster or use less memory than this import.",
        "",
        *_table(
            ["measure", "median", f"all {len(floor)} runs"],
            [
                ["import time (s)", f"{median:.2f}", _seconds_list(seconds)],
                [
                    "peak memory (MB)",
                    f"{peaks[len(peaks) // 2]:.0f}",
                    ", ".join(f"{p:.0f}" for p in peaks),
                ],
            ],
        ),
        "",
    ]


def _notebook_section(notebooks: list[NotebookResult]) -> list[str]:
    rows = []
    for notebook in notebooks:
        if notebook.error:
            rows.append([notebook.name, "failed", notebook.error, "", "", "", "", "✗"])
            continue
        seconds = [run.seconds for run in notebook.runs]
        starts = [run.kernel_start_seconds for run in notebook.runs]
        rows.append(
            [
                f"`{notebook.name}`",
                f"{notebook.median_seconds:.1f}",
                _seconds_list(seconds),
                f"{notebook.median_imports_seconds:.1f}",
                f"**{notebook.import_ratio:.2f}**",
                f"{sorted(starts)[len(starts) // 2]:.1f}",
                f"{notebook.peak_memory_bytes / 1e6:.0f}",
                _mark(not notebook_problems(notebook)),
            ]
        )
    where = []
    for notebook in notebooks:
        if notebook.runs:
            cells = ", ".join(
                f"cell {number} {seconds:.1f} s (`{_short(line)}`)"
                for number, seconds, line in notebook.runs[-1].slowest_cells
            )
            where.append(f"- `{notebook.name}`: {cells}")
    return [
        "## Lessons: from kernel started to the last cell's end",
        "",
        "Each run executes the notebook with nbclient in a fresh kernel; the clock starts when the "
        "kernel answers `kernel_info` and stops when the last cell ends. Just before each run, "
        "the lesson's imports alone (its top-level `import` lines, in one cell) are timed the "
        "same way in a fresh kernel: the budget is the ratio of the two medians, so it holds on "
        "a slower or busier machine; the seconds are information about this one. Peak memory is "
        "the kernel's `ru_maxrss`, read in the kernel after the last cell (and after the widget "
        "moves), the largest of the runs.",
        "",
        *_table(
            [
                "lesson",
                "median (s)",
                "runs (s)",
                "imports alone, median (s)",
                f"lesson / imports ≤ {LESSON_IMPORT_RATIO}",
                "kernel start (s)",
                f"kernel peak (MB) ≤ {KERNEL_PEAK_BYTES / 1e6:.0f}",
                "budget",
            ],
            rows,
        ),
        "",
        "Where the time goes: the slowest code cells of each lesson's last run.",
        "",
        *where,
        "",
    ]


def _short(line: str, width: int = 40) -> str:
    line = line.strip().replace("`", "'").replace("|", "/")
    return line if len(line) <= width else line[: width - 1] + "…"


def _widget_section(notebooks: list[NotebookResult], unmeasured: list[str]) -> list[str]:
    rows, skipped = [], []
    for notebook in notebooks:
        for row in notebook.widgets:
            where = f"`{notebook.name}` {row['widget']} ({row['builder']})"
            if not row.get("timed"):
                skipped.append(f"- {where}, control `{row['control']}`: {row['reason']}.")
                continue
            errors = f", {row['error_count']} raised" if row["error_count"] else ""
            median, slowest = widget_budgets(row)
            if row.get("kind") == "press":
                changes = f"{row['changes']} presses{errors}"
            else:
                changes = f"{row['changes']} over {row['distinct_values']} values{errors}"
            budget = f"≤ {median:.0f}" + (f", max ≤ {slowest:.0f}" if slowest else "")
            rows.append(
                [
                    where,
                    f"`{row['control']}` ({row['type']})",
                    changes,
                    f"**{row['median_ms']:.1f}**",
                    f"{row['max_ms']:.1f}",
                    f"{_mark(not widget_problems(where, row))} ({budget})",
                ]
            )
    lines = [
        "## Widgets: the answer to one control change",
        "",
        "Measured in the lesson's kernel after its last cell, on the widgets the lesson built: "
        "each control is set from Python to allowed values, walking across its range and back "
        "(setting `value` runs the observers synchronously: compute, redraw, PNG, comm message). "
        f"A button is pressed a few times instead (`click()` runs its handlers synchronously); "
        f"its work has a budget of its own, {PRESS_MEDIAN_MS:.0f} ms median unless the row says.",
        "",
    ]
    if rows:
        header = [
            "lesson, widget (builder)",
            "control",
            "changes",
            "median (ms)",
            "max (ms)",
            "budget (ms)",
        ]
        lines += _table(header, rows)
    else:
        lines.append("No lesson widget was found.")
    lines += ["", *skipped] if skipped else []
    lines += [f"- `{name}`: no lesson kernel held a widget it built." for name in unmeasured]
    return lines + [""]


def _gradient_section(gradient: list[dict] | None, error: str | None) -> list[str]:
    lines = [
        "## The cost of one gradient, in forward passes",
        "",
        "`helpers.lesson04_gradient_cost.measure_gradient_cost(n)` on a dense model sized to n "
        "parameters: one "
        "forward pass, one tape gradient (reverse mode), and finite differences, forward "
        "(n + 1 forward passes) and central (2n). Reverse mode promises a gradient for a small "
        "constant number of forward passes whatever n: the tape column.",
        "",
    ]
    if error:
        return lines + [f"Not measured: {error}", ""]
    if not gradient:
        return lines + ["Not measured in this run (no `--gradient-sizes`).", ""]
    rows, sampled = [], False
    for row in gradient or []:
        n, coordinates = row["n_params"], row["sampled_coordinates"]
        scaled = coordinates < n
        sampled |= scaled
        rows.append(
            [
                f"{n:,.0f}",
                f"{row['forward_seconds'] * 1e3:.3g}",
                f"**{row['tape_ratio']:.2f}**",
                f"{row['forward_difference_ratio']:,.3g}",
                f"{row['central_difference_ratio']:,.3g}",
                f"{coordinates:,.0f} of {n:,.0f}, scaled" if scaled else "all",
                _mark(not gradient_problems(row)),
            ]
        )
    header = [
        "n parameters",
        "forward (ms)",
        f"tape / forward ≤ {TAPE_FORWARD_RATIO:.0f}",
        "forward differences / forward",
        "central differences / forward",
        "coordinates timed",
        "budget",
    ]
    lines += _table(header, rows)
    if sampled:
        lines += [
            "",
            "For large n, finite differences were timed on a random sample of coordinates and "
            "the time scaled to all n (each coordinate costs the same forward passes).",
        ]
    lines += [
        "",
        "Each finite-difference coordinate is one compiled call of one loss (forward) or two "
        "(central). At small n a call's fixed overhead outweighs the work and timings under a "
        "millisecond are noisy: the growth with n is the point.",
    ]
    if gradient:
        ratios = [row["tape_ratio"] for row in gradient]
        lines += [
            "",
            f"Tape / forward stays between {min(ratios):.2f} and {max(ratios):.2f} from "
            f"n = {gradient[0]['n_params']:,.0f} to {gradient[-1]['n_params']:,.0f}, while "
            "finite differences grow with n.",
        ]
    return lines + [""]


def render(results: Results, command: str) -> str:
    """The whole ``RESULTS.md``: header with machine and versions, verdict, four sections."""
    machine, versions = results.machine, results.versions
    found = problems(results)
    verdict = (
        ["**Every budget is met.**"]
        if not found
        else ["**Over budget or not measured:**", "", *[f"- {line}" for line in found]]
    )
    version_text = ", ".join(f"{name} {version}" for name, version in versions.items())
    lines = [
        "# Benchmarks: speed and memory of every lesson",
        "",
        f"Written by `{command}` on {machine['date']}.",
        "",
        f"- Machine: {machine['cpu_count']} CPUs (`os.cpu_count()`), {machine['cpu_model']}; "
        f"load average {machine['load_before']} before and {machine['load_after']} after.",
        f"- Versions: {version_text}.",
        f"- Settings: {results.settings or 'defaults'}.",
        "",
        *verdict,
        "",
        f"Budgets: a lesson runs, after its kernel has started, in at most "
        f"{LESSON_IMPORT_RATIO}x the time its imports alone take in a fresh kernel; a kernel "
        f"peaks at {KERNEL_PEAK_BYTES / 1e9:.1f} GB at most; every widget "
        f"control answers in {WIDGET_MEDIAN_MS:.0f} ms median at most (a button's work in "
        f"{PRESS_MEDIAN_MS:.0f} ms, or as its row says); one tape gradient costs at most "
        f"{TAPE_FORWARD_RATIO:.0f} forward passes and finite differences at least "
        f"{DIFFERENCE_MIN_FRACTION_OF_N:g} n, for every n measured.",
        "",
        *_floor_section(results.floor),
        *_notebook_section(results.notebooks),
        *_widget_section(results.notebooks, results.unmeasured_builders),
        *_gradient_section(results.gradient, results.gradient_error),
    ]
    return "\n".join(lines).rstrip() + "\n"
