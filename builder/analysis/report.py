"""The run report as plain data: every section is the rows of one SQL file in builder/sql/.

`build_report(run)` runs the queries over the run's DuckDB views and returns a dict that
`write_json` saves as is and `builder.analysis.markdown` renders (with plots). Sections with no
rows are empty lists; renderers say "no data".
"""

from __future__ import annotations

import json
from pathlib import Path

from builder.analysis.sections import JUDGE_EVAL, JUDGE_EVAL_KEYS, SECTIONS, STATISTICS
from builder.analysis.significance import statistics_rows
from builder.query import connect, rows
from builder.store import Run

REPORT_VERSION = 1


def build_report(run: Run, threads: int | None = None) -> dict:
    """Every section's rows, the SQL file each came from, and notes on how figures were computed."""
    db = connect(run, threads=threads)
    notes, queries, sections = [], {}, {}
    try:
        for section, sql_name, _ in SECTIONS:
            sections[section] = rows(db, sql_name)
            queries[section] = f"builder/sql/{sql_name}.sql"
        skipped = sum(r["rounds_skipped"] for r in sections["judge_consistency"])
        if skipped:
            # Rounds wider than the fast path packs: recompute pair by pair, same definitions.
            sections["judge_consistency"] = rows(db, "judge_consistency_general")
            queries["judge_consistency"] = "builder/sql/judge_consistency_general.sql"
            notes.append(f"{skipped} round(s) had more than 8 candidates: judge consistency computed pair by pair")
    finally:
        db.close()
    sections["ceiling"] = [ceiling_stats(r) for r in sections["ceiling"]]
    sections["gap"] = [gap_stats(r) for r in sections["gap"]]
    sections["search_vs_greedy"] = [search_vs_greedy_stats(r) for r in sections["search_vs_greedy"]]
    sections[JUDGE_EVAL[0]] = judge_eval_rows(run)
    queries[JUDGE_EVAL[0]] = "RUN/eval/judge-M*.json"
    iterations = sorted({r["iteration"] for section in sections.values() for r in section})
    sections[STATISTICS[0]] = statistics_rows(sections)
    queries[STATISTICS[0]] = "builder/analysis/significance.py over the sections below"
    return {
        "report_version": REPORT_VERSION,
        "run": str(run.root),
        "name": run.config.name,
        "task": run.config.task,
        "iterations": iterations,
        "sections": sections,
        "queries": queries,
        "notes": notes,
    }


def ceiling_stats(row: dict) -> dict:
    """A ceiling row (counts from builder/sql/ceiling.sql) plus accuracies, 95 % Wilson intervals
    and exact McNemar p-values against M(N); judge figures stay null without M(N+1) evals."""
    from builder.analysis.stats import mcnemar_exact, wilson_interval

    n, out = row["problems"], dict(row)
    for who in ("base", "judge", "checker"):
        k = row[f"{who}_correct"]
        out[f"{who}_accuracy"] = None if k is None else k / n
        if who != "base":
            lo, hi = (None, None) if k is None else wilson_interval(k, n)
            out[f"{who}_ci_low"], out[f"{who}_ci_high"] = lo, hi
            only, lost = row[f"{who}_only"], row[f"base_only_{who}"]
            out[f"{who}_p"] = None if k is None else mcnemar_exact(only, lost)
    return out


def gap_stats(row: dict) -> dict:
    """A gap row (builder/sql/gap.sql) plus the gap's 95 % interval, paired over the mixed rounds
    (Wald on the paired difference), and the exact McNemar p of judge vs greedy on those rounds."""
    from builder.analysis.stats import mcnemar_exact, paired_difference_interval

    n, b, c = row["mixed_rounds"], row["judge_only"], row["greedy_only"]
    lo, hi = paired_difference_interval(b, c, n) if n else (None, None)
    return {**row, "gap_ci_low": lo, "gap_ci_high": hi, "gap_p": mcnemar_exact(b, c) if n else None}


def search_vs_greedy_stats(row: dict) -> dict:
    """A search_vs_greedy row (builder/sql/search_vs_greedy.sql) plus the exact McNemar p."""
    from builder.analysis.stats import mcnemar_exact

    return {**row, "mcnemar_p": mcnemar_exact(row["only_search"], row["only_greedy"])}


def judge_eval_rows(run: Run) -> list[dict]:
    rows = []
    for path in sorted((run.root / "eval").glob("judge-M*.json")):
        try:
            data = json.loads(path.read_text())
            rows.append({k: data.get(k) for k in JUDGE_EVAL_KEYS})
        except (json.JSONDecodeError, AttributeError):
            continue  # a hand-edited or foreign file: not ours to judge
    return sorted(rows, key=lambda r: (r["iteration"] if isinstance(r["iteration"], int) else -1, str(r["pairs_source"]),
                                       str(r["verdict"])))


def write_json(report: dict, out_dir: Path) -> Path:
    from builder.store.atomic import write_text

    return write_text(Path(out_dir) / "report.json", json.dumps(report, indent=2, default=str) + "\n")


def write_report(run: Run, out_dir: Path | None, fmt: str) -> tuple[Path, dict]:
    """Build the report and write it as Markdown (with PNG plots) or JSON; returns (file, report)."""
    out_dir = Path(out_dir) if out_dir else run.root / "report"
    report = build_report(run)
    if fmt == "json":
        return write_json(report, out_dir), report
    from builder.analysis.markdown import write_markdown

    return write_markdown(report, out_dir), report
