"""Render the report dict as Markdown: one table per section plus the PNG plots, under one folder.

Per-iteration sections are printed transposed (one row per figure, one column per iteration) so
wide sections stay readable; the evals section keeps one row per benchmark and mode.
"""

from __future__ import annotations

from pathlib import Path

from builder.analysis.plots import PLOTS, write_plots
from builder.analysis.sections import JUDGE_EVAL, SECTIONS, STATISTICS
from builder.analysis.stats_markdown import GAP_HEADER, GAP_NOTES, gap_body
from builder.analysis.stats_markdown import HEADER as STATS_HEADER
from builder.analysis.stats_markdown import NOTES as STATS_NOTES
from builder.analysis.stats_markdown import statistics_body

LONG_SECTIONS = {"evals", "evals_paired", "judge_eval", "verdict_calibration", "ceiling", "search_vs_greedy"}


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    return str(value).replace("|", "\\|")


def table(header: list[str], body: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in body]
    return lines


def section_lines(name: str, rows: list[dict]) -> list[str]:
    if not rows:
        return ["no data"]
    if name in LONG_SECTIONS:
        cols = list(rows[0])
        return table(cols, [[r[c] for c in cols] for r in rows])
    its = [r["iteration"] for r in rows]
    keys = [k for k in rows[0] if k != "iteration"]
    return table(["figure"] + [f"iter {i}" for i in its], [[k] + [r[k] for r in rows] for k in keys])


def render(report: dict, plots: dict[str, Path | None], out_dir: Path) -> str:
    its = ", ".join(map(str, report["iterations"])) or "none"
    lines = [f"# PSR report: {report['name']}", "",
             f"Run `{report['run']}`, task `{report['task']}`, iterations with data: {its}.",
             "Every figure comes from the SQL file named under its table (see the header of each file for",
             "its exact definition); `psr report --format json` gives the same figures as JSON.", ""]
    for note in report["notes"]:
        lines += [f"> {note}", ""]
    stats = report["sections"][STATISTICS[0]]
    lines += [f"## {STATISTICS[1]}", ""]
    lines += (table(STATS_HEADER, statistics_body(stats)) + [""] + STATS_NOTES) if stats else ["no data (run `psr eval`)"]
    lines += [""]
    if any(r["gap"] is not None or r["svg_difference"] is not None for r in stats):
        lines += ["## Generation-verification gap and test-time search per model", ""]
        lines += table(GAP_HEADER, gap_body(stats)) + [""] + GAP_NOTES + [""]
    lines += ["## Plots", ""]
    for name, _, title in PLOTS:
        path = plots.get(name)
        lines += [f"![{title}]({path.relative_to(out_dir).as_posix()})" if path else f"{title}: no data", ""]
    for section, title in [(name, title) for name, _, title in SECTIONS] + [JUDGE_EVAL]:
        lines += [f"## {title}", "", *section_lines(section, report["sections"][section]), "",
                  f"Query: `{report['queries'][section]}`", ""]
    return "\n".join(lines)


def write_markdown(report: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(report, out_dir / "plots")
    for name, _, _ in PLOTS:  # a plot that has no data now must not survive from an earlier report
        stale = out_dir / "plots" / f"{name}.png"
        if plots.get(name) is None and stale.exists():
            stale.unlink()
    from builder.store.atomic import write_text

    return write_text(out_dir / "report.md", render(report, plots, out_dir))
